"""The shortcuts validation takes for speed give what the plain functions give: column letters without
openpyxl, evidence folders resolved once per workbook, supplier references spelled out, the findings' order
ranked once per kind, a report group's cells taken as columns, list cells split without a regex."""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl.utils import column_index_from_string as openpyxl_index
from openpyxl.utils import get_column_letter as openpyxl_letter

from importer.findings import Finding, by_kind, column_index_from_string, get_column_letter
from importer.report.validation_html import _cells, _found, _template
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
    cells = [
        "evidence/log.csv",
        "evidence/deep/log.csv",
        "evidence/./deep/log.csv",
        "evidence\\log.csv",
        "top.csv",
        " top.csv ",
        "evidence/empty.csv",
        "evidence/fake.pdf",
        "evidence/missing.csv",
        "evidence/LOG.csv",
        "missing/log.csv",
        "evidence/link-out.csv",
        "evidence/link-in.csv",
        "evidence/dir-out/secret.csv",
        "evidence/dir-in/log.csv",
        "evidence/deep",
        "evidence",
        ".",
        "",
        "   ",
        "/etc/passwd",
        "C:\\x.csv",
        "../x.csv",
        "evidence/../top.csv",
        "evidence/loop",
        "evidence/loop/x.csv",
        "evidence/log.exe",
    ]
    folder = EvidenceFolder(book)
    for _ in range(2):  # the second time from the folder's cache
        for cell in cells:
            plain = _evidence(lambda w: check_evidence(book, w), cell)
            assert _evidence(folder.check, cell) == plain, cell


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.sampled_from(["a", "b-1", " ", "", ",", ";", "\n", "\t", "\r", " , ", "x y", "\u00a0"]), max_size=8
    ).map("".join)
)
def test_list_cells_split_as_the_plain_rule(text: str) -> None:
    """A list cell splits at commas, semicolons and line breaks, each part stripped and empty ones dropped."""
    import re

    from importer.workbook.coerce import split_refs

    assert split_refs(text) == tuple(part.strip() for part in re.split(r"[,;\n]", text) if part.strip())


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["error", "warning", "note"]), st.sampled_from(["unused", "bad_ref"])), max_size=8
    )
)
def test_findings_by_kind_are_grouped_as_the_plain_loop(kinds: list[tuple[str, str]]) -> None:
    findings = [Finding(severity, code, f"m{n}") for n, (severity, code) in enumerate(kinds)]  # type: ignore[arg-type]
    plain: dict[tuple[str, str], list[Finding]] = {}
    for f in findings:
        plain.setdefault((f.severity, f.code), []).append(f)
    assert list(by_kind(findings).items()) == list(plain.items())


# -- a report group's template and cells -------------------------------------------------------------------------


def _plain_template(f: Finding) -> str | None:
    """The message with the value masked: each spelling tried in turn (the report's rule, written plainly)."""
    if f.value is None or str(f.value) == "":
        return None
    for text in (repr(f.value), repr(str(f.value)), str(f.value)):
        if text in f.message:
            return f.message.replace(text, "‹found›")
    return None


class _Quoted(str):
    def __repr__(self) -> str:
        return f"Quoted({str(self)!r})"


_WORDS = st.sampled_from(["a", "'a'", "datapoint", " ", "'", '"', "1", "‹found›", "x'y", "", "Quoted('a')", "2.5"])
_ANY_VALUE = st.one_of(
    st.sampled_from(["a", "x'y", "1", "", " ", "'a'", "b\\c", "tab\t"]),
    st.text(max_size=4),
    st.integers(-2, 12),
    st.floats(allow_nan=False, width=16),
    st.none(),
    st.booleans(),
    st.sampled_from(["a", "x'y", ""]).map(_Quoted),
)


@settings(max_examples=500, deadline=None)
@given(
    before=st.lists(_WORDS, max_size=3).map(" ".join),
    after=st.lists(_WORDS, max_size=3).map(" ".join),
    value=_ANY_VALUE,
    how=st.sampled_from([repr, str, lambda v: repr(str(v)), lambda v: "none"]),
)
def test_a_findings_template_is_the_plain_rule(before: str, after: str, value: object, how: Any) -> None:
    message = before + how(value) + after
    finding = Finding("warning", "unused", message, sheet="datapoints", row=2, column="ref", cell="A2", value=value)
    assert _template(finding) == _plain_template(finding)


_VALUES = st.one_of(
    st.sampled_from(["a", "x'y", "row", "1", "", " ", "'a'"]),
    st.text(max_size=4),
    st.integers(-2, 12),
    st.none(),
    st.floats(allow_nan=False, width=16),
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["datapoints", "sources", "", None]),
            st.sampled_from(["A2", "B7", "", None]),
            st.sampled_from(["ref", "unit", "", None]),
            _VALUES,
        ),
        min_size=1,
        max_size=6,
    )
)
def test_a_groups_cells_are_each_findings(parts: list[tuple[str | None, str | None, str | None, object]]) -> None:
    """Where, column and what was found, taken as columns, are what each finding gives."""
    group = [
        Finding("warning", "unused", "m", sheet=sheet, row=2, column=column, cell=cell, value=value)
        for sheet, cell, column, value in parts
    ]
    assert list(zip(*_cells(group), strict=True)) == [(f.location or "-", f.column or "", _found(f)) for f in group]


# -- the findings' order -----------------------------------------------------------------------------------------


def test_findings_order_is_the_plain_key_on_every_fixture() -> None:
    """Validation ranks (code, severity, sheet, column) once per kind; the order is the plain per-finding key's,
    on the broken sample and every real-program fixture, whatever order the findings come in."""
    import random

    from importer.workbook import spec
    from importer.workbook.checks.coordinator import Validator
    from importer.workbook.checks.order import SEVERITY_ORDER, SHOWN_FIRST
    from importer.workbook.reader import read_workbook

    root = Path(__file__).resolve().parent.parent
    books = sorted([*root.glob("sample_workbooks/*.xlsx"), *root.glob("tests/fixtures/**/*.xlsx")])
    assert len(books) >= 5
    sheet_order = {s.name: i for i, s in enumerate(spec.SHEETS)}
    kinds: set[tuple[object, ...]] = set()
    for book in books:
        try:
            validator = Validator(read_workbook(book))
        except Exception:  # an unreadable fixture has no findings to order
            continue
        findings = validator.run().findings

        def plain(f: Finding, validator: Validator = validator) -> tuple[object, ...]:
            sheet = validator.sheets.get(f.sheet or "")
            return (
                f.code not in SHOWN_FIRST,
                SEVERITY_ORDER[f.severity],
                sheet_order.get(f.sheet or "", 99),
                f.row or 0,
                sheet.columns.get(f.column or "", 0) if sheet else 0,
            )

        shuffled = list(findings)
        random.Random(book.name).shuffle(shuffled)
        assert [id(f) for f in sorted(shuffled, key=validator.finding_order())] == [
            id(f) for f in sorted(shuffled, key=plain)
        ], book.name
        kinds |= {(f.code, f.severity, f.sheet, f.column) for f in findings}
    assert len(kinds) >= 8  # findings of many kinds were ordered (the broken sample alone has eight)
