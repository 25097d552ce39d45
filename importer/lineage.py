"""The lineage of each GHG entry, for auditors: template -> components -> inputs -> datapoints (value, unit)
-> sources (file name, SHA-256), with the CO2e the API reported.

Built after a run (or for a plan) from the plan, the IDs the run obtained and a few reads: each entry once
(for its current CO2e) and each fixed template datapoint once (for its value). Reads that fail leave a gap
in the lineage, never a failed run.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from importer.ids import has_id_prefix
from importer.plan import Plan
from importer.results import (
    ComponentLineage,
    DatapointLineage,
    EntryLineage,
    InputLineage,
    SourceLineage,
)

log = logging.getLogger("importer.lineage")


class LineageBuilder:
    def __init__(self, plan: Plan, ids: dict[tuple[str, str], str], client: Any | None) -> None:
        self.plan = plan
        self.ids = ids
        self.client = client
        wb = plan.workbook
        self.sources = {s.ref: s for s in wb.sources}
        self.datapoints = {d.ref: d for d in wb.datapoints}
        self._fetched: dict[str, Any] = {}

    def _fetch_datapoint(self, dp_id: str) -> Any | None:
        if self.client is None:
            return None
        if dp_id not in self._fetched:
            try:
                self._fetched[dp_id] = self.client.get_datapoint(dp_id)
            except Exception:  # a gap in the lineage, not a failure
                log.debug("could not read datapoint %s", dp_id, exc_info=True)
                self._fetched[dp_id] = None
        return self._fetched[dp_id]

    def source(self, ref: str) -> SourceLineage:
        if has_id_prefix(ref):
            return SourceLineage(ref=None, id=ref, display_name=None, file_name=None, sha256=None)
        row = self.sources.get(ref)
        return SourceLineage(ref=ref, id=self.ids.get(("source", ref)), display_name=row.display_name if row else None,
                             file_name=row.file_name if row else None, sha256=row.sha256 if row else None,
                             description=row.description if row else None)

    def datapoint(self, ref: str) -> DatapointLineage:
        if has_id_prefix(ref):
            fetched = self._fetch_datapoint(ref)
            if fetched is None:
                return DatapointLineage(ref=None, id=ref, display_name=None, magnitude=None, unit=None)
            return DatapointLineage(
                ref=None, id=ref, display_name=fetched.display_name, magnitude=fetched.quantity.magnitude,
                unit=fetched.quantity.unit,
                sources=[SourceLineage(None, s, None, None, None) for s in fetched.source_ids])
        row = self.datapoints.get(ref)
        if row is None:
            return DatapointLineage(ref=ref, id=None, display_name=None, magnitude=None, unit=None)
        return DatapointLineage(
            ref=ref, id=self.ids.get(("datapoint", ref)), display_name=row.display_name, magnitude=row.magnitude,
            unit=row.unit, sources=[self.source(s) for s in row.source_refs])

    def entry(self, step: Any, co2e: float | None) -> EntryLineage:
        row = step.row
        template = step.detail.get("template")
        lineage = EntryLineage(
            ref=row.ref, id=self.ids.get(step.key), status=step.outcome.status,
            template_id=template.id if template else None, template_name=template.display_name if template else None,
            started_on=row.started_on.isoformat(), completed_on=row.completed_on.isoformat(), co2e_net_removed_kg=co2e)
        bindings = step.detail.get("bindings", {})
        removed = {c.template_component for c in self.plan.workbook.components
                   if c.entry_ref == row.ref and c.action == "remove"}
        if template is not None:
            for group, comp in self.plan.context.template_components(template):
                names = {comp.id, comp.display_name, comp.blueprint_key}
                origin = "removed" if names & {r for r in removed if r} else "template"
                inputs = []
                for spec in comp.inputs:
                    kind = "fixed" if str(getattr(spec.type, "value", spec.type)).endswith("fixed") else "monitored"
                    if kind == "fixed" and spec.datapoint_id:
                        dps = [self.datapoint(spec.datapoint_id)]
                    else:
                        dps = [self.datapoint(r) for r in bindings.get(comp.id, {}).get(spec.input_key, ())]
                    inputs.append(InputLineage(input_key=spec.input_key, kind=kind, datapoints=dps))
                lineage.components.append(ComponentLineage(
                    display_name=comp.display_name, blueprint_key=comp.blueprint_key, group=group.key,
                    origin=origin, attribution_factor=None if origin == "removed" else 1.0, inputs=inputs))
        extra_inputs: dict[str, list[Any]] = {}
        for ci in self.plan.workbook.component_inputs:
            extra_inputs.setdefault(ci.component_ref, []).append(ci)
        for comp_row in self.plan.workbook.components:
            if comp_row.entry_ref != row.ref or comp_row.action != "add":
                continue
            lineage.components.append(ComponentLineage(
                display_name=comp_row.display_name or comp_row.ref, blueprint_key=comp_row.blueprint_key or "",
                group=comp_row.group, origin="extra", attribution_factor=comp_row.attribution_factor,
                inputs=[InputLineage(input_key=ci.input_key, kind="monitored",
                                     datapoints=[self.datapoint(r) for r in ci.datapoint_refs])
                        for ci in extra_inputs.get(comp_row.ref, [])]))
        return lineage

    def _co2e(self, entry_ids: list[str]) -> dict[str, float | None]:
        """Current CO2e of the entries: one read for a few, one batched listing (50 a page) for many."""
        if self.client is None or not entry_ids:
            return {}
        try:
            if len(entry_ids) <= 3:
                return {i: self.client.get_ghg_entry(i).co2e_net_removed_kg for i in entry_ids}
            wanted = set(entry_ids)
            return {e.id: e.co2e_net_removed_kg for e in self.client.list_ghg_entries() if e.id in wanted}
        except Exception:  # a gap in the lineage, not a failure
            log.debug("could not read the entries' CO2e", exc_info=True)
            return {}

    def _prefetch_fixed(self, steps: list[Any]) -> None:
        """The templates' fixed datapoints, read at once (a handful, each once)."""
        ids = {i.datapoint_id for s in steps if s.detail.get("template") is not None
               for _, c in self.plan.context.template_components(s.detail["template"]) for i in c.inputs
               if i.datapoint_id}
        ids -= set(self._fetched)
        if self.client is None or not ids:
            return
        with ThreadPoolExecutor(max_workers=min(8, len(ids))) as pool:
            list(pool.map(self._fetch_datapoint, sorted(ids)))

    def build(self) -> list[EntryLineage]:
        steps = [s for s in self.plan.steps if s.kind == "ghg_entry"]
        self._prefetch_fixed(steps)
        co2e = self._co2e([self.ids[s.key] for s in steps if self.ids.get(s.key)])
        return [self.entry(step, co2e.get(self.ids.get(step.key) or "")) for step in steps]
