"""CONFORMANCE.md says what the conformance suite does: every case the table
calls a pass has a test of its own name that is not expected to fail, every
failing case is a strict xfail, and the counts in the text and the README
are the table's."""
import ast
import os
import re

from conftest import ROOT

SUITE = os.path.join(ROOT, "host_tests", "conformance")


def table():
    """{case id: status word} from CONFORMANCE.md's rows."""
    rows = {}
    with open(os.path.join(ROOT, "CONFORMANCE.md")) as f:
        for line in f:
            m = re.match(r"\| (TC_[ABLM]_\d+)_CS[^|]*\| [^|]+ \| (\w+)", line)
            if m:
                rows[m.group(1).lower()] = m.group(2)
    return rows


def suite_tests():
    """{test name: whether it is marked xfail} of the conformance suite."""
    found = {}
    for name in os.listdir(SUITE):
        if name.startswith("test_") and name.endswith(".py"):
            with open(os.path.join(SUITE, name)) as f:
                tree = ast.parse(f.read())
            for node in tree.body:
                if isinstance(node, ast.FunctionDef) and node.name.startswith("test_tc_"):
                    found[node.name] = "xfail" in ast.unparse(node.decorator_list) if node.decorator_list else False
    return found


def test_every_passing_case_has_its_own_test_and_failing_ones_are_strict_xfails():
    rows, found = table(), suite_tests()
    for case, status in rows.items():
        name = "test_" + case
        if status == "pass":
            assert found.get(name) is False, "%s is called a pass but has no plain test %s" % (case, name)
        elif status == "fails":
            assert found.get(name) is True, "%s fails but %s is no xfail" % (case, name)
    for name in found:
        assert name[5:] in rows, "%s has no row in CONFORMANCE.md" % name


def test_counts_in_the_text_are_the_tables():
    rows = table()
    passed = sum(1 for s in rows.values() if s == "pass")
    in_scope = sum(1 for s in rows.values() if s in ("pass", "fails", "not"))
    with open(os.path.join(ROOT, "CONFORMANCE.md")) as f:
        text = f.read()
    with open(os.path.join(ROOT, "README.md")) as f:
        readme = f.read()
    claim = "%d of the %d cases" % (passed, in_scope)
    assert claim in text and claim in readme, claim
