"""A request contract check: every request the sandbox receives is held against the published document
(`../shared/isometric/mrv.openapi.json`, read through `contract.document()`, never copied).

`ContractMiddleware` wraps the sandbox's ASGI app (construct `SandboxServer`, wrap its `.app`, then start it;
`checked_sandbox` does exactly that) and hands each request to `RequestContract.check`, which validates:
- the path: under the `/mrv/v0` server prefix, matched to one of the document's path templates, with the
  method declared there (deprecated operations count as violations: the client must use the renamed ones)
  and its path parameters valid against their schemas;
- the query: every parameter declared for the operation (in: query), its value valid (query values arrive
  as text: integers and booleans are read as such before validating), required ones present;
- the credentials the operation declares (`x-client-secret` header, Bearer token);
- the body: JSON with the declared content type when the operation has a requestBody (none otherwise),
  valid against its schema with jsonschema (Draft 2020-12, `$ref`s resolved with `referencing`, formats
  `date` and `date-time` checked) where every object is closed (`additionalProperties: false`): an
  undeclared property is a violation, as is a null the schema does not allow.

Signed-upload PUTs to the sandbox's object storage (`/_storage/upload/...`) are outside the document: they are
skipped explicitly and counted. Everything is recorded: `violations` (text), `seen` (operation -> count).
"""

from __future__ import annotations

import collections
import copy
import datetime as dt
import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource

from contract import document

PREFIX = "/mrv/v0"
STORAGE_PREFIX = "/_storage/upload/"
URI = "urn:mrv-openapi-requests"
METHODS = ("get", "post", "put", "patch", "delete")


def _closed(node: Any) -> Any:
    """The schema with every object closed: `additionalProperties: false` wherever properties are declared
    and nothing says otherwise (request bodies must carry declared fields only)."""
    if isinstance(node, dict):
        out = {k: _closed(v) for k, v in node.items()}
        if "properties" in out and "additionalProperties" not in out and "patternProperties" not in out:
            out["additionalProperties"] = False
        return out
    if isinstance(node, list):
        return [_closed(v) for v in node]
    return node


def _format_checker() -> FormatChecker:
    checker = FormatChecker()

    @checker.checks("date", raises=ValueError)
    def is_date(value: object) -> bool:
        return not isinstance(value, str) or bool(
            re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) and dt.date.fromisoformat(value)
        )

    @checker.checks("date-time", raises=ValueError)
    def is_date_time(value: object) -> bool:
        if not isinstance(value, str):
            return True
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})", value):
            raise ValueError(f"{value!r} is not an RFC 3339 date-time with a time zone")
        dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        return True

    return checker


@lru_cache(maxsize=1)
def _strict_document() -> dict[str, Any]:
    return _closed(copy.deepcopy(document()))


@lru_cache(maxsize=1)
def _registry() -> Registry:
    return Registry().with_resource(URI, Resource.opaque(_strict_document()))


@lru_cache(maxsize=256)
def _validator(schema_json: str) -> Draft202012Validator:
    rewritten = json.loads(schema_json.replace('"#/components/', f'"{URI}#/components/'))
    return Draft202012Validator(rewritten, registry=_registry(), format_checker=_format_checker())


def _errors(schema: dict[str, Any], instance: Any) -> list[str]:
    v = _validator(json.dumps(_closed(schema), sort_keys=True))
    out = []
    for e in sorted(v.iter_errors(instance), key=lambda e: list(map(str, e.absolute_path))):
        where = "/".join(map(str, e.absolute_path)) or "(body)"
        out.append(f"{where}: {e.message}")
    return out


@dataclass(frozen=True)
class _Template:
    path: str
    pattern: re.Pattern[str]
    params: int


@lru_cache(maxsize=1)
def _templates() -> tuple[_Template, ...]:
    out = []
    for path in document()["paths"]:
        regex = "^" + re.sub(r"\\\{([^}]+)\\\}", r"(?P<\1>[^/]+)", re.escape(path)) + "$"
        out.append(_Template(path, re.compile(regex), path.count("{")))
    return tuple(sorted(out, key=lambda t: (t.params, t.path)))  # literal segments win over parameters


def _query_candidates(value: str) -> list[Any]:
    """A query value is text; the schema may want an integer, a number or a boolean."""
    out: list[Any] = [value]
    if re.fullmatch(r"-?\d+", value):
        out.append(int(value))
    with suppress(ValueError):
        out.append(float(value))
    if value in ("true", "false"):
        out.append(value == "true")
    return out


class RequestContract:
    """Validates requests against the document and records what it saw."""

    def __init__(self) -> None:
        self.doc = document()
        self.violations: list[str] = []
        self.seen: collections.Counter[str] = collections.Counter()
        self.skipped: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()

    # -- the check ------------------------------------------------------------------------------------
    def check(
        self,
        method: str,
        path: str,
        *,
        query: list[tuple[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
    ) -> list[str]:
        """The problems of one request (empty when it fits the document); recorded as well."""
        method = method.upper()
        headers = {k.lower(): v for k, v in (headers or {}).items()}
        problems: list[str] = []
        if method == "PUT" and path.startswith(STORAGE_PREFIX):
            with self._lock:
                self.skipped["PUT (signed upload to storage)"] += 1
            return []
        label = f"{method} {path}"
        if not path.startswith(PREFIX + "/"):
            problems.append("outside the API's /mrv/v0 prefix and not a signed upload")
            return self._record(label, problems, None)
        rest = path[len(PREFIX) :]
        match = next(((t, m) for t in _templates() if (m := t.pattern.match(rest))), None)
        if match is None:
            problems.append("no path of the document matches")
            return self._record(label, problems, None)
        template, found = match
        item = self.doc["paths"][template.path]
        op = item.get(method.lower())
        operation = f"{method} {template.path}"
        if op is None:
            declared = [m.upper() for m in METHODS if m in item]
            problems.append(f"method not declared for {template.path} (declared: {', '.join(declared)})")
            return self._record(label, problems, operation)
        if op.get("deprecated"):
            problems.append(f"{operation} is deprecated in the document")
        params = [*item.get("parameters", []), *op.get("parameters", [])]
        by_place: dict[str, dict[str, dict[str, Any]]] = collections.defaultdict(dict)
        for p in params:
            by_place[p["in"]][p["name"]] = p
        for name, value in found.groupdict().items():
            spec = by_place["path"].get(name)
            if spec is None:
                problems.append(f"path parameter {name} is not declared")
                continue
            problems += [f"path {name}: {e}" for e in _errors(spec.get("schema", {}), value)]
        problems += self._query(query or [], by_place["query"])
        problems += self._credentials(op, headers, by_place["header"])
        problems += self._body(op, headers, body)
        return self._record(label, problems, operation)

    def _query(self, query: list[tuple[str, str]], declared: dict[str, dict[str, Any]]) -> list[str]:
        problems = []
        counts = collections.Counter(name for name, _ in query)
        for name, value in query:
            spec = declared.get(name)
            if spec is None:
                problems.append(f"query parameter {name!r} is not declared for this operation")
                continue
            if spec.get("deprecated"):
                problems.append(f"query parameter {name!r} is deprecated")
            schema = spec.get("schema", {})
            if counts[name] > 1 and schema.get("type") != "array":
                problems.append(f"query parameter {name!r} given {counts[name]} times")
            if not any(not _errors(schema, c) for c in _query_candidates(value)):
                problems.append(f"query {name}={value!r}: " + "; ".join(_errors(schema, value)))
        for name, spec in declared.items():
            if spec.get("required") and name not in counts:
                problems.append(f"required query parameter {name!r} missing")
        return problems

    def _credentials(
        self, op: dict[str, Any], headers: dict[str, str], declared: dict[str, dict[str, Any]]
    ) -> list[str]:
        problems = []
        for name, spec in declared.items():
            if spec.get("required") and name.lower() not in headers:
                problems.append(f"required header {name!r} missing")
        schemes = {name for req in op.get("security", []) for name in req}
        if "HTTPBearer" in schemes and not headers.get("authorization", "").startswith("Bearer "):
            problems.append("no Bearer token although the operation requires HTTPBearer")
        return problems

    def _body(self, op: dict[str, Any], headers: dict[str, str], body: bytes | None) -> list[str]:
        spec = op.get("requestBody")
        if spec is None:
            return ["a body is sent but the operation declares none"] if body else []
        if not body:
            return ["the operation requires a body; none sent"] if spec.get("required") else []
        content = spec.get("content", {})
        ctype = headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype not in content:
            return [f"content type {ctype or '(none)'} not declared (declared: {', '.join(content)})"]
        try:
            instance = json.loads(body)
        except ValueError as exc:
            return [f"the body is not JSON ({exc})"]
        return [f"body {e}" for e in _errors(content[ctype]["schema"], instance)]

    def _record(self, label: str, problems: list[str], operation: str | None) -> list[str]:
        with self._lock:
            self.seen[operation or label] += 1
            self.violations += [f"{label}: {p}" for p in problems]
        return problems

    # -- reporting --------------------------------------------------------------------------------------
    def summary(self) -> str:
        lines = [f"{n:4d}  {op}" for op, n in sorted(self.seen.items())]
        lines += [f"{n:4d}  {what} (outside the document, skipped)" for what, n in sorted(self.skipped.items())]
        return "\n".join(lines)

    def assert_clean(self) -> None:
        assert not self.violations, (
            "requests outside the contract:\n" + "\n".join(self.violations) + "\n\noperations seen:\n" + self.summary()
        )


class ContractMiddleware:
    """ASGI middleware: reads each HTTP request's body, checks the request, then replays it to the app."""

    def __init__(
        self, app: Any, contract: RequestContract, only: Callable[[str, dict[str, str]], bool] | None = None
    ) -> None:
        self.app = app
        self.contract = contract
        self.only = only  # which requests to check, by their path and headers (None: all)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        declared = headers.get("content-length", "")
        cut_short = declared.isdigit() and len(body) < int(declared)  # the sender died mid-request (a SIGKILL test)
        if not cut_short and (self.only is None or self.only(scope["path"], headers)):
            self.contract.check(scope["method"], scope["path"], query=query, headers=headers, body=body or None)
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


@contextmanager
def checked_sandbox(db_path: Path, *, inner: Callable[[Any], Any] | None = None) -> Iterator[Any]:
    """A SandboxServer whose every request goes through the contract check (`server.contract`); `inner` may
    wrap the sandbox's app first (a test's own ASGI stand-in, e.g. storage refusing uploads)."""
    from importer.sandbox import SandboxServer

    server = SandboxServer(db_path=db_path)
    contract = RequestContract()
    server.app = ContractMiddleware(inner(server.app) if inner else server.app, contract)
    server.contract = contract  # type: ignore[attr-defined]
    with server:
        yield server
