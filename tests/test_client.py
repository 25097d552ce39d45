"""The API client: retries and pacing, error mapping, redaction, pagination, idempotent creates, upload safety,
and the request-body contract (issue #4/#5)."""

from __future__ import annotations

import io
import json
import logging

import httpx
import pytest

from importer.api import (
    ApiError,
    AuthError,
    ClientConfig,
    Conflict,
    InsecureApiUrl,
    IsometricClient,
    NotFound,
    RateLimited,
    ServerError,
    Unreachable,
    UnsafeUploadUrl,
    UploadNotConfirmed,
    ValidationFailed,
)
from importer.api import models as m
from importer.redaction import RedactingFilter

from contract import errors_of, request_schema

SECRET = "client-secret-ABCDEF-123456"
TOKEN = "eyJtoken.TOPSECRET-payload.signature-987654"
BASE = "https://api.sandbox.isometric.com/mrv/v0"


def make(handler, **config) -> IsometricClient:
    cfg = ClientConfig(
        base_url=config.pop("base_url", BASE),
        client_secret=SECRET,
        access_token=TOKEN,
        backoff_initial=0.001,
        backoff_max=0.01,
        retry_after_cap=0.05,
        **config,
    )
    return IsometricClient(cfg, transport=httpx.MockTransport(handler))


def page(nodes, *, next_cursor=None):
    return {
        "nodes": nodes,
        "total_count": len(nodes),
        "page_info": {
            "has_next_page": next_cursor is not None,
            "has_previous_page": False,
            "start_cursor": None,
            "end_cursor": next_cursor,
        },
    }


def test_credentials_go_in_headers(monkeypatch):
    seen = []

    def handler(request):
        seen.append(request)
        return httpx.Response(200, json=page([]))

    make(handler).list_projects()
    assert seen[0].headers["X-Client-Secret"] == SECRET
    assert seen[0].headers["Authorization"] == f"Bearer {TOKEN}"
    assert seen[0].url.params["first"] == "50"


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_transient_statuses_are_retried(status):
    calls = []

    def handler(request):
        calls.append(request)
        if len(calls) < 3:
            return httpx.Response(status, json={"detail": "busy"}, headers={"Retry-After": "0"})
        return httpx.Response(200, json=page([{"id": "prj_1AAAAAAAAAAAAAAAA", "name": "P"}]))

    client = make(handler)
    assert [p.id for p in client.list_projects()] == ["prj_1AAAAAAAAAAAAAAAA"]
    assert len(calls) == 3 and client.request_count == 3


def test_connection_errors_are_retried_then_reported_as_unreachable():
    calls = []

    def handler(request):
        calls.append(request)
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(Unreachable) as info:
        make(handler, max_attempts=4).list_projects()
    assert len(calls) == 4 and "connection failed" in str(info.value)


def test_bounded_attempts_end_in_the_right_exception():
    with pytest.raises(ServerError):
        make(lambda r: httpx.Response(503, json={"detail": "down"}), max_attempts=2).list_projects()
    limited = []
    with pytest.raises(RateLimited):
        make(
            lambda r: limited.append(r) or httpx.Response(429, json={"detail": "slow down"}),
            max_attempts=2,
            max_rate_limited_attempts=3,
        ).list_projects()
    assert len(limited) == 3  # a 429 has its own bound


def test_retry_after_is_honoured_and_capped(monkeypatch):
    sleeps = []
    monkeypatch.setattr(IsometricClient, "_retry_sleep", lambda self, s: sleeps.append(s))
    calls = []

    def handler(request):
        calls.append(request)
        return (
            httpx.Response(429, headers={"Retry-After": "0.03"})
            if len(calls) == 1
            else httpx.Response(200, json=page([]))
        )

    make(handler).list_projects()
    assert sleeps and sleeps[0] == pytest.approx(0.03)
    calls.clear()
    sleeps.clear()

    def long_wait(request):
        calls.append(request)
        return (
            httpx.Response(429, headers={"Retry-After": "3600"})
            if len(calls) == 1
            else httpx.Response(200, json=page([]))
        )

    make(long_wait).list_projects()
    assert sleeps[0] == pytest.approx(0.05)  # capped by retry_after_cap


@pytest.mark.parametrize(
    "status,cls", [(401, AuthError), (403, AuthError), (404, NotFound), (409, Conflict), (422, ValidationFailed)]
)
def test_error_mapping(status, cls):
    detail = [{"loc": ["body", "display_name"], "msg": "String should have at most 100 characters", "type": "x"}]
    client = make(lambda r: httpx.Response(status, json={"detail": detail if status == 422 else "nope"}))
    with pytest.raises(cls) as info:
        client.get_datapoint("dtp_1AAAAAAAAAAAAAAA")
    assert info.value.status == status and info.value.method == "GET"
    assert "/datapoints/dtp_1AAAAAAAAAAAAAAA" in info.value.url
    if status == 422:
        assert info.value.lines() == ["display_name: String should have at most 100 characters"]
        assert "display_name: String should have at most 100 characters" in info.value.message


def test_secrets_never_appear_in_exceptions_or_logs():
    def echo(request):
        return httpx.Response(
            400,
            json={"detail": f"bad header {request.headers['X-Client-Secret']} and {request.headers['Authorization']}"},
        )

    client = make(echo)
    with pytest.raises(ApiError) as info:
        client.get_source("src_1AAAAAAAAAAAAAAA")
    for text in (str(info.value), repr(info.value), info.value.message, str(info.value.url)):
        assert SECRET not in text and TOKEN not in text
    assert "[REDACTED]" in str(info.value)
    stream = io.StringIO()
    logger = logging.getLogger("test.redaction")
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        logger.info("token is %s, secret %s", TOKEN, SECRET)
        try:
            raise RuntimeError(f"boom {SECRET}")
        except RuntimeError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    logged = stream.getvalue()
    assert SECRET not in logged and TOKEN not in logged
    assert logged.count("[REDACTED]") >= 3
    assert repr(client.config).count(SECRET) == 0 and repr(client.config).count(TOKEN) == 0


def test_pagination_follows_cursors():
    def handler(request):
        after = request.url.params.get("after")
        if after is None:
            return httpx.Response(
                200,
                json=page([{"id": f"ftt_1AAAAAAAAAAAAAA{n:02d}", "name": str(n)} for n in range(50)], next_cursor="c1"),
            )
        assert after == "c1"
        return httpx.Response(200, json=page([{"id": "ftt_1AAAAAAAAAAAAAA99", "name": "last"}]))

    assert len(make(handler).list_feedstock_types()) == 51


def _datapoint_json(srid: str) -> dict:
    return {
        "id": "dtp_1AAAAAAAAAAAAAAA",
        "supplier_reference_id": srid,
        "display_name": "d",
        "type": "REPORTED",
        "quantity": {"magnitude": 1, "unit": "t"},
        "description": "d",
        "source_ids": [],
        "measured_at": None,
        "project_id": "prj_1SBXBIOCHAR00001",
        "locked_status": "not_locked",
    }


def test_a_create_whose_response_was_lost_is_found_not_duplicated():
    created = []

    def handler(request):
        if request.method == "POST":
            created.append(json.loads(request.content))
            raise httpx.RemoteProtocolError("peer closed connection", request=request)
        srid = request.url.params.get("supplier_reference_id")
        return httpx.Response(200, json=page([_datapoint_json(srid)] if created else []))

    req = m.CreateDatapointRequest.model_validate(
        {
            "supplier_reference_id": "dp-1",
            "display_name": "d",
            "description": "d",
            "type": "REPORTED",
            "quantity": {"magnitude": 1, "unit": "t"},
            "source_ids": [],
            "project_id": "prj_1SBXBIOCHAR00001",
        }
    )
    result = make(handler).create_datapoint(req)
    assert result.supplier_reference_id == "dp-1"
    assert len(created) == 1  # one POST, then a look-up instead of a second POST


def test_a_duplicate_refusal_returns_the_existing_object():
    def handler(request):
        if request.method == "POST":
            return httpx.Response(
                422,
                json={
                    "detail": [
                        {
                            "loc": ["body", "supplier_reference_id"],
                            "type": "dup",
                            "msg": "A datapoint with this supplier_reference_id already exists",
                        }
                    ]
                },
            )
        return httpx.Response(200, json=page([_datapoint_json("dp-2")]))

    req = m.CreateDatapointRequest.model_validate(
        {
            "supplier_reference_id": "dp-2",
            "display_name": "d",
            "description": "d",
            "type": "REPORTED",
            "quantity": {"magnitude": 1, "unit": "t"},
            "source_ids": [],
            "project_id": "prj_1SBXBIOCHAR00001",
        }
    )
    assert make(handler).create_datapoint(req).id == "dtp_1AAAAAAAAAAAAAAA"


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example.com/upload?sig=1",
        "http://storage.googleapis.com/bucket/x",  # plain http to a real host
        "http://10.0.0.5/upload",
        "ftp://s3.amazonaws.com/x",
    ],
)
def test_unsafe_upload_urls_are_refused_before_any_byte(url):
    sent = []
    client = make(lambda r: sent.append(r) or httpx.Response(200))
    with pytest.raises(UnsafeUploadUrl):
        client.upload_to_signed_url(url, b"data", "text/plain")
    assert sent == []


def test_uploads_go_to_allowlisted_storage_with_exact_length_and_no_redirects():
    sent = []

    def handler(request):
        sent.append(request)
        return httpx.Response(200)

    client = make(handler)
    client.upload_to_signed_url(
        "https://isometric-sources.s3.eu-west-1.amazonaws.com/k?X-Amz-Signature=1", b"12345", "text/csv"
    )
    assert sent[0].method == "PUT" and sent[0].headers["Content-Length"] == "5"
    assert sent[0].headers["Content-Type"] == "text/csv" and "X-Client-Secret" not in sent[0].headers
    redirect = make(lambda r: httpx.Response(307, headers={"Location": "https://evil.example.com/"}))
    with pytest.raises(UnsafeUploadUrl):
        redirect.upload_to_signed_url("https://storage.googleapis.com/isometric-uploads/k", b"12345", "text/csv")


def test_plain_http_is_refused_except_to_loopback():
    with pytest.raises(InsecureApiUrl):
        make(lambda r: httpx.Response(200), base_url="http://api.isometric.com/mrv/v0")
    make(lambda r: httpx.Response(200), base_url="http://127.0.0.1:8765/mrv/v0")  # allowed


def test_every_request_body_the_client_sends_matches_the_published_schema():
    bodies: list[tuple[str, str, dict]] = []

    def handler(request):
        path = request.url.path.removeprefix("/mrv/v0")
        if request.content:
            bodies.append((request.method, path, json.loads(request.content)))
        return httpx.Response(500, json={"detail": "stop"})  # the body is what matters here

    client = make(handler, max_attempts=1)
    calls = [
        (
            client.create_source,
            m.CreateSourceRequest.model_validate(
                {
                    "supplier_reference_id": "s",
                    "display_name": "S",
                    "published_at": "2026-10-31",
                    "file_name": "a.pdf",
                    "content_type": "application/pdf",
                    "content_length": 10,
                    "project_id": "prj_1SBXBIOCHAR00001",
                }
            ),
        ),
        (
            client.create_datapoint,
            m.CreateDatapointRequest.model_validate(
                {
                    "supplier_reference_id": "d",
                    "display_name": "D",
                    "description": "x",
                    "type": "REPORTED",
                    "quantity": {"magnitude": 1.5, "unit": "t", "standard_deviation": 0.1},
                    "source_ids": ["src_1AAAAAAAAAAAAAAA"],
                    "project_id": "prj_1SBXBIOCHAR00001",
                    "measured_at": "2026-10-01T00:00:00Z",
                }
            ),
        ),
        (
            client.create_ghg_entry,
            m.CreateGhgEntryRequest.model_validate(
                {
                    "supplier_reference_id": "e",
                    "project_id": "prj_1SBXBIOCHAR00001",
                    "started_on": "2026-10-01",
                    "completed_on": "2026-10-02",
                    "ghg_entry_template_id": "rvt_1SBXPRODBATCH001",
                    "feedstock_type_id": "ftt_1SBXFORESTRES001",
                    "ghg_entry_template_components": [
                        {
                            "ghg_entry_template_component_id": "rtc_1SBXCOMPELECTR01",
                            "inputs": [
                                {
                                    "__typename": "CreateComponentListInput",
                                    "input_key": "electricity_used",
                                    "datapoint_ids": ["dtp_1AAAAAAAAAAAAAAA"],
                                }
                            ],
                        }
                    ],
                }
            ),
        ),
        (
            client.create_component,
            m.CreateComponentRequest.model_validate(
                {
                    "supplier_reference_id": "c",
                    "project_id": "prj_1SBXBIOCHAR00001",
                    "component_blueprint_key": "fuel-combustion",
                    "display_name": "C",
                    "activity_started_at": "2026-10-01T00:00:00Z",
                    "activity_completed_at": "2026-10-02T00:00:00Z",
                    "inputs": [
                        {
                            "__typename": "CreateComponentScalarInput",
                            "input_key": "fuel_volume",
                            "datapoint_id": "dtp_1AAAAAAAAAAAAAAA",
                        }
                    ],
                }
            ),
        ),
        (
            client.create_ghg_statement,
            m.CreateGhgStatementRequest(project_id="prj_1SBXBIOCHAR00001", end_on="2026-10-31"),
        ),
    ]
    for fn, req in calls:
        with pytest.raises(ServerError):
            fn(req)
    with pytest.raises(ServerError):
        client.patch_component_attributions(
            "rmv_1AAAAAAAAAAAAAAA",
            m.PatchComponentAttributionsRequest.model_validate(
                {
                    "components_to_add": [
                        {
                            "component_id": "cmp_1AAAAAAAAAAAAAAA",
                            "component_group_key": "energy-use",
                            "attribution_factor": 0.5,
                        }
                    ]
                }
            ),
        )
    with pytest.raises(ServerError):
        client.submit_ghg_statement(
            "ggs_1AAAAAAAAAAAAAAA", m.SubmitGhgStatementRequest(ghg_statement_report_url="https://example.org/r.pdf")
        )
    paths = {
        "/ghg_entries/rmv_1AAAAAAAAAAAAAAA/component_attributions": "/ghg_entries/{id}/component_attributions",
        "/ghg_statements/ggs_1AAAAAAAAAAAAAAA/submit": "/ghg_statements/{id}/submit",
    }
    assert len(bodies) == 7  # one per create
    for method, path, body in bodies:
        problems = errors_of(request_schema(method, paths.get(path, path)), body)
        assert not problems, (method, path, problems)


def test_lost_responses_against_the_real_sandbox_create_exactly_once(sandbox):
    from importer.sandbox import FaultConfig

    sandbox.set_faults(FaultConfig(seed=3, rate_lost_response=0.5))
    config = ClientConfig(
        base_url=sandbox.base_url,
        client_secret=sandbox.client_secret,
        access_token=sandbox.access_token,
        backoff_initial=0.001,
        backoff_max=0.01,
    )
    with IsometricClient(config) as client:
        for n in range(10):
            client.create_datapoint(
                m.CreateDatapointRequest.model_validate(
                    {
                        "supplier_reference_id": f"lost-{n}",
                        "display_name": "d",
                        "description": "d",
                        "type": "REPORTED",
                        "quantity": {"magnitude": n, "unit": "t"},
                        "source_ids": [],
                        "project_id": "prj_1SBXBIOCHAR00001",
                    }
                )
            )
    sandbox.set_faults(FaultConfig())
    srids = [
        d["supplier_reference_id"]
        for d in sandbox.store.list("datapoint")
        if str(d["supplier_reference_id"]).startswith("lost-")
    ]
    assert sorted(srids) == sorted(f"lost-{n}" for n in range(10))
    lost = [s for s in sandbox.store.request_log if s[2] == 200 and s[0] == "POST"]
    assert len(lost) >= 10


def test_upload_state_comes_from_the_signed_url_answer_alone():
    """409 on a fresh signed-URL request: the document is there (None); a URL: it never arrived."""
    answers = iter(
        [
            httpx.Response(409, json={"detail": "The document has already been uploaded"}),
            httpx.Response(200, json="https://storage.googleapis.com/bucket/obj?sig=1"),
        ]
    )
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, request.url.path, json.loads(request.content)))
        return next(answers)

    client = make(handler)
    ask = {"content_length": 5, "content_type": "text/plain"}
    assert client.upload_url_unless_uploaded("src_1AAAAAAAAAAAAAAAAA", **ask) is None
    url = client.upload_url_unless_uploaded("src_1AAAAAAAAAAAAAAAAA", **ask)
    assert url == "https://storage.googleapis.com/bucket/obj?sig=1"
    assert seen[0] == (
        "POST",
        "/mrv/v0/sources/src_1AAAAAAAAAAAAAAAAA/signed_upload_url",
        {"content_length": 5, "content_type": "text/plain"},
    )


def _upload_client(answers: list[str | None]):
    """A client whose signed-URL answers are scripted (a URL, or None for 409) and whose PUTs are counted."""
    answers = list(answers)
    puts: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "PUT":
            puts.append(str(request.url))
            return httpx.Response(200)
        answer = answers.pop(0)
        if answer is None:
            return httpx.Response(409, json={"detail": "The document has already been uploaded"})
        return httpx.Response(200, json=answer)

    return make(handler), puts


U = "https://storage.googleapis.com/isometric-uploads/u"


def test_a_source_counts_as_uploaded_only_once_the_api_answers_409():
    """`upload_and_confirm` (the executor's PUT-then-confirm loop, in the client)."""
    done, puts = _upload_client([None])  # already there: nothing sent
    assert done.upload_and_confirm("src_1", None, b"data", "text/plain") is False and puts == []

    resumed, puts = _upload_client([f"{U}1", None])  # never arrived: PUT, then the 409 confirms
    assert resumed.upload_and_confirm("src_1", None, b"data", "text/plain") is True and puts == [f"{U}1"]

    retried, puts = _upload_client([f"{U}2", None])  # the create's URL was PUT but did not take: PUT again
    assert retried.upload_and_confirm("src_1", f"{U}1", b"data", "text/plain") is True
    assert puts == [f"{U}1", f"{U}2"]

    never, puts = _upload_client([f"{U}2", f"{U}3", f"{U}4"])  # the API never sees the file
    with pytest.raises(UploadNotConfirmed, match="did not take"):
        never.upload_and_confirm("src_1", f"{U}1", b"data", "text/plain")
