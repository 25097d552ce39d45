"""The kind protocol: what one kind of object declares about itself, so that the planner, the scheduler, the saved
plans and prune are generic over the registered kinds (`importer.planning.kinds`) instead of naming each.

Each kind is one module of `importer.planning` exposing a `SPEC` (a `Kind`): its name, the workbook sheet its rows
come from, the kinds its creates may need, how to plan its actions from the workbook and the registry snapshot,
how to apply one action (or a group of them), the payload types a saved plan may hold, whether the importer
owns (creates, prunes, rolls back) its objects, and, for kinds the snapshot does not list itself, how to list them
and look one up by its supplier_reference_id. A kind may also declare its own sheets and API resources (`sheets`,
`resources`): registering the kind adds them to the workbook format and to the API client, which know no kind.
Kinds never import the scheduler; the scheduler receives them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TypeAlias

from importer.planning.env import Applied, ApplyEnv
from importer.planning.model import Action

if TYPE_CHECKING:
    from importer.api.client import IsometricClient
    from importer.api.endpoints import Resource
    from importer.api.models import Response
    from importer.planning.carried import CarriedListings
    from importer.planning.common import Planning
    from importer.planning.registry import RegistryObject
    from importer.workbook.model import Workbook
    from importer.workbook.spec import Sheet

#: one action applied alone
ApplyOne = Callable[[Action, ApplyEnv], Applied]
#: actions applied together in one request (attributions: one PATCH per GHG entry), keyed by their Key
ApplyGroup = Callable[[list[Action], ApplyEnv], dict[tuple[str, str], Applied]]
#: what the project holds of a kind, for the registry snapshot (kinds the snapshot does not read itself); None
#: when the workbook needs no listing (its sheet is empty), so an organisation without the kind is never asked
#: (with the batch's carried listings, for kinds listed whole: `importer.planning.carried`)
Listing: TypeAlias = "Callable[[IsometricClient, Workbook, CarriedListings | None], Sequence[RegistryObject] | None]"
#: the objects of a kind carrying a supplier_reference_id (client, project ID, reference): a rollback's look-up
#: of a create that was never confirmed
Lookup: TypeAlias = "Callable[[IsometricClient, str, str], Sequence[RegistryObject]]"


@dataclass(frozen=True)
class Kind:
    """One kind of object, as every generic stage needs to know it."""

    name: str  # the API kind ("source"): Action.kind, Key[0]
    sheet: str  # the workbook sheet its rows come from
    label: str  # for people, plural ("feedstock types"): the progress lines, the report's headings
    noun: str  # for people, one of them ("feedstock type"): the report's tables and advice
    plan: Callable[[Planning], list[Action]]
    payloads: tuple[type, ...]  # the payload dataclasses of its actions (what a saved plan may decode)
    apply: ApplyOne | None = None
    apply_group: ApplyGroup | None = None  # instead of `apply`: its actions of one group go out together
    group_of: Callable[[Action], str] | None = None  # the group an action belongs to (with `apply_group`)
    depends_on: tuple[str, ...] = ()  # kinds whose objects its creates may need (the dependency graph's edges)
    released_on_create: tuple[str, ...] = ()  # dependant kinds that may start once an object exists (not applied)
    registry: str | None = None  # the RegistryState table holding what is listed, by supplier_reference_id
    owned: bool = True  # created by the importer: may be an orphan, pruned and rolled back
    listing: Listing | None = None  # read into RegistryState's `registry` table by the snapshot (`fetch_state`)
    lookup: Lookup | None = None  # how a rollback finds an unconfirmed create (else `importer.rollback`'s own)
    #: the sheet segment of its derived supplier_reference_ids (`identity.owned_by`), when not `sheet`: shared
    #: components come from the components sheet but are other objects than its entry-scoped rows
    reference_sheet: str | None = None
    #: listed whole once in a batch of workbooks, then from the cursor (`importer.planning.carried`), in the scope
    #: its listing has: "project", or "organisation" where the API cannot list it by project
    carried: Literal["project", "organisation"] | None = None
    #: the statuses of its writes after which every GHG entry listed before reads as it did (nothing of theirs
    #: refers to what changed): a batch keeps its listing of the entries through them
    leaves_entries: frozenset[str] = frozenset()
    #: kinds whose carried listing one of its objects replaced or deleted changes (a sample's datapoints)
    invalidates: tuple[str, ...] = ()
    #: the workbook sheets it declares itself (each with its `row_type`), added to the format when the kinds are
    #: registered (`importer.workbook.spec.register`): read, checked, typed, in the template and its documentation
    sheets: tuple[Sheet, ...] = ()
    #: the API resources it declares itself (`importer.api.endpoints.register`): its paths, ID prefix and model,
    #: served by the client's generic `list_objects`, `create_object` and `delete`
    resources: tuple[Resource[Response], ...] = ()
