"""The registered kinds, in dependency order (what a create may need is registered earlier), and what every
generic stage derives from them: the planner's order, the scheduler's appliers, prune's order, the payload types
a saved plan may decode. Adding a kind means its module in `importer.planning` (with its `SPEC`), a line here, its
sandbox resource, and tests."""

from __future__ import annotations

from importer.planning import attributions, components, datapoints, feedstock_types, ghg_entries, sources, statements
from importer.planning.kind import Kind

REGISTERED: tuple[Kind, ...] = (
    sources.SPEC, datapoints.SPEC, feedstock_types.SPEC, ghg_entries.SPEC, components.SPEC, attributions.SPEC,
    statements.SPEC,
)
BY_NAME: dict[str, Kind] = {kind.name: kind for kind in REGISTERED}
#: orphans are deleted in this order: what uses an object goes first (reverse dependency order)
PRUNE_ORDER: tuple[str, ...] = tuple(kind.name for kind in reversed(REGISTERED) if kind.owned)
#: every payload type a saved plan may hold, by class name
PAYLOADS: dict[str, type] = {cls.__name__: cls for kind in REGISTERED for cls in kind.payloads}
