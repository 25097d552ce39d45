"""The evidence files the sources sheet names: each found beside the workbook and checked
(`importer.workbook.evidence`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from importer.workbook.checks.base import Checks
from importer.workbook.evidence import EvidenceError, EvidenceFolder

if TYPE_CHECKING:
    pass


class EvidenceChecks(Checks):
    """The sources' files checked, while the next sheet is read."""

    def check_evidence(self) -> None:
        sheet = self.sheets.get("sources")
        if sheet is None or not sheet.rows:
            return
        folder = EvidenceFolder(self.folder)
        for row, written in zip(sheet.rows, sheet.records["file"], strict=True):
            if not isinstance(written, str):
                continue
            try:
                self.evidence[int(row)] = folder.check(written)
            except EvidenceError as exc:
                self.error("bad_file", str(exc), sheet="sources", row=int(row), column="file", value=written)


__all__ = ["EvidenceChecks"]
