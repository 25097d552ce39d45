"""Emissions shared across GHG entries (`components` rows of scope project or statement, and the
`project_component_attributions` sheet), checked within and across their sheets: a shared component takes what a
create needs and no attribution of an entry-scoped one (entry_ref, group, attribution_factor, action remove); a
project one names its allocation_strategy, a statement one none; MANUAL shares name a MANUAL project component,
once per entry, and sum to at most 1 per component; a MANUAL component without shares is a warning. Whether a
tonnage strategy fits the project's credit type, and whether the units fit the blueprint, needs the project's
templates and blueprints (`importer.online`)."""

from __future__ import annotations

from collections import defaultdict

from importer.workbook.checks.base import Checks

#: how far a component's MANUAL factors may exceed 1 before it is an error (rounding of typed fractions)
_SUM_TOLERANCE = 1e-9
_NEEDED = ("blueprint_key", "display_name", "activity_started_at", "activity_completed_at")
#: the columns that attribute a component to one entry: a shared component leaves them empty
_ENTRY_ONLY = ("entry_ref", "group", "attribution_factor", "template_component")


class SharedComponentChecks(Checks):
    """Project and statement components, and the MANUAL shares, checked."""

    def check_shared_components(self) -> None:
        sheet = self.sheets.get("components")
        scopes: dict[str, tuple[str, str | None, int]] = {}
        if sheet is not None and sheet.rows:
            for rec in self.rows("components"):
                row, ref, scope = int(rec["row"]), rec["ref"], rec.get("scope") or "entry"
                strategy = rec.get("allocation_strategy")
                if isinstance(ref, str):
                    scopes[ref] = (scope, strategy, row)
                if scope == "entry":
                    if strategy is not None and self._fine("components", row, "allocation_strategy"):
                        self.error(
                            "not_for_scope",
                            f"found {strategy!r}, expected no allocation_strategy: only a component of scope project "
                            "is amortised (this row is attributed to its entry_ref); set scope to project, or clear it",
                            sheet="components",
                            row=row,
                            column="allocation_strategy",
                            value=strategy,
                        )
                    continue
                self._check_shared_row(rec, row, scope, strategy)
        self._check_manual_shares(scopes)

    def _fine(self, sheet: str, row: int, *columns: str) -> bool:
        return not any((sheet, row, c) in self.bad_cells for c in columns)

    def _check_shared_row(self, rec: dict[str, object], row: int, scope: str, strategy: object) -> None:
        if (rec.get("action") or "add") != "add":
            self.error(
                "not_for_scope",
                f"found action {rec.get('action')!r} on a component of scope {scope}: only an entry's template "
                "component can be removed; expected add",
                sheet="components",
                row=row,
                column="action",
                value=rec.get("action"),
            )
            return
        for column in _NEEDED:
            if rec.get(column) is None and self._fine("components", row, column):
                self.error(
                    "required",
                    f"{column} is required for a component of scope {scope}",
                    sheet="components",
                    row=row,
                    column=column,
                )
        for column in _ENTRY_ONLY:
            value = rec.get(column)
            if column == "attribution_factor" and value == 1.0:
                continue  # the column's default: what an empty cell reads as
            if value is not None and self._fine("components", row, column):
                where = (
                    "its shares go on the project_component_attributions sheet (allocation_strategy MANUAL)"
                    if scope == "project"
                    else "Isometric attributes it evenly to every entry of the statement"
                )
                self.error(
                    "not_for_scope",
                    f"found {value!r} in {column}, expected it empty: a component of scope {scope} is attributed to "
                    f"no single entry; {where}",
                    sheet="components",
                    row=row,
                    column=column,
                    value=value,
                )
        if scope == "project" and strategy is None and self._fine("components", row, "allocation_strategy"):
            self.error(
                "required",
                "allocation_strategy is required for a component of scope project: how Isometric amortises it "
                "(MANUAL: give each entry's share on the project_component_attributions sheet)",
                sheet="components",
                row=row,
                column="allocation_strategy",
            )
        if scope == "statement" and strategy is not None and self._fine("components", row, "allocation_strategy"):
            self.error(
                "not_for_scope",
                f"found {strategy!r}, expected no allocation_strategy: a statement component is attributed evenly "
                "to the statement's entries; use scope project to amortise it",
                sheet="components",
                row=row,
                column="allocation_strategy",
                value=strategy,
            )

    def _check_manual_shares(self, scopes: dict[str, tuple[str, str | None, int]]) -> None:
        totals: dict[str, float] = defaultdict(float)
        seen: dict[tuple[str, str], int] = {}
        shared: set[str] = set()
        for rec in self.rows("project_component_attributions"):
            row, component, entry = int(rec["row"]), rec["component"], rec["entry"]
            if not isinstance(component, str) or not self._fine("project_component_attributions", row, "component"):
                continue
            scope, strategy, at = scopes.get(component, ("entry", None, 0))
            if component not in scopes:
                continue  # an unknown ref: the reference checks said so
            if scope != "project" or strategy != "MANUAL":
                what = f"scope {scope}" if scope != "project" else f"allocation_strategy {strategy or '(empty)'}"
                self.error(
                    "not_manual",
                    f"component {component!r} (components row {at}) has {what}; expected a component of scope project "
                    "with allocation_strategy MANUAL: "
                    + (
                        "an entry-scoped component is attributed by its own row (entry_ref)"
                        if scope == "entry"
                        else "Isometric attributes it itself"
                    ),
                    sheet="project_component_attributions",
                    row=row,
                    column="component",
                    value=component,
                )
                continue
            shared.add(component)
            if isinstance(entry, str):
                first = seen.get((component, entry))
                if first is not None:
                    self.error(
                        "duplicate_share",
                        f"component {component!r} is attributed to entry {entry!r} already (row {first}); one share "
                        "per entry: add the two factors",
                        sheet="project_component_attributions",
                        row=row,
                        column="entry",
                        value=entry,
                    )
                    continue
                seen[(component, entry)] = row
            factor = rec["attribution_factor"]
            if isinstance(factor, (int, float)) and self._fine(
                "project_component_attributions", row, "attribution_factor"
            ):
                totals[component] += float(factor)
                if totals[component] > 1 + _SUM_TOLERANCE:
                    self.error(
                        "shares_over_one",
                        f"the factors of component {component!r} sum to {totals[component]:g} up to this row; "
                        "expected at most 1: an entry cannot carry more than the whole component",
                        sheet="project_component_attributions",
                        row=row,
                        column="attribution_factor",
                        value=float(factor),
                    )
        for ref, (scope, strategy, at) in scopes.items():
            if scope == "project" and strategy == "MANUAL" and ref not in shared:
                self.warn(
                    "no_shares",
                    f"component {ref!r} is MANUAL but no row of project_component_attributions gives it to an entry: "
                    "it counts in no entry's CO2e",
                    sheet="components",
                    row=at,
                    column="allocation_strategy",
                    value=strategy,
                )


__all__ = ["SharedComponentChecks"]
