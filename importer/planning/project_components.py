"""Project components (components rows of scope project): emissions of the whole project, such as building the
plant or the kiln's embodied emissions, amortised by Isometric over the project by their `allocation_strategy`
(or, MANUAL, by the shares of the project_component_attributions sheet: `project_attributions`). Created with
`POST /project_components` once their datapoints exist; no listing of their own: they are the project's components
of scope PROJECT (`GET /components`), found by supplier_reference_id `<prefix>:project_components:<ref>`; changed
with `PATCH /components/{id}` (name, description, inputs, allocation strategy)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from importer.planning import shared
from importer.planning.common import Planning
from importer.planning.env import Applied, ApplyEnv
from importer.planning.kind import Kind
from importer.planning.model import Action

if TYPE_CHECKING:  # the API client loads lazily (the CLI starts fast)
    pass

KIND: Final = "project_component"


def plan(p: Planning) -> list[Action]:
    out = []
    for row in shared.rows_of(p, "project"):
        payload, base = shared.desired(p, KIND, row)
        out.append(shared.compared(p, payload, base))
    return out


def apply(action: Action, env: ApplyEnv) -> Applied:
    p = action.payload_of(shared.SharedComponentPayload)
    if action.op == "create":
        env.intend(action)
        from importer.api import models as api_models

        req = api_models.CreateProjectComponentRequest.model_validate(
            {"allocation_strategy": p.allocation_strategy, "component_data": shared.component_data(action, p, env)}
        )
        created = env.client.create_project_component(req)
        env.created(action, created.id)
        return Applied(id=created.id, entity=created)
    return shared.patched(action, p, env)


SPEC = Kind(
    name=KIND,
    sheet="components",
    label="project components",
    noun="project component",
    plan=plan,
    apply=apply,
    payloads=(shared.SharedComponentPayload,),
    depends_on=("datapoint",),
    registry="components",  # the project's components, all scopes: this kind claims its own references
    lookup=shared.lookup,
    reference_sheet="project_components",
)
