"""Deterministic `supplier_reference_id`s: how the importer finds its own objects again.

The API offers no idempotency keys; `supplier_reference_id` ("unique for all resources created by a
specific supplier") is the only handle. Every object the importer creates carries one, so a re-run, or a
retry whose response was lost, finds the object instead of creating a second.

Rule (documented in docs/workbook-format.md):
- the row's own `supplier_reference_id` when the workbook gives one;
- otherwise ``<prefix>:<sheet>:<ref>``, where prefix is the project sheet's `supplier_reference_prefix`, or
  the project ID when absent. For sources the first 12 hex digits of the file's SHA-256 are appended
  (``<prefix>:sources:<ref>:<sha12>``): the API cannot tell us which bytes a source holds, so a changed file
  gets a new identity and hence a new source, as the reconciliation rules require.
- an ID longer than the API's 100 characters keeps its first 83 characters and appends ``~`` and 16 hex
  digits of the SHA-256 of the full ID, so it stays unique and stable.
Nothing here depends on time, machine or run: the same workbook gives the same IDs everywhere.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from importer.workbook.model import Workbook

MAX_LENGTH = 100


def _fit(value: str) -> str:
    if len(value) <= MAX_LENGTH:
        return value
    digest = hashlib.sha256(value.encode("utf-8")).hexdigest()[:16]
    return f"{value[: MAX_LENGTH - 17]}~{digest}"


def derived_reference(prefix: str, sheet: str, ref: str, *, file_sha256: str | None = None) -> str:
    """The supplier_reference_id of a row that gives none."""
    value = f"{prefix}:{sheet}:{ref}"
    if file_sha256:
        value = f"{value}:{file_sha256[:12]}"
    return _fit(value)


def reference_for(
    own: str | None, prefix: str, sheet: str, ref: str, *, file_sha256: str | None = None
) -> str:
    """The row's own supplier_reference_id when given, else the derived one."""
    if own:
        return own
    return derived_reference(prefix, sheet, ref, file_sha256=file_sha256)


def workbook_references(wb: Workbook) -> list[tuple[str, int, str]]:
    """(sheet, Excel row, supplier_reference_id) of every object a workbook defines, by the rule above."""
    prefix = wb.project.supplier_reference_prefix or wb.project.project_id
    out = [("sources", r.row, reference_for(r.supplier_reference_id, prefix, "sources", r.ref, file_sha256=r.sha256))
           for r in wb.sources]
    # feedstock_types rows name existing types (the API creates none): they define no object
    for sheet, rows in (("datapoints", wb.datapoints), ("entries", wb.entries),
                        ("components", [c for c in wb.components if c.action == "add"])):
        out += [(sheet, r.row, reference_for(r.supplier_reference_id, prefix, sheet, r.ref)) for r in rows]
    return out
