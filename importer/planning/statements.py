"""The GHG statement: created with its end date (the start is inferred: the day after the previous
statement's end, or the project's earliest entry), then optionally submitted. Diff: an end date overlapping a
later statement is a conflict; new entries completing inside an already closed period are conflicts; entries
completing after the end date are noted."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from importer.planning.common import Planning, enum_text
from importer.planning.env import Applied, ApplyEnv, StepFailed
from importer.planning.kind import Kind
from importer.planning.model import STATEMENT_KEY, Action, Change, Placed

KIND = "ghg_statement"


@dataclass(frozen=True)
class StatementPayload:
    end_on: str
    submit: bool
    report_url: str | None
    start_on: str | None = None
    previous: str | None = None  # the statement this one follows


def plan(p: Planning) -> list[Action]:
    """The statement's action; the entries planned before it (`p.planned`) that would complete in a closed
    period become conflicts."""
    entries = [a for a in p.planned if a.kind == "ghg_entry"]
    statement, entries = _plan(p, entries)
    changed = {a.key: a for a in entries}
    p.planned[:] = [changed.get(a.key, a) if a.kind == "ghg_entry" else a for a in p.planned]
    return statement


def _plan(p: Planning, entries: list[Action]) -> tuple[list[Action], list[Action]]:
    end_on = p.wb.project.statement_end_on
    if end_on is None:
        return [], entries
    # every entry and attribution; and every source: a statement is not created or submitted while an evidence
    # document failed to arrive (a source's dependants start once it exists, before its upload is done)
    deps = (
        tuple(("ghg_entry", e.ref) for e in p.wb.entries)
        + tuple(("component_attribution", c.ref) for c in p.wb.components)
        + tuple(("source", s.ref) for s in p.wb.sources)
    )
    payload = StatementPayload(
        end_on=end_on.isoformat(), submit=p.submit, report_url=p.wb.project.ghg_statement_report_url
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
        return [
            Action(
                op="update" if submitting else "unchanged",
                payload=payload,
                existing_id=same.id,
                changes=submit_change if submitting else (),
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
    return [Action(op="create", payload=payload, changes=submit_change, **base)], entries


def apply(action: Action, env: ApplyEnv) -> Applied:
    p = action.payload_of(StatementPayload)
    statement = None
    if action.op == "create":
        req = env.models.CreateGhgStatementRequest.model_validate({"project_id": env.project_id, "end_on": p.end_on})
        statement = env.client.create_ghg_statement(req)
        env.created(action, statement.id)
    else:
        assert action.existing_id is not None
        statement = env.client.get_ghg_statement(action.existing_id)
    if p.submit and enum_text(statement.status) == "DRAFT":
        if not p.report_url:
            raise StepFailed("submitting needs ghg_statement_report_url on the project sheet")
        submission = env.models.SubmitGhgStatementRequest.model_validate({"ghg_statement_report_url": p.report_url})
        statement = env.client.submit_ghg_statement(statement.id, submission)
    return Applied(id=statement.id, entity=statement)


SPEC = Kind(
    name=KIND,
    sheet="project",
    label="GHG statement",
    plan=plan,
    apply=apply,
    payloads=(StatementPayload,),
    depends_on=("source", "ghg_entry", "component_attribution"),
    owned=False,
)
