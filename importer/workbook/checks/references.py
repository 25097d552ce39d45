"""Cross-sheet references: every ref resolves to a row of the right sheet or is an Isometric ID of the right kind
(hash look-ups, did-you-means, look-alike refs told apart), a datapoint named twice in one list, and sources and
datapoints no row uses."""

from __future__ import annotations

import difflib
from collections import defaultdict
from itertools import chain
from operator import itemgetter
from typing import TYPE_CHECKING

from importer.findings import Finding, get_column_letter
from importer.ids import KIND_BY_PREFIX, has_id_prefix, id_kind
from importer.workbook import coerce, spec
from importer.workbook.checks.base import Checks

if TYPE_CHECKING:
    pass

_FIRST_FOUR = itemgetter(slice(None, 4))  # where an ID has its prefix (`src_`, `dtp_`...: `ids.KIND_BY_PREFIX`)


def _id_like(refs: set[str]) -> set[str]:
    """The refs that start with an Isometric ID's prefix (`src_`...): usually none, told without a loop."""
    if KIND_BY_PREFIX.keys().isdisjoint(map(_FIRST_FOUR, refs)):
        return set()
    return {ref for ref in refs if ref[:4] in KIND_BY_PREFIX}


class ReferenceChecks(Checks):
    """The references between sheets checked."""

    def refs_of(self, sheet: str) -> set[str]:
        found = self.sheets.get(sheet)
        if found is None or not found.rows or "ref" not in found.records:
            return set()
        refs = found.records["ref"]
        return set(refs) if set(map(type, refs)) == {str} else {r for r in refs if isinstance(r, str)}

    def check_references(self) -> dict[str, set[str]]:
        """Every ref resolves to the right sheet (or is an ID of the right kind); returns used refs per sheet."""
        all_refs = {name: self.refs_of(name) for name in self.sheets}
        id_like: dict[str, set[str]] = {}  # per target sheet, once some column refers to it
        used: dict[str, set[str]] = defaultdict(set)
        for name, sheet in self.sheets.items():
            if not sheet.rows:
                continue  # absent, empty, or unreadable (its own findings say why)
            for col in sheet.spec.columns:
                if col.type not in ("ref", "refs") or col.name not in sheet.columns or not col.ref_sheet:
                    continue
                targets = all_refs.get(col.ref_sheet, set())
                for other in col.also_sheets:  # a column that accepts refs of further sheets (sample_values)
                    targets = targets | all_refs.get(other, set())
                bad = {row for s, row, c in self.bad_cells if s == name and c == col.name}
                column = sheet.records[col.name]
                kept = [v for row, v in zip(sheet.rows, column, strict=True) if row not in bad] if bad else column
                kinds = set(map(type, kept))
                if kinds <= {tuple}:  # a list column (a one-ref cell is a tuple too)
                    refs = set(chain.from_iterable(kept))
                elif tuple not in kinds:  # a one-ref column, blanks None
                    refs = set(kept)
                    refs.discard(None)
                else:
                    refs = set(chain.from_iterable(v for v in kept if isinstance(v, tuple)))
                    refs.update(v for v in kept if v is not None and not isinstance(v, tuple))
                if col.also_sheets:
                    for target in (col.ref_sheet, *col.also_sheets):
                        used[target].update(refs & all_refs.get(target, set()))
                    self._ambiguous(name, col, sheet.rows, column, all_refs)
                else:
                    used[col.ref_sheet].update(refs)
                # a ref of the target sheet without an ID prefix passes `check_ref` silently: only the others
                # (IDs, unknown refs, anything not text) are looked at cell by cell, in row order
                doubtful = refs - targets
                if refs:
                    if col.ref_sheet not in id_like:
                        id_like[col.ref_sheet] = _id_like(targets)
                    doubtful.update(refs & id_like[col.ref_sheet])
                if doubtful:
                    for row, value in zip(sheet.rows, column, strict=True):
                        if value is None or row in bad:
                            continue
                        for ref in value if isinstance(value, tuple) else (value,):
                            if ref in doubtful:
                                self.check_ref(name, row, col, ref, targets, all_refs)
        return used

    def check_ref(
        self, sheet: str, row: int, col: spec.Column, ref: str, targets: set[str], all_refs: dict[str, set[str]]
    ) -> None:
        if has_id_prefix(ref):
            kind = id_kind(ref)
            if col.id_kind is None:
                self.error(
                    "bad_ref",
                    f"{ref!r} looks like an Isometric ID, but {col.name} takes a ref of the {col.ref_sheet} sheet",
                    sheet=sheet,
                    row=row,
                    column=col.name,
                    value=ref,
                )
            elif kind is None:
                self.error(
                    "bad_id",
                    f"{ref!r} is not a well-formed Isometric ID (prefix plus 16-33 characters)",
                    sheet=sheet,
                    row=row,
                    column=col.name,
                    value=ref,
                )
            elif kind != col.id_kind:
                self.error(
                    "wrong_id_kind",
                    f"{ref!r} is a {kind.replace('_', ' ')} ID; {col.name} needs a "
                    f"{col.id_kind.replace('_', ' ')} ID or a ref of the {col.ref_sheet} sheet",
                    sheet=sheet,
                    row=row,
                    column=col.name,
                    value=ref,
                )
            return
        if ref in targets:
            return
        accepted = (col.ref_sheet or "", *col.also_sheets)
        elsewhere = [s for s, refs in all_refs.items() if ref in refs and s not in accepted]
        if elsewhere:
            self.error(
                "wrong_sheet_ref",
                f"{ref!r} is a row of the {elsewhere[0]} sheet; {col.name} needs a ref of the "
                f"{' or '.join(accepted)} sheet",
                sheet=sheet,
                row=row,
                column=col.name,
                value=ref,
            )
            return
        twin = self.twin(col.ref_sheet or "", ref, targets)
        if twin is not None:
            close = [twin]
        else:
            close = difflib.get_close_matches(ref, list(targets), n=1, cutoff=0.6) if len(targets) < 20000 else []
        hint = "; " + coerce.did_you_mean(ref, close[0], there=f"the {col.ref_sheet} sheet's ref") if close else ""
        self.error(
            "unknown_ref",
            f"no row {ref!r} in the {' or '.join(accepted)} sheet{hint}",
            sheet=sheet,
            row=row,
            column=col.name,
            value=ref,
        )

    def _ambiguous(
        self, name: str, col: spec.Column, rows: list[int], column: list[object], all_refs: dict[str, set[str]]
    ) -> None:
        """A ref that rows of two of the sheets a column accepts both hold (a datapoint and a sample value of one
        name) could mean either: an error at the cell, naming both rows' sheets."""
        sheets = (col.ref_sheet or "", *col.also_sheets)
        shared = set.intersection(*(all_refs.get(s, set()) for s in sheets))
        if not shared:
            return
        for row, value in zip(rows, column, strict=True):
            for ref in value if isinstance(value, tuple) else (value,):
                if ref in shared:
                    self.error(
                        "ambiguous_ref",
                        f"{ref!r} is a ref of both the {' and the '.join(sheets)} sheets: rename one of them so that "
                        "this cell names one object",
                        sheet=name,
                        row=row,
                        column=col.name,
                        value=ref,
                    )

    def twin(self, sheet: str, ref: str, targets: set[str]) -> str | None:
        """The ref of `sheet` that looks the same as `ref` (`coerce.fold_text`: accents encoded otherwise, a no-break
        or zero-width space, a look-alike character, letter case), found by one look-up in a fold of the sheet's
        refs made on the first unknown ref that asks."""
        folds = self._folds.get(sheet)
        if folds is None:
            folds = self._folds[sheet] = {coerce.fold_text(target): target for target in targets}
        return folds.get(coerce.fold_text(ref))

    def check_list_duplicates(self) -> None:
        """The same datapoint twice in one input would be counted twice."""
        for name in ("entry_inputs", "component_inputs"):
            sheet = self.sheets.get(name)
            if sheet is None or not sheet.rows:
                continue
            column = sheet.records.get("datapoint_refs", [])
            lists = column if set(map(type, column)) <= {tuple} else [v for v in column if isinstance(v, tuple)]
            if sum(map(len, lists)) == sum(map(len, map(set, lists))):
                continue  # no list names a datapoint twice (the usual case), told without a look at each row
            for row, refs in zip(sheet.rows, column, strict=True):
                if not isinstance(refs, tuple) or len(refs) == len(set(refs)):
                    continue
                twice = sorted({r for r in refs if refs.count(r) > 1})
                self.error(
                    "duplicate_list_datapoint",
                    f"{', '.join(map(repr, twice))} appears more than once in this "
                    "list; each datapoint would be counted once per mention: list it once",
                    sheet=name,
                    row=row,
                    column="datapoint_refs",
                    value=", ".join(refs),
                )

    def warn_unused(self, used: dict[str, set[str]]) -> None:
        for name, label in (("sources", "source"), ("datapoints", "datapoint")):
            sheet = self.sheets.get(name)
            if sheet is None or not sheet.rows:
                continue
            # as `self.warn` would add them, built directly: there can be one per row
            refs = sheet.records["ref"]
            unused = set(refs).difference(used.get(name, ()))
            if not any(isinstance(ref, str) for ref in unused):
                continue  # every row used (the usual case), told without a look at each row
            letter = get_column_letter(sheet.columns["ref"])
            # fields given by position (severity, code, message, sheet, row, column, cell, value): a third faster
            # than by keyword, with one per row
            self.findings += [
                Finding(
                    "warning",
                    "unused",
                    f"{label} {ref!r} is not used by any other row",
                    name,
                    row,
                    "ref",
                    f"{letter}{row}",
                    ref,
                )
                for row, ref in zip(sheet.rows, refs, strict=True)
                if ref in unused and isinstance(ref, str)
            ]


__all__ = ["ReferenceChecks"]
