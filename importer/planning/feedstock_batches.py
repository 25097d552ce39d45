"""Feedstock batches (optional sheet `feedstock_batches`): each delivery of one feedstock type to a site, with its
delivery date and mass, which a lab sample may be taken from. The kind declares everything of itself here: its
sheet and typed row, its API resource and models (`POST /feedstock_batches`, `GET`/`DELETE
/feedstock_batches/{id}`, listed per feedstock type at `/feedstock_types/{feedstock_type_id}/feedstock_batches`), its
plan and its apply; registering it (`importer.planning.kinds`) adds the sheet to the workbook format and the resource
to the API client, neither of which knows it.

Identity by supplier_reference_id (the row's own, or `<prefix>:feedstock_batches:<ref>`). The API lists batches only
per feedstock type and without a filter: the snapshot reads the organisation's feedstock types, then each type's
batches, and matches by reference. The API has no PATCH for a batch: a changed row is a conflict that asks for
--replace, and with it a replace (the old batch deleted, then created anew)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, cast

from pydantic import Field

from importer.api.endpoints import Resource
from importer.api.models import Quantity, Request, ScalarQuantityInput
from importer.api.models import Response as ApiResponse
from importer.planning.common import Planning, placed
from importer.planning.env import Applied, ApplyEnv
from importer.planning.kind import Kind
from importer.planning.model import Action, Change, IdRef, Ref
from importer.planning.replacing import delete_replaced, same_quantity
from importer.workbook.spec import NAME_MAX, Column, Sheet, mass_columns, srid_column

if TYPE_CHECKING:
    from importer.api.client import IsometricClient
    from importer.planning.carried import CarriedListings
    from importer.workbook.model import Workbook

KIND: Final = "feedstock_batch"
SHEET: Final = "feedstock_batches"
NOUN: Final = "feedstock batch"


# -- the API's side: the document's FeedstockBatch and CreateFeedstockBatchRequest ----------------------------------
class FeedstockBatch(ApiResponse):
    """A feedstock batch as the API answers it (a GET, a create, a listing's node)."""

    id: str
    supplier_reference_id: str | None = None
    feedstock_type_id: str
    display_name: str
    delivery_date: dt.date
    mass: Quantity | None = None


class CreateFeedstockBatchRequest(Request):
    """`POST /feedstock_batches`: every field required, as the document declares them."""

    feedstock_type_id: str = Field(min_length=20, max_length=37)
    supplier_reference_id: str = Field(min_length=1, max_length=100)
    display_name: str = Field(min_length=1, max_length=100)
    delivery_date: dt.date
    mass: ScalarQuantityInput


RESOURCE: Final = Resource(
    kind=KIND,
    prefix="ftb_",
    collection="/feedstock_batches",
    model=FeedstockBatch,
    listing="/feedstock_types/{feedstock_type_id}/feedstock_batches",
)


# -- the workbook's side: its sheet and typed row -------------------------------------------------------------------
@dataclass(slots=True)
class FeedstockBatchRow:
    row: int
    ref: str
    feedstock_type: str  # ref of the feedstock_types sheet or an ftt_ ID
    display_name: str
    delivery_date: dt.date
    mass: float
    unit: str
    standard_deviation: float | None
    supplier_reference_id: str | None


SHEET_SPEC: Final = Sheet(
    SHEET,
    "Feedstock batches (optional sheet): each delivery of one feedstock type (a truckload of sawmill offcuts), "
    "with its delivery date and mass. The API cannot update a batch: a changed row is replaced (deleted and created "
    "anew) only with --replace.",
    (
        Column(
            "ref",
            "str",
            required=True,
            max_length=NAME_MAX,
            example="offcuts-2026-10-03",
            description="Your short name for this delivery. A later workbook may cite the batch by its ftb_ ID.",
        ),
        Column(
            "feedstock_type",
            "ref",
            required=True,
            ref_sheet="feedstock_types",
            id_kind="feedstock_type",
            example="sawmill-offcuts",
            description="A ref of the feedstock_types sheet or an ftt_ ID.",
            sent_as="CreateFeedstockBatchRequest.feedstock_type_id",
        ),
        Column(
            "display_name",
            "str",
            required=True,
            max_length=NAME_MAX,
            example="Offcuts, 3 October",
            description="The batch's name in Certify.",
            sent_as="CreateFeedstockBatchRequest.display_name",
        ),
        Column(
            "delivery_date",
            "date",
            required=True,
            example="2026-10-03",
            description="The day it was delivered to the site.",
        ),
        *mass_columns("The delivered mass.", example="22.5", deviation="0.2"),
        srid_column(sent_as="CreateFeedstockBatchRequest.supplier_reference_id"),
    ),
    required=False,
    makes_objects=True,
    row_type=FeedstockBatchRow,
)


# -- the plan ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FeedstockBatchPayload:
    feedstock_type: Ref
    display_name: str
    delivery_date: str  # ISO date
    mass: float
    unit: str
    standard_deviation: float | None


def _held(client: IsometricClient) -> list[FeedstockBatch]:
    """The organisation's feedstock batches: each feedstock type's, read whole (the API lists them per type)."""
    return [
        batch
        for ftt in client.list_feedstock_types()
        for batch in client.list_objects(RESOURCE, feedstock_type_id=ftt.id)
    ]


def listing(
    client: IsometricClient, wb: Workbook, carried: CarriedListings | None = None
) -> Sequence[FeedstockBatch] | None:
    """The organisation's feedstock batches; None (nothing asked) when the workbook has none."""
    if not wb.rows_of(FeedstockBatchRow):
        return None
    return _held(client)


def lookup(client: IsometricClient, project_id: str, srid: str) -> list[FeedstockBatch]:
    return [batch for batch in _held(client) if batch.supplier_reference_id == srid]


def plan(p: Planning) -> list[Action]:
    out: list[Action] = []
    held = p.state.table(SHEET)
    for row in p.wb.rows_of(FeedstockBatchRow):
        srid = p.srid(KIND, SHEET, row)
        payload = FeedstockBatchPayload(
            feedstock_type=p.ref("feedstock_type", row.feedstock_type),
            display_name=row.display_name,
            delivery_date=row.delivery_date.isoformat(),
            mass=float(row.mass),
            unit=row.unit,
            standard_deviation=row.standard_deviation,
        )
        base = placed(KIND, SHEET, row, srid, p.deps("feedstock_type", [row.feedstock_type]))
        existing = cast("FeedstockBatch | None", held.get(srid))
        if existing is None:
            out.append(p.record(Action(op="create", payload=payload, **base)))
            continue
        changes: list[Change] = []
        wanted = payload.feedstock_type.id if isinstance(payload.feedstock_type, IdRef) else None
        if wanted != existing.feedstock_type_id:
            changes.append(Change("feedstock_type", existing.feedstock_type_id, row.feedstock_type))
        if existing.display_name != payload.display_name:
            changes.append(Change("display_name", existing.display_name, payload.display_name))
        if existing.delivery_date.isoformat() != payload.delivery_date:
            changes.append(Change("delivery_date", existing.delivery_date.isoformat(), payload.delivery_date))
        if existing.mass is None or not same_quantity(
            existing.mass, payload.mass, payload.unit, payload.standard_deviation
        ):
            before = f"{existing.mass.magnitude:g} {existing.mass.unit}" if existing.mass is not None else None
            changes.append(Change("mass", before, f"{payload.mass:g} {payload.unit}"))
        out += p.replaced(changes, payload, existing.id, base, noun=NOUN)
    return out


def apply(action: Action, env: ApplyEnv) -> Applied:
    if action.op == "delete":  # the old half of a replace
        return delete_replaced(action, env, noun=NOUN)
    p = action.payload_of(FeedstockBatchPayload)
    env.intend(action)
    feedstock_type = env.resolve(p.feedstock_type)
    req = CreateFeedstockBatchRequest.model_validate(
        {
            "feedstock_type_id": feedstock_type,
            "supplier_reference_id": action.supplier_reference_id,
            "display_name": p.display_name,
            "delivery_date": p.delivery_date,
            "mass": {"magnitude": p.mass, "unit": p.unit, "standard_deviation": p.standard_deviation},
        }
    )

    def of_its_type() -> list[FeedstockBatch]:
        return env.client.list_objects(RESOURCE, feedstock_type_id=feedstock_type)

    created = env.client.create_object(RESOURCE, req.body(), of_its_type)
    env.created(action, created.id)
    return Applied(id=created.id, entity=created)  # a replace's create ends "replaced" (the scheduler's default)


SPEC = Kind(
    name=KIND,
    sheet=SHEET,
    label="feedstock batches",
    noun=NOUN,
    leaves_entries=frozenset({"created", "replaced", "deleted"}),
    plan=plan,
    apply=apply,
    payloads=(FeedstockBatchPayload,),
    depends_on=("feedstock_type",),
    registry=SHEET,
    listing=listing,
    lookup=lookup,
    sheets=(SHEET_SPEC,),
    resources=(RESOURCE,),
)
