"""Our validator against jsonschema on the official schemas, on both runtimes.

hypothesis-jsonschema generates valid payloads for every schema the station
receives; each is then broken in one way (malformed.sites). Valid ones must
pass both validators, broken ones fail both, with the code the mapping in
csagent/validate.py names and a description starting with the field path.
The MicroPython unix port then checks the same payloads and must return
exactly what CPython returned.

hypothesis-jsonschema takes ~0.3 s per SetVariables payload, so generation
is narrowed to arrays of at most 3 items; validation always uses the
official schema.
"""
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from conftest import run_micropython
from csagent.validate import check
from gen_schemas import RECEIVED, received_schema
from malformed import EXPECTED, apply, malformed_cases, render, sites, validator

SETTINGS = dict(deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
ARRAY_ITEMS_GENERATED = 3
CORPUS = {}  # schema name -> [(payload, mutated payload)], filled by the first test


def _action(name):
    response = name.endswith("Response")
    return name[:-len("Response" if response else "Request")], response


def _narrowed(node):
    if isinstance(node, dict):
        out = {k: _narrowed(v) for k, v in node.items()}
        if out.get("type") == "array":
            out["maxItems"] = min(out.get("maxItems", ARRAY_ITEMS_GENERATED), ARRAY_ITEMS_GENERATED)
        return out
    if isinstance(node, list):
        return [_narrowed(v) for v in node]
    return node


def _cases(name):
    """Strategy of (valid payload, (mutation, path, replacement)) for one schema."""
    root = received_schema(name)
    payloads = from_schema(_narrowed(root))

    @st.composite
    def cases(draw):
        payload = draw(payloads)
        return payload, draw(st.sampled_from(sites(payload, root)))
    return cases()


@pytest.mark.parametrize("name", RECEIVED)
def test_generated_payloads_agree_with_jsonschema(name):
    official = validator(name)
    action, response = _action(name)
    recorded = CORPUS.setdefault(name, [])

    @settings(max_examples=30, **SETTINGS)
    @given(_cases(name))
    def agree(case):
        payload, (mutation, path, replacement) = case
        assert not list(official.iter_errors(payload))
        assert check(action, payload, response) is None
        broken = apply(payload, path, replacement)
        assert list(official.iter_errors(broken)), mutation
        result = check(action, broken, response)
        assert result is not None and result[0] == EXPECTED[mutation], (mutation, path, result)
        assert len(result[1]) <= 255
        assert result[1].startswith((render(path) or "payload") + ": "), (path, result)
        recorded.append((payload, broken))

    agree()


def test_malformed_cases_fail_both_with_the_mapped_code():
    for responses in (False, True):
        suffix = "Response" if responses else "Request"
        cases = malformed_cases(responses=responses, per_kind=3)
        assert {code for _, _, code in cases} == set(EXPECTED.values())
        for action, payload, code in cases:
            assert list(validator(action + suffix).iter_errors(payload)), (action, payload)
            result = check(action, payload, responses)
            assert result is not None and result[0] == code, (action, payload, code, result)


MP_CHECKER = """
import json, sys
from csagent.validate import check
with open(sys.argv[1]) as f:
    for line in f:
        action, response, payload = json.loads(line)
        print(json.dumps(check(action, payload, response)))
"""


def test_micropython_returns_what_cpython_returns(tmp_path, host_build):
    corpus = []
    for name in RECEIVED:
        action, response = _action(name)
        if not CORPUS.get(name):  # run on its own: make a smaller corpus
            recorded = CORPUS[name] = []

            @settings(max_examples=10, **SETTINGS)
            @given(_cases(name))
            def record(case):
                payload, (mutation, path, replacement) = case
                recorded.append((payload, apply(payload, path, replacement)))

            record()
        for pair in CORPUS[name]:
            corpus.extend((action, response, payload) for payload in pair)
    lines = tmp_path / "corpus.jsonl"
    # raw UTF-8, no \\u escapes: MicroPython's json reads an escaped surrogate
    # pair as two characters, which would change what maxLength counts
    lines.write_text("".join(json.dumps(c, ensure_ascii=False, allow_nan=False) + "\n" for c in corpus),
                     encoding="utf-8")
    script = tmp_path / "checker.py"
    script.write_text(MP_CHECKER)
    r = run_micropython([str(script), str(lines)], [host_build], heap="4M", timeout=120)
    assert r.returncode == 0, r.stderr
    got = [json.loads(line) for line in r.stdout.splitlines()]
    want = [check(action, payload, response) for action, response, payload in corpus]
    want = [list(w) if w else None for w in want]
    assert len(got) == len(corpus)
    mismatches = [(corpus[i], got[i], want[i]) for i in range(len(corpus)) if got[i] != want[i]]
    assert not mismatches, mismatches[:3]
    assert [w is None for w in want] == [i % 2 == 0 for i in range(len(want))]
