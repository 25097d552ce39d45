"""Feedstock types (optional sheet): references to existing types, never created. The API has no
`POST /feedstock_types` ("Feedstock types can only be created via the Certify UI"), so each row names a type of
the organisation by `ftt_` ID, own supplier_reference_id or exact name (`ProjectContext.match_feedstock_type`;
a row that matches nothing is refused by the online checks before anything is planned). A matched type whose
name (given beside its ID) or supplier_reference_id (given by the row) differs is updated with a PATCH;
otherwise it is unchanged. The entries citing the row get the matched type's ID."""

from __future__ import annotations

from dataclasses import dataclass

from importer.planning.common import Planning
from importer.planning.env import Applied, ApplyEnv
from importer.planning.kind import Kind
from importer.planning.model import Action, Change, Where

KIND = "feedstock_type"


@dataclass(frozen=True)
class FeedstockTypePayload:
    name: str | None  # the name to set (None: left as it is)
    supplier_reference_id: str | None = None  # the reference to set (None: left as it is)


def plan(p: Planning) -> list[Action]:
    out = []
    for row in p.wb.feedstock_types:
        match = p.ctx.match_feedstock_type(row)
        base: Where = dict(kind=KIND, ref=row.ref, sheet="feedstock_types", row=row.row)
        found = match.found
        if found is None:  # the online checks refuse this before planning; a plan never sends it
            out.append(
                p.record(
                    Action(
                        op="conflict",
                        payload=FeedstockTypePayload(None),
                        reason=(
                            f"feedstock type {match.text!r} does not exist: create it in the Certify UI and give its "
                            "ftt_ ID"
                        ),
                        **base,
                    )
                )
            )
            continue
        p.matched[(KIND, row.ref)] = found.id
        changes = []
        name = row.name.strip() if row.name else None
        if name is not None and row.feedstock_type_id and found.name != name:
            changes.append(Change("name", found.name, name))
        srid = row.supplier_reference_id
        if srid and found.supplier_reference_id != srid:
            changes.append(Change("supplier_reference_id", found.supplier_reference_id, srid))
        payload = FeedstockTypePayload(
            name if any(c.field == "name" for c in changes) else None,
            srid if any(c.field == "supplier_reference_id" for c in changes) else None,
        )
        out.append(
            p.record(
                Action(
                    op="update" if changes else "unchanged",
                    payload=payload,
                    existing_id=found.id,
                    supplier_reference_id=srid or found.supplier_reference_id,
                    changes=tuple(changes),
                    **base,
                )
            )
        )
    return out


def apply(action: Action, env: ApplyEnv) -> Applied:
    """A PATCH of the fields that differ: the only write the API allows on a feedstock type besides DELETE."""
    p = action.payload_of(FeedstockTypePayload)
    assert action.op == "update" and action.existing_id is not None, "feedstock types are never created"
    body = {k: v for k, v in (("name", p.name), ("supplier_reference_id", p.supplier_reference_id)) if v is not None}
    from importer.api import models as api_models

    req = api_models.PatchFeedstockTypeRequest.model_validate(body)
    return Applied(id=action.existing_id, entity=env.client.patch_feedstock_type(action.existing_id, req))


SPEC = Kind(
    name=KIND,
    sheet="feedstock_types",
    label="feedstock types",
    noun="feedstock type",
    leaves_entries=frozenset({"created", "updated"}),
    plan=plan,
    apply=apply,
    payloads=(FeedstockTypePayload,),
    registry="feedstock_types",
    owned=False,
)
