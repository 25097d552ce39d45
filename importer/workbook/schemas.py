"""pandera schemas of the data sheets, generated from `spec.py` so the format is declared once.

Each sheet's typed DataFrame (index = Excel row number, one column per format column, values already parsed
by `coerce`) is validated lazily: every failure in one pass. Failures come back as pandera's failure cases
and are turned into located findings by `validate.py`.
"""

from __future__ import annotations

from functools import cache

import pandas as pd
import pandera.pandas as pa

from importer.workbook import spec

DATE_ORDER_CHECKS = {
    "entries": ("started_on", "completed_on"),
    "components": ("activity_started_at", "activity_completed_at"),
}


def _column(col: spec.Column, unique: bool) -> pa.Column:
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
    def check(df: pd.DataFrame) -> pd.Series:
        a, b = df[first], df[second]
        known = a.notna() & b.notna()
        ok = pd.Series(True, index=df.index)
        ok[known] = [y >= x for x, y in zip(a[known], b[known], strict=True)]
        return ok

    return pa.Check(check, name=f"order:{first}:{second}")


@cache
def schema_for(sheet_name: str) -> pa.DataFrameSchema:
    sheet = spec.SHEETS_BY_NAME[sheet_name]
    columns = {c.name: _column(c, unique=c.name in sheet.unique and c.name == "ref") for c in sheet.columns}
    checks = [_date_order(*DATE_ORDER_CHECKS[sheet_name])] if sheet_name in DATE_ORDER_CHECKS else []
    return pa.DataFrameSchema(columns, checks=checks, strict=False, name=sheet_name)
