"""`isometric-import`: the thin command-line layer over the library.

Each command parses its options, calls one library function, and turns the outcome into output and an
exit code. Heavy modules are imported inside the commands so `--help` and `validate` start fast.

Exit codes: 0 success (warnings allowed); 1 the workbook has errors or a row failed/was blocked;
2 usage error, unreadable file or unreachable API; 130 interrupted.
"""

from __future__ import annotations

from pathlib import Path

import typer

from importer import __version__

app = typer.Typer(
    name="isometric-import",
    help="Validate, plan and upload Isometric Certify workbooks.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
_STATE = {"debug": False}

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"isometric-import {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version and exit."
    ),
    debug: bool = typer.Option(False, "--debug", help="Log every request and show full tracebacks (secrets are "
                               "still redacted)."),
) -> None:
    """Validate, plan and upload Isometric Certify workbooks.

    Start with `isometric-import validate WORKBOOK`, then `plan`, then `run`. With no ISOMETRIC_API_URL set,
    everything runs against the embedded local sandbox (a rehearsal).
    """
    import logging

    from importer.redaction import install_logging_filter

    _STATE["debug"] = debug
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    install_logging_filter()


@app.command("validate")
def validate_command(
    workbooks: list[Path] = typer.Argument(..., help="Workbook(s) or folder(s) of workbooks."),
    json_out: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
    report: Path | None = typer.Option(None, "--report", help="Where to write the self-contained HTML validation "
                                       "report (default: reports/<workbook>-<time>-validation.html)."),
    no_report: bool = typer.Option(False, "--no-report", help="Write no HTML report."),
    annotate: Path | None = typer.Option(None, "--annotate", help="Write a copy of the workbook with error cells red "
                                         "and warnings amber, each with a comment (the original is never changed)."),
    online: bool = typer.Option(False, "--online", help="Also check against the live project: templates, monitored "
                                "inputs, shapes and units (starts the local sandbox when no API is configured)."),
    api_url: str | None = typer.Option(None, "--api-url", help="API base URL for --online (default: "
                                       "$ISOMETRIC_API_URL; none: the embedded local sandbox)."),
) -> None:
    """Check a workbook before anything is sent: every problem, located to its cell (e.g. datapoints!D7).

    Exit codes: 0 no errors (warnings allowed), 1 errors found, 2 unreadable file or misuse.

    Example: isometric-import validate sample_workbooks/biochar-2026-10.xlsx --annotate marked.xlsx
    """
    import json
    import sys

    from importer.output import console, print_validation
    from importer.workbook.validate import WorkbookUnreadable, validate_workbook

    out = console(sys.stderr if json_out else sys.stdout)
    paths = _workbooks(workbooks)
    if not paths:
        out.print("error: no workbook given (a folder must hold .xlsx files)")
        raise typer.Exit(EXIT_USAGE)
    if (report or annotate) and len(paths) > 1:
        out.print("error: --report and --annotate take one workbook at a time")
        raise typer.Exit(EXIT_USAGE)
    import datetime as dt

    from importer.report.paths import default_report_path
    results = []
    for path in paths:
        try:
            results.append(validate_workbook(path))
        except WorkbookUnreadable as exc:
            if json_out:
                print(json.dumps({"ok": False, "workbook": str(path), "unreadable": exc.message}))
            out.print(f"error: {exc.message}", markup=False)
            raise typer.Exit(EXIT_USAGE) from exc
    if online:
        code = _online_checks(results, api_url, out)
        if code is not None:
            raise typer.Exit(code)
    reports: list[Path] = []
    if not no_report:
        from importer.report.render import strict_writes, warn_not_written
        from importer.report.validation_html import write_validation_report

        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        for result in results:
            target = report or default_report_path("validation", result.path, stamp)
            try:
                with strict_writes():
                    reports.append(write_validation_report(result, target))
            except OSError as exc:
                warn_not_written(target, exc, "; the validation itself is unaffected")
    if annotate:
        from importer.workbook.annotate import annotate_workbook

        annotate_workbook(results[0].path, results[0].findings, annotate)
    if json_out:
        payload = results[0].to_json() if len(results) == 1 else {
            "ok": all(r.ok for r in results), "workbooks": [r.to_json() for r in results]}
        print(json.dumps(payload, indent=2, default=str))
    else:
        for result in results:
            print_validation(out, result)
        for written in reports:
            out.print(f"report: {written}", markup=False)
        if annotate:
            out.print(f"annotated copy: {annotate}", markup=False)
    raise typer.Exit(EXIT_OK if all(r.ok for r in results) else EXIT_FAILED)


def _online_checks(results: list, api_url: str | None, out: object) -> int | None:  # type: ignore[type-arg]
    """Add the live project's findings to each result (in place); an exit code when the API cannot be used."""
    from importer.api import ApiError
    from importer.context import load_context
    from importer.online import check_against_project
    from importer.output import sandbox_banner
    from importer.runner import api_session
    from importer.settings import SettingsError, api_target

    try:
        target = api_target(api_url)
        with api_session(target) as session:
            if session.embedded:
                sandbox_banner(out, session.sandbox_db)  # type: ignore[arg-type]
            contexts: dict[str, object] = {}
            for result in results:
                if result.workbook is None:
                    continue
                pid = result.workbook.project.project_id
                if pid not in contexts:
                    contexts[pid] = load_context(session.client, pid)
                extra = check_against_project(result.workbook, contexts[pid])  # type: ignore[arg-type]
                result.findings = sorted(result.findings + extra, key=lambda f: f.severity != "error")
                if any(f.severity == "error" for f in extra):
                    result.workbook = None
    except SettingsError as exc:
        out.print(f"error: {exc}", markup=False)  # type: ignore[attr-defined]
        return EXIT_USAGE
    except ApiError as exc:
        out.print(f"error: the API could not be used for --online: {exc.message}", markup=False)  # type: ignore[attr-defined]
        return EXIT_USAGE
    return None


def _workbooks(paths: list[Path]) -> list[Path]:
    """Expand folders into their workbooks, in a stable (sorted) order; duplicates removed."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out += sorted(p for p in path.iterdir()
                          if p.suffix.lower() in (".xlsx", ".xlsm") and not p.name.startswith(("~$", ".")))
        else:
            out.append(path)
    seen: set[Path] = set()
    return [p for p in out if not (p.resolve() in seen or seen.add(p.resolve()))]  # type: ignore[func-returns-value]


def _import_command(
    paths: list[Path], *, mode: str, api_url: str | None, submit: bool, json_out: bool, report: Path | None,
    concurrency: int, quiet: bool,
) -> int:
    """`plan` and `run` over one or several workbooks (batch): validate all, then plan/run each in order."""
    import json
    import signal
    import sys
    import threading

    from importer.output import console, print_result, sandbox_banner
    from importer.redaction import redact
    from importer.runner import ImportAborted, ImportOptions, api_session, history_path, import_workbook, lock_folder
    from importer.settings import SettingsError, api_target

    out = console(sys.stderr if json_out else sys.stdout)
    workbooks = _workbooks(paths)
    if not workbooks:
        out.print("no workbook given (a folder must hold .xlsx files)")
        return EXIT_USAGE
    try:
        target = api_target(api_url)
        validations = _validate_all(workbooks, out, json_out)
    except SettingsError as exc:
        out.print(f"error: {exc}", markup=False)
        return EXIT_USAGE
    except _Stop as stop:
        return stop.code
    cancel = threading.Event()

    def _on_sigint(signum: int, frame: object) -> None:
        if cancel.is_set():
            raise KeyboardInterrupt
        cancel.set()
        print("\ninterrupt: finishing the requests in flight, then stopping (Ctrl-C again to abort at once)",
              file=sys.stderr, flush=True)

    previous = signal.signal(signal.SIGINT, _on_sigint)
    results = []
    stopped: list[dict[str, object]] = []  # workbooks that stopped before planning, with their findings
    worst = EXIT_OK
    try:
        from importer.api import ApiError

        with api_session(target) as session:
            if session.embedded and not json_out:
                sandbox_banner(out, session.sandbox_db)
            from importer.history import History
            from importer.locking import LockedByAnotherRun, project_lock
            from importer.progress import make_progress

            history = History(history_path()) if mode == "run" else None
            for validation in validations:
                wb = validation.workbook
                progress = make_progress(quiet=quiet or json_out)
                options = ImportOptions(mode=mode, submit=submit, concurrency=concurrency, cancel=cancel)
                try:
                    if mode == "run":
                        with project_lock(lock_folder(), wb.project.project_id, workbook=str(wb.path)):
                            result = import_workbook(validation, session, options, progress=progress,
                                                     history=history)
                    else:
                        result = import_workbook(validation, session, options, progress=progress)
                except (ImportAborted, LockedByAnotherRun) as exc:
                    found = getattr(exc, "findings", [])
                    _print_findings(out, found)
                    out.print(f"error: {exc.message}", markup=False)
                    worst = max(worst, getattr(exc, "exit_code", EXIT_USAGE))
                    stopped.append({"ok": False, "workbook": str(wb.path), "stopped": exc.message,
                                    "errors": [f.to_json() for f in found if f.severity == "error"],
                                    "warnings": [f.to_json() for f in found if f.severity == "warning"]})
                    continue
                finally:
                    if hasattr(progress, "close"):
                        progress.close()
                results.append(result)
                if result.interrupted:
                    worst = EXIT_INTERRUPTED
                    break
                if not result.ok:
                    worst = max(worst, EXIT_FAILED)
    except ApiError as exc:
        out.print(f"error: the API at {redact(str(api_url or 'the embedded sandbox'))} could not be used: "
                  f"{redact(exc.message)}", markup=False)
        return EXIT_USAGE
    finally:
        signal.signal(signal.SIGINT, previous)
    if results:
        _write_reports(results, report, mode)
    if json_out:
        payload = results[0].to_json() if len(results) == 1 and not stopped else {
            "ok": worst == EXIT_OK, "workbooks": [r.to_json() for r in results] + stopped}
        print(redact(json.dumps(payload, indent=2, default=str)))
    else:
        for result in results:
            print_result(out, result)
    return worst


class _Stop(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


def _print_findings(out: object, findings: list) -> None:  # type: ignore[type-arg]
    for f in findings:
        out.print(f"  {f.severity:<7} {f.location or '-':<22} {f.message}", markup=False)  # type: ignore[attr-defined]


def _validate_all(workbooks: list[Path], out: object, json_out: bool) -> list:  # type: ignore[type-arg]
    """Validate every workbook first: any error stops the batch before anything is sent."""
    import json

    from importer.identity import workbook_references
    from importer.workbook.validate import WorkbookUnreadable, validate_workbook

    results = []
    for path in workbooks:
        try:
            results.append(validate_workbook(path))
        except WorkbookUnreadable as exc:
            out.print(f"error: {exc.message}", markup=False)  # type: ignore[attr-defined]
            raise _Stop(EXIT_USAGE) from exc
    bad = [r for r in results if not r.ok]
    if bad:
        for r in bad:
            out.print(f"{r.path}: {len(r.errors())} error(s); nothing was sent", markup=False)  # type: ignore[attr-defined]
            _print_findings(out, r.findings)
        if json_out:
            print(json.dumps({"ok": False, "workbooks": [r.to_json() for r in results]}, indent=2, default=str))
        raise _Stop(EXIT_FAILED)
    seen: dict[str, str] = {}
    clashes = []
    for r in results:
        for sheet, row, srid in workbook_references(r.workbook):
            where = f"{r.path.name} {sheet} row {row}"
            if srid in seen and not seen[srid].startswith(r.path.name + " "):
                clashes.append(f"supplier_reference_id {srid!r} is used by {seen[srid]} and {where}")
            seen.setdefault(srid, where)
    if clashes:
        for clash in clashes:
            out.print(f"  error   {clash}", markup=False)  # type: ignore[attr-defined]
        out.print("error: supplier_reference_id must be unique across the workbooks of a batch; nothing was sent",
                  markup=False)  # type: ignore[attr-defined]
        if json_out:
            print(json.dumps({"ok": False, "stopped": "supplier_reference_id used by two workbooks",
                              "problems": clashes, "workbooks": [r.to_json() for r in results]},
                             indent=2, default=str))
        raise _Stop(EXIT_FAILED)
    results = order_batch(results)
    order_problems = batch_statement_problems(results)
    if len(results) > 1:
        out.print("batch order (by statement period, then name): " + ", ".join(  # type: ignore[attr-defined]
            f"{r.path.name} (statement to {r.workbook.project.statement_end_on or 'none'})" for r in results),
            markup=False)
    if order_problems:
        for problem in order_problems:
            out.print(f"  error   {problem}", markup=False)  # type: ignore[attr-defined]
        out.print("error: the workbooks' GHG statements would overlap or leave a gap; nothing was sent (import "  # type: ignore[attr-defined]
                  "them separately if that is meant)", markup=False)
        if json_out:
            print(json.dumps({"ok": False, "stopped": "batch statements overlap or leave a gap",
                              "problems": order_problems, "workbooks": [r.to_json() for r in results]},
                             indent=2, default=str))
        raise _Stop(EXIT_FAILED)
    return results


def order_batch(results: list) -> list:  # type: ignore[type-arg]
    """Monthly workbooks in the order their statements must be created: by statement end, then name
    (workbooks without a statement last). A folder lists `november.xlsx` before `october.xlsx`."""
    import datetime as dt

    return sorted(results, key=lambda r: (r.workbook.project.statement_end_on or dt.date.max, r.path.name))


def batch_statement_problems(results: list) -> list[str]:  # type: ignore[type-arg]
    """Per project, consecutive workbooks' statements must neither overlap (the same end, or an entry completing
    inside the previous workbook's period) nor leave whole months without a workbook between them."""
    import datetime as dt

    from importer.online import _month_name, _whole_months

    problems: list[str] = []
    by_project: dict[str, list] = {}  # type: ignore[type-arg]
    for r in results:
        if r.workbook.project.statement_end_on is not None:
            by_project.setdefault(r.workbook.project.project_id, []).append(r)
    for group in by_project.values():
        for previous, current in zip(group, group[1:], strict=False):
            prev_end = previous.workbook.project.statement_end_on
            end = current.workbook.project.statement_end_on
            if end == prev_end:
                problems.append(f"{previous.path.name} and {current.path.name} both end their GHG statement on "
                                f"{end}: their periods overlap")
                continue
            inside = [e for e in current.workbook.entries if e.completed_on <= prev_end]
            for entry in inside:
                problems.append(f"{current.path.name} entries row {entry.row} ({entry.ref}) completes on "
                                f"{entry.completed_on}, inside the period of {previous.path.name} (to {prev_end}): "
                                "it would land in the earlier statement")
            completions = [e.completed_on for e in current.workbook.entries if e.completed_on > prev_end]
            if completions:
                start = prev_end + dt.timedelta(days=1)
                first = min(completions)
                gap = _whole_months(start, dt.date(first.year, first.month, 1) - dt.timedelta(days=1))
                if gap:
                    problems.append(f"between {previous.path.name} (statement to {prev_end}) and {current.path.name} "
                                    f"(first entry completes {first}) no workbook covers "
                                    f"{', '.join(_month_name(*m) for m in gap)}: {current.path.name}'s statement "
                                    f"would start on {start} and hold those months empty")
    return problems


def _write_reports(results: list, report: Path | None, mode: str) -> None:  # type: ignore[type-arg]
    """The HTML report (and the CSV of failed rows). By now the import has happened: a report that cannot be
    written (read-only or full folder, anything else) is a warning on stderr, never a lost summary or exit code."""
    import logging

    from importer.report.csv_export import write_failed_csv
    from importer.report.paths import default_report_path
    from importer.report.render import strict_writes, warn_not_written
    from importer.report.run_html import write_batch_report, write_run_report

    consequence = f"; the {mode} itself is unaffected"
    first = results[0]
    path = report or default_report_path(mode, Path(first.workbook_path), first.run_id)
    try:
        with strict_writes():
            if len(results) == 1:
                write_run_report(first, path)
            else:
                write_batch_report(results, path)
    except Exception as exc:  # whatever broke, the summary must still be printed
        logging.getLogger(__name__).debug("report %s not written", path, exc_info=True)
        warn_not_written(path, exc, consequence)
        return
    for result in results:
        result.report_path = str(path)
    if mode == "run" and any(not r.ok for r in results):
        for result in results:
            if not result.ok:
                csv_path = path.with_name(f"{Path(result.workbook_path).stem}-{result.run_id}-failed.csv")
                try:
                    write_failed_csv(result, csv_path)
                except Exception as exc:  # likewise
                    logging.getLogger(__name__).debug("CSV %s not written", csv_path, exc_info=True)
                    warn_not_written(csv_path, exc, consequence)


_API_URL_HELP = "API base URL, e.g. https://api.sandbox.isometric.com/mrv/v0 (default: $ISOMETRIC_API_URL; none: " \
    "the embedded local sandbox). Credentials come only from $ISOMETRIC_CLIENT_SECRET and $ISOMETRIC_ACCESS_TOKEN."


@app.command("plan")
def plan_command(
    workbooks: list[Path] = typer.Argument(..., help="Workbook(s) or folder(s) of workbooks."),
    api_url: str | None = typer.Option(None, "--api-url", help=_API_URL_HELP),
    submit: bool = typer.Option(False, "--submit", help="Plan the statement's submission too."),
    json_out: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
    report: Path | None = typer.Option(None, "--report", help="Write the HTML plan report here."),
    concurrency: int = typer.Option(8, "--concurrency", min=1, max=64, help="Parallel look-ups."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output."),
) -> None:
    """Validate, then show what a run would create, update or leave alone. Nothing is written.

    Example: isometric-import plan sample_workbooks/biochar-2026-10.xlsx
    """
    raise typer.Exit(_import_command(workbooks, mode="plan", api_url=api_url, submit=submit, json_out=json_out,
                                     report=report, concurrency=concurrency, quiet=quiet))


@app.command("run")
def run_command(
    workbooks: list[Path] = typer.Argument(..., help="Workbook(s) or folder(s) of workbooks (processed in order)."),
    api_url: str | None = typer.Option(None, "--api-url", help=_API_URL_HELP),
    submit: bool = typer.Option(False, "--submit", help="Submit the GHG statement for verification."),
    json_out: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
    report: Path | None = typer.Option(None, "--report", help="HTML report path (default: reports/...)."),
    concurrency: int = typer.Option(8, "--concurrency", min=1, max=64, help="Parallel requests within a level."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output."),
) -> None:
    """Validate, reconcile with the registry, and upload what is new or changed, in dependency order.

    Safe to re-run: objects are found again by their supplier_reference_id, never duplicated.
    Exit codes: 0 all created/updated/unchanged; 1 a row failed, was blocked or conflicts; 2 usage or API
    unreachable; 130 interrupted.

    Example: isometric-import run sample_workbooks/biochar-2026-10.xlsx
    """
    raise typer.Exit(_import_command(workbooks, mode="run", api_url=api_url, submit=submit, json_out=json_out,
                                     report=report, concurrency=concurrency, quiet=quiet))


@app.command("history")
def history_command(
    json_out: bool = typer.Option(False, "--json", help="JSON on stdout."),
) -> None:
    """List recorded runs (run id, workbook hash, where, outcome, objects created).

    Example: isometric-import history
    """
    import json
    import sys
    from dataclasses import asdict

    from rich.table import Table

    from importer.history import History
    from importer.output import console
    from importer.runner import history_path

    runs = History(history_path()).runs()
    if json_out:
        print(json.dumps([asdict(r) for r in runs], indent=2))
        return
    out = console(sys.stdout)
    if not runs:
        out.print("no runs recorded yet")
        return
    table = Table(show_edge=False)
    for col in ("run id", "started", "workbook", "sha256", "api", "outcome", "created"):
        table.add_column(col)
    for r in runs:
        table.add_row(r.run_id, r.started_at[:19], Path(r.workbook).name, r.workbook_sha256[:12],
                      ("sandbox (local) " if r.embedded_sandbox else "") + r.api_url, r.outcome or "unfinished",
                      str(r.created))
    out.print(table)


@app.command("rollback")
def rollback_command(
    run_id: str = typer.Argument(..., help="A run id from `isometric-import history`."),
    dry_run: bool = typer.Option(False, "--dry-run", help="List what would be deleted; delete nothing."),
    api_url: str | None = typer.Option(None, "--api-url", help=_API_URL_HELP),
) -> None:
    """Delete, in reverse dependency order, the objects a run created (refused if any is in a submitted
    GHG statement).

    Example: isometric-import rollback 20261124T101500Z-1a2b3c --dry-run
    """
    import sys

    from importer.history import History
    from importer.output import console
    from importer.rollback import RollbackRefused, execute_rollback, plan_rollback
    from importer.runner import api_session, history_path
    from importer.settings import SettingsError, api_target

    out = console(sys.stdout)
    history = History(history_path())
    record = history.run(run_id)
    if record is None:
        out.print(f"error: no run {run_id!r} in the history; `isometric-import history` lists the runs", markup=False)
        raise typer.Exit(EXIT_USAGE)
    try:
        target = api_target(api_url) if not record.embedded_sandbox else api_target(api_url)
    except SettingsError as exc:
        out.print(f"error: {exc}", markup=False)
        raise typer.Exit(EXIT_USAGE) from exc
    with api_session(target) as session:
        if session.url != record.api_url and not (session.embedded and record.embedded_sandbox):
            out.print(f"error: run {run_id} went to {record.api_url}, not {session.url}; pass --api-url "
                      f"{record.api_url}", markup=False)
            raise typer.Exit(EXIT_USAGE)
        try:
            items = plan_rollback(history, run_id, session.client)
        except RollbackRefused as exc:
            out.print(f"refused: {exc.message}", markup=False)
            raise typer.Exit(EXIT_FAILED) from exc
        if not dry_run:
            items = execute_rollback(history, run_id, session.client, items)
    verb = "would delete" if dry_run else "rollback"
    for item in items:
        status = "pending" if dry_run and item.status == "pending" else item.status
        out.print(f"  {verb}: {item.obj.kind:<15} {item.obj.object_id}  {status}"
                  + (f"  ({item.message})" if item.message else ""), markup=False)
    if not items:
        out.print("nothing to roll back: the run created nothing that still exists")
    failed = [i for i in items if i.status == "failed"]
    raise typer.Exit(EXIT_FAILED if failed else EXIT_OK)


@app.command("template")
def template_command(
    out_path: Path = typer.Argument(..., help="Where to write the workbook (.xlsx)."),
    project_id: str | None = typer.Option(None, "--project-id", help="Project to read templates from "
                                          "(default: the only project the credentials see)."),
    templates: list[str] = typer.Option([], "--template", help="A template's name or rvt_ ID (repeatable; "
                                        "default: all of the project's templates)."),
    api_url: str | None = typer.Option(None, "--api-url", help=_API_URL_HELP),
) -> None:
    """Generate the workbook a field team fills in: every sheet and header, explanations, dropdowns, and the
    monitored inputs of the project's templates pre-listed.

    Example: isometric-import template october.xlsx --template "Monthly production batch"
    """
    import sys

    from importer.api import ApiError
    from importer.context import load_context
    from importer.output import console, sandbox_banner
    from importer.runner import api_session
    from importer.settings import SettingsError, api_target
    from importer.workbook.template import build_template

    out = console(sys.stdout)
    try:
        target = api_target(api_url)
    except SettingsError as exc:
        out.print(f"error: {exc}", markup=False)
        raise typer.Exit(EXIT_USAGE) from exc
    try:
        with api_session(target) as session:
            if session.embedded:
                sandbox_banner(out, session.sandbox_db)
            if project_id is None:
                projects = session.client.list_projects()
                if len(projects) != 1:
                    names = ", ".join(f"{p.id} ({p.name})" for p in projects)
                    out.print(f"error: the credentials see {len(projects)} projects; choose one with --project-id: "
                              f"{names}", markup=False)
                    raise typer.Exit(EXIT_USAGE)
                project_id = projects[0].id
            ctx = load_context(session.client, project_id)
    except ApiError as exc:
        out.print(f"error: could not read project {project_id}: {exc.message}", markup=False)
        raise typer.Exit(EXIT_USAGE) from exc
    chosen = ctx.templates
    if templates:
        chosen = []
        for name in templates:
            found = ctx.resolve_template(name)
            if found is None:
                hint = ctx.template_suggestion(name)
                out.print(f"error: project {project_id} has no template {name!r}"
                          + (f"; did you mean {hint!r}?" if hint else ""), markup=False)
                raise typer.Exit(EXIT_USAGE)
            chosen.append(found)
    build_template(out_path, project_id=project_id, templates=chosen, blueprints=ctx.blueprints)
    out.print(f"wrote {out_path} for project {project_id} with {len(chosen)} template(s): "
              + ", ".join(t.display_name for t in chosen), markup=False)


@app.command("sandbox")
def sandbox_command(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on (keep it on loopback)."),
    port: int = typer.Option(8765, "--port", help="Port to listen on."),
    db: Path | None = typer.Option(None, "--db", help="SQLite file holding the sandbox's state "
                                   "(default: the importer's data folder)."),
    latency_ms: float = typer.Option(0, "--latency-ms", min=0, help="Delay added to every API request."),
    fault_rate: float = typer.Option(0.0, "--fault-rate", min=0.0, max=1.0, help="Share of requests that fail: "
                                     "429, 500, 503, dropped, slow or lost-response, mixed."),
    seed: int | None = typer.Option(None, "--seed", help="Seed of the fault draws (reproducible runs)."),
    upload_ttl: float = typer.Option(3600, "--upload-ttl", help="Seconds a signed upload URL stays valid."),
    budget: float | None = typer.Option(None, "--budget", help="Requests per second per endpoint before 429."),
) -> None:
    """Serve the local Isometric sandbox in the foreground (Ctrl-C to stop).

    Example: isometric-import sandbox --port 8765 --latency-ms 50 --fault-rate 0.1 --seed 1
    """
    from importer.sandbox import DEMO_ACCESS_TOKEN, DEMO_CLIENT_SECRET, FaultConfig, serve
    from importer.settings import sandbox_db_path

    path = db or sandbox_db_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    faults = FaultConfig(seed=seed, latency_ms=latency_ms, fault_rate=fault_rate, upload_url_ttl_seconds=upload_ttl,
                         budget_per_second=budget)
    typer.echo(f"Isometric local sandbox: http://{host}:{port}/mrv/v0")
    typer.echo(f"database: {path}")
    typer.echo(f"client secret: {DEMO_CLIENT_SECRET}")
    typer.echo(f"access token: {DEMO_ACCESS_TOKEN}")
    typer.echo("(demo credentials of the local sandbox only; export them as ISOMETRIC_CLIENT_SECRET and "
               "ISOMETRIC_ACCESS_TOKEN, with ISOMETRIC_API_URL set to the URL above)", err=True)
    serve(host, port, path, faults)


def main() -> None:
    """Entry point: no command ever ends in a raw traceback; `--debug` shows one, redacted."""
    import sys
    import traceback

    from importer.redaction import redact

    try:
        app()
    except SystemExit:
        raise
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
    except Exception as exc:  # the last line of defence: say what happened, in plain words
        if _STATE["debug"]:
            print(redact("".join(traceback.format_exception(exc))), file=sys.stderr)
        print(redact(f"internal error: {type(exc).__name__}: {exc}") + " (run again with --debug for the "
              "traceback, and report it)", file=sys.stderr)
        sys.exit(EXIT_USAGE)


if __name__ == "__main__":
    main()
