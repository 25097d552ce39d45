"""The published contract (`../shared/isometric/mrv.openapi.json`) as JSON Schema validators, for contract
tests of the sandbox's responses and the client's requests. The document is read, never copied."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

OPENAPI = Path(__file__).resolve().parents[1].parent / "shared" / "isometric" / "mrv.openapi.json"
URI = "urn:mrv-openapi"


@lru_cache(maxsize=1)
def document() -> dict[str, Any]:
    """The document; a test that needs it FAILS when it is missing (never skips: a green suite without the
    contract would say nothing about it)."""
    if not OPENAPI.exists():
        pytest.fail(
            f"the published contract is not beside the repository ({OPENAPI}): check out shared/ beside "
            "this repository",
            pytrace=False,
        )
    return json.loads(OPENAPI.read_text())


@lru_cache(maxsize=1)
def _registry() -> Registry:
    return Registry().with_resource(URI, Resource.opaque(document()))


def validator(schema: dict[str, Any]) -> Draft202012Validator:
    """A validator for a schema fragment of the document ($refs resolve inside the document)."""
    rewritten = json.loads(json.dumps(schema).replace('"#/components/', f'"{URI}#/components/'))
    return Draft202012Validator(rewritten, registry=_registry())


def component(name: str) -> Draft202012Validator:
    return validator({"$ref": f"#/components/schemas/{name}"})


def response_schema(method: str, path: str, status: str = "200") -> Draft202012Validator:
    op = document()["paths"][path][method.lower()]
    return validator(op["responses"][status]["content"]["application/json"]["schema"])


def request_schema(method: str, path: str) -> Draft202012Validator:
    op = document()["paths"][path][method.lower()]
    return validator(op["requestBody"]["content"]["application/json"]["schema"])


def errors_of(v: Draft202012Validator, instance: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in v.iter_errors(instance)]
