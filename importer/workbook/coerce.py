"""Turning what a cell holds into what a column wants, the way real workbooks hold it: dates as Excel dates,
serial numbers or ISO text; numbers as numbers or as text with stray spaces; booleans in several spellings.
Each parser returns the typed value or raises CellError with a sentence saying what was found and what was
expected; ambiguous input (``1,234``: a thousand or one point two?) is refused rather than guessed."""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

EXCEL_EPOCH = dt.date(1899, 12, 30)
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_GROUPED = re.compile(r"^[+-]?\d{1,3}([, ]\d{3})+(\.\d+)?$")
TRUE_WORDS = frozenset({"true", "yes", "y", "1"})
FALSE_WORDS = frozenset({"false", "no", "n", "0"})


class CellError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def as_text(value: Any) -> str | None:
    """Text of a cell, stripped; None when blank. Whole numbers typed into text columns lose their `.0`."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if value.is_integer():
            return str(int(value))
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    text = str(value).strip()
    return text or None


def as_number(value: Any) -> float:
    if isinstance(value, bool):
        raise CellError("bad_number", f"expected a number, found the boolean {value}")
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, (dt.date, dt.datetime)):
        raise CellError("bad_number", f"expected a number, found the date {value.isoformat()}")
    else:
        text = str(value).strip().replace("\u00a0", " ")
        if _PLAIN_NUMBER.match(text):
            number = float(text)
        elif _GROUPED.match(text) and ("." in text or " " in text):
            number = float(text.replace(",", "").replace(" ", ""))
        elif re.match(r"^[+-]?\d+,\d+$", text):
            raise CellError("bad_number", f"{text!r} uses a comma as decimal mark or thousands separator; write "
                            f"{text.replace(',', '.')} or {text.replace(',', '')} (a dot is the decimal mark)")
        else:
            raise CellError("bad_number", f"expected a number, found {text!r}")
    if math.isnan(number) or math.isinf(number):
        raise CellError("bad_number", f"expected a finite number, found {value!r}")
    return number


def as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, bool):
        raise CellError("bad_date", f"expected a date, found the boolean {value}")
    if isinstance(value, (int, float)):
        if math.isnan(value) or not 1 <= value < 2958466:
            raise CellError("bad_date", f"expected a date, found the number {value!r}")
        return EXCEL_EPOCH + dt.timedelta(days=int(value))
    text = str(value).strip()
    match = _ISO_DATE.match(text)
    if match:
        try:
            return dt.date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            raise CellError("bad_date", f"{text!r} is not a real date") from None
    if "T" in text or " " in text:
        try:
            return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).date()
        except ValueError:
            pass
    raise CellError("bad_date", f"expected a date (YYYY-MM-DD or an Excel date), found {text!r}")


def as_datetime(value: Any) -> dt.datetime:
    """A date-time in UTC; a plain date means midnight UTC; naive times are taken as UTC."""
    if isinstance(value, dt.datetime):
        result = value
    elif isinstance(value, dt.date):
        result = dt.datetime.combine(value, dt.time())
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        if math.isnan(value) or not 1 <= value < 2958466:
            raise CellError("bad_date", f"expected a date-time, found the number {value!r}")
        result = dt.datetime.combine(EXCEL_EPOCH, dt.time()) + dt.timedelta(days=float(value))
    else:
        text = str(value).strip()
        try:
            result = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            try:
                result = dt.datetime.combine(as_date(text), dt.time())
            except CellError:
                raise CellError("bad_date", f"expected a date-time (YYYY-MM-DD or YYYY-MM-DDTHH:MM, or an Excel date),"
                                f" found {text!r}") from None
    if result.tzinfo is None:
        result = result.replace(tzinfo=dt.UTC)
    return result.astimezone(dt.UTC)


def as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise CellError("bad_bool", f"expected TRUE or FALSE, found {value!r}")


def split_refs(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in re.split(r"[,;\n]", text) if part.strip())
