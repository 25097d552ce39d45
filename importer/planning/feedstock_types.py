"""Feedstock types (optional): created with POST; when the API refuses creating them, the row fails with
advice to create the type in the Certify UI and use its ftt_ ID."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from importer.applying.env import Applied, ApplyEnv, StepFailed
from importer.planning.common import Planning
from importer.planning.model import Action, Change

KIND = "feedstock_type"


@dataclass(frozen=True)
class FeedstockTypePayload:
    name: str


def plan(p: Planning) -> list[Action]:
    out = []
    for row in p.wb.feedstock_types:
        srid = p.srid(KIND, "feedstock_types", row)
        base: dict[str, Any] = dict(kind=KIND, ref=row.ref, sheet="feedstock_types", row=row.row,
                                    supplier_reference_id=srid, payload=FeedstockTypePayload(row.name))
        existing = p.existing(KIND, srid)
        if existing is None:
            out.append(p.record(Action(op="create", **base)))
        elif existing.name != row.name:
            out.append(p.record(Action(op="update", existing_id=existing.id,
                                       changes=(Change("name", existing.name, row.name),), **base)))
        else:
            out.append(p.record(Action(op="unchanged", existing_id=existing.id, **base)))
    return out


def apply(action: Action, env: ApplyEnv) -> Applied:
    from importer.api import ApiError

    p: FeedstockTypePayload = action.payload
    if action.op != "create":
        assert action.existing_id is not None
        req = env.models.PatchFeedstockTypeRequest.model_validate({"name": p.name})
        return Applied(id=action.existing_id, entity=env.client.patch_feedstock_type(action.existing_id, req))
    env.intend(action)
    req = env.models.CreateFeedstockTypeRequest.model_validate(
        {"name": p.name, "supplier_reference_id": action.supplier_reference_id})
    try:
        created = env.client.create_feedstock_type(req)
    except ApiError as exc:
        if exc.status in (404, 405, 501):
            raise StepFailed(
                f"the API refused to create feedstock type {p.name!r} (HTTP {exc.status}): create it in the "
                "Certify UI, then put its ftt_ ID in the entries' feedstock_type cells instead of "
                f"{action.ref!r}") from exc
        raise
    env.created(action, created.id)
    return Applied(id=created.id, entity=created)
