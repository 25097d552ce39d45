"""Extra components, created from a blueprint with the workbook's datapoints as inputs. Desired state from
the components (action add) and component_inputs sheets; diff (blueprint and activity dates cannot be PATCHed:
a conflict advising a new ref); apply."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Final

from importer.planning.common import (
    InputBinding,
    Planning,
    classify,
    input_bindings,
    input_body,
    input_ids,
    iso_z,
    names_exactly,
    placed,
    same_instant,
)
from importer.planning.env import Applied, ApplyEnv
from importer.planning.kind import Kind
from importer.planning.model import Action, Change
from importer.workbook.model import ComponentInputRow

KIND: Final = "component"


@dataclass(frozen=True)
class ComponentPayload:
    blueprint_key: str
    display_name: str
    description: str | None
    activity_started_at: str | None
    activity_completed_at: str | None
    inputs: tuple[InputBinding, ...]


def plan(p: Planning) -> list[Action]:
    given: dict[str, list[ComponentInputRow]] = defaultdict(list)
    for ci in p.wb.component_inputs:
        given[ci.component_ref].append(ci)
    out = []
    for row in p.wb.components:
        if row.action != "add" or not row.entry_scoped:  # shared ones: `project_components`, `statement_components`
            continue
        items = given.get(row.ref, [])
        key = row.blueprint_key or ""
        payload = ComponentPayload(
            blueprint_key=key,
            display_name=row.display_name or row.ref,
            description=row.description,
            activity_started_at=iso_z(row.activity_started_at),
            activity_completed_at=iso_z(row.activity_completed_at),
            inputs=input_bindings(p, key, items),
        )
        srid = p.srid(KIND, "components", row)
        base = placed(KIND, "components", row, srid, p.datapoint_deps([r for ci in items for r in ci.datapoint_refs]))
        existing = p.existing(KIND, srid)
        if existing is None:
            out.append(p.record(Action(op="create", payload=payload, **base)))
            continue
        changes: list[Change] = []
        if row.display_name and existing.display_name != row.display_name:
            changes.append(Change("display_name", existing.display_name, row.display_name))
        if (existing.description or None) != (row.description or None):
            changes.append(Change("description", existing.description, row.description))
        held = {i.input_key: input_ids(i) for i in existing.inputs}
        for item in payload.inputs:
            if not names_exactly(item.datapoints, held.get(item.input_key, [])):
                changes.append(Change(f"inputs.{item.input_key}", held.get(item.input_key, []), list(item.refs)))
        unpatchable = []
        if existing.blueprint_key != row.blueprint_key:
            unpatchable.append("blueprint_key")
        if not same_instant(existing.activity_started_at, row.activity_started_at):
            unpatchable.append("activity_started_at")
        if not same_instant(existing.activity_completed_at, row.activity_completed_at):
            unpatchable.append("activity_completed_at")
        verdict = classify(changes, unpatchable=tuple(unpatchable), noun="component", ident=existing.id)
        out.append(p.judged(verdict, payload, existing.id, changes, base))
    return out


def apply(action: Action, env: ApplyEnv) -> Applied:
    p = action.payload_of(ComponentPayload)
    inputs = [input_body(i, env.resolve) for i in p.inputs]
    if action.op == "create":
        env.intend(action)
        from importer.api import models as api_models

        req = api_models.CreateComponentRequest.model_validate(
            {
                "supplier_reference_id": action.supplier_reference_id,
                "project_id": env.project_id,
                "component_blueprint_key": p.blueprint_key,
                "display_name": p.display_name,
                "description": p.description,
                "activity_started_at": p.activity_started_at,
                "activity_completed_at": p.activity_completed_at,
                "inputs": inputs,
            }
        )
        created = env.client.create_component(req)
        env.created(action, created.id)
        return Applied(id=created.id, entity=created)
    assert action.existing_id is not None
    fields = {c.field for c in action.changes}
    body: dict[str, object] = {}  # validated into the PATCH request
    if "display_name" in fields:
        body["display_name"] = p.display_name
    if "description" in fields:
        body["description"] = p.description or ""  # PatchComponentRequest: a string, never null
    if any(f.startswith("inputs.") for f in fields):
        body["inputs"] = inputs
    from importer.api import models as api_models

    entity = env.client.patch_component(action.existing_id, api_models.PatchComponentRequest.model_validate(body))
    return Applied(id=action.existing_id, entity=entity)


SPEC = Kind(
    name=KIND,
    sheet="components",
    label="components",
    noun="component",
    carried="project",
    leaves_entries=frozenset({"created"}),
    plan=plan,
    apply=apply,
    payloads=(ComponentPayload,),
    depends_on=("datapoint", "measurement_sample", "ghg_entry"),
    registry="components",
)
