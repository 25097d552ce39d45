"""The sandbox's refusals: `Problem(status, detail)`, the exception every rule raises and the app answers as an
HTTP error with that status and `{"detail": ...}` body, and `duplicate`, the one refusal the store itself makes
(a second object of a kind with the same supplier_reference_id). Below both the rules (`logic`) and the store,
so neither has to import the other for it."""

from __future__ import annotations

from typing import Any


class Problem(Exception):
    def __init__(self, status: int, detail: Any) -> None:
        super().__init__(str(detail))
        self.status = status
        self.detail = detail


def duplicate(kind: str, srid: str) -> Problem:
    """The API's refusal of a second object with a supplier_reference_id (422, `value_error.duplicate`)."""
    from importer.sandbox.schemas import issue  # pydantic loads with the request schemas, not with the store

    return Problem(
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


__all__ = ["Problem", "duplicate"]
