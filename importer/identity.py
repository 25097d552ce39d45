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

What an import owns (`owned_by`): a prefix may itself contain `:` (`acme` and `acme:2026-10`), so "starts with
`<prefix>:`" does not say whose an object is. An object is this workbook's to prune only when its
supplier_reference_id parses as exactly one of the IDs the rule above derives under this prefix: `<prefix>:`,
then a sheet name of the object's kind, then a ref without `:` (sources: a ref without `:` and 12 lowercase hex
digits); a shortened ID (`~` and 16 hex digits) must show the same shape up to its cut. A ref holding `:` is
never claimed: `acme` + `datapoints:x` cannot be told from `acme:datapoints` + `x`. So `acme` never claims
`acme:2026-10:datapoints:x` (`2026-10` is no sheet) nor `acme:datapoints:datapoints:x`, and `a` never claims
anything of `a:b:c`. What is not claimed is left alone (never listed as an orphan, never pruned).
"""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING, Protocol, cast

from importer.workbook import spec

if TYPE_CHECKING:
    from importer.workbook.model import Workbook

MAX_LENGTH = 100
#: the sheet segment of a components row's derived supplier_reference_id, by its scope: a component that changes
#: scope is another object (the old one an orphan of the workbook, pruned with --prune)
COMPONENT_SHEETS: dict[str, str] = {
    "entry": "components",
    "project": "project_components",
    "statement": "statement_components",
}
SEPARATOR = ":"
#: object kind -> the sheet whose rows derive its supplier_reference_id
SHEET_OF_KIND: dict[str, str] = {
    "source": "sources",
    "datapoint": "datapoints",
    "feedstock_type": "feedstock_types",
    "ghg_entry": "entries",
    "component": "components",
}


class _Row(Protocol):
    """A row of a sheet that makes objects."""

    @property
    def row(self) -> int: ...
    @property
    def ref(self) -> str: ...
    @property
    def supplier_reference_id(self) -> str | None: ...


def register_sheets(sheets: dict[str, str]) -> None:
    """Add kinds' sheets (kind -> sheet) to `SHEET_OF_KIND`: the registered kinds (`importer.planning.kinds`) say
    theirs, so a new kind is claimed by `owned_by` without an edit here (this module imports no kind)."""
    SHEET_OF_KIND.update(sheets)


_SHORTENED = re.compile(r"~[0-9a-f]{16}")
_SHA12 = re.compile(r"[0-9a-f]{12}")


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


def owned_by(prefix: str, srid: str, kind: str | None = None) -> bool:
    """Whether `srid` is one this rule derives under `prefix` for an object of `kind` (any kind when None): what
    a workbook with that prefix may call its own (see the module docstring). Never true for another prefix's
    IDs, whatever `:` either holds."""
    head = prefix + SEPARATOR
    if not prefix or not srid.startswith(head):
        return False
    rest = srid[len(head) :]
    shortened = len(srid) == MAX_LENGTH and _SHORTENED.fullmatch(srid[-17:]) is not None
    if shortened:
        rest = rest[:-17] if len(rest) > 17 else ""
    sheet, sep, ref = rest.partition(SEPARATOR)
    sheets = (SHEET_OF_KIND[kind],) if kind is not None else tuple(SHEET_OF_KIND.values())
    if not sep or sheet not in sheets:
        return False
    if sheet == "sources" and not shortened:
        ref, sep, sha = ref.rpartition(SEPARATOR)
        if not sep or _SHA12.fullmatch(sha) is None:
            return False
    return bool(ref) and SEPARATOR not in ref


def reference_for(own: str | None, prefix: str, sheet: str, ref: str, *, file_sha256: str | None = None) -> str:
    """The row's own supplier_reference_id when given, else the derived one."""
    if own:
        return own
    return derived_reference(prefix, sheet, ref, file_sha256=file_sha256)


def workbook_references(wb: Workbook) -> list[tuple[str, int, str]]:
    """(sheet, Excel row, supplier_reference_id) of every object a workbook defines, by the rule above."""
    prefix = wb.project.supplier_reference_prefix or wb.project.project_id
    out = [
        ("sources", r.row, reference_for(r.supplier_reference_id, prefix, "sources", r.ref, file_sha256=r.sha256))
        for r in wb.sources
    ]
    # feedstock_types rows name existing types (the API creates none): they define no object
    for sheet in spec.SHEETS:
        if sheet.makes_objects:
            # a kind's own sheet (`spec.register`) by its row type; the format's own by its field
            found = wb.rows_of(sheet.row_type) if sheet.row_type is not None else getattr(wb, sheet.name)
            rows = cast("list[_Row]", found)
            out += [
                (sheet.name, r.row, reference_for(r.supplier_reference_id, prefix, sheet.name, r.ref)) for r in rows
            ]
    out += [
        ("components", c.row, reference_for(c.supplier_reference_id, prefix, COMPONENT_SHEETS[c.scope], c.ref))
        for c in wb.components
        if c.action == "add"
    ]
    return out
