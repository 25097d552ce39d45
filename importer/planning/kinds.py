"""The registered kinds, in dependency order (what a create may need is registered earlier), and what every
generic stage derives from them: the planner's order, the scheduler's appliers, prune's order, the payload types
a saved plan may decode, rollback's order and look-ups, the sheets `importer.identity.owned_by` claims, and the
sheets and API resources kinds declare themselves (`Kind.sheets`, `Kind.resources`), which join the workbook format
and the API client here. Adding a kind means its module in `importer.planning` (with its `SPEC`), a line here, its
sandbox resource, and tests."""

from __future__ import annotations

from importer import identity
from importer.api import endpoints
from importer.planning import (
    attributions,
    biochar_applications,
    components,
    datapoints,
    feedstock_batches,
    feedstock_types,
    ghg_entries,
    measurement_locations,
    measurement_samples,
    production_batches,
    project_attributions,
    project_components,
    sources,
    statement_components,
    statements,
    storage_locations,
)
from importer.planning.kind import Kind
from importer.workbook import spec

REGISTERED: tuple[Kind, ...] = (
    sources.SPEC,
    datapoints.SPEC,
    feedstock_types.SPEC,
    feedstock_batches.SPEC,
    storage_locations.SPEC,
    production_batches.SPEC,
    biochar_applications.SPEC,
    measurement_locations.SPEC,
    measurement_samples.SPEC,
    ghg_entries.SPEC,
    components.SPEC,
    attributions.SPEC,
    project_components.SPEC,
    project_attributions.SPEC,
    statements.SPEC,
    statement_components.SPEC,
)
BY_NAME: dict[str, Kind] = {kind.name: kind for kind in REGISTERED}
#: orphans are deleted in this order: what uses an object goes first (reverse dependency order)
PRUNE_ORDER: tuple[str, ...] = tuple(kind.name for kind in reversed(REGISTERED) if kind.owned)
#: every payload type a saved plan may hold, by class name
PAYLOADS: dict[str, type] = {cls.__name__: cls for kind in REGISTERED for cls in kind.payloads}
#: what rollback deletes, in order: the owned kinds a registry table holds, what uses an object first
DELETE_ORDER: tuple[str, ...] = tuple(kind.name for kind in reversed(REGISTERED) if kind.owned and kind.registry)
#: how a rollback looks up an unconfirmed create, for the kinds that say (`Kind.lookup`)
LOOKUPS = {kind.name: kind.lookup for kind in REGISTERED if kind.lookup is not None}

# which sheet's rows derive each owned kind's supplier_reference_ids: what `identity.owned_by` claims for a prefix
identity.register_sheets(
    {kind.name: kind.reference_sheet or kind.sheet for kind in REGISTERED if kind.owned and kind.registry}
)

# the sheets and API resources kinds declare themselves join the workbook format and the API client
for _kind in REGISTERED:
    spec.register(*_kind.sheets)
    endpoints.register(*_kind.resources)
