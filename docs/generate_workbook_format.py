"""Regenerate the sheet tables of docs/workbook-format.md from importer/workbook/spec.py.

    .venv/bin/python docs/generate_workbook_format.py           # rewrite the tables in place
    .venv/bin/python docs/generate_workbook_format.py --check   # exit 1 if the committed doc is out of date

Only the text between the BEGIN/END markers is generated (one section per sheet: its description, then a table
of column, type, required, description, example and allowed values). Everything outside the markers is
hand-written prose and is kept as it is.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the checkout's spec, installed or not

import importer.planning.kinds  # noqa: E402, F401  (the sheets kinds declare themselves join the format)
from importer.workbook import spec  # noqa: E402

DOC = REPO / "docs" / "workbook-format.md"
COMMAND = ".venv/bin/python docs/generate_workbook_format.py"
BEGIN = f"<!-- BEGIN GENERATED from importer/workbook/spec.py by `{COMMAND}`: edit spec.py, not this block -->"
END = "<!-- END GENERATED -->"

#: a column with more choices than this names how many, not each (the contract's 66 quantity kinds, 979 qualifiers)
MANY_CHOICES = 40

TYPE_LABELS = {
    "str": "text",
    "enum": "one of a list",
    "number": "number",
    "date": "date",
    "datetime": "date or date-time",
    "bool": "TRUE/FALSE",
    "unit": "unit",
    "file": "file path",
}
KEY_VALUE_NOTE = "Key/value rows: column A holds the key, column B the value (an optional header row `key | value`)."


def type_label(col: spec.Column) -> str:
    """The column's type in words; a ref column names what it accepts (a row's ref, an Isometric ID, or both)."""
    if col.type in ("ref", "refs"):
        accepts = " or ".join(w for w, ok in (("ref", col.ref_sheet), ("ID", col.id_kind)) if ok) or "ref"
        if col.type == "refs":
            accepts = accepts.replace("ref", "refs").replace("ID", "IDs") + ", comma-separated"
        return accepts
    return TYPE_LABELS.get(col.type, col.type)


def _cell(text: str) -> str:
    """Markdown table cell: one line, pipes escaped."""
    return " ".join(text.split()).replace("|", "\\|")


def _code(value: object) -> str:
    return f"`{value}`"


def _number(value: float) -> str:
    return f"{value:g}"


def allowed_values(col: spec.Column) -> str:
    """What the validator accepts beyond the type, from the column's constraints."""
    parts: list[str] = []
    if len(col.choices) > MANY_CHOICES:  # the contract's qualifiers: the template's dropdown lists them
        parts.append(
            f"one of the contract's {len(col.choices)} values (from {_code(col.choices[0])} to "
            f"{_code(col.choices[-1])}; the template's dropdown lists them all)"
        )
    elif col.choices:
        parts.append("one of " + ", ".join(_code(c) for c in col.choices))
    if col.type in ("ref", "refs"):
        many = col.type == "refs"
        what = []
        if col.ref_sheet:
            what.append(f"{'refs' if many else 'a ref'} of {_code(col.ref_sheet)}")
        if col.id_kind:
            what.append(f"{'' if many else 'a '}{_code(col.id_kind)} {'IDs' if many else 'ID'}")
        if what:
            parts.append(" or ".join(what))
    if col.type == "file":
        parts.append("extensions " + " ".join(_code(ext) for ext in spec.CONTENT_TYPES))
        parts.append(f"non-empty, at most {spec.MAX_SOURCE_BYTES:,} bytes")
    if col.type == "bool":
        parts.append("`TRUE`, `FALSE` (also yes/no, 1/0)")
    if col.max_length is not None:
        parts.append(f"at most {col.max_length} characters")
    bounds = []
    if col.minimum is not None:
        bounds.append(f"{'>' if col.exclusive_minimum else '>='} {_number(col.minimum)}")
    if col.maximum is not None:
        bounds.append(f"<= {_number(col.maximum)}")
    if bounds:
        parts.append(" and ".join(bounds))
    if col.default is not None:
        default = str(col.default).upper() if isinstance(col.default, bool) else col.default
        parts.append(f"default {_code(default)}")
    return "; ".join(parts)


def sheet_section(sheet: spec.Sheet) -> str:
    title = f"## {_code(sheet.name)}" + ("" if sheet.required else " (optional)")
    lines = [title, "", sheet.description, ""]
    if sheet.key_value:
        lines += [KEY_VALUE_NOTE, ""]
    lines += [
        "| column | type | required | description | example | allowed values |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for col in sheet.columns:
        cells = [
            _code(col.name),
            type_label(col),
            "yes" if col.required else "no",
            _cell(col.description),
            _code(col.example) if col.example else "",
            _cell(allowed_values(col)),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def generated_block() -> str:
    sections = "\n\n".join(sheet_section(sheet) for sheet in spec.SHEETS)
    return f"{BEGIN}\n\n{sections}\n\n{END}"


def render(doc: str) -> str:
    """The doc with its generated block replaced by what spec.py says now."""
    start, end = doc.find(BEGIN), doc.find(END)
    if start < 0 or end < start:
        raise SystemExit(f"{DOC}: the markers are missing; expected a line {BEGIN!r} and later a line {END!r}")
    return doc[:start] + generated_block() + doc[end + len(END) :]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the doc differs from spec.py")
    args = parser.parse_args(argv)
    current = DOC.read_text(encoding="utf-8")
    wanted = render(current)
    if args.check:
        if current == wanted:
            return 0
        diff = difflib.unified_diff(current.splitlines(), wanted.splitlines(), "committed", "generated", lineterm="")
        print("\n".join(diff), file=sys.stderr)
        print(
            f"{DOC.relative_to(REPO)} is out of date with importer/workbook/spec.py; regenerate it: {COMMAND}",
            file=sys.stderr,
        )
        return 1
    if current != wanted:
        DOC.write_text(wanted, encoding="utf-8")
        print(f"wrote {DOC.relative_to(REPO)}")
    else:
        print(f"{DOC.relative_to(REPO)} already matches spec.py")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
