"""agent.ACTIONS, the one table from a CSMS request to its handler, read as
a reader or a static tool reads it: every row names a module that exists, a
function in it whose parameters are exactly the row's, and collaborators the
Agent has; on-demand modules are the rare ones, and a real Agent on the host
board dispatches each action to the function the row names."""
import ast
import os
import sys

from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "boards", "host"))
from board import Board  # noqa: E402  (boards/host/board.py)
from csagent import agent  # noqa: E402
from csagent.rpc import _known  # noqa: E402
from csagent.schemas import TABLE  # noqa: E402  (only to know it loads)

PACKAGE = os.path.join(ROOT, "firmware", "csagent")


def rows():
    for row in agent.ACTIONS:
        action, target, *params = row.split()
        module, function = target.rsplit(".", 1)
        yield action, module, function, params


def functions(module):
    tree = ast.parse(open(os.path.join(PACKAGE, module + ".py")).read())
    return {n.name: [a.arg for a in n.args.args] for n in tree.body if isinstance(n, ast.FunctionDef)}


def agent_attributes():
    tree = ast.parse(open(os.path.join(PACKAGE, "agent.py")).read())
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Agent")
    names = {n.name for n in cls.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    for node in ast.walk(cls):
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) and \
                isinstance(node.value, ast.Name) and node.value.id == "self":
            names.add(node.attr)
    return names


def test_every_row_names_a_function_with_exactly_its_parameters():
    have = agent_attributes()
    seen = set()
    assert TABLE
    for action, module, function, params in rows():
        assert action not in seen, action
        seen.add(action)
        assert _known(action), action
        assert functions(module).get(function) == params, (action, module, function, params)
        assert "payload" in params, action
        for name in params:
            assert name in ("payload", "size") or name in have, (action, name)


def test_on_demand_modules_are_not_imported_by_the_agent_at_start():
    source = open(os.path.join(PACKAGE, "agent.py")).read()
    top = ast.parse(source).body
    resident = {a.name for n in top if isinstance(n, ast.ImportFrom) and n.level == 1 and n.module is None
                for a in n.names}
    resident |= {n.module for n in top if isinstance(n, ast.ImportFrom) and n.level == 1 and n.module}
    for action, module, _, _ in rows():
        assert ("csagent." + module in agent._ON_DEMAND) != (module in resident), (action, module)


def test_a_real_agent_dispatches_each_action_to_its_row(tmp_path, monkeypatch):
    a = agent.Agent(Board(str(tmp_path / "flash")))
    for action, module, function, params in rows():
        mod = __import__("csagent." + module, None, None, (function,))
        got = []
        monkeypatch.setattr(mod, function, lambda *args: got.append(args) or {"status": "Accepted"})
        assert a.handler(action)({"p": 1}, 7) == {"status": "Accepted"}
        args = got[0]
        assert len(args) == len(params), (action, args)
        for name, value in zip(params, args):
            expected = {"payload": {"p": 1}, "size": 7}[name] if name in ("payload", "size") else getattr(a, name)
            assert value == expected, (action, name)
    assert a.handler("DataTransfer") is None and a.handler("Get") is None
