"""GHG entries, made from the project's templates with only the monitored inputs sent. Desired state from
the entries and entry_inputs sheets; diff (dates, feedstock type, which datapoints feed each monitored input;
an entry in a submitted statement is a conflict, and a feedstock type cannot be cleared through the API);
apply (create, or PATCH the entry and re-bind the held components' inputs); the entry's lineage."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Final

from importer.context import ProjectContext
from importer.planning.common import (
    InputBinding,
    Planning,
    SentComponent,
    classify,
    enum_text,
    input_body,
    input_ids,
    input_shape,
    names_exactly,
    placed,
    template_component_of,
)
from importer.planning.env import Applied, ApplyEnv, StepFailed
from importer.planning.kind import Kind
from importer.planning.known import signature_of
from importer.planning.model import SUBMITTED_STATUSES, Action, Change, IdRef, Ref
from importer.results import ComponentLineage, DatapointLineage, EntryLineage, InputLineage
from importer.workbook.model import ComponentInputRow, ComponentRow, Workbook

KIND: Final = "ghg_entry"


@dataclass(frozen=True)
class ComponentBinding:
    """The monitored inputs the workbook binds for one template component."""

    template_component_id: str
    blueprint_key: str
    inputs: tuple[InputBinding, ...]


@dataclass(frozen=True)
class Rebinding:
    """An existing entry's component whose monitored inputs change. PatchComponentRequest.inputs replaces
    every input, so the held ones (fixed inputs too) are kept and the bound ones replaced."""

    component_id: str
    template_component_id: str
    blueprint_key: str
    held: tuple[InputBinding, ...]


@dataclass(frozen=True)
class GhgEntryPayload:
    template_id: str
    template_name: str
    started_on: str
    completed_on: str
    feedstock_type: Ref | None
    feedstock_ref: str | None
    components: tuple[ComponentBinding, ...]
    rebind: tuple[Rebinding, ...] = ()


def bindings(wb: Workbook, ctx: ProjectContext) -> dict[str, dict[str, dict[str, tuple[str, ...]]]]:
    """entry ref -> template component id -> input key -> datapoint refs."""
    out: dict[str, dict[str, dict[str, tuple[str, ...]]]] = defaultdict(lambda: defaultdict(dict))
    entries = {e.ref: e for e in wb.entries}
    for item in wb.entry_inputs:
        entry = entries.get(item.entry_ref)
        template = ctx.resolve_template(entry.template) if entry else None
        pair = ctx.resolve_template_component(template, item.template_component) if template else None
        if pair is None:
            continue
        out[item.entry_ref][pair[1].id][item.input_key] = item.datapoint_refs
    return out


def plan(p: Planning) -> list[Action]:
    bound = bindings(p.wb, p.ctx)
    statements = {s.id: s for s in p.state.statements}
    out = []
    for row in p.wb.entries:
        template = p.ctx.resolve_template(row.template)
        assert template is not None  # the online checks refused unknown templates
        blueprint_of = {c.id: c.blueprint_key for _, c in p.ctx.template_components(template)}
        wanted = bound.get(row.ref, {})
        components = tuple(
            ComponentBinding(
                rtc,
                blueprint_of[rtc],
                tuple(
                    InputBinding(
                        key,
                        input_shape(p.ctx, blueprint_of[rtc], key),
                        tuple(p.datapoint_ref(r) for r in refs),
                        refs,
                    )
                    for key, refs in inputs.items()
                ),
            )
            for rtc, inputs in wanted.items()
        )
        refs = [r for comp in wanted.values() for rs in comp.values() for r in rs]
        deps = p.datapoint_deps(refs) + (p.deps("feedstock_type", [row.feedstock_type]) if row.feedstock_type else ())
        srid = p.srid(KIND, "entries", row)
        payload = GhgEntryPayload(
            template_id=template.id,
            template_name=template.display_name,
            started_on=row.started_on.isoformat(),
            completed_on=row.completed_on.isoformat(),
            feedstock_type=p.ref("feedstock_type", row.feedstock_type) if row.feedstock_type else None,
            feedstock_ref=row.feedstock_type,
            components=components,
        )
        base = placed(KIND, "entries", row, srid, deps)
        existing = p.existing(KIND, srid)
        if existing is None:
            out.append(p.record(Action(op="create", payload=payload, **base)))
            continue
        changes: list[Change] = []
        if str(existing.started_on) != payload.started_on:
            changes.append(Change("started_on", str(existing.started_on), payload.started_on))
        if str(existing.completed_on) != payload.completed_on:
            changes.append(Change("completed_on", str(existing.completed_on), payload.completed_on))
        uncleared: tuple[str, ...] = ()
        if row.feedstock_type:
            want = payload.feedstock_type.id if isinstance(payload.feedstock_type, IdRef) else None
            if (existing.feedstock_type_id or None) != want:
                changes.append(Change("feedstock_type_id", existing.feedstock_type_id, row.feedstock_type))
        elif existing.feedstock_type_id:
            uncleared = ("feedstock_type_id",)  # PatchGhgEntryRequest.feedstock_type_id: an ID or Undefined
        rebind = []
        held_comps = p.state.entry_components.get(existing.id, [])
        for binding in components:
            comp = next((c for c in held_comps if template_component_of(c) == binding.template_component_id), None)
            if comp is None:
                continue
            held = {i.input_key: input_ids(i) for i in comp.inputs}
            differs = False
            for item in binding.inputs:
                if not names_exactly(item.datapoints, held.get(item.input_key, [])):
                    differs = True
                    changes.append(Change(f"inputs.{item.input_key}", held.get(item.input_key, []), list(item.refs)))
            if differs:
                rebind.append(
                    Rebinding(
                        comp.id,
                        binding.template_component_id,
                        comp.blueprint_key,
                        tuple(
                            InputBinding(
                                i.input_key,
                                "LIST" if i.datapoint_ids is not None else "SCALAR",
                                tuple(IdRef(d) for d in input_ids(i)),
                            )
                            for i in comp.inputs
                        ),
                    )
                )
        statement = statements.get(existing.ghg_statement_id or "")
        submitted = statement is not None and enum_text(statement.status) in SUBMITTED_STATUSES
        frozen = (
            f"GHG entry {existing.id} is in submitted statement {statement.id} ({enum_text(statement.status)})"
            if submitted and statement is not None
            else None
        )
        verdict = classify(
            changes,
            unclearable=uncleared,
            frozen=frozen,
            noun="GHG entry",
            ident=existing.id,
            clear_hint="give the entry a new ref (a new GHG entry) or remove its feedstock type in the Certify UI",
        )
        if uncleared:
            changes.append(Change("feedstock_type_id", existing.feedstock_type_id, None))
        out.append(p.judged(verdict, replace(payload, rebind=tuple(rebind)), existing.id, changes, base))
    return out


def apply(action: Action, env: ApplyEnv) -> Applied:
    p = action.payload_of(GhgEntryPayload)
    feedstock_id = env.resolve(p.feedstock_type) if p.feedstock_type is not None else None
    if action.op == "create":
        env.intend(action)
        sent: list[SentComponent] = [
            {
                "ghg_entry_template_component_id": c.template_component_id,
                "inputs": [input_body(i, env.resolve) for i in c.inputs],
            }
            for c in p.components
        ]
        from importer.api import models as api_models

        req = api_models.CreateGhgEntryRequest.model_validate(
            {
                "supplier_reference_id": action.supplier_reference_id,
                "project_id": env.project_id,
                "started_on": p.started_on,
                "completed_on": p.completed_on,
                "ghg_entry_template_id": p.template_id,
                "feedstock_type_id": feedstock_id,
                "ghg_entry_template_components": sent,
            }
        )
        created = env.client.create_ghg_entry(req)
        env.created(action, created.id, sent_inputs=signature_of(sent))
        return Applied(id=created.id, entity=created)
    assert action.existing_id is not None
    fields = {c.field for c in action.changes}
    body: dict[str, object] = {}  # validated into the PATCH request
    if "started_on" in fields:
        body["started_on"] = p.started_on
    if "completed_on" in fields:
        body["completed_on"] = p.completed_on
    if "feedstock_type_id" in fields:
        if feedstock_id is None:  # the planner refuses this as a conflict; never send a null
            raise StepFailed("the API cannot clear a GHG entry's feedstock type")
        body["feedstock_type_id"] = feedstock_id
    entity = None
    if body:
        from importer.api import models as api_models

        entity = env.client.patch_ghg_entry(action.existing_id, api_models.PatchGhgEntryRequest.model_validate(body))
    wanted = {c.template_component_id: c for c in p.components}
    for comp in p.rebind:
        merged = {i.input_key: input_body(i, env.resolve) for i in comp.held}
        for item in wanted[comp.template_component_id].inputs:
            merged[item.input_key] = input_body(item, env.resolve)
        from importer.api import models as api_models

        rebound = api_models.PatchComponentRequest.model_validate({"inputs": list(merged.values())})
        env.client.patch_component(comp.component_id, rebound)
    return Applied(id=action.existing_id, entity=entity)


def lineage(
    action: Action,
    ctx: ProjectContext,
    wb_components: list[ComponentRow],
    wb_component_inputs: list[ComponentInputRow],
    dp_lineage: Callable[[str], DatapointLineage],
    entry_id: str | None,
    status: str,
    co2e: float | None,
) -> EntryLineage:
    """template -> components -> inputs -> datapoints -> sources, for one entry. `dp_lineage(ref)` gives a
    datapoint's lineage (a workbook ref or an ID)."""
    p = action.payload_of(GhgEntryPayload)
    template = next((t for t in ctx.templates if t.id == p.template_id), None)
    out = EntryLineage(
        ref=action.ref,
        id=entry_id,
        status=status,
        template_id=p.template_id,
        template_name=p.template_name,
        started_on=p.started_on,
        completed_on=p.completed_on,
        co2e_net_removed_kg=co2e,
    )
    bound = {c.template_component_id: {i.input_key: i.refs for i in c.inputs} for c in p.components}
    removed = {c.template_component for c in wb_components if c.entry_ref == action.ref and c.action == "remove"}
    if template is not None:
        for group, comp in ctx.template_components(template):
            origin = (
                "removed"
                if {comp.id, comp.display_name, comp.blueprint_key} & {r for r in removed if r}
                else "template"
            )
            inputs = []
            for spec in comp.inputs:
                kind = "fixed" if enum_text(spec.type).endswith("fixed") else "monitored"
                refs = (
                    (spec.datapoint_id,)
                    if kind == "fixed" and spec.datapoint_id
                    else bound.get(comp.id, {}).get(spec.input_key, ())
                )
                inputs.append(
                    InputLineage(input_key=spec.input_key, kind=kind, datapoints=[dp_lineage(r) for r in refs])
                )
            out.components.append(
                ComponentLineage(
                    display_name=comp.display_name,
                    blueprint_key=comp.blueprint_key,
                    group=group.key,
                    origin=origin,
                    attribution_factor=None if origin == "removed" else 1.0,
                    inputs=inputs,
                )
            )
    extra: dict[str, list[ComponentInputRow]] = {}
    for ci in wb_component_inputs:
        extra.setdefault(ci.component_ref, []).append(ci)
    for row in wb_components:
        if row.entry_ref != action.ref or row.action != "add":
            continue
        out.components.append(
            ComponentLineage(
                display_name=row.display_name or row.ref,
                blueprint_key=row.blueprint_key or "",
                group=row.group,
                origin="extra",
                attribution_factor=row.attribution_factor,
                inputs=[
                    InputLineage(
                        input_key=ci.input_key, kind="monitored", datapoints=[dp_lineage(r) for r in ci.datapoint_refs]
                    )
                    for ci in extra.get(row.ref, [])
                ],
            )
        )
    return out


SPEC = Kind(
    name=KIND,
    sheet="entries",
    label="GHG entries",
    noun="GHG entry",
    carried="organisation",
    leaves_entries=frozenset({"created"}),
    plan=plan,
    apply=apply,
    payloads=(GhgEntryPayload, ComponentBinding, InputBinding, Rebinding),
    depends_on=("datapoint", "measurement_sample", "feedstock_type"),
    registry="ghg_entries",
)
