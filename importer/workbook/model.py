"""The validated content of a workbook, as typed rows.

This is what validation hands to the planner: every value parsed (dates are dates, units are checked,
files are hashed), every row carrying its Excel row number so later stages can still point at it. Refs are
kept as written: a ref names a row of another sheet, or is an existing Isometric ID (`src_...`); resolving
them to IDs is the planner's job, because only it knows what the registry holds.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar, cast

R = TypeVar("R")


@dataclass(slots=True)
class ProjectSettings:
    project_id: str
    statement_end_on: dt.date | None = None
    submit_statement: bool = False
    ghg_statement_report_url: str | None = None
    supplier_reference_prefix: str | None = None
    facility_id: str | None = None  # the default of production_batches rows


@dataclass(slots=True)
class SourceRow:
    row: int
    ref: str
    display_name: str
    file: Path  # resolved absolute path, inside the workbook's folder
    file_name: str  # as sent to the API (the file's base name)
    published_at: dt.date
    description: str | None
    is_public: bool
    supplier_reference_id: str | None
    content_type: str
    content_length: int
    sha256: str


@dataclass(slots=True)
class DatapointRow:
    row: int
    ref: str
    display_name: str
    description: str
    type: str
    magnitude: float
    unit: str
    standard_deviation: float | None
    measured_at: dt.datetime | None  # UTC
    source_refs: tuple[str, ...]  # refs of the sources sheet or src_ IDs
    uncertainty_justification: str | None
    supplier_reference_id: str | None


@dataclass(slots=True)
class FeedstockTypeRow:
    """A reference to an existing feedstock type (the API creates none): by ID, or by reference or name."""

    row: int
    ref: str
    feedstock_type_id: str | None
    name: str | None
    supplier_reference_id: str | None


@dataclass(slots=True)
class EntryRow:
    row: int
    ref: str
    template: str  # rvt_ ID or display name
    started_on: dt.date
    completed_on: dt.date
    feedstock_type: str | None  # ref of feedstock_types or ftt_ ID
    supplier_reference_id: str | None


@dataclass(slots=True)
class EntryInputRow:
    row: int
    entry_ref: str
    template_component: str  # rtc_ ID, display name or blueprint key
    input_key: str
    datapoint_refs: tuple[str, ...]  # refs of datapoints or dtp_ IDs


@dataclass(slots=True)
class ComponentRow:
    row: int
    ref: str
    entry_ref: str
    action: str  # "add" | "remove"
    blueprint_key: str | None
    display_name: str | None
    description: str | None
    activity_started_at: dt.datetime | None
    activity_completed_at: dt.datetime | None
    group: str | None
    attribution_factor: float
    template_component: str | None  # for "remove"
    supplier_reference_id: str | None
    scope: str = "entry"  # "entry" | "project" | "statement"
    allocation_strategy: str | None = None  # scope project: the contract's ProjectComponentAmortizationStrategy

    @property
    def entry_scoped(self) -> bool:
        return self.scope == "entry"


@dataclass(slots=True)
class ProjectComponentAttributionRow:
    """A MANUAL project component's share of one GHG entry."""

    row: int
    component: str  # ref of a components row of scope project
    entry: str  # ref of entries or rmv_ ID
    attribution_factor: float


@dataclass(slots=True)
class ComponentInputRow:
    row: int
    component_ref: str
    input_key: str
    datapoint_refs: tuple[str, ...]


@dataclass(slots=True)
class StorageLocationRow:
    row: int
    ref: str
    name: str
    latitude: float
    longitude: float
    storage_method: str | None  # the contract's StorageMethod
    description: str | None
    supplier_reference_id: str | None


@dataclass(slots=True)
class ProductionBatchRow:
    row: int
    ref: str
    display_name: str | None
    facility_id: str | None  # None: the project sheet's facility_id
    feedstock_types: tuple[str, ...]  # refs of the feedstock_types sheet or ftt_ IDs
    started_at: dt.datetime  # UTC
    ended_at: dt.datetime  # UTC
    mass: float
    unit: str
    standard_deviation: float | None
    supplier_reference_id: str | None


@dataclass(slots=True)
class BiocharApplicationRow:
    row: int
    ref: str
    production_batch: str  # ref of production_batches or ptb_ ID
    storage_location: str  # ref of storage_locations or slc_ ID
    application_date: dt.date
    application_rate: float
    application_rate_unit: str
    truck_mass_on_arrival: float
    truck_mass_on_departure: float
    truck_mass_unit: str
    source_refs: tuple[str, ...]
    entry: str | None  # ref of the entries sheet: local lineage only
    supplier_reference_id: str | None


@dataclass(slots=True)
class MeasurementLocationRow:
    row: int
    ref: str
    latitude: float
    longitude: float
    supplier_reference_id: str | None


@dataclass(slots=True)
class SampleRow:
    row: int
    ref: str
    measurement_type: str  # the contract's MeasurementTypeKey
    measured_at: dt.datetime  # UTC
    production_batch: str | None  # ref of production_batches or ptb_ ID
    storage_location: str | None  # ref of storage_locations or slc_ ID
    measurement_location: str | None  # ref of measurement_locations or mlc_ ID
    feedstock_batch: str | None  # ref of feedstock_batches or ftb_ ID
    source_refs: tuple[str, ...]  # the lab certificate: lineage only (the API takes no sources for a sample)
    supplier_reference_id: str | None


@dataclass(slots=True)
class SampleValueRow:
    row: int
    ref: str
    sample: str  # ref of the samples sheet
    quantity_kind: str  # the contract's QuantityKindType
    qualifier: str | None  # the contract's QuantityKindQualifierType
    magnitude: float
    unit: str | None  # None: dimensionless
    standard_deviation: float | None

    @property
    def property(self) -> str:
        """The measured property as people read it: `mass_fraction (total_organic_carbon)`."""
        return self.quantity_kind + (f" ({self.qualifier})" if self.qualifier else "")


@dataclass
class Workbook:
    """A workbook that passed offline validation (no errors; warnings allowed)."""

    path: Path
    sha256: str
    project: ProjectSettings
    sources: list[SourceRow] = field(default_factory=list)
    datapoints: list[DatapointRow] = field(default_factory=list)
    feedstock_types: list[FeedstockTypeRow] = field(default_factory=list)
    entries: list[EntryRow] = field(default_factory=list)
    entry_inputs: list[EntryInputRow] = field(default_factory=list)
    components: list[ComponentRow] = field(default_factory=list)
    component_inputs: list[ComponentInputRow] = field(default_factory=list)
    project_component_attributions: list[ProjectComponentAttributionRow] = field(default_factory=list)
    storage_locations: list[StorageLocationRow] = field(default_factory=list)
    production_batches: list[ProductionBatchRow] = field(default_factory=list)
    biochar_applications: list[BiocharApplicationRow] = field(default_factory=list)
    measurement_locations: list[MeasurementLocationRow] = field(default_factory=list)
    samples: list[SampleRow] = field(default_factory=list)
    sample_values: list[SampleValueRow] = field(default_factory=list)
    #: sheet -> column name -> 1-based Excel column index, as found in this workbook's header row, so
    #: later stages (online checks, the planner) can still name the exact cell of a problem.
    columns: dict[str, dict[str, int]] = field(default_factory=dict)
    #: project-sheet setting -> its Excel row (the value is in column B)
    project_rows: dict[str, int] = field(default_factory=dict)
    #: the sheets kinds declare themselves (`spec.register`) that the workbook has: the sheet's `row_type` -> its
    #: name and its typed rows
    declared: dict[type, tuple[str, list[object]]] = field(default_factory=dict)

    def rows_of(self, row_type: type[R]) -> list[R]:
        """The typed rows of the sheet a kind declared with this `row_type` (empty when the workbook has none)."""
        found = self.declared.get(row_type)
        return cast("list[R]", found[1] if found is not None else [])

    def cell(self, sheet: str, row: int, column: str) -> str | None:
        """A1 name of `column` in Excel `row` of `sheet` (None when the column is absent)."""
        from importer.findings import cell_name

        return cell_name(row, self.columns.get(sheet, {}).get(column))

    def counts(self) -> dict[str, int]:
        optional = {
            "project_component_attributions": len(self.project_component_attributions),
            "storage_locations": len(self.storage_locations),
            "production_batches": len(self.production_batches),
            "biochar_applications": len(self.biochar_applications),
            "measurement_locations": len(self.measurement_locations),
            "samples": len(self.samples),
            "sample_values": len(self.sample_values),
            **{sheet: len(rows) for sheet, rows in self.declared.values()},
        }  # new sheets: said only when used
        return {
            "sources": len(self.sources),
            "datapoints": len(self.datapoints),
            "feedstock_types": len(self.feedstock_types),
            "entries": len(self.entries),
            "entry_inputs": len(self.entry_inputs),
            "components": len(self.components),
            "component_inputs": len(self.component_inputs),
            **{sheet: n for sheet, n in optional.items() if n},
        }
