"""What a plan or a run produced, object by object: the single input of every output format (console
table, `--json`, the HTML result report, the CSV of failed rows).

Statuses:
- plan: ``create``, ``update``, ``unchanged``, ``conflict``, ``blocked``
- run: ``created``, ``updated``, ``unchanged``, ``failed``, ``blocked``, ``conflict``

A failed or conflicting row carries its `Failure` (importer.failures: category, HTTP status, request id, field,
attempts, time): what every output reads; its `error` is the same message as text, for people.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from importer.failures import Failure, advice

if TYPE_CHECKING:  # the planning package imports this module
    from importer.json_types import JSONObject
    from importer.planning.model import Plan
    from importer.shared_emissions import SharedEmissions

KINDS = (
    "source",
    "datapoint",
    "feedstock_type",
    "ghg_entry",
    "component",
    "component_attribution",
    "ghg_statement",
)
RUN_STATUSES = (
    "created",
    "updated",
    "replaced",
    "deleted",
    "unchanged",
    "failed",
    "blocked",
    "conflict",
    "not started",
)
PLAN_STATUSES = ("create", "update", "replace", "delete", "unchanged", "conflict", "blocked")
BAD_STATUSES = frozenset({"failed", "blocked", "conflict"})


@dataclass
class ObjectOutcome:
    sheet: str  # workbook sheet the object comes from ("project" for the statement)
    row: int | None  # Excel row
    ref: str | None
    kind: str  # one of KINDS
    supplier_reference_id: str | None
    id: str | None = None  # Isometric ID once known
    status: str = "create"
    error: str | None = None  # the API's message or the planner's reason (text, for people: never parsed)
    #: why a failed or conflicting row failed, typed (category, HTTP status, request id, field): what every output
    #: reads; None for rows that did not fail (a blocked row's cause is the row its `blocked_by` names)
    failure: Failure | None = None
    blocked_by: str | None = None  # "datapoints row 7 (ref x)" for blocked rows
    changes: list[str] = field(default_factory=list)  # fields that differ, for updates/conflicts
    before: dict[str, object] = field(default_factory=dict)  # field -> what the registry held (as shown to people)
    after: dict[str, object] = field(default_factory=dict)  # field -> what the workbook wants
    #: the first half of a replace: the workbook ref whose object replaces this one (not a row of its own)
    replaced_by: str | None = None

    def to_json(self) -> dict[str, object]:  # JSON but for the values of `before` and `after` (shown as text)
        out: dict[str, object] = {
            "sheet": self.sheet,
            "row": self.row,
            "ref": self.ref,
            "kind": self.kind,
            "supplier_reference_id": self.supplier_reference_id,
            "id": self.id,
            "status": self.status,
            "error": self.error,
        }
        if self.replaced_by is not None:
            out["replaced_by"] = self.replaced_by
        if self.failure is not None:
            out["failure"] = {**self.failure.to_json(), "advice": advice(self.failure, self.sheet, self.row)}
        if self.blocked_by:
            out["blocked_by"] = self.blocked_by
        if self.changes:
            out["changes"] = [
                {"field": name, "before": self.before.get(name), "after": self.after.get(name)} for name in self.changes
            ]
        return out


@dataclass
class SourceLineage:
    ref: str | None
    id: str | None
    display_name: str | None
    file_name: str | None
    sha256: str | None
    description: str | None = None  # the workbook's text; kept for the report, never sent (the API has no field)
    size_bytes: int | None = None


@dataclass
class SampleValueLineage:
    """A lab value behind a datapoint (a `sample_values` row): its sample, what the sample was taken from, and
    the lab certificate the workbook names (the API takes no sources for a sample: kept here only)."""

    ref: str
    sample: str  # the sample's workbook ref
    sample_id: str | None
    measurement_type: str
    measured_at: str
    property: str  # `mass_fraction (total_organic_carbon)`
    magnitude: float
    unit: str | None
    standard_deviation: float | None
    status: str = ""  # the sample's outcome
    taken_from: str | None = None  # "production batch", "storage location", "measurement location", "feedstock batch"
    target: str | None = None  # that object's workbook ref or ID
    target_id: str | None = None
    certificate: list[SourceLineage] = field(default_factory=list)


@dataclass
class DatapointLineage:
    ref: str | None
    id: str | None
    display_name: str | None
    magnitude: float | None
    unit: str | None
    sources: list[SourceLineage] = field(default_factory=list)
    sample: SampleValueLineage | None = None  # the datapoint is a sample's value (locked to the sample)


@dataclass
class InputLineage:
    input_key: str
    kind: str  # "fixed" | "monitored"
    datapoints: list[DatapointLineage] = field(default_factory=list)


@dataclass
class ComponentLineage:
    display_name: str
    blueprint_key: str
    group: str | None
    origin: str  # "template" | "extra" | "removed"
    attribution_factor: float | None = None
    inputs: list[InputLineage] = field(default_factory=list)


@dataclass
class EntryLineage:
    ref: str
    id: str | None
    status: str
    template_id: str | None
    template_name: str | None
    started_on: str | None
    completed_on: str | None
    co2e_net_removed_kg: float | None = None
    components: list[ComponentLineage] = field(default_factory=list)
    co2e_net_removed_standard_deviation_kg: float | None = None
    credit_type: str | None = None  # REMOVAL | REDUCTION, as the API reports it


@dataclass
class LocationLineage:
    """A storage location of the chain of custody (the workbook's row, or an slc_ ID it cites)."""

    ref: str
    id: str | None
    name: str | None
    latitude: float | None
    longitude: float | None
    storage_method: str | None = None


@dataclass
class ApplicationLineage:
    """One spreading: which batch, where, when, how much (net of the truck), at what rate, for which entry."""

    ref: str
    id: str | None
    status: str
    batch: str  # the production batch's workbook ref, or its ptb_ ID
    location: str  # the storage location's workbook ref, or its slc_ ID
    application_date: str
    net_mass: float  # arrival minus departure, in `mass_unit`
    mass_unit: str
    net_mass_kg: float | None  # the same in kg (None when the unit cannot be converted)
    rate: float
    rate_unit: str
    entry: str | None = None  # the GHG entry's workbook ref: lineage only
    sources: list[str] = field(default_factory=list)


@dataclass
class BatchLineage:
    ref: str
    id: str | None
    status: str
    display_name: str | None
    started_at: str | None
    ended_at: str | None
    mass: float | None
    unit: str | None
    feedstock_types: list[str] = field(default_factory=list)


@dataclass
class ChainLineage:
    """The chain of custody of a workbook: production batches, their applications, and the storage locations."""

    batches: list[BatchLineage] = field(default_factory=list)
    applications: list[ApplicationLineage] = field(default_factory=list)
    locations: list[LocationLineage] = field(default_factory=list)


@dataclass
class RunResult:
    run_id: str
    mode: str  # "plan" | "run"
    workbook_path: str
    workbook_sha256: str
    tool_version: str
    api_url: str
    environment: str  # "local sandbox", "Isometric sandbox", "Isometric production", "custom"
    embedded_sandbox: bool
    operator: str
    started_at: dt.datetime
    finished_at: dt.datetime | None = None
    objects: list[ObjectOutcome] = field(default_factory=list)
    lineage: list[EntryLineage] = field(default_factory=list)
    #: the statement as the API answered (a model's JSON dump) or as the plan has it (id, status, start_on,
    #: end_on, submit)
    statement: dict[str, object] | None = None
    warnings: list[JSONObject] = field(default_factory=list)  # Finding.to_json() of validation warnings
    messages: list[str] = field(default_factory=list)  # run-level notes (interrupted, lock, gap...)
    report_path: str | None = None
    interrupted: bool = False
    #: sources sheet ref -> description: not sent (CreateDocumentSourceRequest declares no description)
    source_descriptions: dict[str, str] = field(default_factory=dict)
    #: how values were read where that differs from what the cells store (Finding.to_json() of notes)
    readings: list[JSONObject] = field(default_factory=list)
    #: objects under this workbook's prefix that it no longer defines: kind, id, supplier_reference_id,
    #: co2e_net_removed_kg, deletable, why_not
    orphans: list[dict[str, object]] = field(default_factory=list)
    #: the batch position ("2 of 12") and the stop reason when the run stopped early (credentials, disk)
    stopped: str | None = None
    plan: Plan | None = field(default=None, repr=False)  # the Plan behind this result
    #: the GHG entries the statement will hold, grouped: workbook / orphan / elsewhere (group, ref, id,
    #: completed_on, co2e_net_removed_kg)
    statement_entries: list[dict[str, object]] = field(default_factory=list)
    #: the rate the client kept to when the API limited it: scope -> requests per second, and where it came
    #: from ("RateLimit headers", "429 answers", "429 answers of earlier runs": the run history's, adopted and not
    #: lowered since, or "the stated rate": --max-rate, and no 429); empty / None when it was never limited
    settled_rates: dict[str, float] = field(default_factory=dict)
    rate_source: str | None = None
    rate_stated: bool = False  # the stated rate alone paced the run, and no 429 (the outputs word it so)
    throttled: int = 0  # requests answered 429 during the run
    #: the CO2e the registry held when the run planned (statement_total_kg, entries by ref): how the run moved it
    co2e_before: dict[str, object] | None = None
    #: the chain of custody (production batches -> applications -> storage locations); None without those sheets
    chain: ChainLineage | None = None
    #: every lab value of the workbook (`sample_values`), with its sample: the report's replicate charts
    samples: list[SampleValueLineage] = field(default_factory=list)
    #: the project and statement components and each entry's share of them, estimated under the local sandbox's
    #: rule (`importer.shared_emissions`); None without such components
    shared: SharedEmissions | None = None
    #: kind -> (one, many) for people ("storage location", "storage locations"): what each registered kind calls
    #: itself (`Kind.noun`, `Kind.label`), so that the outputs name no kind of their own
    kind_names: dict[str, tuple[str, str]] = field(default_factory=dict)

    def noun(self, kind: str) -> str:
        """One object of `kind`, for people ("GHG entry")."""
        return self.kind_names[kind][0] if kind in self.kind_names else kind.replace("_", " ")

    def plural(self, kind: str) -> str:
        """Objects of `kind`, for people, as a heading ("GHG entries", "Storage locations")."""
        many = self.kind_names[kind][1] if kind in self.kind_names else kind.replace("_", " ") + "s"
        return many[:1].upper() + many[1:]

    @property
    def ok(self) -> bool:
        return not self.interrupted and not self.stopped and not any(o.status in BAD_STATUSES for o in self.objects)

    @property
    def duration_seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    def counts(self) -> dict[str, dict[str, int]]:
        statuses = PLAN_STATUSES if self.mode == "plan" else RUN_STATUSES
        table = {kind: dict.fromkeys(statuses, 0) for kind in KINDS}
        for obj in self.objects:  # a kind beyond KINDS (one registered since) gets its row when it has objects
            row = table.setdefault(obj.kind, dict.fromkeys(statuses, 0))
            row[obj.status] = row.get(obj.status, 0) + 1
        return table

    def to_json(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "run_id": self.run_id,
            "mode": self.mode,
            "workbook": self.workbook_path,
            "workbook_sha256": self.workbook_sha256,
            "api": {"url": self.api_url, "embedded_sandbox": self.embedded_sandbox, "environment": self.environment},
            "counts": self.counts(),
            "objects": [o.to_json() for o in self.objects],
            "statement": self.statement,
            "lineage": [asdict(e) for e in self.lineage],
            "chain": asdict(self.chain) if self.chain is not None else None,
            "co2e_before": self.co2e_before,
            "shared": asdict(self.shared) if self.shared is not None else None,
            "warnings": self.warnings,
            "messages": self.messages,
            "source_descriptions": self.source_descriptions,
            "readings": self.readings,
            "orphans": self.orphans,
            "statement_entries": self.statement_entries,
            "stopped": self.stopped,
            "interrupted": self.interrupted,
            "rate": {"settled": self.settled_rates, "source": self.rate_source, "answered_429": self.throttled},
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "report": self.report_path,
        }
