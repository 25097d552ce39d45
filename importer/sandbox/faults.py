"""Fault injection for tests and benchmarks, as a pure ASGI middleware in front of the sandbox app.

Modes (each a rate in [0, 1], drawn from one seeded random stream, so a sequential run is reproducible):
per-request latency; 429 with Retry-After; 500; 503; a dropped connection (headers sent, then the
connection is cut before the body: the client sees an incomplete response, as after a network fault); a
slow answer (sleeps past a client's timeout, then answers); a lost response (the write is carried out and
committed, then the connection is cut: the case that duplicates in naive clients); signed upload URLs that
expire (a short TTL, or the first URL of each source issued already expired, as when an import resumes
hours later); and a budget of
requests per second answering 429 beyond it, per endpoint (method and path with IDs collapsed: `budget_scope`
"endpoint") or for all API requests together ("global": `/mrv/v0` only, not the storage's upload URLs), in
fixed one-second windows; with `rate_headers`, every budgeted answer carries the IETF draft's
(draft-ietf-httpapi-ratelimit-headers) `RateLimit-Policy: "endpoint";q=20;w=1;pk=:...:` and
`RateLimit: "endpoint";r=7;t=1;pk=:...:` (the partition key `pk`, the route's key in base64, only per
endpoint; "global" policies have none), without them no header at all, as Isometric's API today.
`fault_rate` spreads a total rate over all modes.
Only `/mrv/v0` API calls and the `/_storage` upload URL are affected, never `/_sandbox` admin calls.

A fixed answer, every time, to some requests: `answer_status` (a 422 naming `answer_field` in its
`detail[].loc`, a 429, a proxy's HTML 502, a 503...) for the paths under `/mrv/v0` starting with one of
`answer_paths` (every API path when None) and the `methods` given. With `request_ids`, every injected answer
carries an `X-Request-Id`, as a server or proxy sends one.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import math
import random
import threading
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, fields
from typing import Any

WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})


@dataclass
class FaultConfig:
    seed: int | None = None
    latency_ms: float = 0
    fault_rate: float = 0.0
    rate_429: float = 0.0
    retry_after_seconds: float = 1.0
    rate_500: float = 0.0
    rate_503: float = 0.0
    rate_drop: float = 0.0
    rate_slow: float = 0.0
    slow_seconds: float = 35.0
    rate_lost_response: float = 0.0
    upload_url_ttl_seconds: float = 3600.0
    expire_first_upload_url: bool = False  # the URL returned by POST /sources is already expired
    budget_per_second: float | None = None
    budget_scope: str = "endpoint"  # "endpoint": a budget per method and path template; "global": one for all
    rate_headers: bool = False  # send RateLimit-Policy / RateLimit (IETF draft) with every budgeted answer
    methods: list[str] | None = None  # draw faults only for these HTTP methods (None: all)
    answer_status: int | None = None  # answer this status, every time, to the requests below
    answer_paths: list[str] | None = None  # path prefixes below /mrv/v0 ("/datapoints"); None: every API path
    answer_field: str | None = None  # the field a 422's detail[].loc names ("display_name", "quantity.magnitude")
    request_ids: bool = False  # injected answers carry X-Request-Id: req_fault000001, req_fault000002...

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FaultConfig:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def rates(self) -> dict[str, float]:
        share = self.fault_rate / 6 if self.fault_rate else 0.0
        return {
            "429": self.rate_429 + share,
            "500": self.rate_500 + share,
            "503": self.rate_503 + share,
            "drop": self.rate_drop + share,
            "slow": self.rate_slow + share,
            "lost": self.rate_lost_response + share,
        }


class ConnectionCut(Exception):
    """Raised after response headers to make the server drop the connection mid-response."""


class FaultInjector:
    def __init__(self, app: Any, config: FaultConfig | None = None) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.set(config or FaultConfig())

    def set(self, config: FaultConfig) -> None:
        with self.lock:
            self.config = config
            self.rng = random.Random(config.seed)
            self.windows: dict[str, tuple[int, int]] = defaultdict(lambda: (0, 0))
            self.stats: dict[str, int] = defaultdict(int)
            self.request_numbers = itertools.count(1)

    def _draw(self, method: str) -> str | None:
        with self.lock:
            roll = self.rng.random()
        acc = 0.0
        for mode, rate in self.config.rates().items():
            if mode == "lost" and method not in WRITE_METHODS:
                continue
            acc += rate
            if roll < acc:
                return mode
        return None

    def _over_budget(self, key: str) -> bool:
        return self._budget(key)[0]

    def _budget(self, key: str) -> tuple[bool, int, float]:
        """Count one request against `key`'s window: (over the budget, requests left in the window, seconds until
        the window resets). No budget: (False, 0, 0)."""
        budget = self.config.budget_per_second
        if not budget:
            return False, 0, 0.0
        with self.lock:
            now = time.monotonic()
            second = int(now)
            window, count = self.windows[key]
            if window != second:
                window, count = second, 0
            count += 1
            self.windows[key] = (window, count)
            return count > budget, max(0, int(budget) - count), second + 1 - now

    def _budget_key(self, method: str, path: str) -> str | None:
        """The budget a request counts against: its route, or one for every API request (None: no budget)."""
        if self.config.budget_scope == "global":
            return "global" if path.startswith("/mrv/v0") else None
        return _route_key(method, path)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(("/mrv/v0", "/_storage")):
            await self.app(scope, receive, send)
            return
        config = self.config
        if config.latency_ms:
            await asyncio.sleep(config.latency_ms / 1000)
        method = scope["method"]
        key = self._budget_key(method, path)
        over, left, reset = self._budget(key) if key is not None else (False, 0, 0.0)
        if key is not None and config.rate_headers and config.budget_per_second:
            send = _with_headers(send, _rate_headers(config, key, left, reset))
        if over:
            self._count("budget_429")
            await _json(send, 429, {"detail": "Rate limit exceeded"}, retry_after=1)
            return
        chosen = not config.methods or method in config.methods
        if config.answer_status and chosen and _under(path, config.answer_paths):
            self._count(f"answer_{config.answer_status}")
            await self._answer(send, config.answer_status, config)
            return
        mode = self._draw(method) if chosen else None
        if mode:
            self._count(mode)
        if mode in ("429", "500", "503"):
            await self._answer(send, int(mode), config)
            return
        if mode == "drop":
            await _cut(send)
            return
        if mode == "slow":
            await asyncio.sleep(config.slow_seconds)
        if mode == "lost":

            async def swallow(message: dict[str, Any]) -> None:
                return None

            await self.app(scope, receive, swallow)  # the write happens and is committed ...
            await _cut(send)  # ... but the answer never arrives
            return
        await self.app(scope, receive, send)

    async def _answer(self, send: Any, status: int, config: FaultConfig) -> None:
        """An error answer as servers and proxies give them: FastAPI's 422 `detail[]`, a JSON `detail` from the
        API, a proxy's HTML page for a 502."""
        request_id = None
        if config.request_ids:
            with self.lock:
                request_id = f"req_fault{next(self.request_numbers):06d}"
        if status == 502:
            page = b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"
            await _send(send, status, page, b"text/html", request_id=request_id)
            return
        body: Any
        if status == 422:
            loc = ["body", *(config.answer_field or "body").split(".")]
            body = {
                "detail": [
                    {
                        "loc": loc if config.answer_field else ["body"],
                        "type": "value_error",
                        "msg": "the value is not accepted (fault injection)",
                    }
                ]
            }
        else:
            body = {
                "detail": {429: "Too many requests", 500: "Internal server error", 503: "Service unavailable"}.get(
                    status, f"HTTP {status}"
                )
            }
        await _json(
            send, status, body, retry_after=config.retry_after_seconds if status == 429 else None, request_id=request_id
        )

    def _count(self, mode: str) -> None:
        with self.lock:
            self.stats[mode] += 1


def _route_key(method: str, path: str) -> str:
    parts = [p for p in path.split("/") if p]
    shape = "/".join("{id}" if len(p) >= 20 and p[3:4] == "_" else p for p in parts)
    return f"{method} /{shape}"


def _rate_headers(config: FaultConfig, key: str, left: int, reset: float) -> list[tuple[bytes, bytes]]:
    """RateLimit-Policy and RateLimit as structured fields (draft-ietf-httpapi-ratelimit-headers): the quota `q`
    per window `w` seconds, what is left `r` and the seconds until the window resets `t` (whole seconds, rounded
    up); per endpoint, the partition key `pk` names the route (a byte sequence, base64)."""
    name = "global" if config.budget_scope == "global" else "endpoint"
    pk = "" if name == "global" else f";pk=:{base64.b64encode(key.encode()).decode()}:"
    quota = max(1, int(config.budget_per_second or 0))
    policy = f'"{name}";q={quota};w=1{pk}'
    state = f'"{name}";r={left};t={max(0, math.ceil(reset))}{pk}'
    return [(b"ratelimit-policy", policy.encode()), (b"ratelimit", state.encode())]


def _with_headers(send: Any, extra: list[tuple[bytes, bytes]]) -> Any:
    """`send` adding `extra` to the response's headers."""

    async def sending(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), *extra]}
        await send(message)

    return sending


def _under(path: str, prefixes: list[str] | None) -> bool:
    """Whether an API path (below /mrv/v0) starts with one of `prefixes` (every API path when None)."""
    if not path.startswith("/mrv/v0"):
        return False
    below = path[len("/mrv/v0") :]
    return prefixes is None or any(below.startswith(p) for p in prefixes)


async def _json(
    send: Any, status: int, body: Any, *, retry_after: float | None = None, request_id: str | None = None
) -> None:
    await _send(
        send, status, json.dumps(body).encode(), b"application/json", retry_after=retry_after, request_id=request_id
    )


async def _send(
    send: Any,
    status: int,
    payload: bytes,
    content_type: bytes,
    *,
    retry_after: float | None = None,
    request_id: str | None = None,
) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(payload)).encode())]
    if retry_after is not None:
        headers.append((b"retry-after", str(max(0, round(retry_after, 3))).encode()))
    if request_id is not None:
        headers.append((b"x-request-id", request_id.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


async def _cut(send: Any) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"1000")],
        }
    )
    await send({"type": "http.response.body", "body": b'{"partial', "more_body": True})
    raise ConnectionCut("fault injection: connection dropped")
