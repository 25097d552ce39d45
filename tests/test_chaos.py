"""Issue #5: the full import under each fault mode of the sandbox, then the server is counted through its
store: exactly the objects the workbook defines, no duplicates, none missing, every datapoint value and every
uploaded file byte-identical. In-process (runner API) over real HTTP on loopback, with short client
timeouts and backoff so a fault test takes seconds."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from importer.api import ClientConfig, IsometricClient
from importer.runner import ApiSession, ImportOptions, import_workbook
from importer.sandbox import FaultConfig
from importer.workbook.synthetic import make_workbook
from importer.workbook.validate import validate_workbook

from e2e_helpers import assert_exactly, copy_samples, expected_references

pytestmark = pytest.mark.slow

MODES = {
    "429 with Retry-After (20%)": FaultConfig(seed=11, rate_429=0.2, retry_after_seconds=0.05),
    "500/503 (20%)": FaultConfig(seed=12, rate_500=0.1, rate_503=0.1),
    "dropped connections (10%)": FaultConfig(seed=13, rate_drop=0.1),
    "slower than the client timeout (5%)": FaultConfig(seed=14, rate_slow=0.05, slow_seconds=1.5),
    "lost responses after a write (20%)": FaultConfig(seed=15, rate_lost_response=0.2),
    "expiring signed upload URLs": FaultConfig(seed=16, expire_first_upload_url=True),
    "all mixed (25%)": FaultConfig(seed=17, fault_rate=0.25, retry_after_seconds=0.05, slow_seconds=1.5),
}


def _run(workbook: Path, sandbox, *, concurrency: int = 4, attempts: int = 12):
    validation = validate_workbook(workbook)
    assert validation.ok, [f.message for f in validation.errors()]
    config = ClientConfig(
        base_url=sandbox.base_url,
        client_secret=sandbox.client_secret,
        access_token=sandbox.access_token,
        timeout=1.0,
        max_attempts=attempts,
        backoff_initial=0.01,
        backoff_max=0.1,
        retry_after_cap=0.2,
    )
    with IsometricClient(config) as client:
        session = ApiSession(client=client, url=sandbox.base_url, embedded=False, environment="test")
        return import_workbook(validation, session, ImportOptions(mode="run", concurrency=concurrency))


def assert_faithful(sandbox, workbook: Path) -> None:
    """Exactly what the workbook defines, with identical values and file bytes."""
    assert_exactly(sandbox, workbook)
    wb = validate_workbook(workbook).workbook
    prefix = wb.project.supplier_reference_prefix or wb.project.project_id
    held = {d["supplier_reference_id"]: d for d in sandbox.store.list("datapoint") if d["supplier_reference_id"]}
    for row in wb.datapoints:
        dp = held[f"{prefix}:datapoints:{row.ref}"]
        assert dp["quantity"]["magnitude"] == row.magnitude and dp["quantity"]["unit"] == row.unit
    sources = {s["original_filename"]: s for s in sandbox.store.list("source")}
    for row in wb.sources:
        expected = hashlib.sha256(row.file.read_bytes()).hexdigest()
        assert sandbox.store.stored_file_sha256(sources[row.file_name]["id"]) == expected


@pytest.mark.parametrize("mode", list(MODES))
def test_sample_import_survives(mode, sandbox, tmp_path):
    workbook = copy_samples(tmp_path)
    sandbox.set_faults(MODES[mode])
    result = _run(workbook, sandbox)
    sandbox.set_faults(FaultConfig())
    assert result.ok, [(o.kind, o.ref, o.error) for o in result.objects if o.status != "created"]
    assert_faithful(sandbox, workbook)
    statements = [s for s in sandbox.store.list("ghg_statement") if s["project_id"] == "prj_1SBXBIOCHAR00001"]
    assert len(statements) == 1


def test_generated_workbook_of_hundreds_of_objects_under_mixed_faults(sandbox, tmp_path):
    workbook = make_workbook(tmp_path / "gen", 240, sources=6, statement_end_on="2026-10-31")
    expected = sum(len(v) for v in expected_references(workbook).values())
    assert expected > 250
    sandbox.set_faults(FaultConfig(seed=23, fault_rate=0.2, retry_after_seconds=0.05, slow_seconds=1.5))
    result = _run(workbook, sandbox, concurrency=8)
    sandbox.set_faults(FaultConfig())
    assert result.ok, [(o.kind, o.ref, o.error) for o in result.objects if o.status != "created"][:5]
    assert_faithful(sandbox, workbook)


def test_a_fault_that_outlasts_the_retries_fails_the_row_and_blocks_only_its_dependants(sandbox, tmp_path):
    workbook = copy_samples(tmp_path)
    sandbox.set_faults(FaultConfig(seed=5, rate_503=0.35, methods=["POST"]))
    result = _run(workbook, sandbox, attempts=1)  # no retries: some creates must fail
    sandbox.set_faults(FaultConfig())
    failed = [o for o in result.objects if o.status == "failed"]
    assert failed and not result.ok
    assert all("unavailable" in (o.error or "").lower() for o in failed), [o.error for o in failed]
    by_key = {(o.kind, o.ref): o for o in result.objects}
    failed_keys = {(o.kind, o.ref) for o in failed}
    for o in result.objects:
        if o.status == "blocked":
            assert o.blocked_by  # it names its culprit
    # rows that depend on nothing that failed went through
    independent = [o for o in result.objects if o.kind == "source" and (o.kind, o.ref) not in failed_keys]
    assert all(o.status == "created" for o in independent)
    # a re-run with the fault gone finishes the work, creating nothing twice
    again = _run(workbook, sandbox)
    assert again.ok
    assert all(o.status in ("created", "unchanged", "updated") for o in again.objects)
    assert_faithful(sandbox, workbook)
    assert by_key  # the first run reported every row
