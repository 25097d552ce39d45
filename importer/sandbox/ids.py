"""The sandbox's own ID minting, shaped as the published document describes IDs: a kind prefix plus an opaque
body, 20 to 37 characters in all (`IsometricIDRequestParam_*`: minLength 20, maxLength 37). Kept apart from the
importer's ID module on purpose: the sandbox embodies the contract independently of the client."""

from __future__ import annotations

import secrets

ID_MIN_LENGTH = 20
ID_MAX_LENGTH = 37

#: kind -> prefix; a GHG entry keeps `rmv_` after the 2026 rename (API-NOTES, "IDs")
PREFIXES: dict[str, str] = {
    "project": "prj_",
    "source": "src_",
    "datapoint": "dtp_",
    "feedstock_type": "ftt_",
    "template": "rvt_",
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
}
_BODY = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base 32


def new_id(kind: str) -> str:
    """A fresh random ID of a kind: prefix + 16 characters (20 in all): 80 random bits read at once (one
    system call, not one per character), five to a character."""
    bits = int.from_bytes(secrets.token_bytes(10), "big")
    return PREFIXES[kind] + "".join(_BODY[(bits >> (5 * i)) & 31] for i in range(16))


def valid_id(value: str) -> bool:
    """True when a string has an ID's length, as the document constrains every ID parameter."""
    return ID_MIN_LENGTH <= len(value) <= ID_MAX_LENGTH
