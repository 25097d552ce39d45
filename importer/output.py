"""Human output of plan and run results on the terminal (stderr-free: stdout), rich tables when stdout is
a terminal and NO_COLOR is unset, plain text otherwise."""

from __future__ import annotations

import os
import sys
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from importer.findings import by_kind, severity_counts
from importer.results import BAD_STATUSES, RunResult
from importer.terminal_text import SafeConsole

if TYPE_CHECKING:
    from importer.findings import Finding
    from importer.report.analysis import Cause
    from importer.workbook.checks.result import ValidationResult

REHEARSAL = "REHEARSAL on the embedded local sandbox: nothing is sent to Isometric."
#: the consoles that have shown the rehearsal banner (their summaries do not repeat it)
_BANNERED: weakref.WeakSet[Console] = weakref.WeakSet()


def console(stream: TextIO | None = None) -> Console:
    """The terminal output of every command: a `SafeConsole` (control characters shown as escapes, no markup
    read in the text it prints unless a call passes ``markup=True`` with its values escaped).

    On a terminal, lines are wrapped between words at its width, never inside a word (`emit`); piped, each line
    stays whole (a log file, grep), as wide as it is."""
    stream = stream or sys.stdout
    tty = _isatty(stream)
    color = tty and not os.environ.get("NO_COLOR")
    return SafeConsole(
        file=stream,
        no_color=not color,
        highlight=False,
        soft_wrap=not tty,
        force_terminal=None if color else False,
        width=None if tty else 140,
    )


def _isatty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # a closed or bare stream
        return False


def wrap_line(text: str, width: int | None, *, hang: int = 4) -> list[str]:
    """`text` cut into lines of at most `width` between words (an ID, a path or a URL longer than the width stays
    whole on a line of its own), continuation lines indented `hang` spaces beyond the line's own indent."""
    if not width or len(text) <= width:
        return [text]
    import textwrap

    indent = " " * (len(text) - len(text.lstrip(" ")) + hang)
    return textwrap.wrap(
        text,
        width,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    ) or [text]


def emit(out: Console, text: str, *, style: str | None = None, head: str | None = None) -> None:
    """One line of output, wrapped between words at the console's width (see `wrap_line`); `style` colours the
    whole line, or only its first `head` characters when `head` is given."""
    width = None if out.soft_wrap else out.width
    for n, line in enumerate(wrap_line(text, width)):
        piece = Text(line)
        if style and (head is None or n == 0):
            piece.stylize(style, 0, len(head) if head is not None else len(line))
        out.print(piece, soft_wrap=True)


def sandbox_banner(out: Console, db: Path | None) -> None:
    """Said once, before anything starts: the summary at the end names where the run went, not this again."""
    emit(out, f"*** {REHEARSAL} ***", style="bold yellow")
    if db:
        emit(out, f"    sandbox state: {db}")
        emit(out, "    (to import for real, set ISOMETRIC_API_URL and the credentials)")
    _BANNERED.add(out)


def shown_path(path: str) -> str:
    """A file's path as people type it: relative to the current folder when it lies below it (shorter, so it
    fits a terminal's line), absolute otherwise."""
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive
        return path
    return path if relative.startswith("..") else relative


MARKS = {"error": "[red]error[/red]", "warning": "[yellow]warning[/yellow]", "note": "[cyan]read as[/cyan]"}


def print_findings(out: Console, findings: list[Finding], *, title: str | None = None) -> None:
    """A table of findings (errors first, as given): sheet, cell, code, message."""
    if not findings:
        return
    table = Table(title=title, show_edge=False, expand=False)
    for col in ("", "where", "code", "message"):
        table.add_column(col, overflow="fold")
    for f in findings:
        mark = Text.from_markup(MARKS.get(f.severity, "[cyan]read as[/cyan]"))
        table.add_row(mark, f.location or "-", f.code, f.message)
    out.print(table)


FINDINGS_PER_CODE = 3  # on the terminal; the report, --json and --annotate carry every finding
FULL_LIST_UP_TO = 40  # up to this many findings, all are printed


def print_validation(out: Console, result: ValidationResult, *, limit: int = FULL_LIST_UP_TO) -> None:
    """The verdict, then the findings: all of them when there are few, else the first few per code (errors'
    codes first) with counts, and where the rest are."""
    findings = list(result.findings)
    severities = severity_counts(findings)
    errors, warnings, notes = severities["error"], severities["warning"], severities["note"]
    counts = ", ".join(f"{n} {sheet}" for sheet, n in result.counts.items() if n)
    verdict = "[bold green]valid[/bold green]" if not errors else "[bold red]not valid[/bold red]"
    out.print(
        f"{escape(str(result.path))}: {verdict}: {errors} error(s), {warnings} warning(s)"
        + (f", {notes} value(s) read differently from how they are stored" if notes else "")
        + (f"; rows read: {escape(counts)}" if counts else ""),
        markup=True,
    )
    if len(findings) <= limit:
        print_findings(out, findings)
    else:
        rank = {"error": 0, "warning": 1, "note": 2}
        by_code = by_kind(findings)
        shown: list[Finding] = []
        for (_, _code), items in sorted(by_code.items(), key=lambda kv: (rank.get(kv[0][0], 3), -len(kv[1]))):
            shown += items[:FINDINGS_PER_CODE]
        print_findings(out, shown)
        summary = "; ".join(
            f"{code}: {len(items):,}"
            for (_, code), items in sorted(by_code.items(), key=lambda kv: (rank.get(kv[0][0], 3), -len(kv[1])))
        )
        out.print(
            f"{len(findings):,} findings in all, the first {FINDINGS_PER_CODE} of each kind shown above "
            f"({summary}). Every one, with its cell, is in the HTML report, in `--json` and in "
            "the copy `--annotate marked.xlsx` writes."
        )
    if errors:
        out.print("Nothing was sent. `--annotate marked.xlsx` writes a copy with these cells marked.")


def _co2e_text(kg: float) -> str:
    text = f"{kg:,.1f} kg CO2e"
    return text + (f" ({kg / 1000:,.2f} t)" if abs(kg) >= 1000 else "")


def status_totals(result: RunResult) -> dict[str, int]:
    """How many rows ended in each outcome, in the order outcomes first appear."""
    totals: dict[str, int] = {}
    for o in result.objects:
        if o.replaced_by is None:  # a replace's delete is part of its row's replace
            totals[o.status] = totals.get(o.status, 0) + 1
    return totals


def summary_lines(result: RunResult, *, max_causes: int = 2) -> list[str]:
    """The end of a run in at most ten plain lines: rehearsal, verdict, counts, this import's CO2e beside the
    statement, the problems by cause (the first `max_causes`), what to do, the report and the CSV."""
    from importer.report.analysis import co2e_summary, problems
    from importer.report.csv_export import failed_csv_path

    lines: list[str] = []
    if result.embedded_sandbox:
        lines.append(f"*** {REHEARSAL} ***")
    verb = "Plan" if result.mode == "plan" else "Run"
    name = Path(result.workbook_path).name
    bad = sum(o.status in BAD_STATUSES for o in result.objects)
    stopped = getattr(result, "stopped", None)
    if stopped:
        verdict = f"INTERRUPTED: {verb.lower()} {result.run_id} of {name} stopped early: {stopped}"
    elif result.interrupted:
        verdict = f"INTERRUPTED: {verb.lower()} {result.run_id} of {name} did not finish"
    elif bad:
        noun = "row needs" if bad == 1 else "rows need"
        verdict = f"PROBLEMS: {verb.lower()} {result.run_id} of {name}: {bad:,} {noun} attention"
    else:
        verdict = f"OK: {verb.lower()} {result.run_id} of {name}" + (
            ": every row imported or up to date" if result.mode == "run" else ": every row can be imported"
        )
    lines.append(f"{verdict} ({result.environment}, {result.api_url})")
    totals = status_totals(result)
    rows = sum(1 for o in result.objects if o.replaced_by is None)
    lines.append(f"{rows:,} rows: " + (", ".join(f"{n:,} {s}" for s, n in totals.items()) or "none"))
    co2e = co2e_summary(result)
    parts = []
    if co2e["total"] is not None:
        sd = f" \u00b1 {co2e['sd']:,.1f} kg" if co2e["sd"] is not None else ""
        parts.append(
            f"this import {_co2e_text(co2e['total'])}{sd} over {co2e['counted']} GHG entr"
            + ("y" if co2e["counted"] == 1 else "ies")
        )
    st = result.statement
    if st:
        start = st.get("reporting_period_start_at") or st.get("start_on")
        end = st.get("reporting_period_end_at") or st.get("end_on")
        total = st.get("pending_total_co2e_removed_kg")
        parts.append(
            f"GHG statement {st.get('id') or '(new)'} {start} to {end}, {st.get('status')}"
            + (f", total {_co2e_text(total)}" if isinstance(total, (int, float)) else "")
        )
    if parts:
        lines.append("CO2e: " + "; ".join(parts))
    causes = problems(result, "")
    for cause in causes[:max_causes]:
        lines.append("  " + cause_line(cause))
    if len(causes) > max_causes:
        lines.append(f"  ... and {len(causes) - max_causes} more cause(s), {bad:,} row(s) in all: see the report")
    held = getattr(result, "statement_entries", None) or []
    orphans = getattr(result, "orphans", None) or []
    statement_made = bool(st and st.get("id"))  # a run whose statement was not created holds nothing to count
    if held and not orphans and (result.mode == "plan" or statement_made):
        groups = {g: sum(e["group"] == g for e in held) for g in ("workbook", "orphan", "elsewhere")}
        verb = "will hold" if result.mode == "plan" and not statement_made else "holds"
        lines.append(
            f"statement {verb} {len(held)} GHG entr{'y' if len(held) == 1 else 'ies'}: "
            f"{groups['workbook']} from this workbook, {groups['elsewhere']} from elsewhere (listed in the "
            "report and --json)"
        )
    if orphans:
        shown = ", ".join(
            f"{result.noun(o['kind'])} {o['id']}"
            + (f" ({o['co2e_net_removed_kg']:,.1f} kg CO2e)" if o.get("co2e_net_removed_kg") is not None else "")
            for o in orphans[:3]
        )
        more = f" and {len(orphans) - 3} more" if len(orphans) > 3 else ""
        lines.append(
            f"orphans: {len(orphans)} object(s) under this workbook's prefix it no longer defines: {shown}"
            f"{more}; --prune deletes them"
        )
    if result.settled_rates:
        slowest = min(result.settled_rates.items(), key=lambda kv: kv[1])
        if result.rate_stated:  # told, and never answered 429
            lines.append(f"rate: kept to {slowest[1]:g}/s as stated (--max-rate or ISOMETRIC_MAX_RATE); no 429")
        else:
            lines.append(
                f"rate: the API limited requests ({result.throttled:,} answered 429); kept to {slowest[1]:g}/s "
                f"for {slowest[0]}, from {result.rate_source}"
            )
    rewrites = [r for r in (getattr(result, "readings", None) or []) if r.get("code") == "unit_rewritten"]
    if rewrites:
        lines.append(
            "read as: "
            + ", ".join(str(r.get("value")) for r in rewrites[:4])
            + (f" and {len(rewrites) - 4} more" if len(rewrites) > 4 else "")
            + " (every value read differently from its cell is in the report)"
        )
    notes = f" ({len(result.messages)} note(s) in the report)" if result.messages else ""
    if result.interrupted:
        lines.append(
            "Interrupted: run the same command again to finish; objects already created are found by "
            "their supplier_reference_id, not duplicated." + notes
        )
    elif result.mode == "run" and not result.ok:
        lead = (
            "Nothing to fix in the workbook: run the same command again (later, if the API limited the rate)."
            if causes and all(c["retryable"] for c in causes)
            else "Fix the causes above and run the same command again"
        )
        lines.append(lead + ("" if lead.endswith(".") else ": what was created stays and is not duplicated.") + notes)
    elif notes:
        lines.append(notes.strip(" ()").capitalize() + ".")
    if result.report_path:
        lines.append(f"report: {result.report_path}")
        csv_path = failed_csv_path(result, Path(result.report_path))
        if bad and csv_path.exists():
            lines.append(f"failed rows (CSV): {csv_path}")
    return lines


def cause_line(cause: Cause) -> str:
    """One problem cause on one line: where, the typed facts (HTTP status, request id, field), the message cut
    short and what to do in a few words (from the category)."""
    from importer.failures import Failure, short_advice

    blocked = f"; blocks {len(cause['blocked'])} row(s)" if cause["blocked"] else ""
    what = f"{cause['where']} ({cause['ref']})" if cause["ref"] else cause["where"]
    error = cause["error"] if len(cause["error"]) <= 90 else cause["error"][:87] + "..."
    category = cause["category"]
    if not category:  # blocked by something that is not a row of this run
        return f"{cause['status']}: {what}: {error or cause['advice']}{blocked}"
    facts = [f"HTTP {cause['http']} ({category})" if cause["http"] else cause["category_label"] or category]
    facts += [f"request id {cause['request_id']}"] if cause["request_id"] else []
    facts += [f"{cause['attempts']} attempts"] if (cause["attempts"] or 0) > 1 else []
    facts += [f"column {cause['column']}" if cause["column"] else f"field {cause['field']}"] if cause["field"] else []
    todo = short_advice(Failure(category, "", column=cause["column"]))
    return f"{cause['status']}: {what}: {', '.join(facts)}: {error} -> {todo}{blocked}"


#: Terraform's signs: what a plan (or a run) does to each object
SIGNS = {
    "create": "+",
    "created": "+",
    "update": "~",
    "updated": "~",
    "replace": "-/+",
    "replaced": "-/+",
    "delete": "-",
    "deleted": "-",
    "conflict": "!",
    "failed": "!",
    "blocked": "!",
    "unchanged": "=",
    "not started": ".",
}
SHOWN_CREATES = 20  # a plan lists this many creates unless --verbose (updates, deletes and conflicts: all)


def change_lines(result: RunResult, *, verbose: bool = False) -> list[str]:
    """Terraform's shape: one line per object that changes (`+ create`, `~ update` with `field: before -> after`
    beneath, `- delete`, `! conflict`), every row with `verbose` (`= unchanged` too), then the plan's totals."""
    from importer.planning.model import shown

    lines: list[str] = []
    creates = 0
    for o in result.objects:
        sign = SIGNS.get(o.status, "?")
        if (o.status in ("unchanged",) and not verbose) or (o.replaced_by is not None and o.status == "delete"):
            continue  # a replace's delete is said by its `-/+` line
        if o.status in ("create", "created"):
            creates += 1
            if creates > SHOWN_CREATES and not verbose:
                continue
        where = f"{o.sheet} row {o.row}" if o.row else o.sheet
        name = o.ref or o.supplier_reference_id or ""
        ident = f" {o.id}" if o.id else ""
        lines.append(f"  {sign} {o.status:<9} {result.noun(o.kind)} {name}{ident} ({where})")
        for fld in o.changes:
            if fld in o.before or fld in o.after:
                lines.append(f"      {fld}: {shown(o.before.get(fld))} -> {shown(o.after.get(fld))}")
            elif o.status in ("update", "updated", "replace", "replaced"):
                lines.append(f"      {fld}")
        if o.status in ("conflict", "failed", "blocked") and (o.error or o.blocked_by):
            lines.append(f"      {o.error or 'blocked by ' + str(o.blocked_by)}")
    if creates > SHOWN_CREATES and not verbose:
        lines.append(f"  ... and {creates - SHOWN_CREATES:,} more to create (--verbose lists every row)")
    totals = status_totals(result)
    orphans = len(getattr(result, "orphans", None) or [])
    if result.mode == "plan":
        lines.append(
            f"Plan: {totals.get('create', 0):,} to create, {totals.get('update', 0):,} to update, "
            + (f"{totals['replace']:,} to replace, " if totals.get("replace") else "")
            + f"{totals.get('delete', 0):,} to delete, {orphans:,} orphan{'' if orphans == 1 else 's'}"
            + "".join(f", {totals[s]:,} {s}" for s in ("conflict", "blocked") if totals.get(s))
            + "."
        )
    return lines


def print_result(out: Console, result: RunResult, *, verbose: bool = False) -> None:
    """A summary of at most ten lines (see `summary_lines`); a plan's changes in Terraform's shape
    (`change_lines`: every row with `verbose`); with `verbose`, every problem row, the notes and a line per GHG
    entry too."""
    if result.mode == "plan" or verbose:
        for line in change_lines(result, verbose=verbose):
            emit(out, line)
    lines = summary_lines(result)
    for n, line in enumerate(lines):
        if n == 0 and result.embedded_sandbox:
            if out not in _BANNERED:  # said at the start already: not twice
                emit(out, line, style="bold yellow")
        elif line.startswith(("OK:", "PROBLEMS:", "INTERRUPTED:")):
            color = "green" if line.startswith("OK:") else ("red" if line.startswith("PROBLEMS:") else "yellow")
            emit(out, line, style=f"bold {color}", head=line.partition(":")[0])
        else:
            emit(out, line)
    if not verbose:
        return
    problems = [o for o in result.objects if o.status in BAD_STATUSES]
    if problems:
        out.print(f"{len(problems)} row(s) need attention:", markup=False)
        for o in problems:
            where = f"{o.sheet} row {o.row}" if o.row else o.sheet
            failure = o.failure
            facts = (
                ""
                if failure is None
                else " ".join(
                    [failure.category]
                    + ([f"HTTP {failure.status}"] if failure.status else [])
                    + ([f"request id {failure.request_id}"] if failure.request_id else [])
                    + ([f"field {failure.field}"] if failure.field else [])
                )
            )
            why = o.error or (f"blocked by {o.blocked_by}" if o.blocked_by else "")
            out.print(
                f"  {o.status:<9} {where} ({result.noun(o.kind)} {o.ref}): " + (f"[{facts}] " if facts else "") + why,
                markup=False,
            )
    for message in result.messages:
        out.print(f"note: {message}", markup=False)
    counts = result.counts()
    for kind in [*(k for k in result.kind_names if k in counts), *(k for k in counts if k not in result.kind_names)]:
        row = {s: n for s, n in counts[kind].items() if n}
        if row:
            out.print(f"  {result.plural(kind)}: " + ", ".join(f"{n} {s}" for s, n in row.items()), markup=False)
    for entry in result.lineage:
        if entry.co2e_net_removed_kg is not None:
            sense = "net removal" if entry.co2e_net_removed_kg >= 0 else "net emission"
            out.print(
                f"  entry {entry.ref} ({entry.id}): {entry.co2e_net_removed_kg:,.1f} kg CO2e {sense}", markup=False
            )
