"""Reconcile a validated workbook with what the registry already holds, and decide what to do with each
object: create, update, leave unchanged, refuse (conflict), or block.

The plan is computed from a snapshot of the registry fetched in a few batched listings (all sources,
datapoints and components of the project, all feedstock types, GHG entries and statements, 50 per page),
matched locally by `supplier_reference_id`. A no-op re-run therefore costs a handful of requests, not one
per object. Nothing here writes: `plan` shows it, `run` hands it to `importer.execute`.

Rules (issue #4):
- create: no object with the row's supplier_reference_id exists yet. An existing source is marked "resume upload
  unless already present": the executor asks for a fresh signed URL and uploads only if the API gives one
  (a 409 means the document is there).
- update: the object exists, is not locked and differs in a field the API lets us PATCH.
- unchanged: the object exists and matches.
- conflict: the object exists and differs, but is locked, in a submitted statement, or the differing field
  cannot be PATCHed (or cleared: no PATCH body of the API accepts null, e.g. a GHG entry's feedstock type
  cannot be removed). Reported, never touched; what depends on it is blocked.
- blocked: depends on a row that conflicts or (during the run) failed.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from importer.context import ProjectContext
from importer.identity import reference_for
from importer.ids import has_id_prefix
from importer.results import ObjectOutcome
from importer.workbook.model import Workbook

Key = tuple[str, str]  # (kind, workbook ref); unique per object of the plan

#: execution levels, in dependency order (issue #4)
LEVELS: tuple[str, ...] = (
    "source", "datapoint", "feedstock_type", "ghg_entry", "component", "component_attribution",
    "ghg_statement",
)
SUBMITTED_STATUSES = frozenset({"AWAITING_VERIFICATION", "VERIFIED", "CREDITS_ISSUED", "FAILED_VERIFICATION"})
STATEMENT_KEY: Key = ("ghg_statement", "statement")
RESUME_UPLOAD = "resume upload unless already present"


def _enum(value: Any) -> str:
    return str(getattr(value, "value", value))


@dataclass
class Step:
    """One object of the plan."""

    key: Key
    outcome: ObjectOutcome
    row: Any  # the workbook row (SourceRow, DatapointRow, ...) or None for the statement
    depends_on: tuple[Key, ...] = ()
    existing: Any = None  # the API object found by supplier_reference_id
    patch: dict[str, Any] = field(default_factory=dict)  # fields to PATCH (update)
    detail: dict[str, Any] = field(default_factory=dict)  # kind-specific facts for the executor

    @property
    def kind(self) -> str:
        return self.key[0]


@dataclass
class RegistryState:
    """What the registry holds that the plan needs, indexed by supplier_reference_id."""

    sources: dict[str, Any]
    datapoints: dict[str, Any]
    feedstock_types: dict[str, Any]
    ghg_entries: dict[str, Any]
    components: dict[str, Any]
    statements: list[Any]  # of this project, by end date
    entry_components: dict[str, list[Any]] = field(default_factory=dict)  # entry id -> components
    entry_attributions: dict[str, list[Any]] = field(default_factory=dict)  # entry id -> attributions


@dataclass
class Plan:
    workbook: Workbook
    context: ProjectContext
    prefix: str
    steps: list[Step]
    submit: bool
    messages: list[str] = field(default_factory=list)

    def by_level(self) -> list[tuple[str, list[Step]]]:
        grouped: dict[str, list[Step]] = defaultdict(list)
        for step in self.steps:
            grouped[step.kind].append(step)
        return [(level, grouped[level]) for level in LEVELS if grouped.get(level)]

    def step(self, key: Key) -> Step | None:
        return self._index.get(key)

    def __post_init__(self) -> None:
        self._index = {s.key: s for s in self.steps}


def _by_srid(objects: list[Any]) -> dict[str, Any]:
    return {o.supplier_reference_id: o for o in objects if getattr(o, "supplier_reference_id", None)}


def fetch_state(client: Any, wb: Workbook, *, concurrency: int = 4) -> RegistryState:
    """Snapshot the registry with batched listings (run concurrently)."""
    project_id = wb.project.project_id
    calls = {
        "sources": lambda: client.list_sources(project_id=project_id),
        "datapoints": lambda: client.list_datapoints(project_id=project_id),
        "feedstock_types": lambda: client.list_feedstock_types() if wb.feedstock_types else [],
        "ghg_entries": lambda: client.list_ghg_entries() if wb.entries else [],
        "components": lambda: client.list_components(project_id=project_id) if wb.components else [],
        "statements": lambda: client.list_ghg_statements() if wb.project.statement_end_on else [],
    }
    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(calls)))) as pool:
        futures = {name: pool.submit(fn) for name, fn in calls.items()}
        got = {name: f.result() for name, f in futures.items()}
    statements = sorted(
        (s for s in got["statements"] if s.project_id == project_id),
        key=lambda s: str(s.reporting_period_end_at),
    )
    return RegistryState(
        sources=_by_srid(got["sources"]),
        datapoints=_by_srid(got["datapoints"]),
        feedstock_types=_by_srid(got["feedstock_types"]),
        ghg_entries=_by_srid(got["ghg_entries"]),
        components=_by_srid(got["components"]),
        statements=statements,
    )


def fetch_entry_details(client: Any, state: RegistryState, entry_ids: list[str], *, concurrency: int = 4,
                        with_attributions: set[str] | frozenset[str] = frozenset()) -> None:
    """Components of the existing entries the workbook names (one listing each: the API offers no batched way
    to tell which template component belongs to which entry), and the attributions of those whose extra
    components the workbook attaches or removes."""
    if not entry_ids:
        return

    def fetch(entry_id: str) -> tuple[str, list[Any], list[Any] | None]:
        attributions = client.list_component_attributions(entry_id) if entry_id in with_attributions else None
        return entry_id, client.list_components(ghg_entry_id=entry_id), attributions

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        for entry_id, comps, attrs in pool.map(fetch, entry_ids):
            state.entry_components[entry_id] = comps
            if attrs is not None:
                state.entry_attributions[entry_id] = attrs


class Planner:
    """Builds a Plan from a workbook, its project context and a registry snapshot."""

    def __init__(self, wb: Workbook, ctx: ProjectContext, state: RegistryState, *, submit: bool) -> None:
        self.wb = wb
        self.ctx = ctx
        self.state = state
        self.submit = submit
        self.prefix = wb.project.supplier_reference_prefix or wb.project.project_id
        self.steps: list[Step] = []
        self._by_key: dict[Key, Step] = {}
        self.srids: dict[Key, str] = {}
        self.messages: list[str] = []

    # -- helpers -------------------------------------------------------------------------------------
    def _outcome(self, sheet: str, row: int | None, ref: str | None, kind: str, srid: str | None) -> ObjectOutcome:
        return ObjectOutcome(sheet=sheet, row=row, ref=ref, kind=kind, supplier_reference_id=srid)

    def _step(self, kind: str, sheet: str, row: Any, *, depends_on: tuple[Key, ...] = (),
              file_sha256: str | None = None) -> Step:
        """A Step for a workbook row, with its supplier_reference_id derived and remembered."""
        srid = reference_for(row.supplier_reference_id, self.prefix, sheet, row.ref, file_sha256=file_sha256)
        self.srids[(kind, row.ref)] = srid
        step = Step((kind, row.ref), self._outcome(sheet, row.row, row.ref, kind, srid), row, depends_on=depends_on)
        self._by_key[step.key] = step
        return step

    def existing_id(self, kind: str, ref: str) -> str | None:
        """The registry ID a ref stands for, when it is known before the run (an ID, or an existing object)."""
        if has_id_prefix(ref):
            return ref
        srid = self.srids.get((kind, ref))
        table = {
            "source": self.state.sources, "datapoint": self.state.datapoints,
            "feedstock_type": self.state.feedstock_types, "ghg_entry": self.state.ghg_entries,
            "component": self.state.components,
        }[kind]
        step = self._by_key.get((kind, ref))
        if step is not None and step.outcome.status == "create":
            return None  # will get a new ID
        obj = table.get(srid or "")
        return obj.id if obj is not None else None

    @staticmethod
    def _deps(kind: str, refs: tuple[str, ...] | list[str]) -> tuple[Key, ...]:
        return tuple((kind, r) for r in refs if not has_id_prefix(r))

    # -- per kind ------------------------------------------------------------------------------------
    def plan_sources(self) -> None:
        for row in self.wb.sources:
            step = self._step("source", "sources", row, file_sha256=row.sha256)
            existing = self.state.sources.get(step.outcome.supplier_reference_id or "")
            if existing is None:
                step.outcome.status = "create"
            else:
                step.existing = existing
                step.outcome.id = existing.id
                patch: dict[str, Any] = {}
                if (existing.display_name or "") != row.display_name:
                    patch["display_name"] = row.display_name
                if str(existing.published_at) != row.published_at.isoformat():
                    patch["published_at"] = row.published_at.isoformat()
                if bool(existing.is_public) != row.is_public:
                    patch["is_public"] = row.is_public
                step.patch = patch
                # Whether the file arrived is not in the Source (`url_info.is_accessible` means "visible to the
                # caller"): the executor asks for a fresh signed URL, a 409 says the document is there, a URL
                # that it never arrived (a crash between POST and PUT), and the upload is resumed.
                step.detail["resume_upload"] = True
                step.outcome.status = "update" if patch else "unchanged"
                step.outcome.changes = sorted(patch) + [RESUME_UPLOAD]
            self.steps.append(step)

    def plan_datapoints(self) -> None:
        for row in self.wb.datapoints:
            step = self._step("datapoint", "datapoints", row, depends_on=self._deps("source", row.source_refs))
            existing = self.state.datapoints.get(step.outcome.supplier_reference_id or "")
            if existing is None:
                step.outcome.status = "create"
                self.steps.append(step)
                continue
            step.existing = existing
            step.outcome.id = existing.id
            patch: dict[str, Any] = {}
            if existing.display_name != row.display_name:
                patch["display_name"] = row.display_name
            if (existing.description or "") != row.description:
                patch["description"] = row.description
            if _enum(existing.type) != row.type:
                patch["type"] = row.type
            q = existing.quantity
            same_quantity = (
                math.isclose(float(q.magnitude), row.magnitude, rel_tol=1e-12, abs_tol=0.0)
                and (q.unit or "") == row.unit
                and _same_optional_float(q.standard_deviation, row.standard_deviation)
            )
            if not same_quantity:
                patch["quantity"] = {"magnitude": row.magnitude, "unit": row.unit,
                                     "standard_deviation": row.standard_deviation}
            if (existing.uncertainty_justification or None) != (row.uncertainty_justification or None):
                patch["uncertainty_justification"] = row.uncertainty_justification or ""
            wanted_sources = [self.existing_id("source", r) for r in row.source_refs]
            if None in wanted_sources or sorted(wanted_sources) != sorted(existing.source_ids):  # type: ignore[type-var]
                patch["source_ids"] = "resolved at run time"
            unpatchable = [] if _same_instant(existing.measured_at, row.measured_at) else ["measured_at"]
            locked = _enum(existing.locked_status) != "not_locked"
            frozen = f"datapoint {existing.id} is locked ({_enum(existing.locked_status)})" if locked else None
            _classify(step, patch, unpatchable=unpatchable, frozen=frozen, noun="datapoint", ident=existing.id,
                      frozen_hint="; give the row a new ref to create a new datapoint")
            self.steps.append(step)

    def plan_feedstock_types(self) -> None:
        for row in self.wb.feedstock_types:
            step = self._step("feedstock_type", "feedstock_types", row)
            existing = self.state.feedstock_types.get(step.outcome.supplier_reference_id or "")
            if existing is None:
                step.outcome.status = "create"
            else:
                step.existing = existing
                step.outcome.id = existing.id
                if existing.name != row.name:
                    step.patch = {"name": row.name}
                    step.outcome.status = "update"
                    step.outcome.changes = ["name"]
                else:
                    step.outcome.status = "unchanged"
            self.steps.append(step)

    def _entry_bindings(self) -> dict[str, dict[str, dict[str, tuple[str, ...]]]]:
        """entry ref -> template component id -> input key -> datapoint refs."""
        out: dict[str, dict[str, dict[str, tuple[str, ...]]]] = defaultdict(lambda: defaultdict(dict))
        entries = {e.ref: e for e in self.wb.entries}
        for item in self.wb.entry_inputs:
            entry = entries.get(item.entry_ref)
            template = self.ctx.resolve_template(entry.template) if entry else None
            pair = self.ctx.resolve_template_component(template, item.template_component) if template else None
            if pair is None:
                continue
            out[item.entry_ref][pair[1].id][item.input_key] = item.datapoint_refs
        return out

    def plan_entries(self) -> None:
        bindings = self._entry_bindings()
        statements = {s.id: s for s in self.state.statements}
        for row in self.wb.entries:
            template = self.ctx.resolve_template(row.template)
            refs = [r for comp in bindings.get(row.ref, {}).values() for rs in comp.values() for r in rs]
            deps = self._deps("datapoint", refs)
            if row.feedstock_type:
                deps += self._deps("feedstock_type", [row.feedstock_type])
            step = self._step("ghg_entry", "entries", row, depends_on=deps)
            srid = step.outcome.supplier_reference_id or ""
            step.detail["template"] = template
            step.detail["bindings"] = bindings.get(row.ref, {})
            existing = self.state.ghg_entries.get(srid)
            if existing is None:
                step.outcome.status = "create"
                self.steps.append(step)
                continue
            step.existing = existing
            step.outcome.id = existing.id
            patch: dict[str, Any] = {}
            if str(existing.started_on) != row.started_on.isoformat():
                patch["started_on"] = row.started_on.isoformat()
            if str(existing.completed_on) != row.completed_on.isoformat():
                patch["completed_on"] = row.completed_on.isoformat()
            wanted_ftt = self.existing_id("feedstock_type", row.feedstock_type) if row.feedstock_type else None
            uncleared: list[str] = []
            if row.feedstock_type:
                if (existing.feedstock_type_id or None) != wanted_ftt:
                    patch["feedstock_type_id"] = "resolved at run time"
            elif existing.feedstock_type_id:
                # PatchGhgEntryRequest.feedstock_type_id takes an ID or Undefined, never null
                uncleared.append("feedstock_type_id")
            # monitored inputs of the entry's template components, compared with what the registry holds
            input_patches: dict[str, Any] = {}  # component id -> the component as held (inputs rebuilt at run time)
            comps = self.state.entry_components.get(existing.id, [])
            for rtc_id, inputs in step.detail["bindings"].items():
                comp = next((c for c in comps if template_component_of(c) == rtc_id), None)
                if comp is None:
                    continue
                held = {i.input_key: _input_ids(i) for i in comp.inputs}
                wanted = {k: [self.existing_id("datapoint", r) for r in v] for k, v in inputs.items()}
                if any(None in ids or sorted(ids) != sorted(held.get(k, [])) for k, ids in wanted.items()):  # type: ignore[type-var]
                    input_patches[comp.id] = comp
            step.detail["input_patches"] = input_patches
            statement = statements.get(existing.ghg_statement_id or "")
            submitted = statement is not None and _enum(statement.status) in SUBMITTED_STATUSES
            frozen = (f"GHG entry {existing.id} is in submitted statement {statement.id} ({_enum(statement.status)})"
                      if submitted and statement is not None else None)
            _classify(step, patch, extra=["inputs"] if input_patches else [], unclearable=uncleared, frozen=frozen,
                      noun="GHG entry", ident=existing.id,
                      clear_hint="give the entry a new ref (a new GHG entry) or remove its feedstock type in the "
                                 "Certify UI")
            self.steps.append(step)

    def plan_components(self) -> None:
        inputs_by_component: dict[str, list[Any]] = defaultdict(list)
        for ci in self.wb.component_inputs:
            inputs_by_component[ci.component_ref].append(ci)
        for row in self.wb.components:
            entry_dep: tuple[Key, ...] = self._deps("ghg_entry", [row.entry_ref])
            attribution = Step(
                ("component_attribution", row.ref),
                self._outcome("components", row.row, row.ref, "component_attribution", None), row,
            )
            if row.action == "add":
                given = inputs_by_component.get(row.ref, [])
                dp_refs = [r for ci in given for r in ci.datapoint_refs]
                comp_step = self._step("component", "components", row, depends_on=self._deps("datapoint", dp_refs))
                srid = comp_step.outcome.supplier_reference_id or ""
                comp_step.detail["inputs"] = given
                existing = self.state.components.get(srid)
                if existing is None:
                    comp_step.outcome.status = "create"
                else:
                    comp_step.existing = existing
                    comp_step.outcome.id = existing.id
                    self._compare_component(comp_step, existing, row, given)
                self.steps.append(comp_step)
                attribution.depends_on = entry_dep + (("component", row.ref),)
                attribution.outcome.supplier_reference_id = srid
            else:
                attribution.depends_on = entry_dep
            self._plan_attribution(attribution, row)
            self.steps.append(attribution)

    def _compare_component(self, step: Step, existing: Any, row: Any, given: list[Any]) -> None:
        patch: dict[str, Any] = {}
        if row.display_name and existing.display_name != row.display_name:
            patch["display_name"] = row.display_name
        if (existing.description or None) != (row.description or None):
            patch["description"] = row.description or ""  # PatchComponentRequest: a string, never null
        held = {i.input_key: _input_ids(i) for i in existing.inputs}
        for ci in given:
            ids = [self.existing_id("datapoint", r) for r in ci.datapoint_refs]
            if None in ids or sorted(ids) != sorted(held.get(ci.input_key, [])):  # type: ignore[type-var]
                patch["inputs"] = "resolved at run time"
        unpatchable = []
        if existing.blueprint_key != row.blueprint_key:
            unpatchable.append("blueprint_key")
        if not _same_instant(existing.activity_started_at, row.activity_started_at):
            unpatchable.append("activity_started_at")
        if not _same_instant(existing.activity_completed_at, row.activity_completed_at):
            unpatchable.append("activity_completed_at")
        _classify(step, patch, unpatchable=unpatchable, noun="component", ident=existing.id)

    def _plan_attribution(self, step: Step, row: Any) -> None:
        entry_id = self.existing_id("ghg_entry", row.entry_ref)
        if entry_id is None:
            step.outcome.status = "create" if row.action == "add" else "update"
            return
        attributions = self.state.entry_attributions.get(entry_id)
        if attributions is None:
            step.outcome.status = "create" if row.action == "add" else "update"
            return
        if row.action == "add":
            comp_id = self.existing_id("component", row.ref)
            current = next((a for a in attributions if a.component_id == comp_id), None) if comp_id else None
            if current is None:
                step.outcome.status = "create"
            elif current.component_group_key == row.group and math.isclose(
                float(current.attribution_factor), row.attribution_factor
            ):
                step.outcome.status = "unchanged"
                step.outcome.id = current.id
            else:
                step.outcome.status = "update"
                step.outcome.id = current.id
                step.outcome.changes = ["component_group_key", "attribution_factor"]
        else:
            template = self.ctx.resolve_template(next(e.template for e in self.wb.entries if e.ref == row.entry_ref))
            pair = self.ctx.resolve_template_component(template, row.template_component or "") if template else None
            comps = self.state.entry_components.get(entry_id, [])
            comp = next((c for c in comps if pair and template_component_of(c) == pair[1].id), None)
            attached = comp is not None and any(a.component_id == comp.id for a in attributions)
            step.outcome.status = "update" if attached else "unchanged"
            if attached:
                step.outcome.changes = ["removed"]

    def plan_statement(self) -> None:
        end_on = self.wb.project.statement_end_on
        if end_on is None:
            return
        entry_keys = tuple(("ghg_entry", e.ref) for e in self.wb.entries)
        attribution_keys = tuple(("component_attribution", c.ref) for c in self.wb.components)
        step = Step(STATEMENT_KEY, self._outcome("project", None, "statement_end_on", "ghg_statement", None), None,
                    depends_on=entry_keys + attribution_keys)
        step.detail["end_on"] = end_on
        step.detail["submit"] = self.submit
        step.detail["report_url"] = self.wb.project.ghg_statement_report_url
        same = next((s for s in self.state.statements if str(s.reporting_period_end_at) == end_on.isoformat()), None)
        previous = [s for s in self.state.statements if str(s.reporting_period_end_at) < end_on.isoformat()]
        later = [s for s in self.state.statements if str(s.reporting_period_end_at) > end_on.isoformat()]
        if same is not None:
            step.existing = same
            step.outcome.id = same.id
            status = _enum(same.status)
            step.detail["start_on"] = str(same.reporting_period_start_at)
            if self.submit and status == "DRAFT":
                step.outcome.status = "update"
                step.outcome.changes = ["submit for verification"]
            else:
                step.outcome.status = "unchanged"
        elif later:
            last = later[-1]
            step.outcome.status = "conflict"
            step.outcome.error = (
                f"statement_end_on {end_on} would overlap statement {last.id} "
                f"({last.reporting_period_start_at} to {last.reporting_period_end_at}); statements are contiguous "
                f"and may not overlap: choose an end date after {last.reporting_period_end_at}")
        else:
            if previous:
                start = dt.date.fromisoformat(str(previous[-1].reporting_period_end_at)) + dt.timedelta(days=1)
                step.detail["start_on"] = start.isoformat()
                step.detail["previous"] = previous[-1].id
                for entry in self.wb.entries:
                    entry_step = self.step_of(("ghg_entry", entry.ref))
                    if entry_step and entry_step.outcome.status == "create" and entry.completed_on < start:
                        entry_step.outcome.status = "conflict"
                        entry_step.outcome.error = (
                            f"entry completes on {entry.completed_on}, inside the period of statement "
                            f"{previous[-1].id} (ends {previous[-1].reporting_period_end_at}); it would fall in a "
                            f"closed period. The new statement starts on {start}")
            else:
                starts = [e.started_on for e in self.wb.entries]
                step.detail["start_on"] = min(starts).isoformat() if starts else None
            step.outcome.status = "create"
            if self.submit:
                step.outcome.changes = ["submit for verification"]
        for entry in self.wb.entries:
            if entry.completed_on > end_on:
                self.messages.append(
                    f"entries row {entry.row} ({entry.ref}) completes on {entry.completed_on}, after "
                    f"statement_end_on {end_on}: it will not be in this statement")
        self.steps.append(step)

    def step_of(self, key: Key) -> Step | None:
        return self._by_key.get(key)

    def block_dependants(self) -> None:
        """A conflict blocks everything that depends on it, transitively."""
        bad = {s.key: s for s in self.steps if s.outcome.status in ("conflict", "blocked")}
        for step in self.steps:  # steps are in dependency order
            if step.outcome.status in ("conflict", "blocked"):
                continue
            culprit = next((bad[d] for d in step.depends_on if d in bad), None)
            if culprit is not None:
                step.outcome.status = "blocked"
                step.outcome.blocked_by = describe(culprit)
                bad[step.key] = step

    def build(self) -> Plan:
        self.plan_sources()
        self.plan_datapoints()
        self.plan_feedstock_types()
        self.plan_entries()
        self.plan_components()
        self.plan_statement()
        order = {k: i for i, k in enumerate(LEVELS)}
        self.steps.sort(key=lambda s: order[s.kind])  # stable: workbook order within a level
        self.block_dependants()
        return Plan(self.wb, self.ctx, self.prefix, self.steps, self.submit, self.messages)


def _classify(step: Step, patch: dict[str, Any], *, extra: list[str] | tuple[str, ...] = (),
              unpatchable: list[str] | tuple[str, ...] = (), unclearable: list[str] | tuple[str, ...] = (),
              frozen: str | None = None, noun: str, ident: str, frozen_hint: str = "", clear_hint: str = "") -> None:
    """unchanged, update or conflict, from what differs (`patch`, `extra`), what the API cannot PATCH
    (`unpatchable`) or cannot clear (`unclearable`: the workbook empties a field no PATCH body lets be null) and
    whether the object may change at all (`frozen` says why not)."""
    step.patch = patch
    changes = sorted(patch) + list(extra) + list(unpatchable) + list(unclearable)
    step.outcome.changes = changes
    if not changes:
        step.outcome.status = "unchanged"
    elif frozen:
        step.outcome.status = "conflict"
        step.outcome.error = f"{frozen} and cannot change ({', '.join(changes)}){frozen_hint}"
    elif unpatchable or unclearable:
        step.outcome.status = "conflict"
        reasons = []
        if unpatchable:
            reasons.append(f"{', '.join(unpatchable)} cannot be changed through the API; give the row a new ref to "
                           f"create a new {noun}")
        if unclearable:
            fields = ", ".join(f.removesuffix("_id").replace("_", " ") for f in unclearable)
            reasons.append(f"the API cannot clear a {noun}'s {fields} (the workbook leaves it empty, the {noun} has "
                           f"one); {clear_hint or f'give the row a new ref to create a new {noun}'}")
        step.outcome.error = f"{noun} {ident}: " + "; ".join(reasons)
    else:
        step.outcome.status = "update"


def template_component_of(component: Any) -> str | None:
    """The template component (rtc_) a component fills, whichever name the API uses."""
    return (getattr(component, "ghg_entry_template_component_id", None)
            or getattr(component, "removal_template_component_id", None))


def describe(step: Step) -> str:
    """`datapoints row 7 (ref biochar-mass)`: how a blocked row names its culprit."""
    o = step.outcome
    where = f"{o.sheet} row {o.row}" if o.row else o.sheet
    return f"{where} ({o.ref})" if o.ref else where


def _input_ids(item: Any) -> list[str]:
    if getattr(item, "datapoint_ids", None) is not None:
        return list(item.datapoint_ids)
    return [item.datapoint_id] if getattr(item, "datapoint_id", None) else []


def _same_optional_float(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=0.0)


def _as_utc(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time())
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def _same_instant(a: Any, b: Any) -> bool:
    return _as_utc(a) == _as_utc(b)


def make_plan(client: Any, wb: Workbook, ctx: ProjectContext, *, submit: bool, concurrency: int = 4) -> Plan:
    """Snapshot the registry and build the plan."""
    state = fetch_state(client, wb, concurrency=concurrency)
    prefix = wb.project.supplier_reference_prefix or wb.project.project_id
    entry_ids, with_attributions = [], set()
    attached = {c.entry_ref for c in wb.components}
    for entry in wb.entries:
        srid = reference_for(entry.supplier_reference_id, prefix, "entries", entry.ref)
        if srid in state.ghg_entries:
            entry_ids.append(state.ghg_entries[srid].id)
            if entry.ref in attached:
                with_attributions.add(state.ghg_entries[srid].id)
    fetch_entry_details(client, state, entry_ids, concurrency=concurrency, with_attributions=with_attributions)
    return Planner(wb, ctx, state, submit=submit).build()
