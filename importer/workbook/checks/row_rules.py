"""Rules between the cells of one row: what a component's action requires (and that a removed component takes no
inputs), and a feedstock_types row naming its type by ftt_ ID or by name."""

from __future__ import annotations

from typing import TYPE_CHECKING

from importer.ids import id_kind
from importer.workbook.checks.base import Checks

if TYPE_CHECKING:
    pass


class RowRules(Checks):
    """Rules within a row checked."""

    def check_components(self) -> None:
        sheet = self.sheets.get("components")
        if sheet is None or not sheet.rows:
            return
        for rec in self.rows("components"):
            row = rec["row"]
            action = rec["action"] or "add"
            scope = rec.get("scope") or "entry"
            if scope != "entry":  # shared components: `checks.shared`
                continue
            needed = (
                ("entry_ref", "template_component")
                if action == "remove"
                else (
                    "entry_ref",
                    "blueprint_key",
                    "display_name",
                    "activity_started_at",
                    "activity_completed_at",
                    "group",
                )
            )
            for column in needed:
                if rec[column] is None and (sheet.spec.name, int(row), column) not in self.bad_cells:
                    self.error(
                        "required",
                        f"{column} is required for action {action!r}"
                        + (
                            " (scope entry: the component is attributed to that entry)" if column == "entry_ref" else ""
                        ),
                        sheet="components",
                        row=int(row),
                        column=column,
                    )
        removed = {r for r, a in zip(sheet.records["ref"], sheet.records["action"], strict=True) if a == "remove"}
        inputs = self.sheets.get("component_inputs")
        if inputs is not None and inputs.rows:
            for row, ref in zip(inputs.rows, inputs.records["component_ref"], strict=True):
                if ref in removed:
                    self.error(
                        "bad_ref",
                        f"component {ref!r} has action remove; it takes no inputs",
                        sheet="component_inputs",
                        row=int(row),
                        column="component_ref",
                        value=ref,
                    )

    def check_feedstock_types(self) -> None:
        """A feedstock_types row names an existing type (the API creates none): by a well-formed ftt_ ID, or by
        name. Which type it is, is looked up online (`importer.online`)."""
        sheet = self.sheets.get("feedstock_types")
        if sheet is None or not sheet.rows:
            return
        for rec in self.rows("feedstock_types"):
            row, given = int(rec["row"]), rec["feedstock_type_id"]
            if given is not None and ("feedstock_types", row, "feedstock_type_id") not in self.bad_cells:
                if id_kind(given) != "feedstock_type":
                    self.error(
                        "bad_id",
                        f"{given!r} is not a feedstock type ID: expected ftt_ and 16-33 letters or "
                        "digits (20-37 characters), copied from the Certify UI",
                        sheet="feedstock_types",
                        row=row,
                        column="feedstock_type_id",
                        value=given,
                    )
            elif rec["name"] is None and ("feedstock_types", row, "name") not in self.bad_cells:
                self.error(
                    "required",
                    "give the feedstock type's ftt_ ID or its name as Isometric shows it (the "
                    "API cannot create feedstock types: create it in the Certify UI first)",
                    sheet="feedstock_types",
                    row=row,
                    column="name",
                )


__all__ = ["RowRules"]
