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


class RequestModels(Protocol):
    """The request bodies the kinds send: `importer.api.models` itself (the module is this protocol's one
    implementation), handed over by the scheduler so that no kind loads the API client at import time."""

    @property
    def CreateSourceRequest(self) -> type[m.CreateSourceRequest]: ...
    @property
    def PatchSourceRequest(self) -> type[m.PatchSourceRequest]: ...
    @property
    def CreateDatapointRequest(self) -> type[m.CreateDatapointRequest]: ...
    @property
    def PatchDatapointRequest(self) -> type[m.PatchDatapointRequest]: ...
    @property
    def PatchFeedstockTypeRequest(self) -> type[m.PatchFeedstockTypeRequest]: ...
    @property
    def CreateGhgEntryRequest(self) -> type[m.CreateGhgEntryRequest]: ...
    @property
    def PatchGhgEntryRequest(self) -> type[m.PatchGhgEntryRequest]: ...
    @property
    def CreateComponentRequest(self) -> type[m.CreateComponentRequest]: ...
    @property
    def PatchComponentRequest(self) -> type[m.PatchComponentRequest]: ...
    @property
    def PatchComponentAttributionsRequest(self) -> type[m.PatchComponentAttributionsRequest]: ...
    @property
    def CreateGhgStatementRequest(self) -> type[m.CreateGhgStatementRequest]: ...
    @property
    def SubmitGhgStatementRequest(self) -> type[m.SubmitGhgStatementRequest]: ...
    @property
    def CreateStorageLocationRequest(self) -> type[m.CreateStorageLocationRequest]: ...
    @property
    def PatchStorageLocationRequest(self) -> type[m.PatchStorageLocationRequest]: ...
    @property
    def CreateProductionBatchRequest(self) -> type[m.CreateProductionBatchRequest]: ...
    @property
    def CreateBiocharApplicationRequest(self) -> type[m.CreateBiocharApplicationRequest]: ...
    @property
    def CreateMeasurementLocationRequest(self) -> type[m.CreateMeasurementLocationRequest]: ...
    @property
    def CreateMeasurementSampleRequest(self) -> type[m.CreateMeasurementSampleRequest]: ...
    @property
    def CreateProjectComponentRequest(self) -> type[m.CreateProjectComponentRequest]: ...
    @property
    def CreateGhgStatementComponentRequest(self) -> type[m.CreateGhgStatementComponentRequest]: ...
    @property
    def ProjectComponentAttributionRequest(self) -> type[m.ProjectComponentAttributionRequest]: ...


class ApplyEnv(Protocol):
    @property
    def client(self) -> IsometricClient: ...

    @property
    def models(self) -> RequestModels: ...

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
