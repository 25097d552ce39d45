"""The shortcuts validation takes for speed give what the plain functions give: column letters without
openpyxl, evidence folders resolved once per workbook, supplier references spelled out."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest
from openpyxl.utils import column_index_from_string as openpyxl_index
from openpyxl.utils import get_column_letter as openpyxl_letter

from importer.findings import column_index_from_string, get_column_letter
from importer.workbook.evidence import EvidenceError, EvidenceFolder, check_evidence


def _outcome(function: object, *args: object) -> object:
    try:
        return function(*args)  # type: ignore[operator]
    except (ValueError, TypeError) as exc:
        return (type(exc), str(exc))


def test_column_letters_are_openpyxl_s() -> None:
    for index in [*range(-2, 800), *range(16000, 18300)]:
        assert _outcome(get_column_letter, index) == _outcome(openpyxl_letter, index)
    for size in range(5):
        for letters in itertools.product("AMZaz@[1", repeat=size):
            text = "".join(letters)
            assert _outcome(column_index_from_string, text) == _outcome(openpyxl_index, text)


def _evidence(check: object, written: str) -> object:
    try:
        return check(written)  # type: ignore[operator]
    except (EvidenceError, OSError, RuntimeError) as exc:  # a link loop raises RuntimeError in both, alike
        return (type(exc), str(exc))


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_evidence_folder_checks_as_check_evidence(tmp_path: Path) -> None:
    book = tmp_path / "book"
    (book / "evidence" / "deep").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (book / "evidence" / "log.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    (book / "evidence" / "deep" / "log.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    (book / "evidence" / "empty.csv").write_bytes(b"")
    (book / "evidence" / "fake.pdf").write_bytes(b"not a pdf at all")
    (book / "top.csv").write_text("x\n", encoding="utf-8")
    (outside / "secret.csv").write_text("s\n", encoding="utf-8")
    os.symlink(outside / "secret.csv", book / "evidence" / "link-out.csv")
    os.symlink(book / "evidence" / "log.csv", book / "evidence" / "link-in.csv")
    os.symlink(outside, book / "evidence" / "dir-out")
    os.symlink(book / "evidence" / "deep", book / "evidence" / "dir-in")
    os.symlink(book / "evidence" / "loop", book / "evidence" / "loop")
    cells = ["evidence/log.csv", "evidence/deep/log.csv", "evidence/./deep/log.csv", "evidence\\log.csv",
             "top.csv", " top.csv ", "evidence/empty.csv", "evidence/fake.pdf", "evidence/missing.csv",
             "evidence/LOG.csv", "missing/log.csv", "evidence/link-out.csv", "evidence/link-in.csv",
             "evidence/dir-out/secret.csv", "evidence/dir-in/log.csv", "evidence/deep", "evidence",
             ".", "", "   ", "/etc/passwd", "C:\\x.csv", "../x.csv", "evidence/../top.csv",
             "evidence/loop", "evidence/loop/x.csv", "evidence/log.exe"]
    folder = EvidenceFolder(book)
    for _ in range(2):  # the second time from the folder's cache
        for cell in cells:
            plain = _evidence(lambda w: check_evidence(book, w), cell)
            assert _evidence(folder.check, cell) == plain, cell

