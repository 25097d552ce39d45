"""API failures as exceptions that carry what an analyst needs: the HTTP status, the API's own `detail`,
and the request that caused them (method and URL; never a header, so never a credential). Text is redacted
on the way out in any case."""

from __future__ import annotations

from importer.json_types import JSONValue
from importer.redaction import redact, redact_data


def one_line(text: str) -> str:
    return " ".join(text.split())


class ApiError(Exception):
    """Base of every API failure. `message` is a one-line summary in the API's own words; `detail` is the API's
    `detail` as sent (redacted: a server may echo a header back); `method` and `url` name the request."""

    #: "server" (the server misbehaved), "client" (the request or its credentials), "network", "stop" (the caller
    #: stopped) or "" (unclassified); subclasses say
    category = ""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        detail: JSONValue = None,
        method: str = "",
        url: str = "",
        request_id: str | None = None,
    ) -> None:
        self.message = one_line(redact(message))
        self.status = status
        self.detail = redact_data(detail)
        self.method = method
        self.url = redact(url)
        #: the server's id of the request (X-Request-Id and the like), to quote to its operators
        self.request_id = redact(request_id) if request_id else None
        #: how many times the request was sent before this error was final (set by the client; None: unknown)
        self.attempts: int | None = None
        super().__init__(self.message)

    def __str__(self) -> str:
        where = f"{self.method} {self.url}: " if self.method else ""
        status = f"HTTP {self.status}: " if self.status else ""
        request = f" (request id {self.request_id})" if self.request_id and self.request_id not in self.message else ""
        return redact(f"{where}{status}{self.message}{request}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class AuthError(ApiError):
    """401/403: the client secret or access token is missing, wrong or expired."""

    category = "client"


class CredentialsRefused(AuthError):
    """The API refused the credentials (its first 401/403): wrong, expired or revoked. Raised once by the request
    that got the answer, and then by every later call of the same client *without sending anything* (the client
    is done: a run stops here, exit code 2). Requests already in flight on other threads may still complete.
    Never raised for signed-upload storage, whose 403 means an expired URL (UploadUrlExpired)."""


class Cancelled(ApiError):
    """The client was cancelled (`IsometricClient.cancel()`, or the `cancel` event it was given was set): a retry
    wait ended at once, no new request was started, and a request in flight was abandoned after a short grace
    (its answer may be lost: a re-run looks it up before sending it again). Not an API failure: the caller is
    stopping."""

    category = "stop"


class UploadNotConfirmed(ApiError):
    """A document was PUT to its signed URL but a fresh signed-URL request still does not answer 409: the upload
    did not take. Running again resumes it."""


class NotFound(ApiError):
    """404: no object with that ID (or not visible to this organisation)."""


class NotEnabled(ApiError):
    """403 on an opt-in (beta) path, or 404 on its collection: the feature is not enabled for this organisation (ask
    Isometric to enable it). Not a credentials failure: the client goes on sending other requests."""

    category = "client"


class Conflict(ApiError):
    """409: e.g. a signed URL asked for a document that is already uploaded."""


class ValidationFailed(ApiError):
    """422: the API refused the body; `detail` is the HTTPValidationError list."""

    def lines(self) -> list[str]:
        return validation_lines(self.detail)


class RateLimited(ApiError):
    """429 after every retry."""

    category = "server"


class ServerError(ApiError):
    """5xx after every retry."""

    category = "server"


class UnreadableAnswer(ServerError):
    """A 2xx whose body could not be read: not JSON, or JSON that is not what the operation returns. Raised after
    the retries (a GET is repeated; a POST or PATCH is treated as an answer lost after the server acted: the
    object is looked up by its supplier_reference_id before anything is sent again). The message names the
    method, path, status and the server's request id."""


class EndlessListing(ServerError):
    """A listing the server would not end: more items than its own total_count, more pages than that count
    needs, or a cursor repeated. Stopped, not followed: what was read cannot be trusted as the whole listing."""


class Unreachable(ApiError):
    """No answer: connection refused/dropped or timed out, after every retry."""

    category = "network"


class UnsafeUploadUrl(ApiError):
    """A signed upload URL we will not send a document to (not HTTPS to an allowlisted storage host)."""


class UploadUrlExpired(ApiError):
    """The storage refused the upload as expired or no longer valid: ask for a fresh signed URL."""


class InsecureApiUrl(ApiError):
    """Plain HTTP to anything but loopback."""

    category = "client"


class UnusableCredentials(ApiError):
    """A credential no HTTP header can carry as it is (a space, control or non-ASCII character inside): refused
    before anything is sent. The message names the variable and the character, never the value."""

    category = "client"


def validation_lines(detail: JSONValue) -> list[str]:
    """`detail[]` of an HTTPValidationError as "loc: msg" lines."""
    if not isinstance(detail, list):
        return [str(detail)] if detail else []
    out = []
    for item in detail:
        if isinstance(item, dict):
            steps = item.get("loc", [])
            if not isinstance(steps, list | str | dict):  # not a path at all (a number, say): no location
                steps = []
            loc = ".".join(str(p) for p in steps if p != "body")
            out.append(f"{loc}: {item.get('msg', '')}" if loc else str(item.get("msg", "")))
        else:
            out.append(str(item))
    return out


def credentials_refused(
    status: int, detail: JSONValue, *, method: str, url: str, request_id: str | None = None
) -> CredentialsRefused:
    """The error of the API's first 401/403: what happened, which variables hold the credentials, and that the
    client sent nothing more (no secret in it: only the API's own words, redacted, and variable names)."""
    said = error_for(status, detail, method=method, url=url).message
    said = said.removesuffix(" (check ISOMETRIC_CLIENT_SECRET and ISOMETRIC_ACCESS_TOKEN)")
    message = (
        f"the API refused the credentials: they are wrong, expired or revoked (the API said: {said}). "
        "Check ISOMETRIC_CLIENT_SECRET and ISOMETRIC_ACCESS_TOKEN (the access token is the one that expires "
        "or is revoked) and run again. Nothing more was sent after this answer; what was created before it "
        "is found again, not duplicated"
    )
    return CredentialsRefused(message, status=status, detail=detail, method=method, url=url, request_id=request_id)


def error_for(status: int, detail: JSONValue, *, method: str, url: str, request_id: str | None = None) -> ApiError:
    if isinstance(detail, list):
        message = "; ".join(validation_lines(detail)) or f"HTTP {status}"
    elif isinstance(detail, str) and detail:
        message = detail
    elif isinstance(detail, dict) and isinstance(detail.get("msg") or detail.get("message"), str):
        message = str(detail.get("msg") or detail.get("message"))
    else:
        message = f"HTTP {status}"
    cls: type[ApiError] = ApiError
    if status in (401, 403):
        cls = AuthError
        message = f"{message} (check ISOMETRIC_CLIENT_SECRET and ISOMETRIC_ACCESS_TOKEN)"
    elif status == 404:
        cls = NotFound
    elif status == 409:
        cls = Conflict
    elif status == 422:
        cls = ValidationFailed
    elif status == 429:
        cls = RateLimited
    elif status >= 500:
        cls = ServerError
    return cls(message, status=status, detail=detail, method=method, url=url, request_id=request_id)
