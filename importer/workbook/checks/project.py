"""Which sheets the workbook holds (duplicates, hidden ones, unknown and missing ones) and the project sheet's
settings, read key by value."""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

from importer.ids import id_kind
from importer.workbook import coerce, spec
from importer.workbook.checks.base import Checks
from importer.workbook.reader import RawSheet

if TYPE_CHECKING:
    pass

IGNORED_SHEETS = {"readme", "_lists"}  # the template's own README and hidden dropdown-lists sheets, as titled


def _ignored(title: str) -> bool:
    return spec.normalise_header(title) in IGNORED_SHEETS or title.strip().lower() in IGNORED_SHEETS


class ProjectChecks(Checks):
    """The first stage: the sheets found, then the project sheet read."""

    def find_sheets(self) -> dict[str, RawSheet]:
        by_norm: dict[str, RawSheet] = {}
        if any(
            spec.normalise_header(title) not in spec.SHEETS_BY_NAME and not _ignored(title) for title in self.raw.sheets
        ):
            spec.plug_ins()  # a sheet a kind declares itself, perhaps: the whole format is loaded before it is judged
        for title, sheet in self.raw.sheets.items():
            norm = spec.normalise_header(title)
            if norm in spec.SHEETS_BY_NAME:
                if norm in by_norm:
                    self.error(
                        "duplicate_sheet",
                        f"two sheets are named {spec.SHEETS_BY_NAME[norm].name!r} "
                        f"({by_norm[norm].title!r} and {title!r}); keep one",
                        sheet=title,
                    )
                    continue
                by_norm[norm] = sheet
                if sheet.hidden:  # an error, as a hidden column beside a visible look-alike: a stale copy hides so
                    alike = [
                        t
                        for t, s in self.raw.sheets.items()
                        if not s.hidden
                        and t != title
                        and spec.normalise_header(t) not in spec.SHEETS_BY_NAME
                        and (
                            spec.normalise_header(t).startswith(norm)
                            or difflib.SequenceMatcher(None, spec.normalise_header(t), norm).ratio() >= 0.75
                        )
                    ]
                    beside = (
                        f" while the visible sheet {alike[0]!r} looks like it: the importer reads {title!r} and "
                        "cannot know which one you meant; delete the one you do not mean, or unhide it"
                        if alike
                        else " but the importer reads it like the others; unhide it if its rows are "
                        "meant to be imported, or delete it"
                    )
                    self.error("hidden_sheet", f"sheet {title!r} is hidden{beside}", sheet=title)
            elif not _ignored(title):
                close = difflib.get_close_matches(norm, list(spec.SHEETS_BY_NAME), n=1, cutoff=0.75)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                self.warn(
                    "unknown_sheet",
                    f"sheet {title!r} is not part of the workbook format and was ignored{hint}",
                    sheet=title,
                )
        for sheet_spec in spec.SHEETS:
            if sheet_spec.required and sheet_spec.name not in by_norm:
                self.error(
                    "missing_sheet",
                    f"the workbook has no {sheet_spec.name!r} sheet; it is required "
                    f"(sheets found: {', '.join(self.raw.sheets) or 'none'})",
                    sheet=sheet_spec.name,
                )
        return by_norm

    def read_project(self, sheet: RawSheet) -> None:
        known = {c.name: c for c in spec.PROJECT.columns}
        for index, row in enumerate(sheet.rows, start=1):
            key = coerce.as_text(row[0] if row else None)
            if key is None or (index == 1 and spec.normalise_header(key) == "key"):
                continue
            norm = spec.normalise_header(key)
            value = row[1] if len(row) > 1 else None
            if f"B{index}" in sheet.uncached_formulas:
                self.error("formula_without_value", self.uncached_advice(), sheet="project", row=index, column=norm)
                continue
            if norm not in known:
                self.warn(
                    "unknown_setting",
                    f"unknown setting {key!r} ignored (known: {', '.join(known)})",
                    sheet="project",
                    row=index,
                    column=norm,
                    value=key,
                )
                continue
            if norm in self.project:
                self.error(
                    "duplicate_setting",
                    f"setting {norm!r} appears twice (first on row {self.project_rows[norm]})",
                    sheet="project",
                    row=index,
                    column=norm,
                )
                continue
            col = known[norm]
            self.project_rows[norm] = index
            if coerce.as_text(value) is None:
                self.project[norm] = col.default
                continue
            try:
                if col.type == "date":
                    self.project[norm] = coerce.as_date(value)
                elif col.type == "bool":
                    self.project[norm] = coerce.as_bool(value)
                else:
                    text = coerce.as_text(value)
                    if col.max_length is not None and text is not None and len(text) > col.max_length:
                        raise coerce.CellError(
                            "too_long", f"{norm} is {len(text)} characters long; at most {col.max_length} allowed"
                        )
                    self.project[norm] = text
            except coerce.CellError as exc:
                self.error(exc.code, exc.message, sheet="project", row=index, column=norm, value=coerce.as_text(value))
        pid = self.project.get("project_id")
        if not pid:
            self.error(
                "required", "the project sheet needs a project_id row (key project_id, value prj_...)", sheet="project"
            )
        elif id_kind(pid) != "project":
            self.error(
                "bad_id",
                f"project_id {pid!r} is not a project ID (prj_ followed by 16+ characters)",
                sheet="project",
                row=self.project_rows["project_id"],
                column="project_id",
                value=pid,
            )
        url = self.project.get("ghg_statement_report_url")
        if self.project.get("submit_statement"):
            if not url:
                self.error(
                    "required",
                    "submit_statement is TRUE, so ghg_statement_report_url is required (the "
                    "verifier must be able to open the report)",
                    sheet="project",
                    row=self.project_rows.get("submit_statement"),
                    column="submit_statement",
                )
            if not self.project.get("statement_end_on"):
                self.error(
                    "required",
                    "submit_statement is TRUE, so statement_end_on is required",
                    sheet="project",
                    row=self.project_rows.get("submit_statement"),
                    column="submit_statement",
                )
        if url and not str(url).startswith("https://"):
            self.error(
                "bad_url",
                f"ghg_statement_report_url must be an https:// URL, found {url!r}",
                sheet="project",
                row=self.project_rows["ghg_statement_report_url"],
                column="ghg_statement_report_url",
                value=url,
            )


__all__ = ["IGNORED_SHEETS", "ProjectChecks"]
