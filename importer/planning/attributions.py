"""Component attributions: which extra components a GHG entry counts (and with what factor), and which
template components it drops. One action per components-sheet row; applied per entry, with one PATCH for
the removals and one for the additions."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from importer.planning.common import Planning, template_component_of
from importer.planning.env import Applied, ApplyEnv, StepFailed
from importer.planning.kind import Kind
from importer.planning.model import Action, Change, Ref, Where

if TYPE_CHECKING:
    from importer.api import models as m

KIND = "component_attribution"


@dataclass(frozen=True)
class AttributionPayload:
    entry: Ref
    entry_ref: str
    action: str  # "add" | "remove"
    component: Ref | None = None  # add: the extra component
    group: str | None = None
    attribution_factor: float = 1.0
    replace: bool = False  # add: an attribution exists with another group or factor (removed, then added)
    template_component_id: str | None = None  # remove: the template component to drop
    template_component: str | None = None  # as written


def plan(p: Planning) -> list[Action]:
    out = []
    for row in p.wb.components:
        if not row.entry_scoped:  # a shared component is attributed by Isometric (or by its MANUAL shares)
            continue
        entry_dep = p.deps("ghg_entry", [row.entry_ref])
        entry = p.ref("ghg_entry", row.entry_ref)
        entry_id = p.existing_id("ghg_entry", row.entry_ref)
        attributions = p.state.entry_attributions.get(entry_id) if entry_id else None
        base: Where = dict(kind=KIND, ref=row.ref, sheet="components", row=row.row)
        if row.action == "add":
            comp_id = p.existing_id("component", row.ref)
            payload = AttributionPayload(
                entry=entry,
                entry_ref=row.entry_ref,
                action="add",
                component=p.ref("component", row.ref),
                group=row.group,
                attribution_factor=row.attribution_factor,
            )
            deps = entry_dep + (("component", row.ref),)
            srid = p.srids.get(("component", row.ref))
            current = next((a for a in attributions or [] if a.component_id == comp_id), None) if comp_id else None
            if current is None:
                out.append(Action(op="create", payload=payload, depends_on=deps, supplier_reference_id=srid, **base))
            elif current.component_group_key == row.group and math.isclose(
                float(current.attribution_factor), row.attribution_factor
            ):
                out.append(
                    Action(
                        op="unchanged",
                        payload=payload,
                        depends_on=deps,
                        existing_id=current.id,
                        supplier_reference_id=srid,
                        **base,
                    )
                )
            else:
                changes = (
                    Change("component_group_key", current.component_group_key, row.group),
                    Change("attribution_factor", float(current.attribution_factor), row.attribution_factor),
                )
                out.append(
                    Action(
                        op="update",
                        payload=replace(payload, replace=True),
                        depends_on=deps,
                        existing_id=current.id,
                        changes=changes,
                        supplier_reference_id=srid,
                        **base,
                    )
                )
            continue
        entry_row = next((e for e in p.wb.entries if e.ref == row.entry_ref), None)
        template = p.ctx.resolve_template(entry_row.template) if entry_row else None
        pair = p.ctx.resolve_template_component(template, row.template_component or "") if template else None
        payload = AttributionPayload(
            entry=entry,
            entry_ref=row.entry_ref,
            action="remove",
            template_component_id=pair[1].id if pair else None,
            template_component=row.template_component,
        )
        op = "update"
        if entry_id and attributions is not None:
            comps = p.state.entry_components.get(entry_id, [])
            comp = next((c for c in comps if pair and template_component_of(c) == pair[1].id), None)
            attached = comp is not None and any(a.component_id == comp.id for a in attributions)
            op = "update" if attached else "unchanged"
        out.append(
            Action(
                op=op,  # type: ignore[arg-type]
                payload=payload,
                depends_on=entry_dep,
                changes=(Change("removed"),) if op == "update" else (),
                **base,
            )
        )
    return out


def apply_entry(actions: list[Action], env: ApplyEnv) -> dict[tuple[str, str], Applied]:
    """All attribution changes of one GHG entry: removals first, then additions (one PATCH each)."""
    first = actions[0].payload_of(AttributionPayload)
    entry_id = env.resolve(first.entry)
    to_remove: list[str] = []
    to_add: list[dict[str, object]] = []  # validated into ComponentToAttribute
    done: dict[tuple[str, str], Applied] = {}
    for action in actions:
        p = action.payload_of(AttributionPayload)
        if p.action == "add":
            assert p.component is not None
            comp_id = env.resolve(p.component)
            if p.replace:
                to_remove.append(comp_id)
            to_add.append(
                {"component_id": comp_id, "component_group_key": p.group, "attribution_factor": p.attribution_factor}
            )
            done[action.key] = Applied(id=action.existing_id)
        else:
            comps = env.client.list_components(ghg_entry_id=entry_id)
            comp = next(
                (c for c in comps if p.template_component_id and template_component_of(c) == p.template_component_id),
                None,
            )
            if comp is None:
                raise StepFailed(f"entry {p.entry_ref!r} has no component {p.template_component!r} to remove")
            to_remove.append(comp.id)
            done[action.key] = Applied(id=comp.id)
    from importer.api import models as api_models

    model = api_models.PatchComponentAttributionsRequest
    answer = None  # the entry as the last PATCH left it (the API answers each with the GHG entry)
    if to_remove:
        answer = env.client.patch_component_attributions(
            entry_id, model.model_validate({"components_to_remove": to_remove})
        )
    if to_add:
        answer = env.client.patch_component_attributions(entry_id, model.model_validate({"components_to_add": to_add}))
    # the answer is the entry, not its attributions: read them once, so a re-run knows them without reading (a
    # read that fails fails nothing: the PATCH is done, and the next run reads them)
    try:
        held: tuple[str, tuple[m.ComponentAttribution, ...] | None] = (
            entry_id,
            tuple(env.client.list_component_attributions(entry_id)),
        )
    except Exception:
        held = (entry_id, None)
    return {key: replace(applied, entity=answer, attributions=held) for key, applied in done.items()}


SPEC = Kind(
    name=KIND,
    sheet="components",
    label="component attributions",
    noun="component attribution",
    plan=plan,
    apply_group=apply_entry,
    group_of=lambda action: action.payload_of(AttributionPayload).entry_ref,
    payloads=(AttributionPayload,),
    depends_on=("ghg_entry", "component"),
    owned=False,
)
