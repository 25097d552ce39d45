"""The Isometric Certify API client: one thread-safe object over a pooled httpx client.

What it guarantees:
- Credentials go in headers only and are registered for redaction; no exception or log line shows them.
- Transient failures (408, 425, 429, 500, 502, 503, 504, connection errors, timeouts) are retried with
  exponential backoff and jitter (tenacity), honouring `Retry-After` (capped). A 429 pauses every thread of
  the client until its Retry-After has passed, so concurrency is paced rather than retried blindly.
- A retried create never makes a second object: before re-sending a POST (its response may have been lost
  after the server acted), the object is looked up by its `supplier_reference_id`; a create the API refuses
  as a duplicate is answered with the existing object. Statements (no supplier_reference_id) are looked up
  by project and end date; attribution PATCHes and submissions re-read the current state before a re-send.
- Evidence files go only over HTTPS to allowlisted storage hosts (or loopback for the local sandbox), with an
  exact Content-Length and no redirects.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import tenacity

from importer.api import endpoints as ep
from importer.api import models as m
from importer.api.errors import (
    ApiError,
    Conflict,
    InsecureApiUrl,
    NotFound,
    ServerError,
    Unreachable,
    UnsafeUploadUrl,
    UploadUrlExpired,
    ValidationFailed,
    error_for,
)
from importer.api.safety import DEFAULT_UPLOAD_HOSTS, api_url_problem, is_loopback_url, upload_url_problem
from importer.redaction import redact, register_secret

RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
T = TypeVar("T")


@dataclass(frozen=True)
class ClientConfig:
    base_url: str
    client_secret: str
    access_token: str
    timeout: float = 30.0
    max_attempts: int = 6
    backoff_initial: float = 0.5
    backoff_max: float = 8.0
    retry_after_cap: float = 30.0
    upload_hosts: tuple[str, ...] = DEFAULT_UPLOAD_HOSTS
    upload_timeout: float = 300.0

    def __repr__(self) -> str:  # never show the credentials
        return f"ClientConfig(base_url={self.base_url!r}, timeout={self.timeout}, max_attempts={self.max_attempts})"


class _Transient(Exception):
    """One attempt failed in a way worth retrying."""

    def __init__(self, error: ApiError, retry_after: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def _detail(response: httpx.Response) -> Any:
    try:
        body = response.json()
    except ValueError:
        return response.text[:500]
    return body.get("detail", body) if isinstance(body, dict) else body


def _is_duplicate(exc: ApiError) -> bool:
    """The API refused a create because the supplier_reference_id is taken."""
    if isinstance(exc, Conflict):
        return True
    if isinstance(exc, ValidationFailed):
        text = " ".join(exc.lines()).lower()
        return "supplier_reference_id" in text and ("exist" in text or "unique" in text or "already" in text)
    return False


class IsometricClient:
    def __init__(self, config: ClientConfig, *, transport: httpx.BaseTransport | None = None) -> None:
        problem = api_url_problem(config.base_url)
        if problem:
            raise InsecureApiUrl(problem)
        register_secret(config.client_secret)
        register_secret(config.access_token)
        self.config = config
        self._api_is_loopback = is_loopback_url(config.base_url)
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=32)
        self._http = httpx.Client(
            base_url=config.base_url.rstrip("/"), transport=transport, limits=limits, follow_redirects=False,
            timeout=httpx.Timeout(config.timeout), verify=True,
            headers={ep.HEADER_CLIENT_SECRET: config.client_secret,
                     ep.HEADER_AUTHORIZATION: f"Bearer {config.access_token}", "Accept": "application/json"},
        )
        # uploads go to storage: no API credentials on that client
        self._storage = httpx.Client(transport=transport, limits=limits, follow_redirects=False, verify=True,
                                     timeout=httpx.Timeout(config.upload_timeout, connect=config.timeout))
        self._lock = threading.Lock()
        self._not_before = 0.0
        self.request_count = 0

    # -- plumbing -----------------------------------------------------------------------------------
    def close(self) -> None:
        self._http.close()
        self._storage.close()

    def __enter__(self) -> IsometricClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"IsometricClient({self.config.base_url!r})"

    def _pause(self) -> None:
        while True:
            with self._lock:
                delay = self._not_before - time.monotonic()
            if delay <= 0:
                return
            time.sleep(min(delay, 1.0))

    def _hold_all(self, seconds: float) -> None:
        with self._lock:
            self._not_before = max(self._not_before, time.monotonic() + seconds)

    def _wait(self, state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Transient) and exc.retry_after is not None:
            return min(exc.retry_after, self.config.retry_after_cap)
        backoff = tenacity.wait_exponential_jitter(multiplier=self.config.backoff_initial, max=self.config.backoff_max,
                                                   jitter=self.config.backoff_initial)
        return backoff(state)

    def _retrying(self) -> tenacity.Retrying:
        return tenacity.Retrying(
            stop=tenacity.stop_after_attempt(max(1, self.config.max_attempts)), wait=self._wait,
            retry=tenacity.retry_if_exception_type(_Transient), reraise=True,
        )

    def _once(self, http: httpx.Client, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One attempt; transient failures raise _Transient, other errors their ApiError."""
        self._pause()
        with self._lock:
            self.request_count += 1
        shown = redact(str(http.base_url.join(url)) if http is self._http else url.split("?")[0])
        try:
            response = http.request(method, url, **kwargs)
        except httpx.TimeoutException as exc:
            raise _Transient(Unreachable(f"timed out ({type(exc).__name__})", method=method, url=shown)) from None
        except httpx.TransportError as exc:
            raise _Transient(Unreachable(f"connection failed ({type(exc).__name__}: {redact(str(exc))})",
                                         method=method, url=shown)) from None
        if response.status_code in RETRY_STATUSES:
            retry_after = _retry_after(response)
            if response.status_code == 429:
                self._hold_all(min(retry_after if retry_after is not None else self.config.backoff_initial,
                                   self.config.retry_after_cap))
            raise _Transient(error_for(response.status_code, _detail(response), method=method, url=shown),
                             retry_after)
        if response.status_code >= 300:
            raise error_for(response.status_code, _detail(response), method=method, url=shown)
        return response

    def _request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                 json: Any = None, before_retry: Callable[[], Any] | None = None) -> Any:
        """A request with retries. `before_retry` runs before every re-send and may return a result that makes
        the re-send unnecessary (the write already happened)."""
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            for attempt in self._retrying():
                with attempt:
                    if attempt.retry_state.attempt_number > 1 and before_retry is not None:
                        found = before_retry()
                        if found is not None:
                            return found
                    response = self._once(self._http, method, path, params=clean or None, json=json)
                    return None if response.status_code == 204 or not response.content else response.json()
        except _Transient as exc:
            raise exc.error from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _paginate(self, path: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        nodes: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            page = self._request("GET", path, params={**(params or {}), "first": ep.PAGE_SIZE, "after": cursor})
            nodes += page.get("nodes", [])
            info = page.get("page_info") or {}
            if not info.get("has_next_page") or not info.get("end_cursor"):
                return nodes
            cursor = info["end_cursor"]

    def _create(self, kind: str, body: dict[str, Any], find: Callable[[], Any | None]) -> dict[str, Any] | Any:
        """POST a create; before any re-send, and when the API says it already exists, look it up instead."""
        try:
            return self._request("POST", ep.COLLECTIONS[kind], json=body, before_retry=find)
        except ApiError as exc:
            if _is_duplicate(exc):
                found = find()
                if found is not None:
                    return found
            raise

    # -- reads --------------------------------------------------------------------------------------
    def list_projects(self) -> list[m.Project]:
        return [m.Project.model_validate(n) for n in self._paginate(ep.PROJECTS)]

    def list_ghg_entry_templates(self, project_id: str) -> list[m.GhgEntryTemplate]:
        path = ep.GHG_ENTRY_TEMPLATES.format(project_id=project_id)
        return [m.GhgEntryTemplate.model_validate(n) for n in self._paginate(path)]

    def list_component_blueprints(self) -> list[m.ComponentBlueprint]:
        return [m.ComponentBlueprint.model_validate(n) for n in self._paginate(ep.COMPONENT_BLUEPRINTS)]

    def list_sources(self, *, project_id: str | None = None,
                     supplier_reference_id: str | None = None) -> list[m.Source]:
        params = {"project_id": project_id, "supplier_reference_id": supplier_reference_id}
        return [m.Source.model_validate(n) for n in self._paginate(ep.COLLECTIONS["source"], params)]

    def list_datapoints(self, *, project_id: str | None = None,
                        supplier_reference_id: str | None = None) -> list[m.Datapoint]:
        params = {"project_id": project_id, "supplier_reference_id": supplier_reference_id}
        return [m.Datapoint.model_validate(n) for n in self._paginate(ep.COLLECTIONS["datapoint"], params)]

    def list_feedstock_types(self, *, supplier_reference_id: str | None = None) -> list[m.FeedstockType]:
        params = {"supplier_reference_id": supplier_reference_id}
        return [m.FeedstockType.model_validate(n) for n in self._paginate(ep.COLLECTIONS["feedstock_type"], params)]

    def list_ghg_entries(self, *, supplier_reference_id: str | None = None) -> list[m.GhgEntry]:
        params = {"supplier_reference_id": supplier_reference_id}
        return [m.GhgEntry.model_validate(n) for n in self._paginate(ep.COLLECTIONS["ghg_entry"], params)]

    def list_components(self, *, project_id: str | None = None, ghg_entry_id: str | None = None,
                        supplier_reference_id: str | None = None) -> list[m.Component]:
        params = {"project_id": project_id, "ghg_entry_id": ghg_entry_id,
                  "supplier_reference_id": supplier_reference_id}
        return [m.Component.model_validate(n) for n in self._paginate(ep.COLLECTIONS["component"], params)]

    def list_component_attributions(self, ghg_entry_id: str) -> list[m.ComponentAttribution]:
        path = ep.GHG_ENTRY_ATTRIBUTIONS.format(id=ghg_entry_id)
        return [m.ComponentAttribution.model_validate(n) for n in self._paginate(path)]

    def list_ghg_statements(self) -> list[m.GhgStatement]:
        return [m.GhgStatement.model_validate(n) for n in self._paginate(ep.COLLECTIONS["ghg_statement"])]

    def _get(self, kind: str, id_: str) -> dict[str, Any]:
        return self._request("GET", ep.item(kind, id_))

    def get_source(self, id_: str) -> m.Source:
        return m.Source.model_validate(self._get("source", id_))

    def get_datapoint(self, id_: str) -> m.Datapoint:
        return m.Datapoint.model_validate(self._get("datapoint", id_))

    def get_feedstock_type(self, id_: str) -> m.FeedstockType:
        return m.FeedstockType.model_validate(self._get("feedstock_type", id_))

    def get_ghg_entry(self, id_: str) -> m.GhgEntry:
        return m.GhgEntry.model_validate(self._get("ghg_entry", id_))

    def get_component(self, id_: str) -> m.Component:
        return m.Component.model_validate(self._get("component", id_))

    def get_ghg_statement(self, id_: str) -> m.GhgStatement:
        return m.GhgStatement.model_validate(self._get("ghg_statement", id_))

    # -- writes -------------------------------------------------------------------------------------
    def _first(self, items: list[T]) -> T | None:
        return items[0] if items else None

    def create_source(self, req: m.CreateSourceRequest) -> m.CreateSourceResponse:
        def find() -> dict[str, Any] | None:
            found = self._first(self.list_sources(supplier_reference_id=req.supplier_reference_id))
            return {"source": found.model_dump(by_alias=True), "signed_upload_url": None} if found else None

        return m.CreateSourceResponse.model_validate(self._create("source", req.body(), find))

    def new_signed_upload_url(self, source_id: str, *, content_length: int, content_type: str) -> str:
        body = {"content_length": content_length, "content_type": content_type}
        return str(self._request("POST", ep.SIGNED_UPLOAD_URL.format(id=source_id), json=body))

    def upload_to_signed_url(self, url: str, data: bytes, content_type: str) -> None:
        problem = upload_url_problem(url, allowed_hosts=self.config.upload_hosts,
                                     api_is_loopback=self._api_is_loopback)
        if problem:
            raise UnsafeUploadUrl(problem, method="PUT", url=url.split("?")[0])
        headers = {"Content-Type": content_type, "Content-Length": str(len(data))}
        try:
            for attempt in self._retrying():
                with attempt:
                    try:
                        self._once(self._storage, "PUT", url, content=data, headers=headers)
                    except ApiError as exc:
                        if exc.status in (403, 410) or (exc.status == 400 and "expire" in exc.message.lower()):
                            raise UploadUrlExpired(exc.message, status=exc.status, method="PUT",
                                                   url=url.split("?")[0]) from None
                        if exc.status is not None and 300 <= exc.status < 400:
                            raise UnsafeUploadUrl("the storage answered with a redirect, which is not followed",
                                                  status=exc.status, method="PUT", url=url.split("?")[0]) from None
                        raise
        except _Transient as exc:
            raise exc.error from None

    def create_datapoint(self, req: m.CreateDatapointRequest) -> m.Datapoint:
        def find() -> dict[str, Any] | None:
            found = self._first(self.list_datapoints(supplier_reference_id=req.supplier_reference_id))
            return found.model_dump(by_alias=True) if found else None

        return m.Datapoint.model_validate(self._create("datapoint", req.body(), find))

    def patch_datapoint(self, id_: str, req: m.PatchDatapointRequest) -> m.Datapoint:
        return m.Datapoint.model_validate(self._request("PATCH", ep.item("datapoint", id_), json=req.body()))

    def patch_source(self, id_: str, body: dict[str, Any]) -> m.Source:
        return m.Source.model_validate(self._request("PATCH", ep.item("source", id_), json=body))

    def create_feedstock_type(self, req: m.CreateFeedstockTypeRequest) -> m.FeedstockType:
        def find() -> dict[str, Any] | None:
            found = self._first(self.list_feedstock_types(supplier_reference_id=req.supplier_reference_id))
            return found.model_dump(by_alias=True) if found else None

        return m.FeedstockType.model_validate(self._create("feedstock_type", req.body(), find))

    def patch_feedstock_type(self, id_: str, body: dict[str, Any]) -> m.FeedstockType:
        return m.FeedstockType.model_validate(self._request("PATCH", ep.item("feedstock_type", id_), json=body))

    def create_ghg_entry(self, req: m.CreateGhgEntryRequest) -> m.GhgEntry:
        def find() -> dict[str, Any] | None:
            found = self._first(self.list_ghg_entries(supplier_reference_id=req.supplier_reference_id))
            return found.model_dump(by_alias=True) if found else None

        return m.GhgEntry.model_validate(self._create("ghg_entry", req.body(), find))

    def patch_ghg_entry(self, id_: str, body: dict[str, Any]) -> m.GhgEntry:
        return m.GhgEntry.model_validate(self._request("PATCH", ep.item("ghg_entry", id_), json=body))

    def create_component(self, req: m.CreateComponentRequest) -> m.Component:
        def find() -> dict[str, Any] | None:
            found = self._first(self.list_components(supplier_reference_id=req.supplier_reference_id))
            return found.model_dump(by_alias=True) if found else None

        return m.Component.model_validate(self._create("component", req.body(), find))

    def patch_component(self, id_: str, body: dict[str, Any]) -> m.Component:
        return m.Component.model_validate(self._request("PATCH", ep.item("component", id_), json=body))

    def patch_component_attributions(self, ghg_entry_id: str, req: m.PatchComponentAttributionsRequest) -> m.GhgEntry:
        path = ep.GHG_ENTRY_ATTRIBUTIONS.format(id=ghg_entry_id)
        body = req.body()

        def remaining() -> dict[str, Any] | None:
            """Drop what an earlier, lost attempt already did; None means something is left to send."""
            current = {a.component_id: a for a in self.list_component_attributions(ghg_entry_id)}
            body["components_to_add"] = [c for c in body.get("components_to_add") or []
                                         if c["component_id"] not in current]
            body["components_to_remove"] = [c for c in body.get("components_to_remove") or [] if c in current]
            if not body["components_to_add"] and not body["components_to_remove"]:
                return self._get("ghg_entry", ghg_entry_id)
            return None

        return m.GhgEntry.model_validate(self._request("PATCH", path, json=body, before_retry=remaining))

    def create_ghg_statement(self, req: m.CreateGhgStatementRequest) -> m.GhgStatement:
        def find() -> dict[str, Any] | None:
            for statement in self.list_ghg_statements():
                if statement.project_id == req.project_id and statement.reporting_period_end_at == req.end_on:
                    return statement.model_dump(by_alias=True)
            return None

        return m.GhgStatement.model_validate(self._create("ghg_statement", req.body(), find))

    def submit_ghg_statement(self, id_: str, req: m.SubmitGhgStatementRequest) -> m.GhgStatement:
        def already() -> dict[str, Any] | None:
            statement = self.get_ghg_statement(id_)
            return statement.model_dump(by_alias=True) if statement.status != "DRAFT" else None

        path = ep.GHG_STATEMENT_SUBMIT.format(id=id_)
        return m.GhgStatement.model_validate(self._request("POST", path, json=req.body(), before_retry=already))

    def delete(self, kind: str, id_: str) -> None:
        self._request("DELETE", ep.item(kind, id_))


__all__ = ["ClientConfig", "IsometricClient", "NotFound", "ServerError"]
