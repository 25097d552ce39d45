"""A rate the analyst states (`--max-rate`, ISOMETRIC_MAX_RATE, `ClientConfig.max_rate`): a budget known beforehand
(the document states none; Isometric's public integration notes about 120 requests a minute) is kept to from the
first request, so even a first run against an API that limits without headers draws no volley of 429s. The 429s
are counted from the sandbox's own request log and what was created is read back over HTTP. Real HTTP on
loopback; times here are only bounds (the rate's figures are `benchmarks/bench.py targets --only rate`)."""

from __future__ import annotations

import json
import math
import re
import time
from pathlib import Path

import pytest

from importer import library
from importer.sandbox import FaultConfig
from importer.settings import SettingsError, parse_rate

from e2e_helpers import cli_env, copy_samples, run_cli
from test_rate_budget import client_for, held, load


def answered_429(sandbox, since: int) -> int:
    return sum(1 for _method, _path, status in sandbox.store.request_log[since:] if status == 429)


@pytest.mark.parametrize(
    ("text", "per_second"),
    [("2", 2.0), ("2/s", 2.0), (" 120/min ", 2.0), ("7200/h", 2.0), ("0.5", 0.5), (".5/sec", 0.5), ("90/Minute", 1.5)],
)
def test_a_rate_is_read_per_second_or_per_minute_or_hour(text, per_second):
    assert math.isclose(parse_rate(text, "--max-rate"), per_second)


@pytest.mark.parametrize("text", ["0", "0/min", "-1", "abc", "nan", "inf", "2/day", "", "2 per second", "1e3"])
def test_what_is_not_a_rate_is_refused_with_what_was_found_and_expected(text):
    with pytest.raises(SettingsError) as refused:
        parse_rate(text, "ISOMETRIC_MAX_RATE")
    message = str(refused.value)
    assert message.startswith("ISOMETRIC_MAX_RATE: found ") and repr(text) in message, message
    assert "expected a number of requests above 0" in message and "120/min" in message, message


def test_a_client_given_an_unusable_rate_refuses_to_start(sandbox):
    for bad in (0.0, -2.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="max_rate"):
            client_for(sandbox, bad)


@pytest.mark.parametrize("scope", ["endpoint", "global"])
def test_a_stated_rate_draws_no_volley_of_429s_where_a_cold_client_does(sandbox, scope):
    """Against a budget of 6 a second without headers, a client that knows nothing draws 429s for its first
    burst; one told 6/s keeps to it from its first request: no 429, every create held once, and the load takes
    at least what 6/s allows."""
    sandbox.set_faults(FaultConfig(budget_per_second=6, budget_scope=scope, rate_headers=False))
    try:
        while time.monotonic() % 1.0 > 0.05:  # both loads start just after a window opened
            time.sleep(0.002)
        before = len(sandbox.store.request_log)
        with client_for(sandbox, None) as cold:
            load(cold, f"cold-{scope}", creates=18, reads=9)
        cold_429 = answered_429(sandbox, before)
        time.sleep(1.0)
        before = len(sandbox.store.request_log)
        started = time.monotonic()
        with client_for(sandbox, 6.0) as told:
            made = load(told, f"told-{scope}", creates=18, reads=9)
            source, settled, counted = told.rate_source, told.settled_rates, told.throttled_count
        took = time.monotonic() - started
        told_429 = answered_429(sandbox, before)
    finally:
        sandbox.set_faults(FaultConfig())
    assert cold_429 >= 2, cold_429  # the volley a stated rate spares
    assert told_429 == 0 == counted, (told_429, counted)
    assert source == "the stated rate" and settled == {"the stated rate": 6.0}, (source, settled)
    assert took >= (27 - 6) / 6, took  # 27 requests at 6 a second, the first window's six at once at most
    assert sorted(d.supplier_reference_id for d in made) == [f"told-{scope}-{i:03d}" for i in range(18)]
    assert held(sandbox, f"told-{scope}-") == [f"told-{scope}-{i:03d}" for i in range(18)]


def test_a_stated_rate_above_the_budget_is_learned_below_and_loses_nothing(sandbox):
    """A stated rate is a ceiling, not a promise: a server that limits lower still answers 429, and the client
    learns its budget under the stated rate as it would without one."""
    sandbox.set_faults(FaultConfig(budget_per_second=3, budget_scope="global", rate_headers=False))
    try:
        before = len(sandbox.store.request_log)
        with client_for(sandbox, 12.0) as told:
            made = load(told, "over", creates=15, reads=6)
            source, settled = told.rate_source, told.settled_rates
        drew = answered_429(sandbox, before)
    finally:
        sandbox.set_faults(FaultConfig())
    assert drew >= 1 and source == "429 answers", (drew, source)
    assert settled["the stated rate"] == 12.0 and min(settled.values()) <= 3.0, settled
    assert (
        held(sandbox, "over-") == [f"over-{i:03d}" for i in range(15)] == sorted(d.supplier_reference_id for d in made)
    )


def test_the_cli_keeps_to_a_stated_rate_and_says_so(sandbox, tmp_path):
    """`run --max-rate` against a global budget without headers: the sample lands with no 429 in the sandbox's
    log, and the run's JSON, terminal and report name the stated rate. ISOMETRIC_MAX_RATE serves when the option is
    absent; a rate that is not one is refused before anything is sent (exit 2, the value found, the forms
    expected)."""
    workbook = copy_samples(tmp_path)
    sandbox.set_faults(FaultConfig(budget_per_second=20, budget_scope="global", rate_headers=False))
    try:
        before = len(sandbox.store.request_log)
        done = run_cli(
            ["run", str(workbook), "--json", "--no-report", "--max-rate", "1080/min"],
            cli_env(sandbox, tmp_path / "home"),
            timeout=180,
        )
        drew = answered_429(sandbox, before)
        sent = len(sandbox.store.request_log) - before
        env = {**cli_env(sandbox, tmp_path / "home2"), "ISOMETRIC_MAX_RATE": "18"}
        again = run_cli(["run", str(workbook)], env, timeout=180)
        before = len(sandbox.store.request_log)
        refused = run_cli(["run", str(workbook), "--no-report"], {**env, "ISOMETRIC_MAX_RATE": "fast"}, timeout=60)
        flag = run_cli(["plan", str(workbook), "--no-report", "--max-rate", "0"], env, timeout=60)
        sent_refused = len(sandbox.store.request_log) - before
    finally:
        sandbox.set_faults(FaultConfig())
    assert done.code == 0, done.stdout[-2000:] + done.stderr[-2000:]
    rate = json.loads(done.stdout)["rate"]
    assert drew == 0 == rate["answered_429"] and sent > 20, (drew, sent, rate)
    assert rate["source"] == "the stated rate" and rate["settled"] == {"the stated rate": 18.0}, rate
    assert again.code == 0, again.stdout[-2000:] + again.stderr[-2000:]
    assert "rate: kept to 18/s as stated (--max-rate or ISOMETRIC_MAX_RATE); no 429" in again.stdout, again.stdout
    assert "the API limited" not in again.stdout
    report = next(line.split("report: ", 1)[1].strip() for line in again.stdout.splitlines() if "report: " in line)
    html = re.sub(r"\s+", " ", Path(report).read_text(encoding="utf-8"))
    assert "kept to 18/s as stated (--max-rate or ISOMETRIC_MAX_RATE); no request answered 429" in html
    assert "the API limited requests" not in html
    assert refused.code == 2 and "ISOMETRIC_MAX_RATE: found 'fast'; expected" in refused.stdout + refused.stderr
    assert flag.code == 2 and "--max-rate: found '0'; expected" in flag.stdout + flag.stderr
    assert sent_refused == 0


def test_the_library_takes_a_stated_rate_with_explicit_credentials(sandbox):
    where = library.target(
        sandbox.base_url, client_secret=sandbox.client_secret, access_token=sandbox.access_token, max_rate="120/min"
    )
    assert where.max_rate == 2.0
    assert sandbox.client_secret not in repr(where) and sandbox.access_token not in repr(where)
    with pytest.raises(SettingsError, match="max_rate: found '-3'"):
        library.target(sandbox.base_url, client_secret="s", access_token="t", max_rate="-3")
