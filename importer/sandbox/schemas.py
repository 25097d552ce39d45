"""Request bodies and query parameters the sandbox accepts, as the published document states them (required
fields, nullability, lengths, enums, formats) and no stricter. Validation failures become 422
`HTTPValidationError` bodies shaped like the real API's (FastAPI): `{"detail": [{"type", "loc": ["body", ...],
"msg", "input", "ctx"}]}`. Unknown fields are ignored, as pydantic (and so the real API) does by default.

PATCH bodies: a field absent or given as the placeholder `{"__typename": "Undefined"}` is left unchanged (the
document's `Undefined` schema, the default of every PATCH field); `null` is refused wherever the document's
schema for the field does not allow it.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic_core import PydanticCustomError

from importer.sandbox.measurement_enums import QUANTITY_KINDS

IdStr = Annotated[str, Field(min_length=20, max_length=37)]
Srid = Annotated[str, Field(min_length=1, max_length=100)]
Name100 = Annotated[str, Field(min_length=1, max_length=100)]
DatapointType = Literal["CONSTANT", "STANDARD_PUBLISHED_VALUE", "REPORTED", "ASSUMPTION", "DERIVED"]
ComponentScope = Literal["REMOVAL", "GHG_STATEMENT", "PROJECT", "NET_NEGATIVITY"]
#: ProjectComponentAmortizationStrategy of the live document (ESTIMATED_PROJECT_TONNAGE was renamed)
AmortizationStrategy = Literal[
    "ESTIMATED_PROJECT_REMOVAL_TONNAGE",
    "MANUAL",
    "CUSTOM_TIME_PERIOD",
    "ESTIMATED_PROJECT_LIFETIME",
    "ESTIMATED_PROJECT_REDUCTION_TONNAGE",
]
#: the document's QuantityKindType enum (the `quantity_kind` filter of GET /datapoints; a sample value's kind)
QuantityKind = Literal[QUANTITY_KINDS]  # type: ignore[valid-type]


class Body(BaseModel):
    """Strict JSON typing, as JSON Schema has it: no "5" for a number, no 1 for a boolean, no number for a date."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, strict=True)


def _integral(value: Any) -> Any:
    """JSON Schema's `integer` includes integral numbers written as floats (5.0)."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _aware(value: dt.datetime) -> dt.datetime:
    """`format: date-time` is RFC 3339, whose date-times carry an offset."""
    if value.tzinfo is None:
        raise PydanticCustomError("timezone_aware", "Input should have timezone info")
    return value


Integer = Annotated[int, BeforeValidator(_integral)]
DateTime = Annotated[dt.datetime, AfterValidator(_aware)]


class Undefined(BaseModel):
    """`{"__typename": "Undefined"}`: "leave this field as it is" (the document's `Undefined`, which allows no
    other property)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, strict=True)
    typename: Literal["Undefined"] = Field("Undefined", alias="__typename")


def changed(body: BaseModel) -> set[str]:
    """The PATCH fields a request sets: given, and not the Undefined placeholder."""
    return {name for name in body.model_fields_set if not isinstance(getattr(body, name), Undefined)}


# -- sources --------------------------------------------------------------------------------------------
class CreateDocumentSource(Body):
    typename: Literal["CreateDocumentSourceRequest"] = Field(alias="__typename")
    supplier_reference_id: Srid
    display_name: Name100
    published_at: dt.date
    file_name: str
    content_type: str
    content_length: Integer = Field(le=50_000_000)
    project_id: IdStr
    is_public: bool = False
    description: str | None = None


class SignedUploadUrl(Body):
    content_type: str
    content_length: Integer = Field(le=50_000_000)


class PatchSource(Body):
    display_name: Name100 | Undefined = Undefined()
    is_public: bool | Undefined = Undefined()
    published_at: dt.date | Undefined = Undefined()
    supplier_reference_id: Srid | Undefined = Undefined()
    description: str | Undefined | None = Undefined()  # null clears it


# -- datapoints, feedstock types ----------------------------------------------------------------------------
class QuantityInput(Body):
    """DatapointQuantityInput: `unit` is required but nullable (null or "" is dimensionless); the standard
    deviation is any number or null (the document sets no lower bound)."""

    magnitude: float = Field(allow_inf_nan=False)
    unit: str | None
    standard_deviation: float | None = Field(None, allow_inf_nan=False)


class CreateDatapoint(Body):
    supplier_reference_id: Srid
    display_name: Name100
    type: DatapointType
    quantity: QuantityInput
    description: Annotated[str, Field(max_length=500)]  # "Must be at most 500 characters long."
    source_ids: list[IdStr]
    project_id: IdStr
    measured_at: DateTime | None = None
    uncertainty_justification: str | None = None


class PatchDatapoint(Body):
    display_name: Name100 | Undefined = Undefined()
    description: str | Undefined = Undefined()
    type: DatapointType | Undefined = Undefined()
    quantity: QuantityInput | Undefined = Undefined()
    source_ids: list[IdStr] | Undefined = Undefined()
    uncertainty_justification: str | Undefined = Undefined()


class CreateFeedstockType(Body):
    """Not an API operation: the body of the sandbox's stand-in for the Certify UI (`/_sandbox/feedstock_types`)."""

    name: Name100
    supplier_reference_id: Srid | None = None


class PatchFeedstockType(Body):
    name: str | Undefined = Undefined()  # PatchFeedstockType.name: a string, no length limits in the document
    supplier_reference_id: Srid | Undefined = Undefined()


# -- component inputs ----------------------------------------------------------------------------------------
class ScalarInput(Body):
    typename: Literal["CreateComponentScalarInput"] = Field("CreateComponentScalarInput", alias="__typename")
    input_key: str = Field(max_length=100)
    datapoint_id: IdStr


class ListInput(Body):
    typename: Literal["CreateComponentListInput"] = Field("CreateComponentListInput", alias="__typename")
    input_key: str = Field(max_length=100)
    datapoint_ids: list[IdStr]


_SCALAR = TypeAdapter(ScalarInput)
_LIST = TypeAdapter(ListInput)


def component_input(value: Any) -> ScalarInput | ListInput:
    """`oneOf [CreateComponentListInput, CreateComponentScalarInput]`, exactly: `__typename` is optional (it has
    a default), so an input is whichever of the two schemas it satisfies, and it must satisfy exactly one."""
    if isinstance(value, (ScalarInput, ListInput)):
        return value
    matches: list[ScalarInput | ListInput] = []
    problems: list[str] = []
    for adapter in (_SCALAR, _LIST):
        try:
            matches.append(adapter.validate_python(value))
        except ValidationError as exc:
            problems.append("; ".join(f"{'.'.join(map(str, e['loc'])) or 'input'}: {e['msg']}" for e in exc.errors()))
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise PydanticCustomError(
            "one_of_ambiguous",
            "Input matches both CreateComponentScalarInput and "
            "CreateComponentListInput; give __typename, or one of datapoint_id, datapoint_ids",
        )
    raise PydanticCustomError(
        "one_of_no_match",
        "Input should be a CreateComponentScalarInput ({scalar}) or a CreateComponentListInput ({list})",
        {"scalar": problems[0], "list": problems[1]},
    )


ComponentInput = Annotated[ScalarInput | ListInput, BeforeValidator(component_input)]


class TemplateComponentInputs(Body):
    ghg_entry_template_component_id: IdStr
    inputs: list[ComponentInput]


class RemovalTemplateComponentInputs(Body):
    removal_template_component_id: IdStr
    inputs: list[ComponentInput]


# -- GHG entries -----------------------------------------------------------------------------------------
class CreateGhgEntry(Body):
    supplier_reference_id: Srid
    started_on: dt.date
    completed_on: dt.date
    project_id: IdStr
    feedstock_type_id: IdStr | None = None
    ghg_entry_template_id: IdStr  # required, not nullable (the deprecated process_key and steps are gone)
    ghg_entry_template_components: list[TemplateComponentInputs] = []


class CreateRemoval(Body):
    """The deprecated `POST /removals` body (CreateRemovalRequest): the removal_* names."""

    supplier_reference_id: Srid
    started_on: dt.date
    completed_on: dt.date
    project_id: IdStr
    feedstock_type_id: IdStr | None = None
    removal_template_id: IdStr | None = None
    removal_template_components: list[RemovalTemplateComponentInputs] = []
    process_key: str | None = None
    steps: list[Any] | None = None

    def as_ghg_entry(self) -> CreateGhgEntry:
        """The same body under the new names; the caller refuses a removal without a template first."""
        assert self.removal_template_id is not None
        return CreateGhgEntry(
            supplier_reference_id=self.supplier_reference_id,
            started_on=self.started_on,
            completed_on=self.completed_on,
            project_id=self.project_id,
            feedstock_type_id=self.feedstock_type_id,
            ghg_entry_template_id=self.removal_template_id,
            ghg_entry_template_components=[
                TemplateComponentInputs(
                    ghg_entry_template_component_id=c.removal_template_component_id, inputs=c.inputs
                )
                for c in self.removal_template_components
            ],
        )


class AddComponentToGhgEntry(Body):
    """Deprecated in the document (`add_components` of PATCH /removals/{id}, AddComponentToRemoval)."""

    component_id: IdStr
    attribution_factor_datapoint_id: IdStr | None
    process_step_key: Annotated[str, Field(max_length=100)] | None = None
    ghg_entry_template_group_id: IdStr | None = None
    removal_template_group_id: IdStr | None = None  # the name on the deprecated PATCH /removals/{id}


class PatchGhgEntry(Body):
    """PatchGhgEntryRequest: a date or feedstock type, or left as it is (absent or `Undefined`); none is nullable."""

    started_on: dt.date | Undefined = Undefined()
    completed_on: dt.date | Undefined = Undefined()
    feedstock_type_id: IdStr | Undefined = Undefined()  # not nullable: the API offers no way to clear it


class PatchRemoval(Body):
    """The deprecated PatchRemovalRequest: nullable dates (null leaves a date as it is), and `add_components` /
    `delete_component_ids` (attributions by another name)."""

    started_on: dt.date | None = None
    completed_on: dt.date | None = None
    feedstock_type_id: IdStr | Undefined = Undefined()
    add_components: list[AddComponentToGhgEntry] | Undefined = Undefined()
    delete_component_ids: list[IdStr] | Undefined = Undefined()


# -- components, attributions ---------------------------------------------------------------------------------
class CreateComponent(Body):
    supplier_reference_id: Srid
    project_id: IdStr
    component_blueprint_key: str
    display_name: Name100
    description: str | None = None
    activity_started_at: DateTime
    activity_completed_at: DateTime
    inputs: list[ComponentInput]


class PatchComponent(Body):
    display_name: Name100 | Undefined = Undefined()
    description: str | Undefined = Undefined()
    inputs: list[ComponentInput] | Undefined = Undefined()
    allocation_strategy: AmortizationStrategy | Undefined = Undefined()


class ComponentToAttribute(Body):
    component_id: IdStr
    component_group_key: str
    attribution_factor: float = Field(1.0, gt=0, le=1)


class PatchAttributions(Body):
    components_to_add: list[ComponentToAttribute] | Undefined = Undefined()
    components_to_remove: list[IdStr] | Undefined = Undefined()


# -- statements -------------------------------------------------------------------------------------------
class CreateGhgStatement(Body):
    end_on: dt.date
    project_id: IdStr


class SubmitGhgStatement(Body):
    """`anyOf [SubmitGhgStatementRequest, ResubmitGhgStatementRequest]`: only the report URL is required, a
    string of at most 2048 characters (the document states no format); `summary_of_changes` counts only as a
    string (any other value still matches SubmitGhgStatementRequest, which allows extra properties)."""

    ghg_statement_report_url: Annotated[str, Field(max_length=2048)]
    summary_of_changes: Any = None


# -- query parameters ----------------------------------------------------------------------------------------
Cursor = Annotated[str, Field(min_length=1)]
Page = Annotated[int, Field(gt=0, le=50)]


class Query(BaseModel):
    model_config = ConfigDict(extra="ignore")
    first: Page | None = None
    last: Page | None = None
    after: Cursor | None = None
    before: Cursor | None = None


class SridQuery(Query):
    supplier_reference_id: Srid | None = None


class SourceQuery(SridQuery):
    project_id: IdStr | None = None


class DatapointQuery(SridQuery):
    project_id: IdStr | None = None
    display_name_contains: str | None = None
    quantity_kind: QuantityKind | None = None
    measurement_sample_id: IdStr | None = None
    used_in_ghg_entry: IdStr | None = None  # the live names; the removal ones are their deprecated twins
    used_in_removal: IdStr | None = None
    used_in_ghg_statement: IdStr | None = None
    used_in_ghg_entry_template: IdStr | None = None
    used_in_removal_template: IdStr | None = None
    used_in_scope: ComponentScope | None = None


class ComponentQuery(SridQuery):
    project_id: IdStr | None = None
    scope: ComponentScope | None = None
    ghg_statement_id: IdStr | None = None
    ghg_entry_id: IdStr | None = None
    removal_id: IdStr | None = None


class StatementQuery(Query):
    project_id: IdStr | None = None  # not in the document; kept as an extra optional filter


class IdPath(BaseModel):
    id: IdStr


class ProjectPath(BaseModel):
    project_id: IdStr


class TemplatePath(BaseModel):
    project_id: IdStr
    id: IdStr


def error_detail(exc: ValidationError, where: str = "body") -> list[dict[str, Any]]:
    """pydantic errors in the HTTPValidationError shape, `loc` starting with "body", "query" or "path"."""
    out = []
    for err in exc.errors(include_url=False):
        item: dict[str, Any] = {
            "type": err["type"],
            "loc": [where, *err["loc"]],
            "msg": err["msg"],
            "input": _plain(err.get("input")),
        }
        if err.get("ctx"):
            item["ctx"] = {
                k: (v if isinstance(v, (str, int, float, bool)) or v is None else str(v)) for k, v in err["ctx"].items()
            }
        out.append(item)
    return out


def _plain(value: Any) -> Any:
    """A JSON-safe copy of an offending input (pydantic may hand back models or bytes)."""
    try:
        return json.loads(json.dumps(value, default=str))
    except (TypeError, ValueError):
        return str(value)


def issue(loc: list[Any], msg: str, *, kind: str = "value_error", value: Any = None) -> dict[str, Any]:
    return {"type": kind, "loc": ["body", *loc], "msg": msg, "input": value}
