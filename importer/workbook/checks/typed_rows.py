"""The typed rows (`importer.workbook.model.Workbook`) built from the checked columns, positionally (fast at 100k
rows), and supplier_reference_id uniqueness across sheets, checked on them."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, TypeVar

from importer.identity import workbook_references
from importer.workbook import spec
from importer.workbook.checks.base import Checks
from importer.workbook.model import (
    BiocharApplicationRow,
    ComponentInputRow,
    ComponentRow,
    DatapointRow,
    EntryInputRow,
    EntryRow,
    FeedstockTypeRow,
    MeasurementLocationRow,
    ProductionBatchRow,
    ProjectComponentAttributionRow,
    ProjectSettings,
    SampleRow,
    SampleValueRow,
    SourceRow,
    StorageLocationRow,
    Workbook,
)

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

R = TypeVar("R", bound="DataclassInstance")


class TypedRows(Checks):
    """The workbook's typed rows built."""

    def typed(self, name: str, cls: type[R], **columns: list[object]) -> list[R]:
        """Rows of a sheet as `cls` instances, built positionally from the column lists (fast for 100k rows);
        `columns` replaces or adds column lists (e.g. cleaned-up values)."""
        sheet = self.sheets.get(name)
        if sheet is None or not sheet.rows:
            return []
        lists = [sheet.rows] + [
            columns[f.name] if f.name in columns else sheet.records[f.name]
            for f in dataclasses.fields(cls)
            if f.name != "row"
        ]
        if len(set(map(len, lists))) == 1:
            return list(map(cls, *lists))
        return [cls(*values) for values in zip(*lists, strict=True)]  # raises as it always did

    def build(self) -> Workbook:
        declared = {  # a kind's own sheets (`spec.register`), by their row type
            sheet.row_type: sheet for sheet in spec.SHEETS if sheet.row_type is not None and sheet.name in self.sheets
        }
        sources = []
        for rec in self.rows("sources"):
            ev = self.evidence[rec["row"]]
            sources.append(
                SourceRow(
                    row=rec["row"],
                    ref=rec["ref"],
                    display_name=rec["display_name"],
                    file=ev.path,
                    file_name=ev.file_name,
                    published_at=rec["published_at"],
                    description=rec["description"],
                    is_public=bool(rec["is_public"]),
                    supplier_reference_id=rec["supplier_reference_id"],
                    content_type=ev.content_type,
                    content_length=ev.content_length,
                    sha256=ev.sha256,
                )
            )
        dp_sources = [r or () for r in self.sheets["datapoints"].records.get("source_refs", [])]
        components = self.sheets["components"].records
        return Workbook(
            path=self.raw.path,
            sha256=self.raw.sha256,
            project=ProjectSettings(
                project_id=self.project["project_id"],
                statement_end_on=self.project.get("statement_end_on"),
                submit_statement=bool(self.project.get("submit_statement")),
                ghg_statement_report_url=self.project.get("ghg_statement_report_url"),
                supplier_reference_prefix=self.project.get("supplier_reference_prefix"),
                facility_id=self.project.get("facility_id"),
            ),
            sources=sources,
            datapoints=self.typed("datapoints", DatapointRow, source_refs=dp_sources),
            feedstock_types=self.typed("feedstock_types", FeedstockTypeRow),
            entries=self.typed("entries", EntryRow),
            entry_inputs=self.typed("entry_inputs", EntryInputRow),
            components=self.typed(
                "components",
                ComponentRow,
                action=[a or "add" for a in components.get("action", [])],
                attribution_factor=[float(f or 1.0) for f in components.get("attribution_factor", [])],
                scope=[s or "entry" for s in components.get("scope", [])],
                entry_ref=[e or "" for e in components.get("entry_ref", [])],  # project, statement: none
            ),
            project_component_attributions=self.typed("project_component_attributions", ProjectComponentAttributionRow),
            component_inputs=self.typed("component_inputs", ComponentInputRow),
            storage_locations=self.typed("storage_locations", StorageLocationRow),
            production_batches=self.typed(
                "production_batches",
                ProductionBatchRow,
                feedstock_types=[r or () for r in self.sheets["production_batches"].records.get("feedstock_types", [])],
            ),
            biochar_applications=self.typed(
                "biochar_applications",
                BiocharApplicationRow,
                truck_mass_on_departure=[
                    float(v or 0.0)
                    for v in self.sheets["biochar_applications"].records.get("truck_mass_on_departure", [])
                ],
                source_refs=[r or () for r in self.sheets["biochar_applications"].records.get("source_refs", [])],
            ),
            measurement_locations=self.typed("measurement_locations", MeasurementLocationRow),
            samples=self.typed(
                "samples",
                SampleRow,
                source_refs=[r or () for r in self.sheets["samples"].records.get("source_refs", [])],
            ),
            sample_values=self.typed("sample_values", SampleValueRow),
            columns={name: dict(s.columns) for name, s in self.sheets.items()},
            project_rows=dict(self.project_rows),
            declared={row_type: (sheet.name, self.declared_rows(sheet)) for row_type, sheet in declared.items()},
        )

    def declared_rows(self, sheet: spec.Sheet) -> list[object]:
        """The typed rows of a sheet a kind declared itself (`spec.register`): an empty list cell is `()`, an
        empty cell of a column with a default is that default."""
        assert sheet.row_type is not None
        records = self.sheets[sheet.name].records
        filled: dict[str, list[object]] = {}
        for col in sheet.columns:
            if col.name not in records:
                continue
            if col.type == "refs":
                filled[col.name] = [v or () for v in records[col.name]]
            elif col.default is not None:
                filled[col.name] = [col.default if v is None else v for v in records[col.name]]
        return list(self.typed(sheet.name, sheet.row_type, **filled))

    def supplier_references_given(self) -> bool:
        """Whether some row gives its own supplier_reference_id. When none does, every ID is derived
        (`<prefix>:<sheet>:<ref>`, sources adding their file's hash, long ones hashed): distinct, since refs are
        unique within a sheet (checked before) and sheets are named apart."""
        given = [
            self.sheets[sheet.name].records.get("supplier_reference_id", [])
            for sheet in spec.SHEETS
            if sheet.name in self.sheets and any(col.name == "supplier_reference_id" for col in sheet.columns)
        ]
        return not all(column.count(None) == len(column) for column in given)

    def check_supplier_references(self, wb: Workbook) -> None:
        """supplier_reference_id unique across the workbook (called when some row gives its own)."""
        references = workbook_references(wb)
        if len({srid for _, _, srid in references}) == len(references):
            return  # all distinct: the usual case, told without a look-up per row
        seen: dict[str, tuple[str, int]] = {}
        for sheet, row, srid in references:
            if srid in seen:
                first_sheet, first_row = seen[srid]
                column = "supplier_reference_id" if self.sheets[sheet].columns.get("supplier_reference_id") else "ref"
                self.error(
                    "duplicate_supplier_reference_id",
                    f"supplier_reference_id {srid!r} is also used by "
                    f"{first_sheet} row {first_row}; it must be unique for every object",
                    sheet=sheet,
                    row=row,
                    column=column,
                    value=srid,
                )
            else:
                seen[srid] = (sheet, row)


__all__ = ["TypedRows"]
