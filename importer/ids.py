"""Isometric ID prefixes, shared by the workbook layer (to accept existing IDs wherever a ref is
accepted), the API client and the sandbox (which mints IDs of the same shape).

IDs are a prefix plus an opaque body, 20 to 37 characters in all (the published document's
`IsometricIDRequestParam_*` schemas).
"""

from __future__ import annotations

import re
import secrets

ID_MIN_LENGTH = 20
ID_MAX_LENGTH = 37

#: kind -> ID prefix. `ghg_entry` keeps `rmv_` after the 2026 rename.
PREFIXES: dict[str, str] = {
    "project": "prj_",
    "source": "src_",
    "datapoint": "dtp_",
    "feedstock_type": "ftt_",
    "ghg_entry_template": "rvt_",
    "template_group": "rtg_",
    "template_component": "rtc_",
    "ghg_entry": "rmv_",
    "component": "cmp_",
    "component_attribution": "rvc_",
    "ghg_statement": "ggs_",
    "storage_location": "slc_",
    "facility": "fcl_",
    "production_batch": "ptb_",
    "biochar_application": "bse_",
    "measurement_location": "mlc_",
    "measurement_sample": "mts_",
    "feedstock_batch": "ftb_",
}

KIND_BY_PREFIX: dict[str, str] = {prefix: kind for kind, prefix in PREFIXES.items()}


def register(kind: str, prefix: str) -> None:
    """Add the prefix of a kind declared outside this module (`importer.api.endpoints.register`); the same pair
    again is a no-op, a prefix or kind already taken otherwise is refused."""
    if PREFIXES.get(kind) == prefix and KIND_BY_PREFIX.get(prefix) == kind:
        return
    if kind in PREFIXES or prefix in KIND_BY_PREFIX or not re.fullmatch(r"[a-z]{3}_", prefix):
        raise ValueError(f"cannot give {kind!r} the ID prefix {prefix!r}: taken, or not three letters and '_'")
    PREFIXES[kind] = prefix
    KIND_BY_PREFIX[prefix] = kind


_ID_BODY = re.compile(r"^[a-z]{3}_[0-9A-Za-z]+$")
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def looks_like_id(value: str) -> bool:
    """True when `value` has the shape of any Isometric ID (known prefix, allowed length)."""
    return ID_MIN_LENGTH <= len(value) <= ID_MAX_LENGTH and bool(_ID_BODY.match(value)) and value[:4] in KIND_BY_PREFIX


def id_kind(value: str) -> str | None:
    """The kind an ID names (`"source"` for `src_...`), or None when it is not an Isometric ID."""
    return KIND_BY_PREFIX.get(value[:4]) if looks_like_id(value) else None


def has_id_prefix(value: str) -> bool:
    """True when `value` starts with a known prefix, whatever its length: a ref cell that does is meant as
    an ID, so a malformed one is reported as a bad ID rather than an unknown ref."""
    return len(value) >= 4 and value[:4] in KIND_BY_PREFIX


def new_id(kind: str) -> str:
    """A fresh random ID of the given kind, shaped like Isometric's (prefix + 16 Crockford characters)."""
    body = "".join(secrets.choice(_CROCKFORD) for _ in range(16))
    return PREFIXES[kind] + body
