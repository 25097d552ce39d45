"""The kind protocol: what one kind of object declares about itself, so that the planner, the scheduler, the saved
plans and prune are generic over the registered kinds (`importer.planning.kinds`) instead of naming each.

Each kind is one module of `importer.planning` exposing a `SPEC` (a `Kind`): its name, the workbook sheet its rows
come from, the kinds its creates may need, how to plan its actions from the workbook and the registry snapshot,
how to apply one action (or a group of them), the payload types a saved plan may hold, and whether the importer
owns (creates, prunes, rolls back) its objects. Kinds never import the scheduler; the scheduler receives them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from importer.planning.env import Applied, ApplyEnv
from importer.planning.model import Action

if TYPE_CHECKING:
    from importer.planning.common import Planning

#: one action applied alone
ApplyOne = Callable[[Action, ApplyEnv], Applied]
#: actions applied together in one request (attributions: one PATCH per GHG entry), keyed by their Key
ApplyGroup = Callable[[list[Action], ApplyEnv], dict[tuple[str, str], Applied]]


@dataclass(frozen=True)
class Kind:
    """One kind of object, as every generic stage needs to know it."""

    name: str  # the API kind ("source"): Action.kind, Key[0]
    sheet: str  # the workbook sheet its rows come from
    label: str  # for people, plural ("feedstock types")
    plan: Callable[[Planning], list[Action]]
    payloads: tuple[type, ...]  # the payload dataclasses of its actions (what a saved plan may decode)
    apply: ApplyOne | None = None
    apply_group: ApplyGroup | None = None  # instead of `apply`: its actions of one group go out together
    group_of: Callable[[Action], str] | None = None  # the group an action belongs to (with `apply_group`)
    depends_on: tuple[str, ...] = ()  # kinds whose objects its creates may need (the dependency graph's edges)
    released_on_create: tuple[str, ...] = ()  # dependant kinds that may start once an object exists (not applied)
    registry: str | None = None  # the RegistryState table holding what is listed, by supplier_reference_id
    owned: bool = True  # created by the importer: may be an orphan, pruned and rolled back
