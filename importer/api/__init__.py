"""The Isometric Certify API client. It knows the API's contract and nothing of workbooks."""

from importer.api.client import ClientConfig, IsometricClient
from importer.api.errors import (
    ApiError,
    AuthError,
    Conflict,
    InsecureApiUrl,
    NotFound,
    RateLimited,
    ServerError,
    Unreachable,
    UnsafeUploadUrl,
    UploadUrlExpired,
    ValidationFailed,
)
from importer.api.safety import DEFAULT_UPLOAD_HOSTS, is_loopback_url

__all__ = [
    "DEFAULT_UPLOAD_HOSTS", "ApiError", "AuthError", "ClientConfig", "Conflict", "InsecureApiUrl",
    "IsometricClient", "NotFound", "RateLimited", "ServerError", "Unreachable", "UnsafeUploadUrl",
    "UploadUrlExpired", "ValidationFailed", "is_loopback_url",
]
