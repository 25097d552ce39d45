"""The lineage of each GHG entry, for auditors: template -> components -> inputs -> datapoints (value, unit)
-> sources (file name, SHA-256), with the CO2e the API reported. Each kind's module says how its own objects
appear (`importer.planning.sources.lineage`, `...datapoints.lineage`, `...ghg_entries.lineage`); this module
puts them together.

Built after a run (or for a plan) from the plan, the IDs the run obtained and a few reads: the entries' CO2e
(one batched listing) and each fixed template datapoint once. Reads that fail leave a gap in the lineage,
never a failed run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, cast

from importer.context import ProjectContext
from importer.ids import has_id_prefix
from importer.planning import datapoints, ghg_entries, sources
from importer.planning.model import Action, Key, Plan
from importer.results import (
    ApplicationLineage,
    BatchLineage,
    ChainLineage,
    DatapointLineage,
    EntryLineage,
    LocationLineage,
    SampleValueLineage,
    SourceLineage,
)
from importer.workbook.model import Workbook

if TYPE_CHECKING:  # the API client loads lazily (the CLI starts fast)
    from importer.api import models as m
    from importer.api.client import IsometricClient
    from importer.planning.registry import RegistryObject

log = logging.getLogger("importer.lineage")


#: entries read back by ID at once after a run (the client paces them under a rate budget)
READ_BACK_WORKERS = 8


class LineageBuilder:
    def __init__(
        self,
        plan: Plan,
        wb: Workbook,
        ctx: ProjectContext,
        ids: dict[Key, str],
        statuses: dict[Key, str],
        client: IsometricClient | None,
        *,
        current: Mapping[str, RegistryObject] | None = None,
    ) -> None:
        """`current`: objects by ID known to be as the registry holds them now (a run that wrote nothing
        passes its snapshot), not read again."""
        self.plan = plan
        self.wb = wb
        self.ctx = ctx
        self.ids = ids
        self.statuses = statuses
        self.client = client
        self.datapoint_actions = {a.ref: a for a in plan.of_kind("datapoint")}
        self.source_actions = {a.ref: a for a in plan.of_kind("source")}
        self.samples = {
            v.ref: v
            for v in samples_lineage(plan, wb, ids, statuses, lambda s: sources.lineage(s, self.source_actions, ids))
        }
        self._current = current or {}
        self._fetched: dict[str, m.Datapoint | None] = {
            k: cast("m.Datapoint", v) for k, v in self._current.items() if k.startswith("dtp_")
        }

    def _fetch_datapoint(self, dp_id: str) -> None:
        if self.client is None or dp_id in self._fetched:
            return
        try:
            self._fetched[dp_id] = self.client.get_datapoint(dp_id)
        except Exception:  # a gap in the lineage, not a failure
            log.debug("could not read datapoint %s", dp_id, exc_info=True)
            self._fetched[dp_id] = None

    def datapoint(self, ref: str) -> DatapointLineage:
        value = self.samples.get(ref)
        if value is not None:  # a lab value: the datapoint Isometric made of it, its sample, the lab certificate
            return DatapointLineage(
                ref=ref,
                id=value_ids(self.plan, self.ids).get(ref),
                display_name=f"{value.property}, sample {value.sample}",
                magnitude=value.magnitude,
                unit=value.unit or "dimensionless",
                sources=list(value.certificate),
                sample=value,
            )
        if ref.startswith("dtp_") and ref not in self._fetched:
            self._fetch_datapoint(ref)
        return datapoints.lineage(
            ref,
            self.datapoint_actions,
            lambda s: sources.lineage(s, self.source_actions, self.ids),
            self.ids,
            self._fetched,
        )

    def _entries(self, entry_ids: list[str]) -> dict[str, m.GhgEntry]:
        """The entries as the API now holds them (CO2e, its standard deviation, credit type): those known to
        be current (`current`), then the rest read by ID, READ_BACK_WORKERS at a time. Not the organisation's
        listing: the API lists entries for the whole organisation only, page after page, so its length grows
        with every month imported (86 pages by the twelfth month of a year), while a workbook's entries stay
        about as many."""
        out = {i: cast("m.GhgEntry", self._current[i]) for i in entry_ids if i in self._current}
        missing = [i for i in entry_ids if i not in out]
        if self.client is None or not missing:
            return out
        client = self.client
        try:
            with ThreadPoolExecutor(max_workers=min(READ_BACK_WORKERS, len(missing))) as pool:
                out.update(zip(missing, pool.map(client.get_ghg_entry, missing), strict=True))
        except Exception:  # a gap in the lineage, not a failure
            log.debug("could not read the entries' CO2e", exc_info=True)
        return out

    def _workbook_entries(self) -> list[Action]:
        """The GHG entries the workbook defines: not the orphans a prune deletes, nor those it cannot delete (a
        conflict carrying the orphan's delete payload, e.g. an entry in a submitted statement)."""
        return [a for a in self.plan.of_kind("ghg_entry") if isinstance(a.payload, ghg_entries.GhgEntryPayload)]

    def _prefetch_fixed(self) -> None:
        """The templates' fixed datapoints, read at once (a handful, each once)."""
        used = {a.payload_of(ghg_entries.GhgEntryPayload).template_id for a in self._workbook_entries()}
        ids = {
            i.datapoint_id
            for t in self.ctx.templates
            if t.id in used
            for _, c in self.ctx.template_components(t)
            for i in c.inputs
            if i.datapoint_id
        }
        ids -= set(self._fetched)
        if self.client is None or not ids:
            return
        with ThreadPoolExecutor(max_workers=min(8, len(ids))) as pool:
            list(pool.map(self._fetch_datapoint, sorted(ids)))

    def build(self) -> list[EntryLineage]:
        entries = self._workbook_entries()
        self._prefetch_fixed()
        held = self._entries([self.ids[a.key] for a in entries if self.ids.get(a.key)])
        out = []
        for action in entries:
            entry = held.get(self.ids.get(action.key) or "")
            lineage = ghg_entries.lineage(
                action,
                self.ctx,
                self.wb.components,
                self.wb.component_inputs,
                self.datapoint,
                self.ids.get(action.key),
                self.statuses.get(action.key, action.op),
                entry.co2e_net_removed_kg if entry is not None else None,
            )
            if entry is not None:
                lineage.co2e_net_removed_standard_deviation_kg = entry.co2e_net_removed_standard_deviation_kg
                lineage.credit_type = str(entry.credit_type) if entry.credit_type is not None else None
            out.append(lineage)
        return out


def chain_lineage(wb: Workbook, ids: Mapping[Key, str], statuses: Mapping[Key, str]) -> ChainLineage | None:
    """The chain of custody as the workbook states it, with the IDs the run (or the registry) gave each object:
    production batches, their applications (net mass = arrival - departure), and the storage locations they name
    (the workbook's rows, and any slc_ ID cited). None when the workbook has none of those sheets."""
    from importer.units import kg_factor

    if not (wb.production_batches or wb.biochar_applications or wb.storage_locations):
        return None
    chain = ChainLineage()
    for b in wb.production_batches:
        key = ("production_batch", b.ref)
        chain.batches.append(
            BatchLineage(
                ref=b.ref,
                id=ids.get(key),
                status=statuses.get(key, ""),
                display_name=b.display_name,
                started_at=b.started_at.isoformat(),
                ended_at=b.ended_at.isoformat(),
                mass=b.mass,
                unit=b.unit,
                feedstock_types=list(b.feedstock_types),
            )
        )
    for a in wb.biochar_applications:
        key = ("biochar_application", a.ref)
        net = round(
            a.truck_mass_on_arrival - a.truck_mass_on_departure, 9
        )  # 16.1 - 14.5 is 1.6, not 1.6000000000000014
        factor = kg_factor(a.truck_mass_unit)
        kg = net * factor if factor is not None else None
        chain.applications.append(
            ApplicationLineage(
                ref=a.ref,
                id=ids.get(key),
                status=statuses.get(key, ""),
                batch=a.production_batch,
                location=a.storage_location,
                application_date=a.application_date.isoformat(),
                net_mass=net,
                mass_unit=a.truck_mass_unit,
                net_mass_kg=kg,
                rate=a.application_rate,
                rate_unit=a.application_rate_unit,
                entry=a.entry,
                sources=list(a.source_refs),
            )
        )
    for loc in wb.storage_locations:
        chain.locations.append(
            LocationLineage(
                ref=loc.ref,
                id=ids.get(("storage_location", loc.ref)),
                name=loc.name,
                latitude=loc.latitude,
                longitude=loc.longitude,
                storage_method=loc.storage_method,
            )
        )
    named = {loc.ref for loc in wb.storage_locations}
    for cited in sorted({a.storage_location for a in wb.biochar_applications} - named):  # slc_ IDs of earlier months
        chain.locations.append(LocationLineage(ref=cited, id=cited, name=None, latitude=None, longitude=None))
    return chain


def value_ids(plan: Plan, ids: Mapping[Key, str]) -> dict[str, str]:
    """Each lab value's datapoint ID (a `sample_values` ref -> dtp_): recorded by the sample's create
    (`ApplyEnv.part_created`), or, for a sample held unchanged, the ID the plan bound (an entry's or component's
    input names it)."""
    from importer.planning.common import SAMPLE_VALUE, InputBinding
    from importer.planning.model import IdRef

    out = {ref: dp for (kind, ref), dp in ids.items() if kind == SAMPLE_VALUE}
    for action in plan.actions:
        payload = action.payload
        bindings: list[InputBinding] = [*getattr(payload, "inputs", ())]
        for comp in getattr(payload, "components", ()):
            bindings += list(getattr(comp, "inputs", ()))
        for binding in bindings:
            if not isinstance(binding, InputBinding):
                continue
            for ref, bound in zip(binding.refs, binding.datapoints, strict=False):
                if isinstance(bound, IdRef):
                    out.setdefault(ref, bound.id)
    return out


def samples_lineage(
    plan: Plan,
    wb: Workbook,
    ids: Mapping[Key, str],
    statuses: Mapping[Key, str],
    source: Callable[[str], SourceLineage],
) -> list[SampleValueLineage]:
    """Every lab value of the workbook with its sample, what it was taken from (a batch, a location...) and the
    lab certificate (`source` gives each cited source's lineage)."""
    samples = {s.ref: s for s in wb.samples}
    out = []
    for v in wb.sample_values:
        sample = samples.get(v.sample)
        if sample is None:
            continue
        key = ("measurement_sample", sample.ref)
        taken_from = target = target_kind = None
        for column, kind in (
            ("production_batch", "production_batch"),
            ("storage_location", "storage_location"),
            ("measurement_location", "measurement_location"),
            ("feedstock_batch", "feedstock_batch"),
        ):
            written = getattr(sample, column)
            if written:
                taken_from, target, target_kind = column.replace("_", " "), written, kind
                break
        target_id = None
        if target is not None and target_kind is not None:
            target_id = target if has_id_prefix(target) else ids.get((target_kind, target))
        out.append(
            SampleValueLineage(
                ref=v.ref,
                sample=sample.ref,
                sample_id=ids.get(key),
                measurement_type=sample.measurement_type,
                measured_at=sample.measured_at.date().isoformat(),
                property=v.property,
                magnitude=v.magnitude,
                unit=v.unit,
                standard_deviation=v.standard_deviation,
                status=statuses.get(key, ""),
                taken_from=taken_from,
                target=target,
                target_id=target_id,
                certificate=[source(s) for s in sample.source_refs],
            )
        )
    return out
