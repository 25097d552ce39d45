"""How the sandbox spreads shared emissions over GHG entries: the arithmetic the published document leaves open,
written down here as the sandbox's rule. It is a rehearsal assumption, not Isometric's formula: the importer's
report says so beside every figure it shows of it.

The document says a GHG statement component is "automatically and evenly attributed to all removals with the GHG
Statement", and that a project component is distributed by its `allocation_strategy`. The sandbox's rule:

- **Statement component** C of statement S: each of the N entries S holds carries ``co2e(C) / N``.
- **Project component** P of a project, by strategy; an entry of that project carries:
  - ``MANUAL``: ``co2e(P) * f`` for each manual attribution (factor f) to it, and nothing otherwise (the factors of
    one component sum to at most 1: the sandbox refuses more);
  - ``CUSTOM_TIME_PERIOD``: the document has no target-date field, so the period is the component's own activity
    period: ``co2e(P) * overlap / period``, in whole days counted inclusively (the entry's started_on to
    completed_on against the component's activity_started_at to activity_completed_at dates);
  - ``ESTIMATED_PROJECT_LIFETIME``: ``co2e(P) * days(entry) / lifetime``, the project's estimated lifetime in days
    (`ESTIMATES`; the document has no such field either);
  - ``ESTIMATED_PROJECT_REMOVAL_TONNAGE`` (``..._REDUCTION_TONNAGE``): ``co2e(P) * gross / estimate``, where gross
    is the entry's own SEQUESTRATION (REDUCTION) CO2e, from its attributed components, and estimate the project's
    estimated gross removal (reduction) in kg (`ESTIMATES`).
- The share is signed as the component's type is (`co2e.SIGN`: an ACTIVITY emission lowers the entry's net
  removal). An entry's ``co2e_net_removed_kg`` is its own components' net plus its shares; a statement's
  ``pending_total_co2e_removed_kg`` is the sum over its entries, so the shares are in it once each.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from importer.sandbox import co2e, seed
from importer.sandbox.store import SandboxStore

#: the strategies that spread a component by themselves (MANUAL is spread by its attributions)
AUTOMATIC = frozenset(
    {
        "CUSTOM_TIME_PERIOD",
        "ESTIMATED_PROJECT_LIFETIME",
        "ESTIMATED_PROJECT_REMOVAL_TONNAGE",
        "ESTIMATED_PROJECT_REDUCTION_TONNAGE",
    }
)


@dataclass(frozen=True)
class Estimates:
    """What a project's amortisation needs and the document does not carry (set in the Certify UI, presumably)."""

    lifetime_days: int
    gross_removal_kg: float
    gross_reduction_kg: float


#: the seeded projects' estimates (any other project takes `DEFAULT`)
DEFAULT = Estimates(lifetime_days=3650, gross_removal_kg=10_000_000.0, gross_reduction_kg=10_000_000.0)
ESTIMATES = {seed.PROJECT_ID: Estimates(lifetime_days=3650, gross_removal_kg=5_000_000.0, gross_reduction_kg=1.0)}


def _days(start: str, end: str) -> int:
    return (dt.date.fromisoformat(end[:10]) - dt.date.fromisoformat(start[:10])).days + 1


def _overlap(a: tuple[str, str], b: tuple[str, str]) -> int:
    start, end = max(a[0][:10], b[0][:10]), min(a[1][:10], b[1][:10])
    return max(0, _days(start, end)) if start <= end else 0


def shared_components(store: SandboxStore) -> list[dict[str, Any]]:
    """The statement components and the automatically amortised project components, in registry order (none,
    usually: then an entry's figure costs nothing more). Found by scope (`store.referring`), not by walking every
    component: a year's entries have tens of thousands, and each entry written asks again."""
    stamp = store.kind_stamps.get("component")
    kept = store.memo.get("shared_components")
    if kept is None or kept[0] != stamp:
        found = store.referring("component", "scope", "GHG_STATEMENT") + [
            c for c in store.referring("component", "scope", "PROJECT") if c.get("allocation_strategy") in AUTOMATIC
        ]
        found.sort(key=lambda c: store.seq(c["id"]))
        kept = store.memo["shared_components"] = (stamp, found)
    components: list[dict[str, Any]] = kept[1]
    return components


def _sign(store: SandboxStore, component: dict[str, Any]) -> float:
    blueprint = store.get("blueprint", component["blueprint_key"]) or {}
    return co2e.SIGN.get(blueprint.get("type", ""), -1.0)


def share(
    store: SandboxStore,
    component: dict[str, Any],
    entry: dict[str, Any],
    value: Callable[[], float],
    statement_size: int | None,
    gross: dict[str, float],
) -> float:
    """The signed CO2e of `component` (worth `value()` kg, asked only when the entry carries some of it) that
    `entry` carries under the rule above. A statement component: `statement_size` is how many entries its statement
    holds when `entry` is one of them, else None. `gross`: the entry's own CO2e by component type (SEQUESTRATION,
    REDUCTION), unsigned."""
    if component.get("scope") == "GHG_STATEMENT":
        if not statement_size:
            return 0.0
        return _sign(store, component) * value() / statement_size
    if component.get("project_id") != entry.get("_project_id"):
        return 0.0
    estimates = ESTIMATES.get(entry["_project_id"], DEFAULT)
    strategy = component.get("allocation_strategy")
    period = (entry["started_on"], entry["completed_on"])
    if strategy == "CUSTOM_TIME_PERIOD":
        activity = (component["activity_started_at"], component["activity_completed_at"])
        overlap = _overlap(period, activity)  # mostly none: another month's component
        fraction = overlap / _days(*activity) if overlap else 0.0
    elif strategy == "ESTIMATED_PROJECT_LIFETIME":
        fraction = _days(*period) / estimates.lifetime_days
    elif strategy == "ESTIMATED_PROJECT_REMOVAL_TONNAGE":
        fraction = gross.get("SEQUESTRATION", 0.0) / estimates.gross_removal_kg
    elif strategy == "ESTIMATED_PROJECT_REDUCTION_TONNAGE":
        fraction = gross.get("REDUCTION", 0.0) / estimates.gross_reduction_kg
    else:
        return 0.0
    return _sign(store, component) * value() * fraction if fraction else 0.0
