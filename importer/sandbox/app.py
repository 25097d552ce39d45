"""The sandbox's HTTP surface: a Starlette app answering the Certify API under `/mrv/v0` (the `ghg_entry*`
endpoints and their deprecated `removal*` aliases), the signed-upload endpoint under `/_storage`, and a small
admin API under `/_sandbox` (fault configuration and request statistics; no credentials, loopback only).

Authentication is the real API's: `X-Client-Secret` and `Authorization: Bearer <token>` on every request;
missing -> 401, wrong -> 403, both with the API's `{"detail": ...}` error shape.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from importer.sandbox import logic
from importer.sandbox import schemas as s
from importer.sandbox.faults import FaultConfig, FaultInjector
from importer.sandbox.logic import Problem, invalid, need, render
from importer.sandbox.resource import Kit, discover
from importer.sandbox.store import SandboxStore, paginate

PREFIX = "/mrv/v0"
DEMO_CLIENT_SECRET = "sandbox-demo-client-secret-0001"
DEMO_ACCESS_TOKEN = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJvcmciOiJvcmdfMVNCWERFTU9PUkcwMDAxIiwic2NvcGUiOiJzYW5k"
    "Ym94In0.c2FuZGJveC1kZW1vLXNpZ25hdHVyZS0wMDAx"
)

Handler = Callable[[Request], Awaitable[Response]]


class Sandbox:
    """Holds the store and the fault injector the routes use."""

    def __init__(
        self,
        store: SandboxStore,
        faults: FaultConfig,
        *,
        client_secret: str = DEMO_CLIENT_SECRET,
        access_token: str = DEMO_ACCESS_TOKEN,
    ) -> None:
        self.store = store
        self.client_secret = client_secret
        self.access_token = access_token
        self.injector: FaultInjector | None = None
        self.faults = faults

    @property
    def config(self) -> FaultConfig:
        return self.injector.config if self.injector else self.faults

    @property
    def ttl(self) -> float:
        return self.config.upload_url_ttl_seconds


def _auth_problem(sandbox: Sandbox, request: Request) -> JSONResponse | None:
    secret = request.headers.get("x-client-secret")
    if not secret:
        return JSONResponse({"detail": "Missing X-Client-Secret header"}, status_code=401)
    if not hmac.compare_digest(secret, sandbox.client_secret):
        return JSONResponse({"detail": "Invalid client secret"}, status_code=403)
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return JSONResponse({"detail": "Not authenticated"}, status_code=401, headers={"WWW-Authenticate": "Bearer"})
    if not hmac.compare_digest(token.strip(), sandbox.access_token):
        return JSONResponse({"detail": "Invalid or expired access token"}, status_code=403)
    return None


async def _body(request: Request, model: type[BaseModel]) -> tuple[Any, set[str]]:
    """The JSON body as `model` (strictly typed, as JSON Schema types it), and the fields it sets (for a PATCH:
    given and not the `Undefined` placeholder)."""
    raw = await request.body()
    if not raw.strip() or raw.strip() == b"null":
        raise Problem(422, [{"type": "missing", "loc": ["body"], "msg": "Field required", "input": None}])
    try:
        parsed = model.model_validate_json(raw)
    except ValidationError as exc:
        raise Problem(422, s.error_detail(exc)) from None
    return parsed, s.changed(parsed)


def _params(model: type[BaseModel], values: Any, where: str) -> Any:
    """Query or path parameters as `model`: 422 with `loc` ["query"|"path", name] when they break the document's
    constraints (lengths, enums, integer ranges)."""
    try:
        return model.model_validate(dict(values))
    except ValidationError as exc:
        raise Problem(422, s.error_detail(exc, where)) from None


def _page_args(query: Any) -> dict[str, Any]:
    return {"first": query.first, "last": query.last, "after": query.after, "before": query.before}


def build_app(sandbox: Sandbox) -> Any:
    store = sandbox.store
    listings: dict[tuple[str, str], tuple[int, list[dict[str, Any]], list[int]]] = {}

    def api(
        fn: Callable[[Request], Awaitable[Any]], *, status: int = 200, path: type[BaseModel] | None = s.IdPath
    ) -> Handler:
        async def handler(request: Request) -> Response:
            problem = _auth_problem(sandbox, request)
            if problem is not None:
                return problem
            try:
                if path is not None:
                    _params(path, request.path_params, "path")
                result = await fn(request)
            except Problem as exc:
                return JSONResponse({"detail": exc.detail}, status_code=exc.status)
            if result is None:
                return Response(status_code=204)
            return JSONResponse(result, status_code=status)

        return handler

    def listing(
        kind: str,
        query_model: type[s.Query] = s.SridQuery,
        filters: Callable[[Any], Callable[[dict[str, Any]], bool]] | None = None,
    ) -> Handler:
        async def fn(request: Request) -> Any:
            query = _params(query_model, request.query_params, "query")
            srid = getattr(query, "supplier_reference_id", None)
            paging = _page_args(query)
            # the filtered list is kept until the next write: paging through a large listing costs each page
            # its own size, not the whole registry's
            key = (kind, repr(sorted((k, v) for k, v in query.model_dump().items() if k not in paging)))
            with store.lock:
                cached = listings.get(key)
                if cached is None or cached[0] != store.version:
                    if listings and next(iter(listings.values()))[0] != store.version:
                        listings.clear()  # every list kept is stale after a write: none outlives it
                    keep = filters(query) if filters is not None else None
                    pool = (
                        store.all(kind) if srid is None else [o for o in [store.by_srid(kind, srid)] if o is not None]
                    )
                    items = [o for o in pool if keep is None or keep(o)]
                    cached = listings[key] = (store.version, items, [store.seq(o["id"]) for o in items])
                _, items, seqs = cached
                page = paginate(store, items, **paging, seqs=seqs)
                page["nodes"] = [render(store, kind, o) for o in page["nodes"]]
            return page

        return api(fn, path=None)

    def getter(kind: str) -> Handler:
        async def fn(request: Request) -> Any:
            return render(store, kind, need(store, kind, request.path_params["id"]))

        return api(fn)

    def in_project(query: Any) -> Callable[[dict[str, Any]], bool]:
        pid = query.project_id
        return lambda o: pid is None or o.get("project_id", o.get("_project_id")) == pid

    def component_filter(query: Any) -> Callable[[dict[str, Any]], bool]:
        project_ok = in_project(query)
        entry_id = query.ghg_entry_id or query.removal_id
        attributed = logic.attributed_components(store, entry_id) if entry_id else None
        in_statement = logic.statement_components(store, query.ghg_statement_id) if query.ghg_statement_id else None
        return lambda o: (
            project_ok(o)
            and (attributed is None or o["id"] in attributed)
            and (in_statement is None or o["id"] in in_statement)
            and (query.scope is None or o.get("scope") == query.scope)
        )

    def datapoint_filter(query: Any) -> Callable[[dict[str, Any]], bool]:
        project_ok = in_project(query)
        contains = (query.display_name_contains or "").lower()
        used = logic.datapoints_used(store, query)
        return lambda o: (
            project_ok(o)
            and (not contains or contains in o["display_name"].lower())
            and (used is None or o["id"] in used)
            and (query.quantity_kind is None or logic.has_quantity_kind(o, query.quantity_kind))
        )

    # -- templates and blueprints ----------------------------------------------------------------------
    def template_json(template: dict[str, Any]) -> dict[str, Any]:
        out = json.loads(json.dumps(template))
        for group in out["groups"]:
            for comp in group["components"]:
                comp.update(
                    {
                        "ghg_entry_template_id": template["id"],
                        "removal_template_id": template["id"],
                        "ghg_entry_template_component_group_id": group["id"],
                        "removal_template_component_group_id": group["id"],
                    }
                )
        return dict(out)

    async def list_templates(request: Request) -> Any:
        query = _params(s.Query, request.query_params, "query")
        pid = request.path_params["project_id"]
        if store.get("project", pid) is None:
            raise Problem(404, f"project {pid} not found")
        items = [t for t in store.all("template") if t["project_id"] == pid]
        page = paginate(store, items, **_page_args(query))
        page["nodes"] = [template_json(t) for t in page["nodes"]]
        return page

    async def get_template(request: Request) -> Any:
        template = need(store, "template", request.path_params["id"])
        if template["project_id"] != request.path_params["project_id"]:
            raise Problem(404, "template not found in this project")
        return template_json(template)

    async def list_blueprints(request: Request) -> Any:
        return paginate(store, store.all("blueprint"), **_page_args(_params(s.Query, request.query_params, "query")))

    async def get_blueprint(request: Request) -> Any:
        return need(store, "blueprint", request.path_params["key"])

    async def list_projects(request: Request) -> Any:
        return paginate(store, store.all("project"), **_page_args(_params(s.Query, request.query_params, "query")))

    # -- sources ---------------------------------------------------------------------------------------
    def base(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    async def create_source(request: Request) -> Any:
        body, _ = await _body(request, s.CreateDocumentSource)
        with store.lock:
            ttl = -1.0 if sandbox.config.expire_first_upload_url else sandbox.ttl
            return logic.create_source(store, body, base(request), ttl)

    async def new_upload_url(request: Request) -> Any:
        body, _ = await _body(request, s.SignedUploadUrl)
        with store.lock:
            return logic.new_signed_url(store, request.path_params["id"], body, base(request), sandbox.ttl)

    async def patch_source(request: Request) -> Any:
        body, fields = await _body(request, s.PatchSource)
        with store.lock:
            source = need(store, "source", request.path_params["id"])
            if "supplier_reference_id" in fields:
                logic.unique_srid(store, "source", body.supplier_reference_id, except_id=source["id"])
            for name in fields:
                value = getattr(body, name)
                source[name] = value.isoformat() if name == "published_at" else value
            return render(store, "source", store.put("source", source))

    async def delete_source(request: Request) -> Any:
        with store.lock:
            source_id = request.path_params["id"]
            need(store, "source", source_id)
            if any(source_id in d["source_ids"] for d in store.all("datapoint")):
                raise invalid([], f"source {source_id} is cited by datapoints; remove it from them first")
            store.delete("source", source_id)

    async def upload(request: Request) -> Response:
        data = await request.body()
        try:
            with store.lock:
                logic.receive_upload(
                    store,
                    request.path_params["token"],
                    data,
                    request.headers.get("content-type"),
                    request.headers.get("content-length"),
                    "chunked" in request.headers.get("transfer-encoding", ""),
                )
        except Problem as exc:
            return JSONResponse({"detail": exc.detail}, status_code=exc.status)
        return Response(status_code=200)

    # -- datapoints, feedstock types -----------------------------------------------------------------------
    async def create_datapoint(request: Request) -> Any:
        body, _ = await _body(request, s.CreateDatapoint)
        with store.lock:
            return render(store, "datapoint", logic.create_datapoint(store, body))

    async def patch_datapoint(request: Request) -> Any:
        body, fields = await _body(request, s.PatchDatapoint)
        with store.lock:
            return render(store, "datapoint", logic.patch_datapoint(store, request.path_params["id"], body, fields))

    async def delete_datapoint(request: Request) -> Any:
        with store.lock:
            dp = need(store, "datapoint", request.path_params["id"])
            locked = render(store, "datapoint", dp)["locked_status"] != "not_locked"
            if locked or logic.datapoint_in_use(store, dp["id"]):
                raise invalid([], f"datapoint {dp['id']} is locked or used by a component and cannot be deleted")
            store.delete("datapoint", dp["id"])

    async def add_feedstock_type(request: Request) -> Any:
        """The sandbox's stand-in for the Certify UI, where feedstock types are created (the API has no
        `POST /feedstock_types`): `POST /_sandbox/feedstock_types` with `{"name", "supplier_reference_id"?}`."""
        body, _ = await _body(request, s.CreateFeedstockType)
        with store.lock:
            return logic.add_feedstock_type(store, body.name, body.supplier_reference_id)

    async def patch_feedstock_type(request: Request) -> Any:
        body, fields = await _body(request, s.PatchFeedstockType)
        with store.lock:
            item = need(store, "feedstock_type", request.path_params["id"])
            if "supplier_reference_id" in fields:
                logic.unique_srid(store, "feedstock_type", body.supplier_reference_id, except_id=item["id"])
            for name in fields:
                item[name] = getattr(body, name)
            return store.put("feedstock_type", item)

    async def delete_feedstock_type(request: Request) -> Any:
        with store.lock:
            item = need(store, "feedstock_type", request.path_params["id"])
            if any(e.get("feedstock_type_id") == item["id"] for e in store.all("ghg_entry")):
                raise invalid([], "the feedstock type is used by GHG entries")
            store.delete("feedstock_type", item["id"])

    # -- GHG entries, components, attributions -------------------------------------------------------------
    async def create_entry(request: Request) -> Any:
        if request.url.path.endswith("/removals"):  # the deprecated names (CreateRemovalRequest)
            removal, _ = await _body(request, s.CreateRemoval)
            if removal.removal_template_id is None:  # optional there, for processes the sandbox does not have
                raise invalid(["removal_template_id"], "a removal template is required (the sandbox has no processes)")
            body = removal.as_ghg_entry()
        else:
            body, _ = await _body(request, s.CreateGhgEntry)
        with store.lock:
            return render(store, "ghg_entry", logic.create_ghg_entry(store, body))

    async def patch_entry(request: Request) -> Any:
        # the deprecated PatchRemovalRequest still has nullable dates, add_components and delete_component_ids
        schema = s.PatchRemoval if "/removals/" in request.url.path else s.PatchGhgEntry
        body, fields = await _body(request, schema)
        with store.lock:
            return render(store, "ghg_entry", logic.patch_ghg_entry(store, request.path_params["id"], body, fields))

    async def delete_entry(request: Request) -> Any:
        with store.lock:
            logic.delete_ghg_entry(store, request.path_params["id"])

    async def list_attributions(request: Request) -> Any:
        query = _params(s.Query, request.query_params, "query")
        with store.lock:
            entry = need(store, "ghg_entry", request.path_params["id"])
            items = store.referring("component_attribution", "ghg_entry_id", entry["id"])
            return paginate(store, items, **_page_args(query))

    async def patch_attributions(request: Request) -> Any:
        body, fields = await _body(request, s.PatchAttributions)
        with store.lock:
            return logic.patch_attributions(
                store,
                request.path_params["id"],
                body.components_to_add if "components_to_add" in fields else [],
                body.components_to_remove if "components_to_remove" in fields else [],
            )

    async def create_component(request: Request) -> Any:
        body, _ = await _body(request, s.CreateComponent)
        with store.lock:
            return render(store, "component", logic.create_component(store, body))

    async def patch_component(request: Request) -> Any:
        body, fields = await _body(request, s.PatchComponent)
        with store.lock:
            return render(store, "component", logic.patch_component(store, request.path_params["id"], body, fields))

    async def delete_component(request: Request) -> Any:
        with store.lock:
            logic.delete_component(store, request.path_params["id"])

    # -- statements ------------------------------------------------------------------------------------
    async def create_statement(request: Request) -> Any:
        body, _ = await _body(request, s.CreateGhgStatement)
        with store.lock:
            return render(store, "ghg_statement", logic.create_statement(store, body))

    async def submit_statement(request: Request) -> Any:
        body, _ = await _body(request, s.SubmitGhgStatement)
        with store.lock:
            return render(store, "ghg_statement", logic.submit_statement(store, request.path_params["id"], body))

    # -- admin -----------------------------------------------------------------------------------------
    async def faults(request: Request) -> Response:
        injector = sandbox.injector
        assert injector is not None
        if request.method == "PUT":
            injector.set(FaultConfig.from_json(json.loads(await request.body() or b"{}")))
        return JSONResponse(injector.config.to_json())

    async def stats(request: Request) -> Response:
        injector = sandbox.injector
        counts: dict[str, int] = {}
        for _method, _path, status in list(store.request_log):
            counts[str(status)] = counts.get(str(status), 0) + 1
        return JSONResponse(
            {
                "requests": len(store.request_log),
                "by_status": counts,
                "faults": dict(injector.stats) if injector else {},
            }
        )

    def both(path: str, old: str, handler: Handler, methods: list[str]) -> list[Route]:
        return [Route(PREFIX + path, handler, methods=methods), Route(PREFIX + old, handler, methods=methods)]

    routes = [
        Route(PREFIX + "/projects", api(list_projects, path=None), methods=["GET"]),
        *both(
            "/projects/{project_id}/ghg_entry_templates",
            "/projects/{project_id}/removal_templates",
            api(list_templates, path=s.ProjectPath),
            ["GET"],
        ),
        *both(
            "/projects/{project_id}/ghg_entry_templates/{id}",
            "/projects/{project_id}/removal_templates/{id}",
            api(get_template, path=s.TemplatePath),
            ["GET"],
        ),
        Route(PREFIX + "/component_blueprints", api(list_blueprints, path=None), methods=["GET"]),
        Route(PREFIX + "/component_blueprints/{key}", api(get_blueprint, path=None), methods=["GET"]),
        Route(PREFIX + "/sources", listing("source", s.SourceQuery, in_project), methods=["GET"]),
        Route(PREFIX + "/sources", api(create_source, path=None), methods=["POST"]),
        Route(PREFIX + "/sources/{id}", getter("source"), methods=["GET"]),
        Route(PREFIX + "/sources/{id}", api(patch_source), methods=["PATCH"]),
        Route(PREFIX + "/sources/{id}", api(delete_source, status=204), methods=["DELETE"]),
        Route(PREFIX + "/sources/{id}/signed_upload_url", api(new_upload_url), methods=["POST"]),
        Route(PREFIX + "/datapoints", listing("datapoint", s.DatapointQuery, datapoint_filter), methods=["GET"]),
        Route(PREFIX + "/datapoints", api(create_datapoint, path=None), methods=["POST"]),
        Route(PREFIX + "/datapoints/{id}", getter("datapoint"), methods=["GET"]),
        Route(PREFIX + "/datapoints/{id}", api(patch_datapoint), methods=["PATCH"]),
        Route(PREFIX + "/datapoints/{id}", api(delete_datapoint, status=204), methods=["DELETE"]),
        Route(PREFIX + "/feedstock_types", listing("feedstock_type"), methods=["GET"]),
        Route(PREFIX + "/feedstock_types/{id}", getter("feedstock_type"), methods=["GET"]),
        Route(PREFIX + "/feedstock_types/{id}", api(patch_feedstock_type), methods=["PATCH"]),
        Route(PREFIX + "/feedstock_types/{id}", api(delete_feedstock_type, status=204), methods=["DELETE"]),
        *both("/ghg_entries", "/removals", listing("ghg_entry"), ["GET"]),
        *both("/ghg_entries", "/removals", api(create_entry, path=None), ["POST"]),
        *both("/ghg_entries/{id}", "/removals/{id}", getter("ghg_entry"), ["GET"]),
        *both("/ghg_entries/{id}", "/removals/{id}", api(patch_entry), ["PATCH"]),
        *both("/ghg_entries/{id}", "/removals/{id}", api(delete_entry, status=204), ["DELETE"]),
        *both(
            "/ghg_entries/{id}/component_attributions",
            "/removals/{id}/component_attributions",
            api(list_attributions),
            ["GET"],
        ),
        *both(
            "/ghg_entries/{id}/component_attributions",
            "/removals/{id}/component_attributions",
            api(patch_attributions),
            ["PATCH"],
        ),
        Route(PREFIX + "/components", listing("component", s.ComponentQuery, component_filter), methods=["GET"]),
        Route(PREFIX + "/components", api(create_component, path=None), methods=["POST"]),
        Route(PREFIX + "/components/{id}", getter("component"), methods=["GET"]),
        Route(PREFIX + "/components/{id}", api(patch_component), methods=["PATCH"]),
        Route(PREFIX + "/components/{id}", api(delete_component, status=204), methods=["DELETE"]),
        Route(PREFIX + "/ghg_statements", listing("ghg_statement", s.StatementQuery, in_project), methods=["GET"]),
        Route(PREFIX + "/ghg_statements", api(create_statement, path=None), methods=["POST"]),
        Route(PREFIX + "/ghg_statements/{id}", getter("ghg_statement"), methods=["GET"]),
        Route(PREFIX + "/ghg_statements/{id}/submit", api(submit_statement), methods=["POST"]),
        Route("/_storage/upload/{token}", upload, methods=["PUT"]),
        Route("/_sandbox/faults", faults, methods=["GET", "PUT"]),
        Route("/_sandbox/stats", stats, methods=["GET"]),
        Route("/_sandbox/feedstock_types", api(add_feedstock_type, path=None, status=201), methods=["POST"]),
    ]
    kit = Kit(store=store, prefix=PREFIX, api=api, body=_body, params=_params)
    # resources served from their own module (`routes(kit)`), found in the package: a new one is a module
    routes += [route for resource in discover() for route in resource.routes(kit)]

    async def not_found(request: Request, exc: Exception) -> Response:
        return JSONResponse({"detail": "Not Found"}, status_code=404)

    async def not_allowed(request: Request, exc: Exception) -> Response:
        return JSONResponse({"detail": "Method Not Allowed"}, status_code=405)

    app = Starlette(routes=routes, exception_handlers={404: not_found, 405: not_allowed})
    injector = FaultInjector(app, sandbox.faults)
    sandbox.injector = injector

    async def logged(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await injector(scope, receive, send)
            return
        status = {"code": 0}

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await injector(scope, receive, capture)
        finally:
            if not scope["path"].startswith("/_sandbox"):
                with store.lock:
                    store.request_log.append((scope["method"], scope["path"], status["code"]))

    return logged
