"""The importer as a library: `validate`, `plan`, `apply` and `run` (plan + apply in one step), with the API
target and credentials passable in code. Everything that makes an import safe happens here, not in the CLI:
the batch checks (unique supplier references, statement periods in order without overlap or gap), the
per-project lock, the run history, saved plans and their fingerprints. The CLI only parses, calls and prints.

How things ended is a `Verdict` (`importer.stops`), never an exit code: the command line alone maps one to the
other. The importer's own stops raise `ImporterError` subclasses carrying their verdict.

    import importer

    outcome = importer.run(["october.xlsx"])            # the embedded sandbox unless a URL is given
    for result in outcome.results:
        print(result.ok, result.counts()["ghg_entry"])
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from importer import process_wide
from importer.findings import Finding
from importer.stops import ImporterError, Verdict
from importer.workbook.reader import WORKBOOK_SUFFIXES
from importer.workbook.validate import ValidationResult, WorkbookUnreadable, validate_workbook

if TYPE_CHECKING:  # planning, settings (and with them the API client) are imported when needed, not to validate
    from importer.applying import Progress
    from importer.context import ProjectContext
    from importer.history import RunRecord
    from importer.inputs import Inputs
    from importer.planning.model import Plan
    from importer.results import RunResult
    from importer.rollback import RollbackItem
    from importer.runner import ApiSession, ImportOptions
    from importer.settings import ApiTarget


@dataclass
class Stopped:
    """A workbook (or the whole batch) that stopped before anything was sent, and why."""

    workbook: str
    message: str
    verdict: Verdict
    findings: list[Finding] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            "ok": False,
            "workbook": self.workbook,
            "stopped": self.message,
            "errors": [f.to_json() for f in self.findings if f.severity == "error"],
            "warnings": [f.to_json() for f in self.findings if f.severity == "warning"],
        }


@dataclass
class BatchOutcome:
    """What `plan`, `apply` or `run` did for each workbook, in batch order."""

    mode: str
    validations: list[ValidationResult] = field(default_factory=list)
    results: list[RunResult] = field(default_factory=list)
    stopped: list[Stopped] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # batch-level refusals (nothing was sent)
    verdict: Verdict = Verdict.OK  # the worst of the workbooks' and the batch's

    @property
    def ok(self) -> bool:
        return self.verdict is Verdict.OK

    def worsen(self, verdict: Verdict) -> None:
        """Take `verdict` into the batch's: the more serious of the two stays."""
        self.verdict = self.verdict.worst(verdict)

    @property
    def plans(self) -> list[Plan]:
        return [r.plan for r in self.results if r.plan is not None]

    def to_json(self) -> dict[str, object]:
        if len(self.results) == 1 and not self.stopped and not self.problems:
            return self.results[0].to_json()
        out: dict[str, object] = {
            "ok": self.ok,
            "workbooks": [r.to_json() for r in self.results] + [s.to_json() for s in self.stopped],
        }
        if self.problems:  # the first says what was refused, the others why
            out["stopped"] = self.problems[0]
            out["problems"] = self.problems[1:] or self.problems[:1]
        return out


def target(
    api_url: str | None = None,
    *,
    client_secret: str | None = None,
    access_token: str | None = None,
    max_rate: str | None = None,
) -> ApiTarget:
    """Where to send requests: given in code, else the environment (ISOMETRIC_API_URL and credentials), else
    the embedded local sandbox; `max_rate`, the requests a second never exceeded ("2", "120/min"; else, when the
    credentials are not given here either, ISOMETRIC_MAX_RATE). Raises SettingsError when a URL lacks credentials
    or carries `user:pass@`, or the rate is not one."""
    from importer.settings import ApiTarget, SettingsError, api_target, parse_rate, url_credentials_problem

    if client_secret or access_token:
        if not (api_url and client_secret and access_token):
            raise SettingsError("give api_url, client_secret and access_token together")
        problem = url_credentials_problem(api_url)
        if problem:
            raise SettingsError(problem)
        rate = None if max_rate is None else parse_rate(max_rate, "max_rate")
        return ApiTarget(
            url=api_url.strip().rstrip("/"), client_secret=client_secret, access_token=access_token, max_rate=rate
        )
    return api_target(api_url, max_rate)


class UnreadableWorkbook(ImporterError, WorkbookUnreadable):
    """A file that cannot be read as a workbook at all (`path`): a refusal, nothing was checked. Still the
    WorkbookUnreadable it always was, for callers that catch that."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(message)
        self.path = path


def validate(path: str | Path, *, typed_rows: bool = True) -> ValidationResult:
    """Offline validation of one workbook, every finding located to its cell. Raises UnreadableWorkbook.
    `typed_rows=False` checks the rows alike without building `ValidationResult.workbook` (for a caller that
    reports the findings and nothing more)."""
    try:
        return validate_workbook(Path(path), typed_rows=typed_rows)
    except WorkbookUnreadable as exc:
        raise UnreadableWorkbook(Path(path), exc.message) from exc


def collector_off() -> Callable[[], None]:
    """The cyclic garbage collector off until the function returned is called, which gives it back as it was
    without the scan turning it on would cost (`importer.process_wide.collector_off`): for a caller validating
    big workbooks whose results it holds until it ends."""
    return process_wide.collector_off()


def expand(
    paths: Sequence[str | Path],
    *,
    refused: list[tuple[Path, str]] | None = None,
    ignored: list[tuple[Path, str]] | None = None,
) -> list[Path]:
    """Folders become their workbooks (sorted); duplicates removed. No other entry of a folder is dropped
    unsaid: each is added to `refused` with why it cannot be imported (an .ods, .xls, .csv, .xlsb or any other
    file), or to `ignored` with why it is no workbook at all (lock files of an open workbook, hidden files,
    sub-folders). Files named one by one are returned as given (reading them says what is wrong)."""
    refused = [] if refused is None else refused
    ignored = [] if ignored is None else ignored
    kinds = {
        ".ods": "OpenDocument spreadsheet",
        ".fods": "OpenDocument spreadsheet",
        ".xls": "Excel 97-2003 workbook",
        ".xlsb": "Excel binary workbook",
        ".xltx": "Excel template",
        ".xltm": "Excel template",
        ".numbers": "Numbers spreadsheet",
        ".csv": "CSV text, not a workbook",
        ".tsv": "text, not a workbook",
    }
    out: list[Path] = []
    for item in map(Path, paths):
        if not item.is_dir():
            out.append(item)
            continue
        for p in sorted(item.iterdir()):
            name, suffix = p.name, p.suffix.lower()
            if name.startswith("~$") or (name.startswith(".~lock.") and name.endswith("#")):
                ignored.append((p, "the lock file of a workbook open in Excel or LibreOffice, not a workbook"))
            elif name.startswith("."):
                ignored.append((p, f"a hidden {'folder' if p.is_dir() else 'file'}"))
            elif p.is_dir():
                ignored.append((p, "a folder: folders inside a batch folder are not searched"))
            elif name.lower() in ("thumbs.db", "desktop.ini"):
                ignored.append((p, "a file Windows keeps in folders"))
            elif suffix in WORKBOOK_SUFFIXES:
                out.append(p)
            elif suffix in kinds:
                refused.append((p, f"{suffix} ({kinds[suffix]}) is not supported: save it as .xlsx"))
            else:
                refused.append(
                    (
                        p,
                        f"not a workbook ({suffix or 'no extension'}): only "
                        f"{' and '.join(WORKBOOK_SUFFIXES)} files are imported",
                    )
                )
    seen: set[Path] = set()
    unique = []
    for p in out:
        if p.resolve() not in seen:
            seen.add(p.resolve())
            unique.append(p)
    return unique


# -- batch checks ------------------------------------------------------------------------------------------


def reference_clashes(validations: list[ValidationResult]) -> list[str]:
    """supplier_reference_id must be unique across the workbooks of a batch."""
    from importer.identity import workbook_references

    seen: dict[str, str] = {}
    clashes = []
    for r in validations:
        assert r.workbook is not None
        for sheet, row, srid in workbook_references(r.workbook):
            where = f"{r.path.name} {sheet} row {row}"
            if srid in seen and not seen[srid].startswith(r.path.name + " "):
                clashes.append(f"supplier_reference_id {srid!r} is used by {seen[srid]} and {where}")
            seen.setdefault(srid, where)
    return clashes


def order_batch(results: list[ValidationResult]) -> list[ValidationResult]:
    """Monthly workbooks in the order their statements must be created: by statement end, then name
    (workbooks without a statement last). A folder lists `november.xlsx` before `october.xlsx`."""
    import datetime as dt

    return sorted(
        results,
        key=lambda r: (
            r.workbook.project.statement_end_on or dt.date.max,  # type: ignore[union-attr]
            r.path.name,
        ),
    )


def batch_statement_problems(results: list[ValidationResult]) -> list[str]:
    """Per project, consecutive workbooks' statements must neither overlap (the same end, or an entry
    completing inside the previous workbook's period) nor leave whole months without a workbook between them."""
    import datetime as dt

    from importer.online import month_name, whole_months

    problems: list[str] = []
    by_project: dict[str, list[ValidationResult]] = {}
    for r in results:
        assert r.workbook is not None
        if r.workbook.project.statement_end_on is not None:
            by_project.setdefault(r.workbook.project.project_id, []).append(r)
    for group in by_project.values():
        for previous, current in zip(group, group[1:], strict=False):
            assert previous.workbook is not None and current.workbook is not None
            prev_end = previous.workbook.project.statement_end_on
            end = current.workbook.project.statement_end_on
            assert prev_end is not None and end is not None
            if end == prev_end:
                problems.append(
                    f"{previous.path.name} and {current.path.name} both end their GHG statement on "
                    f"{end}: their periods overlap"
                )
                continue
            for entry in current.workbook.entries:
                if entry.completed_on <= prev_end:
                    problems.append(
                        f"{current.path.name} entries row {entry.row} ({entry.ref}) completes on "
                        f"{entry.completed_on}, inside the period of {previous.path.name} (to "
                        f"{prev_end}): it would land in the earlier statement"
                    )
            completions = [e.completed_on for e in current.workbook.entries if e.completed_on > prev_end]
            if completions:
                start = prev_end + dt.timedelta(days=1)
                first = min(completions)
                gap = whole_months(start, dt.date(first.year, first.month, 1) - dt.timedelta(days=1))
                if gap:
                    problems.append(
                        f"between {previous.path.name} (statement to {prev_end}) and {current.path.name} "
                        f"(first entry completes {first}) no workbook covers "
                        f"{', '.join(month_name(*m) for m in gap)}: {current.path.name}'s statement "
                        f"would start on {start} and hold those months empty"
                    )
    return problems


def validate_batch(paths: Sequence[str | Path], outcome: BatchOutcome) -> list[ValidationResult] | None:
    """Validate every workbook, then the batch checks; None (with `outcome` saying why) when anything stops
    the batch before a request is sent."""
    workbooks = expand(paths)
    if not workbooks:
        outcome.problems.append("no workbook given (a folder must hold .xlsx files)")
        outcome.worsen(Verdict.REFUSED)
        return None
    for path in workbooks:
        try:
            outcome.validations.append(validate_workbook(path))
        except WorkbookUnreadable as exc:
            outcome.stopped.append(Stopped(str(path), exc.message, Verdict.REFUSED))
            outcome.worsen(Verdict.REFUSED)
            return None
    bad = [r for r in outcome.validations if not r.ok]
    if bad:
        for r in bad:
            outcome.stopped.append(
                Stopped(str(r.path), f"{len(r.errors())} error(s); nothing was sent", Verdict.FAILED, r.findings)
            )
        outcome.worsen(Verdict.FAILED)
        return None
    clashes = reference_clashes(outcome.validations)
    if clashes:
        outcome.problems = [
            "supplier_reference_id must be unique across the workbooks of a batch; nothing was sent",
            *clashes,
        ]
        outcome.worsen(Verdict.FAILED)
        return None
    ordered = order_batch(outcome.validations)
    problems = batch_statement_problems(ordered)
    if problems:
        outcome.problems = [
            "the workbooks' GHG statements would overlap or leave a gap; nothing was sent (import "
            "them separately if that is meant)",
            *problems,
        ]
        outcome.worsen(Verdict.FAILED)
        return None
    outcome.validations = ordered
    return ordered


# -- plan, apply, run ----------------------------------------------------------------------------------------

#: what `progress` gives for each workbook as it starts: its progress display (closed, when it has `close`, as the
#: workbook ends), or None
ProgressFactory = Callable[[], "Progress | None"]


@contextmanager
def _session(where: ApiTarget | None, cancel: threading.Event | None = None) -> Iterator[ApiSession]:
    from importer.runner import api_session
    from importer.settings import api_target

    with api_session(where or api_target(None), cancel=cancel) as session:
        yield session


def _import(
    mode: str,
    paths: Sequence[str | Path],
    *,
    where: ApiTarget | None,
    submit: bool,
    prune: bool,
    replace: bool,
    keep_orphans: bool,
    update_only: bool,
    concurrency: int,
    cancel: threading.Event | None,
    progress: ProgressFactory | None,
    session: ApiSession | None = None,
) -> BatchOutcome:
    from importer.runner import ImportOptions

    outcome = BatchOutcome(mode=mode)
    validations = validate_batch(paths, outcome)
    if validations is None:
        return outcome
    options = ImportOptions(
        mode=mode,
        submit=submit,
        concurrency=concurrency,
        cancel=cancel or threading.Event(),
        prune=prune,
        replace=replace,
        keep_orphans=keep_orphans,
        update_only=update_only,
    )
    _import_batch(validations, options, outcome, progress, where=where, session=session)
    return outcome


def _import_batch(
    validations: list[ValidationResult],
    options: ImportOptions,
    outcome: BatchOutcome,
    progress: ProgressFactory | None,
    *,
    where: ApiTarget | None,
    session: ApiSession | None = None,
    saved: SavedPlanBundle | None = None,
) -> None:
    """The one path of `plan`, `run` and `apply`: open the API (unless a session is given), then each workbook
    in batch order (`_each`); an API that cannot be used at all stops the batch, said in `outcome.problems`. A
    `saved` plan's workbooks apply their saved plans, once the file is known not to have been edited since."""
    from importer.api import ApiError

    try:
        if session is not None:
            _each(validations, session, options, outcome, progress, saved)
        else:
            with _session(where, options.cancel) as opened:
                _each(validations, opened, options, outcome, progress, saved)
    except ApiError as exc:
        outcome.problems.append(f"the API could not be used: {exc.message}")
        outcome.worsen(Verdict.REFUSED)


def _each(
    validations: list[ValidationResult],
    session: ApiSession,
    options: ImportOptions,
    outcome: BatchOutcome,
    progress: ProgressFactory | None,
    saved: SavedPlanBundle | None = None,
) -> None:
    """Plan (and apply) each workbook in batch order, under the project's lock, recorded in the history."""
    from importer.history import History, LocalStateError
    from importer.locking import LockedByAnotherRun, project_lock
    from importer.runner import ImportAborted, history_path, import_workbook, lock_folder

    if saved is not None and saved.tampered:  # refused whatever else holds; the re-plan names what was edited
        outcome.problems = [
            "the saved plan was edited after it was saved: nothing was sent; run `plan` again and have it approved",
            *saved.tampered,
            *_edits(saved.plans, validations, session, options),
        ]
        outcome.worsen(Verdict.FAILED)
        return
    try:
        history = History(history_path()) if options.mode == "run" else None
    except LocalStateError as exc:
        outcome.stopped.append(Stopped("(all)", str(exc), exc.verdict))
        outcome.worsen(exc.verdict)
        return
    knowledge = history
    if knowledge is None:  # a plan only reads what earlier runs learned (and adds to it); it can do without
        try:
            knowledge = History(history_path())
        except LocalStateError:
            knowledge = None
    with process_wide.long_lived() as settle:
        for index, validation in enumerate(validations):
            settle()  # what the workbooks before left (results, carried listings) is long-lived
            wb = validation.workbook
            assert wb is not None  # validate_batch let only valid workbooks through
            meter = progress() if progress else None
            plan_value = saved.plans[index] if saved is not None else None
            try:
                if options.mode == "run":
                    with project_lock(lock_folder(), wb.project.project_id, workbook=str(wb.path)):
                        result = import_workbook(
                            validation, session, options, progress=meter, history=history, saved=plan_value
                        )
                else:
                    result = import_workbook(validation, session, options, progress=meter, history=knowledge)
            except (ImportAborted, LockedByAnotherRun, LocalStateError) as exc:
                verdict = exc.verdict if isinstance(exc, ImporterError) else Verdict.REFUSED
                findings = exc.findings if isinstance(exc, ImportAborted) else []
                outcome.stopped.append(Stopped(str(wb.path), exc.message, verdict, list(findings)))
                outcome.worsen(verdict)
                if isinstance(exc, LocalStateError):
                    return
                continue
            finally:
                if meter is not None and hasattr(meter, "close"):
                    meter.close()
            outcome.results.append(result)
            if result.interrupted:
                outcome.worsen(Verdict.INTERRUPTED)
                return
            if result.stopped:
                outcome.worsen(Verdict.REFUSED)
                return
            if not result.ok:
                outcome.worsen(Verdict.FAILED)


def plan(
    paths: Sequence[str | Path],
    *,
    where: ApiTarget | None = None,
    submit: bool = False,
    prune: bool = False,
    replace: bool = False,
    concurrency: int = 8,
    progress: ProgressFactory | None = None,
) -> BatchOutcome:
    """What a run would do, workbook by workbook; nothing is written. `outcome.plans` are the Plan values
    (save them with `save_plans`)."""
    return _import(
        "plan",
        paths,
        where=where,
        submit=submit,
        prune=prune,
        replace=replace,
        keep_orphans=False,
        update_only=False,
        concurrency=concurrency,
        cancel=None,
        progress=progress,
    )


def run(
    paths: Sequence[str | Path],
    *,
    where: ApiTarget | None = None,
    submit: bool = False,
    prune: bool = False,
    replace: bool = False,
    keep_orphans: bool = False,
    update_only: bool = False,
    concurrency: int = 8,
    cancel: threading.Event | None = None,
    progress: ProgressFactory | None = None,
) -> BatchOutcome:
    """Plan and apply in one step, workbook by workbook (safe to re-run: objects are found again by their
    supplier_reference_id, never duplicated)."""
    return _import(
        "run",
        paths,
        where=where,
        submit=submit,
        prune=prune,
        replace=replace,
        keep_orphans=keep_orphans,
        update_only=update_only,
        concurrency=concurrency,
        cancel=cancel,
        progress=progress,
    )


@dataclass
class SavedPlanBundle:
    """A saved plan file's plans, in batch order, and how the file was edited after it was saved (empty: not)."""

    plans: list[Plan]
    tampered: list[str]


def apply(
    saved: str | Path,
    *,
    where: ApiTarget | None = None,
    keep_orphans: bool = False,
    update_only: bool = False,
    concurrency: int = 8,
    cancel: threading.Event | None = None,
    progress: ProgressFactory | None = None,
) -> BatchOutcome:
    """Carry out exactly the plans saved by `plan --out`, refusing (nothing sent) when the file was edited after
    it was saved, or when a workbook, an evidence file, the project's templates or the registry changed since,
    or when any value of a saved plan differs from what its inputs give now: `outcome.problems` says what.
    Each workbook takes the path of `run`, its saved plan checked against and applied in place of a new one."""
    from importer.planning import saved as saved_plans
    from importer.runner import ImportOptions

    outcome = BatchOutcome(mode="run")
    try:
        bundle = saved_plans.load(Path(saved))
    except saved_plans.SavedPlanError as exc:
        outcome.problems.append(str(exc))
        outcome.worsen(Verdict.REFUSED)
        return outcome
    changed = saved_plans.local_changes(bundle.plans)
    validations = validate_batch([p.workbook_path for p in bundle.plans], outcome) if not changed else None
    if changed or validations is None:
        outcome.problems = (
            ["the saved plan no longer matches: nothing was sent; run `plan` again", *changed]
            if changed
            else outcome.problems
        )
        outcome.worsen(Verdict.FAILED)
        return outcome
    by_path = {str(p.workbook_path): p for p in bundle.plans}
    if len(by_path) != len(bundle.plans) or len(validations) != len(bundle.plans):
        outcome.problems = ["the saved plan names a workbook twice: nothing was sent; run `plan` again"]
        outcome.worsen(Verdict.FAILED)
        return outcome
    plans = [by_path[str(v.path)] for v in validations]
    options = ImportOptions(
        mode="run",
        submit=any(p.submit for p in plans),
        concurrency=concurrency,
        cancel=cancel or threading.Event(),
        keep_orphans=keep_orphans,
        update_only=update_only,
        prune=any(p.prune for p in plans),
        replace=any(p.replace for p in plans),
    )
    ordered = SavedPlanBundle(plans, saved_plans.tampering(bundle))
    _import_batch(validations, options, outcome, progress, where=where, saved=ordered)
    return outcome


def _edits(
    plans: list[Plan], validations: list[ValidationResult], session: ApiSession, options: ImportOptions
) -> list[str]:
    """For a tampered file: where each plan differs from the plan its inputs give now (nothing is sent)."""
    from importer.runner import ImportAborted, plan_workbook

    out = []
    for plan_value, validation in zip(plans, validations, strict=True):
        try:
            difference = plan_workbook(validation, session, options, saved=plan_value).difference
        except ImportAborted as exc:
            out.append(f"{plan_value.workbook_path}: {exc.message}")
            continue
        if difference:
            out.append(f"{plan_value.workbook_path}: {difference}")
    return out


# -- what goes with the commands: the inputs they must not overwrite, reports, saved plans, online checks --------


def inputs_of(workbooks: list[Path], saved: Path | None = None) -> Inputs:
    """Everything a command reads: the workbooks, the evidence files they name, a saved plan and what it names."""
    from importer import inputs

    return inputs.inputs_of(workbooks, saved)


def overwrites_input(outputs: list[tuple[str, Path | None]], inputs: Callable[[], Inputs]) -> str | None:
    """Why writing these outputs (what names each, its path) would destroy one of the `inputs` or another
    output, or None: a command checks its output paths with this before anything is written or sent."""
    from importer.inputs import overwrites_input

    return overwrites_input(outputs, inputs)


def sort_out_evidence(workbooks: list[Path], refused: list[tuple[Path, str]], ignored: list[tuple[Path, str]]) -> None:
    """A folder's file that one of its workbooks names as evidence is no refused workbook: `expand`'s `refused`
    entry moves, in place, to `ignored`, saying whose evidence it is."""
    from importer.inputs import sort_out_evidence

    sort_out_evidence(workbooks, refused, ignored)


def write_validation_reports(
    results: list[ValidationResult], *, report: Path | None, online: bool, inputs: Callable[[], Inputs]
) -> list[Path]:
    """The HTML validation report of each result (at `report`, else the reports folder's default name): the
    paths written. A report that cannot be written, or whose default path is one of the `inputs`, is a warning
    on stderr (the validation is unaffected)."""
    import datetime as dt

    from importer.report.paths import default_report_path
    from importer.report.render import strict_writes, warn_not_written
    from importer.report.validation_html import write_validation_report

    written: list[Path] = []
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    for result in results:
        target = report or default_report_path("validation", result.path, stamp)
        if report is None and overwrites_input([("the report", target)], inputs):
            warn_not_written(target, OSError("it is one of this command's inputs"))
            continue
        try:
            with strict_writes():
                written.append(write_validation_report(result, target, online=online))
        except OSError as exc:
            warn_not_written(target, exc, "; the validation itself is unaffected")
    return written


def annotate(result: ValidationResult, dest: Path) -> Path:
    """A copy of the result's workbook at `dest` with its error cells red and warnings amber, each with a
    comment (the original is never changed)."""
    from importer.workbook.annotate import annotate_workbook

    return annotate_workbook(result.path, result.findings, dest)


def write_reports(
    results: list[RunResult], *, report: Path | None, mode: str, inputs: Callable[[], Inputs] = list
) -> None:
    """The reports folder's files for these results of `plan` or `run` (`importer.report.files`), none
    overwriting one of the `inputs`; a run's report path is recorded in the run history."""
    import logging

    from importer.history import History, LocalStateError
    from importer.report.files import write_outputs
    from importer.report.paths import default_report_path
    from importer.runner import history_path

    first = results[0]
    path = report or default_report_path(mode, Path(first.workbook_path), first.run_id)

    def is_input(candidate: Path) -> str | None:
        return (
            "it is one of this command's inputs, left as it is"
            if overwrites_input([("a report file", candidate)], inputs)
            else None
        )

    write_outputs(results, report=path, mode=mode, is_input=is_input)
    if mode == "run" and first.report_path:  # the history says where each run's report is
        try:
            history = History(history_path())
            for result in results:
                history.record_report(result.run_id, str(Path(path).resolve()))
        except LocalStateError as exc:
            logging.getLogger(__name__).debug("report path not recorded: %s", exc)


def save_plans(plans: list[Plan], path: Path, *, api_url: str | None) -> Path:
    """Save plans (with fingerprints of the workbooks, their evidence and the registry) for `apply`."""
    from importer.planning import saved as saved_plans

    return saved_plans.save(plans, path, api_url=api_url)


@dataclass
class OnlineCheck:
    """Where `check_online` looked (the embedded sandbox, with its database, or not), and why it could not
    (`problem`: the API could not be used; nothing was checked)."""

    embedded: bool = False
    sandbox_db: Path | None = None
    problem: str | None = None

    @property
    def verdict(self) -> Verdict:
        return Verdict.REFUSED if self.problem else Verdict.OK


def check_online(results: list[ValidationResult], *, where: ApiTarget | None = None) -> OnlineCheck:
    """Add the live project's findings (templates, monitored inputs, shapes, units, statement) to each result
    that has typed rows, in place; a result with errors among them loses its rows (nothing may be imported)."""
    from importer.api import ApiError
    from importer.context import load_context
    from importer.online import check_against_project

    checked = OnlineCheck()
    try:
        with _session(where) as session:
            checked.embedded, checked.sandbox_db = session.embedded, session.sandbox_db
            contexts: dict[str, ProjectContext] = {}
            for result in results:
                if result.workbook is None:
                    continue
                pid = result.workbook.project.project_id
                if pid not in contexts:
                    contexts[pid] = load_context(session.client, pid)
                extra = check_against_project(result.workbook, contexts[pid])
                result.findings = sorted(result.findings + extra, key=lambda f: f.severity != "error")
                if any(f.severity == "error" for f in extra):
                    result.workbook = None
    except ApiError as exc:
        checked.problem = f"the API could not be used for --online: {exc.message}"
    return checked


# -- the fill-in workbook, the run history, the local sandbox --------------------------------------------------


@dataclass
class TemplateOutcome:
    """What `template` wrote (`path`, for `project_id`, with these templates' names), where it read the project
    (the embedded sandbox, with its database, or not), and why it wrote nothing (`problem`)."""

    path: Path
    project_id: str | None = None
    templates: list[str] = field(default_factory=list)
    embedded: bool = False
    sandbox_db: Path | None = None
    problem: str | None = None

    @property
    def verdict(self) -> Verdict:
        return Verdict.REFUSED if self.problem else Verdict.OK


def template(
    path: Path, *, where: ApiTarget | None = None, project_id: str | None = None, templates: Sequence[str] = ()
) -> TemplateOutcome:
    """Write the workbook a field team fills in for the project's templates (`templates`: names or rvt_ IDs;
    none: all of them), read from the project (`project_id`; None: the only project the credentials see)."""
    from importer.api import ApiError
    from importer.context import load_context
    from importer.workbook.template import build_template

    outcome = TemplateOutcome(path=path, project_id=project_id)
    try:
        with _session(where) as session:
            outcome.embedded, outcome.sandbox_db = session.embedded, session.sandbox_db
            if outcome.project_id is None:
                projects = session.client.list_projects()
                if len(projects) != 1:
                    names = ", ".join(f"{p.id} ({p.name})" for p in projects)
                    outcome.problem = (
                        f"the credentials see {len(projects)} projects; choose one with --project-id: {names}"
                    )
                    return outcome
                outcome.project_id = projects[0].id
            ctx = load_context(session.client, outcome.project_id)
    except ApiError as exc:
        outcome.problem = f"could not read project {outcome.project_id}: {exc.message}"
        return outcome
    chosen = ctx.templates
    if templates:
        chosen = []
        for name in templates:
            found = ctx.resolve_template(name)
            if found is None:
                hint = ctx.template_suggestion(name)
                outcome.problem = f"project {outcome.project_id} has no template {name!r}" + (
                    f"; did you mean {hint!r}?" if hint else ""
                )
                return outcome
            chosen.append(found)
    build_template(
        path,
        project_id=outcome.project_id,
        templates=chosen,
        blueprints=ctx.blueprints,
        feedstock_types=ctx.feedstock_types,
    )
    outcome.templates = [t.display_name for t in chosen]
    return outcome


def runs() -> list[RunRecord]:
    """The runs and rollbacks this machine's history records, newest first."""
    from importer.history import History
    from importer.runner import history_path

    return History(history_path()).runs()


def environment_label(url: str, *, embedded: bool) -> str:
    """What an API URL is: the embedded sandbox, a local server, Isometric's sandbox or production, or custom."""
    from importer import settings

    return settings.environment_label(url, embedded=embedded)


def sandbox_database() -> Path:
    """The embedded (and the served) sandbox's database file: $ISOMETRIC_SANDBOX_DB, else the data folder's."""
    from importer.settings import sandbox_db_path

    return sandbox_db_path()


@dataclass(frozen=True)
class SandboxServing:
    """Where `serve_sandbox` will listen, the database it keeps, and its demo credentials."""

    url: str
    db: Path
    client_secret: str
    access_token: str


def sandbox_serving(host: str, port: int, db: Path | None = None) -> SandboxServing:
    """Get the local sandbox ready to serve at host:port with its state in `db` (None: `sandbox_database()`).
    ImporterError when `db` is a file but not a SQLite database (a workbook or evidence file, say)."""
    from importer.sandbox import DEMO_ACCESS_TOKEN, DEMO_CLIENT_SECRET

    path = db or sandbox_database()
    if _not_a_database(path):
        raise ImporterError(
            f"--db {path} is a file but not a SQLite database (a workbook or evidence file?); the sandbox "
            "keeps its state in a database of its own: give a new path. Nothing was written"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    return SandboxServing(f"http://{host}:{port}/mrv/v0", path, DEMO_CLIENT_SECRET, DEMO_ACCESS_TOKEN)


def _not_a_database(path: Path) -> bool:
    """An existing, non-empty file that does not begin as every SQLite database does."""
    try:
        if not path.is_file() or path.stat().st_size == 0:
            return False
        with path.open("rb") as handle:
            return handle.read(16) != b"SQLite format 3\x00"
    except OSError:
        return False


def serve_sandbox(
    host: str,
    port: int,
    serving: SandboxServing,
    *,
    seed: int | None = None,
    latency_ms: float = 0,
    fault_rate: float = 0.0,
    upload_ttl: float = 3600,
    budget: float | None = None,
    budget_global: bool = False,
    rate_headers: bool = False,
    feedstock_types: Sequence[str] = (),
) -> None:
    """Serve the local sandbox in the foreground until interrupted, with these faults and budgets."""
    from importer.sandbox import FaultConfig, serve

    faults = FaultConfig(
        seed=seed,
        latency_ms=latency_ms,
        fault_rate=fault_rate,
        upload_url_ttl_seconds=upload_ttl,
        budget_per_second=budget,
        rate_headers=rate_headers,
        budget_scope="global" if budget_global else "endpoint",
    )
    serve(host, port, serving.db, faults, tuple(feedstock_types))


#: how a rollback ended: deleted what it meant to (ok), refused or some deletes failed (failed), could not look
#: (usage: no such run, another API), or not confirmed (cancelled)
RollbackVerdict = Literal["ok", "failed", "usage", "cancelled"]


@dataclass
class RollbackOutcome:
    """What `rollback` looked at and did: the run rolled back, where (`environment`: the embedded sandbox, a
    local server, Isometric's sandbox or PRODUCTION), each object with its status, and whether it went ahead."""

    run_id: str
    workbook: str = ""
    api_url: str = ""
    environment: str = ""
    items: list[RollbackItem] = field(default_factory=list)  # in deletion order
    dry_run: bool = False
    confirmed: bool = False  # the deletions were carried out (confirmed, or --yes)
    refused: str | None = None  # why nothing was looked at or deleted
    verdict: RollbackVerdict = "ok"
    report: str | None = None
    rollback_id: str | None = None  # the rollback's own entry in the run history

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for item in self.items:
            out[item.status] = out.get(item.status, 0) + 1
        return out

    def to_json(self) -> dict[str, object]:
        return {
            "run_id": self.run_id,
            "rollback_id": self.rollback_id,
            "workbook": self.workbook,
            "api": {"url": self.api_url, "environment": self.environment},
            "dry_run": self.dry_run,
            "confirmed": self.confirmed,
            "refused": self.refused,
            "verdict": self.verdict,
            "counts": self.counts(),
            "report": self.report,
            "objects": [
                {
                    "kind": i.obj.kind,
                    "id": i.obj.object_id,
                    "supplier_reference_id": i.obj.supplier_reference_id,
                    "status": i.status,
                    "message": i.message,
                }
                for i in self.items
            ],
        }


def rollback(
    run_id: str,
    *,
    where: ApiTarget | None = None,
    dry_run: bool = False,
    confirm: Callable[[RollbackOutcome], bool] | None = None,
    report: Path | None = None,
) -> RollbackOutcome:
    """Delete what run `run_id` created, newest first, as `terraform destroy` does: look (under the project's
    lock), then ask `confirm` with the plan of deletions and where they go (no `confirm`: go ahead, as `--yes`),
    then delete, record the rollback in the run history and write its HTML report. `dry_run` looks only."""
    import datetime as dt
    import secrets

    from importer.history import History
    from importer.report.paths import reports_dir
    from importer.rollback import RollbackRefused, execute_rollback, plan_rollback
    from importer.runner import history_path

    outcome = RollbackOutcome(run_id=run_id, dry_run=dry_run)
    history = History(history_path())
    record = history.run(run_id)
    if record is None:
        outcome.refused, outcome.verdict = (
            (f"no run {run_id!r} in the history; `isometric-import history` lists the runs"),
            "usage",
        )
        return outcome
    outcome.workbook = record.workbook
    with _session(where) as session:
        outcome.api_url, outcome.environment = session.url, session.environment
        if session.url != record.api_url and not (session.embedded and record.embedded_sandbox):
            outcome.refused, outcome.verdict = (
                (f"run {run_id} went to {record.api_url}, not {session.url}; pass --api-url {record.api_url}"),
                "usage",
            )
            return outcome
        session.client.adopt_rates(history.learned_rates(session.url))  # a rollback is paced as a run is
        try:
            outcome.items = plan_rollback(history, run_id, session.client)
        except RollbackRefused as exc:
            outcome.refused, outcome.verdict = exc.message, "failed"
            return outcome
        pending = [i for i in outcome.items if i.status == "pending"]
        if dry_run or not pending:
            return outcome
        if confirm is not None and not confirm(outcome):
            outcome.verdict = "cancelled"
            return outcome
        outcome.confirmed = True
        started = dt.datetime.now(dt.UTC)
        outcome.items = execute_rollback(history, run_id, session.client, outcome.items)
        history.remember_rates(session.url, session.client.learned_rates)
    outcome.verdict = "failed" if any(i.status == "failed" for i in outcome.items) else "ok"
    outcome.rollback_id = f"{started.strftime('%Y%m%dT%H%M%SZ')}-rb{secrets.token_hex(2)}"
    history.start_run(
        run_id=outcome.rollback_id,
        mode="rollback",
        workbook=record.workbook,
        workbook_sha256=record.workbook_sha256,
        api_url=record.api_url,
        embedded_sandbox=record.embedded_sandbox,
        project_id=record.project_id,
        operator=record.operator,
        started_at=started,
    )
    history.finish_run(
        outcome.rollback_id,
        outcome="rolled back" if outcome.verdict == "ok" else "failed",
        counts={"rollback_of": run_id, **outcome.counts()},
        finished_at=dt.datetime.now(dt.UTC),
    )
    path = report or reports_dir() / f"{Path(record.workbook).stem}-{outcome.rollback_id}-rollback.html"
    from importer.report.render import render_to

    render_to(path, "rollback_report.html.j2", outcome=outcome, record=record)
    outcome.report = str(path)
    history.record_report(outcome.rollback_id, str(path))
    return outcome


__all__ = [
    "BatchOutcome",
    "Finding",
    "ImporterError",
    "OnlineCheck",
    "ProgressFactory",
    "RollbackOutcome",
    "RollbackVerdict",
    "SandboxServing",
    "SavedPlanBundle",
    "Stopped",
    "TemplateOutcome",
    "UnreadableWorkbook",
    "ValidationResult",
    "Verdict",
    "annotate",
    "apply",
    "batch_statement_problems",
    "check_online",
    "collector_off",
    "environment_label",
    "expand",
    "inputs_of",
    "order_batch",
    "overwrites_input",
    "plan",
    "reference_clashes",
    "rollback",
    "run",
    "runs",
    "sandbox_database",
    "sandbox_serving",
    "save_plans",
    "serve_sandbox",
    "sort_out_evidence",
    "target",
    "template",
    "validate",
    "validate_batch",
    "write_reports",
    "write_validation_reports",
]
