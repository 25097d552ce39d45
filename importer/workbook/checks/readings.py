"""What the numbers and units of a sheet mean once parsed: number formats honoured (percentages) or refused
(scaled), numbers stored as text that read two ways settled by the others, units rewritten to their canonical
spelling, and quantities that cannot be negative."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from importer.findings import column_index_from_string, get_column_letter
from importer.units import DIMENSIONLESS, PERCENT, CanonicalUnit, UnitError, canonical_unit, non_negative_kind
from importer.workbook import coerce
from importer.workbook.checks.base import Checks
from importer.workbook.reader import RawSheet

if TYPE_CHECKING:
    pass


class Readings(Checks):
    """A sheet's numbers and units read as the cells show them."""

    def honour_formats(self, name: str, records: dict[str, list[Any]], rows: list[int], raw: RawSheet) -> None:
        """What lands is what the cell shows. Number formats that change a number's meaning on screen are
        honoured (a percentage) or refused (a scaled format such as `#,##0,`), and units are rewritten to their
        canonical spelling, refusing ambiguous ones. Every reading that differs from the stored value is a note."""
        sheet = self.sheets[name]
        numbers = {
            sheet.columns[c.name]: c.name for c in sheet.spec.columns if c.type == "number" and c.name in sheet.columns
        }
        position: dict[int, int] | None = None
        percent: dict[tuple[int, str], str] = {}  # (row, column) -> how the cell says it is a percentage
        if raw.number_formats and numbers:
            position = {row: i for i, row in enumerate(rows)}
            for a1, fmt in raw.number_formats.items():
                letters = a1.rstrip("0123456789")
                column = numbers.get(column_index_from_string(letters))
                row = int(a1[len(letters) :])
                if column is None or row not in position or records[column][position[row]] is None:
                    continue
                value = records[column][position[row]]
                if fmt.kind == "scaled":
                    self.error(
                        "scaled_number_format",
                        f"the cell's number format {fmt.code!r} shows the value divided "
                        f"by {1 / fmt.scale:,.0f} (it shows {fmt.display(value)} for the stored {value:,}); "
                        "the importer would send the stored value, not what you see: give the cell a plain "
                        "number format and type the value in the unit of the unit column",
                        sheet=name,
                        row=row,
                        column=column,
                        value=fmt.display(value),
                    )
                    records[column][position[row]] = None
                else:
                    percent[(row, column)] = f"number format {fmt.code!r}"
        for sheet_name, row, column in self.typed_percent:
            if sheet_name == name:
                percent[(row, column)] = "typed with a % sign"
        if name == "datapoints":
            self.canonical_units(records, rows)
        if not percent:
            return
        position = position or {row: i for i, row in enumerate(rows)}
        for (row, column), how in sorted(percent.items()):
            i = position[row]
            value = records[column][i]
            shown = coerce.stored_to_shown(value, 100.0)
            if name != "datapoints":  # a fraction column (attribution_factor): 50% is 0.5
                self.note(
                    "read_percent",
                    f"shows {shown:g}% ({how}); read as the fraction {value:g}",
                    sheet=name,
                    row=row,
                    column=column,
                    value=value,
                )
                continue
            unit = records["unit"][i]
            if (name, row, "unit") in self.bad_cells or unit is None:
                continue
            if unit == PERCENT:
                records[column][i] = shown
                self.note(
                    "read_percent",
                    f"shows {shown:g}% ({how}; stored {value:g}); sent as {shown:g} %",
                    sheet=name,
                    row=row,
                    column=column,
                    value=shown,
                )
            elif unit == DIMENSIONLESS:
                self.note(
                    "read_percent",
                    f"shows {shown:g}% ({how}); unit dimensionless, so sent as the fraction {value:g}",
                    sheet=name,
                    row=row,
                    column=column,
                    value=value,
                )
            else:
                self.error(
                    "percent_unit_mismatch",
                    f"the cell shows {shown:g}% ({how}) but the unit is {unit!r}: a "
                    f"percentage needs the unit % (sent as {shown:g}) or dimensionless (sent as the fraction "
                    f"{value:g}); fix the unit, or the cell's number format",
                    sheet=name,
                    row=row,
                    column=column,
                    value=f"{shown:g}%",
                )
                records[column][i] = None

    def settle_numbers(self, name: str, records: dict[str, list[Any]], rows: list[int], by_position: list[Any]) -> None:
        """A number stored as text that two conventions read differently (`1.185`: 1.185 with a dot as decimal
        mark, 1185 with a dot between thousands; `1,185` the other way round) is refused by the parser. Here the
        other text numbers of its column (of its sheet when the column has none) are weighed: a dot as decimal
        mark (`2.75`, `0.5`, `1,234.5`) settles it the en way, read with a note; a comma as decimal mark (`20,5`,
        `1.234,5`) says it means the de reading, which the importer does not take from text (comma decimals are
        refused), so it stays refused and the message says what it means; both kinds, or neither, leave it
        refused with what was found and what is expected."""
        pending = [item for item in self.ambiguous if item[0] == name]
        if not pending:
            return
        sheet = self.sheets[name]
        evidence: dict[str, dict[str, tuple[str, str]]] = {}  # column -> style -> (cell, text) first showing it
        for col in sheet.spec.columns:
            position = sheet.columns.get(col.name)
            if col.type != "number" or position is None or position > len(by_position):
                continue
            letter = get_column_letter(position)
            found: dict[str, tuple[str, str]] = {}
            for row, value in zip(rows, by_position[position - 1], strict=True):
                style = coerce.number_style(value) if type(value) is str else None
                if style is not None and style not in found:
                    found[style] = (f"{letter}{row}", value.strip())
            evidence[col.name] = found
        index = {row: i for i, row in enumerate(rows)}
        withdrawn: set[int] = set()
        for _, row, column, exc, finding in pending:
            shown, scope = evidence.get(column, {}), f"{column} column"
            if not shown:
                scope = f"{name} sheet"
                for found in evidence.values():
                    for style, seen in found.items():
                        shown.setdefault(style, seen)
            example = {style: f"{text!r} at {cell}" for style, (cell, text) in shown.items()}
            en, de = exc.reading("en"), exc.reading("de")
            if set(shown) == {"en"}:
                records[column][index[row]] = exc.stored("en")
                withdrawn.add(id(finding))
                self.bad_cells.discard((name, row, column))
                if exc.scale != 1.0:
                    self.typed_percent.add((name, row, column))
                self.note(
                    "read_number",
                    f"read {exc.text!r} as {en:g}: the other numbers stored as text in the "
                    f"{scope} use a dot as decimal mark ({example['en']}), so it is read that way too (a dot as "
                    "decimal mark, commas between thousands)",
                    sheet=name,
                    row=row,
                    column=column,
                    value=en,
                )
            elif set(shown) == {"de"}:
                finding.message = (
                    f"found {exc.text!r} stored as text; the other numbers stored as text in the {scope} use a comma "
                    f"as decimal mark ({example['de']}), so it means {de:g} here, not {en:g}, but the importer reads "
                    f"a dot as the decimal mark and does not guess: expected {exc.written('de')} (a dot as decimal "
                    "mark, no thousands separators), or the value stored as a number"
                )
            elif shown:
                finding.message = (
                    f"found {exc.text!r} stored as text: {en:g} as en-US writes numbers, {de:g} as de-DE does, and "
                    f"the {scope} writes numbers both ways ({example['en']}, {example['de']}), so nothing says which; "
                    f"expected the value stored as a number, or text that reads only one way ({exc.written('de')} or "
                    f"{exc.written('en')}, a dot as decimal mark, no thousands separators)"
                )
        if withdrawn:
            self.findings = [f for f in self.findings if id(f) not in withdrawn]
        self.ambiguous = [item for item in self.ambiguous if item[0] != name]

    def canonical_units(self, records: dict[str, list[Any]], rows: list[int]) -> None:
        """Each distinct unit spelling is looked up once; refused ones are errors at their cells, accepted ones
        are rewritten to the canonical spelling sent to the API, with one note per rewrite."""
        units = records.get("unit", [])
        outcome: dict[str, CanonicalUnit | UnitError] = {}
        distinct = set(units)
        for unit in distinct:
            if not isinstance(unit, str):
                continue
            try:
                outcome[unit] = canonical_unit(unit)
            except UnitError as exc:
                outcome[unit] = exc
        first: dict[str, tuple[int, int]] = {}
        if not any(isinstance(found, UnitError) for found in outcome.values()):
            # nothing refused (the usual case): the rewrite and notes of the loop below, done per spelling
            spelled = {unit: found.canonical for unit, found in outcome.items()}  # type: ignore[union-attr]
            rewritten = sorted((units.index(unit), unit) for unit, found in outcome.items() if found.rewritten)  # type: ignore[union-attr]
            for i, unit in rewritten:  # in order of first appearance, as the loop adds them
                first[unit] = (rows[i], units.count(unit))
            if any(unit != canonical for unit, canonical in spelled.items()):
                units[:] = (
                    map(spelled.__getitem__, units)
                    if len(spelled) == len(distinct)  # all strings
                    else [spelled[unit] if isinstance(unit, str) else unit for unit in units]
                )
        else:
            for i, (row, unit) in enumerate(zip(rows, units, strict=True)):
                found = outcome.get(unit) if isinstance(unit, str) else None
                if found is None:
                    continue
                if isinstance(found, UnitError):
                    hint = (
                        ""
                        if found.code == "ambiguous_unit"
                        else ("; use units such as t, kg, kWh, MJ, km, L, m3, %, dimensionless, kgCO2e/kWh")
                    )
                    self.error(found.code, found.message + hint, sheet="datapoints", row=row, column="unit", value=unit)
                    continue
                units[i] = found.canonical
                if found.rewritten:
                    seen = first.setdefault(unit, (row, 0))
                    first[unit] = (seen[0], seen[1] + 1)
        for unit, (row, count) in first.items():
            canonical = outcome[unit].canonical  # type: ignore[union-attr]
            more = f" ({count} cells, the first shown here)" if count > 1 else ""
            self.note(
                "unit_rewritten",
                f"unit {unit!r} is sent as {canonical!r}{more}",
                sheet="datapoints",
                row=row,
                column="unit",
                value=f"{unit} -> {canonical}",
            )

    def check_signs(self) -> None:
        """A quantity that cannot be negative is an error at its magnitude cell when it is: a mass (CO2e masses
        too), volume, length, area, energy, duration, fraction or percentage, told by the unit's dimensions
        (`units.non_negative_kind`; temperatures, pressures, rates and emission factors may be signed). A
        negative standard_deviation is refused by the sheet's schema (>= 0). The datapoints sheet is the one
        holding quantities (component_inputs and entry_inputs cite datapoints; attribution_factor has its own
        range). One `min` over the column tells the usual case (nothing negative): pint is not loaded for it."""
        sheet = self.sheets.get("datapoints")
        if sheet is None or not sheet.rows or "magnitude" not in sheet.columns:
            return
        magnitudes = sheet.records["magnitude"]
        if min(filter(None, magnitudes), default=0.0) >= 0:  # None and 0.0 dropped: neither is negative
            return
        units = sheet.records["unit"]
        for i in [i for i, magnitude in enumerate(magnitudes) if magnitude is not None and magnitude < 0]:
            row, unit = sheet.rows[i], units[i]
            if (
                not isinstance(unit, str)
                or {("datapoints", row, "unit"), ("datapoints", row, "magnitude")} & self.bad_cells
            ):
                continue
            kind = non_negative_kind(unit)
            if kind is None:
                continue
            article = "an" if kind[0] in "aeiou" else "a"
            self.error(
                "negative_quantity",
                f"found {magnitudes[i]:g} {unit}, expected {article} {kind} of 0 or "
                f"more: {article} {kind} cannot be negative; check the sign, and the order of any formula "
                "subtracting two readings (a swapped pair gives a negative)",
                sheet="datapoints",
                row=row,
                column="magnitude",
                value=magnitudes[i],
            )


__all__ = ["Readings"]
