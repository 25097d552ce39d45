"""The process-wide tricks (`importer.process_wide`: the collector's pause, the read begun ahead) leave a process
that validates in-process as they found it: the collector on or off, nothing frozen, no read held."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

import importer
from importer import process_wide
from importer.cli import app
from importer.workbook.validate import prefetch, validate_workbook

from workbooks import write


def _state() -> tuple[bool, int, int]:
    return gc.isenabled(), gc.get_freeze_count(), process_wide.reads_ahead()


@pytest.fixture(params=[True, False], ids=["collector-on", "collector-off"])
def collector(request: pytest.FixtureRequest) -> Iterator[bool]:
    was = gc.isenabled()
    (gc.enable if request.param else gc.disable)()
    try:
        yield request.param
    finally:
        (gc.enable if was else gc.disable)()


def _cli_validate(path: Path) -> None:
    result = CliRunner().invoke(app, ["validate", str(path), "--no-report", "--json"])
    assert result.exit_code == 0, result.output


CALLS: dict[str, Callable[[Path], object]] = {
    "validate_workbook": validate_workbook,
    "importer.validate": importer.validate,
    "the validate command in-process": _cli_validate,
}


@pytest.mark.parametrize("call", list(CALLS))
def test_validating_in_process_leaves_the_process_as_it_found_it(tmp_path, collector, call) -> None:
    path = write(tmp_path)
    before = _state()
    assert before == (collector, 0, 0)
    CALLS[call](path)
    assert _state() == before


def test_a_read_begun_ahead_is_taken_and_nothing_is_held_after(tmp_path) -> None:
    path = write(tmp_path)
    prefetch(path)
    assert process_wide.reads_ahead() == 1
    assert validate_workbook(path).ok
    assert _state() == (True, 0, 0)


def test_the_collector_given_back_owes_no_collection_for_what_was_built() -> None:
    """`collector_off`: what was built meanwhile is not scanned when the collector comes back (it is moved to the
    oldest generation), and the collector is as it was."""
    give_back = process_wide.collector_off()
    assert not gc.isenabled()
    built = [[n] for n in range(50_000)]
    give_back()
    assert gc.isenabled() and gc.get_freeze_count() == 0
    assert gc.get_count()[0] < 1000  # nothing young left to scan
    del built
