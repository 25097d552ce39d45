"""The main job, end to end: read workbook -> validate -> resolve against the live project -> plan ->
execute -> lineage -> result. The CLI's `plan` and `run` are thin wrappers over `import_workbook`.

`api_session` opens the API: the configured one, or with no API URL the embedded local sandbox (a
rehearsal; `RunResult.embedded_sandbox` makes every output say so).
"""

from __future__ import annotations

import datetime as dt
import getpass
import threading
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from importer import __version__
from importer.findings import Finding
from importer.results import RunResult
from importer.settings import ApiTarget, environment_label, home, sandbox_db_path


class ImportAborted(Exception):
    """The import stopped before sending anything (exit code in `exit_code`; findings when it was the
    workbook's fault)."""

    def __init__(self, message: str, *, exit_code: int, findings: list[Finding] | None = None,
                 validation: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        self.findings = findings or []
        self.validation = validation


@dataclass
class ApiSession:
    client: Any
    url: str
    embedded: bool
    environment: str
    sandbox_db: Path | None = None


@contextmanager
def api_session(target: ApiTarget, *, timeout: float = 30.0, max_attempts: int = 6) -> Iterator[ApiSession]:
    """An open API client; starts (and finally stops) the embedded sandbox when no URL is configured."""
    from importer.api import ClientConfig, IsometricClient

    with ExitStack() as stack:
        if target.embedded:
            from importer.sandbox import SandboxServer

            db = sandbox_db_path()
            db.parent.mkdir(parents=True, exist_ok=True)
            server = stack.enter_context(SandboxServer(db_path=db))
            url, secret, token = server.base_url, server.client_secret, server.access_token
        else:
            assert target.url and target.client_secret and target.access_token
            url, secret, token, db = target.url, target.client_secret, target.access_token, None
        config = ClientConfig(base_url=url, client_secret=secret, access_token=token, timeout=timeout,
                              max_attempts=max_attempts)
        client = stack.enter_context(IsometricClient(config))
        yield ApiSession(client=client, url=url, embedded=target.embedded,
                         environment=environment_label(url, embedded=target.embedded), sandbox_db=db)


@dataclass
class ImportOptions:
    mode: str = "run"  # "plan" | "run"
    submit: bool = False
    concurrency: int = 8
    cancel: threading.Event = field(default_factory=threading.Event)


def _operator() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user database entry (containers)
        return "unknown"


def validated(path: Path) -> Any:
    """Offline validation; raises ImportAborted (exit 1) on errors, returns the ValidationResult."""
    from importer.workbook.validate import validate_workbook

    result = validate_workbook(path)
    if not result.ok:
        raise ImportAborted(
            f"{path.name} has {len(result.errors())} error(s); nothing was sent. Fix them and run again "
            "(`isometric-import validate --annotate fixed.xlsx` marks the cells).",
            exit_code=1, findings=result.findings, validation=result)
    return result


def import_workbook(validation: Any, session: ApiSession, options: ImportOptions, *, progress: Any = None,
                    history: Any = None) -> RunResult:
    """Plan (and in run mode execute) one validated workbook."""
    from importer.api import ApiError
    from importer.context import load_context
    from importer.lineage import LineageBuilder
    from importer.online import check_against_project
    from importer.plan import make_plan

    wb = validation.workbook
    started = dt.datetime.now(dt.UTC)
    result = RunResult(
        run_id=started.strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6], mode=options.mode,
        workbook_path=str(wb.path), workbook_sha256=wb.sha256, tool_version=__version__, api_url=session.url,
        environment=session.environment, embedded_sandbox=session.embedded, operator=_operator(),
        started_at=started, warnings=[f.to_json() for f in validation.warnings()],
    )
    submit = options.submit or wb.project.submit_statement
    if submit and wb.project.statement_end_on is None:
        raise ImportAborted("submitting needs statement_end_on on the project sheet", exit_code=1)
    if submit and not wb.project.ghg_statement_report_url:
        raise ImportAborted("submitting needs ghg_statement_report_url on the project sheet", exit_code=1)
    try:
        ctx = load_context(session.client, wb.project.project_id)
        online = check_against_project(wb, ctx)
        if any(f.severity == "error" for f in online):
            raise ImportAborted(
                f"{Path(wb.path).name} does not fit project {wb.project.project_id}: "
                f"{sum(f.severity == 'error' for f in online)} error(s); nothing was sent.",
                exit_code=1, findings=online, validation=validation)
        result.warnings += [f.to_json() for f in online]
        plan = make_plan(session.client, wb, ctx, submit=submit, concurrency=options.concurrency)
    except ApiError as exc:
        code = 2 if exc.status in (None, 401, 403) else 1
        raise ImportAborted(f"the API refused the project look-up: {exc.message}", exit_code=code) from exc
    result.messages += plan.messages
    # the API has no field for a source's description (CreateDocumentSourceRequest declares none): it is not
    # sent, but stays in the result for the report
    result.source_descriptions = {s.ref: s.description for s in wb.sources if s.description}
    statement_step = plan.step(("ghg_statement", "statement"))
    if options.mode == "plan":
        result.objects = [s.outcome for s in plan.steps]
        result.lineage = LineageBuilder(plan, {s.key: s.outcome.id for s in plan.steps if s.outcome.id},
                                        None).build()
        if statement_step is not None:
            result.statement = {"id": statement_step.outcome.id, "status": statement_step.outcome.status,
                                "start_on": statement_step.detail.get("start_on"),
                                "end_on": str(statement_step.detail.get("end_on")), "submit": submit}
        result.finished_at = dt.datetime.now(dt.UTC)
        return result

    from importer.execute import Executor

    if history is not None:
        history.start_run(run_id=result.run_id, mode="run", workbook=str(wb.path), workbook_sha256=wb.sha256,
                          api_url=session.url, embedded_sandbox=session.embedded,
                          project_id=wb.project.project_id, operator=result.operator, started_at=started)
    on_created = (lambda kind, id_, srid: history.record_created(result.run_id, kind, id_, srid)) if history else None
    executor = Executor(session.client, plan, concurrency=options.concurrency, progress=progress,
                        cancel=options.cancel, on_created=on_created)
    result.objects = executor.run()
    result.interrupted = options.cancel.is_set()
    result.lineage = LineageBuilder(plan, executor.ids, session.client).build()
    statement = executor.statement or (statement_step.existing if statement_step else None)
    if statement is not None:
        result.statement = _statement_after_run(session.client, statement, result)
    result.finished_at = dt.datetime.now(dt.UTC)
    if history is not None:
        outcome = "interrupted" if result.interrupted else ("ok" if result.ok else "failed")
        history.finish_run(result.run_id, outcome=outcome, counts=result.counts(), finished_at=result.finished_at)
    return result


def _statement_after_run(client: Any, statement: Any, result: RunResult) -> dict[str, Any]:
    """The statement as the server holds it after the last write: its pending total changes with every entry
    and datapoint the run touched, so the figure read at plan time (or returned mid-run) is never reported."""
    try:
        return client.get_ghg_statement(statement.id).model_dump(mode="json")
    except Exception as exc:  # report no figure rather than a stale one
        from importer.redaction import redact

        result.messages.append(f"could not re-read GHG statement {statement.id} after the run "
                               f"({redact(str(getattr(exc, 'message', exc)))}): its total is not shown")
        stale = statement.model_dump(mode="json")
        stale["pending_total_co2e_removed_kg"] = None
        return stale


def lock_folder() -> Path:
    return home() / "locks"


def history_path() -> Path:
    return home() / "history.sqlite3"
