"""The main job, end to end: read workbook -> validate -> resolve against the live project -> plan ->
execute -> lineage -> result. The library's `plan`, `run` and `apply` call `import_workbook` for each workbook
of a batch; `apply` gives it the saved plan, which is checked against the plan its inputs give now and applied
in its place (the same reading, planning, refusals and error handling as a run).

`api_session` opens the API: the configured one, or with no API URL the embedded local sandbox (a
rehearsal; `RunResult.embedded_sandbox` makes every output say so).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import getpass
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, cast

from importer import __version__
from importer.context import ProjectContext
from importer.findings import Finding
from importer.planning import kinds
from importer.planning.carried import CarriedListings
from importer.planning.model import STATEMENT_KEY, Action, Key, Plan
from importer.planning.registry import RegistryState
from importer.results import RunResult
from importer.settings import ApiTarget, environment_label, home, sandbox_db_path
from importer.stops import ImporterError, Verdict
from importer.workbook.model import Workbook

if TYPE_CHECKING:  # loaded when used (the CLI starts fast); for the types only
    from importer.api import models as m
    from importer.api.client import IsometricClient
    from importer.applying import Progress, RunLog
    from importer.history import History
    from importer.planning.known import Signature
    from importer.planning.model import Orphan
    from importer.planning.registry import RegistryObject
    from importer.workbook.checks.result import ValidationResult


class ImportAborted(ImporterError):
    """The import stopped before sending anything: `verdict` says what kind of stop (failed: the workbook's or
    the plan's fault, with `findings` when the workbook's; refused: misuse or an unusable API; interrupted)."""

    def __init__(
        self,
        message: str,
        *,
        verdict: Verdict,
        findings: list[Finding] | None = None,
        validation: ValidationResult | None = None,
    ) -> None:
        super().__init__(message, verdict=verdict)
        self.findings = findings or []
        self.validation = validation


@dataclass
class ApiSession:
    client: IsometricClient
    url: str
    embedded: bool
    environment: str
    sandbox_db: Path | None = None
    #: the project's datapoint and component listings, carried from one workbook of a batch to the next
    listings: CarriedListings = field(default_factory=lambda: CarriedListings(kinds.REGISTERED))


@contextmanager
def api_session(
    target: ApiTarget, *, timeout: float = 30.0, max_attempts: int = 6, cancel: threading.Event | None = None
) -> Iterator[ApiSession]:
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
        config = ClientConfig(
            base_url=url,
            client_secret=secret,
            access_token=token,
            timeout=timeout,
            max_attempts=max_attempts,
            max_rate=target.max_rate,
        )
        client = stack.enter_context(IsometricClient(config, cancel=cancel))
        yield ApiSession(
            client=client,
            url=url,
            embedded=target.embedded,
            environment=environment_label(url, embedded=target.embedded),
            sandbox_db=db,
        )


@dataclass
class ImportOptions:
    mode: str = "run"  # "plan" | "run"
    submit: bool = False
    concurrency: int = 8
    cancel: threading.Event = field(default_factory=threading.Event)
    prune: bool = False  # delete the orphans of this workbook's prefix that can be deleted
    replace: bool = False  # delete and create anew a changed object the API cannot update (no PATCH)
    keep_orphans: bool = False  # submit although orphans of this workbook's prefix lie in the period
    update_only: bool = False  # never create: refuse a plan with creates before anything is sent


def _operator() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user database entry (containers)
        return "unknown"


def new_result(validation: ValidationResult, session: ApiSession, mode: str) -> RunResult:
    from importer.planning import kinds

    wb = _workbook(validation)
    started = dt.datetime.now(dt.UTC)
    return RunResult(
        kind_names={kind.name: (kind.noun, kind.label) for kind in kinds.REGISTERED},
        run_id=started.strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6],
        mode=mode,
        workbook_path=str(wb.path),
        workbook_sha256=wb.sha256,
        tool_version=__version__,
        api_url=session.url,
        environment=session.environment,
        embedded_sandbox=session.embedded,
        operator=_operator(),
        started_at=started,
        warnings=[f.to_json() for f in validation.warnings()],
        readings=[f.to_json() for f in validation.notes()],
        # the API has no field for a source's description (CreateDocumentSourceRequest declares none): it is
        # not sent, but stays in the result for the report
        source_descriptions={s.ref: s.description for s in wb.sources if s.description},
    )


def _workbook(validation: ValidationResult) -> Workbook:
    """The typed rows of a workbook that passed validation (only those are imported)."""
    assert validation.workbook is not None, "only a valid workbook is imported"
    return validation.workbook


@dataclass
class Planned:
    """A workbook's plan and what it was computed from: the project's context, the online findings, the registry
    snapshot. For a saved plan, `plan` is the saved one and `difference` the first way the plan its inputs give
    now differs from it (None: the same)."""

    plan: Plan
    context: ProjectContext
    online: list[Finding]
    state: RegistryState
    difference: str | None = None


def plan_workbook(
    validation: ValidationResult,
    session: ApiSession,
    options: ImportOptions,
    *,
    history: History | None = None,
    saved: Plan | None = None,
) -> Planned:
    """Check the workbook against the live project and compute its plan (nothing is written to the API).
    With a `history`, the snapshot uses what earlier runs learned and the history remembers what it learns.

    With a `saved` plan, the plan is computed as the saved one was (its submit and prune) and checked against
    it: ImportAborted when the registry or the project's templates changed since it was made (their own, more
    precise, message); otherwise the saved plan itself is returned, with the first difference of the plan now
    (a saved plan was checked online when it was made: the fingerprints and the comparison stand for that)."""
    from importer.api import ApiError, Cancelled
    from importer.online import check_against_project
    from importer.planning import build_plan

    wb = _workbook(validation)
    submit = planned_submit(saved) if saved is not None else options.submit or wb.project.submit_statement
    if submit and wb.project.statement_end_on is None:
        raise ImportAborted("submitting needs statement_end_on on the project sheet", verdict=Verdict.FAILED)
    if submit and not wb.project.ghg_statement_report_url:
        raise ImportAborted("submitting needs ghg_statement_report_url on the project sheet", verdict=Verdict.FAILED)
    if history is not None:  # start from the budgets the last run against this API learned from 429s
        session.client.adopt_rates(history.learned_rates(session.url))
    try:
        ctx, listed = read_project(session, wb, options.concurrency)
        online = check_against_project(wb, ctx) if saved is None else []
        if any(f.severity == "error" for f in online):
            raise ImportAborted(
                f"{Path(wb.path).name} does not fit project {wb.project.project_id}: "
                f"{sum(f.severity == 'error' for f in online)} error(s); nothing was sent.",
                verdict=Verdict.FAILED,
                findings=online,
                validation=validation,
            )
        state = take_snapshot(session, listed, wb, ctx, options.concurrency, history)
        if history is not None:
            history.remember_rates(session.url, session.client.learned_rates)
        if saved is not None:  # planned as the saved plan was
            plan = build_plan(wb, ctx, state, submit=submit, prune=saved.prune, replace=saved.replace)
        else:
            plan = build_plan(wb, ctx, state, submit=submit, prune=options.prune, replace=options.replace)
    except Cancelled as exc:  # Ctrl-C while the project is read: interrupted, nothing sent
        raise ImportAborted(
            f"interrupted while reading the project: {exc.message}; nothing was sent", verdict=Verdict.INTERRUPTED
        ) from exc
    except ApiError as exc:
        verdict = Verdict.REFUSED if exc.status in (None, 401, 403) else Verdict.FAILED
        raise ImportAborted(f"the API refused the project look-up: {exc.message}", verdict=verdict) from exc
    if saved is None:
        return Planned(plan, ctx, online, state)
    return Planned(saved, ctx, online, state, difference=_saved_plan_difference(saved, plan, ctx))


def _saved_plan_difference(saved: Plan, now: Plan, ctx: ProjectContext) -> str | None:
    """The first difference of the plan `now` from the `saved` one; ImportAborted when the registry or the
    project's templates changed since the saved plan was made."""
    from importer.planning import context_fingerprint
    from importer.planning import saved as saved_plans

    differences = saved_plans.registry_changes(saved, now.registry_fingerprint)
    if context_fingerprint(ctx) != saved.context_fingerprint:
        differences.insert(0, "the project's GHG entry templates or component blueprints changed")
    if differences:
        raise ImportAborted(
            "the registry changed since the plan was made; nothing was sent. Run `plan` again "
            "and have it approved: "
            + "; ".join(differences[:20])
            + (f" (and {len(differences) - 20} more)" if len(differences) > 20 else ""),
            verdict=Verdict.FAILED,
        )
    return saved_plans.first_difference(saved, now)


def planned_submit(plan: Plan) -> bool:
    """Whether the plan was made with --submit: its statement's own setting, which the plan-level flag always
    equals (when they disagree the file was edited; the re-plan then shows which of the two)."""
    statement = next((a for a in plan.actions if a.kind == "ghg_statement"), None)
    submit = getattr(statement.payload, "submit", None) if statement is not None else None
    return plan.submit if submit is None else bool(submit)


def read_project(session: ApiSession, wb: Workbook, concurrency: int) -> tuple[ProjectContext, RegistryState]:
    """The project's context and the registry's batched listings, read at the same time (one round trip less
    before anything can be planned); the project's statements, listed once with the context, serve both."""
    from importer.context import load_context
    from importer.planning import fetch_state

    with ThreadPoolExecutor(max_workers=1) as pool:
        listing = pool.submit(fetch_state, session.client, wb, concurrency=concurrency, carried=session.listings)
        ctx = load_context(session.client, wb.project.project_id)
        listed = listing.result()
    listed.statements = list(ctx.statements)
    listed.feedstock_types = {t.supplier_reference_id or t.id: t for t in ctx.feedstock_types}
    return ctx, listed


def take_snapshot(
    session: ApiSession,
    listed: RegistryState,
    wb: Workbook,
    ctx: ProjectContext,
    concurrency: int,
    history: History | None,
) -> RegistryState:
    """The registry snapshot for `wb` from its batched listings, reading less where the history knows more
    (`importer.planning.known`); what it learns is remembered for the next run."""
    from importer.planning import snapshot

    known = history.known(session.url) if history is not None else None
    state = snapshot(session.client, listed, wb, ctx, concurrency=concurrency, known=known)
    if history is not None:
        history.remember_membership(session.url, state.learned_membership)
        history.remember_shares(session.url, state.learned_shares)
        history.remember_attributions(session.url, state.learned_attributions)
    return state


def check_plan_is_safe(plan: Plan, options: ImportOptions) -> None:
    """Refusals before anything is sent: `--update-only` with creates, and submitting a statement whose
    period holds orphans of this workbook's prefix (unless pruned or declared meant)."""
    if options.update_only:
        # a replace deletes the object and creates it anew (a new ID): a create too
        creates = [a for a in plan.actions if a.op in ("create", "replace") and a.kind != "component_attribution"]
        if creates:
            listed = "; ".join(f"{a.where}: {a.kind.replace('_', ' ')}" for a in creates[:20])
            more = f" (and {len(creates) - 20} more)" if len(creates) > 20 else ""
            raise ImportAborted(
                f"--update-only: the plan would create {len(creates)} object(s), nothing was sent: {listed}{more}",
                verdict=Verdict.FAILED,
            )
    from importer.planning.statements import StatementPayload

    statement = plan.action(STATEMENT_KEY)
    if statement is None or not plan.submit or options.prune or options.keep_orphans:
        return
    payload = statement.payload_of(StatementPayload)
    start = payload.start_on or "0000-01-01"
    end = payload.end_on
    inside = [o for o in plan.orphans if o.kind == "ghg_entry" and _entry_in(o, start, end)]
    if inside:
        listed = ", ".join(
            f"{o.id} ({o.supplier_reference_id}, {o.co2e_net_removed_kg or 0:,.1f} kg CO2e)" for o in inside
        )
        raise ImportAborted(
            f"submitting is refused, nothing was sent: GHG entries of this workbook's prefix that the workbook no "
            f"longer defines lie in the statement period {start} to {end}: {listed}. Run with --prune to delete "
            "them first, or --keep-orphans if they are meant to be submitted",
            verdict=Verdict.FAILED,
        )


def _entry_in(orphan: Orphan, start: str, end: str) -> bool:
    return orphan.completed_on is None or start <= orphan.completed_on <= end


def import_workbook(
    validation: ValidationResult,
    session: ApiSession,
    options: ImportOptions,
    *,
    progress: Progress | None = None,
    history: History | None = None,
    saved: Plan | None = None,
) -> RunResult:
    """Plan (and in run mode apply) one validated workbook. With a `saved` plan (`apply`), the registry and the
    project are read again and the saved plan itself is applied, refused when they changed since it was made or
    when the plan they give now differs from it in any value (what was reviewed is what is sent)."""
    result = new_result(validation, session, options.mode)
    # `phase` and `retry` are optional: a library caller's progress object may have only the scheduler's calls
    if progress is not None and hasattr(progress, "phase"):
        progress.phase("reading the project and the registry")
    planned = plan_workbook(validation, session, options, history=history, saved=saved)
    if planned.difference is not None:
        raise ImportAborted(
            "the saved plan differs from what the workbook and the registry give now; nothing was "
            f"sent. Run `plan` again and have it approved: {planned.difference}",
            verdict=Verdict.FAILED,
        )
    result.warnings += [f.to_json() for f in planned.online]
    result.plan = planned.plan
    return finish_import(
        result,
        planned.plan,
        planned.context,
        _workbook(validation),
        session,
        options,
        progress=progress,
        history=history,
        state=planned.state,
    )


def finish_import(
    result: RunResult,
    plan: Plan,
    ctx: ProjectContext,
    wb: Workbook,
    session: ApiSession,
    options: ImportOptions,
    *,
    progress: Progress | None = None,
    history: History | None = None,
    state: RegistryState | None = None,
) -> RunResult:
    """The plan's outcome (plan mode), or apply it and read back what the registry now holds (run mode). A run
    that wrote nothing reports the snapshot `state` it was planned against (nothing to read back)."""
    from importer.applying import apply_plan, outcome_of
    from importer.lineage import LineageBuilder, chain_lineage, samples_lineage
    from importer.planning import kinds
    from importer.planning.sources import lineage as source_lineage
    from importer.planning.statements import StatementPayload

    result.messages += list(plan.messages)
    result.orphans = [dataclasses.asdict(o) for o in plan.orphans]
    result.statement_entries = [dataclasses.asdict(e) for e in plan.statement_entries]
    result.co2e_before = _co2e_before(plan, state)
    statement = plan.action(STATEMENT_KEY)
    if options.mode == "plan":
        result.objects = [outcome_of(a) for a in plan.actions]
        ids = {a.key: a.existing_id for a in plan.actions if a.existing_id}
        builder = LineageBuilder(plan, wb, ctx, ids, {a.key: a.op for a in plan.actions}, None)
        result.lineage = builder.build()
        result.chain = chain_lineage(wb, ids, {a.key: a.op for a in plan.actions})
        result.samples = list(builder.samples.values())
        if statement is not None:
            payload = statement.payload_of(StatementPayload)
            result.statement = {
                "id": statement.existing_id,
                "status": statement.op,
                "start_on": payload.start_on,
                "end_on": payload.end_on,
                "submit": plan.submit,
            }
        _shared(result, plan, wb, ctx)
        result.finished_at = dt.datetime.now(dt.UTC)
        return result
    check_plan_is_safe(plan, options)
    recorder = HistoryRecorder(history, result.run_id, session.url) if history is not None else None
    if history is not None:
        history.start_run(
            run_id=result.run_id,
            mode="run",
            workbook=str(wb.path),
            workbook_sha256=wb.sha256,
            api_url=session.url,
            embedded_sandbox=session.embedded,
            project_id=wb.project.project_id,
            operator=result.operator,
            started_at=result.started_at,
        )
    if progress is not None and hasattr(progress, "retry"):
        session.client.on_retry = progress.retry  # retries visible while they happen
    try:
        run_log = apply_plan(
            plan,
            session.client,
            kinds=kinds.REGISTERED,
            concurrency=options.concurrency,
            progress=progress,
            cancel=options.cancel,
            recorder=recorder,
        )
    except BaseException:
        session.listings.forget(plan.project_id)
        raise
    finally:
        session.client.on_retry = None
    session.listings.after_run(
        plan.project_id, plan, run_log.outcomes, run_log.entities, clean=not (run_log.interrupted or run_log.stopped)
    )
    result.objects = run_log.outcome_list(plan)
    if history is not None:
        _remember_what_the_run_changed(history, session.url, plan, run_log)
        history.remember_rates(session.url, session.client.learned_rates)
    adopted = [o for o in result.objects if "created by another run meanwhile; adopted" in o.changes]
    if adopted:
        result.messages.append(
            f"{len(adopted)} object(s) were created by another run while this one ran (their "
            "creates were refused as duplicates and the objects adopted, not duplicated): another "
            f"import of project {plan.project_id} seems to be running"
        )
    result.interrupted = run_log.interrupted
    result.stopped = run_log.stopped
    result.settled_rates, result.rate_source = session.client.settled_rates, session.client.rate_source
    result.rate_stated = session.client.rate_stated
    result.throttled = session.client.throttled_count
    if run_log.stopped:
        result.messages.append(f"the run stopped: {run_log.stopped}")
    statuses = {a.key: run_log.outcomes[a.key].status for a in plan.actions}
    known = {a.key: a.existing_id for a in plan.actions if a.existing_id and a.op != "delete"}
    result.chain = chain_lineage(wb, {**known, **run_log.ids}, statuses)
    sources_of = {a.ref: a for a in plan.of_kind("source")}
    result.samples = samples_lineage(
        plan, wb, {**known, **run_log.ids}, statuses, lambda s: source_lineage(s, sources_of, run_log.ids)
    )
    if not run_log.stopped:
        result.lineage = LineageBuilder(
            plan, wb, ctx, run_log.ids, statuses, session.client, current=_current_after_run(plan, run_log, state)
        ).build()
    held = run_log.ids.get(STATEMENT_KEY) or (statement.existing_id if statement is not None else None)
    listed = next((st for st in (state.statements if state is not None else []) if st.id == held), None)
    if held is not None and not run_log.stopped:
        if listed is not None and all(o.status == "unchanged" for o in run_log.outcomes.values()):
            result.statement = listed.model_dump(mode="json")  # nothing was written: as the snapshot listed it
        else:
            result.statement = _statement_after_run(session.client, held, result)
    _shared(result, plan, wb, ctx)
    result.finished_at = dt.datetime.now(dt.UTC)
    if history is not None:
        outcome = "interrupted" if result.interrupted else ("ok" if result.ok else "failed")
        history.finish_run(result.run_id, outcome=outcome, counts=result.counts(), finished_at=result.finished_at)
    return result


def _shared(result: RunResult, plan: Plan, wb: Workbook, ctx: ProjectContext) -> None:
    """The shared emissions the report splits the statement's total by (`importer.shared_emissions`: estimated under
    the local sandbox's rule, a rehearsal assumption)."""
    from importer.shared_emissions import shared_emissions

    st = result.statement or {}
    start = st.get("reporting_period_start_at") or st.get("start_on")
    end = st.get("reporting_period_end_at") or st.get("end_on")
    held = st.get("ghg_entry_ids")
    size = (len(held) if isinstance(held, list) else 0) or len(plan.statement_entries)
    result.shared = shared_emissions(wb, ctx, (str(start), str(end)) if start and end else None, size)


def _co2e_before(plan: Plan, state: RegistryState | None) -> dict[str, object] | None:
    """The CO2e the registry held when the run planned: the statement's pending total and each of the workbook's
    existing GHG entries' (by ref), so the report can say how the run moved them. None without a snapshot."""
    if state is None:
        return None
    entries: dict[str, object] = {}
    by_id = {e.id: e for e in state.ghg_entries.values()}
    for action in plan.of_kind("ghg_entry"):
        held = by_id.get(action.existing_id or "")
        if held is not None and held.co2e_net_removed_kg is not None:
            entries[action.ref] = held.co2e_net_removed_kg
    statement = plan.action(STATEMENT_KEY)
    listed = next((st for st in state.statements if statement is not None and st.id == statement.existing_id), None)
    total = listed.pending_total_co2e_removed_kg if listed is not None else None
    if total is None and not entries:
        return None
    return {"statement_total_kg": total, "entries": entries}


def _current_after_run(plan: Plan, run_log: RunLog, state: RegistryState | None) -> dict[str, RegistryObject]:
    """Objects known to be as the registry holds them after the run, without reading them again: the whole
    snapshot when the run wrote nothing; otherwise the datapoints of the snapshot this run did not write (the
    templates' fixed ones, say), and the GHG entries whose last write was this run's: a create that nothing later
    in the run touched (its datapoints were written before it), or the PATCH of its attributions (the API answers
    it with the entry). Not when the run wrote a shared component or a manual attribution of one: those move
    every entry's share. The rest is read back."""
    if state is not None and all(o.status == "unchanged" for o in run_log.outcomes.values()):
        return state.by_id()
    written = {a.existing_id for a in plan.actions if a.existing_id and run_log.outcomes[a.key].status != "unchanged"}
    current: dict[str, RegistryObject] = {
        d.id: d for d in (state.project_datapoints if state is not None else []) if d.id not in written
    }
    if any(a.kind in _SHARING and run_log.outcomes[a.key].status != "unchanged" for a in plan.actions):
        return current
    from importer.planning.attributions import AttributionPayload

    by_entry: dict[str, list[Action]] = {}
    for action in plan.of_kind("component_attribution"):
        by_entry.setdefault(action.payload_of(AttributionPayload).entry_ref, []).append(action)
    answers: dict[str, object] = {}  # entry ref -> its last write's answer
    for key, entity in run_log.entities.items():
        if key[0] == "ghg_entry" and run_log.outcomes[key].status == "created":
            answers[key[1]] = entity
    for entry_ref, actions in by_entry.items():
        sent = [a for a in actions if a.op != "unchanged"]
        if not sent:
            continue
        answers.pop(entry_ref, None)  # its attributions changed after it was created
        # a component of this entry rewritten while its attribution stood moves the entry's figures on its own
        # time, perhaps after the PATCH answered
        rewritten = [run_log.outcomes.get(("component", a.ref)) for a in actions if a.op == "unchanged"]
        if not any(o is not None and o.status != "unchanged" for o in rewritten):
            answers[entry_ref] = run_log.entities.get(sent[-1].key)
    for answer in answers.values():
        entry = cast("m.GhgEntry | None", answer)
        if entry is not None and entry.co2e_net_removed_kg is not None:
            current[entry.id] = entry
    return current


def _remember_what_the_run_changed(history: History, api_url: str, plan: Plan, run_log: RunLog) -> None:
    """What the run did to what the history knows of the registry (`importer.planning.known`): the MANUAL shares
    and the entries' attributions."""
    ids = {**{a.key: a.existing_id for a in plan.actions if a.existing_id}, **run_log.ids}
    _remember_shares(history, api_url, plan, run_log, ids)
    _remember_attributions(history, api_url, plan, run_log, ids)


def _remember_shares(history: History, api_url: str, plan: Plan, run_log: RunLog, ids: dict[Key, str]) -> None:
    """Each MANUAL share the run set or took away; a component it created carries exactly the shares the run gave
    it (seen whole from the start); a component a share write of which failed (perhaps half done) is read whole
    again next time."""
    from importer.planning.project_attributions import ProjectAttributionPayload

    created = {
        ids[a.key]
        for a in plan.of_kind("project_component")
        if a.key in ids and run_log.outcomes[a.key].status == "created"
    }
    fresh: dict[str, set[str]] = {cid: set() for cid in created}
    unsure: set[str] = set()
    for action in plan.of_kind("project_component_attribution"):
        status = run_log.outcomes[action.key].status
        p = action.payload_of(ProjectAttributionPayload)
        component_id = ids.get(("project_component", p.component_ref))
        entry_id = ids.get(("ghg_entry", p.entry_ref))
        if component_id is None or entry_id is None or action.op == "unchanged":
            continue
        if status not in ("created", "updated", "deleted"):
            unsure.add(component_id)
        elif component_id in fresh and status != "deleted":
            fresh[component_id].add(entry_id)
        else:
            history.share_changed(api_url, component_id, entry_id, held=status != "deleted")
    history.remember_shares(api_url, {cid: entries for cid, entries in fresh.items() if cid not in unsure})
    history.forget_shares(api_url, sorted(unsure))


def _remember_attributions(history: History, api_url: str, plan: Plan, run_log: RunLog, ids: dict[Key, str]) -> None:
    """Each entry's attributions as read after the run attached components; an entry whose attributions changed
    without being read again (a MANUAL share written, a change that failed, perhaps half done) is forgotten."""
    from importer.planning.attributions import AttributionPayload
    from importer.planning.project_attributions import ProjectAttributionPayload

    history.remember_attributions(
        api_url, {entry_id: held for entry_id, held in run_log.attributions.items() if held is not None}
    )
    changed: set[str | None] = {entry_id for entry_id, held in run_log.attributions.items() if held is None}
    changed |= {
        ids.get(("ghg_entry", action.payload_of(ProjectAttributionPayload).entry_ref))
        for action in plan.of_kind("project_component_attribution")
        if action.op != "unchanged" and run_log.outcomes[action.key].status != "unchanged"
    }
    changed |= {
        ids.get(("ghg_entry", action.payload_of(AttributionPayload).entry_ref))
        for action in plan.of_kind("component_attribution")
        if action.op != "unchanged" and run_log.outcomes[action.key].status not in ("created", "updated", "unchanged")
    }
    history.forget_attributions(api_url, sorted(filter(None, changed)))


#: kinds whose writes move the shares of shared emissions in every entry (`importer.sandbox.amortisation`)
_SHARING = frozenset({"project_component", "project_component_attribution", "ghg_statement_component"})


class HistoryRecorder:
    """The run history as the apply step's recorder: an intended create is written before it is sent (a
    rollback after a crash with lost responses finds it by supplier_reference_id), a created object as soon
    as its ID is known, marked adopted when someone else had created it meanwhile."""

    def __init__(self, history: History, run_id: str, api_url: str) -> None:
        self.history = history
        self.run_id = run_id
        self.api_url = api_url

    def intended(self, kind: str, supplier_reference_id: str | None) -> None:
        if supplier_reference_id:
            self.history.record_intended(self.run_id, kind, supplier_reference_id)

    def created(
        self,
        kind: str,
        obj_id: str,
        supplier_reference_id: str | None,
        *,
        adopted: bool,
        sent_inputs: Signature | None = None,
    ) -> None:
        self.history.record_created(
            self.run_id, kind, obj_id, supplier_reference_id, adopted=adopted, sent_inputs=sent_inputs
        )

    def uploaded(self, source_id: str) -> None:
        self.history.remember_uploaded(self.api_url, source_id)

    def planned_under(self, prefix: str) -> None:
        self.history.record_prefix(self.run_id, prefix)


def _statement_after_run(client: IsometricClient, statement_id: str, result: RunResult) -> dict[str, object]:
    """The statement as the server holds it after the last write: its pending total changes with every entry
    and datapoint the run touched, so the figure read at plan time (or returned mid-run) is never reported."""
    try:
        held: dict[str, object] = client.get_ghg_statement(statement_id).model_dump(mode="json")
        return held
    except Exception as exc:  # report no figure rather than a stale one
        from importer.redaction import redact

        result.messages.append(
            f"could not re-read GHG statement {statement_id} after the run "
            f"({redact(str(getattr(exc, 'message', exc)))}): its total is not shown"
        )
        return {"id": statement_id, "pending_total_co2e_removed_kg": None}


def lock_folder() -> Path:
    return home() / "locks"


def history_path() -> Path:
    return home() / "history.sqlite3"
