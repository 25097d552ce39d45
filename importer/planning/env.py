"""What a kind's `apply` function gets to do its work: the API client and models, the project, the IDs of
objects created so far (a `NewRef` resolves once its action has been applied), and the hook that records a
create before and after it is sent (the run history). Kinds never see the scheduler or each other."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from importer.planning.known import Signature
from importer.planning.model import Action, Key, Ref

if TYPE_CHECKING:  # the API client loads lazily (the CLI starts fast)
    from importer.api import models as m
    from importer.api.client import IsometricClient


class Entity(Protocol):
    """An API object an applied action returns (for the report, and what a batch carries): each kind's own model
    (`importer.api.models`), known here by its ID."""

    @property
    def id(self) -> str: ...


class StepFailed(Exception):
    """An action could not be carried out for a reason of ours (not the API's), e.g. its file changed."""


@dataclass(frozen=True)
class Applied:
    """How an applied action ended: `status` overrides the default (created/updated), `entity` is the API
    object returned (for the report), `notes` what happened beyond the plan ("file uploaded")."""

    id: str | None = None
    status: str | None = None
    entity: Entity | None = None
    notes: tuple[str, ...] = ()
    #: a GHG entry's component attributions as read after the action (entry ID, what it holds): what the run
    #: history remembers, so that a re-run need not read them again (`importer.planning.known`)
    attributions: tuple[str, tuple[m.ComponentAttribution, ...] | None] | None = None  # None within: not read


class ApplyEnv(Protocol):
    """What a kind's apply function is given: the client, the project, and the run's references and records. Its
    request bodies come from `importer.api.models`, imported where they are built (the API client and its models
    load only when something is sent: the CLI starts fast)."""

    @property
    def client(self) -> IsometricClient: ...

    @property
    def project_id(self) -> str: ...

    def resolve(self, ref: Ref) -> str: ...

    def intend(self, action: Action) -> None:
        """Record an intended create before it is sent (so a rollback can find it after a crash)."""

    def created(self, action: Action, obj_id: str, *, sent_inputs: Signature | None = None) -> None:
        """Record a created object as soon as its ID is known (dependants may start), and whether the API
        answered the create with an object someone else had created meanwhile (adopted, not ours). A GHG
        entry's `sent_inputs` (what its create sent) let a later snapshot find its components."""

    def uploaded(self, source_id: str) -> None:
        """Record that the source's document is confirmed uploaded (never asked again)."""

    def part_created(self, key: Key, obj_id: str) -> None:
        """Record the ID of an object an applied action made beside its own (a sample's value: the datapoint
        Isometric made of it), so that a `NewRef` to it resolves in the actions waiting for that action."""
