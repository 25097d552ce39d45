"""What the two kinds of shared component (`project_components`, `statement_components`) plan and send alike: a
components row of scope project or statement becomes a whole component create (blueprint, inputs from
component_inputs, activity dates), compared with the component the registry holds under its supplier_reference_id
(`<prefix>:project_components:<ref>` or `<prefix>:statement_components:<ref>`: a row that changes scope is another
object, and the old one an orphan). Not a kind: the kinds call it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from importer.identity import COMPONENT_SHEETS
from importer.planning.common import (
    InputBinding,
    Planning,
    Verdict,
    classify,
    enum_text,
    input_bindings,
    input_body,
    input_ids,
    iso_z,
    names_exactly,
    placed,
    same_instant,
)
from importer.planning.env import Applied, ApplyEnv
from importer.planning.model import Action, Change, Placed, Ref
from importer.workbook.model import ComponentRow

if TYPE_CHECKING:  # the API client loads lazily (the CLI starts fast)
    from importer.api import models as m
    from importer.api.client import IsometricClient

#: the API's ComponentScope of each scope the workbook names
API_SCOPES = {"project": "PROJECT", "statement": "GHG_STATEMENT"}


@dataclass(frozen=True)
class SharedComponentPayload:
    scope: str  # "project" | "statement"
    blueprint_key: str
    display_name: str
    description: str | None
    activity_started_at: str | None
    activity_completed_at: str | None
    inputs: tuple[InputBinding, ...]
    allocation_strategy: str | None = None  # project
    statement: Ref | None = None  # statement: the workbook's statement (a NewRef when this run creates it)


def rows_of(p: Planning, scope: str) -> list[ComponentRow]:
    return [r for r in p.wb.components if r.scope == scope and r.action == "add"]


def desired(
    p: Planning, kind: str, row: ComponentRow, *, statement: Ref | None = None, after: tuple[Any, ...] = ()
) -> tuple[SharedComponentPayload, Placed]:
    """The row's payload, and where its actions stand (its datapoints, and `after`, before it)."""
    items = [ci for ci in p.wb.component_inputs if ci.component_ref == row.ref]
    key = row.blueprint_key or ""
    payload = SharedComponentPayload(
        scope=row.scope,
        blueprint_key=key,
        display_name=row.display_name or row.ref,
        description=row.description,
        activity_started_at=iso_z(row.activity_started_at),
        activity_completed_at=iso_z(row.activity_completed_at),
        inputs=input_bindings(p, key, items),
        allocation_strategy=row.allocation_strategy if row.scope == "project" else None,
        statement=statement,
    )
    srid = p.srid(kind, COMPONENT_SHEETS[row.scope], row)
    base = placed(
        kind, "components", row, srid, p.datapoint_deps([r for ci in items for r in ci.datapoint_refs]) + tuple(after)
    )
    return payload, base


def compared(
    p: Planning,
    payload: SharedComponentPayload,
    base: Placed,
    *,
    frozen: str | None = None,
    frozen_hint: str = "",
) -> Action:
    """The row's action against the component its supplier_reference_id names: create, or unchanged, update (a
    PATCH: name, description, inputs, allocation strategy) or conflict (blueprint, activity dates or scope differ,
    which no PATCH changes; or `frozen` says why nothing may change)."""
    srid = base.get("supplier_reference_id") or ""
    existing = p.existing("component", srid)
    noun = f"{payload.scope} component"
    if existing is None:
        if frozen:
            return p.record(
                Action(op="conflict", payload=payload, reason=f"{frozen}: a new {noun}{frozen_hint}", **base)
            )
        return p.record(Action(op="create", payload=payload, **base))
    changes: list[Change] = []
    if existing.display_name != payload.display_name:
        changes.append(Change("display_name", existing.display_name, payload.display_name))
    if (existing.description or None) != (payload.description or None):
        changes.append(Change("description", existing.description, payload.description))
    held = {i.input_key: input_ids(i) for i in existing.inputs}
    for item in payload.inputs:
        if not names_exactly(item.datapoints, held.get(item.input_key, [])):
            changes.append(Change(f"inputs.{item.input_key}", held.get(item.input_key, []), list(item.refs)))
    if payload.allocation_strategy and enum_text(existing.allocation_strategy) != payload.allocation_strategy:
        changes.append(
            Change("allocation_strategy", enum_text(existing.allocation_strategy), payload.allocation_strategy)
        )
    unpatchable = []
    if existing.blueprint_key != payload.blueprint_key:
        unpatchable.append("blueprint_key")
    if not same_instant(existing.activity_started_at, payload.activity_started_at):
        unpatchable.append("activity_started_at")
    if not same_instant(existing.activity_completed_at, payload.activity_completed_at):
        unpatchable.append("activity_completed_at")
    if existing.scope is not None and enum_text(existing.scope) != API_SCOPES[payload.scope]:
        unpatchable.append(f"scope ({enum_text(existing.scope)})")
    verdict: Verdict = classify(
        changes, unpatchable=tuple(unpatchable), frozen=frozen, noun=noun, ident=existing.id, frozen_hint=frozen_hint
    )
    return p.judged(verdict, payload, existing.id, changes, base)


def component_data(action: Action, payload: SharedComponentPayload, env: ApplyEnv) -> dict[str, Any]:
    """The `component_data` of a create: a whole component create (CreateComponentRequest)."""
    return {
        "supplier_reference_id": action.supplier_reference_id,
        "project_id": env.project_id,
        "component_blueprint_key": payload.blueprint_key,
        "display_name": payload.display_name,
        "description": payload.description,
        "activity_started_at": payload.activity_started_at,
        "activity_completed_at": payload.activity_completed_at,
        "inputs": [input_body(i, env.resolve) for i in payload.inputs],
    }


def patch_body(action: Action, payload: SharedComponentPayload, env: ApplyEnv) -> dict[str, Any]:
    """The PATCH /components/{id} of an update: only what changed."""
    fields = {c.field for c in action.changes}
    body: dict[str, Any] = {}
    if "display_name" in fields:
        body["display_name"] = payload.display_name
    if "description" in fields:
        body["description"] = payload.description or ""  # PatchComponentRequest: a string, never null
    if any(f.startswith("inputs.") for f in fields):
        body["inputs"] = [input_body(i, env.resolve) for i in payload.inputs]
    if "allocation_strategy" in fields:
        body["allocation_strategy"] = payload.allocation_strategy
    return body


def patched(action: Action, payload: SharedComponentPayload, env: ApplyEnv) -> Applied:
    """The update of a shared component of either scope: a PATCH of /components/{id}, as for any component."""
    assert action.existing_id is not None
    from importer.api import models as api_models

    body = api_models.PatchComponentRequest.model_validate(patch_body(action, payload, env))
    return Applied(id=action.existing_id, entity=env.client.patch_component(action.existing_id, body))


def lookup(client: IsometricClient, project_id: str, srid: str) -> list[m.Component]:
    """A rollback's look-up of an unconfirmed create of either scope: the components carrying the reference."""
    return [c for c in client.list_components(supplier_reference_id=srid) if c.supplier_reference_id == srid]
