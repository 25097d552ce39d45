"""The order findings are shown in: hidden data first, then by severity, sheet (in the format's order), row and
column (as the sheet has it)."""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import TYPE_CHECKING

from importer.findings import Finding
from importer.workbook import spec
from importer.workbook.checks.base import Checks

if TYPE_CHECKING:
    pass

SEVERITY_ORDER = {"error": 0, "warning": 1, "note": 2}
#: hidden data is named before everything else: a reviewer must know the workbook holds more than it shows
SHOWN_FIRST = frozenset({"hidden_column", "hidden_row", "filtered_row", "struck_row", "hidden_sheet"})


class FindingOrder(Checks):
    """The findings' sort key."""

    def finding_order(self) -> Callable[[Finding], tuple[tuple[bool, int, int], int, int]]:
        """The sort key of the findings: hidden data first, then by severity, sheet (in the format's order), row
        and column (as the sheet has it). All but the row depend on (code, severity, sheet, column) alone, which
        few findings differ in: that part is computed once per combination, not once per finding (100,000
        findings of one kind are common)."""
        ranks: dict[tuple[str, str, str | None, str | None], tuple[tuple[bool, int, int], int]] = {}
        sheet_order = {s.name: i for i, s in enumerate(spec.SHEETS)}  # the format's, with the kinds' own sheets
        fields = attrgetter("code", "severity", "sheet", "column")

        def rank(kind: tuple[str, str, str | None, str | None]) -> tuple[tuple[bool, int, int], int]:
            code, severity, sheet_name, column = kind
            sheet = self.sheets.get(sheet_name or "")
            found = ranks[kind] = (
                (code not in SHOWN_FIRST, SEVERITY_ORDER[severity], sheet_order.get(sheet_name or "", 99)),
                sheet.columns.get(column or "", 0) if sheet else 0,
            )
            return found

        def key(finding: Finding) -> tuple[tuple[bool, int, int], int, int]:
            kind = fields(finding)
            first, column = ranks.get(kind) or rank(kind)
            return first, finding.row or 0, column

        return key


__all__ = ["FindingOrder", "SEVERITY_ORDER", "SHOWN_FIRST"]
