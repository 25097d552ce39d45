"""Carry out a Plan against the API, level by level (sources -> datapoints -> feedstock types -> GHG entries
-> components -> component attributions -> GHG statement and submission).

Within a level, independent objects go out concurrently (a bounded thread pool over one thread-safe
client). A row whose dependency failed, conflicted or was blocked is blocked in turn; everything else goes
on. Every create carries its supplier_reference_id and the client de-duplicates retried creates, so a run
that crashes or is interrupted can simply be run again: the next plan finds what was made and finishes the
rest.

Ctrl-C (the `cancel` event) stops scheduling: requests in flight finish, rows not started are reported as
blocked by the interruption.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol

from importer.plan import RESUME_UPLOAD, Key, Plan, Step, describe, template_component_of
from importer.progress import QuietProgress
from importer.redaction import redact
from importer.results import BAD_STATUSES, ObjectOutcome

log = logging.getLogger("importer.execute")

INTERRUPTED = "not started: the run was interrupted"


class StepFailed(Exception):
    """A row could not be carried out for a reason of ours (not the API's), e.g. its file changed."""


class Progress(Protocol):
    def level_started(self, level: str, total: int) -> None: ...
    def object_done(self, outcome: ObjectOutcome) -> None: ...
    def level_finished(self, level: str) -> None: ...


def _iso_z(value: Any) -> str | None:
    if value is None:
        return None
    text = value.isoformat()
    return text.replace("+00:00", "Z") if text.endswith("+00:00") else text + ("" if "T" not in text else "Z")


def _error_text(exc: BaseException) -> str:
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return redact(str(message))


class Executor:
    def __init__(
        self,
        client: Any,
        plan: Plan,
        *,
        concurrency: int = 8,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
        on_created: Callable[[str, str, str | None], None] | None = None,
    ) -> None:
        from importer.api import models  # the API layer is only needed once we execute

        self.models = models
        self.client = client
        self.plan = plan
        self.concurrency = max(1, concurrency)
        self.progress = progress or QuietProgress()
        self.cancel = cancel or threading.Event()
        self.on_created = on_created or (lambda kind, id_, srid: None)
        self.ids: dict[Key, str] = {}
        self.entities: dict[Key, Any] = {}  # API objects returned, for the report
        self.statement: Any = None
        self._lock = threading.Lock()
        for step in plan.steps:
            if step.outcome.id:
                self.ids[step.key] = step.outcome.id

    # -- references ---------------------------------------------------------------------------------
    def resolve(self, kind: str, ref: str) -> str:
        """The Isometric ID a workbook ref stands for now (a literal ID, or the row's object)."""
        from importer.ids import has_id_prefix

        if has_id_prefix(ref):
            return ref
        try:
            return self.ids[(kind, ref)]
        except KeyError:
            raise StepFailed(f"{kind} {ref!r} has no ID (its row did not complete)") from None

    def _blueprint_shape(self, blueprint_key: str, input_key: str) -> str:
        spec = self.plan.context.blueprint_input(blueprint_key, input_key)
        shape = str(getattr(getattr(spec, "data_shape", None), "value", getattr(spec, "data_shape", "SCALAR")))
        return "LIST" if shape.upper().endswith("LIST") else "SCALAR"

    def _input(self, blueprint_key: str, input_key: str, refs: tuple[str, ...] | list[str]) -> dict[str, Any]:
        ids = [self.resolve("datapoint", r) for r in refs]
        if self._blueprint_shape(blueprint_key, input_key) == "LIST":
            return {"__typename": "CreateComponentListInput", "input_key": input_key, "datapoint_ids": ids}
        return {"__typename": "CreateComponentScalarInput", "input_key": input_key, "datapoint_id": ids[0]}

    def _created(self, step: Step, obj_id: str) -> None:
        with self._lock:
            self.ids[step.key] = obj_id
        step.outcome.id = obj_id
        self.on_created(step.kind, obj_id, step.outcome.supplier_reference_id)

    # -- per kind -----------------------------------------------------------------------------------
    def do_source(self, step: Step) -> str | None:
        """Create the source (or PATCH its fields) and make sure its document is uploaded. Upload state comes
        only from what the contract guarantees: `POST /sources/{id}/signed_upload_url` answers 409 once the
        document is there, a fresh URL while it is not. An existing source is therefore asked for a URL: a 409
        leaves it as it is, a URL resumes the upload. After every PUT a fresh request must answer 409 before
        the source counts as done."""
        row = step.row
        data = row.file.read_bytes()
        if hashlib.sha256(data).hexdigest() != row.sha256 or len(data) != row.content_length:
            raise StepFailed(f"{row.file.name} changed since it was validated; validate and run again")
        if step.existing is None:
            # CreateDocumentSourceRequest declares no description: the workbook's text stays in the run result
            req = self.models.CreateSourceRequest.model_validate({
                "__typename": "CreateDocumentSourceRequest",
                "supplier_reference_id": step.outcome.supplier_reference_id,
                "display_name": row.display_name, "published_at": row.published_at.isoformat(),
                "file_name": row.file_name, "content_type": row.content_type,
                "content_length": row.content_length, "project_id": self.plan.workbook.project.project_id,
                "is_public": row.is_public,
            })
            created = self.client.create_source(req)
            self._created(step, created.source.id)
            self.entities[step.key] = created.source
            # a create answered from a look-up (lost response, duplicate) carries no URL: ask for one
            self._upload(created.source.id, created.signed_upload_url, data, row)
            return None
        if step.patch:
            req = self.models.PatchSourceRequest.model_validate(step.patch)
            self.entities[step.key] = self.client.patch_source(step.existing.id, req)
        if not step.detail.get("resume_upload"):
            return None
        uploaded = self._upload(step.existing.id, None, data, row)
        if uploaded:
            step.outcome.changes = [c for c in step.outcome.changes if c != RESUME_UPLOAD] + ["file uploaded"]
            return "updated"
        step.outcome.changes = [c for c in step.outcome.changes if c != RESUME_UPLOAD]
        return "updated" if step.patch else "unchanged"

    def _upload(self, source_id: str, url: str | None, data: bytes, row: Any) -> bool:
        """PUT the document unless the API says it is already there; True when this call uploaded it. Done only
        when a fresh signed-URL request answers 409 (the upload took)."""
        from importer.api import UploadUrlExpired

        put = False
        for _attempt in range(3):
            if url is None:
                url = self.client.upload_url_unless_uploaded(
                    source_id, content_length=row.content_length, content_type=row.content_type)
                if url is None:
                    return put  # 409: the document is there
            try:
                self.client.upload_to_signed_url(url, data, row.content_type)
                put = True
            except UploadUrlExpired:
                pass
            url = None  # confirm (or retry with a fresh URL)
        if put:
            confirmed = self.client.upload_url_unless_uploaded(
                source_id, content_length=row.content_length, content_type=row.content_type) is None
            if confirmed:
                return True
            raise StepFailed(f"{row.file_name} was sent but the API still offers an upload URL for source "
                             f"{source_id} (the upload did not take); run again to resume")
        raise StepFailed(f"the signed upload URL for {row.file_name} kept expiring; run again to resume")

    def do_datapoint(self, step: Step) -> None:
        row = step.row
        source_ids = [self.resolve("source", r) for r in row.source_refs]
        quantity = {"magnitude": row.magnitude, "unit": row.unit, "standard_deviation": row.standard_deviation}
        if step.existing is None:
            req = self.models.CreateDatapointRequest.model_validate({
                "supplier_reference_id": step.outcome.supplier_reference_id,
                "display_name": row.display_name, "description": row.description, "type": row.type,
                "quantity": quantity, "source_ids": source_ids,
                "project_id": self.plan.workbook.project.project_id,
                "measured_at": _iso_z(row.measured_at),
                "uncertainty_justification": row.uncertainty_justification,
            })
            created = self.client.create_datapoint(req)
            self._created(step, created.id)
            self.entities[step.key] = created
            return
        patch = dict(step.patch)
        if "source_ids" in patch:
            patch["source_ids"] = source_ids
        req = self.models.PatchDatapointRequest.model_validate(patch)
        self.entities[step.key] = self.client.patch_datapoint(step.existing.id, req)

    def do_feedstock_type(self, step: Step) -> None:
        from importer.api import ApiError

        row = step.row
        if step.existing is not None:
            req = self.models.PatchFeedstockTypeRequest.model_validate(step.patch)
            self.entities[step.key] = self.client.patch_feedstock_type(step.existing.id, req)
            return
        req = self.models.CreateFeedstockTypeRequest.model_validate(
            {"name": row.name, "supplier_reference_id": step.outcome.supplier_reference_id})
        try:
            created = self.client.create_feedstock_type(req)
        except ApiError as exc:
            if exc.status in (403, 404, 405, 501):
                raise StepFailed(
                    f"the API refused to create feedstock type {row.name!r} (HTTP {exc.status}): create it in the "
                    "Certify UI, then put its ftt_ ID in the entries' feedstock_type cells instead of "
                    f"{row.ref!r}") from exc
            raise
        self._created(step, created.id)
        self.entities[step.key] = created

    def do_ghg_entry(self, step: Step) -> None:
        row = step.row
        template = step.detail["template"]
        bindings: dict[str, dict[str, tuple[str, ...]]] = step.detail["bindings"]
        blueprint_of = {c.id: c.blueprint_key for _, c in self.plan.context.template_components(template)}
        feedstock_id = self.resolve("feedstock_type", row.feedstock_type) if row.feedstock_type else None
        if step.existing is None:
            components = [
                {"ghg_entry_template_component_id": rtc_id,
                 "inputs": [self._input(blueprint_of[rtc_id], key, refs) for key, refs in inputs.items()]}
                for rtc_id, inputs in bindings.items()
            ]
            req = self.models.CreateGhgEntryRequest.model_validate({
                "supplier_reference_id": step.outcome.supplier_reference_id,
                "project_id": self.plan.workbook.project.project_id,
                "started_on": row.started_on.isoformat(), "completed_on": row.completed_on.isoformat(),
                "ghg_entry_template_id": template.id, "feedstock_type_id": feedstock_id,
                "ghg_entry_template_components": components,
            })
            created = self.client.create_ghg_entry(req)
            self._created(step, created.id)
            self.entities[step.key] = created
            return
        patch = dict(step.patch)
        if "feedstock_type_id" in patch:
            if feedstock_id is None:  # the planner refuses this as a conflict; never send a null
                raise StepFailed("the API cannot clear a GHG entry's feedstock type")
            patch["feedstock_type_id"] = feedstock_id
        if patch:
            req = self.models.PatchGhgEntryRequest.model_validate(patch)
            self.entities[step.key] = self.client.patch_ghg_entry(step.existing.id, req)
        for comp in step.detail.get("input_patches", {}).values():
            # PatchComponentRequest.inputs overwrites every input: keep the held ones (fixed inputs too) and
            # replace those the workbook binds
            rtc_id = template_component_of(comp)
            merged = {i.input_key: _as_create_input(i.model_dump(mode="json", by_alias=True, exclude_none=True))
                      for i in comp.inputs}
            for key, refs in bindings.get(rtc_id or "", {}).items():
                merged[key] = self._input(comp.blueprint_key, key, refs)
            req = self.models.PatchComponentRequest.model_validate({"inputs": list(merged.values())})
            self.client.patch_component(comp.id, req)

    def do_component(self, step: Step) -> None:
        row = step.row
        inputs = [self._input(row.blueprint_key, ci.input_key, ci.datapoint_refs) for ci in step.detail["inputs"]]
        if step.existing is None:
            req = self.models.CreateComponentRequest.model_validate({
                "supplier_reference_id": step.outcome.supplier_reference_id,
                "project_id": self.plan.workbook.project.project_id,
                "component_blueprint_key": row.blueprint_key, "display_name": row.display_name,
                "description": row.description,
                "activity_started_at": _iso_z(row.activity_started_at),
                "activity_completed_at": _iso_z(row.activity_completed_at),
                "inputs": inputs,
            })
            created = self.client.create_component(req)
            self._created(step, created.id)
            self.entities[step.key] = created
            return
        patch = dict(step.patch)
        if "inputs" in patch:
            patch["inputs"] = inputs
        req = self.models.PatchComponentRequest.model_validate(patch)
        self.entities[step.key] = self.client.patch_component(step.existing.id, req)

    def do_attributions(self, entry_ref: str, steps: list[Step]) -> None:
        """All attribution changes of one GHG entry: removals first, then additions (one PATCH each)."""
        entry_id = self.resolve("ghg_entry", entry_ref)
        to_remove: list[str] = []
        to_add: list[dict[str, Any]] = []
        template = None
        for step in steps:
            row = step.row
            if row.action == "add":
                comp_id = self.resolve("component", row.ref)
                if step.outcome.status == "update":
                    to_remove.append(comp_id)
                to_add.append({"component_id": comp_id, "component_group_key": row.group,
                               "attribution_factor": row.attribution_factor})
            else:
                if template is None:
                    entry_row = next(e for e in self.plan.workbook.entries if e.ref == entry_ref)
                    template = self.plan.context.resolve_template(entry_row.template)
                pair = self.plan.context.resolve_template_component(template, row.template_component or "")
                comps = self.client.list_components(ghg_entry_id=entry_id)
                comp = next((c for c in comps if pair and template_component_of(c) == pair[1].id), None)
                if comp is None:
                    raise StepFailed(f"entry {entry_ref!r} has no component {row.template_component!r} to remove")
                to_remove.append(comp.id)
                step.outcome.id = comp.id
        model = self.models.PatchComponentAttributionsRequest
        if to_remove:
            body = model.model_validate({"components_to_remove": to_remove})
            self.client.patch_component_attributions(entry_id, body)
        if to_add:
            self.client.patch_component_attributions(entry_id, model.model_validate({"components_to_add": to_add}))

    def do_statement(self, step: Step) -> None:
        project_id = self.plan.workbook.project.project_id
        statement = step.existing
        if statement is None:
            req = self.models.CreateGhgStatementRequest.model_validate(
                {"project_id": project_id, "end_on": step.detail["end_on"].isoformat()})
            statement = self.client.create_ghg_statement(req)
            self._created(step, statement.id)
        if step.detail.get("submit") and str(getattr(statement.status, "value", statement.status)) == "DRAFT":
            url = step.detail.get("report_url")
            if not url:
                raise StepFailed("submitting needs ghg_statement_report_url on the project sheet")
            req = self.models.SubmitGhgStatementRequest.model_validate({"ghg_statement_report_url": url})
            statement = self.client.submit_ghg_statement(statement.id, req)
        self.statement = statement

    # -- the run ------------------------------------------------------------------------------------
    def _guarded(self, steps: list[Step], fn: Callable[[], str | None]) -> None:
        """Run `fn` for `steps` (one row, or the rows one request serves): they succeed or fail together."""
        if self.cancel.is_set():
            for step in steps:
                step.outcome.status = "blocked"
                step.outcome.blocked_by = INTERRUPTED
            return
        error: str | None = None
        decided: str | None = None  # a handler may say how it ended (a source found already uploaded: unchanged)
        try:
            decided = fn()
        except Exception as exc:  # an API error, a file error, or a bug: the rows fail, the run goes on
            error = _error_text(exc)
            log.debug("row failed: %s", describe(steps[0]), exc_info=True)
        for step in steps:
            if error is None:
                step.outcome.status = decided or ("created" if step.outcome.status == "create" else "updated")
            else:
                step.outcome.status = "failed"
                step.outcome.error = error
            self.progress.object_done(step.outcome)

    def _blocked_by(self, step: Step, outcomes: dict[Key, ObjectOutcome]) -> str | None:
        for dep in step.depends_on:
            dep_outcome = outcomes.get(dep)
            if dep_outcome is not None and dep_outcome.status in BAD_STATUSES:
                dep_step = self.plan.step(dep)
                return describe(dep_step) if dep_step else f"{dep[0]} {dep[1]}"
        return None

    def run(self) -> list[ObjectOutcome]:
        outcomes: dict[Key, ObjectOutcome] = {s.key: s.outcome for s in self.plan.steps}
        handlers: dict[str, Callable[[Step], str | None]] = {
            "source": self.do_source, "datapoint": self.do_datapoint, "feedstock_type": self.do_feedstock_type,
            "ghg_entry": self.do_ghg_entry, "component": self.do_component, "ghg_statement": self.do_statement,
        }
        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="import") as pool:
            for level, steps in self.plan.by_level():
                self.progress.level_started(level, len(steps))
                runnable: list[Step] = []
                for step in steps:
                    pending_upload = step.outcome.status == "unchanged" and step.detail.get("resume_upload")
                    if step.outcome.status in ("unchanged", "conflict", "blocked") and not pending_upload:
                        self.progress.object_done(step.outcome)
                        continue
                    culprit = self._blocked_by(step, outcomes)
                    if culprit is not None:
                        step.outcome.status = "blocked"
                        step.outcome.blocked_by = culprit
                        self.progress.object_done(step.outcome)
                        continue
                    runnable.append(step)
                futures: list[Future[None]] = []
                if level == "component_attribution":
                    per_entry: dict[str, list[Step]] = defaultdict(list)
                    for step in runnable:
                        per_entry[step.row.entry_ref].append(step)
                    for entry_ref, group in per_entry.items():
                        futures.append(pool.submit(
                            self._guarded, group, lambda e=entry_ref, g=group: self.do_attributions(e, g)))
                else:
                    for step in runnable:
                        futures.append(pool.submit(self._guarded, [step], lambda s=step: handlers[s.kind](s)))
                for future in futures:
                    future.result()
                self.progress.level_finished(level)
        return [s.outcome for s in self.plan.steps]


def _as_create_input(item: dict[str, Any]) -> dict[str, Any]:
    """A component input as returned (ComponentScalarInput) turned into its create form."""
    out = {k: v for k, v in item.items() if k in ("input_key", "datapoint_id", "datapoint_ids")}
    out["__typename"] = "CreateComponentListInput" if "datapoint_ids" in out else "CreateComponentScalarInput"
    return out
