"""One parser per column type: the validator's whole-column fast path, its cell loop, and the plain one-cell
parser (`coerce.parse_cell`) must give the same value and the same findings for every cell (property test).
A disagreement is how `components.action = "Add"` was once accepted by one path and refused by another."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import importer
from importer.workbook import spec
from importer.workbook.checks.coordinator import Validator
from importer.workbook.reader import RawBook, RawSheet

importer.register_kinds()  # the whole format, whatever ran before in this process: the draws do not depend on it
COLUMNS = {col.type: col for sheet in spec.SHEETS for col in sheet.columns}
COLUMNS["enum_lower"] = spec.COMPONENTS.column("action")
COLUMNS["enum"] = spec.DATAPOINTS.column("type")

words = st.sampled_from(
    [
        "",
        " ",
        "  REPORTED ",
        "reported",
        "Add",
        "add",
        " Remove",
        "#REF!",
        "#N/A",
        "a, b",
        "a;b",
        "x\ny",
        "t",
        "tonnes",
        "81.2 %",
        "81,2 %",
        "1,234",
        "1 234.5",
        "12.5",
        "-3",
        "2026",
        "2026-10-31",
        "2026-02-30",
        "31/10/2026",
        "TRUE",
        "no",
        "1e3",
        "nan",
        "inf",
        "src_1",
    ]
)
numbers = st.one_of(st.floats(allow_nan=False, allow_infinity=False, width=64), st.integers(-(10**9), 10**9))
dates = st.dates(dt.date(1899, 1, 1), dt.date(2100, 12, 31))
datetimes = st.datetimes(dt.datetime(1899, 1, 1), dt.datetime(2100, 12, 31))
cells = st.one_of(words, st.text(max_size=12), numbers, dates, datetimes, st.booleans(), st.none())


def _run(kind: str, values: list[Any], mode: str) -> tuple[list[Any], list[tuple[str, int | None]]]:
    validator = Validator(RawBook(path=Path("wb.xlsx"), sha256="", sheets={}))
    col = COLUMNS[kind]
    raw = RawSheet(title="sheet", rows=[])
    rows = list(range(2, len(values) + 2))
    if mode == "cell":
        out = [validator.parse("sheet", row, col, value, raw) for row, value in zip(rows, values, strict=True)]
    elif mode == "loop":
        validator.parse_uniform_column = lambda *a, **k: None  # type: ignore[method-assign]
        out = validator.parse_column("sheet", col, rows, values, raw, set())
    else:
        out = validator.parse_column("sheet", col, rows, values, raw, set())
    return out, sorted((f.code, f.row) for f in validator.findings)


def _same(a: Any, b: Any) -> bool:
    return a == b and type(a) is type(b)


KINDS = sorted(COLUMNS)


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(KINDS), values=st.lists(cells, min_size=1, max_size=8))
def test_every_path_parses_a_mixed_column_alike(kind: str, values: list[Any]) -> None:
    cell, cell_findings = _run(kind, values, "cell")
    for mode in ("loop", "fast"):
        out, found = _run(kind, values, mode)
        assert found == cell_findings, (kind, mode, values)
        assert all(_same(a, b) for a, b in zip(out, cell, strict=True)), (kind, mode, values, out, cell)


uniform = st.one_of(
    st.lists(words, min_size=1, max_size=8),
    st.lists(st.text(max_size=10), min_size=1, max_size=8),
    st.lists(numbers, min_size=1, max_size=8),
    st.lists(dates, min_size=1, max_size=8),
    st.lists(datetimes, min_size=1, max_size=8),
)


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(KINDS), values=uniform)
def test_the_whole_column_fast_path_agrees_with_the_cell_parser(kind: str, values: list[Any]) -> None:
    """Columns of one Python type are where the fast path runs."""
    cell, cell_findings = _run(kind, values, "cell")
    out, found = _run(kind, values, "fast")
    assert found == cell_findings, (kind, values)
    assert all(_same(a, b) for a, b in zip(out, cell, strict=True)), (kind, values, out, cell)


def test_a_blank_column_is_its_default_on_every_path() -> None:
    """An optional column left blank (calamine gives '' per cell) takes a shortcut of its own."""
    for kind in KINDS:
        blank = ["", "  ", ""]
        cell = _run(kind, blank, "cell")
        assert _run(kind, blank, "fast") == cell == _run(kind, blank, "loop"), kind


def test_enum_case_is_one_rule() -> None:
    assert _run("enum_lower", ["Add", " REMOVE "], "fast")[0] == ["add", "remove"]
    assert _run("enum_lower", ["Add", None], "loop")[0] == ["add", "add"]
    assert _run("enum", ["reported"], "fast")[0] == ["REPORTED"]


# -- the whole-column schema check against pandera ------------------------------------------------------------


def _typed_values(col: spec.Column) -> st.SearchStrategy[Any]:
    """Values `coerce` can give the column, drawn around its limits (lengths, bounds, choices)."""
    utc = dt.UTC
    by_type: dict[str, st.SearchStrategy[Any]] = {
        "number": st.one_of(
            st.sampled_from([-1.0, 0.0, 1e-9, 0.5, 1.0, 1.0000001, 2.0, 1e12]), st.floats(-5, 5, allow_nan=False)
        ),
        "date": dates,
        "datetime": st.datetimes(dt.datetime(2020, 1, 1), dt.datetime(2030, 1, 1)).map(lambda d: d.replace(tzinfo=utc)),
        "bool": st.booleans(),
        "refs": st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=3).map(tuple),
        "enum": st.sampled_from([*col.choices, "other", "Reported"]),
    }
    if col.type in by_type:
        return by_type[col.type]
    limit = col.max_length or 20
    return st.one_of(st.sampled_from(["a", "b", "c"]), st.integers(max(0, limit - 2), limit + 2).map(lambda n: "x" * n))


def _junk() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.floats(allow_nan=True, allow_infinity=True),
        st.integers(-3, 3),
        st.text(max_size=3),
        st.booleans(),
        dates,
        st.datetimes(dt.datetime(2020, 1, 1), dt.datetime(2030, 1, 1)),
    )


@st.composite
def _sheet_records(draw: Any, junk: bool) -> tuple[spec.Sheet, dict[str, list[Any]]]:
    sheet = draw(st.sampled_from([s for s in spec.SHEETS if not s.key_value]))
    size = draw(st.integers(1, 6))
    records = {}
    for col in sheet.columns:
        cell = st.one_of(_typed_values(col), st.none(), *([_junk()] if junk else []))
        records[col.name] = draw(st.lists(cell, min_size=size, max_size=size))
    return sheet, records


def _pandera_passes(sheet: spec.Sheet, records: dict[str, list[Any]]) -> bool:
    import pandera.errors as pa_errors

    from importer.workbook.schemas import frame_of, schema_for

    rows = list(range(2, len(next(iter(records.values()))) + 2))
    try:
        schema_for(sheet.name).validate(frame_of(records, rows), lazy=True)
    except pa_errors.SchemaErrors:
        return False
    return True


@settings(max_examples=300, deadline=None)
@given(case=_sheet_records(junk=False))
def test_whole_column_check_agrees_with_pandera_on_parsed_values(case: tuple[spec.Sheet, dict[str, list[Any]]]) -> None:
    """On values of the columns' own types, `certainly_passes` says exactly what pandera says."""
    from importer.workbook.schemas import certainly_passes

    sheet, records = case
    assert certainly_passes(sheet, records) == _pandera_passes(sheet, records), repr((sheet.name, records))


@settings(max_examples=200, deadline=None)
@given(case=_sheet_records(junk=True))
def test_whole_column_check_never_passes_what_pandera_refuses(case: tuple[spec.Sheet, dict[str, list[Any]]]) -> None:
    """On anything at all (NaN, infinities, text in number columns, naive and aware times), a yes from
    `certainly_passes` is one pandera gives too: the validator skips pandera only when pandera would pass."""
    from importer.workbook.schemas import certainly_passes

    sheet, records = case
    if certainly_passes(sheet, records):
        assert _pandera_passes(sheet, records), (sheet.name, records)
