"""Generate the workbook a field team fills in, from the live project's templates and blueprints.

Everything comes from `spec.py` (sheets, headers, comments explaining each column) plus the project: Excel
dropdowns for enums, for template / template component / input key names, and for refs (lists pointing at
the ref column of the other sheet); an `entry_inputs` block pre-listed with one row per monitored input of
each chosen template (expected unit and shape from the blueprint), ready to receive datapoint refs; frozen
header rows, column widths, date formats; and a README sheet in plain words.

It receives plain objects (templates, blueprints) and speaks no HTTP; the CLI fetches them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from openpyxl import Workbook as XlWorkbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation

from importer.workbook import spec

if TYPE_CHECKING:  # plain objects the CLI fetched: this module speaks no HTTP
    from importer.api import models as m

MAX_ROWS = 5000  # validations and ref lists cover this many data rows
HEADER_FILL = PatternFill("solid", fgColor="1F4E78")
HEADER_FONT = Font(bold=True, color="FFFFFF")
INFO_FILL = PatternFill("solid", fgColor="EDEDED")
LISTS_SHEET = "_lists"
#: an enum column with more choices than this says how many in its header's comment (the dropdown lists them):
#: the contract's 66 quantity kinds and 979 qualifiers, which it does not narrow by measurement type
MANY_CHOICES = 40

README_TEXT = [
    ("How to fill in this workbook", True),
    (
        "This workbook is read by `isometric-import` and turned into Isometric Certify records. Fill one row per "
        "object; row 1 of each sheet is the header. Hover a header to read what the column wants.",
        False,
    ),
    ("", False),
    (
        "1. project: the project ID is filled in. Set statement_end_on (the last day of the reporting period) if "
        "this import closes a GHG statement, and submit_statement TRUE only when the report URL is final.",
        False,
    ),
    (
        "2. sources: one row per evidence document (PDF, CSV, photo...). Put the files in this folder (or a "
        "subfolder) and write the path in the file column, e.g. evidence/weighbridge.pdf.",
        False,
    ),
    (
        "3. datapoints: one row per measured or reported value: magnitude, unit (t, kg, kWh, L, km, %, "
        "kgCO2e/kWh...), and the refs of the sources that prove it (comma-separated).",
        False,
    ),
    (
        "4. feedstock_types: the feedstock types your entries use, each by its name as Isometric shows it (the "
        "dropdown lists the organisation's types) or its ftt_ ID. The API cannot create a feedstock type: a new one "
        "is created in the Certify UI first.",
        False,
    ),
    (
        "5. entries: one row per GHG entry (a batch, an application). The template column names the GHG entry "
        "template; started_on and completed_on are dates.",
        False,
    ),
    (
        "6. entry_inputs: already lists every monitored input of each template. Put the ref of your entry in "
        "entry_ref and the datapoint ref(s) in datapoint_refs. Grey columns are for information only.",
        False,
    ),
    (
        "7. components / component_inputs: only for extra components (e.g. a site generator) or to remove a "
        "template component from an entry.",
        False,
    ),
    (
        "8. storage_locations / production_batches / biochar_applications (optional: the chain of custody): register "
        "each field once in storage_locations (later months cite it by its slc_ ID); one production_batches row per "
        "batch (under a month; its facility's fcl_ ID here or as facility_id on the project sheet); one "
        "biochar_applications row per spreading, with the truck's mass on arrival and departure. A batch or an "
        "application cannot be edited through the API: a changed row is replaced only when the analyst runs with "
        "--replace.",
        False,
    ),
    (
        "9. measurement_locations / samples / sample_values (optional: lab results): one samples row per sample the "
        "lab (or a field team at a measurement_locations point) measured, taken from at most one production batch, "
        "storage location, measurement location or feedstock batch, with its lab certificate in source_refs; one "
        "sample_values row per value (quantity_kind and qualifier from the dropdowns; several rows of one property "
        "are replicates). Bind a value in entry_inputs or component_inputs by its sample_values ref: replicates go "
        "to a list input. A sample cannot be edited through the API: a changed value replaces the sample (with "
        "--replace) and re-binds its entries; never once a submitted statement uses it.",
        False,
    ),
    ("", False),
    (
        "Every ref is your own short name, unique in its sheet. Wherever a ref is expected you may instead give an "
        "existing Isometric ID (src_..., dtp_..., ftt_...).",
        False,
    ),
    (
        "Before sending anything, the analyst runs `isometric-import validate`: every problem is reported with its "
        "cell (for example datapoints!E7), and `--annotate` returns a copy of this file with those cells marked.",
        False,
    ),
]


def _readme_text() -> list[tuple[str, bool]]:
    """The README sheet's lines: `README_TEXT`, with one numbered line for each sheet a kind declares itself
    (`spec.register`, loaded by the caller), in its own words (its `description`), after the sheets above."""
    blank = len(README_TEXT) - 1 - README_TEXT[::-1].index(("", False))  # the line after the numbered sheets
    numbered = sum(1 for text, _ in README_TEXT if re.match(r"\d+\. ", text))
    declared = [s for s in spec.SHEETS if s.row_type is not None]
    lines = [(f"{numbered + i}. {s.name}: {s.description}", False) for i, s in enumerate(declared, start=1)]
    return README_TEXT[:blank] + lines + README_TEXT[blank:]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "entry"


def _shape(blueprints: Mapping[str, m.ComponentBlueprint], blueprint_key: str, input_key: str) -> tuple[str, str]:
    blueprint = blueprints.get(blueprint_key)
    spec_input = next((i for i in blueprint.inputs if i.input_key == input_key), None) if blueprint else None
    if spec_input is None:
        return "", ""
    shape = str(getattr(spec_input.data_shape, "value", spec_input.data_shape)).lower()
    return spec_input.compatible_unit, "list" if shape.endswith("list") else "scalar"


def _header_comment(col: spec.Column) -> Comment:
    parts = [col.description or col.name, f"Type: {col.type}" + (" (required)" if col.required else " (optional)")]
    if len(col.choices) > MANY_CHOICES:  # the contract's quantity kinds and qualifiers: the dropdown holds them
        parts.append(f"One of the {len(col.choices)} values of the dropdown (the contract's list).")
    elif col.choices:
        parts.append("One of: " + ", ".join(col.choices))
    if col.max_length:
        parts.append(f"At most {col.max_length} characters.")
    if col.example:
        parts.append(f"Example: {col.example}")
    comment = Comment("\n".join(parts), "isometric-import")
    comment.width, comment.height = 320, 160
    return comment


def _list_validation(formula: str, *, strict: bool, prompt: str) -> DataValidation:
    dv = DataValidation(type="list", formula1=formula, allow_blank=True, showDropDown=False)
    dv.showErrorMessage = True
    dv.errorStyle = "stop" if strict else "warning"  # multi-value ref cells ("a, b") must stay allowed
    dv.error = prompt
    dv.errorTitle = "Value not in the list"
    return dv


def build_template(
    path: Path,
    *,
    project_id: str,
    templates: Sequence[m.GhgEntryTemplate],
    blueprints: Mapping[str, m.ComponentBlueprint],
    feedstock_types: Sequence[m.FeedstockType] = (),
) -> Path:
    """Write the fill-in workbook for `templates` of `project_id` to `path`; `feedstock_types` (the
    organisation's, as listed) fill the feedstock_types sheet's dropdowns of names and IDs."""
    spec.plug_ins()  # the sheets kinds declare themselves are part of the template too
    book = XlWorkbook()
    readme = book.active
    readme.title = "README"
    for i, (text, bold) in enumerate(_readme_text(), start=1):
        cell = readme.cell(row=i, column=1, value=text)
        cell.font = Font(bold=bold, size=14 if bold else 11)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    readme.column_dimensions["A"].width = 120

    lists = book.create_sheet(LISTS_SHEET)
    lists.sheet_state = "hidden"
    list_columns: dict[str, str] = {}

    def add_list(name: str, values: list[str]) -> str:
        col = len(list_columns) + 1
        lists.cell(row=1, column=col, value=name)
        for r, value in enumerate(values, start=2):
            lists.cell(row=r, column=col, value=value)
        letter = get_column_letter(col)
        ref = f"{quote_sheetname(LISTS_SHEET)}!${letter}$2:${letter}${max(2, len(values) + 1)}"
        list_columns[name] = ref
        return ref

    add_list("datapoint_type", list(spec.DATAPOINT_TYPES))
    add_list("bool", ["TRUE", "FALSE"])
    add_list("action", list(spec.COMPONENT_ACTIONS))
    add_list("template", [t.display_name for t in templates])
    components = sorted({c.display_name for t in templates for g in t.groups for c in g.components})
    add_list("template_component", components)
    input_keys = sorted(
        {
            i.input_key
            for t in templates
            for g in t.groups
            for c in g.components
            for i in c.inputs
            if str(getattr(i.type, "value", i.type)).endswith("monitored")
        }
    )
    add_list("input_key", input_keys)
    add_list("group", sorted({g.key for t in templates for g in t.groups}))
    add_list("blueprint_key", sorted(blueprints))
    add_list("feedstock_type_name", sorted({t.name for t in feedstock_types}))
    add_list("feedstock_type_id", sorted({t.id for t in feedstock_types}))

    ref_column = {s.name: f"{quote_sheetname(s.name)}!$A$2:$A${MAX_ROWS}" for s in spec.SHEETS if s.has_ref}
    enum_lists = {
        ("datapoints", "type"): ("datapoint_type", True),
        ("sources", "is_public"): ("bool", True),
        ("components", "action"): ("action", True),
        ("entries", "template"): ("template", False),
        ("entry_inputs", "template_component"): ("template_component", False),
        ("entry_inputs", "input_key"): ("input_key", True),
        ("components", "group"): ("group", False),
        ("components", "template_component"): ("template_component", False),
        ("components", "blueprint_key"): ("blueprint_key", True),
        ("feedstock_types", "name"): ("feedstock_type_name", False),
        ("feedstock_types", "feedstock_type_id"): ("feedstock_type_id", False),
    }
    for sheet in spec.SHEETS:  # every other enum column of the format gets its choices as a strict dropdown
        for col in sheet.columns:
            if col.type == "enum" and col.choices and (sheet.name, col.name) not in enum_lists:
                add_list(f"{sheet.name}.{col.name}", list(col.choices))
                enum_lists[(sheet.name, col.name)] = (f"{sheet.name}.{col.name}", True)

    for sheet in spec.SHEETS:
        ws = book.create_sheet(sheet.name)
        if sheet.key_value:
            ws.append(["key", "value"])
            values = {"project_id": project_id, "submit_statement": "FALSE"}
            for col in sheet.columns:
                ws.append([col.name, values.get(col.name)])
                ws.cell(row=ws.max_row, column=1).comment = _header_comment(col)
            ws.column_dimensions["A"].width = 30
            ws.column_dimensions["B"].width = 50
            for cell in ws[1]:
                cell.fill, cell.font = HEADER_FILL, HEADER_FONT
            ws.freeze_panes = "A2"
            dv = _list_validation(list_columns["bool"], strict=True, prompt="TRUE or FALSE")
            ws.add_data_validation(dv)
            dv.add(f"B{[c.name for c in sheet.columns].index('submit_statement') + 2}")
            continue
        for index, col in enumerate(sheet.columns, start=1):
            cell = ws.cell(row=1, column=index, value=col.name)
            cell.fill, cell.font = HEADER_FILL, HEADER_FONT
            cell.comment = _header_comment(col)
            letter = get_column_letter(index)
            ws.column_dimensions[letter].width = max(14, min(45, len(col.name) + 6, len(col.example) + 6))
            data_range = f"{letter}2:{letter}{MAX_ROWS}"
            if col.type in ("date", "datetime"):  # a column style: typed dates show as dates, no rows are made
                ws.column_dimensions[letter].number_format = "yyyy-mm-dd"
            if (sheet.name, col.name) in enum_lists:
                name, strict = enum_lists[(sheet.name, col.name)]
                dv = _list_validation(list_columns[name], strict=strict, prompt=f"Choose a {col.name} from the list")
            elif col.type in ("ref", "refs") and col.ref_sheet in ref_column:
                dv = _list_validation(
                    ref_column[col.ref_sheet],
                    strict=False,
                    prompt=f"Not a ref of the {' or '.join((col.ref_sheet, *col.also_sheets))} sheet (an existing ID "
                    "is fine)",
                )
            else:
                continue
            ws.add_data_validation(dv)
            dv.add(data_range)
        ws.freeze_panes = "A2"

    entries = book["entries"]
    entry_inputs = book["entry_inputs"]
    names = [c.name for c in spec.ENTRY_INPUTS.columns]
    for template in templates:
        entry_ref = f"{_slug(template.display_name)}-1"
        entries.append([entry_ref, template.display_name])
        for group in template.groups:
            for comp in group.components:
                for item in comp.inputs:
                    if not str(getattr(item.type, "value", item.type)).endswith("monitored"):
                        continue
                    unit, shape = _shape(blueprints, comp.blueprint_key, item.input_key)
                    values = {
                        "entry_ref": entry_ref,
                        "template_component": comp.display_name,
                        "input_key": item.input_key,
                        "expected_unit": unit,
                        "shape": shape,
                    }
                    entry_inputs.append([values.get(n) for n in names])
    for name in ("expected_unit", "shape"):
        letter = get_column_letter(names.index(name) + 1)
        for row in range(1, entry_inputs.max_row + 1):
            if row > 1:
                entry_inputs[f"{letter}{row}"].fill = INFO_FILL
    book.move_sheet(LISTS_SHEET, offset=len(book.sheetnames))
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path
