"""Hostile and broken files (tests/robustness/hostile.py): each is refused with a
clear error naming the file, or, when harmless, loads with the original's
predictions; none runs past its time limit or memory cap, writes into its
folder or runs code from the file.

The loads run in two worker processes (tests/robustness/runner.py) under a
memory cap (the worker's size after importing Lamina + 1.5 GiB) and a 20 s
limit per load, so a zip bomb or an endless FIFO fails its case instead of
the test session. All cases run once, together, in a session fixture; each
test reads its case's result. The truncation sweeps (40 cut points per file)
are slow cases, run with LAMINA_SLOW_TESTS=1 (5 cut points each always run).

A refusal must say what is wrong: an error that only carries a KeyError,
IndexError, TypeError or AttributeError raised inside Lamina's own code
(wrapped by a catch-all) fails its case, as "generic" in the summary
(``python -m tests.robustness.summary``).
"""

from __future__ import annotations

import os
import re

import pytest

from tests.robustness import hostile
from tests.robustness.runner import Runner, bases_dir

SLOW = os.environ.get("LAMINA_SLOW_TESTS") == "1"
SELECTED = [c.name for c in hostile.CASES.values() if SLOW or not c.slow]
ALL = [
    pytest.param(name, marks=[pytest.mark.slow] if hostile.CASES[name].slow else [], id=name)
    for name in hostile.CASES
]


@pytest.fixture(scope="session")
def results(request, tmp_path_factory):
    """Every selected case that this session collected, run once in the workers."""
    wanted = {
        item.callspec.params["case_id"]
        for item in request.session.items
        if hasattr(item, "callspec") and "case_id" in item.callspec.params
    }
    bases = hostile.ensure_bases(bases_dir())
    runner = Runner(bases, workers=2, work_dir=str(tmp_path_factory.mktemp("hostile")))
    return runner.run([c for c in SELECTED if c in wanted])


def test_catalogue_is_large_and_covers_every_kind():
    kinds = {c.kind for c in hostile.CASES.values()}
    assert kinds == set(hostile.KINDS)
    quick = [c for c in hostile.CASES.values() if not c.slow]
    assert len(quick) >= 250 and len(hostile.CASES) >= 600
    assert {c.kind for c in quick} == set(hostile.KINDS)
    assert all(c.expect in ("refused", "loads", "either") for c in hostile.CASES.values())
    assert all(c.loader in hostile.LOADERS for c in hostile.CASES.values())
    # the payload cases would create the canary if any code from the file ran
    assert sum(1 for c in hostile.CASES.values() if "payload" in c.name) >= 10


@pytest.mark.parametrize("case_id", ALL)
def test_hostile_file(case_id, results):
    case = hostile.CASES[case_id]
    if case_id not in results:
        pytest.skip("slow case: runs with LAMINA_SLOW_TESTS=1")
    r = results[case_id]
    what = f"{case_id}: {r}"
    assert r["outcome"] not in ("timeout", "crashed", "memory_cap", "case_error"), what
    assert not r["canary"], f"the file's payload ran: {what}"
    assert not r["outside_changed"], f"files appeared beside the case folder: {what}"
    if r["outcome"] == "loaded":
        assert case.expect in ("loads", "either"), f"loaded a file that must be refused: {what}"
        assert r["same_predictions"], f"loaded, but predicts differently from the original: {what}"
        if case.kind != "backup":
            assert not r["folder_changed"], f"loading wrote into the folder: {what}"
        return
    assert r["outcome"] == "raised", what
    assert case.expect in ("refused", "either"), f"a harmless file was refused: {what}"
    assert not r["folder_changed"], f"a refused load wrote into the folder: {what}"
    allowed = ("ValueError", "TypeError") + (("OSError",) if case.filesystem else ())
    assert any(t in r["mro"] for t in allowed), f"raised {r['type']}, not one of {allowed}: {what}"
    assert not r["memory_in_chain"], f"the loader hit the memory cap before refusing: {what}"
    assert hostile.names_file(r["message"], case, r["path"]), f"the message does not name the file: {what}"
    status, why = hostile.judge(case, r)
    assert status != "generic", f"the message does not say what is wrong, only the wrapped Python error: {why}"
    text = hostile.problem_text(r["message"], r["path"])
    assert re.search(case.problem, text, re.IGNORECASE), f"the message does not say what is wrong ({case.problem}): {what}"
    assert status == "held", why


def test_runner_reports_timeouts_crashes_memory_and_writes(tmp_path):
    """The harness itself: a load that hangs is a timeout, a worker killed is a
    crash, an allocation beyond the cap is a memory-cap outcome, a loader that
    writes is seen, and the workers restart so the next case still runs."""
    runner = Runner(hostile.ensure_bases(bases_dir()), workers=2, timeout=3.0, work_dir=str(tmp_path))
    ids = ["selftest/sleep", "selftest/kill", "selftest/alloc", "selftest/write", "selftest/plain", "file/empty"]
    results = runner.run(ids)
    assert results["selftest/sleep"]["outcome"] == "timeout"
    assert results["selftest/kill"]["outcome"] == "crashed"
    assert "SIGKILL" in results["selftest/kill"]["detail"]
    assert results["selftest/alloc"]["outcome"] == "memory_cap"
    assert results["selftest/write"]["folder_changed"] is True
    assert hostile.judge(hostile.SELFTESTS["selftest/write"], results["selftest/write"])[0] == "failed"
    plain = results["selftest/plain"]
    assert plain["outcome"] == "raised" and plain["type"] == "ValueError" and not plain["folder_changed"]
    assert hostile.judge(hostile.SELFTESTS["selftest/plain"], plain) == ("held", "refused")
    assert results["file/empty"]["outcome"] == "raised"
    assert runner.restarts == 2
