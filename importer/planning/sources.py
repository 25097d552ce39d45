"""Sources: evidence documents. Desired state from the sources sheet; diff against the registry; apply
(create, then PUT the file to the signed URL; resume an upload that never arrived); lineage.

Whether a document arrived is not in the Source (`url_info.is_accessible` means "visible to the caller"):
apply asks `POST /sources/{id}/signed_upload_url` (the client's `upload_and_confirm`), a 409 says the document
is there, a URL that it never arrived, and the upload is resumed. A source counts as done only once a fresh
request answers 409. The file is read through `read_evidence`: non-blocking, a regular file, the bytes that
were validated. A source this machine saw confirmed before (`RegistryState.uploaded_sources`) is not asked
again: a document once uploaded stays.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Final

from importer.ids import has_id_prefix
from importer.planning.common import Planning, same_project
from importer.planning.env import Applied, ApplyEnv, StepFailed
from importer.planning.kind import Kind
from importer.planning.model import Action, Change, Op, Where
from importer.results import SourceLineage

if TYPE_CHECKING:  # the API client loads lazily (the CLI starts fast)
    from importer.api import models as m

RESUME_UPLOAD = "file upload resumed unless already present"
KIND: Final = "source"


@dataclass(frozen=True)
class SourcePayload:
    display_name: str
    file: str  # absolute path as validated
    file_name: str
    content_type: str
    content_length: int
    sha256: str
    published_at: str  # YYYY-MM-DD
    is_public: bool
    description: str | None  # sent on create; a changed one is PATCHed (null clears it)
    resume_upload: bool = False


def plan(p: Planning) -> list[Action]:
    out = []
    for row in p.wb.sources:
        srid = p.srid(KIND, "sources", row, file_sha256=row.sha256)
        payload = SourcePayload(
            display_name=row.display_name,
            file=str(row.file),
            file_name=row.file_name,
            content_type=row.content_type,
            content_length=row.content_length,
            sha256=row.sha256,
            published_at=row.published_at.isoformat(),
            is_public=row.is_public,
            description=row.description,
        )
        existing = p.existing(KIND, srid)
        base: Where = dict(kind=KIND, ref=row.ref, sheet="sources", row=row.row)
        if existing is None:
            out.append(p.record(Action(op="create", payload=payload, supplier_reference_id=srid, **base)))
            continue
        changes = []
        if (existing.display_name or "") != row.display_name:
            changes.append(Change("display_name", existing.display_name, row.display_name))
        if str(existing.published_at) != row.published_at.isoformat():
            changes.append(Change("published_at", str(existing.published_at), row.published_at.isoformat()))
        if bool(existing.is_public) != row.is_public:
            changes.append(Change("is_public", bool(existing.is_public), row.is_public))
        if (existing.description or None) != (row.description or None):
            changes.append(Change("description", existing.description, row.description or None))
        op: Op = "update" if changes else "unchanged"
        resume = existing.id not in p.state.uploaded_sources  # a document once uploaded stays
        out.append(
            p.record(
                Action(
                    op=op,
                    payload=replace(payload, resume_upload=resume),
                    existing_id=existing.id,
                    changes=tuple(changes),
                    notes=(RESUME_UPLOAD,) if resume else (),
                    supplier_reference_id=srid,
                    **base,
                )
            )
        )
    return out


def apply(action: Action, env: ApplyEnv) -> Applied:
    """Create the source (or PATCH its fields) and make sure its document is uploaded."""
    from importer.workbook import evidence

    p = action.payload_of(SourcePayload)
    try:
        data = evidence.read_evidence(Path(p.file), expected_size=p.content_length, expected_sha256=p.sha256)
    except evidence.EvidenceError as exc:
        raise StepFailed(str(exc)) from None
    if action.op == "create":
        env.intend(action)
        from importer.api import models as api_models

        req = api_models.CreateSourceRequest.model_validate(
            {
                "__typename": "CreateDocumentSourceRequest",
                "supplier_reference_id": action.supplier_reference_id,
                "display_name": p.display_name,
                "published_at": p.published_at,
                "file_name": p.file_name,
                "content_type": p.content_type,
                "content_length": p.content_length,
                "project_id": env.project_id,
                "is_public": p.is_public,
                **({"description": p.description} if p.description else {}),
            }
        )
        created = env.client.create_source(req)
        _same_project(created.source, env, action)
        env.created(action, created.source.id)
        # a create answered from a look-up (lost response, duplicate) carries no URL: ask for one
        env.client.upload_and_confirm(created.source.id, created.signed_upload_url, data, p.content_type)
        env.uploaded(created.source.id)
        return Applied(id=created.source.id, entity=created.source)
    assert action.existing_id is not None
    entity = None
    if action.changes:
        body = {c.field: c.after for c in action.changes}
        from importer.api import models as api_models

        entity = env.client.patch_source(action.existing_id, api_models.PatchSourceRequest.model_validate(body))
    if not p.resume_upload:
        return Applied(id=action.existing_id, entity=entity)
    uploaded = env.client.upload_and_confirm(action.existing_id, None, data, p.content_type)
    env.uploaded(action.existing_id)
    if uploaded:
        return Applied(id=action.existing_id, status="updated", entity=entity, notes=("file uploaded",))
    return Applied(id=action.existing_id, status="updated" if action.changes else "unchanged", entity=entity)


def _same_project(obj: m.Source, env: ApplyEnv, action: Action) -> None:
    """A create refused as a duplicate is answered with the object found by reference: never one of another
    project."""
    why = same_project(obj, env.project_id, action)
    if why:
        raise StepFailed(why)


def lineage(ref: str, actions: dict[str, Action], ids: dict[tuple[str, str], str]) -> SourceLineage:
    if has_id_prefix(ref):
        return SourceLineage(ref=None, id=ref, display_name=None, file_name=None, sha256=None)
    action = actions.get(ref)
    if action is None:
        return SourceLineage(ref=ref, id=None, display_name=None, file_name=None, sha256=None)
    p = action.payload_of(SourcePayload)
    return SourceLineage(
        ref=ref,
        id=ids.get((KIND, ref)) or action.existing_id,
        display_name=p.display_name,
        file_name=p.file_name,
        sha256=p.sha256,
        description=p.description,
        size_bytes=p.content_length,
    )


SPEC = Kind(
    name=KIND,
    sheet="sources",
    label="evidence sources",
    noun="evidence source",
    leaves_entries=frozenset({"created", "updated"}),
    plan=plan,
    apply=apply,
    payloads=(SourcePayload,),
    released_on_create=("datapoint",),
    registry="sources",
)
