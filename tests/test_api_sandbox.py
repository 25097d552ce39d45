"""The API client over real HTTP on loopback, against the local sandbox: every create of the import flow,
pagination past one page, retries under injected faults, and lost responses that must not duplicate anything
(objects are counted in the sandbox's own store)."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pytest

from importer.api import (
    AuthError,
    ClientConfig,
    Conflict,
    IsometricClient,
    NotFound,
    UploadUrlExpired,
)
from importer.api import models as m
from importer.sandbox import FaultConfig
from importer.sandbox.seed import FEEDSTOCK_TYPE_ID, PROJECT_ID, TEMPLATE_APPLICATION

EVIDENCE = b"weighbridge ticket 2026-10-31: 18.4 t\n"


def client_for(sandbox, **overrides) -> IsometricClient:
    settings = {"backoff_initial": 0.001, "backoff_max": 0.01, "retry_after_cap": 0.05, **overrides}
    config = ClientConfig(
        base_url=sandbox.base_url, client_secret=sandbox.client_secret, access_token=sandbox.access_token, **settings
    )
    return IsometricClient(config)


def stored(sandbox, kind: str, prefix: str) -> list[dict]:
    """The sandbox's own objects of a kind whose supplier_reference_id starts with `prefix`."""
    return [o for o in sandbox.store.list(kind) if str(o.get("supplier_reference_id")).startswith(prefix)]


def source_request(srid: str) -> m.CreateSourceRequest:
    return m.CreateSourceRequest(
        supplier_reference_id=srid,
        display_name="Weighbridge ticket",
        published_at=dt.date(2026, 10, 31),
        file_name="ticket.txt",
        content_type="text/plain",
        content_length=len(EVIDENCE),
        project_id=PROJECT_ID,
    )


def datapoint_request(
    srid: str, magnitude: float = 1.0, unit: str = "t", source_ids: list[str] | None = None
) -> m.CreateDatapointRequest:
    return m.CreateDatapointRequest(
        supplier_reference_id=srid,
        display_name=srid,
        description=f"{srid} measured",
        type="REPORTED",
        quantity=m.QuantityInput(magnitude=magnitude, unit=unit),
        source_ids=source_ids or [],
        project_id=PROJECT_ID,
    )


def entry_request(srid: str, distance: str, mass: str, fuel: str) -> m.CreateGhgEntryRequest:
    """A "Field application" entry: its monitored inputs only (the fixed ones come from the template)."""
    return m.CreateGhgEntryRequest.model_validate(
        {
            "supplier_reference_id": srid,
            "project_id": PROJECT_ID,
            "started_on": "2026-10-01",
            "completed_on": "2026-10-15",
            "ghg_entry_template_id": TEMPLATE_APPLICATION,
            "feedstock_type_id": FEEDSTOCK_TYPE_ID,
            "ghg_entry_template_components": [
                {
                    "ghg_entry_template_component_id": "rtc_1SBXCOMPDELIVR01",
                    "inputs": [
                        {"__typename": "CreateComponentScalarInput", "input_key": "distance", "datapoint_id": distance},
                        {"__typename": "CreateComponentScalarInput", "input_key": "mass", "datapoint_id": mass},
                    ],
                },
                {
                    "ghg_entry_template_component_id": "rtc_1SBXCOMPSPREAD01",
                    "inputs": [
                        {"__typename": "CreateComponentScalarInput", "input_key": "fuel_volume", "datapoint_id": fuel}
                    ],
                },
            ],
        }
    )


def component_request(srid: str, fuel: str, factor: str) -> m.CreateComponentRequest:
    return m.CreateComponentRequest.model_validate(
        {
            "supplier_reference_id": srid,
            "project_id": PROJECT_ID,
            "component_blueprint_key": "fuel-combustion",
            "display_name": "Generator",
            "activity_started_at": "2026-10-01T00:00:00Z",
            "activity_completed_at": "2026-10-15T00:00:00Z",
            "inputs": [
                {"__typename": "CreateComponentScalarInput", "input_key": "fuel_volume", "datapoint_id": fuel},
                {
                    "__typename": "CreateComponentScalarInput",
                    "input_key": "fuel_emission_factor",
                    "datapoint_id": factor,
                },
            ],
        }
    )


def build_entry(client: IsometricClient, prefix: str) -> tuple[m.GhgEntry, m.Component]:
    """Datapoints, an entry from the template, an extra component: what a statement needs."""
    dps = {
        key: client.create_datapoint(datapoint_request(f"{prefix}-{key}", magnitude, unit)).id
        for key, magnitude, unit in [
            ("distance", 42.0, "km"),
            ("mass", 18.4, "t"),
            ("fuel", 120.0, "L"),
            ("gen-fuel", 30.0, "L"),
            ("gen-ef", 2.68, "kgCO2e/L"),
        ]
    }
    entry = client.create_ghg_entry(entry_request(f"{prefix}-entry", dps["distance"], dps["mass"], dps["fuel"]))
    component = client.create_component(component_request(f"{prefix}-generator", dps["gen-fuel"], dps["gen-ef"]))
    return entry, component


def attribution(component_id: str) -> m.PatchComponentAttributionsRequest:
    return m.PatchComponentAttributionsRequest.model_validate(
        {
            "components_to_add": [
                {"component_id": component_id, "component_group_key": "energy-use", "attribution_factor": 0.5}
            ]
        }
    )


def test_the_whole_flow_creates_each_object_once(sandbox):
    with client_for(sandbox) as client:
        assert PROJECT_ID in {p.id for p in client.list_projects()}
        templates = client.list_ghg_entry_templates(PROJECT_ID)
        application = next(t for t in templates if t.id == TEMPLATE_APPLICATION)
        monitored = {
            i.input_key for g in application.groups for c in g.components for i in c.inputs if i.type == "monitored"
        }
        assert monitored == {"distance", "mass", "fuel_volume"}
        blueprints = {b.key: b for b in client.list_component_blueprints()}
        assert blueprints["fuel-combustion"].inputs[0].compatible_unit == "L"

        created = client.create_source(source_request("flow-ticket"))
        assert created.source.supplier_reference_id == "flow-ticket" and created.signed_upload_url
        client.upload_to_signed_url(created.signed_upload_url, EVIDENCE, "text/plain")
        with pytest.raises(Conflict):  # the document is there: no second URL
            client.new_signed_upload_url(created.source.id, content_length=len(EVIDENCE), content_type="text/plain")
        assert sandbox.store.stored_file_sha256(created.source.id) is not None

        cited = client.create_datapoint(datapoint_request("flow-cited", 3.5, "t", [created.source.id]))
        assert cited.source_ids == [created.source.id] and cited.locked_status == "not_locked"
        patched = client.patch_datapoint(cited.id, m.PatchDatapointRequest(display_name="renamed"))
        assert patched.display_name == "renamed" and client.get_datapoint(cited.id).display_name == "renamed"

        entry, component = build_entry(client, "flow")
        assert entry.co2e_net_removed_kg is not None
        assert client.get_ghg_entry(entry.id).supplier_reference_id == "flow-entry"
        updated = client.patch_component_attributions(entry.id, attribution(component.id))
        assert updated.id == entry.id
        attributions = client.list_component_attributions(entry.id)
        assert component.id in {a.component_id for a in attributions}

        statement = client.create_ghg_statement(
            m.CreateGhgStatementRequest(project_id=PROJECT_ID, end_on=dt.date(2026, 10, 31))
        )
        assert statement.status == "DRAFT" and entry.id in statement.ghg_entry_ids
        submitted = client.submit_ghg_statement(
            statement.id,
            m.SubmitGhgStatementRequest(ghg_statement_report_url="https://reports.example.org/october.pdf"),
        )
        assert submitted.status != "DRAFT"
    for kind in ("source", "ghg_entry", "component"):
        assert len(stored(sandbox, kind, "flow-")) == 1, kind
    assert len([s for s in sandbox.store.list("ghg_statement") if s["project_id"] == PROJECT_ID]) == 1


def test_lists_follow_cursors_past_one_page(sandbox):
    with client_for(sandbox) as client, ThreadPoolExecutor(max_workers=8) as pool:
        made = list(pool.map(lambda n: client.create_datapoint(datapoint_request(f"page-{n:03d}", n)).id, range(120)))
        before = client.request_count
        listed = client.list_datapoints(project_id=PROJECT_ID)
        pages = client.request_count - before
    assert set(made) <= {d.id for d in listed}
    assert len(listed) == len({d.id for d in listed})  # no page read twice
    assert pages == -(-len(listed) // 50)  # pages of 50


def test_creates_survive_every_transient_fault_and_are_counted_once(sandbox):
    # sequential, so the seeded fault draws are reproducible
    sandbox.set_faults(
        FaultConfig(
            seed=11,
            rate_500=0.06,
            rate_503=0.06,
            rate_429=0.06,
            retry_after_seconds=0.01,
            rate_drop=0.06,
            rate_lost_response=0.06,
        )
    )
    with client_for(sandbox, max_attempts=10) as client:
        made = [client.create_datapoint(datapoint_request(f"fault-{n:02d}", n)) for n in range(30)]
        sent = client.request_count
    sandbox.set_faults(FaultConfig())
    assert sorted(d.supplier_reference_id for d in made) == [f"fault-{n:02d}" for n in range(30)]
    assert len(stored(sandbox, "datapoint", "fault-")) == 30  # exactly one object per create
    assert sent > 30  # faults were met and retried


def test_lost_responses_never_duplicate_any_kind_of_object(sandbox):
    """Every POST and PATCH is carried out by the server but its answer is cut off: the client must find what
    it made instead of making it again."""
    with client_for(sandbox) as client:
        sandbox.set_faults(FaultConfig(rate_lost_response=1.0, methods=["POST", "PATCH"]))
        created = client.create_source(source_request("lost-ticket"))
        assert created.source.supplier_reference_id == "lost-ticket"
        assert created.signed_upload_url is None  # a found source: the caller asks for a fresh URL
        entry, component = build_entry(client, "lost")
        client.patch_component_attributions(entry.id, attribution(component.id))
        statement = client.create_ghg_statement(
            m.CreateGhgStatementRequest(project_id=PROJECT_ID, end_on=dt.date(2026, 10, 31))
        )
        assert statement.reporting_period_end_at == dt.date(2026, 10, 31)
        submitted = client.submit_ghg_statement(
            statement.id,
            m.SubmitGhgStatementRequest(ghg_statement_report_url="https://reports.example.org/october.pdf"),
        )
        assert submitted.status != "DRAFT"
        sandbox.set_faults(FaultConfig())
        url = client.new_signed_upload_url(created.source.id, content_length=len(EVIDENCE), content_type="text/plain")
        client.upload_to_signed_url(url, EVIDENCE, "text/plain")
        assert len(client.list_component_attributions(entry.id)) >= 1
    assert len(stored(sandbox, "source", "lost-")) == 1
    assert len(stored(sandbox, "datapoint", "lost-")) == 5
    assert len(stored(sandbox, "ghg_entry", "lost-")) == 1
    assert len(stored(sandbox, "component", "lost-")) == 1
    assert len([s for s in sandbox.store.list("ghg_statement") if s["project_id"] == PROJECT_ID]) == 1
    assert [a["component_id"] for a in sandbox.store.list("component_attribution")].count(component.id) == 1
    assert sandbox.store.stored_file_sha256(created.source.id) is not None


def test_an_expired_upload_url_asks_for_a_fresh_one(sandbox):
    sandbox.set_faults(FaultConfig(expire_first_upload_url=True))
    with client_for(sandbox) as client:
        created = client.create_source(source_request("expired-ticket"))
        with pytest.raises(UploadUrlExpired) as info:
            client.upload_to_signed_url(created.signed_upload_url, EVIDENCE, "text/plain")
        assert "ISOMETRIC_" not in info.value.message  # storage trouble, not an API credential problem
        fresh = client.new_signed_upload_url(created.source.id, content_length=len(EVIDENCE), content_type="text/plain")
        client.upload_to_signed_url(fresh, EVIDENCE, "text/plain")
    assert sandbox.store.stored_file_sha256(created.source.id) is not None


def test_uploads_are_retried_through_storage_faults(sandbox):
    with client_for(sandbox, max_attempts=8) as client:
        created = client.create_source(source_request("flaky-storage"))
        sandbox.set_faults(FaultConfig(seed=3, rate_503=0.4, rate_drop=0.2, methods=["PUT"]))
        before = client.request_count
        client.upload_to_signed_url(created.signed_upload_url, EVIDENCE, "text/plain")
        puts = client.request_count - before
        sandbox.set_faults(FaultConfig())
    assert puts > 1  # the seeded draws fail the first PUT(s); the retries got through
    assert sandbox.store.stored_file_sha256(created.source.id) is not None


def test_deletes_and_credentials(sandbox):
    with client_for(sandbox) as client:
        made = client.create_datapoint(datapoint_request("to-delete"))
        client.delete("datapoint", made.id)
        with pytest.raises(NotFound):
            client.get_datapoint(made.id)
        with pytest.raises(NotFound):
            client.delete("datapoint", made.id)
    wrong = IsometricClient(
        ClientConfig(
            base_url=sandbox.base_url,
            client_secret=sandbox.client_secret,
            access_token="eyJwrong-token-value-0000000000",
        )
    )
    with wrong, pytest.raises(AuthError) as info:
        wrong.list_projects()
    assert info.value.status == 403
    assert "eyJwrong-token-value-0000000000" not in str(info.value) + repr(info.value)


def test_a_rate_limit_paces_concurrent_threads(sandbox):
    """A per-endpoint budget answers 429 beyond it; the client's threads wait it out together and all succeed."""
    sandbox.set_faults(FaultConfig(budget_per_second=20))
    with client_for(sandbox, retry_after_cap=1.0, max_attempts=10) as client, ThreadPoolExecutor(max_workers=6) as pool:
        made = list(pool.map(lambda n: client.create_datapoint(datapoint_request(f"paced-{n:02d}", n)), range(40)))
    sandbox.set_faults(FaultConfig())
    assert len({d.id for d in made}) == 40
    assert len(stored(sandbox, "datapoint", "paced-")) == 40
