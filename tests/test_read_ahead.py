"""The console script's head start: it begins reading the workbook a `validate` command names before the
command-line layer loads (`importer.launcher`, `process_wide.prefetch`). The read may only ever be taken over for the
very file validated, unchanged; anything else is read afresh, and a read nobody takes over never holds the
process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main

from importer import process_wide
from importer.cli import app
from importer.launcher import VALUE_OPTIONS, workbook_to_read_first
from importer.workbook import reader
from importer.workbook.validate import prefetch, validate_workbook

from workbooks import REPO, row, write


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[reader._Read]:
    """Every read started, in order (begun ahead or not)."""
    started: list[reader._Read] = []
    original = reader._Read.__init__

    def counting(self: reader._Read, path: Path, first: tuple[str, ...]) -> None:
        original(self, path, first)
        started.append(self)

    monkeypatch.setattr(reader._Read, "__init__", counting)
    yield started
    with process_wide._AHEAD_LOCK:
        process_wide._drop_ahead()


def _plain(result):  # what a validation found, without where the read came from
    return [f.to_json() for f in result.findings], result.counts, result.sha256


def test_only_the_first_workbook_of_a_validate_command_is_read_ahead(tmp_path):
    book = tmp_path / "month.xlsx"
    book.write_bytes(b"PK")
    other = tmp_path / "marked.xlsx"
    other.write_bytes(b"PK")
    (tmp_path / "folder.xlsx").mkdir()
    assert workbook_to_read_first(["validate", str(book)]) == book
    assert workbook_to_read_first(["--debug", "validate", "--json", str(book), str(other)]) == book
    # the value of an option is never taken for the workbook, even when it names an existing workbook
    assert workbook_to_read_first(["validate", "--annotate", str(other), str(book)]) == book
    assert workbook_to_read_first(["validate", "--report", "r.html", "--", str(book)]) == book
    assert workbook_to_read_first(["validate", f"--annotate={other}", str(book)]) == book
    for other_command in (["run", str(book)], ["plan", str(book)], [str(book)], []):
        assert workbook_to_read_first(other_command) is None
    for not_a_workbook in (tmp_path / "missing.xlsx", tmp_path / "folder.xlsx", tmp_path, REPO / "README.md"):
        assert workbook_to_read_first(["validate", str(not_a_workbook), str(book)]) is None


def test_the_options_taking_a_value_are_those_of_the_validate_command():
    command = typer.main.get_command(app).commands["validate"]  # type: ignore[attr-defined]
    taking_a_value = {
        name
        for param in command.params
        if param.param_type_name == "option" and not param.is_flag
        for name in param.opts
    }
    assert taking_a_value == VALUE_OPTIONS


def test_a_read_begun_ahead_is_taken_over_for_the_same_file(tmp_path, reads):
    path = write(tmp_path)
    fresh = validate_workbook(path)
    assert len(reads) == 1
    prefetch(path)
    assert len(reads) == 2 and process_wide._AHEAD
    adopted = validate_workbook(path)
    assert len(reads) == 2 and not process_wide._AHEAD  # taken over, not read again
    assert _plain(adopted) == _plain(fresh) and adopted.ok
    assert adopted.workbook is not None and adopted.workbook.datapoints == fresh.workbook.datapoints


def test_a_file_changed_after_the_read_began_is_read_again(tmp_path, reads):
    path = write(tmp_path)
    prefetch(path)
    ahead = reads[-1]

    def one_less(sheets, _project):
        sheets["datapoints"].remove(row(sheets, "datapoints", sheets["datapoints"][-1]["ref"]))

    write(tmp_path, one_less)  # the same path, other content
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # even within the clock's resolution
    result = validate_workbook(path)
    assert len(reads) == 2 and reads[-1] is not ahead and not process_wide._AHEAD
    assert ahead.stop.is_set()  # the stale read was told to stop
    assert result.counts == validate_workbook(path).counts
    assert result.sha256 != ahead.raw.sha256


def test_another_file_or_order_never_takes_over_the_read(tmp_path, reads):
    first = write(tmp_path / "a")
    second = write(tmp_path / "b")
    prefetch(first)
    assert validate_workbook(second).path == second
    assert len(reads) == 2 and not process_wide._AHEAD
    prefetch(first)
    with reader.reading(first) as raw:  # the same file in another sheet order: not the read begun ahead
        assert raw is not reads[2].raw
    assert len(reads) == 4


def test_an_unreadable_file_is_refused_by_the_read_proper(tmp_path, reads):
    csv = tmp_path / "data.xlsx"
    csv.write_text("ref,value\na,1\n", encoding="utf-8")
    prefetch(csv)
    assert not process_wide._AHEAD and not reads
    with pytest.raises(reader.WorkbookUnreadable, match="text/CSV"):
        validate_workbook(csv)


def test_a_read_nobody_takes_over_does_not_hold_the_process(tmp_path, reads):
    path = write(tmp_path)
    prefetch(path)
    assert all(worker.daemon for worker in reads[0].workers)
    # through the console script: a usage error after the read began exits with the usage code and message
    proc = subprocess.run(
        [sys.executable, "-m", "importer.launcher", "validate", str(path), "--no-such-option"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and "No such option" in proc.stderr


def test_the_console_script_validates_what_the_library_validates(tmp_path):
    path = write(
        tmp_path,
        lambda sheets, _p: row(sheets, "datapoints", sheets["datapoints"][0]["ref"]).update(unit="tonnes metric"),
    )
    proc = subprocess.run(
        [sys.executable, "-m", "importer.launcher", "validate", str(path), "--json", "--no-report"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1, proc.stderr
    found = json.loads(proc.stdout)
    library = validate_workbook(path)
    assert found["errors"] == [f.to_json() for f in library.errors()]
    assert found["sha256"] == library.sha256 and found["counts"] == library.counts
