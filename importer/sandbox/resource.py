"""What a resource module of the sandbox (`storage_locations`, `production_batches`, `biochar_applications`,
`measurements`, ...) receives from the app: `Kit`. Each resource module exposes `routes(kit)`, and `PREFIXES` when
it mints IDs of a kind the sandbox's ID module does not name; the app finds them itself (`discover`): a new
resource is a module of this package, nothing more."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from pydantic import BaseModel
from starlette.requests import Request

from importer.sandbox import ids
from importer.sandbox import schemas as s
from importer.sandbox.logic import not_found, render
from importer.sandbox.problems import Problem
from importer.sandbox.store import SandboxStore, paginate


@dataclass(frozen=True)
class Kit:
    """What a resource's routes need of the app (`importer.sandbox.app` hands it over; nothing here imports it):
    `api` wraps a handler with authentication, path checks and the error shape, `body` reads a request body as a
    model (and the PATCH fields it sets), `params` reads query or path parameters as a model."""

    store: SandboxStore
    prefix: str
    api: Callable[..., Callable[[Request], Awaitable[Any]]]
    body: Callable[[Request, type[BaseModel]], Awaitable[tuple[Any, set[str]]]]
    params: Callable[[type[BaseModel], Any, str], Any]


def held(store: SandboxStore, kind: str, id_: str) -> dict[str, Any]:
    """The object of `kind` with that ID, or the 404 a real deployment answers (API-NOTES, Errors)."""
    found = store.get(kind, id_)
    if found is None:
        raise not_found(kind.replace("_", " "), id_)
    return found


def refuse_if_cited(what: str, id_: str, citing_noun: str, citing: list[str]) -> None:
    """The 422 a DELETE answers for an object others still cite (a batch its applications, a location its samples):
    nothing is deleted, and the answer names what to delete first."""
    if citing:
        msg = f"{what} {id_} is cited by {citing_noun} {', '.join(citing)}: delete them first"
        raise Problem(422, [{"type": "value_error", "loc": ["path", "id"], "msg": msg, "input": id_}])


def page_of(store: SandboxStore, kind: str, items: list[dict[str, Any]], query: s.Query) -> dict[str, Any]:
    """One page of `items` (Relay: first/after, last/before), each rendered as its kind is answered."""
    page = paginate(store, items, first=query.first, last=query.last, after=query.after, before=query.before)
    page["nodes"] = [render(store, kind, o) for o in page["nodes"]]
    return page


def listing(kit: Kit, kind: str) -> Callable[[Request], Awaitable[Any]]:
    """`GET` of a collection the document gives no filter but the page's (the organisation's whole list)."""

    async def handler(request: Request) -> Any:
        query = kit.params(s.Query, request.query_params, "query")
        with kit.store.lock:
            return page_of(kit.store, kind, kit.store.all(kind), query)

    return handler


def getter(kit: Kit, kind: str) -> Callable[[Request], Awaitable[Any]]:
    """`GET` of one object by its path's ID."""

    async def handler(request: Request) -> Any:
        with kit.store.lock:
            return render(kit.store, kind, held(kit.store, kind, request.path_params["id"]))

    return handler


#: the package's modules that assemble the resources rather than serve one
_ASSEMBLERS = frozenset({"app", "server", "resource"})


def discover() -> tuple[ModuleType, ...]:
    """Every resource module of the sandbox package (one exposing `routes(kit)`), by name; the prefixes a module
    declares (`PREFIXES`: kind -> prefix) join the sandbox's IDs (`ids.PREFIXES`)."""
    package = importlib.import_module("importer.sandbox")
    found: list[ModuleType] = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if info.name in _ASSEMBLERS or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        if not callable(getattr(module, "routes", None)):
            continue
        for kind, prefix in getattr(module, "PREFIXES", {}).items():
            if ids.PREFIXES.setdefault(kind, prefix) != prefix:
                raise ValueError(f"sandbox resource {info.name}: {kind!r} already has the prefix {ids.PREFIXES[kind]}")
        found.append(module)
    return tuple(found)
