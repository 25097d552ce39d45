"""The GHG statement: created with its end date (the start is inferred: the day after the previous
statement's end, or the project's earliest entry), then optionally submitted. Diff: an end date overlapping a
later statement is a conflict; new entries completing inside an already closed period are conflicts; entries
completing after the end date are noted. With statement components (`statement_components`), which need the draft
statement and must go in before it is submitted, the submission is an action of its own (`submission`) that waits
for them, and for the project components and their MANUAL shares."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from importer.planning.common import Planning, enum_text
from importer.planning.env import Applied, ApplyEnv, StepFailed
from importer.planning.kind import Kind
from importer.planning.model import STATEMENT_KEY, Action, Change, IdRef, Key, NewRef, Placed, Ref

KIND = "ghg_statement"


@dataclass(frozen=True)
class StatementPayload:
    end_on: str
    submit: bool
    report_url: str | None
    start_on: str | None = None
    previous: str | None = None  # the statement this one follows
    #: the submission is an action of its own (`SUBMISSION`), after the statement components
    submit_later: bool = False
    statement: Ref | None = None  # the submission's statement (a NewRef when this run creates it)


#: the key of a statement's separate submission (statement components go in between)
SUBMISSION: Key = ("ghg_statement", "submission")


def plan(p: Planning) -> list[Action]:
    """The statement's action; the entries planned before it (`p.planned`) that would complete in a closed
    period become conflicts. With statement components and a submission, the submission follows on its own."""
    entries = [a for a in p.planned if a.kind == "ghg_entry"]
    statement, entries = _plan(p, entries)
    changed = {a.key: a for a in entries}
    p.planned[:] = [changed.get(a.key, a) if a.kind == "ghg_entry" else a for a in p.planned]
    return statement + _submission(p, statement)


def _shared_keys(p: Planning) -> tuple[Key, ...]:
    """What a submission waits for besides the statement: the project components and their MANUAL shares."""
    return tuple(("project_component", c.ref) for c in p.wb.components if c.scope == "project") + tuple(
        ("project_component_attribution", f"{a.component}@{a.entry}") for a in p.wb.project_component_attributions
    )


def _submission(p: Planning, statement: list[Action]) -> list[Action]:
    """The separate submission of a statement that gets statement components: it waits for them."""
    shared = [c.ref for c in p.wb.components if c.scope == "statement" and c.action == "add"]
    if not shared or not statement or statement[0].op == "conflict":
        return []
    first = statement[0]
    payload = first.payload_of(StatementPayload)
    if not payload.submit_later:
        return []
    ref: Ref = IdRef(first.existing_id) if first.existing_id else NewRef(STATEMENT_KEY)
    after = () if first.existing_id else (STATEMENT_KEY,)
    return [
        Action(
            kind=KIND,
            ref=SUBMISSION[1],
            sheet=first.sheet,
            row=p.wb.project_rows.get("submit_statement", first.row),
            op="update",
            payload=replace(payload, submit_later=False, statement=ref),
            existing_id=first.existing_id,
            changes=(Change("submit for verification"),),
            depends_on=after
            + tuple(("ghg_statement_component", r) for r in shared)
            + _shared_keys(p)
            + first.depends_on,
        )
    ]


def _plan(p: Planning, entries: list[Action]) -> tuple[list[Action], list[Action]]:
    end_on = p.wb.project.statement_end_on
    if end_on is None:
        return [], entries
    # every entry and attribution; and every source: a statement is not created or submitted while an evidence
    # document failed to arrive (a source's dependants start once it exists, before its upload is done)
    deps = (
        tuple(("ghg_entry", e.ref) for e in p.wb.entries)
        + tuple(("component_attribution", c.ref) for c in p.wb.components if c.entry_scoped)
        + tuple(("source", s.ref) for s in p.wb.sources)
        + _shared_keys(p)
    )
    payload = StatementPayload(
        end_on=end_on.isoformat(),
        submit=p.submit,
        report_url=p.wb.project.ghg_statement_report_url,
        submit_later=p.submit and any(c.scope == "statement" and c.action == "add" for c in p.wb.components),
    )
    base: Placed = dict(
        kind=KIND, ref=STATEMENT_KEY[1], sheet="project", row=p.wb.project_rows.get("statement_end_on"), depends_on=deps
    )
    same = next((s for s in p.state.statements if str(s.reporting_period_end_at) == end_on.isoformat()), None)
    previous = [s for s in p.state.statements if str(s.reporting_period_end_at) < end_on.isoformat()]
    later = [s for s in p.state.statements if str(s.reporting_period_end_at) > end_on.isoformat()]
    submit_change = (Change("submit for verification"),) if p.submit else ()
    for entry in p.wb.entries:
        if entry.completed_on > end_on:
            p.messages.append(
                f"entries row {entry.row} ({entry.ref}) completes on {entry.completed_on}, after "
                f"statement_end_on {end_on}: it will not be in this statement"
            )
    if same is not None:
        payload = replace(payload, start_on=str(same.reporting_period_start_at))
        submitting = p.submit and enum_text(same.status) == "DRAFT"
        if not submitting:
            payload = replace(payload, submit_later=False)  # nothing to submit: no submission of its own
        here = submitting and not payload.submit_later
        return [
            Action(
                op="update" if here else "unchanged",
                payload=payload,
                existing_id=same.id,
                changes=submit_change if here else (),
                **base,
            )
        ], entries
    if later:
        last = later[-1]
        return [
            Action(
                op="conflict",
                payload=payload,
                reason=(
                    f"statement_end_on {end_on} would overlap statement {last.id} ({last.reporting_period_start_at} to "
                    f"{last.reporting_period_end_at}); statements are contiguous and may not overlap: choose an end "
                    "date "
                    f"after {last.reporting_period_end_at}"
                ),
                **base,
            )
        ], entries
    if previous:
        start = dt.date.fromisoformat(str(previous[-1].reporting_period_end_at)) + dt.timedelta(days=1)
        payload = replace(payload, start_on=start.isoformat(), previous=previous[-1].id)
        completed = {e.ref: e.completed_on for e in p.wb.entries}
        entries = [
            replace(
                a,
                op="conflict",
                reason=(
                    f"entry completes on {completed[a.ref]}, inside the period of statement {previous[-1].id} (ends "
                    f"{previous[-1].reporting_period_end_at}); it would fall in a closed period. The new statement "
                    f"starts on {start}"
                ),
            )
            if a.op == "create" and completed[a.ref] < start
            else a
            for a in entries
        ]
    else:
        starts = [e.started_on for e in p.wb.entries]
        payload = replace(payload, start_on=min(starts).isoformat() if starts else None)
    changes = () if payload.submit_later else submit_change
    return [Action(op="create", payload=payload, changes=changes, **base)], entries


def apply(action: Action, env: ApplyEnv) -> Applied:
    p = action.payload_of(StatementPayload)
    statement = None
    if p.statement is not None:  # the submission of its own, after the statement components
        statement = env.client.get_ghg_statement(env.resolve(p.statement))
    elif action.op == "create":
        from importer.api import models as api_models

        req = api_models.CreateGhgStatementRequest.model_validate({"project_id": env.project_id, "end_on": p.end_on})
        statement = env.client.create_ghg_statement(req)
        env.created(action, statement.id)
    else:
        assert action.existing_id is not None
        statement = env.client.get_ghg_statement(action.existing_id)
    if p.submit and not p.submit_later and enum_text(statement.status) == "DRAFT":
        if not p.report_url:
            raise StepFailed("submitting needs ghg_statement_report_url on the project sheet")
        from importer.api import models as api_models

        submission = api_models.SubmitGhgStatementRequest.model_validate({"ghg_statement_report_url": p.report_url})
        statement = env.client.submit_ghg_statement(statement.id, submission)
    return Applied(id=statement.id, entity=statement)


SPEC = Kind(
    name=KIND,
    sheet="project",
    label="GHG statement",
    noun="GHG statement",
    plan=plan,
    apply=apply,
    payloads=(StatementPayload,),
    depends_on=("source", "ghg_entry", "component_attribution"),
    owned=False,
)
