"""Typed request and response bodies of the endpoints the importer uses, after the published document
(`mrv.openapi.json`, post-rename). Responses ignore unknown fields (the API's compatibility promise: new
response properties may appear at any time); requests carry exactly the documented fields."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, ClassVar, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, JsonValue, model_validator

from importer import measurement_enums as _enums
from importer.json_types import JSONObject


class Response(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    def body(self) -> JSONObject:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class PatchRequest(Request):
    """A PATCH changes only the fields it names: unset fields are left out. None of the PATCH bodies the
    document declares lets a top-level field be null (they take a value or the `Undefined` placeholder, which
    means "leave as is"), so no field can be cleared through the API: a field set to None is refused here,
    never silently dropped, and the planner reports such a change as a conflict before anything is sent.
    Nested nulls stay where the document allows them: `quantity.standard_deviation: null` clears it."""

    #: top-level fields the document lets a PATCH set to null (it clears them)
    clearable: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _no_clearing(self) -> PatchRequest:
        cleared = sorted(
            name for name in self.model_fields_set if getattr(self, name) is None and name not in self.clearable
        )
        if cleared:
            raise ValueError(
                f"{', '.join(cleared)}: the API cannot clear this field (the document accepts a value "
                "or leaves it unchanged, never null)"
            )
        return self

    def body(self) -> JSONObject:
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


# -- responses ---------------------------------------------------------------------------------------


class PageInfo(Response):
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None = None
    end_cursor: str | None = None


class Project(Response):
    id: str
    name: str
    country_code: str | None = None
    description: str | None = None
    short_description: str | None = None


class UrlInfo(Response):
    typename: str | None = Field(None, alias="__typename")
    url: str | None = None
    is_accessible: bool | None = None


class Source(Response):
    id: str
    supplier_reference_id: str | None = None
    display_name: str | None = None
    original_filename: str | None = None
    type: str | None = None
    published_at: dt.date | None = None
    url_info: UrlInfo | None = None
    is_public: bool = False
    project_id: str | None = None
    description: str | None = None

    # `url_info.is_accessible` says whether a private source is visible to the caller (true for one's own
    # sources even before the file arrives), not whether it was uploaded: the only upload signal the
    # contract gives is `POST /sources/{id}/signed_upload_url` answering 409.


class CreateSourceResponse(Response):
    source: Source
    signed_upload_url: str | None = None


class Quantity(Response):
    magnitude: float
    unit: str | None = None
    standard_deviation: float | None = None


class Datapoint(Response):
    id: str
    supplier_reference_id: str | None = None
    display_name: str
    type: str
    quantity: Quantity
    description: str | None = None
    source_ids: list[str] = []
    measured_at: dt.datetime | None = None
    project_id: str | None = None
    locked_status: str = "not_locked"
    uncertainty_justification: str | None = None


class FeedstockType(Response):
    id: str
    supplier_reference_id: str | None = None
    name: str


#: the document's StorageMethod enum
StorageMethod = Literal[
    "biochar_field",
    "biochar_landfill",
    "permeable_reservoir",
    "biomass_subsurface",
    "salt_cavern",
    "saline_aquifer",
    "in_situ_mineralization",
    "depleted_hydrocarbon_reservoir",
]
STORAGE_METHODS: tuple[str, ...] = get_args(StorageMethod)


class StorageLocation(Response):
    id: str
    supplier_reference_id: str | None = None
    name: str
    latitude: float | None = None
    longitude: float | None = None
    storage_method: str
    description: str | None = None
    project_id: str
    supplier_id: str | None = None


class ProductionBatch(Response):
    """An organisation's production batch (not a project's: the document gives it no project_id)."""

    id: str
    supplier_reference_id: str | None = None
    display_name: str | None = None
    facility_id: str
    feedstock_type_ids: list[str] = []
    kind: str = "biochar"
    started_at: dt.datetime
    ended_at: dt.datetime
    mass: Quantity


class BiocharApplication(Response):
    """One spreading of one batch's biochar on one storage location. `storage_location_id` is what the create
    calls `storage_site_id`; `ghg_entry_id` is set by Isometric, never by a request."""

    id: str
    supplier_reference_id: str | None = None
    production_batch_id: str
    storage_location_id: str
    ghg_entry_id: str | None = None
    application_date: dt.date
    average_application_rate: Quantity
    truck_mass_on_arrival: Quantity
    truck_mass_on_departure: Quantity


class MeasurementLocation(Response):
    """A point where field teams sample (soil, say): the document gives it no project_id in the answer."""

    id: str
    supplier_reference_id: str | None = None
    latitude: float
    longitude: float


class MeasurementProperty(Response):
    quantity_kind: str
    qualifier: str | None = None


class MeasurementValue(Response):
    """One value of a sample, and the datapoint Isometric made of it (locked to the sample: never PATCH it)."""

    datapoint_id: str
    measurement_property: MeasurementProperty
    value: Quantity


class MeasurementSample(Response):
    """A lab or field sample. The answer carries neither the measurement type nor the storage location or
    feedstock batch it was taken from (the document's MeasurementSample); `measured_at` comes back a date."""

    id: str
    supplier_reference_id: str | None = None
    measured_at: dt.date
    production_batch_id: str | None = None
    measurement_location_id: str | None = None
    values: list[MeasurementValue] = []


class TemplateInput(Response):
    input_key: str
    display_name: str | None = None
    type: str  # fixed | monitored
    datapoint_id: str | None = None
    quantity_kind: str | None = None


class TemplateComponent(Response):
    id: str
    display_name: str
    description: str | None = None
    blueprint_key: str
    inputs: list[TemplateInput] = []


class TemplateGroup(Response):
    id: str
    key: str
    display_name: str
    description: str | None = None
    components: list[TemplateComponent] = []


class GhgEntryTemplate(Response):
    id: str
    display_name: str
    project_id: str
    supplier_reference_id: str | None = None
    credit_type: str | None = None
    groups: list[TemplateGroup] = []


class BlueprintInput(Response):
    input_key: str
    description: str | None = None
    data_shape: str  # SCALAR | LIST
    quantity_kind: str | None = None
    compatible_unit: str


class BlueprintExpression(Response):
    key: str
    template: str
    inputs: list[dict[str, JsonValue]] = []  # as the API gives them (the importer reads none)


class ComponentBlueprint(Response):
    key: str
    display_name: str
    description: str | None = None
    type: str
    inputs: list[BlueprintInput] = []
    expressions: list[BlueprintExpression] = []


class ComponentInput(Response):
    typename: str | None = Field(None, alias="__typename")
    input_key: str
    datapoint_id: str | None = None
    datapoint_ids: list[str] | None = None


class Component(Response):
    id: str
    supplier_reference_id: str | None = None
    type: str | None = None
    scope: str | None = None
    display_name: str
    description: str | None = None
    activity_started_at: dt.datetime | None = None
    activity_completed_at: dt.datetime | None = None
    blueprint_key: str
    removal_template_component_id: str | None = None
    ghg_entry_template_component_id: str | None = None  # the post-rename name (inferred), should it appear
    inputs: list[ComponentInput] = []
    allocation_strategy: str | None = None  # project-scoped components only (ProjectComponentAmortizationStrategy)

    @property
    def template_component_id(self) -> str | None:
        """The template component this component fills, whichever name the API uses."""
        return self.ghg_entry_template_component_id or self.removal_template_component_id


class ComponentAttribution(Response):
    id: str
    component_id: str
    component_group_key: str
    attribution_factor: float
    removal_id: str | None = None
    ghg_entry_id: str | None = None  # inferred post-rename name
    removal_template_component_id: str | None = None
    ghg_entry_template_component_id: str | None = None  # inferred post-rename name


class CreditAllocation(Response):
    buffer_pool_contribution_kg: float | None = None
    supplier_allocation_kg: float | None = None


class GhgEntry(Response):
    id: str
    supplier_reference_id: str | None = None
    started_on: dt.date
    completed_on: dt.date
    co2e_net_removed_kg: float | None = None
    co2e_net_removed_without_discount_kg: float | None = None
    co2e_net_removed_standard_deviation_kg: float | None = None
    ghg_statement_id: str | None = None
    feedstock_type_id: str | None = None
    credit_type: str | None = None
    risk_of_reversal_percentage: float | None = None
    credit_allocation: CreditAllocation | None = None


class GhgStatement(Response):
    id: str
    project_id: str
    status: str
    reporting_period_start_at: dt.date
    reporting_period_end_at: dt.date
    ghg_entry_ids: list[str] = []
    removal_ids: list[str] = []
    submitted_at: dt.datetime | None = None
    credits_issued_at: dt.datetime | None = None
    verifier: str | None = None
    ghg_statement_report_url: str | None = None
    pending_total_co2e_removed_kg: float | None = None


# -- requests ----------------------------------------------------------------------------------------

DatapointType = Literal["CONSTANT", "STANDARD_PUBLISHED_VALUE", "REPORTED", "ASSUMPTION", "DERIVED"]


class CreateSourceRequest(Request):
    typename: Literal["CreateDocumentSourceRequest"] = Field("CreateDocumentSourceRequest", alias="__typename")
    supplier_reference_id: str = Field(min_length=1, max_length=100)
    display_name: str = Field(min_length=1, max_length=100)
    published_at: dt.date
    file_name: str
    content_type: str
    content_length: int = Field(le=50_000_000)
    project_id: str = Field(min_length=20, max_length=37)
    is_public: bool = False
    description: str | None = None  # optional; left out when the workbook has none


class PatchSourceRequest(PatchRequest):
    """`description: null` clears the description (the document's PatchSourceRequest allows it)."""

    clearable: ClassVar[frozenset[str]] = frozenset({"description"})
    display_name: str | None = Field(None, min_length=1, max_length=100)
    published_at: dt.date | None = None
    is_public: bool | None = None
    supplier_reference_id: str | None = Field(None, min_length=1, max_length=100)
    description: str | None = None


class SignedUploadUrlRequest(Request):
    content_length: int = Field(le=50_000_000)
    content_type: str


class QuantityInput(Request):
    """`unit` is required by the API but may be null (a dimensionless quantity), so it is always sent."""

    magnitude: float
    unit: str | None
    standard_deviation: float | None = None

    def body(self) -> JSONObject:
        return self.model_dump(mode="json")


class CreateDatapointRequest(Request):
    supplier_reference_id: str = Field(min_length=1, max_length=100)
    display_name: str = Field(min_length=1, max_length=100)
    description: str = Field(max_length=500)
    type: DatapointType
    quantity: QuantityInput
    source_ids: list[str]
    project_id: str = Field(min_length=20, max_length=37)
    measured_at: dt.datetime | None = None
    uncertainty_justification: str | None = None

    def body(self) -> JSONObject:
        body = super().body()
        # null is meaningful here: exclude_none dropped it
        body["quantity"] = {**self.quantity.model_dump(mode="json", exclude_none=True), "unit": self.quantity.unit}
        return body


class PatchDatapointRequest(PatchRequest):
    display_name: str | None = Field(None, min_length=1, max_length=100)
    description: str | None = Field(None, max_length=500)  # the document states 500 on create; held here too
    type: DatapointType | None = None
    quantity: QuantityInput | None = None
    source_ids: list[str] | None = None
    uncertainty_justification: str | None = None


class PatchFeedstockTypeRequest(PatchRequest):
    name: str | None = None
    supplier_reference_id: str | None = Field(None, min_length=1, max_length=100)


class ScalarInput(Request):
    typename: Literal["CreateComponentScalarInput"] = Field("CreateComponentScalarInput", alias="__typename")
    input_key: str = Field(max_length=100)
    datapoint_id: str = Field(min_length=20, max_length=37)


class ListInput(Request):
    typename: Literal["CreateComponentListInput"] = Field("CreateComponentListInput", alias="__typename")
    input_key: str = Field(max_length=100)
    datapoint_ids: list[str]


ComponentInputBody = Annotated[ScalarInput | ListInput, Field(discriminator="typename")]


class TemplateComponentInputs(Request):
    ghg_entry_template_component_id: str = Field(min_length=20, max_length=37)
    inputs: list[ComponentInputBody]


class CreateGhgEntryRequest(Request):
    supplier_reference_id: str = Field(min_length=1, max_length=100)
    project_id: str = Field(min_length=20, max_length=37)
    started_on: dt.date
    completed_on: dt.date
    ghg_entry_template_id: str = Field(min_length=20, max_length=37)
    feedstock_type_id: str | None = Field(None, min_length=20, max_length=37)
    ghg_entry_template_components: list[TemplateComponentInputs] = []


class PatchGhgEntryRequest(PatchRequest):
    """`feedstock_type_id` takes an ID or is left out: the API offers no way to clear it."""

    started_on: dt.date | None = None
    completed_on: dt.date | None = None
    feedstock_type_id: str | None = Field(None, min_length=20, max_length=37)


class CreateComponentRequest(Request):
    supplier_reference_id: str = Field(min_length=1, max_length=100)
    project_id: str = Field(min_length=20, max_length=37)
    component_blueprint_key: str
    display_name: str = Field(min_length=1, max_length=100)
    description: str | None = None
    activity_started_at: dt.datetime
    activity_completed_at: dt.datetime
    inputs: list[ComponentInputBody]


#: the contract's ProjectComponentAmortizationStrategy
AllocationStrategy = Literal[
    "ESTIMATED_PROJECT_REMOVAL_TONNAGE",
    "MANUAL",
    "CUSTOM_TIME_PERIOD",
    "ESTIMATED_PROJECT_LIFETIME",
    "ESTIMATED_PROJECT_REDUCTION_TONNAGE",
]


class PatchComponentRequest(PatchRequest):
    """`inputs` replaces the component's inputs; the activity dates and the blueprint cannot change."""

    display_name: str | None = Field(None, min_length=1, max_length=100)
    description: str | None = None
    inputs: list[ComponentInputBody] | None = None
    allocation_strategy: AllocationStrategy | None = None  # project-scoped components only


class CreateProjectComponentRequest(Request):
    """POST /project_components: a whole component create, amortised over the project by its strategy."""

    allocation_strategy: AllocationStrategy
    component_data: CreateComponentRequest


class CreateGhgStatementComponentRequest(Request):
    """POST /ghg_statement_components: a component attributed evenly to the entries of one (draft) statement."""

    ghg_statement_id: str = Field(min_length=20, max_length=37)
    component_data: CreateComponentRequest


class ProjectComponentAttributionRequest(Request):
    """POST /project_components/{id}/ghg_entry_attributions (MANUAL): the share of the component an entry carries."""

    ghg_entry_id: str = Field(min_length=20, max_length=37)
    attribution_factor: float = Field(gt=0, le=1)


class ComponentToAttribute(Request):
    component_id: str = Field(min_length=20, max_length=37)
    component_group_key: str
    attribution_factor: float = Field(1.0, gt=0, le=1)


class PatchComponentAttributionsRequest(PatchRequest):
    components_to_add: list[ComponentToAttribute] | None = None
    components_to_remove: list[str] | None = None


class CreateGhgStatementRequest(Request):
    project_id: str = Field(min_length=20, max_length=37)
    end_on: dt.date


class SubmitGhgStatementRequest(Request):
    ghg_statement_report_url: str = Field(max_length=2048)
    summary_of_changes: str | None = None


class CreateStorageLocationRequest(Request):
    project_id: str = Field(min_length=20, max_length=37)
    name: str = Field(max_length=100)
    latitude: float = Field(ge=-90, le=90, allow_inf_nan=False)
    longitude: float = Field(ge=-180, le=180, allow_inf_nan=False)
    storage_method: StorageMethod | None = None
    description: str | None = None
    supplier_reference_id: str | None = Field(None, min_length=1, max_length=100)


class PatchStorageLocationRequest(PatchRequest):
    name: str | None = Field(None, max_length=100)  # the document caps it on create and in the response, not here
    latitude: float | None = Field(None, ge=-90, le=90, allow_inf_nan=False)
    longitude: float | None = Field(None, ge=-180, le=180, allow_inf_nan=False)
    storage_method: StorageMethod | None = None
    description: str | None = None
    supplier_reference_id: str | None = Field(None, min_length=1, max_length=100)


class ScalarQuantityInput(Request):
    """The document's ScalarQuantity as a request sends it: `unit` required (at least one character)."""

    magnitude: float = Field(allow_inf_nan=False)
    unit: str = Field(min_length=1)
    standard_deviation: float | None = Field(None, allow_inf_nan=False)


#: the document's ProductionBatchKind enum
ProductionBatchKind = Literal["biochar"]


class CreateProductionBatchRequest(Request):
    facility_id: str = Field(min_length=20, max_length=37)
    feedstock_type_ids: list[Annotated[str, Field(min_length=20, max_length=37)]]
    supplier_reference_id: str = Field(min_length=1, max_length=100)
    kind: ProductionBatchKind
    started_at: dt.datetime
    ended_at: dt.datetime
    mass: ScalarQuantityInput
    display_name: str | None = Field(None, min_length=1, max_length=100)


class CreateBiocharApplicationRequest(Request):
    project_id: str = Field(min_length=20, max_length=37)
    storage_site_id: str = Field(min_length=20, max_length=37)
    production_batch_id: str = Field(min_length=20, max_length=37)
    average_application_rate: ScalarQuantityInput
    application_date: dt.date
    truck_mass_on_arrival: ScalarQuantityInput
    truck_mass_on_departure: ScalarQuantityInput
    supplier_reference_id: str = Field(min_length=1, max_length=100)
    source_ids: list[Annotated[str, Field(min_length=20, max_length=37)]] = []


class CreateMeasurementLocationRequest(Request):
    supplier_reference_id: str = Field(min_length=1, max_length=100)
    latitude: float = Field(ge=-90.0, le=90.0, allow_inf_nan=False)
    longitude: float = Field(ge=-180.0, le=180.0, allow_inf_nan=False)
    project_id: str = Field(min_length=20, max_length=37)


QuantityKind = Literal[_enums.QUANTITY_KINDS]  # type: ignore[valid-type]
Qualifier = Literal[_enums.QUALIFIERS]  # type: ignore[valid-type]
MeasurementType = Literal[_enums.MEASUREMENT_TYPES]  # type: ignore[valid-type]


class MeasurementPropertyInput(Request):
    """The document's MeasurementProperty as a request sends it: both required, the qualifier nullable."""

    quantity_kind: QuantityKind
    qualifier: Qualifier | None

    def body(self) -> JSONObject:
        return self.model_dump(mode="json", by_alias=True)


class DatapointQuantityInput(Request):
    """The document's DatapointQuantityInput: `unit` required (nullable), a standard deviation optional."""

    magnitude: float = Field(allow_inf_nan=False)
    unit: str | None
    standard_deviation: float | None = Field(None, allow_inf_nan=False)


class CreateMeasurementSampleValueRequest(Request):
    measurement_property: MeasurementPropertyInput
    value: DatapointQuantityInput


#: the fields of a sample's create that are required but nullable: sent as null, never left out
_SAMPLE_NULLABLE = ("supplier_reference_id", "feedstock_batch_id", "measurement_location_id", "storage_location_id")


class CreateMeasurementSampleRequest(Request):
    """At most one of the four targets (production batch, storage location, measurement location, feedstock
    batch); three of them are required (nullable) by the document, so the body sends their nulls."""

    supplier_reference_id: str | None = Field(min_length=1, max_length=100)
    measured_at: dt.datetime
    project_id: str = Field(min_length=20, max_length=37)
    measurement_type: MeasurementType
    values: list[CreateMeasurementSampleValueRequest]
    production_batch_id: str | None = Field(None, min_length=20, max_length=37)
    storage_location_id: str | None = Field(min_length=20, max_length=37)
    measurement_location_id: str | None = Field(min_length=20, max_length=37)
    feedstock_batch_id: str | None = Field(min_length=20, max_length=37)

    @model_validator(mode="after")
    def _one_target(self) -> CreateMeasurementSampleRequest:
        targets = [
            n
            for n in ("production_batch_id", "storage_location_id", "measurement_location_id", "feedstock_batch_id")
            if getattr(self, n) is not None
        ]
        if len(targets) > 1:
            raise ValueError(f"a sample is taken from at most one of {', '.join(targets)}")
        return self

    def body(self) -> JSONObject:
        out = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        for name in _SAMPLE_NULLABLE:
            out.setdefault(name, None)
        out["values"] = [
            {
                "measurement_property": v.measurement_property.body(),
                "value": {**v.value.model_dump(mode="json", exclude_none=True), "unit": v.value.unit},
            }
            for v in self.values
        ]
        return out
