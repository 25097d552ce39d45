"""Every path and header name the client uses, in one place (API-NOTES.md asks for this: the post-rename
field names are partly inferred and may need correcting). Paths are relative to the base URL
(`https://api.isometric.com/mrv/v0`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

from importer import __version__, ids

if TYPE_CHECKING:
    from importer.api.models import Response

T = TypeVar("T", bound="Response", covariant=True)

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
#: components shared by many entries: created here, listed and patched as `/components` (`GET ?scope=`)
PROJECT_COMPONENTS = "/project_components"
PROJECT_COMPONENT_ATTRIBUTIONS = "/project_components/{id}/ghg_entry_attributions"  # MANUAL: POST; DELETE /{entry}
GHG_STATEMENT_COMPONENTS = "/ghg_statement_components"

#: kind -> collection path; the item path is `<collection>/{id}`
COLLECTIONS: dict[str, str] = {
    "source": "/sources",
    "datapoint": "/datapoints",
    "feedstock_type": "/feedstock_types",
    "ghg_entry": "/ghg_entries",
    "component": "/components",
    "ghg_statement": "/ghg_statements",
    "storage_location": "/projects/{project_id}/storage_locations",  # project-scoped: `item` needs the project
    "production_batch": "/production_batches",  # the organisation's: no project, no filter
    "biochar_application": "/biochar_applications",  # the organisation's: no filter
    "measurement_location": "/measurement_locations",  # filter: supplier_reference_id
    "measurement_sample": "/measurement_samples",  # no filter, no GET by ID, no PATCH
}
#: kinds the API creates through a path of their own but keeps, reads, patches and deletes as components
ALIASES: dict[str, str] = {"project_component": "component", "ghg_statement_component": "component"}
#: kinds whose paths are beta and opt-in per organisation: a 403 (anywhere on the path) or a 404 (on the
#: collection) means "not enabled for this organisation", never a credentials failure (API-NOTES.md)
OPT_IN: tuple[str, ...] = ("storage_location",)

#: kinds `IsometricClient.delete` accepts (statements are never deleted through the API)
DELETABLE: list[str] = [
    "source",
    "datapoint",
    "feedstock_type",
    "ghg_entry",
    "component",
    "storage_location",
    "production_batch",
    "biochar_application",
    "measurement_location",
    "measurement_sample",
    *ALIASES,
]


@dataclass(frozen=True)
class Resource(Generic[T]):
    """A kind of object the API serves, declared by the kind that imports it (`register`) rather than written into
    this module and the client: its kind, its IDs' prefix, its collection (POST; `<collection>/{id}` for GET and
    DELETE), the model of one object as the API answers (a GET, a create), and where it is listed when that is not
    the collection (`/feedstock_types/{feedstock_type_id}/feedstock_batches`: the parent's ID in braces).
    `IsometricClient.list_objects` and `.create_object` serve it, its GET answers are checked against its model,
    and `.delete` deletes it by kind."""

    kind: str
    prefix: str
    collection: str
    model: type[T]
    listing: str | None = None
    deletable: bool = True

    def listed_at(self, **within: str) -> str:
        """The path of its listing, the parents' IDs filled in (`within`); KeyError names a parent missing."""
        return (self.listing or self.collection).format(**within)


#: kind -> the resources kinds declared themselves (`register`)
RESOURCES: dict[str, Resource[Response]] = {}


def register(*resources: Resource[Response]) -> None:
    """Serve the resources kinds declare: their paths join `COLLECTIONS` (and `DELETABLE`), their prefixes the
    shared ID vocabulary (`importer.ids`). Registering one again is a no-op; another of a known kind is refused."""
    for resource in resources:
        held = RESOURCES.get(resource.kind)
        if held == resource:
            continue
        if held is not None or resource.kind in COLLECTIONS:
            raise ValueError(f"the API client already serves a {resource.kind!r}")
        ids.register(resource.kind, resource.prefix)
        RESOURCES[resource.kind] = resource
        COLLECTIONS[resource.kind] = resource.collection
        if resource.deletable:
            DELETABLE.append(resource.kind)


def collection(kind: str, project_id: str | None = None) -> str:
    """The collection path of a kind; a project-scoped one (`{project_id}` in it) needs `project_id`."""
    path = COLLECTIONS[ALIASES.get(kind, kind)]
    if "{project_id}" in path:
        if not project_id:
            raise ValueError(f"a {kind.replace('_', ' ')} path needs the project's ID")
        path = path.format(project_id=project_id)
    return path


def item(kind: str, id_: str, project_id: str | None = None) -> str:
    return f"{collection(kind, project_id)}/{id_}"


def opt_in_kind(path: str) -> str | None:
    """The opt-in kind (`OPT_IN`) whose collection or items `path` names, else None."""
    parts = path.split("?")[0].strip("/").split("/")
    for kind in OPT_IN:
        template = COLLECTIONS[kind].strip("/").split("/")
        head = parts[: len(template)]
        if len(head) == len(template) and all(t.startswith("{") or t == p for t, p in zip(template, head, strict=True)):
            return kind
    return None
