"""pandera schemas of the data sheets, generated from `spec.py` so the format is declared once.

Each sheet's typed DataFrame (index = Excel row number, one column per format column, values already parsed
by `coerce`) is validated lazily: every failure in one pass. Failures come back as pandera's failure cases
and are turned into located findings by `validator.py`.

`certainly_passes` asks the same rules of whole columns first, with C-level aggregates (the set of types, `max`,
set inclusion): when it answers yes, pandera could report nothing, and neither pandas nor pandera is loaded
(about 0.7 s of imports, plus building and checking the frame: most of the time offline validation of a clean
100k-row workbook would spend beyond reading it). It answers no whenever it is not sure (a null in a required
column, a value of an unexpected type, any rule broken), and pandera then decides and locates each failure.
A property test holds it to that: whenever it says yes, pandera's validation passes.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from functools import cache, partial
from operator import is_not
from typing import TYPE_CHECKING, cast

from importer.workbook import spec

if TYPE_CHECKING:
    import pandas as pd
    import pandera.pandas as pa

DATE_ORDER_CHECKS = {
    "entries": ("started_on", "completed_on"),
    "components": ("activity_started_at", "activity_completed_at"),
}
#: the types `coerce` gives parsed cells; anything else leaves the decision to pandera
_PARSED_TYPES = frozenset({str, float, int, bool, tuple, dt.date, dt.datetime})
_NOT_NONE = partial(is_not, None)
_NONE_TYPE = type(None)


def unique_columns(sheet: spec.Sheet) -> set[str]:
    """The columns each sheet's schema requires to be unique (the row's ref)."""
    return {c.name for c in sheet.columns if c.name in sheet.unique and c.name == "ref"}


def _column_passes(col: spec.Column, values: Sequence[object], unique: bool) -> bool:
    present: Sequence[object] = values
    types = set(map(type, values))  # also tells whether a cell is blank (None), without a pass of its own
    if _NONE_TYPE in types:
        if col.required:
            return False
        present = list(filter(_NOT_NONE, values))
        types.discard(_NONE_TYPE)
    if not types <= _PARSED_TYPES:
        return False
    numbers = types <= {int, float}
    # told once for the column by `types`, not per cell: with `numbers` every value is an int or a float, with
    # `types == {str}` every one is a str
    as_numbers = cast("Sequence[float]", present)
    if float in types and (not numbers or not all(map(math.isfinite, as_numbers))):
        return False  # a NaN is a null to pandera, an infinity no number the rules expect
    if (
        col.max_length is not None
        and present
        and (types != {str} or max(map(len, cast("Sequence[str]", present))) > col.max_length)
    ):
        return False
    if col.choices and not set(present) <= set(col.choices):
        return False
    if (col.minimum is not None or col.maximum is not None) and present:
        if not numbers:
            return False
        low, high = min(as_numbers), max(as_numbers)
        if col.minimum is not None and (low <= col.minimum if col.exclusive_minimum else low < col.minimum):
            return False
        if col.maximum is not None and high > col.maximum:
            return False
    return not unique or len(set(present)) == len(present)


def certainly_passes(sheet: spec.Sheet, records: Mapping[str, Sequence[object]]) -> bool:
    """True when `schema_for(sheet.name)` would certainly find nothing in these columns (parsed values, one
    list per format column); False when unsure: then pandera decides."""
    unique = unique_columns(sheet)
    try:
        if not all(c.name in records and _column_passes(c, records[c.name], c.name in unique) for c in sheet.columns):
            return False
        if sheet.name in DATE_ORDER_CHECKS:
            first, second = DATE_ORDER_CHECKS[sheet.name]
            # dates (or date-times) once their columns passed; a value that does not compare raises TypeError
            starts, ends = (
                cast("Sequence[dt.date | None]", records[first]),
                cast("Sequence[dt.date | None]", records[second]),
            )
            return all(b >= a for a, b in zip(starts, ends, strict=True) if a is not None and b is not None)
    except TypeError:  # values that do not compare or hash: pandera says what is wrong
        return False
    return True


def _column(col: spec.Column, unique: bool) -> pa.Column:
    import pandera.pandas as pa

    checks: list[pa.Check] = []
    if col.max_length is not None:
        checks.append(pa.Check.str_length(max_value=col.max_length, name=f"max_length:{col.max_length}"))
    if col.choices:
        checks.append(pa.Check.isin(list(col.choices), name="choices"))
    if col.minimum is not None:
        if col.exclusive_minimum:
            checks.append(pa.Check.gt(col.minimum, name=f"gt:{col.minimum:g}"))
        else:
            checks.append(pa.Check.ge(col.minimum, name=f"ge:{col.minimum:g}"))
    if col.maximum is not None:
        checks.append(pa.Check.le(col.maximum, name=f"le:{col.maximum:g}"))
    return pa.Column(object, checks=checks, nullable=not col.required, unique=unique, required=True, coerce=False)


def _date_order(first: str, second: str) -> pa.Check:
    import pandas as pd
    import pandera.pandas as pa

    def check(df: pd.DataFrame) -> pd.Series:
        a, b = df[first], df[second]
        known = a.notna() & b.notna()
        ok = pd.Series(True, index=df.index)
        if known.any():  # pandas refuses assigning an empty list through an all-False mask
            ok[known] = [y >= x for x, y in zip(a[known], b[known], strict=True)]
        return ok

    return pa.Check(check, name=f"order:{first}:{second}")


@cache
def schema_for(sheet_name: str) -> pa.DataFrameSchema:
    import pandera.pandas as pa

    sheet = spec.SHEETS_BY_NAME[sheet_name]
    unique = unique_columns(sheet)
    columns = {c.name: _column(c, unique=c.name in unique) for c in sheet.columns}
    checks = [_date_order(*DATE_ORDER_CHECKS[sheet_name])] if sheet_name in DATE_ORDER_CHECKS else []
    return pa.DataFrameSchema(columns, checks=checks, strict=False, name=sheet_name)


def frame_of(records: Mapping[str, Sequence[object]], rows: list[int]) -> pd.DataFrame:
    """The DataFrame pandera validates: one object column per format column, index = Excel row."""
    import pandas as pd

    frame = pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in records.items()})
    frame.index = pd.Index(rows, dtype="int64")
    return frame
