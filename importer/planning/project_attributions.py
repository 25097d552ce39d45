"""The shares of MANUAL project components (sheet `project_component_attributions`): which GHG entry carries what
fraction of a project component. `POST /project_components/{id}/ghg_entry_attributions` sets an entry's share (sent
again, it sets the new factor), `DELETE .../ghg_entry_attributions/{entry}` takes it away. What each entry holds is
read from its component attributions (`GET /ghg_entries/{id}/component_attributions`: the snapshot lists them for
the workbook's entries when it has MANUAL components); a share the workbook no longer gives, of a MANUAL component
of the workbook, is taken away."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from importer.planning.common import Planning
from importer.planning.env import Applied, ApplyEnv
from importer.planning.kind import Kind
from importer.planning.model import Action, Change, Ref, Where

KIND: Final = "project_component_attribution"
SHEET: Final = "project_component_attributions"


@dataclass(frozen=True)
class ProjectAttributionPayload:
    component: Ref
    component_ref: str
    entry: Ref
    entry_ref: str
    attribution_factor: float
    remove: bool = False  # a share the workbook no longer gives


def plan(p: Planning) -> list[Action]:
    out: list[Action] = []
    given: set[tuple[str, str]] = set()
    for row in p.wb.project_component_attributions:
        comp_id = p.existing_id("project_component", row.component)
        entry_id = p.existing_id("ghg_entry", row.entry)
        payload = ProjectAttributionPayload(
            component=p.ref("project_component", row.component),
            component_ref=row.component,
            entry=p.ref("ghg_entry", row.entry),
            entry_ref=row.entry,
            attribution_factor=float(row.attribution_factor),
        )
        given.add((row.component, row.entry))
        base: Where = dict(kind=KIND, ref=f"{row.component}@{row.entry}", sheet=SHEET, row=row.row)
        deps = p.deps("project_component", [row.component]) + p.deps("ghg_entry", [row.entry])
        held = p.state.entry_attributions.get(entry_id) if entry_id else None
        current = next((a for a in held or [] if a.component_id == comp_id), None) if comp_id else None
        if current is None:
            out.append(Action(op="create", payload=payload, depends_on=deps, **base))
        elif math.isclose(float(current.attribution_factor), payload.attribution_factor):
            out.append(Action(op="unchanged", payload=payload, depends_on=deps, existing_id=current.id, **base))
        else:
            change = Change("attribution_factor", float(current.attribution_factor), payload.attribution_factor)
            out.append(
                Action(op="update", payload=payload, depends_on=deps, existing_id=current.id, changes=(change,), **base)
            )
    manual = {
        comp_id: row.ref
        for row in p.wb.components
        if row.scope == "project" and row.allocation_strategy == "MANUAL"
        for comp_id in [p.existing_id("project_component", row.ref)]
        if comp_id is not None
    }
    for entry in p.wb.entries:
        entry_id = p.existing_id("ghg_entry", entry.ref)
        for a in p.state.entry_attributions.get(entry_id or "", []):
            comp_ref = manual.get(a.component_id)
            if comp_ref is None or (comp_ref, entry.ref) in given:
                continue
            payload = ProjectAttributionPayload(
                component=p.ref("project_component", comp_ref),
                component_ref=comp_ref,
                entry=p.ref("ghg_entry", entry.ref),
                entry_ref=entry.ref,
                attribution_factor=float(a.attribution_factor),
                remove=True,
            )
            out.append(
                Action(
                    kind=KIND,
                    ref=f"{comp_ref}@{entry.ref}",
                    sheet=SHEET,
                    row=None,
                    op="update",
                    payload=payload,
                    existing_id=a.id,
                    changes=(Change("removed", float(a.attribution_factor), None),),
                    notes=(f"no row of {SHEET} gives {comp_ref!r} to entry {entry.ref!r} any more",),
                )
            )
    return out


def apply(action: Action, env: ApplyEnv) -> Applied:
    p = action.payload_of(ProjectAttributionPayload)
    component_id, entry_id = env.resolve(p.component), env.resolve(p.entry)
    if p.remove:
        env.client.remove_project_component_attribution(component_id, entry_id)
        return Applied(id=action.existing_id, status="deleted")
    from importer.api import models as api_models

    req = api_models.ProjectComponentAttributionRequest.model_validate(
        {"ghg_entry_id": entry_id, "attribution_factor": p.attribution_factor}
    )
    entity = env.client.attribute_project_component(component_id, req)
    return Applied(id=action.existing_id, entity=entity)


SPEC = Kind(
    name=KIND,
    sheet=SHEET,
    label="project component shares",
    noun="project component share",
    plan=plan,
    apply=apply,
    payloads=(ProjectAttributionPayload,),
    depends_on=("ghg_entry", "project_component"),
    owned=False,
)
