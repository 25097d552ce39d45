"""What the registry holds that a plan compares against: one snapshot taken with batched listings (50 a
page, run concurrently), indexed by supplier_reference_id, plus a fingerprint of it so a saved plan can tell
whether the registry changed before it is applied.

Listings that the API can scope to a project are scoped to the workbook's project (sources, datapoints,
components, statements); objects found under another project are never adopted (`sources._same_project`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, TypeVar

from importer.planning.carried import CarriedListings
from importer.workbook.model import Workbook

if TYPE_CHECKING:  # the API client loads lazily (the CLI starts fast)
    from importer.api import models as m
    from importer.api.client import IsometricClient
    from importer.planning.kind import Kind


class _Referenced(Protocol):
    @property
    def supplier_reference_id(self) -> str | None: ...


_R = TypeVar("_R", bound=_Referenced)


class RegistryObject(Protocol):
    """Any object a snapshot holds: an API object with its ID and, when it was made with one, its
    supplier_reference_id (each kind's own model: `importer.api.models`)."""

    @property
    def id(self) -> str: ...
    @property
    def supplier_reference_id(self) -> str | None: ...


_TABLE_NAMES = ("sources", "datapoints", "feedstock_types", "ghg_entries", "components")


@dataclass
class RegistryState:
    """The snapshot: API objects by supplier_reference_id (statements by end date)."""

    sources: dict[str, m.Source] = field(default_factory=dict)
    datapoints: dict[str, m.Datapoint] = field(default_factory=dict)
    feedstock_types: dict[str, m.FeedstockType] = field(default_factory=dict)
    ghg_entries: dict[str, m.GhgEntry] = field(default_factory=dict)
    components: dict[str, m.Component] = field(default_factory=dict)
    statements: list[m.GhgStatement] = field(default_factory=list)  # of this project, by end date
    #: entry id -> its components (below)
    entry_components: dict[str, list[m.Component]] = field(default_factory=dict)
    #: entry id -> its attributions
    entry_attributions: dict[str, list[m.ComponentAttribution]] = field(default_factory=dict)
    #: every component and datapoint of the project as listed (template components, and datapoints made
    #: outside the importer, have no supplier_reference_id)
    project_components: list[m.Component] = field(default_factory=list)
    project_datapoints: list[m.Datapoint] = field(default_factory=list)
    #: sources whose document is known to be uploaded (learned on earlier runs: `importer.planning.known`)
    uploaded_sources: frozenset[str] = frozenset()
    #: component ID -> entry ID learned while taking this snapshot (for the caller to remember)
    learned_membership: dict[str, str] = field(default_factory=dict)
    #: MANUAL project component ID -> the entries found carrying a share of it, where every entry of the workbook
    #: was read (for the caller to remember: `importer.planning.known`)
    learned_shares: dict[str, set[str]] = field(default_factory=dict)
    #: entry ID -> its component attributions, read while taking this snapshot (for the caller to remember)
    learned_attributions: dict[str, list[m.ComponentAttribution]] = field(default_factory=dict)
    #: the tables of kinds that list themselves (`Kind.listing`), by their `Kind.registry` name, and which kind
    #: each table holds (kind name -> table name)
    listed: dict[str, dict[str, RegistryObject]] = field(default_factory=dict)
    listed_kinds: dict[str, str] = field(default_factory=dict)

    def table(self, name: str) -> Mapping[str, RegistryObject]:
        """One of the tables by supplier_reference_id, by its field's name (a `Kind.registry`)."""
        if name not in _TABLE_NAMES:
            return self.listed.get(name, {})
        tables: tuple[Mapping[str, RegistryObject], ...] = (
            self.sources,
            self.datapoints,
            self.feedstock_types,
            self.ghg_entries,
            self.components,
        )
        return tables[_TABLE_NAMES.index(name)]

    def by_id(self) -> dict[str, RegistryObject]:
        """Every object read, by ID: what a run that wrote nothing may report as current."""
        tables: tuple[Mapping[str, RegistryObject], ...] = (self.sources, self.feedstock_types, self.ghg_entries)
        out: dict[str, RegistryObject] = {o.id: o for table in tables for o in table.values()}
        out.update({o.id: o for o in self.project_datapoints})
        out.update({o.id: o for o in self.project_components})
        out.update({o.id: o for table in self.listed.values() for o in table.values()})
        return out

    def fingerprint(
        self, keep: Callable[[str], bool] = lambda srid: True, entries: frozenset[str] = frozenset()
    ) -> dict[str, str]:
        """supplier_reference_id (statements: id) -> SHA-256 of the object as read, so a saved plan can say
        exactly which objects changed, appeared or disappeared since it was computed. `keep` says which
        supplier_reference_ids the plan depends on (its own and its prefix's: another workbook's import in the
        same project neither invalidates a saved plan nor costs a digest), `entries` which other GHG entries
        (by ID: those its statement would hold)."""
        out: dict[str, str] = {}
        tables: tuple[
            dict[str, m.Source],
            dict[str, m.Datapoint],
            dict[str, m.FeedstockType],
            dict[str, m.GhgEntry],
            dict[str, m.Component],
        ] = (self.sources, self.datapoints, self.feedstock_types, self.ghg_entries, self.components)
        for table in tables:
            for srid, obj in table.items():
                if keep(srid) or (table is self.ghg_entries and obj.id in entries):
                    out[srid] = _digest(obj)
        for listed in self.listed.values():
            out.update({srid: _digest(obj) for srid, obj in listed.items() if keep(srid)})
        for statement in self.statements:
            out[f"statement:{statement.id}"] = _digest(statement)
        for entry_id, comps in self.entry_components.items():
            out[f"components-of:{entry_id}"] = _digest(comps)
        for entry_id, attrs in self.entry_attributions.items():
            out[f"attributions-of:{entry_id}"] = _digest(attrs)
        return out


def _digest(obj: object) -> str:
    def plain(value: object) -> object:  # a stand-in without model_dump is digested as it is
        if hasattr(value, "model_dump"):
            return value.model_dump(mode="json")
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value

    text = json.dumps(plain(obj), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _by_srid(objects: list[_R]) -> dict[str, _R]:
    return {o.supplier_reference_id: o for o in objects if o.supplier_reference_id}


def fetch_state(
    client: IsometricClient,
    wb: Workbook,
    *,
    concurrency: int = 4,
    carried: CarriedListings | None = None,
    kinds: Sequence[Kind] = (),
) -> RegistryState:
    """Snapshot the registry with batched listings (run concurrently). GHG entries cannot be listed by
    project: all are read, and matched by supplier_reference_id (feedstock types come with the project's
    context, `importer.context`: they are matched by ID, reference or name). Entries and components are read
    even when the workbook has none: their orphans are found by prefix. The project's statements are not
    listed here: its context has them (`runner.read_project` puts them in). With `carried`
    (one per batch), datapoints and components are read whole once and then only what is new
    (`importer.planning.carried`). Each of `kinds` that declares a `listing` is read beside them into its own
    table (`RegistryState.listed`), unless its listing says the workbook needs none."""
    from importer.api import models

    project_id = wb.project.project_id

    def datapoints() -> list[m.Datapoint]:
        if carried is not None:
            return carried.read(client, "datapoint", project_id, models.Datapoint)
        return client.list_datapoints(project_id=project_id)

    def ghg_entries() -> list[m.GhgEntry]:
        if carried is not None:
            return carried.read(client, "ghg_entry", project_id, models.GhgEntry)
        return client.list_ghg_entries()

    def components() -> list[m.Component]:
        if carried is not None:
            return carried.read(client, "component", project_id, models.Component)
        return client.list_components(project_id=project_id)

    listing = [k for k in kinds if k.listing is not None and k.registry]
    # every listing at once (one round trip, not two, at the run's concurrency)
    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, 4 + len(listing)))) as pool:
        sources_f = pool.submit(lambda: client.list_sources(project_id=project_id))
        datapoints_f, entries_f = pool.submit(datapoints), pool.submit(ghg_entries)
        components_f = pool.submit(components)
        own = [(k, pool.submit(k.listing, client, wb, carried)) for k in listing if k.listing is not None]
        got_sources, got_datapoints = sources_f.result(), datapoints_f.result()
        got_entries, got_components = entries_f.result(), components_f.result()
        listed = [(k, f.result()) for k, f in own]
    state = RegistryState(
        sources=_by_srid(got_sources),
        datapoints=_by_srid(got_datapoints),
        ghg_entries=_by_srid(got_entries),
        components=_by_srid(got_components),
        project_components=list(got_components),
        project_datapoints=list(got_datapoints),
    )
    for kind, objects in listed:
        if objects is not None and kind.registry:
            state.listed[kind.registry] = _by_srid(list(objects))
            state.listed_kinds[kind.name] = kind.registry
    return state


def fetch_entry_details(
    client: IsometricClient,
    state: RegistryState,
    entry_ids: list[str],
    *,
    concurrency: int = 4,
    with_attributions: set[str] | frozenset[str] = frozenset(),
) -> None:
    """Components of the given entries (one listing each: a component does not say which entry it belongs
    to), and the attributions of those whose extra components the workbook attaches or removes (their components
    then come from the project's listing, by the attributions' component IDs). Every component found is remembered
    as the entry's (`state.learned_membership`)."""
    if not entry_ids:
        return

    by_id = {c.id: c for c in state.project_components}

    def fetch(entry_id: str) -> tuple[str, list[m.Component], list[m.ComponentAttribution] | None]:
        if entry_id not in with_attributions:
            return entry_id, client.list_components(ghg_entry_id=entry_id), None
        attributions = client.list_component_attributions(entry_id)
        # every component of an entry is attributed to it (the attribution carries its factor): the project's
        # listing, read already, holds them, so the entry's own listing is asked only when one is missing there
        held = [by_id.get(a.component_id) for a in attributions]
        if attributions and all(c is not None for c in held):
            return entry_id, [c for c in held if c is not None], attributions
        return entry_id, client.list_components(ghg_entry_id=entry_id), attributions

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        for entry_id, comps, attrs in pool.map(fetch, entry_ids):
            state.entry_components[entry_id] = comps
            state.learned_membership.update({c.id: entry_id for c in comps})
            if attrs is not None:
                state.entry_attributions[entry_id] = attrs
                state.learned_attributions[entry_id] = attrs
