"""Why an action failed, as a typed value from the HTTP response to every output (issue #25).

`failure_of(exc, sheet=...)` turns what an action raised into a `Failure`: one of eight categories, the HTTP
status, the server's request ID, the field a 422 named (its `detail[].loc`) and the workbook column that field
comes from, the attempts and time when known, and the message. `advice(failure, sheet, row)` says what to do,
from the category alone: the HTML report, the terminal, the CSV of failures and `--json` all read these fields
and never parse a message.

Categories:
- ``workbook``: the API refused a row's values (a 422 naming a column of the row's sheet, a 404 of an ID it
  gave): fix the row;
- ``contract``: the API refused the request as the importer built it (a 400, a 422 naming a field no cell holds,
  another 4xx): the importer and the API disagree;
- ``credentials``: 401/403, unusable credentials, an API URL refused as insecure: check the environment;
- ``rate``: 429 after every retry: run again later, nothing to fix in the workbook;
- ``server``: 5xx (from the API or a proxy in front of it), an answer that could not be read: run again;
- ``network``: no answer (refused, dropped, timed out): run again;
- ``conflict``: 409, or the registry holds a value it will not change (a plan's conflict);
- ``local``: this machine (a file, the local state, a bug): fix what the message says.

Imports nothing of the importer at module level but the workbook's spec (column names), so every layer may use it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the API's errors load with the client (lazily, below)
    from importer.api.errors import ApiError
    from importer.json_types import JSONObject, JSONValue

CATEGORIES = ("workbook", "contract", "credentials", "rate", "server", "network", "conflict", "local")
#: categories whose failures a re-run may cure without touching the workbook
RETRYABLE = frozenset({"rate", "server", "network"})

CATEGORY_LABELS = {
    "workbook": "refused by the API: the workbook's values",
    "contract": "refused by the API: the request",
    "credentials": "credentials",
    "rate": "rate limited by the API",
    "server": "server error",
    "network": "no answer (network)",
    "conflict": "conflict with the registry",
    "local": "local problem",
}

#: an API field (dotted, without "body" and list indices) -> the workbook column that carries it, when the names
#: differ; a field of the same name as a column of the row's sheet needs no entry
FIELD_COLUMNS = {
    "quantity.magnitude": "magnitude",
    "quantity.unit": "unit",
    "quantity.standard_deviation": "standard_deviation",
    "source_ids": "source_refs",
    "datapoint_ids": "datapoint_refs",
    "datapoint_id": "datapoint_refs",
    "original_filename": "file",
    "content_length": "file",
    "content_type": "file",
    "ghg_entry_template_id": "template",
    "feedstock_type_id": "feedstock_type",
    "component_blueprint_key": "blueprint_key",
    "component_group_key": "group",
    "end_on": "statement_end_on",
}


@dataclass(frozen=True)
class Failure:
    """What went wrong with one action. `field` is the API's name of what it refused (``quantity.magnitude``);
    `column` the workbook column holding it, when there is one on the row's sheet."""

    category: str  # one of CATEGORIES
    message: str
    status: int | None = None  # the HTTP status of the answer; None when there was none
    request_id: str | None = None  # the server's ID of the request (X-Request-Id and the like)
    field: str | None = None
    column: str | None = None
    attempts: int | None = None  # requests sent for the step that failed, when known
    elapsed_seconds: float | None = None  # time the action took until it failed, when known
    method: str | None = None
    url: str | None = None

    @property
    def retryable(self) -> bool:
        return self.category in RETRYABLE

    def to_json(self) -> JSONObject:
        return asdict(self)


def conflict(message: str) -> Failure:
    """A plan's conflict: the registry holds a value it will not change (nothing was sent)."""
    return Failure("conflict", message)


def failure_of(exc: BaseException, *, sheet: str | None = None, elapsed_seconds: float | None = None) -> Failure:
    """The typed failure of what an action raised (an ApiError with its status, request id and detail; any other
    exception is local). `sheet` is the row's sheet: a 422's field is matched to its columns."""
    from importer.api import errors as e
    from importer.redaction import redact

    message = redact(str(getattr(exc, "message", None) or str(exc) or type(exc).__name__))
    attempts = getattr(exc, "attempts", None)
    attempts = attempts if isinstance(attempts, int) and not isinstance(attempts, bool) else None
    if not isinstance(exc, e.ApiError):
        return Failure("local", message, attempts=attempts, elapsed_seconds=elapsed_seconds)
    status = exc.status if isinstance(exc.status, int) else None
    field = _field(exc.detail) if status == 422 or isinstance(exc, e.ValidationFailed) else None
    column = column_of(field, sheet)
    return Failure(
        _category(exc, status, field, column),
        message,
        status=status,
        request_id=exc.request_id,
        field=field,
        column=column,
        attempts=attempts,
        elapsed_seconds=elapsed_seconds,
        method=exc.method or None,
        url=exc.url or None,
    )


def _category(exc: ApiError, status: int | None, field: str | None, column: str | None) -> str:
    from importer.api import errors as e

    if isinstance(exc, (e.AuthError, e.UnusableCredentials, e.InsecureApiUrl)) or status in (401, 403):
        return "credentials"
    if isinstance(exc, e.RateLimited) or status == 429:
        return "rate"
    if isinstance(exc, e.Unreachable) or exc.category == "network" or status == 408:
        return "network"
    if isinstance(exc, (e.ServerError, e.UploadNotConfirmed, e.UploadUrlExpired)) or (status or 0) >= 500:
        return "server"
    if isinstance(exc, e.Conflict) or status == 409:
        return "conflict"
    if isinstance(exc, e.Cancelled):
        return "local"
    if isinstance(exc, e.ValidationFailed) or status == 422:
        return "contract" if field and not column else "workbook"
    if isinstance(exc, e.NotFound) or status == 404:
        return "workbook"  # an ID the workbook gave (a template, a feedstock type) that the API does not hold
    return "contract"


def _field(detail: JSONValue) -> str | None:
    """The first field a 422's `detail[]` names: its `loc` without "body" and list indices, dotted."""
    if not isinstance(detail, list):
        return None
    for item in detail:
        loc = item.get("loc") if isinstance(item, dict) else None
        if isinstance(loc, (list, tuple)):
            parts = [str(p) for p in loc if not isinstance(p, int) and p not in ("body", "query", "path")]
            if parts:
                return ".".join(parts)
    return None


def column_of(field: str | None, sheet: str | None) -> str | None:
    """The column of `sheet` that carries API field `field` (its last parts tried too), or None."""
    if not field or not sheet:
        return None
    from importer.workbook.spec import SHEETS_BY_NAME

    spec = SHEETS_BY_NAME.get(sheet)
    if spec is None:
        return None
    names = {c.name for c in spec.columns}
    parts = field.split(".")
    for start in range(len(parts)):
        tail = ".".join(parts[start:])
        for candidate in (tail, FIELD_COLUMNS.get(tail)):
            if candidate in names:
                return candidate
    return None


def _where(sheet: str | None, row: int | None) -> str:
    if sheet == "project" or not sheet:
        return "the project sheet"
    return f"{sheet} row {row}" if row else f"the {sheet} sheet"


RERUN = "what was created is found again, never duplicated"


def advice(failure: Failure, sheet: str | None = None, row: int | None = None) -> str:
    """What to do about `failure` of the row at `sheet` `row`, from its category alone."""
    category, where = failure.category, _where(sheet, row)
    if category == "rate":
        return (
            "The API limited the rate of requests and this row ran out of retries: run the same command again "
            f"later. Nothing to fix in the workbook; {RERUN}."
        )
    if category == "server":
        said = f" (HTTP {failure.status})" if failure.status else ""
        return (
            f"The API, or a proxy in front of it, failed{said}: run the same command again. Nothing to fix in "
            f"the workbook; {RERUN}."
        )
    if category == "network":
        return (
            "The API did not answer (connection refused, dropped or timed out): check the network and run the "
            f"same command again. Nothing to fix in the workbook; {RERUN}."
        )
    if category == "credentials":
        return (
            "Check the environment variables ISOMETRIC_CLIENT_SECRET and ISOMETRIC_ACCESS_TOKEN (and "
            "ISOMETRIC_API_URL), then run again. Nothing to fix in the workbook."
        )
    if category == "conflict":
        return (
            "The registry already holds something this row clashes with (the message says what): change the "
            "workbook to match the registry, or ask Isometric to unlock or release it, then run again. Run as it "
            "is, it fails again."
        )
    if category == "local":
        return (
            "A problem on this machine, not of the API: fix what the message says (a file, the disk, the local "
            "state), then run the same command again."
        )
    if failure.column:
        cell = (
            f"the {failure.column} setting of the project sheet"
            if sheet == "project"
            else f"{where} column {failure.column}"
        )
        return f"Fix {cell} in the workbook, then run again."
    if category == "contract":
        named = f" (field {failure.field})" if failure.field else ""
        return (
            f"The API refused the request the importer built for {where}{named}, which no workbook cell "
            "holds: check the row, and if it looks right, report it with the request ID to the importer's "
            "maintainers. Run as it is, it fails again."
        )
    return f"Fix {where} in the workbook, then run again."


def short_advice(failure: Failure) -> str:
    """A few words for a terminal line."""
    return {
        "rate": "re-run later: nothing to fix in the workbook",
        "server": "re-run: nothing to fix in the workbook",
        "network": "re-run: nothing to fix in the workbook",
        "credentials": "check ISOMETRIC_CLIENT_SECRET and ISOMETRIC_ACCESS_TOKEN",
        "conflict": "change the workbook to match the registry",
        "local": "fix it on this machine, then re-run",
        "contract": "the API refused the request: see the report",
    }.get(
        failure.category,
        f"fix column {failure.column} in the workbook" if failure.column else "fix the row in the workbook",
    )


__all__ = [
    "CATEGORIES",
    "CATEGORY_LABELS",
    "RETRYABLE",
    "Failure",
    "advice",
    "column_of",
    "conflict",
    "failure_of",
    "short_advice",
]
