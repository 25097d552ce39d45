"""What a resource module of the sandbox (`storage_locations`, `production_batches`, `biochar_applications`,
`measurements`) receives from the app: `Kit`. Each resource module exposes `routes(kit)`;
`importer.sandbox.app.RESOURCES` lists them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from starlette.requests import Request

from importer.sandbox.store import SandboxStore


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
