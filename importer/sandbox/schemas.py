"""Request bodies the sandbox accepts, as the published document states them (required fields, lengths,
enums, formats). Validation failures become 422 `HTTPValidationError` bodies shaped like the real API's
(FastAPI): `{"detail": [{"type", "loc": ["body", ...], "msg", "input", "ctx"}]}`. Unknown fields are
ignored, as pydantic (and so the real API) does by default."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

IdStr = Annotated[str, Field(min_length=20, max_length=37)]
Srid = Annotated[str, Field(min_length=1, max_length=100)]
Name100 = Annotated[str, Field(min_length=1, max_length=100)]
DatapointType = Literal["CONSTANT", "STANDARD_PUBLISHED_VALUE", "REPORTED", "ASSUMPTION", "DERIVED"]


class Body(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class CreateDocumentSource(Body):
    typename: Literal["CreateDocumentSourceRequest"] = Field(alias="__typename")
    supplier_reference_id: Srid
    display_name: Name100
    published_at: dt.date
    file_name: str
    content_type: str
    content_length: int = Field(le=50_000_000)
    project_id: IdStr
    is_public: bool = False
    description: str | None = None


class SignedUploadUrl(Body):
    content_type: str
    content_length: int = Field(le=50_000_000)


class PatchSource(Body):
    display_name: Name100 | None = None
    is_public: bool | None = None
    published_at: dt.date | None = None
    supplier_reference_id: Srid | None = None


class QuantityInput(Body):
    magnitude: float = Field(allow_inf_nan=False)
    unit: str | None
    standard_deviation: float | None = Field(None, ge=0, allow_inf_nan=False)


class CreateDatapoint(Body):
    supplier_reference_id: Srid
    display_name: Name100
    type: DatapointType
    quantity: QuantityInput
    description: str
    source_ids: list[IdStr]
    project_id: IdStr
    measured_at: dt.datetime | None = None
    uncertainty_justification: str | None = None


class PatchDatapoint(Body):
    display_name: Name100 | None = None
    description: str | None = None
    type: DatapointType | None = None
    quantity: QuantityInput | None = None
    source_ids: list[IdStr] | None = None
    uncertainty_justification: str | None = None


class CreateFeedstockType(Body):
    name: Name100
    supplier_reference_id: Srid


class PatchFeedstockType(Body):
    name: Name100 | None = None
    supplier_reference_id: Srid | None = None


class ScalarInput(Body):
    typename: Literal["CreateComponentScalarInput"] = Field(alias="__typename")
    input_key: str = Field(max_length=100)
    datapoint_id: IdStr


class ListInput(Body):
    typename: Literal["CreateComponentListInput"] = Field(alias="__typename")
    input_key: str = Field(max_length=100)
    datapoint_ids: list[IdStr]


ComponentInput = Annotated[ScalarInput | ListInput, Field(discriminator="typename")]


class TemplateComponentInputs(Body):
    ghg_entry_template_component_id: IdStr
    inputs: list[ComponentInput]


class CreateGhgEntry(Body):
    supplier_reference_id: Srid
    started_on: dt.date
    completed_on: dt.date
    project_id: IdStr
    feedstock_type_id: IdStr | None = None
    ghg_entry_template_id: IdStr | None = None
    ghg_entry_template_components: list[TemplateComponentInputs] = []
    # the deprecated names, accepted on the removal* aliases
    removal_template_id: IdStr | None = None
    removal_template_components: list[dict[str, Any]] | None = None


class PatchGhgEntry(Body):
    started_on: dt.date | None = None
    completed_on: dt.date | None = None
    feedstock_type_id: IdStr | None = None


class CreateComponent(Body):
    supplier_reference_id: Srid
    project_id: IdStr
    component_blueprint_key: str
    display_name: Name100
    description: str | None = None
    activity_started_at: dt.datetime
    activity_completed_at: dt.datetime
    inputs: list[ComponentInput]


class PatchComponent(Body):
    display_name: Name100 | None = None
    description: str | None = None
    inputs: list[ComponentInput] | None = None


class ComponentToAttribute(Body):
    component_id: IdStr
    component_group_key: str
    attribution_factor: float = Field(1.0, gt=0, le=1)


class PatchAttributions(Body):
    components_to_add: list[ComponentToAttribute] = []
    components_to_remove: list[IdStr] = []


class CreateGhgStatement(Body):
    end_on: dt.date
    project_id: IdStr


class SubmitGhgStatement(Body):
    ghg_statement_report_url: str = Field(min_length=1)
    summary_of_changes: str | None = None


def error_detail(exc: ValidationError) -> list[dict[str, Any]]:
    """pydantic errors in the HTTPValidationError shape, `loc` starting with "body"."""
    out = []
    for err in exc.errors(include_url=False):
        item: dict[str, Any] = {"type": err["type"], "loc": ["body", *err["loc"]], "msg": err["msg"],
                                "input": err.get("input")}
        if err.get("ctx"):
            item["ctx"] = {k: (v if isinstance(v, (str, int, float, bool)) or v is None else str(v))
                           for k, v in err["ctx"].items()}
        out.append(item)
    return out


def issue(loc: list[Any], msg: str, *, kind: str = "value_error", value: Any = None) -> dict[str, Any]:
    return {"type": kind, "loc": ["body", *loc], "msg": msg, "input": value}
