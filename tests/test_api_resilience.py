"""The client's behaviour at the edges, with `httpx.MockTransport` (no network): when a re-send needs a look-up
first and when it does not, DELETE after a lost answer, Retry-After as an HTTP date, one 429 pausing every
thread, thread-safe request counting, redaction of echoed secrets in error detail, storage errors, upload URL
allowlist tricks, and pagination that cannot loop."""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import httpx
import pytest

from importer.api import (
    ApiError,
    ClientConfig,
    IsometricClient,
    NotFound,
    ServerError,
    Unreachable,
    UnsafeUploadUrl,
    UploadUrlExpired,
    ValidationFailed,
)
from importer.api import client as client_module
from importer.api import models as m
from importer.api.safety import is_loopback_url

SECRET = "resilience-secret-Q1W2E3R4"
TOKEN = "eyJresilience.TOKEN-PAYLOAD-ZXCVBN.sig"
BASE = "https://api.sandbox.isometric.com/mrv/v0"
PROJECT = "prj_1SBXBIOCHAR00001"


def make(handler, **overrides) -> IsometricClient:
    settings = {"backoff_initial": 0.001, "backoff_max": 0.005, "retry_after_cap": 0.02, **overrides}
    base_url = settings.pop("base_url", BASE)
    config = ClientConfig(base_url=base_url, client_secret=SECRET, access_token=TOKEN, **settings)
    return IsometricClient(config, transport=httpx.MockTransport(handler))


def page(nodes, cursor=None) -> dict:
    return {
        "nodes": nodes,
        "total_count": len(nodes),
        "page_info": {
            "has_next_page": cursor is not None,
            "has_previous_page": False,
            "start_cursor": None,
            "end_cursor": cursor,
        },
    }


def datapoint(srid: str) -> dict:
    return {
        "id": "dtp_1AAAAAAAAAAAAAAAAA",
        "supplier_reference_id": srid,
        "display_name": srid,
        "type": "REPORTED",
        "quantity": {"magnitude": 2.0, "unit": "t", "standard_deviation": None},
        "description": "d",
        "source_ids": [],
        "measured_at": None,
        "project_id": PROJECT,
        "locked_status": "not_locked",
        "a_field_added_next_year": {"ignored": True},
    }


def datapoint_request(srid: str = "dp-1") -> m.CreateDatapointRequest:
    return m.CreateDatapointRequest(
        supplier_reference_id=srid,
        display_name="d",
        description="d",
        type="REPORTED",
        quantity=m.QuantityInput(magnitude=2.0, unit="t"),
        source_ids=[],
        project_id=PROJECT,
    )


@pytest.mark.parametrize(
    "failure",
    [
        lambda r: (_ for _ in ()).throw(httpx.ConnectError("refused", request=r)),
        lambda r: (_ for _ in ()).throw(httpx.ConnectTimeout("no route", request=r)),
        lambda r: httpx.Response(429, json={"detail": "slow down"}, headers={"Retry-After": "0"}),
        lambda r: httpx.Response(408, json={"detail": "request timeout"}),
        lambda r: httpx.Response(425, json={"detail": "too early"}),
    ],
    ids=["connect-error", "connect-timeout", "429", "408", "425"],
)
def test_a_create_the_server_never_acted_on_is_resent_without_a_look_up(failure):
    seen: list[str] = []

    def handler(request):
        seen.append(request.method)
        if len(seen) == 1:
            return failure(request)
        return httpx.Response(200, json=datapoint("dp-1"))

    assert make(handler).create_datapoint(datapoint_request()).supplier_reference_id == "dp-1"
    assert seen == ["POST", "POST"]


@pytest.mark.parametrize(
    "failure",
    [
        lambda r: (_ for _ in ()).throw(httpx.ReadTimeout("slow", request=r)),
        lambda r: (_ for _ in ()).throw(httpx.RemoteProtocolError("peer closed", request=r)),
        lambda r: httpx.Response(502, json={"detail": "bad gateway"}),
    ],
    ids=["read-timeout", "connection-dropped", "502"],
)
def test_a_create_that_may_have_happened_is_looked_up_before_a_resend(failure):
    seen: list[tuple[str, str | None]] = []

    def handler(request):
        seen.append((request.method, request.url.params.get("supplier_reference_id")))
        if request.method == "GET":
            return httpx.Response(200, json=page([]))  # not there: the re-send is safe
        if len([s for s in seen if s[0] == "POST"]) == 1:
            return failure(request)
        return httpx.Response(200, json=datapoint("dp-1"))

    client = make(handler)
    client.create_datapoint(datapoint_request())
    assert seen == [("POST", None), ("GET", "dp-1"), ("POST", None)]
    assert client.request_count == 3


def test_after_one_uncertain_attempt_every_later_resend_looks_first():
    seen: list[str] = []
    answers = iter(
        [
            httpx.Response(500),
            httpx.Response(429, headers={"Retry-After": "0"}),
            httpx.Response(200, json=datapoint("dp-1")),
        ]
    )

    def handler(request):
        seen.append(request.method)
        return httpx.Response(200, json=page([])) if request.method == "GET" else next(answers)

    make(handler).create_datapoint(datapoint_request())
    assert seen == ["POST", "GET", "POST", "GET", "POST"]


def test_a_resent_delete_that_finds_the_object_gone_has_done_its_work():
    seen: list[str] = []

    def handler(request):
        seen.append(request.method)
        if len(seen) == 1:
            raise httpx.ReadTimeout("answer lost", request=request)
        return httpx.Response(404, json={"detail": "Not found"})

    assert make(handler).delete("datapoint", "dtp_1AAAAAAAAAAAAAAAAA") is None
    assert seen == ["DELETE", "DELETE"]


def test_a_delete_of_something_absent_is_not_found_and_unknown_kinds_send_nothing():
    seen: list[httpx.Request] = []
    client = make(lambda r: seen.append(r) or httpx.Response(404, json={"detail": "Not found"}))
    with pytest.raises(NotFound) as info:
        client.delete("component", "cmp_1AAAAAAAAAAAAAAAAA")
    assert info.value.method == "DELETE" and info.value.url.endswith("/components/cmp_1AAAAAAAAAAAAAAAAA")
    with pytest.raises(ValueError):
        client.delete("ghg_statement", "ggs_1AAAAAAAAAAAAAAAAA")
    assert len(seen) == 1


def test_retry_after_as_an_http_date_is_honoured_and_capped(monkeypatch):
    sleeps: list[float] = []
    monkeypatch.setattr(IsometricClient, "_retry_sleep", lambda self, s: sleeps.append(s))
    later = email.utils.format_datetime(dt.datetime.now(dt.UTC) + dt.timedelta(hours=1), usegmt=True)
    past = "Tue, 01 Jan 2019 00:00:00 -0000"  # a naive date: must not crash
    answers = iter(
        [
            httpx.Response(503, headers={"Retry-After": later}),
            httpx.Response(503, headers={"Retry-After": past}),
            httpx.Response(503, headers={"Retry-After": "soon"}),
            httpx.Response(200, json=page([])),
        ]
    )
    make(lambda r: next(answers), retry_after_cap=0.5, backoff_initial=0.001, backoff_max=0.001).list_projects()
    assert sleeps[0] == pytest.approx(0.5)  # an hour away, capped
    assert sleeps[1] == pytest.approx(0.001)  # already past: the backoff floor, never a tight loop
    assert 0 < sleeps[2] <= 0.002  # unreadable: ordinary backoff


class FakeClock:
    """Monotonic time that only moves when someone sleeps, so waiting is observable without timing."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: dict[str, float] = {}
        self.lock = threading.Lock()

    def monotonic(self) -> float:
        with self.lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds
            name = threading.current_thread().name
            self.slept[name] = self.slept.get(name, 0.0) + seconds


def test_one_429_pauses_every_thread_of_the_client(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(client_module, "time", clock)
    parked, release = threading.Event(), threading.Event()

    def park(seconds: float) -> None:  # tenacity's backoff sleep: hold the first thread after its 429
        parked.set()
        release.wait(10)

    monkeypatch.setattr(IsometricClient, "_retry_sleep", lambda self, s: park(s))
    monkeypatch.setattr(IsometricClient, "_sleep", lambda self, s: clock.sleep(s))  # the pause: fake time
    first = threading.Event()

    def handler(request):
        if request.url.path.endswith("/projects") and not first.is_set():
            first.set()
            return httpx.Response(429, json={"detail": "Too many requests"}, headers={"Retry-After": "7"})
        return httpx.Response(200, json=page([]))

    client = make(handler, retry_after_cap=30)
    throttled = threading.Thread(target=client.list_projects, name="throttled")
    throttled.start()
    assert parked.wait(10)
    other = threading.Thread(target=client.list_feedstock_types, name="other")
    other.start()
    other.join(10)
    release.set()
    throttled.join(10)
    assert not other.is_alive() and not throttled.is_alive()
    assert clock.slept.get("other", 0) >= 7  # another thread, another endpoint: it still waited


def test_request_count_is_exact_under_concurrency():
    served = 0
    lock = threading.Lock()

    def handler(request):
        nonlocal served
        with lock:
            served += 1
        return httpx.Response(200, json=page([]))

    client = make(handler)
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda _: client.list_projects(), range(200)))
    assert client.request_count == served == 200


def test_secrets_echoed_into_error_detail_are_redacted_everywhere():
    def echo(request):
        secret = request.headers["X-Client-Secret"]
        detail = [
            {
                "loc": ["header", "x-client-secret"],
                "msg": f"unknown secret {secret}",
                "input": {"Authorization": request.headers["Authorization"], "quoted": quote(secret)},
            }
        ]
        return httpx.Response(422, json={"detail": detail})

    with pytest.raises(ValidationFailed) as info:
        make(echo).list_projects()
    exc = info.value
    texts = [str(exc), repr(exc), exc.message, json.dumps(exc.detail), *exc.lines(), str(exc.args)]
    for text in texts:
        assert SECRET not in text and TOKEN not in text and quote(SECRET) not in text
    assert "[REDACTED]" in exc.lines()[0]


def test_error_message_is_one_line_in_the_api_words():
    client = make(lambda r: httpx.Response(409, json={"detail": "The document\nhas already\n\tbeen uploaded"}))
    with pytest.raises(ApiError) as info:
        client.new_signed_upload_url("src_1AAAAAAAAAAAAAAAAA", content_length=3, content_type="text/plain")
    assert info.value.message == "The document has already been uploaded"
    assert info.value.status == 409 and info.value.method == "POST"


def test_timeouts_end_as_unreachable_after_bounded_attempts():
    seen: list[httpx.Request] = []

    def handler(request):
        seen.append(request)
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(Unreachable) as info:
        make(handler, max_attempts=3).get_source("src_1AAAAAAAAAAAAAAAAA")
    assert len(seen) == 3 and "timed out" in info.value.message


def test_a_lost_submit_is_not_sent_twice_once_the_statement_has_moved_on():
    seen: list[str] = []
    statement = {
        "id": "ggs_1AAAAAAAAAAAAAAAAA",
        "project_id": PROJECT,
        "status": "AWAITING_VERIFICATION",
        "reporting_period_start_at": "2026-10-01",
        "reporting_period_end_at": "2026-10-31",
        "ghg_entry_ids": [],
        "removal_ids": [],
    }

    def handler(request):
        seen.append(request.method)
        if request.method == "POST":
            raise httpx.RemoteProtocolError("peer closed", request=request)
        return httpx.Response(200, json=statement)

    result = make(handler).submit_ghg_statement(
        "ggs_1AAAAAAAAAAAAAAAAA", m.SubmitGhgStatementRequest(ghg_statement_report_url="https://r.example.org/x")
    )
    assert result.status == "AWAITING_VERIFICATION" and seen == ["POST", "GET"]


def test_a_lost_attribution_patch_resends_only_what_is_left():
    bodies: list[dict] = []
    entry = {
        "id": "rmv_1AAAAAAAAAAAAAAAAA",
        "supplier_reference_id": "e",
        "started_on": "2026-10-01",
        "completed_on": "2026-10-15",
        "co2e_net_removed_kg": 1.0,
        "co2e_net_removed_without_discount_kg": 1.0,
        "co2e_net_removed_standard_deviation_kg": None,
        "ghg_statement_id": None,
        "feedstock_type_id": None,
    }
    present = {
        "id": "rvc_1AAAAAAAAAAAAAAAAA",
        "component_id": "cmp_1DONEAAAAAAAAAAAAA",
        "removal_id": entry["id"],
        "component_group_key": "energy-use",
        "attribution_factor": 1.0,
        "removal_template_component_id": None,
    }

    def handler(request):
        if request.method == "GET":
            return httpx.Response(200, json=page([present]))
        bodies.append(json.loads(request.content))
        if len(bodies) == 1:
            return httpx.Response(504, json={"detail": "gateway timeout"})
        return httpx.Response(200, json=entry)

    req = m.PatchComponentAttributionsRequest.model_validate(
        {
            "components_to_add": [
                {"component_id": "cmp_1DONEAAAAAAAAAAAAA", "component_group_key": "energy-use"},
                {"component_id": "cmp_1TODOAAAAAAAAAAAAA", "component_group_key": "energy-use"},
            ],
            "components_to_remove": ["cmp_1GONEAAAAAAAAAAAAA"],
        }
    )
    make(handler).patch_component_attributions(entry["id"], req)
    assert len(bodies) == 2
    assert [c["component_id"] for c in bodies[1]["components_to_add"]] == ["cmp_1TODOAAAAAAAAAAAAA"]
    assert bodies[1]["components_to_remove"] == []


def test_a_statement_refused_as_overlapping_is_the_one_already_there():
    existing = {
        "id": "ggs_1AAAAAAAAAAAAAAAAA",
        "project_id": PROJECT,
        "status": "DRAFT",
        "reporting_period_start_at": "2026-10-01",
        "reporting_period_end_at": "2026-10-31",
        "ghg_entry_ids": ["rmv_1AAAAAAAAAAAAAAAAA"],
        "removal_ids": [],
    }

    def handler(request):
        if request.method == "POST":
            return httpx.Response(
                422, json={"detail": [{"loc": ["body", "end_on"], "msg": "would overlap", "type": "value_error"}]}
            )
        return httpx.Response(200, json=page([existing]))

    found = make(handler).create_ghg_statement(
        m.CreateGhgStatementRequest(project_id=PROJECT, end_on=dt.date(2026, 10, 31))
    )
    assert found.id == existing["id"]
    with pytest.raises(ValidationFailed):  # a different period is a real refusal
        make(handler).create_ghg_statement(
            m.CreateGhgStatementRequest(project_id=PROJECT, end_on=dt.date(2026, 11, 30))
        )


def test_a_found_source_comes_back_without_a_signed_url():
    source = {
        "id": "src_1AAAAAAAAAAAAAAAAA",
        "supplier_reference_id": "s",
        "display_name": "S",
        "original_filename": "a.txt",
        "type": "DOCUMENT",
        "published_at": "2026-10-31",
        "url_info": None,
        "is_public": False,
        "project_id": PROJECT,
    }

    def handler(request):
        if request.method == "POST":
            return httpx.Response(409, json={"detail": "supplier_reference_id already used"})
        return httpx.Response(200, json=page([source]))

    created = make(handler).create_source(
        m.CreateSourceRequest(
            supplier_reference_id="s",
            display_name="S",
            published_at=dt.date(2026, 10, 31),
            file_name="a.txt",
            content_type="text/plain",
            content_length=3,
            project_id=PROJECT,
        )
    )
    assert created.source.id == source["id"] and created.signed_upload_url is None


def test_pagination_stops_when_the_server_repeats_a_cursor():
    seen: list[httpx.Request] = []

    def handler(request):
        seen.append(request)
        return httpx.Response(
            200, json=page([{"id": f"prj_1AAAAAAAAAAAAAAA{len(seen):02d}", "name": "P"}], cursor="same")
        )

    assert len(make(handler).list_projects()) == 2
    assert len(seen) == 2 and all(r.url.params["first"] == "50" for r in seen)
    assert seen[1].url.params["after"] == "same"


@pytest.mark.parametrize(
    "url",
    [
        "https://storage.googleapis.com.evil.example/b/k",
        "https://evil.example/storage.googleapis.com/b/k",
        "https://s3.amazonaws.com@evil.example/k",
        "https://amazonaws.com.evil.example/k",
        "https://evilamazonaws.com/k",
        "http://127.0.0.1:9/_storage/upload/x",  # loopback storage, but the API is not loopback
        "https://[::2]/k",
    ],
)
def test_upload_urls_off_the_allowlist_send_nothing(url):
    sent: list[httpx.Request] = []
    client = make(lambda r: sent.append(r) or httpx.Response(200))
    with pytest.raises(UnsafeUploadUrl) as info:
        client.upload_to_signed_url(url, b"abc", "text/plain")
    assert sent == [] and "?" not in info.value.url


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8765/_storage/upload/t", "http://localhost:8765/_storage/u", "http://[::1]:8765/_storage/u"],
)
def test_plain_http_uploads_go_to_loopback_only_for_a_loopback_api(url):
    sent: list[httpx.Request] = []
    client = make(lambda r: sent.append(r) or httpx.Response(200), base_url="http://127.0.0.1:8765/mrv/v0")
    client.upload_to_signed_url(url, b"abc", "text/plain")
    assert len(sent) == 1 and sent[0].content == b"abc" and sent[0].headers["Content-Length"] == "3"
    assert "Authorization" not in sent[0].headers and "X-Client-Secret" not in sent[0].headers
    assert is_loopback_url(url)


def test_storage_answers_are_read_in_storage_terms():
    answers = {
        "expired-s3": httpx.Response(
            403, text="<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>"
        ),
        "expired-gcs": httpx.Response(400, text="<Error><Code>ExpiredToken</Code></Error>"),
        "bad-body": httpx.Response(400, text="<Error><Code>IncompleteBody</Code></Error>"),
    }
    client = make(lambda r: answers[r.url.path.rsplit("/", 1)[-1]])
    for name in ("expired-s3", "expired-gcs"):
        with pytest.raises(UploadUrlExpired) as info:
            client.upload_to_signed_url(
                f"https://isometric-b.s3.amazonaws.com/{name}?X-Amz-Signature=abc", b"x", "text/csv"
            )
        assert "ISOMETRIC_" not in info.value.message and "X-Amz-Signature" not in str(info.value)
    with pytest.raises(ApiError) as info:
        client.upload_to_signed_url("https://storage.googleapis.com/isometric-b/bad-body", b"x", "text/csv")
    assert type(info.value) is ApiError and "IncompleteBody" in info.value.message


def test_storage_5xx_is_retried_because_put_is_idempotent():
    seen: list[httpx.Request] = []

    def handler(request):
        seen.append(request)
        return httpx.Response(503 if len(seen) < 3 else 200)

    make(handler).upload_to_signed_url("https://x.isometric.com/upload/k", b"12345", "application/pdf")
    assert len(seen) == 3 and {r.content for r in seen} == {b"12345"}
    with pytest.raises(ServerError):
        make(lambda r: httpx.Response(500), max_attempts=2).upload_to_signed_url(
            "https://x.isometric.com/upload/k", b"12345", "application/pdf"
        )


def test_responses_ignore_fields_the_api_adds_later():
    dp = make(lambda r: httpx.Response(200, json=datapoint("dp-9"))).get_datapoint("dtp_1AAAAAAAAAAAAAAAAA")
    assert dp.quantity.magnitude == 2.0 and not hasattr(dp, "a_field_added_next_year")


def test_the_logging_filter_redacts_every_part_of_a_record():
    import io
    import logging

    from importer.redaction import RedactingFilter, redact, register_secrets

    register_secrets("log-secret-AAAA1111", None, "tiny")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("test.api.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("two args %s %s", "log-secret-AAAA1111")  # a broken call must not leak its text
        logger.warning("url %s", f"https://x.example/?t={quote('log-secret-AAAA1111')}", stack_info=True)
        try:
            raise RuntimeError("failed with log-secret-AAAA1111")
        except RuntimeError:
            logger.exception("boom")
    finally:
        logger.removeHandler(handler)
    logged = stream.getvalue()
    assert "log-secret-AAAA1111" not in logged and quote("log-secret-AAAA1111") not in logged
    assert logged.count("[REDACTED]") >= 3 and "RuntimeError" in logged
    assert redact("tiny words stay") == "tiny words stay"  # too short to be registered as a secret
