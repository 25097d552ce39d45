"""The collector's settings around long steps (`importer.process_wide`): whatever a step changes is given back, and
nothing that is garbage stays uncollected once the step ends."""

from __future__ import annotations

import datetime as dt
import gc
import weakref

import pytest

import importer
from importer import process_wide
from importer.library import Verdict
from importer.workbook.synthetic import make_workbook


class _Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the cyclic collector frees it


def test_paused_restores_the_collector_as_it_was() -> None:
    assert gc.isenabled()
    with process_wide.paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with process_wide.paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_long_lived_hides_what_was_settled_and_hands_it_back() -> None:
    with process_wide.long_lived() as settle:
        node = _Node()
        gone = weakref.ref(node)
        del node
        settle()  # the cycle is frozen: a full collection does not see it
        assert gc.get_freeze_count() > 0
        gc.collect()
        assert gone() is not None
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert gone() is None  # handed back, and collected as the garbage it is


def test_long_lived_leaves_a_process_that_froze_its_own_objects_alone() -> None:
    gc.freeze()
    frozen = gc.get_freeze_count()
    try:
        with process_wide.long_lived() as settle:
            settle()
            assert gc.get_freeze_count() == frozen
        assert gc.get_freeze_count() == frozen  # not unfrozen by us
    finally:
        gc.unfreeze()


@pytest.mark.slow
def test_a_batch_hands_back_everything_it_froze(tmp_path) -> None:
    months = [
        make_workbook(
            tmp_path / f"m{n}",
            16,
            prefix=f"gc{n}",
            sources=1,
            month=dt.date(2026, 9 + n, 1),
            name=f"2026-{9 + n:02d}.xlsx",
        )
        for n in range(2)
    ]
    outcome = importer.run(months)
    assert outcome.verdict is Verdict.OK and len(outcome.results) == 2
    assert {o.status for r in outcome.results for o in r.objects} == {"created"}
    assert gc.get_freeze_count() == 0
