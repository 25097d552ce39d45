"""A typed plan you can save and apply, and the library API (issue: plan/apply, library, packaging).

The plan is a value: applying it returns a separate run log and leaves it as planned; saved to JSON and
loaded again it is equal; `apply` carries out exactly the saved plan and refuses, sending nothing, when the
workbook, an evidence file or the registry changed since. The README's library example runs here as written.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest
from test_online_and_plan import _state
from typer.testing import CliRunner

import importer
from importer.cli import app
from importer.planning import build_plan, saved
from importer.planning.model import IdRef, NewRef

from e2e_helpers import copy_samples
from fakes import context, workbook

README = Path(__file__).resolve().parent.parent / "README.md"


def _count(sandbox: Any, collection: str) -> int:
    """How many objects of the sample's prefix the server holds (the seed's own objects not counted)."""
    headers = {"X-Client-Secret": sandbox.client_secret, "Authorization": f"Bearer {sandbox.access_token}"}
    body = httpx.get(f"{sandbox.base_url}/{collection}", headers=headers, params={"first": 50}).json()
    return sum(str(n.get("supplier_reference_id") or "").startswith("demo-") for n in body["nodes"])


def test_a_plan_is_typed_immutable_and_survives_a_round_trip_through_json(tmp_path: Path) -> None:
    plan = build_plan(workbook(tmp_path), context(), _state(), submit=False)
    entry = plan.action(("ghg_entry", "batch-1"))
    assert entry is not None and entry.payload.template_id.startswith("rvt_")
    refs = [r for c in entry.payload.components for i in c.inputs for r in i.datapoints]
    assert refs and all(isinstance(r, NewRef) for r in refs)  # objects not created yet, typed
    with pytest.raises(AttributeError):
        entry.op = "unchanged"  # type: ignore[misc]
    path = saved.save([plan], tmp_path / "plan.json", api_url="http://x")
    loaded = saved.load(path).plans[0]
    assert loaded == plan  # every action, payload and fingerprint comes back equal
    assert isinstance(loaded.action(("ghg_entry", "batch-1")).payload.components[0].inputs[0].datapoints[0], NewRef)
    assert IdRef("dtp_1") == saved.decode(saved.encode(IdRef("dtp_1")))


def test_the_run_leaves_the_plan_as_planned(env: Any, tmp_path: Path) -> None:
    outcome = importer.run([copy_samples(tmp_path)])
    assert outcome.ok, outcome.to_json()
    result = outcome.results[0]
    # the plan still says create (the feedstock type is the seed's, matched by name: unchanged, never created)
    assert {(a.kind == "feedstock_type", a.op) for a in result.plan.actions} == {(False, "create"), (True, "unchanged")}
    assert {o.status for o in result.objects if o.kind != "feedstock_type"} == {"created"}  # the run log says created


def test_saved_plan_is_applied_exactly_and_refused_when_anything_changed(env: Any, tmp_path: Path) -> None:
    wb = copy_samples(tmp_path)
    runner = CliRunner()
    made = runner.invoke(app, ["plan", str(wb), "--out", str(tmp_path / "plan.json"), "--quiet"])
    assert made.exit_code == 0, made.output
    body = json.loads((tmp_path / "plan.json").read_text())
    assert body["plans"][0]["workbook_sha256"] and body["plans"][0]["evidence"]
    before = _count(env, "sources")

    # the evidence changed: refused, nothing sent
    evidence = wb.parent / "evidence" / "lab-certificate-B2610.txt"
    original = evidence.read_bytes()
    evidence.write_bytes(original + b"\n")
    refused = runner.invoke(app, ["apply", str(tmp_path / "plan.json"), "--quiet", "--json"])
    assert refused.exit_code == 1 and "lab-certificate-B2610.txt" in refused.stdout and "changed" in refused.stdout
    assert _count(env, "sources") == before
    evidence.write_bytes(original)

    # the registry changed (another run created the objects): refused, nothing more sent
    other = tmp_path / "other"
    shutil.copytree(wb.parent, other)
    assert importer.run([other / wb.name]).ok
    after_other = _count(env, "datapoints")
    refused = runner.invoke(app, ["apply", str(tmp_path / "plan.json"), "--quiet", "--json"])
    assert refused.exit_code == 1 and "registry changed" in refused.stdout and "appeared" in refused.stdout
    assert _count(env, "datapoints") == after_other

    # a fresh plan of the same workbook applies: exactly its actions (all unchanged now)
    assert runner.invoke(app, ["plan", str(wb), "--out", str(tmp_path / "plan2.json"), "--quiet"]).exit_code == 0
    applied = runner.invoke(app, ["apply", str(tmp_path / "plan2.json"), "--quiet", "--json"])
    assert applied.exit_code == 0, applied.stdout
    planned = json.loads((tmp_path / "plan2.json").read_text())["plans"][0]["actions"]
    done = json.loads(applied.stdout)["objects"]
    assert [(a["kind"], a["ref"]) for a in planned] == [(o["kind"], o["ref"]) for o in done]


def test_saved_plan_refused_when_the_workbook_changed(env: Any, tmp_path: Path) -> None:
    wb = copy_samples(tmp_path)
    assert CliRunner().invoke(app, ["plan", str(wb), "--out", str(tmp_path / "p.json"), "-q"]).exit_code == 0
    book = openpyxl.load_workbook(wb)
    book["datapoints"]["E2"] = 52.5
    book.save(wb)
    refused = CliRunner().invoke(app, ["apply", str(tmp_path / "p.json"), "-q", "--json"])
    assert refused.exit_code == 1 and "workbook" in refused.stdout and "changed" in refused.stdout
    assert _count(env, "datapoints") == 0


def test_the_readme_library_example_runs_as_written(env: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    block = re.search(r"```python\n(.*?)```", README.read_text(), re.S)
    assert block, "the README shows a library example"
    code = block.group(1)
    assert len(code.strip().splitlines()) <= 12
    copy_samples(tmp_path)
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {}
    exec(compile(code.replace("sample_workbooks/", "samples/"), "README.md", "exec"), namespace)  # noqa: S102
    outcome = namespace["outcome"]
    assert outcome.ok and outcome.results[0].counts()["ghg_entry"]["created"] == 2


def test_an_entry_starts_when_its_own_datapoints_exist_not_after_the_whole_level(tmp_path: Path) -> None:
    """Dependency-graph scheduling: a slow, unrelated datapoint does not hold back an entry."""
    from types import SimpleNamespace as NS

    from importer.applying import apply_plan
    from importer.planning import kinds

    wb = workbook(tmp_path)
    plan = build_plan(wb, context(), _state(), submit=False)
    started: dict[str, float] = {}
    t0 = time.monotonic()

    class Client:
        def last_create_adopted(self) -> bool:
            return False

        def create_source(self, req: Any) -> Any:
            return NS(source=NS(id="src_1SOURCE000000000", project_id=None), signed_upload_url="u")

        def upload_and_confirm(self, *a: Any) -> bool:
            return True

        def create_datapoint(self, req: Any) -> Any:
            if req.supplier_reference_id.endswith("diesel"):
                time.sleep(0.6)  # slow, and only the extra component needs it
            return NS(id=f"dtp_1{req.supplier_reference_id[-8:]:0>15}", project_id=None)

        def create_ghg_entry(self, req: Any) -> Any:
            started["entry"] = time.monotonic() - t0
            return NS(id="rmv_1ENTRY0000000000")

        def create_component(self, req: Any) -> Any:
            started["component"] = time.monotonic() - t0
            return NS(id="cmp_1COMPONENT000000")

        def patch_component_attributions(self, *a: Any) -> Any:
            return NS()

        def list_component_attributions(self, entry_id: str) -> list[Any]:
            return []  # read after the PATCH, for the run history

        def create_ghg_statement(self, req: Any) -> Any:
            return NS(id="ggs_1STATEMENT000000", status="DRAFT")

    import importer.workbook.evidence as evidence

    original = evidence.read_evidence
    evidence.read_evidence = lambda *a, **k: b"x"  # type: ignore[assignment]
    try:
        log = apply_plan(plan, Client(), kinds=kinds.REGISTERED, concurrency=8)
    finally:
        evidence.read_evidence = original  # type: ignore[assignment]
    assert {o.status for o in log.outcomes.values()} == {"created"}, [o.error for o in log.outcomes.values()]
    assert started["entry"] < 0.5 <= started["component"]  # the entry did not wait for the slow diesel datapoint


def test_retries_reach_the_progress_display_as_they_happen(env: Any, tmp_path: Path) -> None:
    from importer.progress import QuietProgress
    from importer.sandbox import FaultConfig

    class Watching(QuietProgress):
        def __init__(self) -> None:
            self.retries: list[tuple[str, int]] = []

        def retry(self, what: str, attempt: int, wait: float | None = None, reason: str | None = None) -> None:
            self.retries.append((what, attempt))

    shown: list[Watching] = []

    def make() -> Watching:
        shown.append(Watching())
        return shown[-1]

    env.set_faults(FaultConfig(seed=5, rate_500=0.15))  # a retry or so per ten requests, none exhausted
    outcome = importer.run([copy_samples(tmp_path)], progress=make)
    env.set_faults(FaultConfig())
    assert outcome.ok, outcome.to_json()
    retries = shown[0].retries
    assert retries and all(attempt >= 1 for _, attempt in retries)
    assert any(what.startswith(("POST /", "GET /", "PATCH /")) for what, _ in retries)
