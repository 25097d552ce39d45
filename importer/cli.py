"""`isometric-import`: the thin command-line layer over the library.

Each command parses its options, calls the library (`importer.library`), and turns the outcome into output and
an exit code: the library says how things ended as a `Verdict`, and only this module maps verdicts to exit codes
(`_exit_code`). Of the importer it imports nothing but the library and what prints (a test holds it to that).
Heavy modules are imported inside the commands so `--help` and `validate` start fast.

Exit codes: 0 success (warnings allowed); 1 the workbook has errors or a row failed/was blocked;
2 usage error, unreadable file or unreachable API; 130 interrupted.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from importer import __version__

if TYPE_CHECKING:
    from rich.console import Console

    from importer.library import Finding, RollbackOutcome, ValidationResult, Verdict

app = typer.Typer(
    name="isometric-import",
    help="Validate, plan and upload Isometric Certify workbooks.",
    epilog="API: --api-url or $ISOMETRIC_API_URL, e.g. https://api.sandbox.isometric.com/mrv/v0",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
_STATE = {"debug": False, "exit_without_teardown": False}


def _plain_help_types() -> None:
    """typer shows Python type names in --help (`<list[Path]>`, `<bool>`, `<int range>`); people read PATH...,
    N, TEXT, and nothing at all beside a flag."""
    from typer import core

    words = {"Path": "PATH", "str": "TEXT", "int": "N", "float": "NUMBER"}

    def display(self: core.TyperOption | core.TyperArgument, ctx: object) -> str | None:
        if getattr(self, "is_flag", False):
            return None
        try:
            bare: str = self.bare_type()
        except Exception:  # a type typer cannot name: keep its own rendering
            return None
        inner = bare.removeprefix("list[").removesuffix("]")
        word = words.get(inner, inner.upper())
        return word + "..." if bare.startswith("list[") else word

    for cls in (core.TyperOption, core.TyperArgument):
        cls.display_type_rich = display  # type: ignore[method-assign]


_plain_help_types()

# the exit codes live here alone: the library says how things ended as a Verdict, and _exit_code maps it
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def _exit_code(verdict: Verdict) -> int:
    """The exit code of a library verdict (ok 0, failed 1, refused 2, interrupted 130)."""
    from importer.library import Verdict

    return {
        Verdict.OK: EXIT_OK,
        Verdict.FAILED: EXIT_FAILED,
        Verdict.REFUSED: EXIT_USAGE,
        Verdict.INTERRUPTED: EXIT_INTERRUPTED,
    }[verdict]


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"isometric-import {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version and exit."
    ),
    debug: bool = typer.Option(
        False, "--debug", help="Log every request and show full tracebacks (secrets are still redacted)."
    ),
) -> None:
    """Validate, plan and upload Isometric Certify workbooks.

    Start with `isometric-import validate WORKBOOK`, then `plan`, then `run`. With no ISOMETRIC_API_URL set,
    everything runs against the embedded local sandbox (a rehearsal).
    """
    import logging

    from importer.redaction import install_logging_filter

    _STATE["debug"] = debug
    from importer.terminal_text import make_logs_visible

    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    install_logging_filter()
    make_logs_visible()  # a cell or a server's message quoted in a log line cannot steer the terminal


@app.command("validate")
def validate_command(
    ctx: typer.Context,
    workbooks: list[Path] = typer.Argument(..., help="Workbook(s) or folder(s) of workbooks."),
    json_out: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
    report: Path | None = typer.Option(
        None,
        "--report",
        help="Where to write the self-contained HTML validation "
        "report (default: reports/<workbook>-<time>-validation.html).",
    ),
    no_report: bool = typer.Option(False, "--no-report", help="Write no HTML report."),
    annotate: Path | None = typer.Option(
        None,
        "--annotate",
        help="Write a copy of the workbook with error cells red "
        "and warnings amber, each with a comment (the original is never changed).",
    ),
    online: bool = typer.Option(
        False,
        "--online",
        help="Also check against the live project: templates, monitored "
        "inputs, shapes and units (starts the local sandbox when no API is configured).",
    ),
    api_url: str | None = typer.Option(
        None,
        "--api-url",
        help="API base URL for --online (default: $ISOMETRIC_API_URL; none: the embedded local sandbox).",
    ),
) -> None:
    """Check a workbook before anything is sent: every problem, located to its cell (e.g. datapoints!D7).

    Exit codes: 0 no errors (warnings allowed), 1 errors found, 2 unreadable file or misuse.

    Example: isometric-import validate sample_workbooks/biochar-2026-10.xlsx --annotate marked.xlsx
    """
    import json
    import sys
    import threading

    from importer import library
    from importer.terminal_text import echo

    # The cyclic collector stays off for the whole command: turned back on after validation the usual way, it
    # would at once scan the rows the result holds (0.2-0.3 s at 100k rows) and find nothing to free; reference
    # counting frees as usual. Given back as it was when the command ends, without that scan (a caller in-process
    # finds it as it was; the console script then ends without teardown, see main()).
    ctx.call_on_close(library.collector_off())

    stream = sys.stderr if json_out else sys.stdout  # the human lines; --json keeps stdout for the JSON
    refused: list[tuple[Path, str]] = []
    ignored: list[tuple[Path, str]] = []
    paths = library.expand(workbooks, refused=refused, ignored=ignored)
    if refused or ignored:
        from importer.output import console

        library.sort_out_evidence(paths, refused, ignored)
        _print_skipped(console(stream), refused, ignored)
    if not paths or ((report or annotate) and len(paths) > 1):
        from importer.output import console

        console(stream).print(
            "error: no workbook given (a folder must hold .xlsx files)"
            if not paths
            else "error: --report and --annotate take one workbook at a time"
        )
        raise typer.Exit(EXIT_USAGE)
    clash = library.overwrites_input([("--report", report), ("--annotate", annotate)], lambda: library.inputs_of(paths))
    if clash:
        from importer.output import console

        if json_out:
            echo(json.dumps({"ok": False, "stopped": clash}))
        console(stream).print(f"error: {clash}")
        raise typer.Exit(EXIT_USAGE)
    # What prints and writes the outcome (rich, jinja2 and the report's template: about 0.08 s) loads while the
    # workbook is read, not before the read starts nor after the checks end: validation mostly waits for
    # python-calamine's native parse meanwhile.
    output_ready = threading.Thread(target=_load_validation_output, args=(not no_report,), daemon=True)
    output_ready.start()
    results = []
    for path in paths:
        try:
            results.append(library.validate(path, typed_rows=online))  # only --online reads the typed rows
        except library.UnreadableWorkbook as exc:
            if json_out:
                echo(json.dumps({"ok": False, "workbook": str(exc.path), "unreadable": exc.message}))
            from importer.output import console

            console(stream).print(f"error: {exc.message}", markup=False)
            raise typer.Exit(_exit_code(exc.verdict)) from exc
    output_ready.join()
    from importer.output import console, print_validation

    out = console(stream)
    if online:
        code = _online_checks(results, api_url, out)
        if code is not None:
            raise typer.Exit(code)
    reports = (
        []
        if no_report
        else library.write_validation_reports(
            results, report=report, online=online, inputs=lambda: library.inputs_of(paths)
        )
    )
    if annotate:
        library.annotate(results[0], annotate)
    if json_out:
        payload = (
            results[0].to_json()
            if len(results) == 1
            else {"ok": all(r.ok for r in results), "workbooks": [r.to_json() for r in results]}
        )
        payload["online_checks"] = "checked" if online else "not checked"
        _add_skipped(payload, refused, ignored)
        echo(json.dumps(payload, indent=2, default=str))
    else:
        for result in results:
            print_validation(out, result)
        if not online:
            from importer.report.validation_html import NOT_CHECKED_OFFLINE

            out.print(NOT_CHECKED_OFFLINE.capitalize() + ".", markup=False)
        for written in reports:
            out.print(f"report: {written}", markup=False)
        if annotate:
            out.print(f"annotated copy: {annotate}", markup=False)
    _print_not_imported(out, refused, "validated")
    _STATE["exit_without_teardown"] = True  # see main()
    code = EXIT_OK if all(r.ok for r in results) else EXIT_FAILED
    raise typer.Exit(max(code, EXIT_USAGE) if refused else code)


def _load_validation_output(report: bool) -> None:
    """Import the terminal output and, when a report is written, the report's module and template."""
    import importer.output  # noqa: F401

    if report:
        from importer.report.render import environment
        from importer.report.validation_html import TEMPLATE

        environment().get_template(TEMPLATE)


def _online_checks(results: list[ValidationResult], api_url: str | None, out: Console) -> int | None:
    """Add the live project's findings to each result (in place); an exit code when the API cannot be used."""
    from importer import library
    from importer.output import sandbox_banner

    try:
        where = library.target(api_url)
    except library.ImporterError as exc:
        out.print(f"error: {exc}", markup=False)
        return _exit_code(exc.verdict)
    checked = library.check_online(results, where=where)
    if checked.embedded:
        sandbox_banner(out, checked.sandbox_db)
    if checked.problem:
        out.print(f"error: {checked.problem}", markup=False)
        return _exit_code(checked.verdict)
    return None


def _print_skipped(out: Console, refused: list[tuple[Path, str]], ignored: list[tuple[Path, str]]) -> None:
    """One line per folder entry that is not imported, and why."""
    for path, why in ignored:
        out.print(f"ignored: {path}: {why}", markup=False)
    for path, why in refused:
        out.print(f"refused: {path}: {why}", markup=False)


def _print_not_imported(out: Console, refused: list[tuple[Path, str]], verb: str) -> None:
    """The last line when a folder held files that were refused: they are not forgotten below the summary."""
    if refused:
        names = ", ".join(str(path) for path, _ in refused)
        out.print(
            f"NOT {verb.upper()}: {len(refused)} file(s) refused (see above): {names}; exit code {EXIT_USAGE}",
            markup=False,
        )


def _add_skipped(payload: dict[str, object], refused: list[tuple[Path, str]], ignored: list[tuple[Path, str]]) -> None:
    """`--json`: the refused and ignored entries of the folders, and `ok` false when anything was refused."""
    if refused:
        payload["ok"] = False
        payload["refused"] = [{"file": str(path), "why": why} for path, why in refused]
    if ignored:
        payload["ignored"] = [{"file": str(path), "why": why} for path, why in ignored]


def _import_command(
    paths: list[Path],
    *,
    mode: str,
    api_url: str | None,
    submit: bool,
    json_out: bool,
    report: Path | None,
    concurrency: int,
    quiet: bool,
    verbose: bool = False,
    max_rate: str | None = None,
    out_path: Path | None = None,
    prune: bool = False,
    replace: bool = False,
    keep_orphans: bool = False,
    update_only: bool = False,
    saved: Path | None = None,
    no_report: bool = False,
) -> int:
    """`plan`, `run` and `apply` over one or several workbooks: the library does the work (batch checks, lock,
    history, saved plans); this parses, installs the Ctrl-C handler, and prints."""
    import json
    import signal
    import sys
    import threading

    from importer import library
    from importer.output import console, print_result, sandbox_banner
    from importer.progress import make_progress
    from importer.redaction import redact
    from importer.terminal_text import echo

    out = console(sys.stderr if json_out else sys.stdout)
    refused: list[tuple[Path, str]] = []
    ignored: list[tuple[Path, str]] = []
    if no_report and report is not None:
        out.print("error: --report and --no-report say opposite things; give one", markup=False)
        return EXIT_USAGE
    missing = [p for p in ([saved] if saved is not None else paths) if not p.exists()]
    if missing:  # said before anything starts (the embedded sandbox included), once per file
        for path in missing:
            out.print(f"error: {path}: no such file or folder", markup=False)
        if json_out:
            echo(json.dumps({"ok": False, "stopped": f"{missing[0]}: no such file or folder"}))
        return EXIT_USAGE
    if saved is None:  # the folders' files, each imported or named here (and in --json) with why not
        paths = library.expand(paths, refused=refused, ignored=ignored)
        library.sort_out_evidence(paths, refused, ignored)
        _print_skipped(out, refused, ignored)

    def inputs() -> list[tuple[str, Path]]:
        return library.inputs_of(paths, saved)

    clash = library.overwrites_input([("--report", report), ("--out", out_path)], inputs)
    if clash:
        out.print(f"error: {clash}", markup=False)
        if json_out:
            echo(json.dumps({"ok": False, "stopped": clash}))
        return EXIT_USAGE
    try:
        where = library.target(api_url, max_rate=max_rate)
    except library.ImporterError as exc:
        out.print(f"error: {exc}", markup=False)
        return _exit_code(exc.verdict)
    if where.embedded and not json_out:
        sandbox_banner(out, library.sandbox_database())
    cancel = threading.Event()

    def _on_sigint(signum: int, frame: object) -> None:
        if cancel.is_set():
            raise KeyboardInterrupt
        cancel.set()
        echo("\ninterrupt: finishing the requests in flight, then stopping (Ctrl-C again to abort at once)", err=True)

    previous = signal.signal(signal.SIGINT, _on_sigint)
    meter = lambda: make_progress(quiet=quiet or json_out)  # noqa: E731 - one progress display per workbook
    try:
        if saved is not None:
            outcome = library.apply(
                saved,
                where=where,
                keep_orphans=keep_orphans,
                update_only=update_only,
                concurrency=concurrency,
                cancel=cancel,
                progress=meter,
            )
        elif mode == "plan":
            outcome = library.plan(
                paths,
                where=where,
                submit=submit,
                prune=prune,
                replace=replace,
                concurrency=concurrency,
                progress=meter,
            )
        else:
            outcome = library.run(
                paths,
                where=where,
                submit=submit,
                prune=prune,
                replace=replace,
                keep_orphans=keep_orphans,
                update_only=update_only,
                concurrency=concurrency,
                cancel=cancel,
                progress=meter,
            )
    finally:
        signal.signal(signal.SIGINT, previous)
    if len(outcome.validations) > 1 and not json_out:
        out.print(
            "batch order (by statement period, then name): "
            + ", ".join(
                f"{v.path.name} (statement to {v.workbook.project.statement_end_on or 'none'})"
                for v in outcome.validations
                if v.workbook is not None
            ),
            markup=False,
        )
    for stop in outcome.stopped:
        _print_findings(out, stop.findings)
        out.print(f"error: {stop.workbook}: {stop.message}", markup=False)
    for index, problem in enumerate(outcome.problems):
        out.print(f"error: {problem}" if index == 0 else f"  error   {problem}", markup=False)
    if outcome.results and not no_report:
        library.write_reports(outcome.results, report=report, mode="plan" if mode == "plan" else "run", inputs=inputs)
    if out_path is not None and outcome.plans:
        library.save_plans(outcome.plans, out_path, api_url=outcome.results[0].api_url)
        out.print(
            f"plan saved to {out_path}: `isometric-import apply {out_path}` carries out exactly this plan "
            "(refused if the workbook, its evidence or the registry change meanwhile)",
            markup=False,
        )
    if json_out:
        payload = outcome.to_json()
        _add_skipped(payload, refused, ignored)
        echo(redact(json.dumps(payload, indent=2, default=str)))
    else:
        for result in outcome.results:
            print_result(out, result, verbose=verbose)
    _print_not_imported(out, refused, "planned" if mode == "plan" else "imported")
    code = _exit_code(outcome.verdict)
    return max(code, EXIT_USAGE) if refused else code


def _print_findings(out: Console, findings: list[Finding]) -> None:
    for f in findings:
        out.print(f"  {f.severity:<7} {f.location or '-':<22} {f.message}", markup=False)


_API_URL_HELP = (  # no URL here: a help column at 80 columns cuts it (the main help shows one whole)
    "API base URL, ending /mrv/v0 (default: $ISOMETRIC_API_URL; none: the embedded local sandbox). "
    "Credentials come only from $ISOMETRIC_CLIENT_SECRET and $ISOMETRIC_ACCESS_TOKEN."
)

# options that plan, run and apply share, declared once
_JSON = typer.Option(False, "--json", help="One JSON object on stdout.")
_QUIET = typer.Option(False, "--quiet", "-q", help="No progress output.")
_NO_REPORT = typer.Option(False, "--no-report", help="Write no HTML report and no CSV of failed rows.")
_REPLACE = typer.Option(
    False,
    "--replace",
    help="Replace (delete, then create anew) a changed production batch or biochar application: the API cannot "
    "update them. Without it, such a change is a conflict.",
)
_MAX_RATE = typer.Option(
    None,
    "--max-rate",
    help="Never send more than this many API requests, all together: 2, 2/s, 120/min "
    "(default $ISOMETRIC_MAX_RATE; else learned from the API's RateLimit headers or 429s).",
)
_VERBOSE = typer.Option(False, "--verbose", "-v", help="Every row and entry, not only the summary.")
_KEEP_ORPHANS = typer.Option(
    False,
    "--keep-orphans",
    help="Submit although GHG entries the workbook no longer defines lie in the statement period (they are meant).",
)
_UPDATE_ONLY = typer.Option(
    False,
    "--update-only",
    help="Never create: refuse, sending nothing, when the plan would create anything (corrections after submission).",
)


@app.command("plan")
def plan_command(
    workbooks: list[Path] = typer.Argument(..., help="Workbook(s) or folder(s) of workbooks."),
    api_url: str | None = typer.Option(None, "--api-url", help=_API_URL_HELP),
    max_rate: str | None = _MAX_RATE,
    submit: bool = typer.Option(False, "--submit", help="Plan the statement's submission too."),
    json_out: bool = _JSON,
    report: Path | None = typer.Option(None, "--report", help="Write the HTML plan report here."),
    concurrency: int = typer.Option(8, "--concurrency", min=1, max=64, help="Parallel look-ups."),
    quiet: bool = _QUIET,
    out_path: Path | None = typer.Option(
        None,
        "--out",
        help="Save the plan (with fingerprints of the workbook, "
        "its evidence and the registry) for `isometric-import apply`.",
    ),
    prune: bool = typer.Option(
        False,
        "--prune",
        help="Plan to delete the objects under this workbook's supplier-reference prefix that it no longer defines.",
    ),
    replace: bool = _REPLACE,
    verbose: bool = _VERBOSE,
    no_report: bool = _NO_REPORT,
) -> None:
    """Validate, then show what a run would create, update or leave alone. Nothing is written.

    Example: isometric-import plan sample_workbooks/biochar-2026-10.xlsx --out plan.json
    """
    raise typer.Exit(
        _import_command(
            workbooks,
            mode="plan",
            api_url=api_url,
            max_rate=max_rate,
            submit=submit,
            json_out=json_out,
            report=report,
            concurrency=concurrency,
            quiet=quiet,
            verbose=verbose,
            out_path=out_path,
            prune=prune,
            replace=replace,
            no_report=no_report,
        )
    )


@app.command("run")
def run_command(
    workbooks: list[Path] = typer.Argument(..., help="Workbook(s) or folder(s) of workbooks (processed in order)."),
    api_url: str | None = typer.Option(None, "--api-url", help=_API_URL_HELP),
    max_rate: str | None = _MAX_RATE,
    submit: bool = typer.Option(False, "--submit", help="Submit the GHG statement for verification."),
    json_out: bool = _JSON,
    report: Path | None = typer.Option(None, "--report", help="HTML report path (default: reports/...)."),
    concurrency: int = typer.Option(8, "--concurrency", min=1, max=64, help="Parallel requests."),
    quiet: bool = _QUIET,
    prune: bool = typer.Option(
        False,
        "--prune",
        help="Delete the objects under this workbook's supplier-reference "
        "prefix that it no longer defines (those that can be deleted).",
    ),
    replace: bool = _REPLACE,
    keep_orphans: bool = _KEEP_ORPHANS,
    update_only: bool = _UPDATE_ONLY,
    verbose: bool = _VERBOSE,
    no_report: bool = _NO_REPORT,
) -> None:
    """Validate, reconcile with the registry, and upload what is new or changed, in dependency order.

    Safe to re-run: objects are found again by their supplier_reference_id, never duplicated.
    Exit codes: 0 all created/updated/unchanged; 1 a row failed, was blocked or conflicts; 2 usage or API
    unreachable; 130 interrupted.

    Example: isometric-import run sample_workbooks/biochar-2026-10.xlsx
    """
    raise typer.Exit(
        _import_command(
            workbooks,
            mode="run",
            api_url=api_url,
            max_rate=max_rate,
            submit=submit,
            json_out=json_out,
            report=report,
            concurrency=concurrency,
            quiet=quiet,
            verbose=verbose,
            prune=prune,
            replace=replace,
            keep_orphans=keep_orphans,
            update_only=update_only,
            no_report=no_report,
        )
    )


@app.command(
    "apply", short_help="Carry out exactly a saved plan; refused, nothing sent, if anything it depends on changed."
)
def apply_command(
    saved: Path = typer.Argument(..., help="A plan saved by `isometric-import plan ... --out plan.json`."),
    api_url: str | None = typer.Option(None, "--api-url", help=_API_URL_HELP),
    max_rate: str | None = _MAX_RATE,
    json_out: bool = _JSON,
    report: Path | None = typer.Option(None, "--report", help="HTML report path (default: reports/...)."),
    concurrency: int = typer.Option(8, "--concurrency", min=1, max=64, help="Parallel requests."),
    quiet: bool = _QUIET,
    keep_orphans: bool = _KEEP_ORPHANS,
    update_only: bool = _UPDATE_ONLY,
    verbose: bool = _VERBOSE,
    no_report: bool = _NO_REPORT,
) -> None:
    """Carry out exactly a saved plan; refused, nothing sent, when the workbook, its evidence files, the
    project's templates or the registry changed since the plan was made (it says what changed).

    Example: isometric-import apply plan.json
    """
    raise typer.Exit(
        _import_command(
            [],
            mode="run",
            api_url=api_url,
            max_rate=max_rate,
            submit=False,
            json_out=json_out,
            report=report,
            concurrency=concurrency,
            quiet=quiet,
            verbose=verbose,
            saved=saved,
            keep_orphans=keep_orphans,
            update_only=update_only,
            no_report=no_report,
        )
    )


@app.command("history", short_help="List recorded runs and rollbacks, newest first, one block per run.")
def history_command(
    json_out: bool = typer.Option(False, "--json", help="JSON on stdout."),
) -> None:
    """List recorded runs and rollbacks, newest first: one block per run, its ID on a line of its own (never
    wrapped, at any width or piped), then the workbook, where it went, the outcome, the rows created and the
    report.

    Example: isometric-import history
    """
    import json
    import sys
    from dataclasses import asdict

    from importer import library
    from importer.output import console, shown_path

    runs = library.runs()
    if json_out:
        from importer.terminal_text import echo

        echo(json.dumps([{**asdict(r), "rows_created": _rows_created(r.counts)} for r in runs], indent=2))
        return
    out = console(sys.stdout)
    if not runs:
        out.print("no runs recorded yet")
        return
    for r in runs:
        started = r.started_at[:19].replace("T", " ")
        out.print(f"{r.run_id}  {r.mode}  {r.outcome or 'unfinished'}  {started} UTC", markup=False, soft_wrap=True)
        lines = [
            ("workbook", f"{Path(r.workbook).name}  (sha256 {r.workbook_sha256[:12]})"),
            ("api", f"{library.environment_label(r.api_url, embedded=r.embedded_sandbox)}  {r.api_url}"),
        ]
        if r.mode == "rollback":
            done = {k: v for k, v in r.counts.items() if k != "rollback_of" and isinstance(v, int)}
            lines.append(
                (
                    "rolled back",
                    f"run {r.counts.get('rollback_of', '?')}: "
                    + (", ".join(f"{n} {k}" for k, n in done.items()) or "nothing"),
                )
            )
        else:
            lines.append(("created", f"{_rows_created(r.counts)} row(s), {r.created} object(s) a rollback deletes"))
        lines.append(("report", shown_path(r.report) if r.report else "-"))
        for label, text in lines:
            out.print(f"  {label:<11} {text}", markup=False, soft_wrap=True)
        out.print("")


def _rows_created(counts: Mapping[str, object]) -> int:
    """What the run's summary calls created: every row whose outcome was `created` (attributions included)."""
    return sum(int(by.get("created", 0)) for by in counts.values() if isinstance(by, dict))


@app.command(
    "rollback", short_help="Delete what a run created, as `terraform destroy` does: plan, confirm, total, report."
)
def rollback_command(
    run_id: str = typer.Argument(..., help="A run id from `isometric-import history`."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would be deleted; delete nothing, ask nothing."),
    yes: bool = typer.Option(False, "--yes", help="Delete without asking (required when stdin is not a terminal)."),
    json_out: bool = typer.Option(False, "--json", help="JSON on stdout."),
    api_url: str | None = typer.Option(None, "--api-url", help=_API_URL_HELP),
    max_rate: str | None = _MAX_RATE,
) -> None:
    """Delete the objects a run created, newest first, as `terraform destroy` does: the plan of deletions and
    its target first, then `yes` typed at the terminal (or --yes), then a total, an entry in the history and a
    report. Refused if any object is in a submitted GHG statement.

    Example: isometric-import rollback 20261124T101500Z-1a2b3c --dry-run
    """
    import json
    import sys

    from importer import library
    from importer.output import console
    from importer.terminal_text import echo

    out = console(sys.stderr if json_out else sys.stdout)
    try:
        target = library.target(api_url, max_rate=max_rate)
    except library.ImporterError as exc:
        out.print(f"error: {exc}", markup=False)
        raise typer.Exit(_exit_code(exc.verdict)) from exc
    asked: dict[str, str] = {}

    def confirm(outcome: RollbackOutcome) -> bool:
        _print_rollback_plan(out, outcome, dry_run=False)
        pending = sum(1 for i in outcome.items if i.status == "pending")
        if yes:
            return True
        if not sys.stdin.isatty():
            asked["refused"] = (
                f"rollback deletes {pending} object(s) from {outcome.environment} "
                f"({outcome.api_url}): pass --yes to confirm (stdin is not a terminal)"
            )
            return False
        out.print(f"Delete these {pending} object(s) from {outcome.environment}? Only 'yes' is accepted.", markup=False)
        asked["answer"] = input("  Enter a value: ").strip()
        return asked["answer"] == "yes"

    outcome = library.rollback(run_id, where=target, dry_run=dry_run, confirm=confirm)
    codes = {"ok": EXIT_OK, "failed": EXIT_FAILED, "usage": EXIT_USAGE, "cancelled": EXIT_FAILED}
    code = EXIT_USAGE if "refused" in asked else codes[outcome.verdict]
    if json_out:
        echo(json.dumps(outcome.to_json(), indent=2))
    if outcome.refused:
        out.print(f"{'error' if outcome.verdict == 'usage' else 'refused'}: {outcome.refused}", markup=False)
        raise typer.Exit(code)
    if dry_run or not outcome.confirmed:
        if dry_run:
            _print_rollback_plan(out, outcome, dry_run=True)
            out.print("dry run: nothing was deleted", markup=False)
        elif "refused" in asked:
            out.print(f"error: {asked['refused']}; nothing was deleted", markup=False)
        elif not any(i.status == "pending" for i in outcome.items):
            _print_rollback_plan(out, outcome, dry_run=True)
            out.print("nothing to roll back: the run created nothing that still exists", markup=False)
        else:
            out.print("Rollback cancelled: nothing was deleted.", markup=False)
        raise typer.Exit(code)
    for item in outcome.items:
        out.print(
            f"  {item.status:<13} {item.obj.kind.replace('_', ' '):<21} {item.obj.object_id}"
            + (f"  ({item.message})" if item.message and item.status != "deleted" else ""),
            markup=False,
        )
    counts = outcome.counts()
    summary = ", ".join(f"{n} {status}" for status, n in counts.items() if status != "pending")
    out.print(
        f"{'Rollback complete' if outcome.verdict == 'ok' else 'Rollback incomplete'}: {summary} "
        f"({outcome.environment}, {outcome.api_url})",
        markup=False,
    )
    out.print(f"recorded in the history as {outcome.rollback_id}; report: {outcome.report}", markup=False)
    raise typer.Exit(code)


def _print_rollback_plan(out: Console, outcome: RollbackOutcome, *, dry_run: bool) -> None:
    """Terraform's shape: the target, one line per object (- delete, = keep), then the totals."""
    out.print(f"Rollback of run {outcome.run_id} ({Path(outcome.workbook).name})", markup=False)
    out.print(f"target: {outcome.environment}, {outcome.api_url}", markup=False)
    for item in outcome.items:
        sign, verb = ("-", "would delete" if dry_run else "delete") if item.status == "pending" else ("=", item.status)
        out.print(
            f"  {sign} {verb:<13} {item.obj.kind.replace('_', ' '):<21} {item.obj.object_id}"
            + (f"  ({item.message})" if item.message else ""),
            markup=False,
        )
    counts = outcome.counts()
    pending = counts.pop("pending", 0)
    rest = "".join(f", {n} {status}" for status, n in counts.items())
    out.print(f"Plan: {pending} to delete{rest}.", markup=False)


@app.command("template", short_help="Generate the workbook a field team fills in, with explanations and dropdowns.")
def template_command(
    out_path: Path = typer.Argument(..., help="Where to write the workbook (.xlsx)."),
    project_id: str | None = typer.Option(
        None, "--project-id", help="Project to read templates from (default: the only project the credentials see)."
    ),
    templates: list[str] = typer.Option(
        [], "--template", help="A template's name or rvt_ ID (repeatable; default: all of the project's templates)."
    ),
    api_url: str | None = typer.Option(None, "--api-url", help=_API_URL_HELP),
) -> None:
    """Generate the workbook a field team fills in: every sheet and header, explanations, dropdowns, and the
    monitored inputs of the project's templates pre-listed.

    Example: isometric-import template october.xlsx --template "Monthly production batch"
    """
    import sys

    from importer import library
    from importer.output import console, sandbox_banner

    out = console(sys.stdout)
    if out_path.exists() or out_path.is_symlink():
        # a slip of tab completion naming last month's filled-in workbook must not turn it into an empty one
        out.print(
            f"error: {out_path} already exists: `template` writes a new, empty workbook and never replaces a "
            "file; give a new name (or move the file away first). Nothing was written",
            markup=False,
        )
        raise typer.Exit(EXIT_USAGE)
    try:
        target = library.target(api_url)
    except library.ImporterError as exc:
        out.print(f"error: {exc}", markup=False)
        raise typer.Exit(_exit_code(exc.verdict)) from exc
    made = library.template(out_path, where=target, project_id=project_id, templates=templates)
    if made.embedded:
        sandbox_banner(out, made.sandbox_db)
    if made.problem:
        out.print(f"error: {made.problem}", markup=False)
        raise typer.Exit(_exit_code(made.verdict))
    out.print(
        f"wrote {out_path} for project {made.project_id} with {len(made.templates)} template(s): "
        + ", ".join(made.templates),
        markup=False,
    )


@app.command("sandbox")
def sandbox_command(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on (keep it on loopback)."),
    port: int = typer.Option(8765, "--port", help="Port to listen on."),
    db: Path | None = typer.Option(
        None, "--db", help="SQLite file holding the sandbox's state (default: the importer's data folder)."
    ),
    latency_ms: float = typer.Option(0, "--latency-ms", min=0, help="Delay added to every API request."),
    fault_rate: float = typer.Option(
        0.0,
        "--fault-rate",
        min=0.0,
        max=1.0,
        help="Share of requests that fail: 429, 500, 503, dropped, slow or lost-response, mixed.",
    ),
    seed: int | None = typer.Option(None, "--seed", help="Seed of the fault draws (reproducible runs)."),
    upload_ttl: float = typer.Option(3600, "--upload-ttl", help="Seconds a signed upload URL stays valid."),
    budget: float | None = typer.Option(None, "--budget", help="Requests per second per endpoint before 429."),
    budget_global: bool = typer.Option(
        False,
        "--budget-global/--budget-per-endpoint",
        help="Whether --budget counts all API requests together, or each endpoint's on its own.",
    ),
    rate_headers: bool = typer.Option(
        False,
        "--rate-headers/--no-rate-headers",
        help="Send the IETF draft's RateLimit-Policy and RateLimit headers with every answer under --budget.",
    ),
    feedstock_type: list[str] = typer.Option(
        [],
        "--feedstock-type",
        help="Add a feedstock type of this name (repeatable), as the Certify UI would: the API creates none.",
    ),
) -> None:
    """Serve the local Isometric sandbox in the foreground (Ctrl-C to stop).

    Example: isometric-import sandbox --port 8765 --latency-ms 50 --fault-rate 0.1 --seed 1
    """
    from importer import library
    from importer.terminal_text import echo

    try:
        serving = library.sandbox_serving(host, port, db)
    except library.ImporterError as exc:
        echo(f"error: {exc.message}", err=True)
        raise typer.Exit(_exit_code(exc.verdict)) from exc
    echo(f"Isometric local sandbox: {serving.url}")
    echo(f"database: {serving.db}")
    echo(f"client secret: {serving.client_secret}")
    echo(f"access token: {serving.access_token}")
    echo(
        "(demo credentials of the local sandbox only; export them as ISOMETRIC_CLIENT_SECRET and "
        "ISOMETRIC_ACCESS_TOKEN, with ISOMETRIC_API_URL set to the URL above)",
        err=True,
    )
    library.serve_sandbox(
        host,
        port,
        serving,
        seed=seed,
        latency_ms=latency_ms,
        fault_rate=fault_rate,
        upload_ttl=upload_ttl,
        budget=budget,
        budget_global=budget_global,
        rate_headers=rate_headers,
        feedstock_types=feedstock_type,
    )


def main() -> None:
    """Entry point: no command ever ends in a raw traceback; `--debug` shows one, redacted."""
    import sys
    import traceback

    from importer.redaction import redact
    from importer.report.paths import mark_command_start
    from importer.terminal_text import echo

    mark_command_start()  # the reports' duration is the command's, as its user waited for it
    try:
        app()
    except SystemExit as done:
        if _STATE["exit_without_teardown"]:
            # `validate` is finished and everything it printed or wrote is flushed below; what is left is freeing
            # the workbook's rows one object at a time (0.3 s for 100k rows), which nobody waits for usefully
            import logging
            import os

            sys.stdout.flush()
            sys.stderr.flush()
            logging.shutdown()
            os._exit(done.code if isinstance(done.code, int) else EXIT_USAGE)
        raise
    except KeyboardInterrupt:
        echo("interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except Exception as exc:  # the last line of defence: say what happened, in plain words
        if _STATE["debug"]:
            echo(redact("".join(traceback.format_exception(exc))), err=True)
        echo(
            redact(f"internal error: {type(exc).__name__}: {exc}") + " (run again with --debug for the "
            "traceback, and report it)",
            err=True,
        )
        sys.exit(EXIT_USAGE)


if __name__ == "__main__":
    main()
