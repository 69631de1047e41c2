"""The agent's import graph, read from the source as a static tool reads it
(imports at the top and inside functions alike): it has no cycle, so every
part can be read and loaded from the bottom up. Code loaded for a moment is
named to compat.borrow, not imported: it imports downward only."""
import ast
import os

from conftest import ROOT

PACKAGE = os.path.join(ROOT, "firmware", "csagent")


def imports(name):
    """The csagent modules that module `name` imports, anywhere in it."""
    tree = ast.parse(open(os.path.join(PACKAGE, name + ".py")).read())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("csagent."):
            found.add(node.module.split(".")[1])
    return found & MODULES


MODULES = {f[:-3] for f in os.listdir(PACKAGE) if f.endswith(".py") and f != "__init__.py"}


def test_no_import_cycle():
    graph = {m: imports(m) for m in MODULES}
    done, path = set(), []

    def visit(m):
        if m in path:
            raise AssertionError("import cycle: " + " -> ".join(path[path.index(m):] + [m]))
        if m in done:
            return
        path.append(m)
        for n in sorted(graph[m]):
            visit(n)
        path.pop()
        done.add(m)
    for m in sorted(graph):
        visit(m)
