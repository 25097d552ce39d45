"""Turning what a cell holds into what a column wants, the way real workbooks hold it: dates as Excel dates,
serial numbers or ISO text; numbers as numbers or as text with stray spaces; booleans in several spellings.
Each parser returns the typed value or raises CellError with a sentence saying what was found and what was
expected; ambiguous input (``1,234``: a thousand or one point two?) is refused rather than guessed."""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata

EXCEL_EPOCH = dt.date(1899, 12, 30)
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_GROUPED = re.compile(r"^[+-]?\d{1,3}([, ]\d{3})+(\.\d+)?$")
#: one separator (dot or comma) with exactly three digits after it and one to three before (no leading 0):
#: `1.185` is 1.185 to en-US and 1185 to de-DE, `1,185` the other way round
_AMBIGUOUS = re.compile(r"^([+-]?)([1-9]\d{0,2})([.,])(\d{3})$")
#: a number that only de-DE style reads (a comma as decimal mark, dots or spaces between thousands)
_DE_STYLE = re.compile(r"^[+-]?(\d{1,3}([. ]\d{3})+(,\d+)?|\d+,\d+)$")
TRUE_WORDS = frozenset({"true", "yes", "y", "1"})
FALSE_WORDS = frozenset({"false", "no", "n", "0"})


class CellError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class AmbiguousNumber(CellError):
    """A number stored as text that two conventions read differently (`1.185`: 1.185 with a dot as decimal mark,
    1185 with a dot between thousands). Refused on its own; the validator may settle it from what the other text
    numbers of the column (or sheet) show (`Validator.settle_numbers`). `scale` is 100 for a typed percentage
    (`1.185 %`): the readings are the numbers shown, the value stored is a reading divided by the scale."""

    def __init__(self, text: str, separator: str, as_decimal: float, as_grouping: float, scale: float = 1.0) -> None:
        self.text = text
        self.separator = separator
        self.as_decimal = as_decimal
        self.as_grouping = as_grouping
        self.scale = scale
        name = "dot" if separator == "." else "comma"
        writes = "de-DE" if separator == "." else "en-US"
        super().__init__(
            "bad_number",
            (
                f"found {text!r} stored as text: with a {name} as decimal mark it is {as_decimal:g}, with a {name} "
                f"between thousands (as {writes} writes it) {as_grouping:g}, and nothing else in the column says "
                "which; "
                f"expected a number stored as a number (format the cell as Number, not Text) or text that reads only "
                f"one way: {unambiguous(as_grouping)}, or {unambiguous(as_decimal)} with a dot as decimal mark"
            ),
        )

    def reading(self, style: str) -> float:
        """The number shown under a style: `en` (dot decimal, comma thousands) or `de` (the other way round)."""
        decimal = (self.separator == ".") == (style == "en")
        return self.as_decimal if decimal else self.as_grouping

    def written(self, style: str) -> str:
        """How to write a reading so that it reads only one way (`1185`, `1.1850`)."""
        return unambiguous(self.reading(style))

    def stored(self, style: str) -> float:
        shown = self.reading(style)
        return shown if self.scale == 1.0 else shown_to_stored(shown, self.scale)


def unambiguous(number: float) -> str:
    """A number as text that reads only one way: `1.1850` for 1.185, `12` for 12.0, `1185` for 1185."""
    text = f"{number:.15g}"
    return text + "0" if _AMBIGUOUS.match(text) else text


def _plain(text: str) -> str:
    """A number cell's text as `as_number` reads it: stripped, no-break spaces as spaces, a trailing % gone."""
    text = text.strip().replace("\u00a0", " ").replace("\u202f", " ")
    return text[:-1].rstrip() if text.endswith("%") else text


def number_style(value: object) -> str | None:
    """Which convention a number stored as text shows, when it shows one: `en` (`2.75`, `0.185`, `1,234.5`,
    `1,234,567`: a dot as decimal mark), `de` (`20,5`, `1.234,5`, `1.234.567`: a comma as decimal mark), None
    for anything else (`1185`, numbers that are not text, the ambiguous `1.185` itself, text that is no number).
    The evidence `Validator.settle_numbers` weighs for an ambiguous cell."""
    if not isinstance(value, str):
        return None
    text = _plain(value)
    if not text or _AMBIGUOUS.match(text):
        return None
    if _PLAIN_NUMBER.match(text):
        return "en" if "." in text.split("e")[0].split("E")[0] else None
    if _GROUPED.match(text) and ("." in text or "," in text):
        return "en"
    if _DE_STYLE.match(text) and ("," in text or "." in text):
        return "de"
    return None


def as_text(value: object) -> str | None:
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


_PERCENT_TEXT = re.compile(r"^(.*?)\s*%$")


def percent_text(value: object) -> float | None:
    """Typed text such as `81.2 %` is the number a percent-formatted cell would store (0.812), following the
    number rules (`81,2 %` is refused like `81,2`); None when the text is not a percentage."""
    if not isinstance(value, str):
        return None
    match = _PERCENT_TEXT.match(value.strip().replace("\u00a0", " "))
    if not match or not match.group(1):
        return None
    try:
        shown = as_number(match.group(1))
    except AmbiguousNumber as exc:  # `1.185 %`: the readings are percentages
        raise AmbiguousNumber(exc.text + " %", exc.separator, exc.as_decimal, exc.as_grouping, 100.0) from None
    return shown_to_stored(shown, 100.0)


def shown_to_stored(shown: float, scale: float) -> float:
    """The stored value behind a shown one (81.2 shown at scale 100 is 0.812), to 15 significant digits as
    Excel keeps them."""
    return float(f"{shown / scale:.15g}")


def stored_to_shown(stored: float, scale: float) -> float:
    """What a cell shows for a stored value under a scaling format (0.812 at 100 shows 81.2), to 15
    significant digits, so 0.8120000000000001 lands as 81.2, not 81.20000000000002."""
    return float(f"{stored * scale:.15g}")


def as_number(value: object) -> float:
    if isinstance(value, bool):
        raise CellError("bad_number", f"expected a number, found the boolean {value}")
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, (dt.date, dt.datetime)):
        raise CellError("bad_number", f"expected a number, found the date {value.isoformat()}")
    else:
        text = str(value).strip().replace("\u00a0", " ")
        ambiguous = _AMBIGUOUS.match(text)
        if ambiguous:
            sign, whole, separator, part = ambiguous.groups()
            raise AmbiguousNumber(text, separator, float(f"{sign}{whole}.{part}"), float(f"{sign}{whole}{part}"))
        if _PLAIN_NUMBER.match(text):
            number = float(text)
        elif _GROUPED.match(text) and ("." in text or " " in text):
            number = float(text.replace(",", "").replace(" ", ""))
        elif re.match(r"^[+-]?\d+,\d+$", text):
            raise CellError(
                "bad_number",
                f"{text!r} uses a comma as decimal mark or thousands separator; write "
                f"{text.replace(',', '.')} or {text.replace(',', '')} (a dot is the decimal mark)",
            )
        elif _DE_STYLE.match(text):
            meant = text.replace(".", "").replace(" ", "").replace(",", ".")
            raise CellError(
                "bad_number",
                f"{text!r} is written the de-DE way (a comma as decimal mark, dots or "
                f"spaces between thousands); write {meant} (a dot is the decimal mark, no thousands "
                "separators), or store the value as a number",
            )
        else:
            raise CellError("bad_number", f"expected a number, found {text!r}")
    if math.isnan(number) or math.isinf(number):
        raise CellError("bad_number", f"expected a finite number, found {value!r}")
    return number


#: Excel serial numbers taken as dates: 1990-01-01 to 2100-12-31. Outside that window a number in a date
#: column is almost always something else typed into it (a year, a day of the month, a quantity).
SERIAL_MIN = (dt.date(1990, 1, 1) - EXCEL_EPOCH).days
SERIAL_MAX = (dt.date(2100, 12, 31) - EXCEL_EPOCH).days
EARLIEST = dt.date(1900, 1, 1)


def _serial_date(value: float) -> dt.date:
    """An Excel serial number as a date, refused when it cannot be the date a person meant."""
    if math.isnan(value) or math.isinf(value):
        raise CellError("bad_date", f"expected a date, found the number {value!r}")
    if SERIAL_MIN <= value <= SERIAL_MAX + 1:
        return EXCEL_EPOCH + dt.timedelta(days=int(value))
    raise CellError("bad_date", _serial_date_message(value))


#: a date cell holding a small whole number shows a date in 1900-1905: 2026 typed into a date-formatted cell
#: shows 1905-07-18. Dates up to this one are read back as the number typed (ECMA-376's 1900 date system).
SMALL_SERIAL_END = EXCEL_EPOCH + dt.timedelta(days=2101)


def _check_year(day: dt.date, written: str, *, native: bool = False) -> dt.date:
    if native and EXCEL_EPOCH < day < SMALL_SERIAL_END:  # an Excel date made from a small number
        serial = (day - EXCEL_EPOCH).days if day >= dt.date(1900, 3, 1) else (day - dt.date(1899, 12, 31)).days
        raise CellError(
            "bad_date",
            _serial_date_message(float(serial)).replace(
                "found the number", f"found {day.isoformat()}, made from the number"
            ),
        )
    if day < EARLIEST:
        raise CellError("bad_date", f"found {written}, a date before 1900; check the year")
    return day


def _serial_date_message(value: float) -> str:
    shown = f"{value:g}"
    if float(value).is_integer() and 1900 <= value <= 2100:
        return f"found the number {shown}, which looks like a year, not a date; type the whole date (YYYY-MM-DD)"
    if float(value).is_integer() and 1 <= value <= 31:
        return (
            f"found the number {shown}, which looks like a day of the month, not a date; type the whole date "
            "(YYYY-MM-DD)"
        )
    return f"found the number {shown}, which is not a date between 1990 and 2100; type the date as YYYY-MM-DD"


def as_date(value: object) -> dt.date:
    if isinstance(value, dt.datetime):
        return _check_year(value.date(), value.date().isoformat(), native=True)
    if isinstance(value, dt.date):
        return _check_year(value, value.isoformat(), native=True)
    if isinstance(value, dt.time):
        raise CellError(
            "bad_date",
            f"found the time {value.isoformat()}, not a date: the cell holds 0 or a date "
            "before 1900; type the date as YYYY-MM-DD",
        )
    if isinstance(value, bool):
        raise CellError("bad_date", f"expected a date, found the boolean {value}")
    if isinstance(value, (int, float)):
        return _serial_date(float(value))
    text = str(value).strip()
    match = _ISO_DATE.match(text)
    if match:
        try:
            day = dt.date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            raise CellError("bad_date", f"{text!r} is not a real date") from None
        return _check_year(day, repr(text))
    if "T" in text or " " in text:
        try:
            stamp = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            stamp = None
        if stamp is not None:
            return _check_year(stamp.date(), repr(text))
    if _PLAIN_NUMBER.match(text):
        return _serial_date(float(text))
    raise CellError("bad_date", f"expected a date (YYYY-MM-DD or an Excel date), found {text!r}")


def as_datetime(value: object) -> dt.datetime:
    """A date-time in UTC; a plain date means midnight UTC; naive times are taken as UTC."""
    if isinstance(value, dt.datetime):
        _check_year(value.date(), value.isoformat(), native=True)
        result = value
    elif isinstance(value, dt.date):
        result = dt.datetime.combine(as_date(value), dt.time())
    elif isinstance(value, dt.time):
        as_date(value)  # raises: a bare time of day is no date
        raise AssertionError("unreachable")  # pragma: no cover
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        day = _serial_date(float(value))
        result = dt.datetime.combine(day, dt.time()) + dt.timedelta(days=float(value) - int(value))
    else:
        text = str(value).strip()
        try:
            result = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            try:
                result = dt.datetime.combine(as_date(text), dt.time())
            except CellError as exc:
                if "looks like" in exc.message or "before 1900" in exc.message or "between 1990" in exc.message:
                    raise
                raise CellError(
                    "bad_date",
                    f"expected a date-time (YYYY-MM-DD or YYYY-MM-DDTHH:MM, or an Excel date), found {text!r}",
                ) from None
        else:
            _check_year(result.date(), repr(text))
    if result.tzinfo is None:
        result = result.replace(tzinfo=dt.UTC)
    return result.astimezone(dt.UTC)


def as_bool(value: object) -> bool:
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


_REF_SEPARATORS = re.compile(r"[,;\n]")


def split_refs(text: str) -> tuple[str, ...]:
    """The refs of a list cell: split at commas, semicolons and line breaks, each stripped, empty ones dropped."""
    parts = text.split(",") if ";" not in text and "\n" not in text else _REF_SEPARATORS.split(text)
    return tuple(filter(None, map(str.strip, parts)))


def enum_value(choices: tuple[str, ...], text: str) -> str:
    """An enum cell in the case its choices are listed in (`Add` -> `add`, `reported` -> `REPORTED`)."""
    return text.upper() if choices and choices[0].isupper() else text.lower()


def parse_cell(kind: str, value: object, *, choices: tuple[str, ...] = (), default: object = None) -> object:
    """The one parser of a cell for a column type of the workbook format (`importer.workbook.spec`): both the
    cell-by-cell path and the whole-column fast path of the validator must give what this gives (a property
    test holds them to it). Blank cells give `default`; a value that does not fit raises CellError."""
    text = as_text(value)
    if text is None:
        return default
    if kind == "number":
        percent = percent_text(value)
        return percent if percent is not None else as_number(value)
    if kind == "date":
        return as_date(value)
    if kind == "datetime":
        return as_datetime(value)
    if kind == "bool":
        return as_bool(value)
    if kind == "enum":
        return enum_value(choices, text)
    if kind == "refs":
        return split_refs(text) or default
    return text


# -- texts that look the same ---------------------------------------------------------------------------------


def fold_text(text: str) -> str:
    """What two texts that read the same to a person share: compatibility forms and accents composed (NFKC:
    `ｔ` is `t`, `ﬁ` is `fi`, e + combining acute is é), invisible format characters (zero-width spaces, joiners,
    byte-order marks, soft hyphens) dropped, runs of whitespace (no-break spaces included) one space, stripped,
    letter case ignored. Equal folds and unequal texts are what `how_texts_differ` explains."""
    return _unfolded(text).casefold()


def _named(ch: str) -> str:
    return f"U+{ord(ch):04X} {unicodedata.name(ch, 'unnamed character')}"


def _where(text: str, index: int) -> str:
    before = text[:index].strip()
    return f"after {before[-12:]!r}" if before else "at the start"


def _oddities(text: str) -> dict[str, str]:
    """What in `text` a reader cannot see, by kind, each said in words."""
    found: dict[str, str] = {}
    if text != text.strip():
        ends = [end for end, odd in (("start", text[:1].isspace()), ("end", text[-1:].isspace())) if odd]
        found["edge"] = f"whitespace at its {' and '.join(ends)}"
    if text.isascii():
        return found
    if unicodedata.normalize("NFC", text) != text:
        found["accents"] = (
            "its accented letters decomposed (each a plain letter followed by a combining accent, "
            "as text copied from a Mac often has them)"
        )
    hidden = [(i, ch) for i, ch in enumerate(text) if unicodedata.category(ch) == "Cf"]
    if hidden:
        found["hidden"] = "the invisible " + ", ".join(f"{_named(ch)} ({_where(text, i)})" for i, ch in hidden[:3])
    spaces = [(i, ch) for i, ch in enumerate(text.strip()) if ch.isspace() and ch != " "]
    if spaces:
        found["spaces"] = ", ".join(f"the {_named(ch)} ({_where(text.strip(), i)})" for i, ch in spaces[:3]) + (
            " where a plain space looks the same"
        )
    composed = unicodedata.normalize("NFC", text)
    compat = [
        ch
        for ch in composed
        if not ch.isspace() and unicodedata.category(ch) != "Cf" and unicodedata.normalize("NFKC", ch) != ch
    ]
    if compat:
        found["compat"] = ", ".join(
            f"{_named(ch)}, a look-alike of {unicodedata.normalize('NFKC', ch)!r}" for ch in dict.fromkeys(compat)
        )
    return found


def how_texts_differ(written: str, meant: str, here: str = "this cell", there: str = "the other") -> str | None:
    """What sets apart two texts that look the same (equal `fold_text`), in words, for a message that would
    otherwise say "did you mean 'torréfié-t'?" beside a cell showing torréfié-t; None when they are equal or
    differ visibly. `here` and `there` name where each text is written."""
    if written == meant or fold_text(written) != fold_text(meant):
        return None
    mine, theirs = _oddities(written), _oddities(meant)
    parts: list[str] = []
    for side, odd, other_side, other in ((here, mine, there, theirs), (there, theirs, here, mine)):
        for kind, words in odd.items():
            if other.get(kind) == words:
                continue
            if kind == "accents" and "accents" not in other:
                parts.append(f"{side} has {words} where {other_side} has them composed (one character each)")
            else:
                parts.append(f"{side} has {words}")
    plain = [_unfolded(text) for text in (written, meant)]
    if plain[0] != plain[1]:  # what folding leaves differing is letter case
        parts.append(f"{here} and {there} differ in letter case")
    if not parts:  # runs of spaces, or compositions NFKC makes that none of the above names
        parts.append(f"{here} and {there} differ in their spacing or in how their characters are encoded")
    accents_only = all("accented letters" in part for part in parts)
    lead = "its accented letters are encoded differently: " if accents_only else "it is not the same text: "
    return lead + "; ".join(parts)


def _unfolded(text: str) -> str:
    """`fold_text` but for letter case."""
    folded = unicodedata.normalize("NFKC", text)
    if not folded.isascii():
        folded = "".join(ch for ch in folded if unicodedata.category(ch) != "Cf")
    return " ".join(folded.split())


def did_you_mean(written: str, suggestion: str, *, here: str = "this cell", there: str = "the other") -> str:
    """`did you mean 'x'?`, and when `x` looks the same as what was written, what sets them apart
    (`how_texts_differ`): a hint reading "did you mean 'torréfié-t'?" beside torréfié-t helps nobody."""
    how = how_texts_differ(written, suggestion, here, there)
    if how is None:
        return f"did you mean {suggestion!r}?"
    return f"did you mean {suggestion!r}? It looks the same, but {how}; type one of them again so both match"
