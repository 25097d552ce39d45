"""The sandbox's rules: what the real API accepts, refuses and computes, over the store's JSON objects.

Each operation returns the API JSON of the result or raises `Problem(status, detail)` (`problems`). Rendering adds the
computed fields (an entry's CO2e and statement, a statement's entries and total) at read time, so they are
always current.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import secrets
import time
from typing import Any

from importer.sandbox import amortisation, co2e, units
from importer.sandbox.ids import new_id
from importer.sandbox.problems import Problem
from importer.sandbox.schemas import issue
from importer.sandbox.store import SandboxStore
from importer.sandbox.units import UnitError

__all__ = ["Problem", "invalid", "need", "new_id", "render"]

SUPPORTED_TYPES = {
    ".txt": "text/plain",
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".doc": "application/msword",
    ".jpeg": "image/jpeg",
    ".jpg": "image/jpeg",
    ".png": "image/png",
    ".heic": "image/heic",
    ".csv": "text/csv",
    ".parquet": "application/vnd.apache.parquet",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
SUBMITTED = frozenset({"AWAITING_VERIFICATION", "VERIFIED", "CREDITS_ISSUED", "FAILED_VERIFICATION"})
LOCKED_AFTER_SUBMIT = "locked_used_in_verified_removal"


def invalid(loc: list[Any], msg: str, value: Any = None) -> Problem:
    return Problem(422, [issue(loc, msg, value=value)])


def not_found(kind: str, id_: str) -> Problem:
    return Problem(404, f"{kind} {id_} not found")


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")


# -- look-ups ---------------------------------------------------------------------------------------
def need(store: SandboxStore, kind: str, id_: str) -> dict[str, Any]:
    obj = store.get(kind, id_)
    if obj is None:
        raise not_found(kind.replace("_", " "), id_)
    return obj


def ref(store: SandboxStore, kind: str, id_: str, loc: list[Any], project_id: str | None) -> dict[str, Any]:
    """An object a request body refers to: 422 when unknown or of another project."""
    obj = store.get(kind, id_)
    if obj is None:
        raise invalid(loc, f"{kind.replace('_', ' ')} {id_} does not exist", id_)
    if project_id and obj.get("project_id") not in (None, project_id):
        raise invalid(loc, f"{kind.replace('_', ' ')} {id_} belongs to another project", id_)
    return obj


def project(store: SandboxStore, project_id: str, loc: list[Any]) -> dict[str, Any]:
    obj = store.get("project", project_id)
    if obj is None:
        raise invalid(loc, f"project {project_id} does not exist or is not visible to this organisation", project_id)
    return obj


def unique_srid(store: SandboxStore, kind: str, srid: str | None, *, except_id: str | None = None) -> None:
    found = store.by_srid(kind, srid) if srid else None
    if found is not None and found["id"] != except_id:
        raise Problem(
            422,
            [
                issue(
                    ["supplier_reference_id"],
                    f"A {kind.replace('_', ' ')} with this supplier_reference_id already exists",
                    kind="value_error.duplicate",
                    value=srid,
                )
            ],
        )


def template_component(store: SandboxStore, rtc_id: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    for template in store.all("template"):
        for group in template["groups"]:
            for comp in group["components"]:
                if comp["id"] == rtc_id:
                    return template, group, comp
    raise KeyError(rtc_id)


# -- rendering ----------------------------------------------------------------------------------------
def _entry_statement(store: SandboxStore, entry: dict[str, Any]) -> dict[str, Any] | None:
    if entry.get("_statement_id"):
        return store.get("ghg_statement", entry["_statement_id"])
    for statement in store.all("ghg_statement"):
        if (
            statement["project_id"] == entry["_project_id"]
            and statement["status"] == "DRAFT"
            and statement["reporting_period_start_at"] <= entry["completed_on"] <= statement["reporting_period_end_at"]
        ):
            return statement
    return None


def statement_entries(store: SandboxStore, statement: dict[str, Any]) -> list[dict[str, Any]]:
    if statement["status"] != "DRAFT":
        return [e for e in (store.get("ghg_entry", i) for i in statement.get("_frozen_entry_ids", [])) if e]
    return _draft_entries(store).get(statement["id"], [])


def _draft_entries(store: SandboxStore) -> dict[str, list[dict[str, Any]]]:
    """Draft statement ID -> the entries it holds (of its project, in no statement, completed in its period), in
    registry order. Found for every draft in one pass over the entries, once per change of entries or
    statements: listing a year's statements walked every entry of the registry for each."""
    stamp = (store.kind_stamps.get("ghg_entry"), store.kind_stamps.get("ghg_statement"))
    kept = store.memo.get("draft_entries")
    if kept is None or kept[0] != stamp:
        drafts = [s for s in store.all("ghg_statement") if s["status"] == "DRAFT"]
        found: dict[str, list[dict[str, Any]]] = {s["id"]: [] for s in drafts}
        for entry in store.all("ghg_entry") if drafts else ():
            if entry.get("_statement_id"):
                continue
            for statement in drafts:
                if (
                    entry["_project_id"] == statement["project_id"]
                    and statement["reporting_period_start_at"]
                    <= entry["completed_on"]
                    <= statement["reporting_period_end_at"]
                ):
                    found[statement["id"]].append(entry)
        kept = store.memo["draft_entries"] = (stamp, found)
    entries: dict[str, list[dict[str, Any]]] = kept[1]
    return entries


def datapoint_magnitude(store: SandboxStore, dp_id: str, unit: str) -> float:
    dp = store.get("datapoint", dp_id)
    if dp is None:
        return 0.0
    quantity = dp["quantity"]
    return float(quantity["magnitude"]) * units.factor(units.canonical(quantity.get("unit")), unit)


def component_co2e(store: SandboxStore, component: dict[str, Any]) -> float:
    """The component's CO2e, computed again only when it, its blueprint or one of its datapoints was written
    since (rendering a year's entries must not convert every unit of the registry at every listing)."""
    stamp = (
        store.stamps.get(component["id"]),
        store.stamps.get(component["blueprint_key"]),
        frozenset((d, store.stamps.get(d)) for d in _component_datapoints([component])),
    )
    kept = store.memo.get(("co2e", component["id"]))
    if kept is not None and kept[0] == stamp:
        return float(kept[1])
    value = _component_co2e(store, component)
    store.memo[("co2e", component["id"])] = (stamp, value)
    return value


def _component_co2e(store: SandboxStore, component: dict[str, Any]) -> float:
    blueprint = store.get("blueprint", component["blueprint_key"])
    if blueprint is None:
        return 0.0
    units = {i["input_key"]: i["compatible_unit"] for i in blueprint["inputs"]}
    values: dict[str, float | list[float]] = {}
    for item in component["inputs"]:
        unit = units.get(item["input_key"], "dimensionless")
        if "datapoint_ids" in item:
            values[item["input_key"]] = [datapoint_magnitude(store, d, unit) for d in item["datapoint_ids"]]
        else:
            values[item["input_key"]] = datapoint_magnitude(store, item["datapoint_id"], unit)
    return co2e.evaluate(blueprint["expressions"][0]["template"], values)


def entry_co2e(store: SandboxStore, entry: dict[str, Any]) -> float:
    """The entry's net: its attributed components (MANUAL project components among them, by their factor), plus
    its shares of the statement components and the automatically amortised project components
    (`amortisation`: the sandbox's rule, a rehearsal assumption)."""
    total = 0.0
    gross: dict[str, float] = {}
    for attribution in store.referring("component_attribution", "ghg_entry_id", entry["id"]):
        component = store.get("component", attribution["component_id"])
        if component is None:
            continue
        blueprint = store.get("blueprint", component["blueprint_key"]) or {}
        kind = blueprint.get("type", "")
        value = component_co2e(store, component) * float(attribution["attribution_factor"])
        total += co2e.SIGN.get(kind, -1.0) * value
        if component.get("scope") != "PROJECT":
            gross[kind] = gross.get(kind, 0.0) + value
    for component in amortisation.shared_components(store):
        size = None
        if component.get("scope") == "GHG_STATEMENT":
            statement = store.get("ghg_statement", component.get("_statement_id") or "")
            if statement is None or not holds_entry(statement, entry):
                continue  # another statement's: nothing of it here (and its entries are not counted)
            size = statement_size(store, statement)

        def worth(component: dict[str, Any] = component) -> float:
            return component_co2e(store, component)

        total += amortisation.share(store, component, entry, worth, size, gross)
    return round(total, 6)


def holds_entry(statement: dict[str, Any], entry: dict[str, Any]) -> bool:
    """Whether `statement` holds `entry`: filed in it, or (a draft) of its project, filed nowhere and completed in
    its period: the rule `statement_entries` applies, asked of one entry."""
    if statement["status"] != "DRAFT":
        return entry["id"] in statement.get("_frozen_entry_ids", ())
    return (
        not entry.get("_statement_id")
        and entry["_project_id"] == statement["project_id"]
        and statement["reporting_period_start_at"] <= entry["completed_on"] <= statement["reporting_period_end_at"]
    )


def statement_size(store: SandboxStore, statement: dict[str, Any]) -> int:
    """How many entries `statement` holds, counted once per change of entries or statements for that statement
    alone (each entry written renders its figure, which asks this of its own statement only)."""
    key, stamp = (
        ("statement_size", statement["id"]),
        (store.kind_stamps.get("ghg_entry"), store.kind_stamps.get("ghg_statement")),
    )
    kept = store.memo.get(key)
    if kept is None or kept[0] != stamp:
        if statement["status"] != "DRAFT":
            size = len(statement_entries(store, statement))
        else:
            size = sum(1 for e in store.all("ghg_entry") if holds_entry(statement, e))
        kept = store.memo[key] = (stamp, size)
    return int(kept[1])


def render(store: SandboxStore, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    public = {k: v for k, v in obj.items() if not k.startswith("_")}
    if kind == "source":
        # SourcePrivateUrlInfo.is_accessible: "whether or not a private source [is] visible to the caller". Every
        # source here is the caller's own, so it is visible whether or not its file has arrived; upload state shows
        # only as 409 from POST /sources/{id}/signed_upload_url.
        public["url_info"] = {"__typename": "SourcePrivateUrlInfo", "is_accessible": True}
    elif kind == "ghg_entry":
        statement = _entry_statement(store, obj)
        value = entry_co2e(store, obj)
        public.update(
            {
                "ghg_statement_id": statement["id"] if statement else None,
                "co2e_net_removed_kg": value,
                "co2e_net_removed_without_discount_kg": value,
                "co2e_net_removed_standard_deviation_kg": None,
                "risk_of_reversal_percentage": 0.0,
                "credit_allocation": {"buffer_pool_contribution_kg": 0.0, "supplier_allocation_kg": value},
            }
        )
    elif kind == "ghg_statement":
        entries = statement_entries(store, obj)
        ids = [e["id"] for e in entries]
        public.update(
            {
                "ghg_entry_ids": ids,
                "removal_ids": ids,
                "pending_total_co2e_removed_kg": round(sum(entry_co2e(store, e) for e in entries), 6),
            }
        )
        public.setdefault("credit_allocation", None)  # required (nullable): set by Isometric once credits issue
    elif kind == "component":  # both names are required (nullable) in the live Component
        template_component = obj.get("ghg_entry_template_component_id") or obj.get("removal_template_component_id")
        public["ghg_entry_template_component_id"] = public["removal_template_component_id"] = template_component
    elif kind == "datapoint" and obj.get("locked_status") == "not_locked" and _used_in_submitted(store, obj["id"]):
        public["locked_status"] = LOCKED_AFTER_SUBMIT
    return public


def _used_in_submitted(store: SandboxStore, dp_id: str) -> bool:
    """Whether a component of an entry in a submitted statement uses the datapoint. The set of such datapoints
    is computed once per change of statements, components or attributions, not once per datapoint rendered (a
    listing of a year's datapoints walked every submitted statement for each)."""
    stamp = tuple(store.kind_stamps.get(k) for k in ("ghg_statement", "component", "component_attribution"))
    kept = store.memo.get("used_in_submitted")
    if kept is None or kept[0] != stamp:
        components = [
            store.get("component", a["component_id"]) or {"inputs": []}
            for statement in store.all("ghg_statement")
            if statement["status"] in SUBMITTED
            for entry_id in statement.get("_frozen_entry_ids", [])
            for a in store.referring("component_attribution", "ghg_entry_id", entry_id)
        ]
        kept = store.memo["used_in_submitted"] = (stamp, frozenset(_component_datapoints(components)))
    return dp_id in kept[1]


def entry_locked(store: SandboxStore, entry: dict[str, Any]) -> bool:
    statement = _entry_statement(store, entry)
    return statement is not None and statement["status"] in SUBMITTED


# -- sources ------------------------------------------------------------------------------------------
def create_source(store: SandboxStore, body: Any, base: str, ttl: float) -> dict[str, Any]:
    project(store, body.project_id, ["project_id"])
    unique_srid(store, "source", body.supplier_reference_id)
    ext = "." + body.file_name.rsplit(".", 1)[-1].lower() if "." in body.file_name else ""
    if ext not in SUPPORTED_TYPES:
        raise invalid(
            ["file_name"],
            f"unsupported file type {ext or '(none)'}; supported: {', '.join(sorted(SUPPORTED_TYPES))}",
            body.file_name,
        )
    if SUPPORTED_TYPES[ext] != body.content_type:
        raise invalid(
            ["content_type"],
            f"content_type {body.content_type!r} does not match {ext} ({SUPPORTED_TYPES[ext]})",
            body.content_type,
        )
    if body.content_length < 0:  # "The size (in bytes) of the file" (the document's description): never negative
        raise invalid(
            ["content_length"], "content_length is a size in bytes and cannot be negative", body.content_length
        )
    source = store.put(
        "source",
        {
            "id": new_id("source"),
            "supplier_reference_id": body.supplier_reference_id,
            "display_name": body.display_name,
            "original_filename": body.file_name,
            "type": "DOCUMENT",
            "published_at": body.published_at.isoformat(),
            "is_public": body.is_public,
            "project_id": body.project_id,
            "description": body.description,
            "_uploaded": False,
            "_content_type": body.content_type,
            "_content_length": body.content_length,
        },
    )
    url = signed_url(store, source, body.content_length, body.content_type, base, ttl)
    return {"source": render(store, "source", source), "signed_upload_url": url}


def signed_url(
    store: SandboxStore, source: dict[str, Any], length: int, content_type: str, base: str, ttl: float
) -> str:
    token = secrets.token_urlsafe(24)
    store.add_upload(token, source["id"], length, content_type, time.time() + ttl)
    return f"{base}/_storage/upload/{token}"


def new_signed_url(store: SandboxStore, source_id: str, body: Any, base: str, ttl: float) -> str:
    source = need(store, "source", source_id)
    if source.get("_uploaded"):
        raise Problem(409, "The document for this source has already been uploaded")
    if body.content_length < 0:  # "The size (in bytes) of the file" (the document's description): never negative
        raise invalid(
            ["content_length"], "content_length is a size in bytes and cannot be negative", body.content_length
        )
    if SUPPORTED_TYPES.get("." + str(source["original_filename"]).rsplit(".", 1)[-1].lower()) != body.content_type:
        raise invalid(["content_type"], "content_type does not match the source's file", body.content_type)
    source["_content_length"] = body.content_length
    source["_content_type"] = body.content_type
    store.put("source", source)
    return signed_url(store, source, body.content_length, body.content_type, base, ttl)


def receive_upload(
    store: SandboxStore, token: str, data: bytes, content_type: str | None, declared_length: str | None, chunked: bool
) -> None:
    """PUT to a signed URL: one upload, of exactly the declared type and length, before it expires."""
    upload = store.upload(token)
    if upload is None:
        raise Problem(403, "SignatureDoesNotMatch: unknown upload URL")
    if upload["used"]:
        raise Problem(403, "AccessDenied: this upload URL has already been used")
    if time.time() > upload["expires_at"]:
        raise Problem(403, "AccessDenied: Request has expired")
    if chunked or declared_length is None:
        raise Problem(411, "MissingContentLength: an explicit Content-Length is required")
    if content_type != upload["content_type"]:
        raise Problem(
            403, f"SignatureDoesNotMatch: Content-Type {content_type!r} is not the signed {upload['content_type']!r}"
        )
    if int(declared_length) != upload["content_length"] or len(data) != upload["content_length"]:
        raise Problem(400, f"IncompleteBody: expected exactly {upload['content_length']} bytes, got {len(data)}")
    source = store.get("source", upload["source_id"])
    if source is None:
        raise Problem(404, "the source was deleted")
    store.finish_upload(token, source["id"], hashlib.sha256(data).hexdigest(), len(data), content_type or "")
    source["_uploaded"] = True
    store.put("source", source)


# -- datapoints -----------------------------------------------------------------------------------------
def _quantity(quantity: Any, loc: list[Any]) -> dict[str, Any]:
    """The stored (and answered) quantity: a null or empty unit is "dimensionless", since the response's
    `ScalarQuantity.unit` is a required string of at least one character."""
    unit = units.canonical(quantity.unit)
    try:
        units.parse(unit)
    except UnitError:
        raise invalid([*loc, "unit"], f"unknown unit {quantity.unit!r}", quantity.unit) from None
    if not math.isfinite(quantity.magnitude):
        raise invalid([*loc, "magnitude"], "magnitude must be finite", quantity.magnitude)
    return {"magnitude": quantity.magnitude, "unit": unit, "standard_deviation": quantity.standard_deviation}


def _check_sources(store: SandboxStore, ids: list[str], project_id: str | None) -> None:
    for n, source_id in enumerate(ids):
        ref(store, "source", source_id, ["source_ids", n], project_id)


def create_datapoint(store: SandboxStore, body: Any) -> dict[str, Any]:
    project(store, body.project_id, ["project_id"])
    unique_srid(store, "datapoint", body.supplier_reference_id)
    quantity = _quantity(body.quantity, ["quantity"])
    _check_sources(store, body.source_ids, body.project_id)
    measured = body.measured_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if body.measured_at else None
    return store.put(
        "datapoint",
        {
            "id": new_id("datapoint"),
            "supplier_reference_id": body.supplier_reference_id,
            "display_name": body.display_name,
            "type": body.type,
            "quantity": quantity,
            "description": body.description,
            "source_ids": list(body.source_ids),
            "measured_at": measured,
            "project_id": body.project_id,
            "locked_status": "not_locked",
            "uncertainty_justification": body.uncertainty_justification,
        },
    )


def patch_datapoint(store: SandboxStore, dp_id: str, body: Any, fields: set[str]) -> dict[str, Any]:
    dp = need(store, "datapoint", dp_id)
    status = render(store, "datapoint", dp)["locked_status"]
    if status != "not_locked":
        raise Problem(
            422,
            [
                issue(
                    [],
                    f"datapoint {dp_id} is locked ({status}) and cannot be changed; create a new datapoint instead",
                    kind="value_error.locked",
                )
            ],
        )
    if "quantity" in fields:
        dp["quantity"] = _quantity(body.quantity, ["quantity"])
    if "source_ids" in fields:
        _check_sources(store, body.source_ids, dp["project_id"])
        dp["source_ids"] = list(body.source_ids)
    for name in ("display_name", "description", "type", "uncertainty_justification"):
        if name in fields:
            dp[name] = getattr(body, name)
    return store.put("datapoint", dp)


def datapoint_in_use(store: SandboxStore, dp_id: str) -> bool:
    return any(
        item.get("datapoint_id") == dp_id or dp_id in item.get("datapoint_ids", [])
        for c in store.all("component")
        for item in c["inputs"]
    )


# -- components -----------------------------------------------------------------------------------------
def check_inputs(
    store: SandboxStore,
    blueprint: dict[str, Any],
    inputs: list[Any],
    loc: list[Any],
    project_id: str | None,
    *,
    allowed: set[str] | None = None,
    required: set[str] | None = None,
    fixed: set[str] = frozenset(),  # type: ignore[assignment]
) -> list[dict[str, Any]]:
    """Inputs against a blueprint: known keys, the right shape, existing datapoints, convertible units."""
    spec = {i["input_key"]: i for i in blueprint["inputs"]}
    allowed = allowed if allowed is not None else set(spec)
    out, seen = [], set()
    for n, item in enumerate(inputs):
        key = item.input_key
        here = [*loc, n]
        if key in fixed:
            raise invalid(
                [*here, "input_key"], f"input {key!r} is fixed by the template; send only monitored inputs", key
            )
        if key not in allowed:
            raise invalid(
                [*here, "input_key"],
                f"unknown input {key!r} for blueprint {blueprint['key']!r}; "
                f"expected one of {', '.join(sorted(allowed))}",
                key,
            )
        if key in seen:
            raise invalid([*here, "input_key"], f"input {key!r} given twice", key)
        seen.add(key)
        shape = spec[key]["data_shape"]
        is_list = item.typename == "CreateComponentListInput"
        if (shape == "LIST") != is_list:
            raise invalid(
                here,
                f"input {key!r} is a {shape} input; send a "
                f"{'CreateComponentListInput' if shape == 'LIST' else 'CreateComponentScalarInput'}",
                key,
            )
        ids = list(item.datapoint_ids) if is_list else [item.datapoint_id]
        if is_list and not ids:
            raise invalid([*here, "datapoint_ids"], "a list input needs at least one datapoint", ids)
        for m, dp_id in enumerate(ids):
            dp_loc = [*here, "datapoint_ids", m] if is_list else [*here, "datapoint_id"]
            dp = ref(store, "datapoint", dp_id, dp_loc, project_id)
            unit = units.canonical(dp["quantity"].get("unit"))
            try:
                units.factor(unit, spec[key]["compatible_unit"])
            except UnitError:
                raise invalid(
                    dp_loc,
                    f"datapoint {dp_id} is in {unit!r}, which cannot be converted to "
                    f"{spec[key]['compatible_unit']!r} required by input {key!r}",
                    dp_id,
                ) from None
        out.append(
            {"__typename": "ComponentListInput", "input_key": key, "datapoint_ids": ids}
            if is_list
            else {"__typename": "ComponentScalarInput", "input_key": key, "datapoint_id": ids[0]}
        )
    missing = (required if required is not None else set(spec)) - seen
    if missing:
        raise invalid(loc, f"missing input(s) {', '.join(sorted(missing))} for blueprint {blueprint['key']!r}")
    return out


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def create_component(store: SandboxStore, body: Any) -> dict[str, Any]:
    project(store, body.project_id, ["project_id"])
    unique_srid(store, "component", body.supplier_reference_id)
    blueprint = store.get("blueprint", body.component_blueprint_key)
    if blueprint is None:
        raise invalid(
            ["component_blueprint_key"],
            f"unknown component blueprint {body.component_blueprint_key!r}",
            body.component_blueprint_key,
        )
    if body.activity_completed_at < body.activity_started_at:
        raise invalid(["activity_completed_at"], "activity_completed_at is before activity_started_at")
    inputs = check_inputs(store, blueprint, body.inputs, ["inputs"], body.project_id)
    return store.put(
        "component",
        {
            "id": new_id("component"),
            "supplier_reference_id": body.supplier_reference_id,
            "type": blueprint["type"],
            "scope": "REMOVAL",  # attributed to entries (PATCH .../component_attributions); shared ones: their paths
            "display_name": body.display_name,
            "description": body.description,
            "activity_started_at": _iso(body.activity_started_at),
            "activity_completed_at": _iso(body.activity_completed_at),
            "blueprint_key": blueprint["key"],
            "removal_template_component_id": None,
            "inputs": inputs,
            "allocation_strategy": None,
            "project_id": body.project_id,
        },
    )


def _component_locked(store: SandboxStore, component_id: str) -> bool:
    component = store.get("component", component_id) or {}
    statement = store.get("ghg_statement", component.get("_statement_id") or "")
    if statement is not None and statement["status"] in SUBMITTED:  # a statement component of a submitted statement
        return True
    for attribution in store.referring("component_attribution", "component_id", component_id):
        entry = store.get("ghg_entry", attribution["ghg_entry_id"])
        if entry and entry_locked(store, entry):
            return True
    return False


def patch_component(store: SandboxStore, component_id: str, body: Any, fields: set[str]) -> dict[str, Any]:
    component = need(store, "component", component_id)
    if _component_locked(store, component_id):
        raise Problem(
            422,
            [
                issue(
                    [],
                    "the component is used by a GHG entry in a submitted statement and cannot change",
                    kind="value_error.locked",
                )
            ],
        )
    if "allocation_strategy" in fields and component.get("scope") != "PROJECT":
        # PatchComponentRequest.allocation_strategy: "This can only be set on project-scoped components."
        raise invalid(
            ["allocation_strategy"],
            "the allocation strategy can only be set on project-scoped components",
            body.allocation_strategy,
        )
    if "inputs" in fields:
        blueprint = need(store, "blueprint", component["blueprint_key"])
        component["inputs"] = check_inputs(store, blueprint, body.inputs, ["inputs"], component.get("project_id"))
    for name in ("display_name", "description", "allocation_strategy"):
        if name in fields:
            component[name] = getattr(body, name)
    return store.put("component", component)


def delete_component(store: SandboxStore, component_id: str) -> None:
    need(store, "component", component_id)
    if _component_locked(store, component_id):
        raise Problem(422, [issue([], "the component is used by a GHG entry in a submitted statement")])
    for attribution in store.referring("component_attribution", "component_id", component_id):
        store.delete("component_attribution", attribution["id"])
    store.delete("component", component_id)


# -- feedstock types ------------------------------------------------------------------------------------
def add_feedstock_type(store: SandboxStore, name: str, supplier_reference_id: str | None = None) -> dict[str, Any]:
    """What the Certify UI does (the API has no POST /feedstock_types): a new type of the organisation."""
    if supplier_reference_id is not None:
        unique_srid(store, "feedstock_type", supplier_reference_id)
    return store.put(
        "feedstock_type", {"id": new_id("feedstock_type"), "name": name, "supplier_reference_id": supplier_reference_id}
    )


# -- GHG entries ----------------------------------------------------------------------------------------
def create_ghg_entry(store: SandboxStore, body: Any) -> dict[str, Any]:
    project(store, body.project_id, ["project_id"])
    unique_srid(store, "ghg_entry", body.supplier_reference_id)
    template_id = body.ghg_entry_template_id
    if not template_id:
        # the document: ghg_entry_template_id "will become required once the deprecated `process_key` field is
        # removed"; the sandbox has no processes (GET /processes is deprecated), so it needs a template
        raise invalid(["ghg_entry_template_id"], "a GHG entry template is required (the sandbox has no processes)")
    template = store.get("template", template_id)
    if template is None or template["project_id"] != body.project_id:
        raise invalid(
            ["ghg_entry_template_id"],
            f"GHG entry template {template_id} does not exist in project {body.project_id}",
            template_id,
        )
    if body.completed_on < body.started_on:
        raise invalid(["completed_on"], "completed_on is before started_on", body.completed_on.isoformat())
    if body.feedstock_type_id:
        ref(store, "feedstock_type", body.feedstock_type_id, ["feedstock_type_id"], None)
    for statement in store.all("ghg_statement"):
        if (
            statement["project_id"] == body.project_id
            and statement["status"] in SUBMITTED
            and statement["reporting_period_start_at"]
            <= body.completed_on.isoformat()
            <= statement["reporting_period_end_at"]
        ):
            raise invalid(
                ["completed_on"], f"completed_on falls in the period of submitted statement {statement['id']}"
            )
    given = {c.ghg_entry_template_component_id: (n, c) for n, c in enumerate(body.ghg_entry_template_components)}
    components, attributions = [], []
    template_comps = {c["id"]: (g, c) for g in template["groups"] for c in g["components"]}
    for rtc_id in given:
        if rtc_id not in template_comps:
            n, _ = given[rtc_id]
            raise invalid(
                ["ghg_entry_template_components", n, "ghg_entry_template_component_id"],
                f"template component {rtc_id} is not part of template {template_id}",
                rtc_id,
            )
    entry_id = new_id("ghg_entry")
    # what was sent is checked before what is missing: its problems are the more specific ones
    ordered = sorted(template_comps.items(), key=lambda item: item[0] not in given)
    for rtc_id, (group, comp) in ordered:
        monitored = {i["input_key"] for i in comp["inputs"] if i["type"] == "monitored"}
        fixed = {i["input_key"]: i["datapoint_id"] for i in comp["inputs"] if i["type"] == "fixed"}
        n, provided = given.get(rtc_id, (len(given), None))
        if provided is None and monitored:
            raise invalid(
                ["ghg_entry_template_components"],
                f"missing monitored input(s) "
                f"{', '.join(sorted(monitored))} of template component {comp['display_name']!r} ({rtc_id})",
            )
        blueprint = need(store, "blueprint", comp["blueprint_key"])
        inputs = check_inputs(
            store,
            blueprint,
            provided.inputs if provided else [],
            ["ghg_entry_template_components", n, "inputs"],
            body.project_id,
            allowed=monitored,
            required=monitored,
            fixed=set(fixed),
        )
        inputs += [{"__typename": "ComponentScalarInput", "input_key": k, "datapoint_id": v} for k, v in fixed.items()]
        component = {
            "id": new_id("component"),
            "supplier_reference_id": None,
            "type": blueprint["type"],
            "scope": "REMOVAL",
            "display_name": comp["display_name"],
            "description": comp.get("description"),
            "activity_started_at": f"{body.started_on.isoformat()}T00:00:00Z",
            "activity_completed_at": f"{body.completed_on.isoformat()}T00:00:00Z",
            "blueprint_key": comp["blueprint_key"],
            "removal_template_component_id": rtc_id,
            "ghg_entry_template_component_id": rtc_id,
            "inputs": inputs,
            "project_id": body.project_id,
            "allocation_strategy": None,
        }
        components.append(component)
        attributions.append(_attribution(entry_id, component["id"], group["key"], 1.0, rtc_id))
    entry = store.put(
        "ghg_entry",
        {
            "id": entry_id,
            "supplier_reference_id": body.supplier_reference_id,
            "started_on": body.started_on.isoformat(),
            "completed_on": body.completed_on.isoformat(),
            "feedstock_type_id": body.feedstock_type_id,
            "credit_type": template.get("credit_type", "REMOVAL"),
            "_project_id": body.project_id,
            "_template_id": template_id,
        },
    )
    for component in components:
        store.put("component", component)
    for attribution in attributions:
        store.put("component_attribution", attribution)
    return entry


def _attribution(entry_id: str, component_id: str, group: str, factor: float, rtc_id: str | None) -> dict[str, Any]:
    return {
        "id": new_id("component_attribution"),
        "ghg_entry_id": entry_id,
        "removal_id": entry_id,
        "component_id": component_id,
        "component_group_key": group,
        "attribution_factor": factor,
        "removal_template_component_id": rtc_id,
        "ghg_entry_template_component_id": rtc_id,
    }


def patch_ghg_entry(store: SandboxStore, entry_id: str, body: Any, fields: set[str]) -> dict[str, Any]:
    """PatchGhgEntryRequest: dates and the feedstock type (an ID; the document allows no null); through the
    deprecated PatchRemovalRequest also `add_components` / `delete_component_ids` (attributions by another
    name)."""
    entry = need(store, "ghg_entry", entry_id)
    if entry_locked(store, entry):
        raise Problem(
            422, [issue([], "the GHG entry is in a submitted statement and cannot change", kind="value_error.locked")]
        )
    # a date, or left as it is (PatchGhgEntryRequest: absent or Undefined; the deprecated PatchRemovalRequest: null)
    started = body.started_on.isoformat() if isinstance(body.started_on, dt.date) else entry["started_on"]
    completed = body.completed_on.isoformat() if isinstance(body.completed_on, dt.date) else entry["completed_on"]
    if completed < started:
        raise invalid(["completed_on"], "completed_on is before started_on", completed)
    if "feedstock_type_id" in fields:
        ref(store, "feedstock_type", body.feedstock_type_id, ["feedstock_type_id"], None)
    to_add: list[tuple[str, str, float, list[Any]]] = []
    if "add_components" in fields:
        template = store.get("template", entry["_template_id"]) or {"groups": []}
        groups = {g["id"]: g["key"] for g in template["groups"]}
        for n, item in enumerate(body.add_components):
            loc = ["add_components", n]
            group_id = item.ghg_entry_template_group_id or item.removal_template_group_id
            if group_id:
                if group_id not in groups:
                    raise invalid(
                        [*loc, "ghg_entry_template_group_id"],
                        f"group {group_id} is not part of the entry's template",
                        group_id,
                    )
                group_key = groups[group_id]
            elif item.process_step_key in groups.values():
                group_key = item.process_step_key
            else:
                raise invalid(loc, "name the group: ghg_entry_template_group_id (or the deprecated process_step_key)")
            factor = 1.0  # "A null input will default to 1."
            if item.attribution_factor_datapoint_id:
                dp = ref(
                    store,
                    "datapoint",
                    item.attribution_factor_datapoint_id,
                    [*loc, "attribution_factor_datapoint_id"],
                    entry["_project_id"],
                )
                factor = datapoint_magnitude(store, dp["id"], units.DIMENSIONLESS) if _dimensionless(dp) else -1.0
                if not 0 < factor <= 1:
                    raise invalid(
                        [*loc, "attribution_factor_datapoint_id"],
                        "the attribution factor datapoint must be a dimensionless number in (0, 1]",
                        item.attribution_factor_datapoint_id,
                    )
            to_add.append((item.component_id, group_key, factor, [*loc, "component_id"]))
    to_remove = list(body.delete_component_ids) if "delete_component_ids" in fields else []
    if to_add or to_remove:
        _attribute(store, entry, to_add, to_remove, "delete_component_ids")
    if "feedstock_type_id" in fields:
        entry["feedstock_type_id"] = body.feedstock_type_id
    entry["started_on"], entry["completed_on"] = started, completed
    return store.put("ghg_entry", entry)


def _dimensionless(dp: dict[str, Any]) -> bool:
    try:
        units.factor(units.canonical(dp["quantity"].get("unit")), units.DIMENSIONLESS)
    except UnitError:
        return False
    return True


def delete_ghg_entry(store: SandboxStore, entry_id: str) -> None:
    entry = need(store, "ghg_entry", entry_id)
    if entry_locked(store, entry):
        raise Problem(422, [issue([], "the GHG entry is in a submitted statement and cannot be deleted")])
    for attribution in store.referring("component_attribution", "ghg_entry_id", entry_id):
        store.delete("component_attribution", attribution["id"])
        component = store.get("component", attribution["component_id"])
        if component and component.get("ghg_entry_template_component_id"):  # made with the entry, from its template
            store.delete("component", component["id"])
    store.delete("ghg_entry", entry_id)


def patch_attributions(store: SandboxStore, entry_id: str, to_add: list[Any], to_remove: list[str]) -> dict[str, Any]:
    entry = need(store, "ghg_entry", entry_id)
    template = store.get("template", entry["_template_id"]) or {"groups": []}
    groups = {g["key"] for g in template["groups"]}
    additions = []
    for n, item in enumerate(to_add):
        if item.component_group_key not in groups:
            raise invalid(
                ["components_to_add", n, "component_group_key"],
                f"unknown component group "
                f"{item.component_group_key!r}; the template's groups are {', '.join(sorted(groups))}",
                item.component_group_key,
            )
        additions.append(
            (
                item.component_id,
                item.component_group_key,
                item.attribution_factor,
                ["components_to_add", n, "component_id"],
            )
        )
    _attribute(store, entry, additions, to_remove, "components_to_remove")
    return render(store, "ghg_entry", entry)


def _attribute(
    store: SandboxStore,
    entry: dict[str, Any],
    to_add: list[tuple[str, str, float, list[Any]]],
    to_remove: list[str],
    remove_field: str,
) -> None:
    """Attribute components to an entry and take others off it, after checking every change."""
    if entry_locked(store, entry):
        raise Problem(
            422,
            [
                issue(
                    [],
                    "the GHG entry is in a submitted statement; its components cannot change",
                    kind="value_error.locked",
                )
            ],
        )
    current = {a["component_id"]: a for a in store.referring("component_attribution", "ghg_entry_id", entry["id"])}
    for n, component_id in enumerate(to_remove):
        if component_id not in current:
            raise invalid([remove_field, n], f"component {component_id} is not attributed to this entry", component_id)
    for component_id, _group, _factor, loc in to_add:
        ref(store, "component", component_id, loc, entry["_project_id"])
        if component_id in current and component_id not in to_remove:
            raise invalid(loc, "the component is already attributed to this entry", component_id)
    for component_id in dict.fromkeys(to_remove):
        store.delete("component_attribution", current[component_id]["id"])
    for component_id, group, factor, _loc in to_add:
        store.put("component_attribution", _attribution(entry["id"], component_id, group, factor, None))


def attributed_components(store: SandboxStore, entry_id: str) -> set[str]:
    """IDs of the components attributed to an entry."""
    return {a["component_id"] for a in store.referring("component_attribution", "ghg_entry_id", entry_id)}


def statement_components(store: SandboxStore, statement_id: str) -> set[str]:
    """IDs of the components attributed to the entries of a statement, and of its statement components."""
    statement = store.get("ghg_statement", statement_id)
    entries = {e["id"] for e in statement_entries(store, statement)} if statement else set()
    own = {c["id"] for c in store.referring("component", "_statement_id", statement_id)}
    return own | {
        a["component_id"] for e in entries for a in store.referring("component_attribution", "ghg_entry_id", e)
    }


def _component_datapoints(components: list[dict[str, Any]]) -> set[str]:
    out: set[str] = set()
    for component in components:
        for item in component["inputs"]:
            out.update(item.get("datapoint_ids") or [item["datapoint_id"]])
    return out


def datapoints_used(store: SandboxStore, query: Any) -> set[str] | None:
    """The `used_in_*` and `measurement_sample_id` filters of GET /datapoints: the IDs they allow (None: no
    such filter). A sample's datapoints are those its values became (`importer.sandbox.measurements`)."""
    allowed: set[str] | None = None

    def narrow(ids: set[str]) -> None:
        nonlocal allowed
        allowed = ids if allowed is None else allowed & ids

    if query.measurement_sample_id:
        sample = store.get("measurement_sample", query.measurement_sample_id) or {"values": []}
        narrow({v["datapoint_id"] for v in sample["values"]})
    for entry_id in (query.used_in_ghg_entry, query.used_in_removal):
        if entry_id:
            ids = attributed_components(store, entry_id)
            narrow(_component_datapoints([c for c in store.all("component") if c["id"] in ids]))
    if query.used_in_ghg_statement:
        ids = statement_components(store, query.used_in_ghg_statement)
        narrow(_component_datapoints([c for c in store.all("component") if c["id"] in ids]))
    for template_id in (query.used_in_ghg_entry_template, query.used_in_removal_template):
        if template_id:
            template = store.get("template", template_id) or {"groups": []}
            narrow(
                {
                    i["datapoint_id"]
                    for g in template["groups"]
                    for c in g["components"]
                    for i in c["inputs"]
                    if i.get("datapoint_id")
                }
            )
    if query.used_in_scope:
        narrow(_component_datapoints([c for c in store.all("component") if c.get("scope") == query.used_in_scope]))
    return allowed


def has_quantity_kind(datapoint: dict[str, Any], kind: str) -> bool:
    """Whether a datapoint's unit has the dimension of a quantity kind (kinds the sandbox cannot tell by
    dimension alone match nothing)."""
    reference = units.KIND_UNITS.get(kind)
    if reference is None:
        return False
    try:
        units.factor(units.canonical(datapoint["quantity"].get("unit")), reference)
    except UnitError:
        return False
    return True


# -- statements -------------------------------------------------------------------------------------------
def create_statement(store: SandboxStore, body: Any) -> dict[str, Any]:
    project(store, body.project_id, ["project_id"])
    previous = sorted(
        (s for s in store.all("ghg_statement") if s["project_id"] == body.project_id),
        key=lambda s: s["reporting_period_end_at"],
    )
    end = body.end_on.isoformat()
    if previous:
        last_end = dt.date.fromisoformat(previous[-1]["reporting_period_end_at"])
        start = (last_end + dt.timedelta(days=1)).isoformat()
        if end < start:
            raise invalid(
                ["end_on"],
                f"end_on {end} would overlap statement {previous[-1]['id']} (ends {last_end}); "
                f"the next statement starts on {start}",
                end,
            )
    else:
        entries = [e for e in store.all("ghg_entry") if e["_project_id"] == body.project_id]
        if not entries:
            raise invalid(["end_on"], "the project has no GHG entries to report", end)
        start = min(e["started_on"] for e in entries)
        if end < start:
            raise invalid(["end_on"], f"end_on {end} is before the project's earliest GHG entry ({start})", end)
    return store.put(
        "ghg_statement",
        {
            "id": new_id("ghg_statement"),
            "project_id": body.project_id,
            "status": "DRAFT",
            "reporting_period_start_at": start,
            "reporting_period_end_at": end,
            "submitted_at": None,
            "credits_issued_at": None,
            "verifier": None,
            "ghg_statement_report_url": None,
        },
    )


def submit_statement(store: SandboxStore, statement_id: str, body: Any) -> dict[str, Any]:
    statement = need(store, "ghg_statement", statement_id)
    resubmission = statement["status"] == "FAILED_VERIFICATION"
    if statement["status"] != "DRAFT" and not resubmission:
        raise Problem(
            422, [issue([], f"statement {statement_id} is {statement['status']}; only a draft can be submitted")]
        )
    if resubmission and not isinstance(body.summary_of_changes, str):
        # ResubmitGhgStatementRequest requires summary_of_changes (API-NOTES, "Submit": a resubmission sends it)
        raise invalid(["summary_of_changes"], "a resubmission needs summary_of_changes")
    entries = statement_entries(store, statement)
    if not entries:
        raise Problem(422, [issue([], "the statement has no GHG entries")])
    statement["_frozen_entry_ids"] = [e["id"] for e in entries]
    for entry in entries:
        entry["_statement_id"] = statement_id
        store.put("ghg_entry", entry)
    statement.update(
        {
            "status": "AWAITING_VERIFICATION",
            "submitted_at": now_iso(),
            "ghg_statement_report_url": body.ghg_statement_report_url,
        }
    )
    return store.put("ghg_statement", statement)
