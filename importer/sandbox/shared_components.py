"""The sandbox's shared components: `POST /project_components` (a whole component create, `component_data`, and
its `allocation_strategy`), `POST /project_components/{id}/ghg_entry_attributions` (`ghg_entry_id`,
`attribution_factor`) and `DELETE /project_components/{component_id}/ghg_entry_attributions/{ghg_entry_id}` for
MANUAL ones, and `POST /ghg_statement_components` (`ghg_statement_id`, `component_data`). They have no listing of
their own: `GET /components?scope=PROJECT` (or `GHG_STATEMENT`, with `ghg_statement_id`) lists them, `PATCH` and
`DELETE /components/{id}` change and delete them.

What the document leaves open, and what the sandbox does (rehearsal assumptions): how the CO2e is spread is
`amortisation`'s rule. A statement component needs a DRAFT statement of its project; once the statement is
submitted it cannot change (PATCH and DELETE answer 422). A manual attribution is for a MANUAL project component
only, to an entry of its project that is in no submitted statement; sent again it sets the new factor; the factors
of one component sum to at most 1 (422 beyond). A manual attribution is listed with the entry's attributions
(`GET /ghg_entries/{id}/component_attributions`, group key `project-component`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.routing import Route

from importer.sandbox import logic
from importer.sandbox import schemas as s
from importer.sandbox.ids import new_id
from importer.sandbox.logic import Problem, invalid, need, render
from importer.sandbox.resource import Kit
from importer.sandbox.store import SandboxStore

#: the component group key a manual attribution is listed under (the document names none)
GROUP = "project-component"


class CreateProjectComponent(s.Body):
    allocation_strategy: s.AmortizationStrategy
    component_data: s.CreateComponent


class CreateGhgStatementComponent(s.Body):
    ghg_statement_id: s.IdStr
    component_data: s.CreateComponent


class ProjectAttribution(s.Body):
    ghg_entry_id: s.IdStr
    attribution_factor: float = Field(gt=0, le=1)


class AttributionPath(BaseModel):
    component_id: s.IdStr
    ghg_entry_id: s.IdStr


def _create(store: SandboxStore, data: Any, scope: str, **extra: Any) -> dict[str, Any]:
    """A component made from `component_data` (checked as POST /components checks it), of `scope`."""
    component = logic.create_component(store, data)
    component.update({"scope": scope, **extra})
    return store.put("component", component)


def _manual(store: SandboxStore, component_id: str) -> dict[str, Any]:
    component = need(store, "component", component_id)
    if component.get("scope") != "PROJECT" or component.get("allocation_strategy") != "MANUAL":
        raise invalid(
            ["path", "id"],
            f"component {component_id} is not a MANUAL project component: only those are attributed by hand",
            component_id,
        )
    return component


def routes(kit: Kit) -> list[Route]:
    store = kit.store

    async def create_project_component(request: Request) -> Any:
        body, _ = await kit.body(request, CreateProjectComponent)
        with store.lock:
            created = _create(store, body.component_data, "PROJECT", allocation_strategy=body.allocation_strategy)
            return render(store, "component", created)

    async def create_statement_component(request: Request) -> Any:
        body, _ = await kit.body(request, CreateGhgStatementComponent)
        with store.lock:
            statement = store.get("ghg_statement", body.ghg_statement_id)
            if statement is None:
                raise invalid(["ghg_statement_id"], "statement not found", body.ghg_statement_id)
            if statement["project_id"] != body.component_data.project_id:
                raise invalid(["ghg_statement_id"], "the statement is of another project", statement["id"])
            if statement["status"] != "DRAFT":
                raise invalid(
                    ["ghg_statement_id"],
                    f"statement {statement['id']} is {statement['status']}: components are added to a DRAFT "
                    "statement only (after submission, changes need a resubmission)",
                    statement["id"],
                )
            created = _create(store, body.component_data, "GHG_STATEMENT", _statement_id=statement["id"])
            return render(store, "component", created)

    async def attribute(request: Request) -> Any:
        body, _ = await kit.body(request, ProjectAttribution)
        with store.lock:
            component = _manual(store, request.path_params["id"])
            entry = logic.ref(store, "ghg_entry", body.ghg_entry_id, ["ghg_entry_id"], None)
            if entry["_project_id"] != component.get("project_id"):
                raise invalid(["ghg_entry_id"], "the GHG entry is of another project", entry["id"])
            if logic.entry_locked(store, entry):
                raise invalid(["ghg_entry_id"], "the GHG entry is in a submitted statement", entry["id"])
            held = store.referring("component_attribution", "component_id", component["id"])
            current = next((a for a in held if a["ghg_entry_id"] == entry["id"]), None)
            others = sum(float(a["attribution_factor"]) for a in held if a is not current)
            if others + body.attribution_factor > 1 + 1e-9:
                raise invalid(
                    ["attribution_factor"],
                    f"the component's factors would sum to {others + body.attribution_factor:g}; at most 1",
                    body.attribution_factor,
                )
            attribution = current or {
                "id": new_id("component_attribution"),
                "ghg_entry_id": entry["id"],
                "removal_id": entry["id"],
                "component_id": component["id"],
                "component_group_key": GROUP,
                "removal_template_component_id": None,
                "ghg_entry_template_component_id": None,
            }
            attribution["attribution_factor"] = body.attribution_factor
            store.put("component_attribution", attribution)
            return render(store, "ghg_entry", entry)

    async def unattribute(request: Request) -> Any:
        with store.lock:
            component = _manual(store, request.path_params["component_id"])
            entry = need(store, "ghg_entry", request.path_params["ghg_entry_id"])
            if logic.entry_locked(store, entry):
                raise Problem(422, [s.issue([], "the GHG entry is in a submitted statement")])
            for a in store.referring("component_attribution", "component_id", component["id"]):
                if a["ghg_entry_id"] == entry["id"]:
                    store.delete("component_attribution", a["id"])

    return [
        Route(kit.prefix + "/project_components", kit.api(create_project_component, path=None), methods=["POST"]),
        Route(kit.prefix + "/project_components/{id}/ghg_entry_attributions", kit.api(attribute), methods=["POST"]),
        Route(
            kit.prefix + "/project_components/{component_id}/ghg_entry_attributions/{ghg_entry_id}",
            kit.api(unattribute, status=204, path=AttributionPath),
            methods=["DELETE"],
        ),
        Route(
            kit.prefix + "/ghg_statement_components", kit.api(create_statement_component, path=None), methods=["POST"]
        ),
    ]
