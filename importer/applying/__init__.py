"""Applying a plan: every action that needs the API goes out as soon as the objects it needs exist, within a
concurrency bound (a dependency graph, not level-by-level barriers: a GHG entry starts when its own
datapoints are answered, not when the workbook's last datapoint is). A failed action blocks only what depends
on it; everything else goes on. The plan is never changed: what happened is the returned `RunLog`.

Every create carries its supplier_reference_id and the client de-duplicates retried creates, so a run that
crashes or is interrupted can be run again: the next plan finds what was made and finishes the rest. Ctrl-C
(the `cancel` event) stops scheduling: requests in flight finish, actions not started are reported as
blocked by the interruption.
"""

from __future__ import annotations

import functools
import logging
import queue
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, cast

from importer.api.errors import Cancelled, CredentialsRefused
from importer.failures import conflict, failure_of
from importer.history import LocalStateError
from importer.planning.env import Applied, ApplyEnv, Entity, StepFailed
from importer.planning.kind import Kind
from importer.planning.known import Signature
from importer.planning.model import Action, IdRef, Key, NewRef, Plan, Ref, ReplacedPayload
from importer.redaction import redact
from importer.results import BAD_STATUSES, ObjectOutcome

if TYPE_CHECKING:  # the API client loads when a run starts (the CLI starts fast)
    from importer.api import models as m
    from importer.api.client import IsometricClient

log = logging.getLogger("importer.applying")

INTERRUPTED = "not started: the run was interrupted"
NOT_STARTED = "not started"  # a row's outcome when the run was interrupted or stopped before it began


class Progress(Protocol):
    def level_started(self, level: str, total: int, title: str | None = None) -> None: ...
    def object_done(self, outcome: ObjectOutcome) -> None: ...
    def level_finished(self, level: str) -> None: ...


class Recorder(Protocol):
    """Where a run records what it is about to create and what it created (the run history), and what it
    learned that a later run need not ask again (`importer.planning.known`)."""

    def intended(self, kind: str, supplier_reference_id: str | None) -> None: ...
    def created(
        self,
        kind: str,
        obj_id: str,
        supplier_reference_id: str | None,
        *,
        adopted: bool,
        sent_inputs: Signature | None = None,
    ) -> None: ...
    def uploaded(self, source_id: str) -> None: ...
    def planned_under(self, prefix: str) -> None:
        """Record under which prefix this run plans, before anything is sent (may raise LocalStateError)."""


class _NoRecorder:
    def intended(self, kind: str, supplier_reference_id: str | None) -> None:
        pass

    def created(
        self,
        kind: str,
        obj_id: str,
        supplier_reference_id: str | None,
        *,
        adopted: bool,
        sent_inputs: Signature | None = None,
    ) -> None:
        pass

    def uploaded(self, source_id: str) -> None:
        pass

    def planned_under(self, prefix: str) -> None:
        pass


@dataclass
class RunLog:
    """What applying a plan did, action by action (the plan itself is unchanged)."""

    outcomes: dict[Key, ObjectOutcome] = field(default_factory=dict)
    ids: dict[Key, str] = field(default_factory=dict)  # every object's ID once known
    entities: dict[Key, Entity] = field(default_factory=dict)  # API objects returned, for the report
    #: GHG entry ID -> its component attributions as read after the run changed them
    attributions: dict[str, list[m.ComponentAttribution] | None] = field(default_factory=dict)  # None: not read
    statement: m.GhgStatement | None = None
    interrupted: bool = False
    stopped: str | None = None  # why the run stopped early (credentials refused, local state unwritable)
    adopted: set[Key] = field(default_factory=set)  # creates answered with an object another run had made

    def outcome_list(self, plan: Plan) -> list[ObjectOutcome]:
        return [self.outcomes[a.key] for a in plan.actions]


def outcome_of(action: Action) -> ObjectOutcome:
    """The outcome as planned (a fresh object: the plan's actions are never touched)."""
    return ObjectOutcome(
        sheet=action.sheet,
        row=action.row,
        ref=action.ref,
        kind=action.kind,
        supplier_reference_id=action.supplier_reference_id,
        id=action.existing_id,
        status=action.op,
        error=action.reason,
        blocked_by=action.blocked_by,
        failure=conflict(action.reason or "the registry holds a value it will not change")
        if action.op == "conflict"
        else None,
        changes=[c.field for c in action.changes] + list(action.notes),
        before={c.field: c.before for c in action.changes if c.before is not None},
        after={c.field: c.after for c in action.changes if c.after is not None},
        replaced_by=action.payload.ref if isinstance(action.payload, ReplacedPayload) else None,
    )


class _Env:
    """The ApplyEnv the kinds' apply functions get."""

    def __init__(self, client: IsometricClient, project_id: str, log_: RunLog, recorder: Recorder) -> None:
        self.client = client
        self.project_id = project_id
        self._log = log_
        self._recorder = recorder
        self._lock = threading.Lock()
        self.on_created: Callable[[Key], None] = lambda key: None  # the scheduler's hook

    def resolve(self, ref: Ref) -> str:
        if isinstance(ref, IdRef):
            return ref.id
        assert isinstance(ref, NewRef)
        with self._lock:
            found = self._log.ids.get(ref.key)
        if found is None:
            raise StepFailed(f"{ref.key[0]} {ref.key[1]!r} has no ID (its row did not complete)")
        return found

    def intend(self, action: Action) -> None:
        self._recorder.intended(action.kind, action.supplier_reference_id)

    def created(self, action: Action, obj_id: str, *, sent_inputs: Signature | None = None) -> None:
        adopted = self.client.last_create_adopted()  # this thread's last create
        with self._lock:
            self._log.ids[action.key] = obj_id
            if adopted:
                self._log.adopted.add(action.key)
        # an adopted entry was made by someone else: what this run sent says nothing of its components
        self._recorder.created(
            action.kind,
            obj_id,
            action.supplier_reference_id,
            adopted=adopted,
            sent_inputs=None if adopted else sent_inputs,
        )
        self.on_created(action.key)

    def uploaded(self, source_id: str) -> None:
        self._recorder.uploaded(source_id)

    def part_created(self, key: Key, obj_id: str) -> None:
        with self._lock:
            self._log.ids[key] = obj_id


@dataclass
class _Unit:
    """Actions that succeed or fail together (one action; or one entry's attributions: one PATCH)."""

    actions: list[Action]
    run: Callable[[], dict[Key, Applied]]
    deps: set[Key]


def _error_text(exc: BaseException) -> str:
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return redact(str(message))


def apply_plan(
    plan: Plan,
    client: IsometricClient,
    *,
    kinds: Sequence[Kind],
    concurrency: int = 8,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    recorder: Recorder | None = None,
) -> RunLog:
    """Carry out `plan` against the API with the appliers `kinds` declare (`importer.planning.kinds.REGISTERED`:
    the scheduler imports no kind); returns the run log. Never raises for a failed action."""
    from importer.progress import QuietProgress

    progress = progress or QuietProgress()
    cancel = cancel or threading.Event()
    run_log = RunLog()
    by_name = {kind.name: kind for kind in kinds}
    # a kind's dependants that may start once an object of it exists, before its apply has finished: a source's
    # datapoints need its ID, not its document (the upload goes on; the statement waits for it to end)
    released_on_create = {kind.name: frozenset(kind.released_on_create) for kind in kinds if kind.released_on_create}
    env = _Env(client, plan.project_id, run_log, recorder or _NoRecorder())
    for action in plan.actions:
        run_log.outcomes[action.key] = outcome_of(action)
        if action.existing_id:
            run_log.ids[action.key] = action.existing_id
    _record_prefix(plan, recorder, run_log, cancel)
    units = _units(plan, env, by_name)
    remaining: defaultdict[str, int] = defaultdict(int)
    for action in plan.actions:
        remaining[action.kind] += 1
    for kind, total in remaining.items():
        progress.level_started(kind, total, by_name[kind].label if kind in by_name else kind)
    lock = threading.Lock()

    def finish(action: Action) -> None:
        progress.object_done(run_log.outcomes[action.key])
        remaining[action.kind] -= 1
        if remaining[action.kind] == 0:
            progress.level_finished(action.kind)

    final: set[Key] = set()
    for action in plan.actions:  # nothing to send (unchanged, conflict, blocked): final as planned
        if not action.needs_applying:
            final.add(action.key)
            finish(action)
    index = plan.index()

    def stopped_why() -> str:
        return f"not started: {run_log.stopped}" if run_log.stopped else INTERRUPTED

    def block(unit: _Unit, why: str, status: str = "blocked") -> None:
        """`blocked` by a row that failed, or `not started` (interrupted, or the run stopped): its own outcome,
        counted apart, never a problem of the row."""
        for action in unit.actions:
            outcome = run_log.outcomes[action.key]
            outcome.status, outcome.blocked_by = status, why
            outcome.id = run_log.ids.get(action.key, outcome.id)

    def culprit_of(unit: _Unit) -> str | None:
        for dep in unit.deps:
            outcome = run_log.outcomes.get(dep)
            if outcome is not None and outcome.status in BAD_STATUSES:
                action = index.get(dep)
                return action.where if action else f"{dep[0]} {dep[1]}"
        return None

    def execute(unit: _Unit) -> None:
        if cancel.is_set():  # queued before the interruption, not started: left for the next run
            block(unit, stopped_why(), NOT_STARTED)
            return
        started = time.monotonic()
        try:
            applied = unit.run()
        except Cancelled:  # Ctrl-C ended a retry wait: not a failure of the row
            block(unit, INTERRUPTED, NOT_STARTED)
            return
        except Exception as exc:  # an API error, a file error, or a bug: the unit fails, the run goes on
            if isinstance(exc, (CredentialsRefused, LocalStateError)):  # nothing more may be sent
                with lock:
                    run_log.stopped = run_log.stopped or _error_text(exc)
                cancel.set()
            error = _error_text(exc)
            elapsed = round(time.monotonic() - started, 3)
            log.debug("failed: %s", unit.actions[0].where, exc_info=True)
            for action in unit.actions:
                outcome = run_log.outcomes[action.key]
                outcome.status, outcome.error = "failed", error
                outcome.failure = failure_of(exc, sheet=action.sheet, elapsed_seconds=elapsed)
                outcome.id = run_log.ids.get(action.key, outcome.id)  # created, then failed (e.g. its upload)
            return
        for action in unit.actions:
            done = applied.get(action.key, Applied())
            outcome = run_log.outcomes[action.key]
            default = {"create": "created", "update": "updated", "replace": "replaced", "delete": "deleted"}.get(
                action.op, "unchanged"
            )
            outcome.status = done.status or default
            if done.id:
                outcome.id = done.id
                with lock:
                    run_log.ids.setdefault(action.key, done.id)
            if done.attributions is not None:
                entry_id, attributions = done.attributions
                run_log.attributions[entry_id] = list(attributions) if attributions is not None else None
            if done.entity is not None:
                run_log.entities[action.key] = done.entity
                if action.kind == "ghg_statement":
                    run_log.statement = cast("m.GhgStatement", done.entity)  # the statement's answer
            # what the plan noted as possible ("file upload resumed unless already present") gives way to what happened
            outcome.changes = [c for c in outcome.changes if c not in action.notes] + list(done.notes)
            if action.key in run_log.adopted:
                outcome.changes.append("created by another run meanwhile; adopted")

    # the dependency graph: each unit waits for its unresolved dependencies; a finished unit releases those
    # waiting on it (linear in the plan's size, whatever the order in which answers come back)
    waiting: dict[int, int] = {}
    dependants: defaultdict[Key, list[int]] = defaultdict(list)
    for number, unit in enumerate(units):
        unresolved = {d for d in unit.deps if d not in final and d in index}
        waiting[number] = len(unresolved)
        for dep in unresolved:
            dependants[dep].append(number)
    ready = [n for n, count in waiting.items() if count == 0]
    finished: queue.SimpleQueue[int | Key] = queue.SimpleQueue()  # a unit's number when done; a key when created
    env.on_created = lambda key: finished.put(key) if key[0] in released_on_create else None
    outstanding = len(units)

    def unblock(number: int) -> None:
        waiting[number] -= 1
        if waiting[number] == 0:
            ready.append(number)

    def release_created(key: Key) -> None:
        """The object exists: the dependants that need only its ID may start; the others wait for its unit to
        finish (and are blocked if it fails)."""
        early = released_on_create[key[0]]
        waiting_on = dependants.get(key, [])
        dependants[key] = [o for o in waiting_on if units[o].actions[0].kind not in early]
        for other in waiting_on:
            if units[other].actions[0].kind in early:
                unblock(other)

    def release(number: int) -> None:
        for action in units[number].actions:
            final.add(action.key)
            finish(action)
            for other in dependants.pop(action.key, ()):
                unblock(other)

    announced = False
    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="import") as pool:
        running = 0
        while outstanding:
            while ready:
                number = ready.pop()
                unit = units[number]
                culprit = stopped_why() if cancel.is_set() else culprit_of(unit)
                if culprit is not None:
                    block(unit, culprit, NOT_STARTED if cancel.is_set() else "blocked")
                    outstanding -= 1
                    release(number)
                    continue
                running += 1
                future = pool.submit(execute, unit)
                future.add_done_callback(functools.partial(_signal, finished, number))
            if not running:
                if outstanding:  # a cycle can only come from a bug: fail safe, block what is left
                    for number, count in waiting.items():
                        if count > 0:
                            waiting[number] = 0
                            ready.append(number)
                    continue
                break
            try:
                message = finished.get(timeout=0.2)
            except queue.Empty:
                message = -1
            if isinstance(message, tuple):
                release_created(message)
                continue
            number = message
            if cancel.is_set() and not announced and running > (number >= 0):  # say what the stop waits for
                announced = True
                _announce_stop(client, progress, running - (number >= 0))
            if number < 0:
                continue
            running -= 1
            outstanding -= 1
            release(number)
    run_log.interrupted = cancel.is_set() and run_log.stopped is None
    return run_log


def _record_prefix(plan: Plan, recorder: Recorder | None, run_log: RunLog, cancel: threading.Event) -> None:
    """Tell the run history (the runner's recorder holds it) under which prefix this run plans, before anything
    is sent: a later orphan search of another prefix never claims what this run makes (`History.made_under`)."""
    if recorder is None:
        return
    try:
        recorder.planned_under(plan.prefix)
    except LocalStateError as exc:  # nothing may be sent without the history
        run_log.stopped = _error_text(exc)
        cancel.set()


def _announce_stop(client: IsometricClient, progress: Progress, running: int) -> None:
    """Ctrl-C: nothing new starts; say which requests are still on the wire (they end by their timeout)."""
    waits = client.in_flight()
    detail = ": " + "; ".join(redact(w) for w in waits[:3]) + (" ..." if len(waits) > 3 else "") if waits else ""
    if hasattr(progress, "phase"):  # optional: a library caller's progress object may have only the calls above
        progress.phase(
            f"stopping: nothing new starts; waiting for {len(waits) or running} request(s) in flight{detail}"
        ).done()


def _signal(finished: queue.SimpleQueue[int | Key], number: int, _future: Future[None]) -> None:
    finished.put(number)


def _units(plan: Plan, env: _Env, kinds: dict[str, Kind]) -> list[_Unit]:
    """One unit per action to apply, or per group of a kind whose actions go out together (attributions: one
    PATCH per GHG entry)."""
    units: list[_Unit] = []
    groups: dict[tuple[str, str], list[Action]] = defaultdict(list)
    for action in plan.actions:
        if not action.needs_applying:
            continue
        kind = kinds[action.kind]
        if kind.apply_group is not None and kind.group_of is not None and action.op != "delete":
            groups[(kind.name, kind.group_of(action))].append(action)
            continue
        handler: Callable[[Action, ApplyEnv], Applied] | None = (
            functools.partial(_delete, prefix=plan.prefix)
            if action.op == "delete" and not isinstance(action.payload, ReplacedPayload)
            else kind.apply
        )
        assert handler is not None, f"kind {kind.name} declares no apply"
        units.append(
            _Unit([action], functools.partial(_one, handler, action, env), set(action.depends_on) - {action.key})
        )
    for (name, _group), members in groups.items():
        apply_group = kinds[name].apply_group
        assert apply_group is not None
        deps: set[Key] = set().union(*(a.depends_on for a in members)) - {a.key for a in members}
        units.append(_Unit(members, functools.partial(apply_group, members, env), deps))
    return units


def _one(handler: Callable[[Action, ApplyEnv], Applied], action: Action, env: _Env) -> dict[Key, Applied]:
    return {action.key: handler(action, env)}


def _delete(action: Action, env: ApplyEnv, *, prefix: str) -> Applied:
    """Delete an orphan (`--prune`); one already gone counts as deleted. Only what this workbook's runs could
    have made (`importer.identity.owned_by` its prefix) is ever deleted, whatever a plan says."""
    from importer.identity import owned_by

    assert action.existing_id is not None
    if not action.supplier_reference_id or not owned_by(prefix, action.supplier_reference_id, action.kind):
        raise StepFailed(
            f"{action.kind.replace('_', ' ')} {action.existing_id} "
            f"({action.supplier_reference_id!r}) is not one this workbook's prefix {prefix!r} "
            "made: not deleted"
        )
    env.client.delete(action.kind, action.existing_id, project_id=env.project_id)
    return Applied(id=action.existing_id, status="deleted")


__all__ = ["INTERRUPTED", "Applied", "RunLog", "StepFailed", "apply_plan", "outcome_of"]
