"""The shortcuts validation takes for speed give what the plain functions give: column letters without
openpyxl, evidence folders resolved once per workbook, supplier references spelled out, the findings' order
ranked once per kind, a report group's shared template told at C speed."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl.utils import column_index_from_string as openpyxl_index
from openpyxl.utils import get_column_letter as openpyxl_letter

from importer.findings import Finding, column_index_from_string, get_column_letter
from importer.report.validation_html import _shared_template, _template
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



# -- a report group's shared template -------------------------------------------------------------------------

def _plain_template(group: list[Finding]) -> str | None:
    """What the report did before the shortcut: `_template` of every finding, one template when all agree."""
    templates = {_template(f) for f in group}
    return templates.pop() if len(templates) == 1 and None not in templates else None


_WORDS = st.sampled_from(["a", "'a'", "datapoint", " ", "'", "\"", "row", "1", "‹found›", "x'y", ""])
_VALUES = st.one_of(st.sampled_from(["a", "x'y", "row", "1", "‹found›", "", " ", "'a'"]), st.text(max_size=4),
                    st.integers(-2, 12), st.none(), st.floats(allow_nan=False, width=16))


@settings(max_examples=400, deadline=None)
@given(before=st.lists(_WORDS, max_size=3).map(" ".join), after=st.lists(_WORDS, max_size=3).map(" ".join),
       values=st.lists(_VALUES, min_size=1, max_size=6), spoil=st.integers(-1, 6), how=st.sampled_from(["repr", "str"]))
def test_shared_template_is_every_findings_template(before: str, after: str, values: list[object], spoil: int,
                                                    how: str) -> None:
    """Messages quoting their value (as repr or as text, sometimes twice or not at all, one sometimes
    reworded), values of any type, markers and quotes in the wording: the shortcut agrees with `_template`
    per finding."""
    show = repr if how == "repr" else str
    messages = [before + show(v) + after for v in values]
    if 0 <= spoil < len(messages):
        messages[spoil] = messages[spoil] + " (again " + show(values[spoil]) + ")"
    group = [Finding("warning", "unused", m, sheet="datapoints", row=n + 2, column="ref", cell=f"A{n + 2}", value=v)
             for n, (m, v) in enumerate(zip(messages, values, strict=True))]
    assert _shared_template(group, messages) == _plain_template(group)


def test_shared_template_of_a_warning_per_row() -> None:
    values = [f"batch-{n:06d}-distance" for n in range(500)]
    group = [Finding("warning", "unused", f"datapoint {v!r} is not used by any other row", sheet="datapoints",
                     row=n + 2, column="ref", cell=f"A{n + 2}", value=v) for n, v in enumerate(values)]
    assert _shared_template(group, [f.message for f in group]) == "datapoint ‹found› is not used by any other row"
    twice = [*group[:-1], Finding("warning", "unused", "datapoint 'x' is 'x'", value="x")]
    assert _shared_template(twice, [f.message for f in twice]) is None
    # a later value quoted in the shared wording too: its own template would mask both places
    later = [Finding("warning", "unused", f"row 'x' is {v!r}", value=v) for v in ("a", "x")]
    assert _shared_template(later, [f.message for f in later]) is None is _plain_template(later)


# -- the findings' order -----------------------------------------------------------------------------------------

def test_findings_order_is_the_plain_key_on_every_fixture() -> None:
    """Validation ranks (code, severity, sheet, column) once per kind; the order is the plain per-finding key's,
    on the broken sample and every real-program fixture, whatever order the findings come in."""
    import random

    from importer.workbook.reader import read_workbook
    from importer.workbook.validator import SEVERITY_ORDER, SHEET_ORDER, SHOWN_FIRST, Validator

    root = Path(__file__).resolve().parent.parent
    books = sorted([*root.glob("sample_workbooks/*.xlsx"), *root.glob("tests/fixtures/**/*.xlsx")])
    assert len(books) >= 5
    kinds: set[tuple[object, ...]] = set()
    for book in books:
        try:
            validator = Validator(read_workbook(book))
        except Exception:  # an unreadable fixture has no findings to order
            continue
        findings = validator.run().findings

        def plain(f: Finding, validator: Validator = validator) -> tuple[object, ...]:
            sheet = validator.sheets.get(f.sheet or "")
            return (f.code not in SHOWN_FIRST, SEVERITY_ORDER[f.severity], SHEET_ORDER.get(f.sheet or "", 99),
                    f.row or 0, sheet.columns.get(f.column or "", 0) if sheet else 0)

        shuffled = list(findings)
        random.Random(book.name).shuffle(shuffled)
        assert [id(f) for f in sorted(shuffled, key=validator.finding_order())] == [
            id(f) for f in sorted(shuffled, key=plain)], book.name
        kinds |= {(f.code, f.severity, f.sheet, f.column) for f in findings}
    assert len(kinds) >= 8  # findings of many kinds were ordered (the broken sample alone has eight)
