"""GHG statement components (components rows of scope statement): emissions of one reporting period, such as a
month's staff travel or the site's office electricity, which Isometric attributes "automatically and evenly" to
every entry of the statement. They belong to this workbook's statement (`statement_end_on`): created with
`POST /ghg_statement_components` after the draft statement exists and before it is submitted (the submission waits
for them: `statements`), found again as the project's components of scope GHG_STATEMENT by supplier_reference_id
`<prefix>:statement_components:<ref>`, changed with `PATCH /components/{id}`. Once the statement is submitted they
cannot change: a new or changed one is a conflict that explains resubmission."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from importer.planning import shared
from importer.planning.common import Planning, enum_text
from importer.planning.env import Applied, ApplyEnv, StepFailed
from importer.planning.kind import Kind
from importer.planning.model import STATEMENT_KEY, SUBMITTED_STATUSES, Action, IdRef, NewRef, Ref

if TYPE_CHECKING:  # the API client loads lazily (the CLI starts fast)
    pass

KIND: Final = "ghg_statement_component"


def resubmission_advice(statement_id: str, status: str) -> str:
    return (
        f"; statement {statement_id} is {status}, and a submitted statement's components cannot change. Nothing was "
        "sent. To change it: if the verifier fails the statement (FAILED_VERIFICATION), correct the workbook and "
        "resubmit it (POST /ghg_statements/{id}/submit with a summary_of_changes; Isometric may also reopen it on "
        "request); otherwise leave the row as it was and put the correction in the next period's statement"
    )


def plan(p: Planning) -> list[Action]:
    rows = shared.rows_of(p, "statement")
    if not rows:
        return []
    end_on = p.wb.project.statement_end_on
    held = (
        next((s for s in p.state.statements if str(s.reporting_period_end_at) == end_on.isoformat()), None)
        if end_on is not None
        else None
    )
    statement: Ref | None = IdRef(held.id) if held is not None else NewRef(STATEMENT_KEY)
    after = () if held is not None else (STATEMENT_KEY,)
    frozen = hint = None
    if held is not None and enum_text(held.status) in SUBMITTED_STATUSES:
        frozen = f"GHG statement {held.id} is {enum_text(held.status)}"
        hint = resubmission_advice(held.id, enum_text(held.status))
    out = []
    for row in rows:
        payload, base = shared.desired(p, KIND, row, statement=statement if end_on else None, after=after)
        if end_on is None:
            reason = (
                "a statement component belongs to this workbook's statement: set statement_end_on on the project sheet"
            )
            out.append(p.record(Action(op="conflict", payload=payload, reason=reason, **base)))
            continue
        out.append(shared.compared(p, payload, base, frozen=frozen, frozen_hint=hint or ""))
    return out


def apply(action: Action, env: ApplyEnv) -> Applied:
    p = action.payload_of(shared.SharedComponentPayload)
    if action.op == "create":
        if p.statement is None:
            raise StepFailed("a statement component needs this workbook's statement (statement_end_on)")
        env.intend(action)
        from importer.api import models as api_models

        req = api_models.CreateGhgStatementComponentRequest.model_validate(
            {"ghg_statement_id": env.resolve(p.statement), "component_data": shared.component_data(action, p, env)}
        )
        created = env.client.create_ghg_statement_component(req)
        env.created(action, created.id)
        return Applied(id=created.id, entity=created)
    return shared.patched(action, p, env)


SPEC = Kind(
    name=KIND,
    sheet="components",
    label="statement components",
    noun="statement component",
    plan=plan,
    apply=apply,
    payloads=(shared.SharedComponentPayload,),
    depends_on=("datapoint", "ghg_statement"),
    registry="components",  # the project's components, all scopes: this kind claims its own references
    lookup=shared.lookup,
    reference_sheet="statement_components",
)
