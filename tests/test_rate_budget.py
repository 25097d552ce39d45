"""Under a rate budget (#30): the sandbox's budget per endpoint or for all API requests together, with the IETF
draft's RateLimit headers or none; the client reading those headers, or learning the rate from 429s, so that few
requests are answered 429 and nothing is lost or duplicated. Real HTTP on loopback; time limits here are only
bounds against hanging (the rate's figures are `benchmarks/bench.py targets --only rate`)."""

from __future__ import annotations

import base64
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from importer.api import ClientConfig, IsometricClient
from importer.api import models as m
from importer.api.client import ALL_REQUESTS, parse_ratelimit, route_key
from importer.sandbox import FaultConfig
from importer.sandbox.seed import PROJECT_ID

from e2e_helpers import SHEET_KIND, api_nodes, cli_env, copy_samples, expected_references, run_cli

COLLECTIONS = {
    "source": "/sources",
    "datapoint": "/datapoints",
    "feedstock_type": "/feedstock_types",
    "ghg_entry": "/ghg_entries",
    "component": "/components",
    "storage_location": "/projects/prj_1SBXBIOCHAR00001/storage_locations",
    "production_batch": "/production_batches",
    "biochar_application": "/biochar_applications",
}


def client_for(sandbox, max_rate: float | None = None) -> IsometricClient:
    return IsometricClient(
        ClientConfig(
            base_url=sandbox.base_url,
            client_secret=sandbox.client_secret,
            access_token=sandbox.access_token,
            max_rate_limited_attempts=60,
            max_rate=max_rate,
        )
    )


def raw(sandbox) -> httpx.Client:
    return httpx.Client(
        base_url=sandbox.base_url,
        timeout=10,
        headers={"X-Client-Secret": sandbox.client_secret, "Authorization": f"Bearer {sandbox.access_token}"},
    )


def load(client: IsometricClient, tag: str, creates: int, reads: int, threads: int = 6) -> list[m.Datapoint]:
    """`creates` datapoint creates interleaved with `reads` listings of the feedstock types, over `threads`."""
    jobs = sorted(
        [("c", i / creates, i) for i in range(creates)] + [("r", (i + 0.5) / reads, i) for i in range(reads)],
        key=lambda job: job[1],
    )

    def one(job):
        kind, _, i = job
        if kind == "r":
            return client.list_feedstock_types()
        srid = f"{tag}-{i:03d}"
        return client.create_datapoint(
            m.CreateDatapointRequest(
                supplier_reference_id=srid,
                display_name=srid,
                description="under a budget",
                type="REPORTED",
                quantity=m.QuantityInput(magnitude=1.0 + i, unit="t"),
                source_ids=[],
                project_id=PROJECT_ID,
            )
        )

    with ThreadPoolExecutor(threads) as pool:
        return [d for d in pool.map(one, jobs) if isinstance(d, m.Datapoint)]


def held(sandbox, prefix: str) -> list[str]:
    """The supplier_reference_ids of the datapoints under `prefix` the server holds, read over HTTP."""
    return sorted(
        n["supplier_reference_id"]
        for n in api_nodes(sandbox, "/datapoints")
        if str(n.get("supplier_reference_id") or "").startswith(prefix)
    )


# -- the headers --------------------------------------------------------------------------------------------


def test_ratelimit_fields_parse_as_structured_lists():
    assert parse_ratelimit('"default";q=20;w=1') == [("default", {"q": 20, "w": 1})]
    assert parse_ratelimit('"default";r=7;t=1') == [("default", {"r": 7, "t": 1})]
    assert parse_ratelimit(' "burst";q=100;w=60, "day";q=1000;w=86400;qu="requests" ') == [
        ("burst", {"q": 100, "w": 60}),
        ("day", {"q": 1000, "w": 86400, "qu": "requests"}),
    ]
    pk = base64.b64encode(b"POST /mrv/v0/datapoints").decode()
    assert parse_ratelimit(f'"endpoint";r=0;t=1;pk=:{pk}:') == [
        ("endpoint", {"r": 0, "t": 1, "pk": b"POST /mrv/v0/datapoints"})
    ]
    assert parse_ratelimit('"a\\"b";q=1.5;flag, token;w=2') == [('a"b', {"q": 1.5, "flag": True}), ("token", {"w": 2})]
    assert parse_ratelimit('"ok";q=5, ;;garbage') == [("ok", {"q": 5})]  # stops at what it cannot read
    assert parse_ratelimit("") == []


def test_routes_are_keyed_as_the_sandbox_keys_its_budget():
    assert route_key("POST", "/datapoints") == "POST /datapoints"
    assert route_key("GET", "/datapoints/dtp_1ABCDEFGHIJKLMNOPQ") == "GET /datapoints/{id}"
    assert (
        route_key("POST", "/sources/src_1ABCDEFGHIJKLMNOPQ/signed_upload_url") == "POST /sources/{id}/signed_upload_url"
    )
    assert (
        route_key("GET", "/projects/prj_1SBXBIOCHAR00001/ghg_entry_templates")
        == "GET /projects/{id}/ghg_entry_templates"
    )


def test_the_sandbox_sends_the_draft_headers_per_endpoint_and_none_by_default(sandbox):
    sandbox.set_faults(FaultConfig(budget_per_second=3, rate_headers=True))
    time.sleep(1 - time.monotonic() % 1 + 0.02)  # a fresh window (the sandbox's windows are whole seconds)
    with raw(sandbox) as http:
        answers = [http.get("/projects") for _ in range(4)]
        other = http.get("/feedstock_types")
    pk = base64.b64encode(b"GET /mrv/v0/projects").decode()
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[0].headers["RateLimit-Policy"] == f'"endpoint";q=3;w=1;pk=:{pk}:'
    assert [parse_ratelimit(a.headers["RateLimit"])[0][1]["r"] for a in answers] == [2, 1, 0, 0]
    assert all(parse_ratelimit(a.headers["RateLimit"])[0][1]["t"] in (0, 1) for a in answers)
    assert other.status_code == 200 and parse_ratelimit(other.headers["RateLimit"])[0][1]["r"] == 2  # its own
    sandbox.set_faults(FaultConfig(budget_per_second=3))
    with raw(sandbox) as http:
        answer = http.get("/projects")
    assert "RateLimit" not in answer.headers and "RateLimit-Policy" not in answer.headers


def test_a_global_budget_counts_every_api_request_together(sandbox):
    sandbox.set_faults(FaultConfig(budget_per_second=3, budget_scope="global", rate_headers=True))
    time.sleep(1 - time.monotonic() % 1 + 0.02)
    with raw(sandbox) as http:
        codes = [
            http.get(path).status_code
            for path in ("/projects", "/feedstock_types", "/component_blueprints", "/projects")
        ]
        answer = http.get("/datapoints")
    assert codes == [200, 200, 200, 429]
    assert answer.status_code == 429
    assert answer.headers["RateLimit-Policy"] == '"global";q=3;w=1'
    assert parse_ratelimit(answer.headers["RateLimit"]) == [("global", {"r": 0, "t": 1})]


# -- the client under a budget ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "headers"), [("endpoint", True), ("global", True), ("endpoint", False), ("global", False)]
)
def test_the_client_keeps_to_the_budget_with_few_429s_and_nothing_lost(sandbox, scope, headers):
    budget = 10
    sandbox.set_faults(FaultConfig(budget_per_second=budget, budget_scope=scope, rate_headers=headers))
    tag = f"rate-{scope}-{'h' if headers else 'n'}"
    started = time.monotonic()
    with client_for(sandbox) as client:
        made = load(client, tag, creates=30, reads=15)
        rates, source = client.settled_rates, client.rate_source
        requests, throttled = client.request_count, client.throttled_count
    took = time.monotonic() - started
    sandbox.set_faults(FaultConfig())
    assert sorted(d.supplier_reference_id for d in made) == [f"{tag}-{i:03d}" for i in range(30)]
    assert held(sandbox, tag + "-") == [f"{tag}-{i:03d}" for i in range(30)]  # none lost, none twice
    assert took < 60  # generous: the bound is 3 s per endpoint, 4.5 s global
    if headers:
        assert source == "RateLimit headers"
        assert throttled == 0, (throttled, requests)  # a turn given before the window was spent waits it out
        assert any(name.startswith('policy "') and 9 <= rate <= 10 for name, rate in rates.items()), rates
    else:
        assert source == "429 answers"
        assert throttled <= 10, (throttled, requests)  # the first volley (6 threads), and little after it
        assert rates and all(0 < rate <= 2.5 * budget for rate in rates.values()), rates
        if scope == "global":
            assert rates.get(ALL_REQUESTS, 0) <= budget, rates


def test_without_a_budget_nothing_is_paced(sandbox):
    with client_for(sandbox) as client:
        load(client, "free", creates=10, reads=5)
        assert client.settled_rates == {} and client.rate_source is None and client.throttled_count == 0


def test_an_import_under_a_global_budget_lands_exactly_what_the_workbook_defines(sandbox, tmp_path):
    workbook = copy_samples(tmp_path)
    sandbox.set_faults(FaultConfig(budget_per_second=15, budget_scope="global", rate_headers=True))
    done = run_cli(["run", str(workbook), "--json", "--no-report"], cli_env(sandbox, tmp_path / "home"), timeout=120)
    sandbox.set_faults(FaultConfig())
    assert done.code == 0, done.stdout[-2000:] + done.stderr[-2000:]
    throttled = sum(1 for _m, _p, status in sandbox.store.request_log if status == 429)
    assert throttled <= 2, throttled
    expected = expected_references(workbook)
    for kind, srids in expected.items():
        if kind == "feedstock_type":
            continue  # looked up, never made (the API creates none)
        found = [n.get("supplier_reference_id") for n in api_nodes(sandbox, COLLECTIONS[kind])]
        mine = [s for s in found if s in srids]
        assert sorted(mine) == sorted(srids), (kind, sorted(set(srids) - set(mine)))  # none lost, none twice
    assert set(SHEET_KIND.values()) == set(expected)


def test_the_run_reports_the_rate_it_settled_on(sandbox, tmp_path):
    """#30: the run's --json, terminal summary and report say the API limited it and the rate it kept to."""
    import json
    from pathlib import Path

    from importer.sandbox import FaultConfig

    from e2e_helpers import cli_env, copy_samples, run_cli

    sandbox.set_faults(FaultConfig(budget_per_second=8, budget_scope="global", rate_headers=True))
    env = cli_env(sandbox, tmp_path / "home")
    result = run_cli(["run", str(copy_samples(tmp_path)), "--json", "--quiet"], env)
    sandbox.set_faults(FaultConfig())
    assert result.code == 0, result.stdout + result.stderr
    rate = json.loads(result.stdout)["rate"]
    assert rate["source"] == "RateLimit headers" and rate["settled"]
    assert all(0 < r <= 8 for r in rate["settled"].values()), rate
    report = Path(json.loads(result.stdout)["report"]).read_text(encoding="utf-8")
    assert "the API limited requests" in report and "/s for" in report


def test_a_turn_given_before_an_answer_spent_the_window_waits_for_the_next_window(sandbox):
    """Under a policy of 2 a second, one create goes alone (its answer names the policy: 1 left), then two start
    together: the first goes at once, the second is given its turn half a second later. The first's answer says
    the window is spent (`r=0`): the second waits for the next window instead of going at its turn and drawing a
    429. The sandbox counts its windows by whole seconds of the same monotonic clock (it runs in this process), so
    each round starts just after a window opens."""
    sandbox.set_faults(FaultConfig(budget_per_second=2, budget_scope="endpoint", rate_headers=True))
    throttled = 0
    try:
        for round_ in range(4):
            with client_for(sandbox) as client:
                while time.monotonic() % 1.0 > 0.03:  # just after a window opened
                    time.sleep(0.002)
                load(client, f"turn-{round_}-a", creates=1, reads=1, threads=1)  # a create alone, then a read
                with ThreadPoolExecutor(2) as pool:
                    tags = [f"turn-{round_}-{i}" for i in "bc"]
                    list(pool.map(lambda tag: load(client, tag, creates=1, reads=1, threads=1), tags))
                throttled += client.throttled_count
    finally:
        sandbox.set_faults(FaultConfig())
    assert throttled == 0
    for round_ in range(4):
        for i in "abc":
            assert held(sandbox, f"turn-{round_}-{i}-") == [f"turn-{round_}-{i}-000"]


def test_a_probe_past_a_budget_that_holds_is_made_less_and_less_often():
    """Without headers the client probes a learned ceiling higher after a quiet spell (a budget may be raised). A
    probe that draws a 429 doubles the quiet spell before the next, so a budget that holds costs a 429 now and then,
    not every few seconds; and the pace that drew it is lowered to what was answered, not kept above the budget."""
    from importer.api.client import CEILING_QUIET, CEILING_QUIET_MAX, IsometricClient, _Scope

    scope = _Scope(rate=1.96, ceiling=2.0, lowered_at=0.0, raised_at=0.0)
    now, lifts, quiet = 0.0, [], []
    for _ in range(8):  # each round: wait for the next lift, then the budget of 2 answers a 429 at 2 answered
        before = scope.ceiling
        while scope.ceiling == before:
            now += 1.0
            scope.probe(now)
        lifts.append(now)
        IsometricClient._learn(scope, 2, now + 1.0)
        quiet.append(scope.quiet)
        assert scope.rate is not None and scope.rate <= 2.0
    gaps = [b - a for a, b in zip(lifts, lifts[1:], strict=False)]
    assert quiet == [min(CEILING_QUIET_MAX, CEILING_QUIET * 2**k) for k in range(1, 9)]
    assert all(later > earlier for earlier, later in zip(gaps, gaps[1:], strict=False) if later < CEILING_QUIET_MAX)


# -- what a run learned, the next run starts from ------------------------------------------------------------


@pytest.mark.parametrize("scope", ["endpoint", "global"])
def test_a_client_that_adopts_what_another_learned_draws_no_volley_of_429s(sandbox, scope):
    """Without headers, a client learns a budget from 429s: its first burst draws one for about every request in
    flight. A second client that adopts the first's `learned_rates` keeps to them from its first request: far
    fewer 429s (none, unless a ceiling probe draws one), and nothing lost or duplicated."""
    sandbox.set_faults(FaultConfig(budget_per_second=8, budget_scope=scope, rate_headers=False))
    try:
        while time.monotonic() % 1.0 > 0.05:  # both loads start just after a window opened
            time.sleep(0.002)
        with client_for(sandbox) as first:
            load(first, f"cold-{scope}", creates=24, reads=12)
            learned, cold = first.learned_rates, first.throttled_count
        time.sleep(1.0)
        with client_for(sandbox) as second:
            second.adopt_rates(learned)
            assert second.rate_source == "429 answers of earlier runs"
            made = load(second, f"warm-{scope}", creates=24, reads=12)
            warm, source = second.throttled_count, second.rate_source
    finally:
        sandbox.set_faults(FaultConfig())
    assert cold >= 1, cold  # the first burst over a budget no one has seen yet
    assert learned and all(0 < r.rate <= 2 * 8 for r in learned.values()), learned  # two routes of 8 at most
    assert warm <= 1 and warm < cold, (warm, cold)
    assert source in ("429 answers of earlier runs", "429 answers"), source
    assert sorted(d.supplier_reference_id for d in made) == [f"warm-{scope}-{i:03d}" for i in range(24)]
    assert held(sandbox, f"warm-{scope}-") == [f"warm-{scope}-{i:03d}" for i in range(24)]


def test_unusable_learned_rates_are_left_out(sandbox):
    """What a history read back may hold (zero, negative, infinite, NaN, a quiet spell out of bounds) is not
    adopted: the client learns those budgets again."""
    from importer.api import LearnedRate

    with client_for(sandbox) as client:
        client.adopt_rates(
            {
                "POST /datapoints": LearnedRate(0.0, 1.0, 10.0),
                "GET /feedstock_types": LearnedRate(float("inf"), None, 10.0),
                ALL_REQUESTS: LearnedRate(float("nan"), 2.0, 10.0),
                "GET /sources": LearnedRate(2.0, -1.0, 10.0),
                "GET /datapoints": LearnedRate(2.0, 3.0, 1e9),
            }
        )
        assert client.settled_rates == {} and client.rate_source is None
        client.adopt_rates({"GET /datapoints": LearnedRate(2.0, 3.0, 10.0)})
        assert client.settled_rates == {"GET /datapoints": 2.0}


def test_the_next_run_starts_from_the_budgets_the_last_one_learned(sandbox, tmp_path):
    """A run against an API that limits without headers keeps what it learned in the run history; the next run
    from the same machine starts from it and draws no volley of 429s (the sandbox's own request log counts
    them), and says where its rate came from. Another machine (a fresh history) learns it again. A budget
    learned longer ago than RATES_KEPT is learned again too."""
    import datetime as dt
    import json

    from importer.history import RATES_KEPT, History

    workbook = copy_samples(tmp_path)
    home = tmp_path / "home"
    sandbox.set_faults(FaultConfig(budget_per_second=4, budget_scope="global", rate_headers=False))

    def run(home_: object) -> tuple[int, dict]:
        before = len(sandbox.store.request_log)
        done = run_cli(["run", str(workbook), "--json", "--no-report"], cli_env(sandbox, home_), timeout=180)
        assert done.code == 0, done.stdout[-2000:] + done.stderr[-2000:]
        log = sandbox.store.request_log[before:]
        return sum(1 for _m, _p, status in log if status == 429), json.loads(done.stdout)["rate"]

    try:
        first, learning = run(home)
        again, rate = run(home)
        elsewhere, relearning = run(tmp_path / "another-home")
        history = History(home / "history.sqlite3")
        kept = history.learned_rates(sandbox.base_url)
        later = history.learned_rates(sandbox.base_url, now=dt.datetime.now(dt.UTC) + RATES_KEPT)
    finally:
        sandbox.set_faults(FaultConfig())
    # A run without memory learns the budget from 429s: how many its first volley draws depends on how fast it
    # sends before the first 429 holds it (a loaded machine sends fewer: as few as one was seen under CI's load)
    assert first >= 1 and learning["source"] == "429 answers", (first, learning)
    assert elsewhere >= 1 and relearning["source"] == "429 answers", (elsewhere, relearning)  # no memory there
    # The next run from the same home starts from what was learned: none, or the one 429 a pace creeping past an
    # uncertain ceiling draws (see IsometricClient.adopt_rates), and then fewer than the run that learned
    assert rate["answered_429"] == again, rate
    if again == 0:
        assert rate["source"] == "429 answers of earlier runs", rate
    else:
        assert again == 1 < first and rate["source"] == "429 answers", (again, first, rate)
    assert kept and all(0 < r.rate <= 4 for r in kept.values() if r.ceiling is not None), kept
    assert later == {}


def test_rate_headers_override_budgets_adopted_from_an_earlier_run(sandbox):
    """A budget learned from 429s (a server without headers) and adopted by a later client yields to the budgets
    the server names once it sends RateLimit headers: the client keeps to those, not to the stale slow pace, and
    keeps nothing learned from 429s for the run after."""
    from importer.api import LearnedRate

    sandbox.set_faults(FaultConfig(budget_per_second=20, budget_scope="endpoint", rate_headers=True))
    try:
        with client_for(sandbox) as client:
            client.adopt_rates(
                {ALL_REQUESTS: LearnedRate(1.0, 1.0, 10.0), "POST /datapoints": LearnedRate(1.0, 1.0, 10.0)}
            )
            started = time.monotonic()
            made = load(client, "headers-win", creates=30, reads=6)
            took = time.monotonic() - started
            learned, source, throttled = client.learned_rates, client.rate_source, client.throttled_count
    finally:
        sandbox.set_faults(FaultConfig())
    assert len(made) == 30 and held(sandbox, "headers-win-") == [f"headers-win-{i:03d}" for i in range(30)]
    assert took < 10, took  # at the adopted 1/s, 36 requests take 35 s; the policy of 20/s, about 2 s
    assert learned == {} and source == "RateLimit headers" and throttled == 0, (learned, source, throttled)


def test_an_adopted_ceiling_that_probes_go_through_is_lifted_faster_and_faster():
    """A budget adopted from an earlier run may have been raised since. While no 429 confirms it, each probe past
    its ceiling that goes through doubles the next step: a tenfold raise is reached within about seven quiet
    spells. A ceiling learned in this run is probed 3% a spell, as before; the first 429 ends the doubling."""
    from importer.api.client import CEILING_STEP, RATE_MARGIN, _Scope

    def after(scope: _Scope, seconds: int) -> float:
        for t in range(1, seconds + 1):
            scope.probe(float(t))
        return scope.rate or 0.0

    adopted = _Scope(rate=RATE_MARGIN * 2, ceiling=2.0, quiet=10.0, lowered_at=-1.0, adopted=True)
    learned = _Scope(rate=RATE_MARGIN * 2, ceiling=2.0, quiet=10.0, lowered_at=-1.0)
    assert after(adopted, 90) >= 20 * RATE_MARGIN * 0.95, adopted  # about nine spells: 2/s -> 20/s
    assert after(learned, 90) <= 2 * (1 + CEILING_STEP) ** 9, learned
    confirmed = _Scope(rate=RATE_MARGIN * 2, ceiling=2.0, quiet=10.0, lowered_at=-1.0, adopted=True)
    after(confirmed, 25)  # two lifts went through (3%, then 6%)
    IsometricClient._learn(confirmed, 0, 26.0)  # then a 429 at the pace: confirmed, no longer adopted
    assert not confirmed.adopted and confirmed.ceiling is not None
    ceiling = confirmed.ceiling
    after_429 = _Scope(**{**confirmed.__dict__})
    for t in range(27, 27 + 60):
        after_429.probe(float(t))
    assert after_429.ceiling is not None and after_429.ceiling <= ceiling * (1 + CEILING_STEP) ** 6
