"""Checks that need the live project (`validate --online`, and the first step of `plan` and `run`):
templates exist, every monitored input of each entry's template is bound, no unknown or fixed input keys,
scalar vs list shape, units convertible to the blueprint input's `compatible_unit`, extra components match
their blueprint and the template's groups.

Pure functions over a validated `Workbook` and a `ProjectContext`: no HTTP here, every finding located to
the workbook cell a field team must fix.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import TYPE_CHECKING

from importer.context import ProjectContext
from importer.findings import Finding, Severity
from importer.ids import has_id_prefix
from importer.units import NON_NEGATIVE_KINDS, is_convertible, non_negative_kind
from importer.workbook.coerce import did_you_mean
from importer.workbook.model import ComponentInputRow, Workbook

if TYPE_CHECKING:  # the API client loads lazily (the CLI starts fast)
    from importer.api import models as m


def _finding(
    wb: Workbook,
    sheet: str,
    row: int,
    column: str,
    code: str,
    message: str,
    value: object = None,
    severity: Severity = "error",
) -> Finding:
    return Finding(
        severity, code, message, sheet=sheet, row=row, column=column, cell=wb.cell(sheet, row, column), value=value
    )


def _check_bindings(
    wb: Workbook,
    ctx: ProjectContext,
    sheet: str,
    row: int,
    blueprint_key: str,
    input_key: str,
    refs: tuple[str, ...],
    units: dict[str, str],
    rows: dict[str, int],
    magnitudes: dict[str, float] | None = None,
    signed: set[str] | None = None,
) -> list[Finding]:
    """Shape, unit and sign checks of one bound input (an entry_inputs or component_inputs row). `magnitudes`:
    each datapoint's magnitude, for the sign check; `signed`: the datapoints already reported negative (one
    finding each, however many inputs they feed)."""
    out: list[Finding] = []
    spec = ctx.blueprint_input(blueprint_key, input_key)
    if spec is None:
        return out
    shape = str(spec.data_shape).upper()
    replicates = _replicates(wb, refs) if shape.endswith("SCALAR") and len(refs) > 1 else None
    if replicates is not None:
        out.append(
            _finding(
                wb,
                sheet,
                row,
                "datapoint_refs",
                "replicates_on_scalar",
                f"input '{input_key}' of blueprint '{blueprint_key}' is a scalar input, and these {len(refs)} values "
                f"are replicates ({replicates}): a scalar input takes one datapoint. Bind the replicates to a "
                "blueprint input that takes a list (an extra component on the components sheet, whose "
                "component_inputs row names them all), or bind one value here: the lab's reported mean as its own "
                "sample_values row, or a DERIVED datapoint citing the lab certificate",
                ", ".join(refs),
            )
        )
    elif shape.endswith("SCALAR") and len(refs) != 1:
        out.append(
            _finding(
                wb,
                sheet,
                row,
                "datapoint_refs",
                "input_shape",
                f"input '{input_key}' of blueprint '{blueprint_key}' is a scalar input: give exactly one "
                f"datapoint, found {len(refs)}",
                ", ".join(refs),
            )
        )
    for ref in refs:
        unit = units.get(ref)
        if unit is not None and not is_convertible(unit, spec.compatible_unit):
            message = (
                f"datapoint '{ref}' is in '{unit}', which cannot be converted to '{spec.compatible_unit}' "
                f"expected by input '{input_key}' of blueprint '{blueprint_key}'"
            )
            out.append(_finding(wb, sheet, row, "datapoint_refs", "unit_incompatible", message, ref))
            where = rows.get(ref)
            if where is not None:  # the unit cell is where the mistake usually is
                out.append(
                    _finding(
                        wb,
                        "datapoints",
                        where,
                        "unit",
                        "unit_incompatible",
                        f"{message} (bound on {sheet} row {row}, cell {sheet}!{wb.cell(sheet, row, 'datapoint_refs')})",
                        unit,
                    )
                )
    out.extend(
        _check_signs(
            wb,
            sheet,
            row,
            blueprint_key,
            input_key,
            spec,
            refs,
            units,
            rows,
            magnitudes or {},
            signed if signed is not None else set(),
        )
    )
    return out


def _replicates(wb: Workbook, refs: tuple[str, ...]) -> str | None:
    """How to name `refs` when they are all sample values (`sample_values` refs): `3 values of mass_fraction
    (total_organic_carbon) of sample 'lab-a'`, per property and sample; None when one is not a sample value."""
    values = {v.ref: v for v in wb.sample_values}
    if not all(r in values for r in refs):
        return None
    groups: dict[tuple[str, str], int] = defaultdict(int)
    for ref in refs:
        groups[(values[ref].property, values[ref].sample)] += 1
    return "; ".join(f"{n} of {prop} of sample {sample!r}" for (prop, sample), n in groups.items())


def _check_signs(
    wb: Workbook,
    sheet: str,
    row: int,
    blueprint_key: str,
    input_key: str,
    spec: m.BlueprintInput,
    refs: tuple[str, ...],
    units: dict[str, str],
    rows: dict[str, int],
    magnitudes: dict[str, float],
    signed: set[str],
) -> list[Finding]:
    """A negative datapoint feeding an input whose quantity cannot be negative, as the blueprint says: by its
    `quantity_kind` (`units.NON_NEGATIVE_KINDS`: a mass, volume, distance, energy, fraction, density...), or
    by its `compatible_unit` (`units.non_negative_kind`) when it gives no kind. An error at the datapoint's
    magnitude cell; offline validation already refuses the negative masses, volumes... it can tell by the unit."""
    negative = [ref for ref in refs if (magnitudes.get(ref) or 0.0) < 0 and ref not in signed and ref in rows]
    if not negative:
        return []
    kind = str(spec.quantity_kind or "")
    words = NON_NEGATIVE_KINDS.get(kind) if kind else non_negative_kind(str(spec.compatible_unit))
    if words is None:
        return []
    article = "an" if words[0] in "aeiou" else "a"
    out = []
    for ref in negative:
        signed.add(ref)
        unit = units.get(ref, "")
        out.append(
            _finding(
                wb,
                "datapoints",
                rows[ref],
                "magnitude",
                "negative_quantity",
                f"found {magnitudes[ref]:g} {unit}, expected {article} {words} of 0 or more: datapoint {ref!r} feeds "
                "input "
                f"{input_key!r} of blueprint {blueprint_key!r}, {article} {kind or words}, which cannot be negative "
                "(bound "
                f"on {sheet} row {row}); check the sign, and the order of any formula subtracting two readings",
                magnitudes[ref],
            )
        )
    return out


_CREATE_IN_UI = (
    "the API cannot create feedstock types: create it in the Certify UI, then paste its ftt_ ID into "
    "the feedstock_type_id column"
)


def check_feedstock_types(wb: Workbook, ctx: ProjectContext) -> list[Finding]:
    """Every feedstock_types row names exactly one existing type of the organisation, and every ftt_ ID an
    entry gives exists."""
    out: list[Finding] = []
    for row in wb.feedstock_types:
        match = ctx.match_feedstock_type(row)
        if match.found is not None:
            continue
        if match.by == "feedstock_type_id":
            message = f"no feedstock type {match.text!r} in the organisation; {_CREATE_IN_UI}"
        elif match.ambiguous:
            message = (
                f"{len(match.ambiguous)} feedstock types are named {match.text!r} "
                f"({', '.join(match.ambiguous)}): give the one meant by its ftt_ ID"
            )
        else:
            hint = f"{did_you_mean(match.text, match.suggestion, there='Isometric')} " if match.suggestion else ""
            message = f"no feedstock type named {match.text!r} in the organisation; {hint}{_CREATE_IN_UI}"
        out.append(_finding(wb, "feedstock_types", row.row, match.by, "unknown_feedstock_type", message, match.text))
    known = {t.id for t in ctx.feedstock_types}
    for entry in wb.entries:
        if entry.feedstock_type and has_id_prefix(entry.feedstock_type) and entry.feedstock_type not in known:
            out.append(
                _finding(
                    wb,
                    "entries",
                    entry.row,
                    "feedstock_type",
                    "unknown_feedstock_type",
                    f"no feedstock type {entry.feedstock_type!r} in the organisation; {_CREATE_IN_UI} "
                    "(or the entry's cell)",
                    entry.feedstock_type,
                )
            )
    return out


def check_against_project(wb: Workbook, ctx: ProjectContext) -> list[Finding]:
    """Every online finding of a workbook against its live project."""
    out: list[Finding] = []
    out += check_feedstock_types(wb, ctx)
    units = {d.ref: d.unit for d in wb.datapoints}
    units.update({v.ref: v.unit or "dimensionless" for v in wb.sample_values})  # a lab value's unit, too
    rows = {d.ref: d.row for d in wb.datapoints}
    magnitudes = {d.ref: d.magnitude for d in wb.datapoints}
    signed: set[str] = set()
    templates: dict[str, m.GhgEntryTemplate] = {}  # entry ref -> template

    for entry in wb.entries:
        template = ctx.resolve_template(entry.template)
        if template is None:
            hint = ctx.template_suggestion(entry.template)
            known = ", ".join(repr(t.display_name) for t in ctx.templates) or "none"
            out.append(
                _finding(
                    wb,
                    "entries",
                    entry.row,
                    "template",
                    "unknown_template",
                    f"no GHG entry template {entry.template!r} in project {ctx.project_id}"
                    + (
                        f"; {did_you_mean(entry.template, hint, there='the template')}"
                        if hint
                        else f"; the project has: {known}"
                    ),
                    entry.template,
                )
            )
        else:
            templates[entry.ref] = template

    bound: dict[tuple[str, str, str], int] = {}  # (entry ref, rtc id, input key) -> row
    for item in wb.entry_inputs:
        template = templates.get(item.entry_ref)
        if template is None:
            continue  # the entry's own finding says why
        pair = ctx.resolve_template_component(template, item.template_component)
        if pair is None:
            hint = ctx.component_suggestion(template, item.template_component)
            out.append(
                _finding(
                    wb,
                    "entry_inputs",
                    item.row,
                    "template_component",
                    "unknown_template_component",
                    f"template {template.display_name!r} has no component {item.template_component!r}"
                    + (f"; {did_you_mean(item.template_component, hint, there='the template')}" if hint else ""),
                    item.template_component,
                )
            )
            continue
        _, comp = pair
        spec = next((i for i in comp.inputs if i.input_key == item.input_key), None)
        if spec is None:
            keys = ", ".join(i.input_key for i in comp.inputs)
            out.append(
                _finding(
                    wb,
                    "entry_inputs",
                    item.row,
                    "input_key",
                    "unknown_input_key",
                    f"component {comp.display_name!r} has no input {item.input_key!r}; its inputs are: {keys}",
                    item.input_key,
                )
            )
            continue
        if str(spec.type).lower().endswith("fixed"):
            out.append(
                _finding(
                    wb,
                    "entry_inputs",
                    item.row,
                    "input_key",
                    "fixed_input",
                    f"input {item.input_key!r} of {comp.display_name!r} is fixed by the template; only monitored "
                    "inputs are sent, remove this row",
                    item.input_key,
                )
            )
            continue
        key = (item.entry_ref, comp.id, item.input_key)
        if key in bound:
            out.append(
                _finding(
                    wb,
                    "entry_inputs",
                    item.row,
                    "input_key",
                    "duplicate_binding",
                    f"input {item.input_key!r} of {comp.display_name!r} for entry {item.entry_ref!r} is already "
                    f"bound on row {bound[key]}",
                    item.input_key,
                )
            )
            continue
        bound[key] = item.row
        out.extend(
            _check_bindings(
                wb,
                ctx,
                "entry_inputs",
                item.row,
                comp.blueprint_key,
                item.input_key,
                item.datapoint_refs,
                units,
                rows,
                magnitudes,
                signed,
            )
        )

    for entry in wb.entries:
        template = templates.get(entry.ref)
        if template is None:
            continue
        for _, comp in ctx.template_components(template):
            for spec in comp.inputs:
                monitored = str(spec.type).lower().endswith("monitored")
                if monitored and (entry.ref, comp.id, spec.input_key) not in bound:
                    out.append(
                        _finding(
                            wb,
                            "entries",
                            entry.row,
                            "ref",
                            "missing_monitored_input",
                            f"entry {entry.ref!r}: monitored input {spec.input_key!r} of "
                            f"{comp.display_name!r} has no datapoint; add a row to entry_inputs",
                            entry.ref,
                        )
                    )

    comp_inputs: dict[str, list[ComponentInputRow]] = defaultdict(list)
    for ci in wb.component_inputs:
        comp_inputs[ci.component_ref].append(ci)
    for comp_row in wb.components:
        template = templates.get(comp_row.entry_ref)
        if comp_row.action == "remove":
            if (
                template is not None
                and comp_row.template_component
                and ctx.resolve_template_component(template, comp_row.template_component) is None
            ):
                out.append(
                    _finding(
                        wb,
                        "components",
                        comp_row.row,
                        "template_component",
                        "unknown_template_component",
                        f"template {template.display_name!r} has no component {comp_row.template_component!r} "
                        "to remove",
                        comp_row.template_component,
                    )
                )
            continue
        blueprint_key = comp_row.blueprint_key or ""
        blueprint = ctx.blueprints.get(blueprint_key)
        if blueprint is None:
            out.append(
                _finding(
                    wb,
                    "components",
                    comp_row.row,
                    "blueprint_key",
                    "unknown_blueprint",
                    f"no component blueprint {blueprint_key!r}; known: {', '.join(sorted(ctx.blueprints))}",
                    blueprint_key,
                )
            )
            continue
        if template is not None and comp_row.group and comp_row.group not in ctx.group_keys(template):
            out.append(
                _finding(
                    wb,
                    "components",
                    comp_row.row,
                    "group",
                    "unknown_group",
                    f"template {template.display_name!r} has no component group {comp_row.group!r}; "
                    f"its groups are: {', '.join(ctx.group_keys(template))}",
                    comp_row.group,
                )
            )
        given = {ci.input_key: ci for ci in comp_inputs.get(comp_row.ref, [])}
        expected = {i.input_key for i in blueprint.inputs}
        for input_key, ci in given.items():
            if input_key not in expected:
                out.append(
                    _finding(
                        wb,
                        "component_inputs",
                        ci.row,
                        "input_key",
                        "unknown_input_key",
                        f"blueprint {blueprint_key!r} has no input {input_key!r}; "
                        f"its inputs are: {', '.join(sorted(expected))}",
                        input_key,
                    )
                )
            else:
                out.extend(
                    _check_bindings(
                        wb,
                        ctx,
                        "component_inputs",
                        ci.row,
                        blueprint_key,
                        input_key,
                        ci.datapoint_refs,
                        units,
                        rows,
                        magnitudes,
                        signed,
                    )
                )
        for missing in sorted(expected - set(given)):
            out.append(
                _finding(
                    wb,
                    "components",
                    comp_row.row,
                    "blueprint_key",
                    "missing_component_input",
                    f"component {comp_row.ref!r}: input {missing!r} of blueprint {blueprint_key!r} has no datapoint; "
                    "add a "
                    "row to component_inputs",
                    blueprint_key,
                )
            )
    out.extend(check_strategies(wb, ctx))
    out.extend(check_statement(wb, ctx.statements))
    return out


#: the amortisation strategies that follow a tonnage, and the credit type whose tonnage it is
_TONNAGE = {"ESTIMATED_PROJECT_REMOVAL_TONNAGE": "REMOVAL", "ESTIMATED_PROJECT_REDUCTION_TONNAGE": "REDUCTION"}


def check_strategies(wb: Workbook, ctx: ProjectContext) -> list[Finding]:
    """A project component amortised over the project's estimated removal (or reduction) tonnage needs a project
    that credits removals (or reductions): the credit types of its GHG entry templates."""
    tonnage = [r for r in wb.components if r.scope == "project" and (r.allocation_strategy or "") in _TONNAGE]
    if not tonnage:
        return []
    held = [getattr(t, "credit_type", None) for t in ctx.templates]
    credit_types = {str(getattr(c, "value", c)) for c in held if c}
    out: list[Finding] = []
    for row in tonnage:
        needed = _TONNAGE[row.allocation_strategy or ""]
        if not credit_types or needed in credit_types:
            continue
        fits = (
            next(k for k, v in _TONNAGE.items() if v in credit_types) if set(_TONNAGE.values()) & credit_types else None
        )
        out.append(
            _finding(
                wb,
                "components",
                row.row,
                "allocation_strategy",
                "strategy_credit_type",
                f"found {row.allocation_strategy}, but the project's templates credit "
                f"{', '.join(sorted(credit_types))}, not {needed}: there is no {needed.lower()} tonnage to amortise "
                "it over"
                + (f"; expected {fits}, or a time-based strategy" if fits else "; expected a time-based strategy"),
                row.allocation_strategy,
            )
        )
    return out


def is_existing_id(value: str) -> bool:
    """A ref that names an object already in the registry rather than a row of the workbook."""
    return has_id_prefix(value)


def month_name(year: int, month: int) -> str:
    return dt.date(year, month, 1).strftime("%B %Y")


def whole_months(start: dt.date, end: dt.date) -> list[tuple[int, int]]:
    """Calendar months lying wholly inside [start, end]."""
    out = []
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        first = dt.date(year, month, 1)
        last = dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)
        if first >= start and last <= end:
            out.append((year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def inferred_statement_start(
    end_on: dt.date, statements: list[m.GhgStatement], earliest_entry: dt.date | None
) -> dt.date | None:
    """The start Isometric infers for a statement ending on `end_on`: that statement's own start if it exists,
    else the day after the latest earlier statement of the project, else the project's earliest entry."""
    for st in statements:
        if st.reporting_period_end_at == end_on:
            own: dt.date = st.reporting_period_start_at
            return own
    earlier: list[dt.date] = [st.reporting_period_end_at for st in statements if st.reporting_period_end_at < end_on]
    if earlier:
        return max(earlier) + dt.timedelta(days=1)
    return earliest_entry


def check_statement(
    wb: Workbook, statements: list[m.GhgStatement], registry_completed: list[dt.date] | None = None
) -> list[Finding]:
    """Statement sanity before anything is sent (validate --online, plan and run): an end date the statement
    cannot have, entries that will fall outside it, and whole months of the period without any GHG entry.

    `statements` are the project's statements in the registry; `registry_completed` the completion dates of
    the project's entries already in the registry (the API's entries carry no project, so the caller passes
    those it can attribute)."""
    end_on = wb.project.statement_end_on
    if end_on is None or not wb.entries:
        return []
    out: list[Finding] = []
    row = wb.project_rows.get("statement_end_on") if wb.project_rows else None

    def at_end(code: str, message: str, severity: str = "error") -> Finding:
        return Finding(
            severity,  # type: ignore[arg-type]
            code,
            message,
            sheet="project",
            row=row,
            column="statement_end_on",
            cell=f"B{row}" if row else None,
            value=end_on.isoformat(),
        )

    completed = [e.completed_on for e in wb.entries]
    everything = completed + list(registry_completed or [])
    start = inferred_statement_start(end_on, statements, min(everything) if everything else None)
    if all(day > end_on for day in completed):
        out.append(
            at_end(
                "statement_before_entries",
                f"statement_end_on {end_on} is before every entry of this "
                f"workbook (the earliest completes on {min(completed)}): the statement would hold none "
                "of them; set it to the last day of the period the entries belong to",
            )
        )
    if start is not None and end_on < start:
        earlier = [st for st in statements if st.reporting_period_end_at < end_on]
        why = (
            f"the day after the project's statement ending {max(st.reporting_period_end_at for st in earlier)}"
            if earlier
            else "the project's earliest GHG entry"
        )
        out.append(
            at_end(
                "statement_before_start",
                f"statement_end_on {end_on} is before {start}, the start "
                f"Isometric would infer ({why}); a statement cannot end before it starts",
            )
        )
    for entry in wb.entries:
        if entry.completed_on > end_on:
            out.append(
                _finding(
                    wb,
                    "entries",
                    entry.row,
                    "completed_on",
                    "entry_after_statement",
                    f"entry {entry.ref!r} completes on {entry.completed_on}, after statement_end_on "
                    f"{end_on}: it will not be in this statement",
                    entry.completed_on.isoformat(),
                    severity="warning",
                )
            )
    if start is not None and start <= end_on:
        covered = {(d.year, d.month) for d in everything if start <= d <= end_on}
        empty = [m for m in whole_months(start, end_on) if m not in covered]
        if empty:
            out.append(
                at_end(
                    "statement_empty_months",
                    f"the statement period {start} to {end_on} has no GHG entry "
                    f"completing in {', '.join(month_name(*m) for m in empty)}, in this workbook or the "
                    "registry; check the end date and that no month's workbook is missing",
                    "warning",
                )
            )
    return out
