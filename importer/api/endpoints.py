"""Every path and header name the client uses, in one place (API-NOTES.md asks for this: the post-rename
field names are partly inferred and may need correcting). Paths are relative to the base URL
(`https://api.isometric.com/mrv/v0`)."""

from __future__ import annotations

from importer import __version__

HEADER_CLIENT_SECRET = "X-Client-Secret"
#: how the importer names itself to the API (its operators, a proxy's logs, and the test suite's contract check)
USER_AGENT = f"isometric-import/{__version__}"
HEADER_AUTHORIZATION = "Authorization"

PAGE_SIZE = 50  # the documented maximum of `first`
# Relay page shape: {"nodes": [...], "total_count": N, "page_info": {"has_next_page", "end_cursor", ...}}
PAGE_NODES = "nodes"
PAGE_TOTAL = "total_count"
PAGE_INFO = "page_info"
PAGE_HAS_NEXT = "has_next_page"
PAGE_END_CURSOR = "end_cursor"

PROJECTS = "/projects"
GHG_ENTRY_TEMPLATES = "/projects/{project_id}/ghg_entry_templates"
COMPONENT_BLUEPRINTS = "/component_blueprints"
SIGNED_UPLOAD_URL = "/sources/{id}/signed_upload_url"
GHG_ENTRY_ATTRIBUTIONS = "/ghg_entries/{id}/component_attributions"
GHG_STATEMENT_SUBMIT = "/ghg_statements/{id}/submit"

#: kind -> collection path; the item path is `<collection>/{id}`
COLLECTIONS: dict[str, str] = {
    "source": "/sources",
    "datapoint": "/datapoints",
    "feedstock_type": "/feedstock_types",
    "ghg_entry": "/ghg_entries",
    "component": "/components",
    "ghg_statement": "/ghg_statements",
}

#: kinds `IsometricClient.delete` accepts (statements are never deleted through the API)
DELETABLE: tuple[str, ...] = ("source", "datapoint", "feedstock_type", "ghg_entry", "component")


def item(kind: str, id_: str) -> str:
    return f"{COLLECTIONS[kind]}/{id_}"
