"""Measurement samples (optional sheets `samples` and `sample_values`): what the lab or a field team measured, taken
from at most one production batch, storage location, measurement location or feedstock batch, with its values.
Isometric turns each value into a datapoint locked to the sample and answers its `datapoint_id`: entries and extra
components bind those (a `sample_values` ref in their datapoint_refs: `Planning.datapoint_ref`); the sample's apply
records each value's datapoint (`ApplyEnv.part_created`), and what binds them waits for the sample's create.

Identity by supplier_reference_id (the row's own, or `<prefix>:samples:<ref>`); the organisation's samples are
listed whole (the listing has no filter, and a sample cannot be fetched by ID) and carried through a batch. What is
compared: the date measured (the answer gives a date), the production batch and measurement location (the answer
carries neither the measurement type nor a storage location or feedstock batch, so those are sent, never compared),
and the values (property, magnitude, unit by converting, standard deviation), paired with the held ones. The API
has no PATCH, and a sample's datapoints are locked: a changed sample is a conflict that asks for --replace, and with
it a replace (the old sample deleted, created anew, and the entries bound to its values re-bound to the new
datapoints in the same run, since they then differ). Refused, even with --replace, once an entry of a submitted
statement uses one of its datapoints. The lab certificate (`source_refs`) is not sent (the request takes no
sources): it is kept for the report's lineage."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, cast

from importer.planning.common import SAMPLE_VALUE, Planning, Verdict, enum_text, input_ids, iso_z, placed
from importer.planning.env import Applied, ApplyEnv, StepFailed
from importer.planning.kind import Kind
from importer.planning.model import SUBMITTED_STATUSES, Action, Change, IdRef, Ref
from importer.planning.replacing import delete_replaced, same_quantity

if TYPE_CHECKING:  # the API client loads lazily (the CLI starts fast)
    from importer.api import models as m
    from importer.api.client import IsometricClient
    from importer.planning.carried import CarriedListings
    from importer.workbook.model import Workbook

KIND: Final = "measurement_sample"
SHEET: Final = "samples"
NOUN: Final = "measurement sample"


@dataclass(frozen=True)
class SampleValuePayload:
    ref: str  # the sample_values ref: what entries bind
    quantity_kind: str
    qualifier: str | None
    magnitude: float
    unit: str | None  # None: dimensionless
    standard_deviation: float | None

    @property
    def property(self) -> str:
        return self.quantity_kind + (f" ({self.qualifier})" if self.qualifier else "")


@dataclass(frozen=True)
class MeasurementSamplePayload:
    measurement_type: str
    measured_at: str  # ISO 8601, UTC
    production_batch: Ref | None
    storage_location: Ref | None
    measurement_location: Ref | None
    feedstock_batch: Ref | None
    values: tuple[SampleValuePayload, ...]
    sources: tuple[str, ...] = ()  # the lab certificate, as written: lineage only (the API takes none)

    def __post_init__(self) -> None:
        held: object = self.feedstock_batch
        if isinstance(held, str):  # a plan saved when samples took a feedstock batch by its ftb_ ID alone
            object.__setattr__(self, "feedstock_batch", IdRef(held))


def listing(
    client: IsometricClient, wb: Workbook, carried: CarriedListings | None = None
) -> Sequence[m.MeasurementSample] | None:
    """The organisation's samples, read whole (or from the cursor within a batch); None (nothing asked) when the
    workbook has none."""
    if not wb.samples:
        return None
    if carried is not None:
        return carried.read(client, KIND, wb.project.project_id)
    return client.list_measurement_samples()


def lookup(client: IsometricClient, project_id: str, srid: str) -> list[m.MeasurementSample]:
    return [o for o in client.list_measurement_samples() if o.supplier_reference_id == srid]


def _same_value(value: SampleValuePayload, held: m.MeasurementValue) -> bool:
    prop = held.measurement_property
    if enum_text(prop.quantity_kind) != value.quantity_kind or (prop.qualifier or None) != value.qualifier:
        return False
    unit = value.unit or "dimensionless"
    return same_quantity(held.value, value.magnitude, unit, value.standard_deviation)


def pair(values: Sequence[SampleValuePayload], held: Sequence[m.MeasurementValue]) -> dict[str, str] | None:
    """Each workbook value's datapoint among the held values (same property and quantity; replicates of one figure
    are interchangeable), or None when they are not the same values."""
    if len(values) != len(held):
        return None
    free = list(held)
    out: dict[str, str] = {}
    for value in values:
        match = next((h for h in free if _same_value(value, h)), None)
        if match is None:
            return None
        free.remove(match)
        out[value.ref] = match.datapoint_id
    return out


def _frozen(p: Planning, datapoint_ids: set[str]) -> str | None:
    """Why a sample cannot be replaced: an entry of a submitted statement uses one of its datapoints (as this
    snapshot shows the workbook's entries), or Isometric reports one locked by a verified removal."""
    submitted = {s.id: enum_text(s.status) for s in p.state.statements if enum_text(s.status) in SUBMITTED_STATUSES}
    entries = {e.id: e for e in p.state.ghg_entries.values()}
    for entry_id, comps in p.state.entry_components.items():
        entry = entries.get(entry_id)
        if entry is None or (entry.ghg_statement_id or "") not in submitted:
            continue
        if any(datapoint_ids & set(input_ids(i)) for c in comps for i in c.inputs):
            return (
                f"GHG entry {entry_id} ({entry.supplier_reference_id or 'no reference'}) of submitted statement "
                f"{entry.ghg_statement_id} ({submitted[entry.ghg_statement_id or '']}) uses its values"
            )
    for dp in p.state.project_datapoints:
        if dp.id in datapoint_ids and enum_text(dp.locked_status) == "locked_used_in_verified_removal":
            return f"its datapoint {dp.id} is locked by a verified removal"
    return None


def _target_change(name: str, held: str | None, wanted: Ref | None, written: str | None) -> Change | None:
    if wanted is None:
        return Change(name, held, None) if held else None
    if isinstance(wanted, IdRef) and wanted.id == held:
        return None
    return Change(name, held, wanted.id if isinstance(wanted, IdRef) else f"{written} (new)")


def plan(p: Planning) -> list[Action]:
    out: list[Action] = []
    held_samples = p.state.table(SHEET)
    values_of: dict[str, list[SampleValuePayload]] = {}
    for v in p.wb.sample_values:
        values_of.setdefault(v.sample, []).append(
            SampleValuePayload(v.ref, v.quantity_kind, v.qualifier, float(v.magnitude), v.unit, v.standard_deviation)
        )
    for row in p.wb.samples:
        srid = p.srid(KIND, SHEET, row)
        payload = MeasurementSamplePayload(
            measurement_type=row.measurement_type,
            measured_at=iso_z(row.measured_at) or "",
            production_batch=p.ref("production_batch", row.production_batch) if row.production_batch else None,
            storage_location=p.ref("storage_location", row.storage_location) if row.storage_location else None,
            measurement_location=(
                p.ref("measurement_location", row.measurement_location) if row.measurement_location else None
            ),
            feedstock_batch=p.ref("feedstock_batch", row.feedstock_batch) if row.feedstock_batch else None,
            values=tuple(values_of.get(row.ref, ())),
            sources=row.source_refs,
        )
        deps = [
            *p.deps("production_batch", [row.production_batch] if row.production_batch else []),
            *p.deps("storage_location", [row.storage_location] if row.storage_location else []),
            *p.deps("measurement_location", [row.measurement_location] if row.measurement_location else []),
            *p.deps("feedstock_batch", [row.feedstock_batch] if row.feedstock_batch else []),
        ]
        base = placed(KIND, SHEET, row, srid, deps)
        existing = cast("m.MeasurementSample | None", held_samples.get(srid))
        if existing is None:
            out.append(p.record(Action(op="create", payload=payload, **base)))
            continue
        changes: list[Change] = []
        measured = row.measured_at.date().isoformat()
        if existing.measured_at.isoformat() != measured:
            changes.append(Change("measured_at", existing.measured_at.isoformat(), measured))
        for name, held_id, wanted, written in (
            ("production_batch", existing.production_batch_id, payload.production_batch, row.production_batch),
            (
                "measurement_location",
                existing.measurement_location_id,
                payload.measurement_location,
                row.measurement_location,
            ),
        ):
            change = _target_change(name, held_id, wanted, written)
            if change is not None:
                changes.append(change)
        paired = pair(payload.values, existing.values)
        if paired is None:
            changes.append(
                Change(
                    "values",
                    [
                        f"{enum_text(h.measurement_property.quantity_kind)} {h.value.magnitude:g}"
                        for h in existing.values
                    ],
                    [f"{v.quantity_kind} {v.magnitude:g}" for v in payload.values],
                )
            )
        elif not changes:
            for ref, datapoint_id in paired.items():
                p.matched[(SAMPLE_VALUE, ref)] = datapoint_id
        frozen = _frozen(p, {v.datapoint_id for v in existing.values}) if changes else None
        if frozen is not None:
            what = "; ".join(c.describe() for c in changes)
            reason = (
                f"{NOUN} {existing.id} changed ({what}), but it cannot be replaced: {frozen}. A submitted "
                "statement's figures stay as verified: give the row a new ref for a new sample (and bind the new "
                "values in a later period), or ask Isometric about a resubmission"
            )
            out.append(p.judged(Verdict("conflict", reason), payload, existing.id, changes, base))
            continue
        out += p.replaced(
            changes,
            payload,
            existing.id,
            base,
            noun=NOUN,
            extra=" (the entries bound to its values are re-bound to the new datapoints in the same run)",
        )
    return [_with_value_notes(a) for a in out]


def _with_value_notes(action: Action) -> Action:
    """A create or replace says how many datapoints the sample will make (the plan shows them)."""
    if action.op not in ("create", "replace"):
        return action
    n = len(action.payload_of(MeasurementSamplePayload).values)
    return dataclasses.replace(action, notes=(*action.notes, f"{n} value(s), each a datapoint locked to the sample"))


def apply(action: Action, env: ApplyEnv) -> Applied:
    if action.op == "delete":  # the old half of a replace
        return delete_replaced(action, env, noun=NOUN)
    p = action.payload_of(MeasurementSamplePayload)
    env.intend(action)

    def target(ref: Ref | None) -> str | None:
        return env.resolve(ref) if ref is not None else None

    from importer.api import models as api_models

    req = api_models.CreateMeasurementSampleRequest.model_validate(
        {
            "supplier_reference_id": action.supplier_reference_id,
            "measured_at": p.measured_at,
            "project_id": env.project_id,
            "measurement_type": p.measurement_type,
            "production_batch_id": target(p.production_batch),
            "storage_location_id": target(p.storage_location),
            "measurement_location_id": target(p.measurement_location),
            "feedstock_batch_id": target(p.feedstock_batch),
            "values": [
                {
                    "measurement_property": {"quantity_kind": v.quantity_kind, "qualifier": v.qualifier},
                    "value": {"magnitude": v.magnitude, "unit": v.unit, "standard_deviation": v.standard_deviation},
                }
                for v in p.values
            ],
        }
    )
    created = env.client.create_measurement_sample(req)
    env.created(action, created.id)
    paired = pair(p.values, created.values)
    if paired is None:
        raise StepFailed(
            f"{NOUN} {created.id} was created, but its answer's values are not the ones sent: the entries bound to "
            "them are not bound; compare the sample in the Certify UI"
        )
    for ref, datapoint_id in paired.items():
        env.part_created((SAMPLE_VALUE, ref), datapoint_id)
    return Applied(id=created.id, entity=created)  # a replace's create ends "replaced" (the scheduler's default)


SPEC = Kind(
    name=KIND,
    sheet=SHEET,
    label="measurement samples",
    noun="measurement sample",
    carried="organisation",
    leaves_entries=frozenset({"created", "replaced", "deleted"}),
    invalidates=("datapoint",),
    plan=plan,
    apply=apply,
    payloads=(MeasurementSamplePayload, SampleValuePayload),
    depends_on=("production_batch", "storage_location", "measurement_location", "feedstock_batch"),
    registry=SHEET,
    listing=listing,
    lookup=lookup,
)
