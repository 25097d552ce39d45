"""The Isometric Certify API client: one thread-safe object over a pooled httpx client.

What it guarantees:
- Credentials go in headers only and are registered for redaction; no exception or log line shows them.
- Transient failures (408, 425, 429, 500, 502, 503, 504, connection errors, timeouts) are retried with
  exponential backoff and jitter (tenacity), honouring `Retry-After` (capped).
- Under a rate budget, requests are paced rather than retried blindly: per route (method and path template)
  and for all API requests together. RateLimit-Policy / RateLimit headers (IETF draft), when the server sends
  them, give the rate (quota per window) and say when a spent window resets; without them the rate is learned
  from 429s (just under what drew one, then probed up slowly), and the first 429 before anything is known
  pauses every thread of the client until its Retry-After has passed. `settled_rates` and `rate_source` say
  what the client keeps to.
- A retried create never makes a second object: before re-sending a POST (its response may have been lost
  after the server acted), the object is looked up by its `supplier_reference_id`; a create the API refuses
  as a duplicate is answered with the existing object. Statements (no supplier_reference_id) are looked up
  by project and end date; attribution PATCHes and submissions re-read the current state before a re-send.
- Evidence files go only over HTTPS to allowlisted storage hosts (or loopback for the local sandbox), with an
  exact Content-Length and no redirects (`ISOMETRIC_UPLOAD_HOSTS` replaces the default list, see safety.py).
- Failing safely: the API's first 401/403 raises CredentialsRefused and the client sends nothing more (every
  later call raises it at once). `cancel()` (or the `cancel` event given to the constructor) ends every retry
  wait at once and starts no new request (Cancelled); `in_flight()` says what is still on the wire.
"""

from __future__ import annotations

import base64
import bisect
import collections
import datetime as dt
import email.utils
import itertools
import math
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeAlias, TypeVar

import httpx
import pydantic
import tenacity

from importer.api import endpoints as ep
from importer.api import models as m
from importer.api.errors import (
    ApiError,
    Cancelled,
    Conflict,
    CredentialsRefused,
    EndlessListing,
    InsecureApiUrl,
    NotEnabled,
    NotFound,
    ServerError,
    Unreachable,
    UnreadableAnswer,
    UnsafeUploadUrl,
    UnusableCredentials,
    UploadNotConfirmed,
    UploadUrlExpired,
    ValidationFailed,
    credentials_refused,
    error_for,
)
from importer.api.safety import (
    ExchangeCancelled,
    api_url_problem,
    arm_deadlines,
    configured_upload_hosts,
    credential_problem,
    exchange,
    is_loopback_url,
    upload_url_problem,
)
from importer.json_types import JSONObject, JSONValue
from importer.redaction import redact, register_secret

#: httpx clients the API's requests are spread over (see IsometricClient.__init__)
API_POOLS = 4
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
#: answers that say the server did not act on the request (so a re-send cannot duplicate anything)
NOT_APPLIED_STATUSES = frozenset({408, 425, 429})
#: transport failures raised before a single byte of the request left this machine
NOT_SENT_ERRORS: tuple[type[Exception], ...] = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
#: a listing may take this many pages more than its total_count needs (objects created while it is read)
PAGE_SLACK = 3
#: pages read when the server gives no total_count at all (500,000 objects at 50 a page)
MAX_PAGES_WITHOUT_TOTAL = 10_000
#: response headers that carry the server's id of a request, first found wins
REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-correlation-id", "x-amzn-requestid", "x-cloud-trace-context")
#: an upload's whole exchange may take `upload_timeout` plus this many seconds per byte (10 s per MB)
UPLOAD_SECONDS_PER_BYTE = 10 / 1_000_000
T = TypeVar("T")
M = TypeVar("M", bound=m.Response)
#: what `list_since` lists
Listable: TypeAlias = (
    m.Datapoint
    | m.Component
    | m.GhgEntry
    | m.ProductionBatch
    | m.BiocharApplication
    | m.MeasurementLocation
    | m.MeasurementSample
    | m.StorageLocation
)
#: a request's query parameters (None: left out)
Params: TypeAlias = Mapping[str, str | int | None]


@dataclass(frozen=True)
class Listed:
    """A listing read from a cursor: its items, the server's total_count for the whole listing (None when the
    server gave none) and the cursor of the last item read (to continue from next time)."""

    items: list[Listable]
    total_count: int | None
    end_cursor: str | None


@dataclass(frozen=True)
class ClientConfig:
    base_url: str
    client_secret: str = field(repr=False)
    access_token: str = field(repr=False)
    timeout: float = 30.0
    max_attempts: int = 6
    backoff_initial: float = 0.5
    backoff_max: float = 8.0
    retry_after_cap: float = 30.0
    #: signed-upload hosts; default: ISOMETRIC_UPLOAD_HOSTS when set, else safety.DEFAULT_UPLOAD_HOSTS
    upload_hosts: tuple[str, ...] = field(default_factory=configured_upload_hosts)
    upload_timeout: float = 300.0
    max_rate_limited_attempts: int = 20  # attempts of a request answered 429 (each one waits its Retry-After)
    #: requests per second the client never exceeds, all API requests together: a budget the analyst knows (the
    #: document states none; Isometric's public integration notes about 120 a minute). None: learned, or told by
    #: RateLimit headers. A server that limits lower still draws 429s, and is learned below it as without one.
    max_rate: float | None = None

    def __repr__(self) -> str:  # never show the credentials
        return f"ClientConfig(base_url={self.base_url!r}, timeout={self.timeout}, max_attempts={self.max_attempts})"


class _Transient(Exception):
    """One attempt failed in a way worth retrying. `may_have_applied` is False only when the server certainly
    did not act on it (never sent, or refused as 408/425/429): then a re-send needs no look-up first."""

    def __init__(self, error: ApiError, retry_after: float | None = None, *, may_have_applied: bool = True) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after
        self.may_have_applied = may_have_applied


def _retry_after(response: httpx.Response) -> float | None:
    """The answer's Retry-After in seconds from now (seconds or an HTTP date; 0 for a date in the past), or None
    when absent or unreadable. The caller clamps it (see IsometricClient._wait)."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
        return max(0.0, seconds) if math.isfinite(seconds) else (None if math.isnan(seconds) else math.inf)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:  # "-0000" dates parse naive; HTTP dates are UTC
            when = when.replace(tzinfo=dt.UTC)
        return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def _detail(response: httpx.Response) -> JSONValue:
    """The API's `detail`, or the start of a body that is not JSON (an HTML error page, say): redacted *before* it
    is cut, so a secret the page echoes is masked whole rather than cut to a fragment that no longer matches."""
    try:
        body: JSONValue = response.json()
    except ValueError:
        return redact(response.text[:20_000])[:500]
    return body.get("detail", body) if isinstance(body, dict) else body


def _request_id(response: httpx.Response) -> str | None:
    for name in REQUEST_ID_HEADERS:
        value = response.headers.get(name)
        if value:
            return redact(value.strip())[:100]
    return None


def _unreadable(response: httpx.Response, method: str, shown: str, why: str) -> UnreadableAnswer:
    """A 2xx whose body could not be read (`why`): the server's fault, said with what identifies the request."""
    request_id = _request_id(response)
    said = f"; request id {request_id}" if request_id else ""
    return UnreadableAnswer(
        f"the server's answer could not be read ({why}; HTTP {response.status_code} to {method} "
        f"{shown}{said}): the server or something between it and this machine is misbehaving",
        status=response.status_code,
        method=method,
        url=shown,
        request_id=request_id,
    )


def _field_of(found: Mapping[str, object] | m.Response, name: str) -> object:
    """A field of a found object: a body's key, or a model's attribute (models of every kind come here, and not
    every kind has a project_id: None when it has not)."""
    return found.get(name) if isinstance(found, Mapping) else getattr(found, name, None)


def _same_object(
    found: Mapping[str, object] | m.Response, supplier_reference_id: str | None, project_id: str | None
) -> bool:
    """Whether an object (a model or a dict) a look-up found is the one asked for: its supplier_reference_id equal,
    and its project_id too when it has one and one was asked for. A server or proxy that ignores the
    `?supplier_reference_id=` filter lists others: never adopt one of those."""

    def get(name: str) -> object:
        return _field_of(found, name)

    if supplier_reference_id is None or get("supplier_reference_id") != supplier_reference_id:
        return False
    have = get("project_id")
    return project_id is None or have is None or have == project_id


#: kind -> the model of one object as a GET or PATCH of `<collection>/{id}` returns it
_ITEM_MODELS: dict[str, type[m.Response]] = {
    "source": m.Source,
    "datapoint": m.Datapoint,
    "feedstock_type": m.FeedstockType,
    "ghg_entry": m.GhgEntry,
    "component": m.Component,
    "ghg_statement": m.GhgStatement,
    "storage_location": m.StorageLocation,
    "production_batch": m.ProductionBatch,
    "biochar_application": m.BiocharApplication,
    "measurement_location": m.MeasurementLocation,
}
#: kind -> the model of a create's answer
_CREATED_MODELS: dict[str, type[m.Response]] = {
    **_ITEM_MODELS,
    "source": m.CreateSourceResponse,
    "measurement_sample": m.MeasurementSample,  # no GET by ID: only a create answers one sample
}


def _expected(method: str, path: str) -> Callable[[JSONValue], object] | None:
    """The check of an object's GET or PATCH answer (`<collection>/{id}`), else None."""
    if method not in ("GET", "PATCH"):
        return None
    collection, _, rest = path.rpartition("/")
    if not rest:
        return None
    for kind, known in ep.COLLECTIONS.items():
        if known == collection and kind in _ITEM_MODELS:
            return _ITEM_MODELS[kind].model_validate
    for resource in ep.RESOURCES.values():  # the resources kinds declare themselves
        if resource.collection == collection:
            return resource.model.model_validate
    return None


def _why_not(exc: ValueError) -> str:
    """Why a body was refused, in a few words (field and reason; never the values it held)."""
    if isinstance(exc, pydantic.ValidationError):
        found = exc.errors(include_input=False, include_url=False)
        if found:
            first = found[0]
            where = ".".join(str(p) for p in first.get("loc", ())) or "the body"
            more = f" and {len(found) - 1} more" if len(found) > 1 else ""
            return f"not what the operation returns: {where}: {first.get('msg', 'invalid')}{more}"
    return f"not what the operation returns: {str(exc)[:200]}"


@dataclass(frozen=True)
class _Page:
    """One page of a Relay listing, as read: its nodes, its total_count (None when not given), whether it says a
    next page follows, and its end_cursor."""

    nodes: list[JSONObject]
    total: int | None
    counted: bool  # the page has a total_count (null or not): else the last one given stands
    has_next: bool
    end_cursor: str | None


def _page(body: JSONValue) -> _Page:
    """A Relay page's shape: nodes a list of objects, page_info an object, total_count an integer (when given);
    ValueError when it is not one."""
    if not isinstance(body, dict):
        raise ValueError("a page is not a JSON object")
    nodes = body.get(ep.PAGE_NODES)
    if not isinstance(nodes, list) or not all(isinstance(n, dict) for n in nodes):
        raise ValueError(f"the page's {ep.PAGE_NODES} is not a list of objects")
    info = body.get(ep.PAGE_INFO)
    if info is not None and not isinstance(info, dict):
        raise ValueError(f"the page's {ep.PAGE_INFO} is not an object")
    total = body.get(ep.PAGE_TOTAL)
    if total is not None and (isinstance(total, bool) or not isinstance(total, int) or total < 0):
        raise ValueError(f"the page's {ep.PAGE_TOTAL} is not a count")
    cursor = (info or {}).get(ep.PAGE_END_CURSOR)
    if cursor is not None and not isinstance(cursor, str):
        raise ValueError(f"the page's {ep.PAGE_END_CURSOR} is not a string")
    objects = [n for n in nodes if isinstance(n, dict)]  # every one (checked above)
    return _Page(objects, total, ep.PAGE_TOTAL in body, bool((info or {}).get(ep.PAGE_HAS_NEXT)), cursor)


def _text(value: JSONValue) -> str | None:
    """A body's string (an ID, a reference), else None."""
    return value if isinstance(value, str) else None


def _target(kind: str, found: JSONObject | None) -> Mapping[str, object] | None:
    """The object a create's look-up found (a source's create answers with it under "source"), else None."""
    if found is None or kind != "source":
        return found
    source = found.get("source", found)
    return source if isinstance(source, dict) else None


def _items(value: JSONValue) -> list[JSONValue]:
    """A body's list (None or absent: empty)."""
    return value if isinstance(value, list) else []


def _component_id(value: JSONValue) -> JSONValue:
    """An attribution's component_id (the body's `components_to_add` holds objects that all have one)."""
    return value["component_id"] if isinstance(value, dict) else None


def _matching(items: list[M], supplier_reference_id: str | None, project_id: str | None = None) -> M | None:
    """The one listed object that is the one asked for (see _same_object), else None: never merely the first."""
    for found in items:
        if _same_object(found, supplier_reference_id, project_id):
            return found
    return None


def _is_duplicate(exc: ApiError) -> bool:
    """The API refused a create because the supplier_reference_id is taken."""
    if isinstance(exc, Conflict):
        return True
    if isinstance(exc, ValidationFailed):
        text = " ".join(exc.lines()).lower()
        return "supplier_reference_id" in text and ("exist" in text or "unique" in text or "already" in text)
    return False


def _storage_error(exc: ApiError, url: str) -> ApiError:
    """What a refused upload means: object storage speaks its own dialect, not the API's."""
    status = exc.status or 0
    said = exc.detail if isinstance(exc.detail, str) and exc.detail else exc.message  # no API-credential hint
    if 300 <= status < 400:
        return UnsafeUploadUrl(
            "the storage answered with a redirect, which is not followed", status=status, method="PUT", url=url
        )
    if status in (403, 410) or (status == 400 and "expire" in said.lower()):
        # S3 says 403 "Request has expired", GCS 400 "ExpiredToken"; a 403 for any other reason (a used or
        # revoked URL) has the same cure: a fresh signed URL
        return UploadUrlExpired(
            f"the storage refused the signed upload URL: {said}",
            status=status,
            detail=exc.detail,
            method="PUT",
            url=url,
        )
    return ApiError(
        f"the storage refused the upload: {said}", status=status or None, detail=exc.detail, method="PUT", url=url
    )


# -- pacing under a rate budget ---------------------------------------------------------------------------

#: a scope keeps to this share of the rate it learned from 429s, or of a RateLimit-Policy's quota per second:
#: just under it, so a fixed window's edge or a little jitter does not draw a 429
RATE_MARGIN = 0.98
#: a rate learned from 429s is raised by this share each quiet second, up to just under the rate that drew the 429
PROBE_STEP = 0.02
#: after this many seconds without a 429, that ceiling is probed higher by CEILING_STEP (a budget may be raised);
#: each probe that draws a 429 doubles the quiet time before the next one, up to CEILING_QUIET_MAX (a budget that
#: holds is not probed every few seconds: each probe past it costs a 429)
CEILING_QUIET = 5.0
CEILING_QUIET_MAX = 300.0
CEILING_STEP = 0.03
#: once a server sent RateLimit headers, a route's first request goes alone (its answer names the route's
#: policy) and the route's other requests wait for it, at most this long
FIRST_CONTACT_WAIT = 2.0
#: the scope of every API request together
ALL_REQUESTS = "all API requests"
#: the scope of the rate the client was told never to exceed (`ClientConfig.max_rate`)
STATED_RATE = "the stated rate"
#: a budget adopted from an earlier run (`IsometricClient.adopt_rates`) is first probed past after at most this
#: many seconds (a budget raised since is not held to the old pace for a run's first five minutes)
ADOPTED_QUIET_MAX = 30.0

_PATH_WORDS = frozenset(
    part
    for path in (
        ep.PROJECTS,
        ep.GHG_ENTRY_TEMPLATES,
        ep.COMPONENT_BLUEPRINTS,
        ep.SIGNED_UPLOAD_URL,
        ep.GHG_ENTRY_ATTRIBUTIONS,
        ep.GHG_STATEMENT_SUBMIT,
        *ep.COLLECTIONS.values(),
    )
    for part in path.split("/")
    if part and not part.startswith("{")
)


def route_key(method: str, path: str) -> str:
    """The route of a request as servers key a per-endpoint budget: the method and the path with its IDs
    collapsed ("POST /datapoints", "GET /datapoints/{id}"); the words are the client's own paths (endpoints.py)."""
    parts = [p for p in path.split("?")[0].split("/") if p]
    return f"{method} /" + "/".join(p if p in _PATH_WORDS else "{id}" for p in parts)


_SF_STRING = r'"(?:[^"\\]|\\.)*"'
_SF_TOKEN = r"[A-Za-z*][A-Za-z0-9_\-.:%*/!#$&'^`|~+]*"
_SF_VALUE = rf"{_SF_STRING}|:[A-Za-z0-9+/=]*:|\?[01]|-?[0-9]+(?:\.[0-9]+)?|{_SF_TOKEN}"
_SF_KEY = r"[a-z*][a-z0-9_\-.*]*"
_SF_ITEM = re.compile(rf"\s*({_SF_STRING}|{_SF_TOKEN})((?:\s*;\s*{_SF_KEY}(?:=(?:{_SF_VALUE}))?)*)\s*(?:,|$)")
_SF_PARAM = re.compile(rf"\s*;\s*({_SF_KEY})(?:=({_SF_VALUE}))?")


#: a structured field's bare item: boolean, string or token, byte sequence, integer or decimal (None: unreadable)
SFValue: TypeAlias = bool | str | bytes | int | float | None


def _sf_value(text: str | None) -> SFValue:
    if text is None or text == "?1":
        return True
    if text == "?0":
        return False
    if text.startswith('"'):
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    if text.startswith(":"):
        try:
            return base64.b64decode(text[1:-1], validate=True)
        except ValueError:
            return None
    try:
        return float(text) if "." in text else int(text)
    except ValueError:
        return text  # a token


def parse_ratelimit(value: str) -> list[tuple[str, dict[str, SFValue]]]:
    """A `RateLimit-Policy` or `RateLimit` field (draft-ietf-httpapi-ratelimit-headers: a structured-field List of
    Items, e.g. `"default";q=20;w=1` or `"default";r=7;t=1;pk=:cGs=:`) as (policy name, parameters); byte
    sequences decoded, numbers as int or float. Parsing stops at the first member it cannot read."""
    items: list[tuple[str, dict[str, SFValue]]] = []
    pos = 0
    value = value.strip()
    while pos < len(value):
        found = _SF_ITEM.match(value, pos)
        if found is None or found.end() == pos:
            break
        pos = found.end()
        name = _sf_value(found.group(1))
        params = {key: _sf_value(raw or None) for key, raw in _SF_PARAM.findall(found.group(2))}
        items.append((str(name), params))
    return items


@dataclass(frozen=True)
class _Policy:
    """One policy of an answer's RateLimit headers: its scope's name, quota per second, and what is left of the
    window (None when the answer did not say) with the seconds until it resets."""

    scope: str
    shared: bool  # no partition key: taken to hold for every API request
    per_second: float | None
    quota: int | None  # requests per window, and the window's seconds
    window: float | None
    remaining: int | None
    reset: float | None


def _policies(headers: httpx.Headers) -> list[_Policy]:
    """The RateLimit-Policy / RateLimit pairs of an answer (matched by name and partition key `pk`)."""

    def key(name: str, params: dict[str, SFValue]) -> str:
        pk = params.get("pk")
        if isinstance(pk, bytes):
            shown = pk.decode("utf-8", "replace") if pk.isascii() and pk.decode().isprintable() else pk.hex()
            return f'policy "{name}" ({shown})'
        return f'policy "{name}"'

    quotas: dict[str, tuple[int, float] | None] = {}
    for name, params in parse_ratelimit(headers.get("ratelimit-policy", "")):
        q, w = params.get("q"), params.get("w", 1)
        quotas[key(name, params)] = None
        if isinstance(q, int) and not isinstance(q, bool) and isinstance(w, int | float) and q > 0 and w > 0:
            quotas[key(name, params)] = (q, float(w))
    states: dict[str, tuple[int | None, float | None]] = {}
    for name, params in parse_ratelimit(headers.get("ratelimit", "")):
        r, t = params.get("r"), params.get("t")
        states[key(name, params)] = (
            r if isinstance(r, int) and r >= 0 else None,
            float(t) if isinstance(t, int | float) and t >= 0 else None,
        )
    policies = []
    for scope in dict.fromkeys([*quotas, *states]):
        quota = quotas.get(scope)
        policies.append(
            _Policy(
                scope,
                "(" not in scope,
                quota[0] / quota[1] if quota else None,
                quota[0] if quota else None,
                quota[1] if quota else None,
                *states.get(scope, (None, None)),
            )
        )
    return policies


@dataclass(frozen=True)
class LearnedRate:
    """A budget learned from 429s (the server sent no RateLimit headers), as a later client may start from it: the
    pace kept, the rate that drew the last 429 (None: none bounds it), and the quiet spell before that ceiling is
    probed higher."""

    rate: float
    ceiling: float | None
    quiet: float

    def usable(self) -> bool:
        """Finite, positive figures within the client's own bounds (what a history read back may not hold)."""
        figures = [self.rate, self.quiet, *([] if self.ceiling is None else [self.ceiling])]
        return (
            all(isinstance(f, float | int) and math.isfinite(f) and f > 0 for f in figures)
            and CEILING_QUIET <= self.quiet <= CEILING_QUIET_MAX
        )


@dataclass
class _Scope:
    """What requests share a budget: a route, every API request, or a policy a server named in its headers."""

    rate: float | None = None  # requests per second kept to (None: not paced)
    ceiling: float | None = None  # the rate that drew the last 429, or the policy's quota per second
    #: the times given to its requests, recent and coming, sorted: each new request takes the first time spaced
    #: 1/rate from all of them (and free in its other scopes), so a request that only this scope bounds fills a
    #: gap that one held back by another scope left
    slots: list[float] = field(default_factory=list)
    held_until: float = 0.0
    lowered_at: float = -math.inf
    raised_at: float = 0.0
    lifted_at: float = 0.0
    from_headers: bool = False
    counted: bool = False  # the last lowering took the answers counted in the last second (not the pace)
    quiet: float = CEILING_QUIET  # seconds without a 429 before the ceiling is probed higher
    answered: collections.deque[float] = field(default_factory=collections.deque)  # successes, last second
    adopted: bool = False  # its pace came from an earlier client (`adopt_rates`) and no 429 lowered it since
    lift: float = CEILING_STEP  # the next probe past an adopted ceiling (doubles while they go through)
    #: the pace a 429 last set (or the one adopted), and the rate that drew that 429: what a later client may start
    #: from (not the pace crept up since, which no 429 has confirmed)
    confirmed: float | None = None
    drew: float | None = None
    stated: bool = False  # `ClientConfig.max_rate`: kept to as given, never probed past nor learned from

    def seen(self, now: float) -> int:
        while self.answered and self.answered[0] < now - 1.0:
            self.answered.popleft()
        return len(self.answered)

    def probe(self, now: float) -> None:
        """A rate learned from 429s creeps up while no 429 comes: to just under the rate that drew the last one,
        and, after CEILING_QUIET seconds, past it; one that no 429 bounds (every request together, once a route
        showed a budget of its own) by 5 x PROBE_STEP a second."""
        if self.rate is None or self.from_headers or self.stated:
            return
        if now - self.raised_at < 1.0 or now - self.lowered_at < 1.0:
            return
        self.raised_at = now
        if self.ceiling is not None and now - max(self.lowered_at, self.lifted_at) >= self.quiet:
            # an adopted ceiling no 429 has confirmed yet may be stale (a budget raised since the run that learned
            # it): each probe past it that goes through doubles the next step, so a tenfold raise is found within
            # about seven quiet spells instead of being kept to, run after run; the first 429 ends that
            self.ceiling *= 1 + (self.lift if self.adopted else CEILING_STEP)
            self.lift = min(1.0, 2 * self.lift) if self.adopted else CEILING_STEP
            self.lifted_at = now
        if self.ceiling is None:  # nothing drew a 429 at this pace: probe faster
            self.rate *= 1 + 5 * PROBE_STEP
            return
        step = 5 * PROBE_STEP if self.adopted else PROBE_STEP  # an adopted pace catches up with its lifts
        self.rate = max(self.rate, min(self.rate * (1 + step), self.ceiling * RATE_MARGIN))


def _first_free_slot(earliest: float, now: float, scopes: list[_Scope]) -> float:
    """The first time from `earliest` at least 1/rate away from every time each paced scope gave out (those
    more than 1/rate in the past are dropped: they bound nothing any more). The latest such bound is always
    free, so the search ends; a few dozen times at most, under the client's lock."""
    paced = []
    for scope in scopes:
        if scope.rate:
            gap = 1.0 / scope.rate
            del scope.slots[: bisect.bisect_left(scope.slots, now - gap)]
            paced.append((gap - 1e-9, scope.slots))
    if not paced:
        return earliest
    candidates = sorted({earliest, *(t + gap for gap, slots in paced for t in slots if t + gap > earliest)})
    for candidate in candidates:
        if all(abs(candidate - t) >= gap for gap, slots in paced for t in slots):
            return candidate
    return candidates[-1]  # not reached: the latest candidate is spaced from every slot


class _ThreadPool(threading.local):
    """Per thread: the API client it keeps to (None until its first request)."""

    http: httpx.Client | None = None


class _Adopted(threading.local):
    """Per thread: whether its last create was answered with an object that already existed."""

    flag = False


class IsometricClient:
    """The API client. Thread-safe: share one instance between the threads of a pool (the caller bounds the
    concurrency); `request_count` counts every request sent, retries included.

    Stopping (for the executor):
    - Credentials refused: the API's first 401/403 raises `CredentialsRefused`; from then on every call raises
      a CredentialsRefused with the same message without sending anything (`refused` holds the first one).
      The caller catches it before `ApiError`, stops scheduling, and exits 2 with `str(exc)`.
    - Ctrl-C: pass the run's event (`IsometricClient(config, cancel=options.cancel)`) or call `client.cancel()`
      from the signal handler. Retry and rate-limit waits end within ~0.05 s and no new request starts: the
      call raises `Cancelled`. A request already on the wire may finish within `safety.CANCEL_GRACE` (1 s), then
      it is abandoned (Cancelled); `in_flight()` lists them so the caller can say what it waits for.
    - Deadlines: every attempt has one deadline for its whole exchange (connect, send, headers, body):
      `config.timeout`, or for an upload `config.upload_timeout` plus 10 s per MB. A server that dribbles its
      answer is cut there, like one that never answers (a timeout, retried within the attempts' bound)."""

    def __init__(
        self,
        config: ClientConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        cancel: threading.Event | None = None,
    ) -> None:
        problem = api_url_problem(config.base_url)
        if problem:
            raise InsecureApiUrl(problem)
        register_secret(config.client_secret)
        register_secret(config.access_token)
        for name, value in (("the client secret", config.client_secret), ("the access token", config.access_token)):
            refused = credential_problem(name, value)
            if refused:  # httpx would refuse the header with its value (repr-escaped) in the message
                raise UnusableCredentials(refused)
        self.config = config
        self._api_is_loopback = is_loopback_url(config.base_url)
        # The API is reached through a few httpx clients, each thread keeping to one: httpcore's connection pool
        # takes one lock per request and checks every pooled connection under it, so 32 threads on one pool
        # queue behind each other (profiled); a pool per few threads does not.
        self._api_clients = [
            httpx.Client(
                base_url=config.base_url.rstrip("/"),
                transport=transport,
                limits=httpx.Limits(max_connections=16, max_keepalive_connections=8),
                follow_redirects=False,
                timeout=httpx.Timeout(config.timeout),
                verify=True,
                headers={
                    ep.HEADER_CLIENT_SECRET: config.client_secret,
                    ep.HEADER_AUTHORIZATION: f"Bearer {config.access_token}",
                    "Accept": "application/json",
                    "User-Agent": ep.USER_AGENT,
                },
            )
            for _ in range(API_POOLS)
        ]
        self._pool_of_thread = _ThreadPool()
        self._pools_assigned = itertools.count()
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=32)
        # uploads go to storage: no API credentials on that client
        self._storage = httpx.Client(
            transport=transport,
            limits=limits,
            follow_redirects=False,
            verify=True,
            timeout=httpx.Timeout(config.upload_timeout, connect=config.timeout),
        )
        for http in (*self._api_clients, self._storage):  # whole-exchange deadlines, prompt cancel (see _once)
            arm_deadlines(http)
        self._lock = threading.Lock()
        self._cancel = cancel if cancel is not None else threading.Event()
        self._refused: CredentialsRefused | None = None
        self._adopted = _Adopted()  # per thread: was the last create answered by a look-up?
        #: called as (what, attempt, wait or None, reason) when an attempt failed and will be retried
        self.on_retry: Callable[[str, int, float | None, str], None] | None = None
        self._in_flight: dict[int, tuple[str, str, float]] = {}
        self._flight_seq = 0
        self.request_count = 0
        self.throttled_count = 0
        #: scope name -> its pace: routes ("POST /datapoints"), ALL_REQUESTS, policies named by RateLimit headers
        self._scopes: dict[str, _Scope] = {}
        self._stated: tuple[str, ...] = ()  # the stated rate's scope, when one was given: every API request's last
        if config.max_rate is not None:
            if not (math.isfinite(config.max_rate) and config.max_rate > 0):
                raise ValueError(f"max_rate must be a number of requests per second above 0, not {config.max_rate}")
            self._scopes[STATED_RATE] = _Scope(rate=float(config.max_rate), stated=True)
            self._stated = (STATED_RATE,)
        self._policies_of: dict[str, tuple[str, ...]] = {}  # route -> the policies its answers named
        self._headers_seen = False  # some answer carried RateLimit headers
        self._shared_policies: dict[str, None] = {}  # policies named without a partition key: every route's
        self._contact: dict[str, float] = {}  # route -> when its lone first request left (headers seen)

    # -- plumbing -----------------------------------------------------------------------------------
    def close(self) -> None:
        for http in self._api_clients:
            http.close()
        self._storage.close()

    @property
    def _http(self) -> httpx.Client:
        """This thread's client for the API (threads are spread over `API_POOLS` clients in turn)."""
        http = self._pool_of_thread.http
        if http is None:
            http = self._pool_of_thread.http = self._api_clients[next(self._pools_assigned) % len(self._api_clients)]
        return http

    def __enter__(self) -> IsometricClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"IsometricClient({self.config.base_url!r})"

    # -- stopping -----------------------------------------------------------------------------------
    def cancel(self) -> None:
        """Stop: every retry or rate-limit wait ends at once and no new request starts (calls raise Cancelled).
        Requests already sent finish or time out. Irreversible for this client. Safe from a signal handler."""
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    @property
    def refused(self) -> CredentialsRefused | None:
        """The API's first 401/403 (CredentialsRefused), or None: once set, the client sends nothing more."""
        return self._refused

    def in_flight(self) -> list[str]:
        """What is on the wire right now, e.g. ["PUT https://storage.../key (12 s)"], to say what a stop waits
        for."""
        now = time.monotonic()
        with self._lock:
            return [f"{method} {url} ({now - started:.0f} s)" for method, url, started in self._in_flight.values()]

    def _check_stop(self) -> None:
        """Raise when no request may start: credentials refused, or cancelled."""
        refused = self._refused
        if refused is not None:
            raise CredentialsRefused(
                refused.message, status=refused.status, detail=refused.detail, method=refused.method, url=refused.url
            )
        if self._cancel.is_set():
            raise Cancelled("cancelled: no further request was started")

    def _sleep(self, seconds: float) -> None:
        """An interruptible sleep: ends early (raising) on cancel() or once the credentials are refused."""
        deadline = time.monotonic() + max(0.0, seconds)
        while True:
            self._check_stop()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self._cancel.wait(min(remaining, 0.05))

    def _retry_sleep(self, seconds: float) -> None:
        """The wait between attempts of one request (tenacity's sleep): interruptible like every wait."""
        self._sleep(seconds)

    @property
    def settled_rates(self) -> dict[str, float]:
        """The rate (requests per second) each scope keeps to now, as learned from 429s or read from RateLimit
        headers: a route ("POST /datapoints"), ALL_REQUESTS, or a policy a server named ('policy "endpoint"
        (POST /mrv/v0/datapoints)'). Empty when the server never limited this client."""
        with self._lock:
            return {name: round(scope.rate, 2) for name, scope in self._scopes.items() if scope.rate is not None}

    @property
    def rate_stated(self) -> bool:
        """Whether the stated rate (`ClientConfig.max_rate`) alone paced this client, and no request was answered
        429: what the outputs word as "kept to ... as stated"."""
        return self.rate_source == STATED_RATE

    @property
    def rate_source(self) -> str | None:
        """Where the settled rates come from: "RateLimit headers", "429 answers", "429 answers of earlier runs"
        (every pace was adopted, and no request of this client was answered 429), "the stated rate"
        (`ClientConfig.max_rate` alone, and no 429), or None (never limited)."""
        with self._lock:
            paced = [scope for scope in self._scopes.values() if scope.rate is not None]
        if not paced:
            return None
        if any(scope.from_headers for scope in paced):
            return "RateLimit headers"
        if not self.throttled_count and all(scope.stated for scope in paced):
            return STATED_RATE
        adopted = all(scope.adopted or scope.stated for scope in paced) and not self.throttled_count
        return "429 answers of earlier runs" if adopted else "429 answers"

    @property
    def learned_rates(self) -> dict[str, LearnedRate]:
        """The budgets this client keeps to that it learned from 429s (or adopted), per scope: what a later
        client of the same API may start from (`adopt_rates`) instead of learning them again, 429 by 429.
        Budgets read from RateLimit headers are not among them: the first answer says those again."""
        with self._lock:
            everything = self._scopes.get(ALL_REQUESTS)
            routes = [s.drew for n, s in self._scopes.items() if n != ALL_REQUESTS and s.drew and not s.from_headers]
            # All requests together learn the first 429s (nothing else is known yet). A route that later drew 429s
            # well below that rate has a budget of its own, and the early ceiling was most likely a share of the
            # routes' budgets: paced as a ceiling it binds a mix of routes (the routes' gaps cannot interleave),
            # so the next client does not keep to it, and creeps up from its pace (a true budget of all requests
            # draws a 429 then, and is learned again).
            released = everything is not None and (
                everything.ceiling is None
                or (everything.drew is not None and any(d < 0.9 * everything.drew for d in routes))
            )
            return {
                name: LearnedRate(
                    scope.confirmed, None if name == ALL_REQUESTS and released else scope.drew, scope.quiet
                )
                for name, scope in self._scopes.items()
                if scope.confirmed is not None and not scope.from_headers
            }

    def adopt_rates(self, rates: Mapping[str, LearnedRate]) -> None:
        """Start from budgets an earlier client learned from 429s (`learned_rates`), before learning any here: a
        scope keeps to the adopted pace from its first request, and probes past its ceiling only after the
        adopted quiet spell, as if it had just learned it. Without them the first burst over an unknown budget
        draws a 429 for every request in flight. A scope this client already paces, and unusable figures, are
        left out; a 429 lowers an adopted pace like any other, and the first answer with RateLimit headers drops
        every adopted pace (the server says its budgets: those are kept to, and nothing learned is kept after)."""
        now = time.monotonic()
        with self._lock:
            for name, learned in rates.items():
                if not learned.usable() or (name in self._scopes and self._scopes[name].rate is not None):
                    continue
                ceiling = None if learned.ceiling is None else float(learned.ceiling)
                self._scopes[name] = _Scope(
                    rate=max(0.1, float(learned.rate)),
                    confirmed=max(0.1, float(learned.rate)),
                    drew=ceiling,
                    ceiling=ceiling,
                    quiet=min(float(learned.quiet), ADOPTED_QUIET_MAX),
                    lowered_at=now - 1.0,  # a 429 in its first second is new evidence, not the same volley
                    raised_at=now,
                    adopted=True,
                )

    def _scope_names(self, route: str, to_api: bool) -> list[str]:
        """The scopes a request belongs to: every API request together and its route first (what a 429 without
        headers is put down to), then the policies its answers named, then the stated rate when one was given."""
        if not to_api:
            return [route]
        return [
            ALL_REQUESTS,
            route,
            *dict.fromkeys([*self._shared_policies, *self._policies_of.get(route, ())]),
            *self._stated,
        ]

    def _pace(self, route: str, to_api: bool) -> None:
        """Wait for this request's turn in every scope it belongs to: a scope held (a 429's Retry-After, a
        policy's window spent) waits until then; a paced one spaces its requests at its rate. Once a server sent
        RateLimit headers, a route not seen yet sends one request alone (its answer names the route's policy),
        and so does the client's very first API request (its answer may carry those headers)."""
        while True:
            with self._lock:
                now = time.monotonic()
                alone = "" if to_api and not self._policies_of else route  # no API answer yet: one request
                if to_api and (self._headers_seen or not self._policies_of) and route not in self._policies_of:
                    started = self._contact.get(alone)
                    if started is not None and now - started < FIRST_CONTACT_WAIT:
                        slot = now + 0.01  # wait for the lone first request's answer, then look again
                    else:
                        self._contact[alone] = now
                        slot = None
                else:
                    slot = None
                if slot is None:
                    scopes = [self._scopes.setdefault(name, _Scope()) for name in self._scope_names(route, to_api)]
                    for scope in scopes:
                        scope.probe(now)
                    slot = _first_free_slot(max([now, *(s.held_until for s in scopes)]), now, scopes)
                    for scope in scopes:
                        if scope.rate:
                            bisect.insort(scope.slots, slot)
                    done = True
                else:
                    done = False
            if slot > now:
                self._sleep(slot - now)
            if done:
                self._await_holds(route, to_api)
                return

    def _await_holds(self, route: str, to_api: bool) -> None:
        """After waiting for its turn, wait out a hold that an answer set meanwhile (a policy's window spent, a
        429): the turn was given before that answer came, and going now would draw a 429."""
        while True:
            with self._lock:
                now = time.monotonic()
                names = self._scope_names(route, to_api)
                hold = max((self._scopes[n].held_until for n in names if n in self._scopes), default=now)
            if hold <= now:
                return
            self._sleep(hold - now)

    def _observe(self, route: str, to_api: bool, response: httpx.Response | None) -> None:
        """Learn the budget from an answer (None: no answer). RateLimit headers, when present, say it: the quota
        per window is the rate (kept at RATE_MARGIN of it), and `r=0` with `t` holds the policy until its window
        resets. Without them, a 429 is the evidence (`_throttled`): the scope that drew it keeps to just under
        what was answered in the last second, at most once a second per scope, then creeps up slowly
        (`_Scope.probe`)."""
        now = time.monotonic()
        throttled = response is not None and response.status_code == 429
        with self._lock:
            if throttled:
                self.throttled_count += 1
            if response is None:  # no answer: another request may make the first contact
                self._contact.pop(route, None)
                self._contact.pop("", None)
                return
            policies = _policies(response.headers) if to_api else []
            if to_api:
                self._policies_of[route] = tuple(p.scope for p in policies)
            if policies and not self._headers_seen:
                self._headers_seen = True
                for scope in self._scopes.values():  # the server says its budgets now: what was adopted yields
                    if scope.adopted:
                        scope.rate = scope.ceiling = scope.confirmed = scope.drew = None
                        scope.adopted = False
                        scope.slots.clear()
            for policy in policies:
                if policy.shared:
                    self._shared_policies[policy.scope] = None
                scope = self._scopes.setdefault(policy.scope, _Scope())
                scope.from_headers = True
                if not throttled:
                    scope.answered.append(now)
                    if len(scope.answered) > 4096:
                        scope.answered.popleft()
                if policy.per_second:
                    scope.ceiling = policy.per_second
                    scope.rate = RATE_MARGIN * policy.per_second
                if policy.remaining == 0 and policy.reset is not None:
                    # the window is spent: wait for its reset, which is no later than a window after the oldest of
                    # its last `quota` answers (`t` is whole seconds, rounded up: most of a second too long)
                    until = now + policy.reset
                    if policy.quota and policy.window and len(scope.answered) >= policy.quota:
                        until = min(until, scope.answered[-policy.quota] + policy.window)
                    scope.held_until = max(scope.held_until, until)
            names = self._scope_names(route, to_api)
            if not throttled:
                for name in names[:2]:
                    answered = self._scopes.setdefault(name, _Scope()).answered
                    answered.append(now)
                    if len(answered) > 4096:  # a second's worth is all a 429 counts
                        answered.popleft()
                return
            if not policies:
                self._throttled(route, to_api, response, now)

    def _throttled(self, route: str, to_api: bool, response: httpx.Response, now: float) -> None:
        """A 429 without RateLimit headers (under the lock). Which budget drew it: the route's own when it was
        the only one answered in the last second, or when every API request together keeps to a pace learned
        from an earlier 429 (not probed past since) while the route runs at its own pace; else every API request
        together (the first time: with a steady mix, that also keeps each route under a budget of its own, and a
        route that still draws 429s under it learns its own). That scope keeps to just under the rate that drew
        it. The first 429 of a scope holds it until its oldest answer of the last second is a second old (a
        window's quota is spent: what comes sooner draws 429s); with no answer to go by, every scope of the
        request waits the Retry-After out."""
        route_scope = self._scopes.setdefault(route, _Scope())
        own = route_scope.seen(now)
        scope, seen = route_scope, own
        if to_api:
            everything = self._scopes.setdefault(ALL_REQUESTS, _Scope())
            total = everything.seen(now)
            route_drew = route_scope.rate is None or own >= 0.9 * route_scope.rate  # at its own pace, or unpaced
            same_volley = now - everything.lowered_at < 1.0 <= now - route_scope.lowered_at
            if total > own and (
                everything.rate is None or everything.lifted_at > everything.lowered_at or not route_drew or same_volley
            ):
                scope, seen = everything, total
            elif total > own and everything.ceiling is not None:
                # the route has a budget of its own: all requests together need not keep to what they drew
                # before (a share of several such budgets); they creep up from here without a ceiling
                everything.ceiling = None
        first = scope.rate is None
        self._learn(scope, seen, now)
        if seen and first:
            scope.held_until = max(scope.held_until, scope.answered[0] + 1.0)
        elif not seen and scope.rate is None:
            until = now + self._clamped(_retry_after(response))
            for name in self._scope_names(route, to_api):
                self._scopes[name].held_until = max(self._scopes[name].held_until, until)

    @staticmethod
    def _learn(scope: _Scope, seen: int, now: float) -> None:
        """A 429 in `scope`, after `seen` answered requests in the last second: keep to just under the rate that
        drew it (what was answered, or the pace kept when lower). One volley counts once a second."""
        if now - scope.lowered_at < 1.0:  # the same volley: only more answers counted than when it was lowered
            if scope.counted and scope.ceiling is not None and seen > scope.ceiling:
                scope.ceiling = scope.drew = float(seen)
                scope.rate = scope.confirmed = RATE_MARGIN * seen
            return
        if seen == 0:  # no evidence yet (the first answer is a 429): its Retry-After alone
            if scope.rate is None:
                return
            drew = scope.rate
        elif scope.rate is None or seen < 0.9 * scope.rate:
            drew = float(seen)  # what the server answered (far below the pace: the budget is clearly lower)
            scope.counted = True
        else:
            drew = scope.rate  # the pace itself drew it (what one scope saw answered may be a share of a budget)
            scope.counted = False
        if scope.lifted_at > scope.lowered_at:  # a probe past the ceiling drew it: probe less often
            scope.quiet = min(CEILING_QUIET_MAX, 2 * scope.quiet)
        scope.ceiling = scope.drew = drew
        scope.rate = scope.confirmed = max(0.1, RATE_MARGIN * drew)
        scope.lowered_at = now
        scope.adopted = False

    def _clamped(self, retry_after: float | None) -> float:
        """A Retry-After as a wait: at least the backoff floor (a date in the past, or 0, must not turn the retries
        into a busy loop: the attempts stay bounded by _stop, and now also spaced), at most retry_after_cap."""
        wait = self.config.backoff_initial if retry_after is None else max(retry_after, self.config.backoff_initial)
        return min(wait, self.config.retry_after_cap)

    def _wait(self, state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Transient) and exc.retry_after is not None:
            return self._clamped(exc.retry_after)
        backoff = tenacity.wait_exponential_jitter(
            multiplier=self.config.backoff_initial, max=self.config.backoff_max, jitter=self.config.backoff_initial
        )
        return backoff(state)

    def _stop(self, state: tenacity.RetryCallState) -> bool:
        """Bounded attempts. A 429 says the server did nothing and asks to come back later, so rate-limited
        attempts have their own, larger bound: under a tight budget a request may wait its turn several
        seconds running without anything being wrong."""
        exc = state.outcome.exception() if state.outcome else None
        limited = isinstance(exc, _Transient) and exc.error.status == 429
        bound = self.config.max_rate_limited_attempts if limited else self.config.max_attempts
        return state.attempt_number >= max(1, bound)

    def _retrying(self) -> tenacity.Retrying:
        return tenacity.Retrying(
            stop=self._stop,
            wait=self._wait,
            retry=tenacity.retry_if_exception_type(_Transient),
            reraise=True,
            sleep=self._retry_sleep,
        )

    def _once(
        self,
        http: httpx.Client,
        method: str,
        url: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json: JSONObject | None = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """One attempt; transient failures raise _Transient, other errors their ApiError."""
        to_api = http is not self._storage
        route = route_key(method, url) if to_api else f"{method} {httpx.URL(url).host}"
        self._pace(route, to_api)
        shown = redact(str(http.base_url).rstrip("/") + "/" + url.lstrip("/") if to_api else url.split("?")[0])
        with self._lock:
            self._check_stop()  # under the lock: after the first 401/403 is recorded, nothing more starts
            self.request_count += 1
            self._flight_seq += 1
            flight = self._flight_seq
            self._in_flight[flight] = (method, shown, time.monotonic())
        response = None
        # the whole exchange (connect, send, headers and body) has one deadline, and a cancel abandons it after a
        # short grace: httpx's own timeouts bound each read only (safety.exchange)
        seconds = (
            self.config.timeout
            if to_api
            else (self.config.upload_timeout + UPLOAD_SECONDS_PER_BYTE * (len(content) if content else 0))
        )
        limits = None
        try:
            with exchange(seconds, self._cancel) as limits:
                response = http.request(method, url, params=params, json=json, content=content, headers=headers)
        except ExchangeCancelled:
            raise Cancelled(
                f"cancelled: {method} {shown} was abandoned in flight (its answer, if any, is lost: the "
                "next run looks the object up before sending it again)",
                method=method,
                url=shown,
            ) from None
        except httpx.TimeoutException as exc:
            why = (
                f"timed out: no complete answer within {seconds:g} s, the deadline of one attempt (the server "
                "answered too slowly)"
                if limits is not None and limits.expired
                else f"timed out ({type(exc).__name__})"
            )
            raise _Transient(
                Unreachable(why, method=method, url=shown), may_have_applied=not isinstance(exc, NOT_SENT_ERRORS)
            ) from None
        except httpx.LocalProtocolError as exc:  # refused here, before sending: not the network, not retried
            raise ApiError(
                f"the request could not be formed ({type(exc).__name__}: a header or the body is not "
                "valid HTTP; check that ISOMETRIC_CLIENT_SECRET and ISOMETRIC_ACCESS_TOKEN hold the "
                "credentials alone)",
                method=method,
                url=shown,
            ) from None
        except httpx.TransportError as exc:
            raise _Transient(
                Unreachable(f"connection failed ({type(exc).__name__}: {redact(str(exc))})", method=method, url=shown),
                may_have_applied=not isinstance(exc, NOT_SENT_ERRORS),
            ) from None
        finally:
            with self._lock:
                self._in_flight.pop(flight, None)
            self._observe(route, to_api, response)
        opt_in = ep.opt_in_kind(url) if to_api and response.status_code in (403, 404) else None
        if opt_in is not None and (
            response.status_code == 403 or ep.opt_in_kind(url.rstrip("/").rsplit("/", 1)[0]) is None
        ):  # a 403 anywhere on the path, a 404 on the collection itself
            noun = opt_in.replace("_", " ")
            raise NotEnabled(
                f"{noun}s are not enabled for this organisation (HTTP {response.status_code} on {method} "
                f"{shown}): they are a beta feature Isometric enables on request; this is not a "
                "credentials failure. Ask Isometric to enable them, or remove the sheet",
                status=response.status_code,
                detail=_detail(response),
                method=method,
                url=shown,
                request_id=_request_id(response),
            )
        if to_api and response.status_code in (401, 403):
            refused = credentials_refused(
                response.status_code, _detail(response), method=method, url=shown, request_id=_request_id(response)
            )
            with self._lock:
                if self._refused is None:
                    self._refused = refused
            raise refused
        if response.status_code in RETRY_STATUSES:
            retry_after = _retry_after(response)
            raise _Transient(
                error_for(
                    response.status_code, _detail(response), method=method, url=shown, request_id=_request_id(response)
                ),
                retry_after,
                may_have_applied=response.status_code not in NOT_APPLIED_STATUSES,
            )
        if response.status_code >= 300:
            raise error_for(
                response.status_code, _detail(response), method=method, url=shown, request_id=_request_id(response)
            )
        return response

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: JSONObject | None = None,
        before_retry: Callable[[], JSONValue] | None = None,
        gone_is_done: bool = False,
        expect: Callable[[JSONValue], object] | None = None,
    ) -> JSONValue:
        """A request with retries.

        Once an attempt may have reached the server (response lost, timeout, 5xx, a 2xx whose body cannot be
        read), `before_retry` runs before every re-send and may return a result that makes the re-send
        unnecessary (the write already happened). With `gone_is_done` (DELETE), a 404 on such a re-send means the
        earlier attempt did the work. `expect` checks the answer's body (raising ValueError when it is not what the
        operation returns); by default an object's GET or PATCH is checked against its model (`_expected`)."""
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        maybe_applied = False
        sent = 0
        try:
            for attempt in self._retrying():
                with attempt:
                    sent = attempt.retry_state.attempt_number
                    if maybe_applied and before_retry is not None:
                        found = before_retry()
                        if found is not None:
                            return found
                    try:
                        response = self._once(self._http, method, path, params=clean or None, json=json)
                        result = self._read(response, method, path, expect or _expected(method, path))
                    except _Transient as exc:
                        maybe_applied = maybe_applied or exc.may_have_applied
                        hook = self.on_retry
                        if hook is not None:  # the progress display shows retries as they happen
                            hook(
                                f"{method} {path}",
                                attempt.retry_state.attempt_number,
                                exc.retry_after,
                                redact(str(exc.error))[:120],
                            )
                        raise
                    except NotFound:
                        if gone_is_done and maybe_applied:
                            return None
                        raise
                    return result
        except _Transient as exc:
            exc.error.attempts = sent
            raise exc.error from None
        except ApiError as exc:  # final at once (a 4xx): one attempt, or the last of several
            exc.attempts = exc.attempts or sent or None
            raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _read(
        self, response: httpx.Response, method: str, path: str, expect: Callable[[JSONValue], object] | None
    ) -> JSONValue:
        """A 2xx answer's body (None when empty and nothing is expected). A body that cannot be read (not JSON,
        or not what `expect` accepts) is the server's fault and, like a lost answer, transient: a GET is asked
        again; a POST or PATCH may have been applied, so its `before_retry` look-up runs before any re-send."""
        shown = redact(str(self._http.base_url).rstrip("/") + "/" + path.lstrip("/"))
        if response.status_code == 204 or not response.content:
            if expect is None:
                return None
            raise _Transient(_unreadable(response, method, shown, "an empty body"))
        try:
            body: JSONValue = response.json()
        except ValueError:  # also a body that is not UTF-8
            raise _Transient(_unreadable(response, method, shown, "not JSON")) from None
        if expect is not None:
            try:
                expect(body)
            except ValueError as exc:  # pydantic's ValidationError, or a page of the wrong shape
                raise _Transient(_unreadable(response, method, shown, _why_not(exc))) from None
        return body

    def _paginate(self, path: str, params: Params | None = None) -> list[JSONObject]:
        """Every node of a Relay-paginated list: pages of `first=50`, following `end_cursor` while
        `has_next_page` (and never looping on a cursor the server repeats)."""
        return self._pages(path, params)[0]

    def _pages(
        self, path: str, params: Params | None = None, after: str | None = None
    ) -> tuple[list[JSONObject], int | None, str | None]:
        """The nodes after cursor `after` (all when None), the listing's `total_count` as the last page gave it,
        and the cursor of the last node read (`after` again when there was none).

        A listing the server would not end is stopped: it ends at a repeated cursor (as before), and raises
        EndlessListing before asking for another page once more nodes were read than the largest total_count
        it gave (a deletion meanwhile cannot make a sound listing do that), or more pages than that count needs
        plus PAGE_SLACK (MAX_PAGES_WITHOUT_TOTAL without any count)."""
        nodes: list[JSONObject] = []
        cursor, last = after, after
        total: int | None = None
        most: int | None = None  # the largest total_count given
        seen: set[str] = {after} if after else set()
        pages = 0
        while True:
            page = _page(
                self._request(
                    "GET", path, params={**(params or {}), "first": ep.PAGE_SIZE, "after": cursor}, expect=_page
                )
            )
            pages += 1
            nodes += page.nodes
            total = page.total if page.counted else total
            if total is not None:
                most = total if most is None else max(most, total)
            cursor = page.end_cursor
            last = cursor or last
            if not page.has_next or not cursor or cursor in seen:
                return nodes, total, last
            seen.add(cursor)
            bound = MAX_PAGES_WITHOUT_TOTAL if most is None else -(-most // ep.PAGE_SIZE) + PAGE_SLACK
            if (most is not None and len(nodes) > most) or pages >= bound:
                shown = redact(str(self._http.base_url).rstrip("/") + "/" + path.lstrip("/"))
                count = "no total_count" if most is None else f"a total_count of {most}"
                raise EndlessListing(
                    f"the server would not end the listing: {len(nodes)} objects over {pages} pages with {count}, "
                    "and it still offers a next page (stopped: what was read cannot be taken as the whole listing)",
                    status=200,
                    method="GET",
                    url=shown,
                )

    def _create(
        self,
        kind: str,
        body: JSONObject,
        find: Callable[[], JSONObject | None],
        *,
        lookup_on_refusal: bool = False,
        path: str | None = None,
    ) -> JSONValue:
        """POST a create; before a re-send that might duplicate, and when the API says it already exists, look it
        up instead. `lookup_on_refusal`: any 409/422 may mean "exists" (statements refuse an overlap, not a
        duplicate supplier_reference_id), so look before giving up.

        Whatever `find` returns is adopted only when it is the object asked for: the same supplier_reference_id,
        and the same project_id where both have one (a listing that ignored its filter offers others); else it
        counts as not found. A 2xx whose body cannot be read is an answer lost: `find` runs before any re-send."""
        self._adopted.flag = False
        srid, project_id = _text(body.get("supplier_reference_id")), _text(body.get("project_id"))

        def checked() -> JSONObject | None:
            found = find()
            if found is None or srid is None:  # statements have no reference: their find matches project and period
                return found
            target = _target(kind, found)
            return found if target is not None and _same_object(target, srid, project_id) else None

        declared = ep.RESOURCES.get(kind)
        model = _CREATED_MODELS.get(kind) or (declared.model if declared is not None else None)
        try:
            return self._request(
                "POST",
                path or ep.COLLECTIONS[kind],
                json=body,
                before_retry=checked,
                expect=model.model_validate if model is not None else None,
            )
        except ApiError as exc:
            if _is_duplicate(exc) or (lookup_on_refusal and isinstance(exc, Conflict | ValidationFailed)):
                found = checked()
                if found is not None:
                    # refused (a duplicate reference; for a statement, an overlapping period) with no earlier
                    # attempt of ours that may have applied (`find` ran before any re-send): someone else made it
                    self._adopted.flag = True
                    return found
                if srid is not None and project_id is not None:
                    raise self._elsewhere(kind, srid, project_id, find, exc) from exc
            raise

    @staticmethod
    def _elsewhere(
        kind: str, srid: str, project_id: str, find: Callable[[], JSONObject | None], exc: ApiError
    ) -> ApiError:
        """A duplicate whose holder is another project's object: never adopted; say whose it is and what to do."""
        target = _target(kind, find())
        if target is None or target.get("supplier_reference_id") != srid:
            return exc
        if target.get("project_id") in (None, project_id):
            return exc
        return Conflict(
            f"supplier_reference_id {srid!r} already belongs to {target.get('id')} of project "
            f"{target.get('project_id')}; it is never adopted into project {project_id}: give this workbook its "
            "own supplier_reference_prefix on the project sheet",
            status=exc.status,
            detail=exc.detail,
            method=exc.method,
            url=exc.url,
            request_id=exc.request_id,
        )

    def last_create_adopted(self) -> bool:
        """Whether this thread's last create was answered with an object that already existed (the API refused
        it as a duplicate): created by another run meanwhile, not by this one."""
        return self._adopted.flag

    # -- reads --------------------------------------------------------------------------------------
    def list_projects(self) -> list[m.Project]:
        return self._models(m.Project, self._paginate(ep.PROJECTS), ep.PROJECTS)

    def list_ghg_entry_templates(self, project_id: str) -> list[m.GhgEntryTemplate]:
        path = ep.GHG_ENTRY_TEMPLATES.format(project_id=project_id)
        return self._models(m.GhgEntryTemplate, self._paginate(path), path)

    def list_component_blueprints(self) -> list[m.ComponentBlueprint]:
        return self._models(m.ComponentBlueprint, self._paginate(ep.COMPONENT_BLUEPRINTS), ep.COMPONENT_BLUEPRINTS)

    def _models(self, model: type[M], nodes: list[JSONObject], path: str) -> list[M]:
        """Listed nodes as `model`; UnreadableAnswer when one is not what the listing returns."""
        try:
            return [model.model_validate(n) for n in nodes]
        except ValueError as exc:
            shown = redact(str(self._http.base_url).rstrip("/") + "/" + path.lstrip("/"))
            raise UnreadableAnswer(
                f"the server's answer could not be read (a listed object is {_why_not(exc)}; "
                f"GET {shown}): the server or something between it and this machine is "
                "misbehaving",
                status=200,
                method="GET",
                url=shown,
            ) from None

    def _filtered(self, model: type[M], kind: str, params: Mapping[str, str | None]) -> list[M]:
        """A listing filtered by `params`, where the filters this client relies on (supplier_reference_id,
        project_id) are checked again here: a server or proxy that ignores them lists others' objects, and a
        look-up must never take one of those for its own (an object without a project_id passes that filter)."""
        path = ep.COLLECTIONS[kind]
        found = self._models(model, self._paginate(path, params), path)
        srid, project_id = params.get("supplier_reference_id"), params.get("project_id")
        if srid is not None:
            found = [o for o in found if _field_of(o, "supplier_reference_id") == srid]
        if project_id is not None:
            found = [o for o in found if _field_of(o, "project_id") in (None, project_id)]
        return found

    # -- the resources kinds declare themselves (`endpoints.register`) ----------------------------------
    def list_objects(self, resource: ep.Resource[M], **within: str) -> list[M]:
        """Every object of a declared resource, paginated, from its listing (its parents' IDs in `within`)."""
        path = resource.listed_at(**within)
        return self._models(resource.model, self._paginate(path), path)

    def create_object(self, resource: ep.Resource[M], body: JSONObject, listed: Callable[[], list[M]]) -> M:
        """Create one object of a declared resource. `listed` lists the objects it would be among once created; the
        one with the body's supplier_reference_id (and project, where both have one) is looked for there before a
        re-send that might duplicate (an answer lost) and when the API refuses a duplicate, as for every create
        (`_create`)."""
        srid, project_id = _text(body.get("supplier_reference_id")), _text(body.get("project_id"))

        def found() -> JSONObject | None:
            held = _matching(listed(), srid, project_id)
            return held.model_dump(by_alias=True, mode="json") if held is not None else None

        return resource.model.model_validate(self._create(resource.kind, body, found))

    def list_sources(
        self, *, project_id: str | None = None, supplier_reference_id: str | None = None
    ) -> list[m.Source]:
        params = {"project_id": project_id, "supplier_reference_id": supplier_reference_id}
        return self._filtered(m.Source, "source", params)

    def list_datapoints(
        self, *, project_id: str | None = None, supplier_reference_id: str | None = None
    ) -> list[m.Datapoint]:
        params = {"project_id": project_id, "supplier_reference_id": supplier_reference_id}
        return self._filtered(m.Datapoint, "datapoint", params)

    def list_feedstock_types(self, *, supplier_reference_id: str | None = None) -> list[m.FeedstockType]:
        return self._filtered(m.FeedstockType, "feedstock_type", {"supplier_reference_id": supplier_reference_id})

    def list_ghg_entries(self, *, supplier_reference_id: str | None = None) -> list[m.GhgEntry]:
        return self._filtered(m.GhgEntry, "ghg_entry", {"supplier_reference_id": supplier_reference_id})

    def list_components(
        self,
        *,
        project_id: str | None = None,
        ghg_entry_id: str | None = None,
        supplier_reference_id: str | None = None,
        scope: str | None = None,
        ghg_statement_id: str | None = None,
    ) -> list[m.Component]:
        """Components, filtered; `scope` (REMOVAL, GHG_STATEMENT, PROJECT) lists the shared ones, which have no
        listing of their own (checked again here, as the reference and project are)."""
        params = {
            "project_id": project_id,
            "ghg_entry_id": ghg_entry_id,
            "supplier_reference_id": supplier_reference_id,
            "scope": scope,
            "ghg_statement_id": ghg_statement_id,
        }
        found = self._filtered(m.Component, "component", params)
        return found if scope is None else [c for c in found if c.scope in (None, scope)]

    def list_since(self, kind: str, after: str | None = None, *, project_id: str | None = None) -> Listed:
        """The datapoints or components of a project, or the organisation's GHG entries (`kind`; the API lists
        entries for the whole organisation only), listed after cursor `after` (all when None), with the
        listing's total_count and the cursor to continue from: what a caller keeping a listing between reads
        needs to read only what is new (`importer.planning.carried`)."""
        models: dict[str, type[Listable]] = {
            "datapoint": m.Datapoint,
            "component": m.Component,
            "ghg_entry": m.GhgEntry,
            "production_batch": m.ProductionBatch,
            "biochar_application": m.BiocharApplication,
            "measurement_location": m.MeasurementLocation,
            "measurement_sample": m.MeasurementSample,
            "storage_location": m.StorageLocation,
        }
        model = models[kind]
        path = ep.collection(kind, project_id)
        scoped = "{project_id}" in ep.COLLECTIONS[kind]  # the project is in the path, not a filter
        params = {"project_id": project_id} if project_id is not None and not scoped else None
        nodes, total, cursor = self._pages(path, params, after)
        return Listed(self._models(model, nodes, path), total, cursor)

    def list_storage_locations(self, project_id: str) -> list[m.StorageLocation]:
        """Every storage location of the project, paginated. The listing takes no supplier_reference_id filter:
        callers match by it themselves. NotEnabled when the organisation does not have storage locations (beta)."""
        path = ep.collection("storage_location", project_id)
        found = self._models(m.StorageLocation, self._paginate(path), path)
        return [o for o in found if o.project_id == project_id]

    def get_storage_location(self, project_id: str, id: str) -> m.StorageLocation:
        path = ep.item("storage_location", id, project_id)
        return m.StorageLocation.model_validate(self._request("GET", path, expect=m.StorageLocation.model_validate))

    def create_storage_location(self, req: m.CreateStorageLocationRequest) -> m.StorageLocation:
        """A lost answer, or a duplicate refusal, is settled by listing the project's locations and comparing the
        supplier_reference_id (the listing has no filter)."""

        def find() -> JSONObject | None:
            found = _matching(self.list_storage_locations(req.project_id), req.supplier_reference_id, req.project_id)
            return found.model_dump(by_alias=True) if found else None

        path = ep.collection("storage_location", req.project_id)
        return m.StorageLocation.model_validate(self._create("storage_location", req.body(), find, path=path))

    def patch_storage_location(
        self, project_id: str, id: str, req: m.PatchStorageLocationRequest | Mapping[str, object]
    ) -> m.StorageLocation:
        body = m.PatchStorageLocationRequest.model_validate(req).body()
        path = ep.item("storage_location", id, project_id)
        return m.StorageLocation.model_validate(
            self._request("PATCH", path, json=body, expect=m.StorageLocation.model_validate)
        )

    def list_production_batches(self) -> list[m.ProductionBatch]:
        """Every production batch of the organisation, paginated (the listing has neither a project nor a
        supplier_reference_id filter: callers match by reference themselves)."""
        path = ep.collection("production_batch")
        return self._models(m.ProductionBatch, self._paginate(path), path)

    def get_production_batch(self, id: str) -> m.ProductionBatch:
        path = ep.item("production_batch", id)
        return m.ProductionBatch.model_validate(self._request("GET", path, expect=m.ProductionBatch.model_validate))

    def create_production_batch(self, req: m.CreateProductionBatchRequest) -> m.ProductionBatch:
        """A lost answer, or a duplicate refusal, is settled by listing the batches and comparing the
        supplier_reference_id (the listing has no filter)."""

        def find() -> JSONObject | None:
            found = _matching(self.list_production_batches(), req.supplier_reference_id)
            return found.model_dump(by_alias=True) if found else None

        return m.ProductionBatch.model_validate(self._create("production_batch", req.body(), find))

    def list_biochar_applications(self) -> list[m.BiocharApplication]:
        """Every biochar application of the organisation, paginated (no filter of any kind)."""
        path = ep.collection("biochar_application")
        return self._models(m.BiocharApplication, self._paginate(path), path)

    def get_biochar_application(self, id: str) -> m.BiocharApplication:
        path = ep.item("biochar_application", id)
        return m.BiocharApplication.model_validate(
            self._request("GET", path, expect=m.BiocharApplication.model_validate)
        )

    def create_biochar_application(self, req: m.CreateBiocharApplicationRequest) -> m.BiocharApplication:
        """Settled like a production batch's create: by listing and comparing the supplier_reference_id."""

        def find() -> JSONObject | None:
            found = _matching(self.list_biochar_applications(), req.supplier_reference_id)
            return found.model_dump(by_alias=True) if found else None

        return m.BiocharApplication.model_validate(self._create("biochar_application", req.body(), find))

    def list_measurement_locations(self, *, supplier_reference_id: str | None = None) -> list[m.MeasurementLocation]:
        """The organisation's measurement locations (the answer has no project_id), filtered by reference when
        asked (checked again here: a server that ignores the filter lists others)."""
        params = {"supplier_reference_id": supplier_reference_id} if supplier_reference_id is not None else {}
        return self._filtered(m.MeasurementLocation, "measurement_location", params)

    def get_measurement_location(self, id: str) -> m.MeasurementLocation:
        path = ep.item("measurement_location", id)
        return m.MeasurementLocation.model_validate(
            self._request("GET", path, expect=m.MeasurementLocation.model_validate)
        )

    def create_measurement_location(self, req: m.CreateMeasurementLocationRequest) -> m.MeasurementLocation:
        """A lost answer, or a duplicate refusal, is settled by the filtered listing."""

        def find() -> JSONObject | None:
            found = _matching(
                self.list_measurement_locations(supplier_reference_id=req.supplier_reference_id),
                req.supplier_reference_id,
            )
            return found.model_dump(by_alias=True) if found else None

        return m.MeasurementLocation.model_validate(self._create("measurement_location", req.body(), find))

    def list_measurement_samples(self) -> list[m.MeasurementSample]:
        """Every measurement sample of the organisation, paginated: the listing has no filter, and a sample
        cannot be fetched by ID, so this is the only way to read one back."""
        path = ep.collection("measurement_sample")
        return self._models(m.MeasurementSample, self._paginate(path), path)

    def create_measurement_sample(self, req: m.CreateMeasurementSampleRequest) -> m.MeasurementSample:
        """Settled like a production batch's create: by listing and comparing the supplier_reference_id. Each
        value of the answer carries the datapoint Isometric made of it (locked to the sample)."""

        def find() -> JSONObject | None:
            found = _matching(self.list_measurement_samples(), req.supplier_reference_id)
            return found.model_dump(by_alias=True) if found else None

        return m.MeasurementSample.model_validate(self._create("measurement_sample", req.body(), find))

    def list_component_attributions(self, ghg_entry_id: str) -> list[m.ComponentAttribution]:
        path = ep.GHG_ENTRY_ATTRIBUTIONS.format(id=ghg_entry_id)
        return self._models(m.ComponentAttribution, self._paginate(path), path)

    def list_ghg_statements(self) -> list[m.GhgStatement]:
        path = ep.COLLECTIONS["ghg_statement"]
        return self._models(m.GhgStatement, self._paginate(path), path)

    def _get(self, kind: str, id: str) -> JSONValue:
        """An object's body, checked against its model (`_expected`)."""
        return self._request("GET", ep.item(kind, id))

    def get_source(self, id: str) -> m.Source:
        return m.Source.model_validate(self._get("source", id))

    def get_datapoint(self, id: str) -> m.Datapoint:
        return m.Datapoint.model_validate(self._get("datapoint", id))

    def get_feedstock_type(self, id: str) -> m.FeedstockType:
        return m.FeedstockType.model_validate(self._get("feedstock_type", id))

    def get_ghg_entry(self, id: str) -> m.GhgEntry:
        return m.GhgEntry.model_validate(self._get("ghg_entry", id))

    def get_component(self, id: str) -> m.Component:
        return m.Component.model_validate(self._get("component", id))

    def get_ghg_statement(self, id: str) -> m.GhgStatement:
        return m.GhgStatement.model_validate(self._get("ghg_statement", id))

    # -- writes -------------------------------------------------------------------------------------
    def _first(self, items: list[T]) -> T | None:
        """The first of a look-up's items. Only for listings already filtered here (list_* check the
        supplier_reference_id and project_id they were asked for again); prefer `_matching`, which checks."""
        return items[0] if items else None

    def create_source(self, req: m.CreateSourceRequest) -> m.CreateSourceResponse:
        def find() -> JSONObject | None:
            found = self._first(self.list_sources(supplier_reference_id=req.supplier_reference_id))
            return {"source": found.model_dump(by_alias=True), "signed_upload_url": None} if found else None

        return m.CreateSourceResponse.model_validate(self._create("source", req.body(), find))

    def new_signed_upload_url(self, source_id: str, *, content_length: int, content_type: str) -> str:
        """A fresh signed URL; raises Conflict (409) when the source's document is already uploaded."""
        body = m.SignedUploadUrlRequest(content_length=content_length, content_type=content_type).body()
        return str(self._request("POST", ep.SIGNED_UPLOAD_URL.format(id=source_id), json=body))

    def upload_url_unless_uploaded(self, source_id: str, *, content_length: int, content_type: str) -> str | None:
        """The contract's only upload signal: a fresh signed URL when the document never arrived, None when the
        API answers 409 (the document is there). `url_info.is_accessible` means visibility, not upload."""
        try:
            return self.new_signed_upload_url(source_id, content_length=content_length, content_type=content_type)
        except Conflict:
            return None

    def upload_to_signed_url(self, url: str, data: bytes, content_type: str) -> None:
        """PUT a document to its signed URL: exact Content-Type and Content-Length (a bytes body, never chunked),
        no redirect followed, no API credential sent, and only to an allowlisted HTTPS storage host (or
        loopback when the API itself is local). PUT is idempotent, so 5xx and connection failures are retried.
        Raises UnsafeUploadUrl before sending anything to a refused URL, UploadUrlExpired when the storage no
        longer accepts the URL (ask for a fresh one)."""
        shown = url.split("?")[0]  # the query string is the signature
        problem = upload_url_problem(url, allowed_hosts=self.config.upload_hosts, api_is_loopback=self._api_is_loopback)
        if problem:
            raise UnsafeUploadUrl(problem, method="PUT", url=shown)
        headers = {"Content-Type": content_type, "Content-Length": str(len(data))}
        try:
            for attempt in self._retrying():
                with attempt:
                    try:
                        self._once(self._storage, "PUT", url, content=data, headers=headers)
                    except (CredentialsRefused, Cancelled):
                        raise  # nothing was sent: the client is stopped
                    except ApiError as exc:
                        raise _storage_error(exc, shown) from None
        except _Transient as exc:
            raise exc.error from None

    def upload_and_confirm(
        self, source_id: str, url: str | None, data: bytes, content_type: str, *, attempts: int = 3
    ) -> bool:
        """Make sure the source's document is uploaded, and *confirmed*: True when this call PUT it, False when
        the API already had it (a signed-URL request answered 409). `url` is the signed URL a create returned,
        or None to ask for one. An expired URL is replaced by a fresh one (up to `attempts` PUTs). After a PUT, a
        fresh signed-URL request must answer 409 before the document counts as there; otherwise
        UploadNotConfirmed. Caller: `uploaded = client.upload_and_confirm(source.id, created.signed_upload_url,
        data, row.content_type)` in place of the PUT/confirm loop (then record the source as done)."""
        length = len(data)
        put = False
        for _attempt in range(max(1, attempts)):
            if url is None:
                url = self.upload_url_unless_uploaded(source_id, content_length=length, content_type=content_type)
                if url is None:
                    return put  # 409: the document is there
            try:
                self.upload_to_signed_url(url, data, content_type)
                put = True
            except UploadUrlExpired:
                pass
            url = None  # confirm (or retry with a fresh URL)
        if put:
            if self.upload_url_unless_uploaded(source_id, content_length=length, content_type=content_type) is None:
                return True
            raise UploadNotConfirmed(
                f"the document was sent but the API still offers an upload URL for source "
                f"{source_id} (the upload did not take); run again to resume"
            )
        raise UploadUrlExpired(f"the signed upload URL for source {source_id} kept expiring; run again to resume")

    def create_datapoint(self, req: m.CreateDatapointRequest) -> m.Datapoint:
        def find() -> JSONObject | None:
            found = _matching(
                self.list_datapoints(supplier_reference_id=req.supplier_reference_id),
                req.supplier_reference_id,
                req.project_id,
            )
            return found.model_dump(by_alias=True) if found else None

        return m.Datapoint.model_validate(self._create("datapoint", req.body(), find))

    def patch_datapoint(self, id: str, req: m.PatchDatapointRequest | Mapping[str, object]) -> m.Datapoint:
        body = m.PatchDatapointRequest.model_validate(req).body()
        return m.Datapoint.model_validate(self._request("PATCH", ep.item("datapoint", id), json=body))

    def patch_source(self, id: str, req: m.PatchSourceRequest | Mapping[str, object]) -> m.Source:
        """PATCH is a plain overwrite of the given fields, so repeating it is harmless."""
        body = m.PatchSourceRequest.model_validate(req).body()
        return m.Source.model_validate(self._request("PATCH", ep.item("source", id), json=body))

    # No create_feedstock_type: the API has no POST /feedstock_types ("Feedstock types can only be created via
    # the Certify UI"); the importer looks existing ones up (importer.context) and may PATCH them.

    def patch_feedstock_type(self, id: str, req: m.PatchFeedstockTypeRequest | Mapping[str, object]) -> m.FeedstockType:
        body = m.PatchFeedstockTypeRequest.model_validate(req).body()
        return m.FeedstockType.model_validate(self._request("PATCH", ep.item("feedstock_type", id), json=body))

    def create_ghg_entry(self, req: m.CreateGhgEntryRequest) -> m.GhgEntry:
        def find() -> JSONObject | None:
            found = _matching(
                self.list_ghg_entries(supplier_reference_id=req.supplier_reference_id),
                req.supplier_reference_id,
                req.project_id,
            )
            return found.model_dump(by_alias=True) if found else None

        return m.GhgEntry.model_validate(self._create("ghg_entry", req.body(), find))

    def patch_ghg_entry(self, id: str, req: m.PatchGhgEntryRequest | Mapping[str, object]) -> m.GhgEntry:
        """Raises ValueError before sending when asked to clear a field (e.g. feedstock_type_id: None): the API
        cannot."""
        body = m.PatchGhgEntryRequest.model_validate(req).body()
        return m.GhgEntry.model_validate(self._request("PATCH", ep.item("ghg_entry", id), json=body))

    def create_component(self, req: m.CreateComponentRequest) -> m.Component:
        def find() -> JSONObject | None:
            found = _matching(
                self.list_components(supplier_reference_id=req.supplier_reference_id),
                req.supplier_reference_id,
                req.project_id,
            )
            return found.model_dump(by_alias=True) if found else None

        return m.Component.model_validate(self._create("component", req.body(), find))

    def _shared_component(
        self, path: str, req: m.CreateProjectComponentRequest | m.CreateGhgStatementComponentRequest
    ) -> m.Component:
        """A project or statement component's create, settled like a component's (by its supplier_reference_id
        in the component listing: the shared ones have no listing of their own)."""
        data = req.component_data

        def find() -> JSONObject | None:
            listed = self.list_components(supplier_reference_id=data.supplier_reference_id)
            found = _matching(listed, data.supplier_reference_id, data.project_id)
            return found.model_dump(by_alias=True) if found else None

        return m.Component.model_validate(self._create("component", req.body(), find, path=path))

    def create_project_component(self, req: m.CreateProjectComponentRequest) -> m.Component:
        return self._shared_component(ep.PROJECT_COMPONENTS, req)

    def create_ghg_statement_component(self, req: m.CreateGhgStatementComponentRequest) -> m.Component:
        return self._shared_component(ep.GHG_STATEMENT_COMPONENTS, req)

    def attribute_project_component(self, component_id: str, req: m.ProjectComponentAttributionRequest) -> m.GhgEntry:
        """A MANUAL project component's share of one entry (POST sets it: sending it again sets the same)."""
        path = ep.PROJECT_COMPONENT_ATTRIBUTIONS.format(id=component_id)
        return m.GhgEntry.model_validate(
            self._request("POST", path, json=req.body(), before_retry=lambda: None, expect=m.GhgEntry.model_validate)
        )

    def remove_project_component_attribution(self, component_id: str, ghg_entry_id: str) -> None:
        path = ep.PROJECT_COMPONENT_ATTRIBUTIONS.format(id=component_id) + f"/{ghg_entry_id}"
        self._request("DELETE", path, gone_is_done=True)

    def patch_component(self, id: str, req: m.PatchComponentRequest | Mapping[str, object]) -> m.Component:
        body = m.PatchComponentRequest.model_validate(req).body()
        return m.Component.model_validate(self._request("PATCH", ep.item("component", id), json=body))

    def patch_component_attributions(self, ghg_entry_id: str, req: m.PatchComponentAttributionsRequest) -> m.GhgEntry:
        path = ep.GHG_ENTRY_ATTRIBUTIONS.format(id=ghg_entry_id)
        body = req.body()

        def remaining() -> JSONValue:
            """Drop what an earlier, lost attempt already did; None means something is left to send."""
            current = {a.component_id: a for a in self.list_component_attributions(ghg_entry_id)}
            body["components_to_add"] = [
                c for c in _items(body.get("components_to_add")) if _component_id(c) not in current
            ]
            body["components_to_remove"] = [c for c in _items(body.get("components_to_remove")) if c in current]
            if not body["components_to_add"] and not body["components_to_remove"]:
                return self._get("ghg_entry", ghg_entry_id)
            return None

        return m.GhgEntry.model_validate(self._request("PATCH", path, json=body, before_retry=remaining))

    def create_ghg_statement(self, req: m.CreateGhgStatementRequest) -> m.GhgStatement:
        def find() -> JSONObject | None:
            for statement in self.list_ghg_statements():
                if statement.project_id == req.project_id and statement.reporting_period_end_at == req.end_on:
                    return statement.model_dump(by_alias=True)
            return None

        return m.GhgStatement.model_validate(self._create("ghg_statement", req.body(), find, lookup_on_refusal=True))

    def submit_ghg_statement(self, id: str, req: m.SubmitGhgStatementRequest) -> m.GhgStatement:
        def already() -> JSONObject | None:
            statement = self.get_ghg_statement(id)
            return statement.model_dump(by_alias=True) if statement.status != "DRAFT" else None

        path = ep.GHG_STATEMENT_SUBMIT.format(id=id)
        return m.GhgStatement.model_validate(self._request("POST", path, json=req.body(), before_retry=already))

    def delete(self, kind: str, id: str, *, project_id: str | None = None) -> None:
        """Delete one object; NotFound when it does not exist (but not when an earlier attempt of this very call,
        whose answer was lost, already deleted it). `project_id` is needed by project-scoped kinds (storage
        locations) and ignored by the others."""
        if kind not in ep.DELETABLE:
            raise ValueError(f"cannot delete a {kind!r}; deletable: {', '.join(ep.DELETABLE)}")
        self._request("DELETE", ep.item(kind, id, project_id), gone_is_done=True)


__all__ = ["ClientConfig", "IsometricClient", "Listed", "NotFound", "ServerError"]
