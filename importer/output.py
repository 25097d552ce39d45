"""Human output of plan and run results on the terminal (stderr-free: stdout), rich tables when stdout is
a terminal and NO_COLOR is unset, plain text otherwise."""

from __future__ import annotations

import os
import sys
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from importer.results import BAD_STATUSES, KINDS, RunResult

REHEARSAL = "REHEARSAL against the embedded local sandbox: nothing was sent to Isometric."


def console(stream: Any = None) -> Console:
    stream = stream or sys.stdout
    color = stream.isatty() and not os.environ.get("NO_COLOR")
    return Console(file=stream, no_color=not color, highlight=False, soft_wrap=True,
                   force_terminal=None if color else False, width=None if color else 140)


def sandbox_banner(out: Console, db: Any) -> None:
    out.print(f"[bold yellow]*** {REHEARSAL} ***[/bold yellow]")
    if db:
        out.print(f"    sandbox state: {db}  (set ISOMETRIC_API_URL and credentials to import for real)")


MARKS = {"error": "[red]error[/red]", "warning": "[yellow]warning[/yellow]", "note": "[cyan]read as[/cyan]"}


def print_findings(out: Console, findings: list[Any], *, title: str | None = None) -> None:
    """A table of findings (errors first, as given): sheet, cell, code, message."""
    if not findings:
        return
    table = Table(title=title, show_edge=False, expand=False)
    for col in ("", "where", "code", "message"):
        table.add_column(col, overflow="fold")
    for f in findings:
        mark = MARKS.get(f.severity, "[cyan]read as[/cyan]")
        table.add_row(mark, f.location or "-", f.code, escape(f.message))
    out.print(table)


def print_validation(out: Console, result: Any) -> None:
    errors, warnings, notes = result.errors(), result.warnings(), result.notes()
    counts = ", ".join(f"{n} {sheet}" for sheet, n in result.counts.items() if n)
    verdict = "[bold green]valid[/bold green]" if not errors else "[bold red]not valid[/bold red]"
    out.print(f"{escape(str(result.path))}: {verdict}: {len(errors)} error(s), {len(warnings)} warning(s)"
              + (f", {len(notes)} value(s) read differently from how they are stored" if notes else "")
              + (f"; rows read: {counts}" if counts else ""))
    print_findings(out, result.findings)
    if errors:
        out.print("Nothing was sent. `--annotate fixed.xlsx` writes a copy with these cells marked.")


def print_result(out: Console, result: RunResult) -> None:
    if result.embedded_sandbox:
        out.print(f"[bold yellow]*** {REHEARSAL} ***[/bold yellow]")
    verb = "Plan" if result.mode == "plan" else "Run"
    out.print(f"{verb} {result.run_id} of {result.workbook_path} against {result.api_url} ({result.environment})")
    counts = result.counts()
    statuses = list(next(iter(counts.values())).keys())
    table = Table(title=None, show_edge=False)
    table.add_column("kind")
    for status in statuses:
        table.add_column(status, justify="right")
    for kind in KINDS:
        row = counts[kind]
        if any(row.values()):
            table.add_row(kind, *[str(row[s]) if row[s] else "." for s in statuses])
    out.print(table)
    problems = [o for o in result.objects if o.status in BAD_STATUSES]
    if problems:
        out.print(f"[bold red]{len(problems)} row(s) need attention:[/bold red]")
        for o in problems:
            where = f"{o.sheet} row {o.row}" if o.row else o.sheet
            why = o.error or (f"blocked by {o.blocked_by}" if o.blocked_by else "")
            out.print(f"  {o.status:<9} {where} ({o.kind} {o.ref}): {why}", markup=False)
    for message in result.messages:
        out.print(f"note: {message}", markup=False)
    if result.statement:
        st = result.statement
        start = st.get("reporting_period_start_at") or st.get("start_on")
        end = st.get("reporting_period_end_at") or st.get("end_on")
        total = st.get("pending_total_co2e_removed_kg")
        out.print(f"GHG statement {st.get('id') or '(new)'}: {start} to {end}, status {st.get('status')}"
                  + (f", pending total {total:,.1f} kg CO2e" if isinstance(total, (int, float)) else ""),
                  markup=False)
    for entry in result.lineage:
        if entry.co2e_net_removed_kg is not None:
            out.print(f"  entry {entry.ref} ({entry.id}): net {entry.co2e_net_removed_kg:,.1f} kg CO2e removed",
                      markup=False)
    if result.interrupted:
        out.print("[bold]Interrupted.[/bold] What was done is listed above; run the same command again to "
                  "finish: objects already created are found by their supplier_reference_id, not duplicated.")
    elif result.mode == "run" and not result.ok:
        out.print("Fix the rows above and run the same command again: what was created stays and is not "
                  "duplicated.")
    if result.report_path:
        out.print(f"report: {result.report_path}", markup=False)
