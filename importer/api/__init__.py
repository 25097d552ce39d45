"""The Isometric Certify API client. It knows the API's contract and nothing of workbooks.

Stopping errors (catch them before ApiError: they end the run, not a row): CredentialsRefused (the API's first
401/403; the client sends nothing more, exit 2) and Cancelled (`client.cancel()` / the cancel event).
"""

from importer.api.client import ClientConfig, IsometricClient, LearnedRate
from importer.api.errors import (
    ApiError,
    AuthError,
    Cancelled,
    Conflict,
    CredentialsRefused,
    EndlessListing,
    InsecureApiUrl,
    NotEnabled,
    NotFound,
    RateLimited,
    ServerError,
    Unreachable,
    UnreadableAnswer,
    UnsafeUploadUrl,
    UnusableCredentials,
    UploadNotConfirmed,
    UploadUrlExpired,
    ValidationFailed,
)
from importer.api.safety import DEFAULT_UPLOAD_HOSTS, UPLOAD_HOSTS_ENV, configured_upload_hosts, is_loopback_url

#: errors that stop the whole run (not one row): catch these first and stop scheduling
STOPS_THE_RUN: tuple[type[ApiError], ...] = (CredentialsRefused, Cancelled)

__all__ = [
    "DEFAULT_UPLOAD_HOSTS",
    "STOPS_THE_RUN",
    "UPLOAD_HOSTS_ENV",
    "ApiError",
    "AuthError",
    "Cancelled",
    "ClientConfig",
    "Conflict",
    "CredentialsRefused",
    "EndlessListing",
    "InsecureApiUrl",
    "IsometricClient",
    "LearnedRate",
    "NotEnabled",
    "NotFound",
    "RateLimited",
    "ServerError",
    "UnreadableAnswer",
    "Unreachable",
    "UnsafeUploadUrl",
    "UnusableCredentials",
    "UploadNotConfirmed",
    "UploadUrlExpired",
    "ValidationFailed",
    "configured_upload_hosts",
    "is_loopback_url",
]
