"""A batch folder never skips a file unsaid: every file is imported, or named as refused with why (and the exit
code is then not 0); lock files, hidden files and sub-folders are ignored and said to be. The refused
spreadsheets are real LibreOffice output (tests/fixtures/batch/make_batch_fixtures.py made them)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import openpyxl

from e2e_helpers import SAMPLE, SAMPLES, cli_env, run_cli, server_references

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "batch"


def batch_folder(tmp_path: Path, *extra: str) -> Path:
    """october.xlsx (the sample) with its evidence folder, and the named fixtures beside it."""
    folder = tmp_path / "batch"
    folder.mkdir()
    shutil.copyfile(SAMPLE, folder / "october.xlsx")
    shutil.copytree(SAMPLES / "evidence", folder / "evidence")
    for name in extra:
        shutil.copyfile(FIXTURES / name, folder / name)
    return folder


def imported(sandbox) -> int:
    return sum(len(refs) for refs in server_references(sandbox).values())


def test_run_names_every_refused_spreadsheet_and_fails(sandbox, tmp_path):
    folder = batch_folder(tmp_path, "november.ods", "december.xls", "january.csv")
    shutil.copyfile(SAMPLE, folder / "february.xlsb")  # no converter here writes .xlsb: refused by its suffix
    (folder / "readme.pdf").write_bytes(b"%PDF-1.4\n")
    result = run_cli(["run", str(folder), "-q"], cli_env(sandbox, tmp_path / "home"), subprocess_=True)
    assert result.code == 2, result.stdout + result.stderr
    out = result.stdout
    assert (
        "refused: " + str(folder / "november.ods") + ": .ods (OpenDocument spreadsheet) is not supported: save it "
        "as .xlsx" in out
    )
    assert "refused: " + str(folder / "december.xls") + ": .xls (Excel 97-2003 workbook) is not supported" in out
    assert "refused: " + str(folder / "january.csv") + ": .csv" in out
    assert "refused: " + str(folder / "february.xlsb") + ": .xlsb (Excel binary workbook) is not supported" in out
    assert "refused: " + str(folder / "readme.pdf") + ": not a workbook (.pdf)" in out
    assert "NOT IMPORTED: 5 file(s) refused" in out and "november.ods" in out.splitlines()[-1]
    assert "OK: run" in out and "of october.xlsx" in out  # what could be imported was
    assert imported(sandbox) > 0


def test_lock_files_hidden_files_and_folders_are_ignored_and_said_so(sandbox, tmp_path):
    folder = batch_folder(tmp_path)
    (folder / "~$october.xlsx").write_bytes(b"\x0bExcel owner file")
    (folder / ".~lock.october.xlsx#").write_text("user,host,2026-11-01T10:00", encoding="utf-8")
    (folder / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    result = run_cli(["run", str(folder), "-q"], cli_env(sandbox, tmp_path / "home"), subprocess_=True)
    assert result.code == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert (
        f"ignored: {folder / '~$october.xlsx'}: the lock file of a workbook open in Excel or LibreOffice, not a "
        "workbook" in lines
    )
    assert (
        f"ignored: {folder / '.~lock.october.xlsx#'}: the lock file of a workbook open in Excel or LibreOffice, "
        "not a workbook" in lines
    )
    assert f"ignored: {folder / '.DS_Store'}: a hidden file" in lines
    assert f"ignored: {folder / 'evidence'}: a folder: folders inside a batch folder are not searched" in lines
    assert not any(line.startswith(("refused:", "NOT IMPORTED")) for line in lines)


def test_validate_and_plan_json_name_the_refused_files(sandbox, tmp_path):
    folder = batch_folder(tmp_path, "november.ods")
    (folder / "~$october.xlsx").write_bytes(b"owner")
    env = cli_env(sandbox, tmp_path / "home")
    checked = run_cli(["validate", str(folder), "--no-report"], env, subprocess_=True)
    assert checked.code == 2
    assert f"refused: {folder / 'november.ods'}: .ods (OpenDocument spreadsheet)" in checked.stdout
    assert "NOT VALIDATED: 1 file(s) refused" in checked.stdout and "october.xlsx: valid" in checked.stdout
    as_json = run_cli(["validate", str(folder), "--no-report", "--json"], env, subprocess_=True)
    assert as_json.code == 2
    data = json.loads(as_json.stdout)
    assert data["ok"] is False
    assert [r["file"] for r in data["refused"]] == [str(folder / "november.ods")]
    assert "save it as .xlsx" in data["refused"][0]["why"]
    assert [i["file"] for i in data["ignored"]] == [str(folder / "evidence"), str(folder / "~$october.xlsx")]
    planned = run_cli(["plan", str(folder), "--json", "-q"], env, subprocess_=True)
    assert planned.code == 2, planned.stderr
    data = json.loads(planned.stdout)
    assert data["ok"] is False and [r["file"] for r in data["refused"]] == [str(folder / "november.ods")]
    assert "refused: " in planned.stderr and "november.ods" in planned.stderr


def test_evidence_beside_the_workbook_is_not_refused(sandbox, tmp_path):
    """A workbook whose evidence sits in the batch folder itself: those files are named as its evidence."""
    folder = tmp_path / "batch"
    folder.mkdir()
    book = openpyxl.load_workbook(SAMPLE)
    sheet = book["sources"]
    column = [c.value for c in sheet[1]].index("file") + 1
    for line in range(2, sheet.max_row + 1):
        cell = sheet.cell(row=line, column=column)
        if cell.value:
            shutil.copyfile(SAMPLES / cell.value, folder / Path(cell.value).name)
            cell.value = Path(cell.value).name
    book.save(folder / "october.xlsx")
    result = run_cli(["run", str(folder), "-q"], cli_env(sandbox, tmp_path / "home"), subprocess_=True)
    assert result.code == 0, result.stdout + result.stderr
    assert (
        f"ignored: {folder / 'weighbridge-2026-10.pdf'}: an evidence file october.xlsx names, not a workbook"
        in result.stdout.splitlines()
    )
    assert "refused:" not in result.stdout


def test_a_folder_of_refused_files_only_imports_nothing(sandbox, tmp_path):
    folder = tmp_path / "batch"
    folder.mkdir()
    shutil.copyfile(FIXTURES / "november.ods", folder / "november.ods")
    result = run_cli(["run", str(folder), "-q"], cli_env(sandbox, tmp_path / "home"), subprocess_=True)
    assert result.code == 2
    assert "november.ods: .ods (OpenDocument spreadsheet) is not supported" in result.stdout + result.stderr
    assert imported(sandbox) == 0
