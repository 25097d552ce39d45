"""`Validator`, the coordinator of offline validation's checks (`importer.workbook.validate` is the entry point):
every problem in one pass, each located to its Excel cell, by stages, one module each (see the package). The
entry point imports this module while the workbook is being read.

Order of work: read (calamine) -> find sheets and headers -> per cell: formula errors, then parse to the
column's type (`coerce`) -> the sheet's schema (required, lengths, enums, ranges, unique refs, date order:
asked of whole columns first, pandera when that cannot promise a pass; see `schemas`) ->
cross-sheet references (hash look-ups, "did you mean") -> units (each distinct unit parsed once) ->
evidence files -> supplier_reference_id uniqueness across sheets -> typed rows (`model.Workbook`).

A cell that already failed to parse is not reported again by later checks (one finding per mistake).
"""

from __future__ import annotations

from importer.workbook import spec
from importer.workbook.checks.base import CheckedSheet
from importer.workbook.checks.chain import ChainChecks
from importer.workbook.checks.evidence_files import EvidenceChecks
from importer.workbook.checks.order import FindingOrder
from importer.workbook.checks.project import ProjectChecks
from importer.workbook.checks.references import ReferenceChecks
from importer.workbook.checks.result import ValidationResult
from importer.workbook.checks.row_rules import RowRules
from importer.workbook.checks.samples import SampleChecks
from importer.workbook.checks.schema_findings import SchemaChecks
from importer.workbook.checks.shared import SharedComponentChecks
from importer.workbook.checks.sheets import SheetReading
from importer.workbook.checks.typed_rows import TypedRows


class Validator(
    ProjectChecks,
    SheetReading,
    SchemaChecks,
    EvidenceChecks,
    ReferenceChecks,
    RowRules,
    ChainChecks,
    SampleChecks,
    SharedComponentChecks,
    TypedRows,
    FindingOrder,
):
    """One validation of a read workbook (`RawBook`): `run` takes the stages in order."""

    def run(self, *, typed_rows: bool = True) -> ValidationResult:
        found = self.find_sheets()
        if "project" in found:
            self.read_project(self.raw.wait(found["project"].title))
        for sheet_spec in spec.SHEETS:
            if sheet_spec.key_value or sheet_spec.name not in found:
                continue
            sheet = self.read_sheet(sheet_spec, self.raw.wait(found[sheet_spec.name].title))
            if sheet is not None:
                self.run_schema(sheet)
                if sheet_spec.name == "sources":  # the evidence files are looked at while the next sheet is read
                    self.check_evidence()
        self.check_signs()
        for sheet_spec in spec.SHEETS:  # optional sheets that are absent are empty
            # (a kind's own sheet, when absent, is not: whether the kinds were loaded changes nothing)
            if sheet_spec.name not in self.sheets and not sheet_spec.key_value and sheet_spec.row_type is None:
                self.sheets[sheet_spec.name] = CheckedSheet(sheet_spec, sheet_spec.name, {})
        used = self.check_references()
        self.check_list_duplicates()
        self.check_components()
        self.check_feedstock_types()
        self.check_unit_measures()
        self.check_chain()
        self.check_samples()
        self.check_shared_components()
        self.warn_unused(used)
        counts = {name: len(s.rows) for name, s in self.sheets.items()}
        workbook = None
        if not any(f.severity == "error" for f in self.findings):
            given = self.supplier_references_given()
            if typed_rows or given:  # the uniqueness of given IDs is checked on the typed rows
                workbook = self.build()
                if given:
                    self.check_supplier_references(workbook)
            if not typed_rows or any(f.severity == "error" for f in self.findings):
                workbook = None
        self.findings.sort(key=self.finding_order())
        return ValidationResult(
            path=self.raw.path, sha256=self.raw.sha256, findings=self.findings, counts=counts, workbook=workbook
        )


__all__ = ["Validator"]
