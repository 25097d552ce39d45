"""Benchmarks for issue #6: validation speed/memory and upload throughput, printed as tables (or --json).

    .venv/bin/python benchmarks/bench.py validate [--sizes 1000 10000 100000]
    .venv/bin/python benchmarks/bench.py upload [--objects 2000] [--latency-ms 50] [--concurrency 1 4 8 16 32]
    .venv/bin/python benchmarks/bench.py all --json
    .venv/bin/python benchmarks/bench.py targets [--only validation|rate|depth|month|year] [--baseline REF]

Validation: for each size, a synthetic workbook (importer.workbook.synthetic) is generated into a temporary
folder; `isometric-import validate` runs as its own process (wall time and peak RSS of that whole process,
from getrusage of a fresh wrapper), and in the same run the baseline: reading the same sheets with
`pandas.read_excel(engine="openpyxl")`. Upload: the embedded sandbox with injected latency; a synthetic
workbook of about N objects is imported at each concurrency into a fresh sandbox database; objects/s and the
efficiency against the bound concurrency / latency; then a no-op re-run's request count; then a run with a
per-endpoint budget below the concurrency (429s absorbed by pacing).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

_MEASURE = r"""
import resource, subprocess, sys, time, json
t = time.perf_counter()
proc = subprocess.run(sys.argv[1:], capture_output=True)
wall = time.perf_counter() - t
print(json.dumps({"wall": wall, "rss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
                  "code": proc.returncode, "err": proc.stderr.decode()[-2000:]}))
"""

_BASELINE = r"""
import sys, pandas as pd
for sheet in ("sources", "datapoints", "entries", "entry_inputs", "project"):
    pd.read_excel(sys.argv[1], sheet_name=sheet, engine="openpyxl")
"""


def measure(cmd: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", _MEASURE, *cmd], capture_output=True, text=True, check=True, env=env, cwd=cwd
    )
    data = json.loads(out.stdout)
    if data["code"] not in (0, 1):
        raise RuntimeError(f"{cmd} exited {data['code']}: {data['err']}")
    return {"wall_s": data["wall"], "peak_rss_mib": data["rss_kb"] / 1024}


def bench_validate(sizes: list[int]) -> list[dict[str, float]]:
    from importer.workbook.synthetic import make_workbook

    rows = []
    exe = str(Path(sys.executable).with_name("isometric-import"))
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            path = make_workbook(Path(tmp), size)
            ours = measure([exe, "validate", str(path), "--json"])
            base = measure([sys.executable, "-c", _BASELINE, str(path)])
            rows.append(
                {
                    "datapoints": size,
                    "validate_s": round(ours["wall_s"], 2),
                    "validate_rss_mib": round(ours["peak_rss_mib"]),
                    "openpyxl_read_s": round(base["wall_s"], 2),
                    "openpyxl_rss_mib": round(base["peak_rss_mib"]),
                    "speedup": round(base["wall_s"] / ours["wall_s"], 1),
                    "file_mib": round(path.stat().st_size / 2**20, 1),
                }
            )
            print(f"  validate {size:>7} rows: {rows[-1]}", file=sys.stderr, flush=True)
    for a, b in zip(rows, rows[1:], strict=False):
        b["scaling_vs_previous"] = round(b["validate_s"] / a["validate_s"], 1)
    return rows


def _import(workbook: Path, sandbox: object, concurrency: int) -> tuple[float, int, object]:
    from importer.api import ClientConfig, IsometricClient
    from importer.runner import ApiSession, ImportOptions, import_workbook
    from importer.workbook.validate import validate_workbook

    validation = validate_workbook(workbook)
    assert validation.ok, [f.message for f in validation.errors()][:5]
    config = ClientConfig(
        base_url=sandbox.base_url,
        client_secret=sandbox.client_secret,  # type: ignore[attr-defined]
        access_token=sandbox.access_token,
    )  # type: ignore[attr-defined]
    with IsometricClient(config) as client:
        session = ApiSession(client=client, url=sandbox.base_url, embedded=False, environment="bench")  # type: ignore[attr-defined]
        t = time.perf_counter()
        result = import_workbook(validation, session, ImportOptions(mode="run", concurrency=concurrency))
        wall = time.perf_counter() - t
        return wall, client.request_count, result


def bench_upload(objects: int, latency_ms: float, concurrencies: list[int], budget: float | None) -> dict:
    from importer.sandbox import FaultConfig, SandboxServer
    from importer.workbook.synthetic import DATAPOINTS_PER_ENTRY, make_workbook

    per_entry = DATAPOINTS_PER_ENTRY + 1  # an entry brings 8 datapoints and itself
    datapoints = (objects - 10) // per_entry * DATAPOINTS_PER_ENTRY
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        workbook = make_workbook(Path(tmp) / "wb", datapoints, sources=10)
        sequential = None
        for c in concurrencies:
            with SandboxServer(db_path=Path(tmp) / f"c{c}.sqlite3", faults=FaultConfig(latency_ms=latency_ms)) as sb:
                wall, requests, result = _import(workbook, sb, c)
                created = sum(v.get("created", 0) for v in result.counts().values())
                rate = created / wall
                bound = c / (latency_ms / 1000)
                sequential = sequential or rate
                rows.append(
                    {
                        "concurrency": c,
                        "objects": created,
                        "seconds": round(wall, 1),
                        "objects_per_s": round(rate, 1),
                        "bound_per_s": round(bound, 1),
                        "efficiency": round(rate / bound, 2),
                        "vs_sequential": round(rate / sequential, 1),
                        "requests": requests,
                        "ok": result.ok,
                    }
                )
                print(f"  upload c={c:>2}: {rows[-1]}", file=sys.stderr, flush=True)
                if c == concurrencies[-1]:
                    noop_wall, noop_requests, noop = _import(workbook, sb, c)
                    unchanged = sum(v.get("unchanged", 0) for v in noop.counts().values())
        paced = None
        if budget:
            c = max(concurrencies)
            small = make_workbook(Path(tmp) / "budget-wb", 360, sources=4)  # ~400 objects: minutes are not needed
            faults = FaultConfig(latency_ms=latency_ms, budget_per_second=budget)
            with SandboxServer(db_path=Path(tmp) / "budget.sqlite3", faults=faults) as sb:
                wall, requests, result = _import(small, sb, c)
                created = sum(v.get("created", 0) for v in result.counts().values())
                throttled = sum(1 for _m, _p, status in sb.store.request_log if status == 429)
                # the busiest endpoint (POST /datapoints, 360 calls) cannot finish faster than 360 / budget seconds
                paced = {
                    "concurrency": c,
                    "budget_per_s_per_endpoint": budget,
                    "objects": created,
                    "min_seconds_at_budget": round(360 / budget, 1),
                    "seconds": round(wall, 1),
                    "objects_per_s": round(created / wall, 1),
                    "requests": requests,
                    "answered_429": throttled,
                    "ok": result.ok,
                }
                print(f"  budget: {paced}", file=sys.stderr, flush=True)
    return {
        "latency_ms": latency_ms,
        "runs": rows,
        "noop_rerun": {"objects": unchanged, "requests": noop_requests, "seconds": round(noop_wall, 1)},
        "rate_budget": paced,
    }


# -- the performance issue's targets, measured side by side -------------------------------------------------


def _calamine_read(path: Path) -> dict[str, float]:
    code = (
        "import sys; from python_calamine import CalamineWorkbook as W; b = W.from_path(sys.argv[1]); "
        "[b.get_sheet_by_name(n).to_python(skip_empty_area=False) for n in b.sheet_names]"
    )
    return measure([sys.executable, "-c", code, str(path)])


BATCH_REPEATS = 3  # month batches per `targets` run (about 40 s each)
REPEATS = 5  # this machine's wall times vary by up to 60% within an hour: each side is timed 5 times, in turn


#: a checkout of the version to compare with (`--baseline REF`), run by this venv's Python with the checkout first
#: on sys.path: the same dependencies, the previous code
BASELINE: dict[str, Any] = {}
_LAUNCH = "import sys; sys.argv[0] = 'isometric-import'; from importer.launcher import main; main()"


def baseline_checkout(ref: str, into: Path) -> Path:
    """A detached worktree of `ref` (a commit, tag or branch of this repository) under `into`."""
    import atexit

    target = into / f"baseline-{ref.replace('/', '_')}"
    subprocess.run(
        ["git", "-C", str(REPO), "worktree", "add", "--detach", "--force", str(target), ref],
        check=True,
        capture_output=True,
    )
    atexit.register(
        subprocess.run, ["git", "-C", str(REPO), "worktree", "remove", "--force", str(target)], capture_output=True
    )
    return target


def _before(cmd: list[str]) -> tuple[list[str], dict[str, str]] | None:
    """The baseline's form of one of our commands (`isometric-import ...`), or None without a baseline."""
    checkout = BASELINE.get("checkout")
    if checkout is None:
        return None
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    return [sys.executable, "-c", _LAUNCH, *cmd[1:]], env


def _side_by_side(cases: dict[str, list[str] | Path | tuple[list[str], dict[str, str]]]) -> dict[str, dict[str, float]]:
    """Each case (a command, a command with its environment, or a workbook for a calamine read) run REPEATS times,
    the cases in turn; per case the fastest run (as `timeit` reports: the noise only ever adds) and the largest
    peak RSS."""
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in cases}
    for _ in range(REPEATS):
        for name, case in cases.items():
            if isinstance(case, Path):
                runs[name].append(_calamine_read(case))
            elif isinstance(case, tuple):  # the baseline: run from its checkout (`-c` puts the working folder first
                runs[name].append(measure(case[0], env=case[1], cwd=BASELINE.get("checkout")))  # on sys.path)
            else:
                runs[name].append(measure(case))
    return {
        name: {
            "wall_s": min(r["wall_s"] for r in got),
            "slowest_s": max(r["wall_s"] for r in got),
            "peak_rss_mib": max(r["peak_rss_mib"] for r in got),
        }
        for name, got in runs.items()
    }


def target_validation(rows: int) -> list[dict]:
    """100k datapoint rows validated with the HTML report, against python-calamine merely reading every sheet;
    then the same with a warning on every row (every datapoint unused)."""
    from importer.workbook.synthetic import make_workbook

    exe = str(Path(sys.executable).with_name("isometric-import"))
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for case, kwargs, target in (
            (f"{rows:,} rows, clean", {}, 1.5),
            (f"{rows:,} rows, a warning each", {"entries_too": False}, 2.0),
        ):
            name = "warned" if kwargs else "clean"
            workbook = make_workbook(Path(tmp) / name, rows, **kwargs)  # type: ignore[arg-type]
            report = Path(tmp) / f"{name}.html"
            command = [exe, "validate", str(workbook), "--report", str(report)]
            cases: dict[str, Any] = {"read": workbook, "ours": command}
            before = _before(command)
            if before is not None:
                cases["before"] = before
            got = _side_by_side(cases)
            ours, read = got["ours"], got["read"]
            row = {
                "case": case,
                "validate_s": round(ours["wall_s"], 2),
                "calamine_read_s": round(read["wall_s"], 2),
                "ratio": round(ours["wall_s"] / read["wall_s"], 2),
                "target_ratio": target,
                "slowest_validate_s": round(ours["slowest_s"], 2),
                "slowest_read_s": round(read["slowest_s"], 2),
                "peak_rss_mib": round(ours["peak_rss_mib"]),
                "target_rss_mib": 400,
                "report_mb": round(report.stat().st_size / 1e6, 2),
            }
            if kwargs:
                row["target_report_mb"] = 10
            if "before" in got:
                row["before_validate_s"] = round(got["before"]["wall_s"], 2)
                row["before_ratio"] = round(got["before"]["wall_s"] / read["wall_s"], 2)
                row["vs_before"] = round(ours["wall_s"] / got["before"]["wall_s"] - 1, 3)
            out.append(row)
            print(f"  {out[-1]}", file=sys.stderr, flush=True)
    return out


def _sandbox_process(db: Path, latency_ms: float) -> tuple[subprocess.Popen, str]:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    exe = str(Path(sys.executable).with_name("isometric-import"))
    proc = subprocess.Popen(
        [exe, "sandbox", "--port", str(port), "--db", str(db), "--latency-ms", str(latency_ms)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/mrv/v0"
    for _ in range(200):
        try:
            import httpx

            httpx.get(url + "/projects", timeout=1)
            break
        except Exception:
            time.sleep(0.05)
    return proc, url


def target_upload(objects: int, latency_ms: float, concurrency: int) -> dict:
    """A workbook of about `objects` objects into a separate sandbox process: wall time against the floor
    requests x latency / concurrency; client CPU (this process) and sandbox CPU (the other) per request."""
    import resource

    import psutil

    from importer.api import ClientConfig, IsometricClient
    from importer.history import History
    from importer.runner import ApiSession, ImportOptions, import_workbook
    from importer.sandbox import DEMO_ACCESS_TOKEN, DEMO_CLIENT_SECRET
    from importer.workbook.synthetic import DATAPOINTS_PER_ENTRY, make_workbook
    from importer.workbook.validate import validate_workbook

    per_entry = DATAPOINTS_PER_ENTRY + 1
    with tempfile.TemporaryDirectory() as tmp:
        wb = make_workbook(Path(tmp) / "wb", (objects - 10) // per_entry * DATAPOINTS_PER_ENTRY, sources=10)
        validation = validate_workbook(wb)
        proc, url = _sandbox_process(Path(tmp) / "sb.sqlite3", latency_ms)
        try:
            server = psutil.Process(proc.pid)
            config = ClientConfig(base_url=url, client_secret=DEMO_CLIENT_SECRET, access_token=DEMO_ACCESS_TOKEN)
            history = History(Path(tmp) / "history.sqlite3")  # as the CLI keeps it: what a re-run may know
            with IsometricClient(config) as client:
                session = ApiSession(client=client, url=url, embedded=False, environment="bench")
                cpu0, scpu0 = resource.getrusage(resource.RUSAGE_SELF), server.cpu_times()
                t = time.perf_counter()
                result = import_workbook(
                    validation, session, ImportOptions(mode="run", concurrency=concurrency), history=history
                )
                wall = time.perf_counter() - t
                cpu1, scpu1 = resource.getrusage(resource.RUSAGE_SELF), server.cpu_times()
                requests = client.request_count
                client_cpu = (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)
                sandbox_cpu = (scpu1.user + scpu1.system) - (scpu0.user + scpu0.system)
                noop_client = IsometricClient(config)
                with noop_client:
                    noop_session = ApiSession(client=noop_client, url=url, embedded=False, environment="bench")
                    t = time.perf_counter()
                    noop = import_workbook(
                        validate_workbook(wb),
                        noop_session,
                        ImportOptions(mode="run", concurrency=concurrency),
                        history=history,
                    )
                    noop_wall = time.perf_counter() - t
                    noop_requests = noop_client.request_count
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    floor = requests * latency_ms / 1000 / concurrency
    created = sum(v.get("created", 0) for v in result.counts().values())
    plan = result.plan
    entries = plan.of_kind("ghg_entry")
    # N: what a re-run must compare: the objects the workbook defines and the (template) components of its entries
    compared = len([a for a in plan.actions if a.kind != "ghg_statement"]) + sum(
        len(a.payload.components) for a in entries
    )
    return {
        "latency_ms": latency_ms,
        "concurrency": concurrency,
        "objects": created,
        "requests": requests,
        "seconds": round(wall, 1),
        "floor_s": round(floor, 1),
        "efficiency": round(floor / wall, 2),
        "client_cpu_ms_per_request": round(client_cpu / requests * 1000, 2),
        "sandbox_cpu_ms_per_request": round(sandbox_cpu / requests * 1000, 2),
        "waiting_share": round(max(0.0, 1 - client_cpu / wall), 2),
        "ok": result.ok,
        "noop": {
            "compared": compared,
            "requests": noop_requests,
            "bound": -(-compared // 50) + 10,
            "seconds": round(noop_wall, 1),
            "unchanged": sum(v.get("unchanged", 0) for v in noop.counts().values()),
        },
    }


def target_depth(objects: int = 2000, latency_ms: float = 200, concurrency: int = 32) -> dict:
    """The sample scaled to about `objects` objects with every kind (`benchmarks/depth.py`) into a separate sandbox
    process: the time against requests x latency / concurrency + critical path x latency + start-up, where the
    start-up is the run's time before its first write (reading the project, the listings, planning) and the
    critical path the longest chain of requests the plan's dependency graph forces one after another (each unit
    weighed by the requests it sent)."""
    from depth import critical_path, recording, scaled_sample

    from importer.api import ClientConfig, IsometricClient
    from importer.history import History
    from importer.runner import ApiSession, ImportOptions, import_workbook
    from importer.sandbox import DEMO_ACCESS_TOKEN, DEMO_CLIENT_SECRET
    from importer.workbook.validate import validate_workbook

    with tempfile.TemporaryDirectory() as tmp:
        wb, held = scaled_sample(Path(tmp) / "wb", objects)
        validation = validate_workbook(wb)
        proc, url = _sandbox_process(Path(tmp) / "sb.sqlite3", latency_ms)
        try:
            config = ClientConfig(base_url=url, client_secret=DEMO_CLIENT_SECRET, access_token=DEMO_ACCESS_TOKEN)
            history = History(Path(tmp) / "history.sqlite3")
            with IsometricClient(config) as client, recording() as log:
                session = ApiSession(client=client, url=url, embedded=False, environment="bench")
                started = time.monotonic()
                result = import_workbook(
                    validation, session, ImportOptions(mode="run", concurrency=concurrency), history=history
                )
                wall = time.monotonic() - started
                requests = client.request_count
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    latency = latency_ms / 1000
    length, chain = critical_path(result.plan, log.per_unit())
    first = log.first_write or started
    writes = [(a, b) for a, b, method, *_ in log.sent if method != "GET"]
    last = max((b for _, b in writes), default=first)
    startup, readback = first - started, started + wall - last
    floor = requests * latency / concurrency
    bound = 1.1 * (floor + length * latency + startup)
    applying = [(a, b) for a, b, *_ in log.sent if first <= a < last]
    counts = result.counts()
    return {
        "latency_ms": latency_ms,
        "concurrency": concurrency,
        "objects": sum(v.get("created", 0) for v in counts.values()),
        "objects_held": held,
        "created_by_kind": {k: v.get("created", 0) for k, v in counts.items()},
        "ok": result.ok,
        "seconds": round(wall, 1),
        "requests": requests,
        "floor_s": round(floor, 1),
        # the fixed part: before the first write (reading the project, the listings, planning), and after the
        # last write's answer (what the run reads back for its report)
        "startup_s": round(startup, 2),
        "startup_requests": log.before_first_write(),
        "readback_s": round(readback, 2),
        "readback_requests": sum(1 for a, *_ in log.sent if a >= last),
        "critical_path_requests": length,
        "critical_path": [f"{kind} x{steps}" if steps > 1 else kind for kind, steps in chain],
        "critical_path_s": round(length * latency, 1),
        "bound_s": round(bound, 1),
        "of_bound": round(wall / bound * 1.1, 2),  # time / (floor + critical path + start-up)
        "met": wall <= bound,
        "of_bound_fixed_both_ends": round(wall / (floor + length * latency + startup + readback), 2),
        # where the rest goes: the writes' phase, the requests in flight on average during it (of `concurrency`),
        # and a request's mean time from the client's send to its answer (the latency and everything else)
        "writes_s": round(last - first, 2),
        "in_flight_mean": round(sum(b - a for a, b in applying) / (last - first), 1) if last > first else 0,
        "request_mean_ms": round(1000 * statistics.fmean(b - a for a, b, *_ in log.sent), 1) if log.sent else 0,
    }


def target_month_batch(months: int, objects: int) -> list[dict]:
    """`months` monthly workbooks of about `objects` objects each, imported in one batch (one library call, one
    session, the sandbox in its own process): per workbook its time, which must stay flat (no growth from
    history, locks or the sandbox database), and beside it what could grow with the registry: the requests sent
    and the CPU seconds of this process and of the sandbox."""
    import datetime as dt
    import resource

    import psutil

    from importer import library
    from importer.api import ClientConfig, IsometricClient
    from importer.runner import ApiSession
    from importer.sandbox import DEMO_ACCESS_TOKEN, DEMO_CLIENT_SECRET
    from importer.workbook.synthetic import CHAIN_OBJECTS_PER_ENTRY, DATAPOINTS_PER_ENTRY, FIELDS, make_workbook

    # every month carries the chain of custody too (#26): per entry a production batch and an application, and
    # five fields of its own
    per_entry = DATAPOINTS_PER_ENTRY + 1 + CHAIN_OBJECTS_PER_ENTRY
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for m in range(months):
            first = dt.date(2026 + (m // 12), m % 12 + 1, 1)
            last = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
            paths.append(
                make_workbook(
                    Path(tmp) / f"m{m:02d}",
                    (objects - 10 - FIELDS) // per_entry * DATAPOINTS_PER_ENTRY,
                    sources=10,
                    chain=True,
                    prefix=f"month-{m:02d}",
                    month=first,
                    statement_end_on=last.isoformat(),
                    name=f"{first:%Y-%m}.xlsx",
                )
            )
        os.environ["ISOMETRIC_IMPORTER_HOME"] = str(Path(tmp) / "home")
        proc, url = _sandbox_process(Path(tmp) / "sandbox.sqlite3", 0)
        marks: list[tuple[int, float, float]] = []
        try:
            server = psutil.Process(proc.pid)
            config = ClientConfig(base_url=url, client_secret=DEMO_CLIENT_SECRET, access_token=DEMO_ACCESS_TOKEN)
            with IsometricClient(config) as client:
                session = ApiSession(client=client, url=url, embedded=False, environment="bench")

                def mark() -> None:
                    own, other = resource.getrusage(resource.RUSAGE_SELF), server.cpu_times()
                    marks.append((client.request_count, own.ru_utime + own.ru_stime, other.user + other.system))

                class Meter:  # `progress`: called as each workbook starts, closed as it ends
                    def __call__(self) -> Meter:
                        mark()
                        return self

                    def __getattr__(self, name: str) -> Any:
                        return lambda *args, **kwargs: None

                t = time.perf_counter()
                outcome = library._import(
                    "run",
                    paths,
                    where=None,
                    submit=False,
                    prune=False,
                    replace=False,
                    keep_orphans=False,
                    update_only=False,
                    concurrency=16,
                    cancel=None,
                    progress=Meter(),
                    session=session,
                )
                total = time.perf_counter() - t
                mark()
        finally:
            proc.terminate()
            proc.wait(timeout=10)
        for result, (r0, c0, s0), (r1, c1, s1) in zip(outcome.results, marks, marks[1:], strict=False):
            rows.append(
                {
                    "workbook": Path(result.workbook_path).name,
                    "seconds": round(result.duration_seconds or 0, 1),
                    "requests": r1 - r0,
                    "client_cpu_s": round(c1 - c0, 1),
                    "sandbox_cpu_s": round(s1 - s0, 1),
                    "ok": result.ok,
                }
            )
        print(f"  batch of {months}: {total:.1f} s, verdict {outcome.verdict.value}", file=sys.stderr, flush=True)
    return rows


# -- the year of every kind (issue #30) ------------------------------------------------------------------------

YEAR_REPEATS = 3  # years per `targets --only year` run (each month's time: the median of its runs), about 2.5 min each
YEAR_REPEATS_BESIDE = 1  # years per side with --baseline, taken in turn (two sides of three would take 16 min)
BASE_PATH = "/mrv/v0"  # the API's path on the sandbox, left out of the routes printed
YEAR_PROJECT = "prj_1SBXBIOCHAR00001"  # the sample's project, seeded in the sandbox

#: the importing part of the year, run as its own process (so its peak RSS is its own, from getrusage of a fresh
#: wrapper: `_MEASURE`), with our code or a baseline checkout's first on PYTHONPATH: one batch call over the
#: workbooks (one session, as `target_month_batch`), and per workbook its time, the requests it sent (all; the
#: writes, every method but GET; the GETs of an entry's component attributions: counted at httpx's `Client.send`),
#: the CPU seconds of this process and of the sandbox, and what its result counts; written as JSON to the file
#: its fifth argument names (the workbooks follow it)
_YEAR_RUN = r"""
import json, resource, sys, threading, time
from pathlib import Path
import httpx
url, secret, token, sandbox_pid, out, *paths = sys.argv[1:]
import re
from collections import Counter
sent = {"all": 0, "writes": 0, "attributions": 0}
routes = Counter()  # "GET /path" with IDs as {id}: the requests per route
lock = threading.Lock()
send = httpx.Client.send
ID = re.compile(r"/[a-z]{3}_[0-9A-Z]{16,33}(?=/|$)|(?<=/upload)/[^/]+")  # an object's ID, an upload's token

def counted(self, request, *args, **kwargs):
    with lock:
        sent["all"] += 1
        sent["writes"] += request.method != "GET"
        sent["attributions"] += request.method == "GET" and request.url.path.endswith("/component_attributions")
        routes[request.method + " " + ID.sub("/{id}", request.url.path)] += 1
    return send(self, request, *args, **kwargs)

httpx.Client.send = counted
import psutil
from importer import library
from importer.api import ClientConfig, IsometricClient
from importer.runner import ApiSession

server = psutil.Process(int(sandbox_pid))
marks = []

def speed():  # the machine's speed now: a fixed loop of pure Python, the median of five (seconds)
    took = []
    for _ in range(5):
        t0 = time.perf_counter()
        x = 0
        for i in range(100_000):
            x += i * i
        took.append(time.perf_counter() - t0)
    return sorted(took)[2]

def mark():
    own, other = resource.getrusage(resource.RUSAGE_SELF), server.cpu_times()
    marks.append((sent["all"], sent["writes"], sent["attributions"], own.ru_utime + own.ru_stime,
                  other.user + other.system, Counter(routes), speed()))

class Meter:  # `progress`: called as each workbook starts
    def __call__(self):
        mark()
        return self

    def __getattr__(self, name):
        return lambda *args, **kwargs: None

config = ClientConfig(base_url=url, client_secret=secret, access_token=token)
t = time.perf_counter()
with IsometricClient(config) as client:
    session = ApiSession(client=client, url=url, embedded=False, environment="bench")
    outcome = library._import("run", paths, where=None, submit=False, prune=False, replace=False, keep_orphans=False,
                              update_only=False, concurrency=16, cancel=None, progress=Meter(), session=session)
    mark()
total = time.perf_counter() - t
rows = []
for result, (r0, w0, a0, c0, s0, g0, k0), (r1, w1, a1, c1, s1, g1, k1) in zip(outcome.results, marks, marks[1:]):
    counts = result.counts()
    rows.append({"workbook": Path(result.workbook_path).name, "seconds": round(result.duration_seconds or 0, 2),
                 "loop_ms": round(500 * (k0 + k1), 2),
                 "requests": r1 - r0, "routes": dict(g1 - g0), "writes": w1 - w0, "attribution_gets": a1 - a0,
                 "client_cpu_s": round(c1 - c0, 2),
                 "sandbox_cpu_s": round(s1 - s0, 2), "ok": result.ok,
                 **{status: sum(v.get(status, 0) for v in counts.values())
                    for status in ("created", "updated", "replaced", "deleted", "unchanged", "failed")}})
json.dump({"seconds": total, "verdict": outcome.verdict.value, "requests": sent["all"], "writes": sent["writes"],
           "requests_before_first_workbook": marks[0][0] if marks else sent["all"], "workbooks": rows},
          open(out, "w"))
"""

#: the listings read back after a year, each object counted under its supplier_reference_id's prefix and segment
_YEAR_LISTINGS = (
    "/sources",
    "/datapoints",
    "/ghg_entries",
    "/components",
    f"/projects/{YEAR_PROJECT}/storage_locations",
    "/production_batches",
    "/biochar_applications",
    "/measurement_locations",
    "/measurement_samples",
)


def _year_read_back(url: str, periods: dict[str, str]) -> dict:
    """What the sandbox holds of each month, read over HTTP (every listing, paged): per month prefix (the values of
    `periods`, a statement's 'YYYY-MM' -> the prefix of that month) the objects whose supplier_reference_id is
    `<prefix>:<segment>:...`, per segment; the values of its samples (`sample_values`); its entries' attributions
    of its extra components (`component_attributions`) and of its MANUAL project component
    (`project_component_attributions`), one listing per entry; its statements (`ghg_statements`, by the month
    of their end). Also every supplier_reference_id held more than once, and a digest of all of it (the IDs and
    supplier_reference_ids of everything counted): a run that wrote nothing leaves it unchanged."""
    import hashlib
    from collections import Counter, defaultdict

    import httpx

    from importer.sandbox import DEMO_ACCESS_TOKEN, DEMO_CLIENT_SECRET

    auth = {"X-Client-Secret": DEMO_CLIENT_SECRET, "Authorization": f"Bearer {DEMO_ACCESS_TOKEN}"}
    held: dict[str, Counter[str]] = {prefix: Counter() for prefix in periods.values()}
    srids: Counter[str] = Counter()
    digest = hashlib.sha256()
    components: dict[str, tuple[str, str, str | None]] = {}  # id -> prefix, segment, allocation strategy
    entries: list[tuple[str, str]] = []  # (prefix, id)
    sizes: dict[str, Counter[str]] = defaultdict(Counter)  # listing -> its objects: "total", and per month prefix
    requests = 0
    with httpx.Client(base_url=url, headers=auth, timeout=60) as http:

        def listing(path: str, **params: Any) -> list[dict[str, Any]]:
            nonlocal requests
            nodes: list[dict[str, Any]] = []
            after = None
            while True:
                page = http.get(path, params={**params, "first": 50, **({"after": after} if after else {})})
                requests += 1
                page.raise_for_status()
                data = page.json()
                nodes += data["nodes"]
                if not data["page_info"]["has_next_page"]:
                    return nodes
                after = data["page_info"]["end_cursor"]

        for path in _YEAR_LISTINGS:
            for node in listing(path):
                srid = node.get("supplier_reference_id") or ""
                prefix, _, rest = srid.partition(":")
                sizes[path]["total"] += 1
                if prefix not in held:
                    continue
                sizes[path][prefix] += 1
                segment = rest.partition(":")[0]
                held[prefix][segment] += 1
                srids[srid] += 1
                digest.update(f"{node['id']} {srid}\n".encode())
                if path == "/measurement_samples":
                    held[prefix]["sample_values"] += len(node["values"])
                elif path == "/components":
                    components[node["id"]] = (prefix, segment, node.get("allocation_strategy"))
                elif path == "/ghg_entries":
                    entries.append((prefix, node["id"]))
        for prefix, entry in entries:
            for attribution in listing(f"/ghg_entries/{entry}/component_attributions"):
                digest.update(f"{attribution['id']}\n".encode())
                owner, segment, strategy = components.get(attribution["component_id"], ("", "", None))
                if owner != prefix:
                    continue
                if segment == "components":
                    held[prefix]["component_attributions"] += 1
                elif segment == "project_components" and strategy == "MANUAL":
                    held[prefix]["project_component_attributions"] += 1
        for statement in listing("/ghg_statements", project_id=YEAR_PROJECT):
            prefix = periods.get(str(statement["reporting_period_end_at"])[:7], "")
            sizes["/ghg_statements"]["total"] += 1
            sizes["/ghg_statements"][prefix] += 1
            if prefix in held:
                held[prefix]["ghg_statements"] += 1
                digest.update(f"{statement['id']}\n".encode())
    return {
        "held": {prefix: dict(counts) for prefix, counts in held.items()},
        "sizes": {path: dict(counts) for path, counts in sizes.items()},
        "duplicated": sorted(s for s, n in srids.items() if n > 1),
        "digest": digest.hexdigest(),
        "requests": requests,
    }


def _year_import(paths: list[Path], url: str, sandbox_pid: int, home: Path, out: Path, checkout: Path | None) -> dict:
    """One batch call over `paths` in a fresh process (our code, or the baseline checkout's first on sys.path):
    its figures (`_YEAR_RUN`) with its wall time and peak RSS."""
    from importer.sandbox import DEMO_ACCESS_TOKEN, DEMO_CLIENT_SECRET

    env = {k: v for k, v in os.environ.items() if not k.startswith("ISOMETRIC_")}
    env.update({"PYTHONPATH": str(checkout or REPO), "ISOMETRIC_IMPORTER_HOME": str(home)})
    cmd = [sys.executable, "-c", _YEAR_RUN, url, DEMO_CLIENT_SECRET, DEMO_ACCESS_TOKEN, str(sandbox_pid), str(out)]
    got = subprocess.run(
        [sys.executable, "-c", _MEASURE, *cmd, *map(str, paths)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=checkout or REPO,  # `-c` puts the working folder first on sys.path
        timeout=1800,
    )
    measured = json.loads(got.stdout)
    if measured["code"] != 0 or not out.exists():
        raise RuntimeError(f"the year's import exited {measured['code']}: {measured['err']}")
    result: dict = json.loads(out.read_text())
    result.update({"wall_s": round(measured["wall"], 1), "peak_rss_mib": round(measured["rss_kb"] / 1024)})
    return result


def _year_once(months: list[Any], folder: Path, checkout: Path | None) -> dict:
    """One year into a fresh sandbox process (latency 0): the batch, the read-back, the no-op re-run of the
    same batch (a fresh process, the same importer home), the read-back again."""
    periods = {m.period: m.prefix for m in months}
    paths = [m.path for m in months]
    folder.mkdir(parents=True)
    proc, url = _sandbox_process(folder / "sandbox.sqlite3", 0)
    try:
        run = _year_import(paths, url, proc.pid, folder / "home", folder / "run.json", checkout)
        print(
            f"  year run: {run['wall_s']} s, {run['peak_rss_mib']} MiB, {run['verdict']}", file=sys.stderr, flush=True
        )
        t = time.perf_counter()
        after_run = _year_read_back(url, periods)
        readback_s = time.perf_counter() - t
        noop = _year_import(paths, url, proc.pid, folder / "home", folder / "noop.json", checkout)
        print(f"  year no-op: {noop['wall_s']} s, {noop['requests']} requests", file=sys.stderr, flush=True)
        after_noop = _year_read_back(url, periods)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return {
        "run": run,
        "noop": noop,
        "held": after_run["held"],
        "sizes": after_run["sizes"],
        "duplicated": after_run["duplicated"],
        "readback_requests": after_run["requests"],
        "readback_s": round(readback_s, 1),
        "noop_changed_nothing": after_noop["digest"] == after_run["digest"] and after_noop["held"] == after_run["held"],
    }


def _unnarrowed(listings: Sequence[str]) -> list[str]:
    """Of `listings` (paths as the read-back asks them), those the live document lets no client narrow to one
    workbook's objects: a GET with no `supplier_reference_id` parameter (read from ../shared, never from the
    importer). A fresh process finds its objects of these only by reading the listing whole, or by one GET per
    object whose ID it already knows."""
    document = REPO.parent / "shared" / "isometric" / "mrv.openapi.json"
    if not document.exists():
        raise SystemExit(f"year: the live document is not beside the checkout ({document})")
    paths = json.loads(document.read_text())["paths"]
    out = []
    for listing in listings:
        asked = listing.split("/")
        for path, ops in paths.items():
            parts = path.split("/")
            if len(parts) == len(asked) and all(p == a or p.startswith("{") for p, a in zip(parts, asked, strict=True)):
                names = {q.get("name") for q in ops.get("get", {}).get("parameters", [])}
                if "get" in ops and "supplier_reference_id" not in names:
                    out.append(listing)
                break
    return out


def _noop_floor(sizes: dict[str, dict[str, int]], prefix: str, unnarrowed: Sequence[str]) -> dict[str, int]:
    """Per listing no filter narrows (`_unnarrowed`), the fewest requests a fresh process spends finding one
    workbook's objects in it: its pages read whole (50 a page), or one GET per object of the workbook, the
    fewer."""
    return {
        path: min(-(-sizes[path]["total"] // 50), sizes[path].get(prefix, 0))
        for path in unnarrowed
        if sizes.get(path, {}).get("total")
    }


def _year_side(months: list[Any], runs: list[dict], unnarrowed: Sequence[str]) -> dict:
    """One side's year: per month its median time over the runs, its requests, its no-op requests (the most of
    any run) beside the bound ceil(objects / 50) + 10, and the verdicts. `objects` are the objects the workbook's
    run created, as its result counts them (the statement and the attributions included: every object a no-op
    re-run has to find unchanged), checked against what the workbook holds (`year.Month.objects`)."""
    rows = []
    # each run's workbooks at the machine's speed of that run (the loop's median time over its workbooks): the
    # machine's speed drifts by up to 60% within the hour, and a slow spell that begins mid-year reads as growth
    pace = [statistics.median(w.get("loop_ms", 1.0) for w in r["run"]["workbooks"]) for r in runs]
    for i, month in enumerate(months):
        mine = [r["run"]["workbooks"][i] for r in runs]
        noops = [r["noop"]["workbooks"][i] for r in runs]
        created = max(w["created"] for w in mine)
        bound = -(-created // 50) + 10
        worst = max(noops, key=lambda w: w["requests"])
        floor = _noop_floor(runs[0]["sizes"], month.prefix, unnarrowed)
        rows.append(
            {
                "workbook": mine[0]["workbook"],
                "objects": month.objects,
                "created": created,
                "seconds": statistics.median(w["seconds"] for w in mine),
                "runs_seconds": [w["seconds"] for w in mine],
                "adjusted_seconds": round(
                    statistics.median(w["seconds"] * p / w.get("loop_ms", p) for w, p in zip(mine, pace, strict=True)),
                    2,
                ),
                "loop_ms": round(statistics.median(w.get("loop_ms", 0.0) for w in mine), 2),
                "requests": mine[0]["requests"],
                "noop_requests": max(w["requests"] for w in noops),
                "noop_attribution_gets": max(w["attribution_gets"] for w in noops),
                "routes": mine[0].get("routes", {}),
                "noop_routes": worst.get("routes", {}),
                "noop_floor": floor,
                "bound": bound,
                "noop_writes": sum(w["writes"] for w in noops),
                "client_cpu_s": statistics.median(w["client_cpu_s"] for w in mine),
                "sandbox_cpu_s": statistics.median(w["sandbox_cpu_s"] for w in mine),
            }
        )
    expected = {m.prefix: m.expected for m in months}
    mismatches = [
        f"{prefix} {kind}: wrote {n}, held {r['held'][prefix].get(kind, 0)}"
        for r in runs
        for prefix, counts in expected.items()
        for kind, n in counts.items()
        if r["held"][prefix].get(kind, 0) != n
    ]
    mismatches += [
        f"{prefix} {kind}: held {n}, never written"
        for r in runs
        for prefix, counts in r["held"].items()
        for kind, n in counts.items()
        if kind not in expected[prefix]
    ]
    return {
        "months": rows,
        "runs": [[{"seconds": w["seconds"], "requests": w["requests"]} for w in r["run"]["workbooks"]] for r in runs],
        "all_ok": all(r["run"]["verdict"] == "ok" and all(w["ok"] for w in r["run"]["workbooks"]) for r in runs),
        "verdicts": [(r["run"]["verdict"], r["noop"]["verdict"]) for r in runs],
        "run_wall_s": [r["run"]["wall_s"] for r in runs],
        "noop_wall_s": [r["noop"]["wall_s"] for r in runs],
        "peak_rss_mib": max(max(r["run"]["peak_rss_mib"], r["noop"]["peak_rss_mib"]) for r in runs),
        "rss_runs_mib": [(r["run"]["peak_rss_mib"], r["noop"]["peak_rss_mib"]) for r in runs],
        "noop_writes": sum(r["noop"]["writes"] for r in runs),
        "noop_changed_nothing": all(r["noop_changed_nothing"] for r in runs),
        "noop_changed_counts": sum(
            w["updated"] + w["replaced"] + w["deleted"] + w["created"] for r in runs for w in r["noop"]["workbooks"]
        ),
        "readback_mismatches": mismatches,
        "duplicated": sorted({s for r in runs for s in r["duplicated"]}),
        "readback_requests": runs[0]["readback_requests"],
        "readback_s": runs[0]["readback_s"],
        "held_total": sum(sum(c.values()) for c in runs[0]["held"].values()),
        "written_total": sum(sum(c.values()) for c in expected.values()),
    }


def target_year(months: int = 12, objects: int = 2000) -> dict:
    """The year of every kind: `months` monthly workbooks of about `objects` objects with every sheet filled
    (`benchmarks/year.py`), generated here first, then imported in one batch (one library call) into a sandbox in
    its own process with no latency, by a fresh process whose peak RSS is measured (`_year_import`), then re-run
    (a second batch call over the same workbooks, which must send only GETs and change nothing), everything read
    back over HTTP after each (`_year_read_back`) and compared with what the workbooks were written to hold. The
    year runs YEAR_REPEATS times, each into a fresh sandbox; with --baseline, YEAR_REPEATS_BESIDE times per side,
    the baseline checkout's importer running the same workbooks in turn with ours, against our sandbox."""
    from year import monthly_workbook

    unnarrowed = _unnarrowed([*_YEAR_LISTINGS, "/ghg_statements"])  # read before the year is spent
    sides: list[tuple[str, Path | None]] = [("ours", None)]
    if BASELINE.get("checkout") is not None:
        sides.append(("before", BASELINE["checkout"]))
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        made = [monthly_workbook(Path(tmp) / f"m{m:02d}", m, objects) for m in range(1, months + 1)]
        generated = time.perf_counter() - t
        print(f"  year: {months} workbooks generated in {generated:.1f} s", file=sys.stderr, flush=True)
        runs: dict[str, list[dict]] = {side: [] for side, _ in sides}
        for r in range(YEAR_REPEATS if len(sides) == 1 else YEAR_REPEATS_BESIDE):
            for side, checkout in sides:
                try:
                    runs[side].append(_year_once(made, Path(tmp) / f"{side}-{r}", checkout))
                except (RuntimeError, subprocess.SubprocessError) as exc:
                    if side == "ours":
                        raise
                    print(f"  year, {side}: could not run ({exc})", file=sys.stderr, flush=True)
        out: dict = {"months_generated_s": round(generated, 1)}
        out.update(_year_side(made, runs["ours"], unnarrowed))
        if runs.get("before"):
            out["before"] = _year_side(made, runs["before"], unnarrowed)
    return out


def _year_figures(y: dict) -> dict[str, tuple[str, str]]:
    """One side's year: per target its figure and verdict."""
    months, runs = y["months"], y["runs"]
    requests = [m["requests"] for m in months]
    growth = _trend([float(r) for r in requests[1:]])
    within = sum(1 for m in months if m["noop_requests"] <= m["bound"])
    worst = max(months, key=lambda m: m["noop_requests"] / m["bound"])
    floor = sum(worst.get("noop_floor", {}).values())
    why = ""
    if worst["noop_requests"] > worst["bound"] and worst.get("noop_routes"):
        top = sorted(worst["noop_routes"].items(), key=lambda kv: -kv[1])[:6]
        routes = ", ".join(f"{route.replace(BASE_PATH, '')} {n}" for route, n in top)
        why = (
            f"; its requests by route: {routes}; the listings the live "
            f"document gives no filter alone take at least {floor} ("
            + ", ".join(f"{path.rsplit('/', 1)[-1]} {n}" for path, n in worst["noop_floor"].items())
            + f"){' > the bound: no client can meet it in a fresh process' if floor > worst['bound'] else ''}"
        )
    nothing_written = y["noop_writes"] == 0 and y["noop_changed_nothing"] and not y["noop_changed_counts"]
    lost = len(y["readback_mismatches"]) + len(y["duplicated"])
    figure, verdict = _flatness(months, runs)
    cpu = {side: _trend([m[f"{side}_cpu_s"] for m in months][1:]) for side in ("client", "sandbox")}
    if all(m.get("loop_ms") for m in months):
        adjusted = _trend([m["adjusted_seconds"] for m in months][1:])
        verdict += (
            f"; at the machine's speed of each run (a fixed loop timed as each workbook starts and ends, "
            f"{min(m['loop_ms'] for m in months):g}-{max(m['loop_ms'] for m in months):g} ms) {adjusted:+.0%} "
            f"{'(flat)' if abs(adjusted) <= 0.10 else '(NOT flat)'}"
        )
    # the profile of the time's trend: the importing process's own CPU and the sandbox's, per workbook
    verdict += f"; CPU a workbook from month 2: importer {cpu['client']:+.0%}, sandbox {cpu['sandbox']:+.0%}"
    second, last = months[1].get("routes", {}), months[-1].get("routes", {})
    grew = sorted(((last.get(r, 0) - second.get(r, 0), r) for r in set(second) | set(last)), reverse=True)
    if grew and grew[0][0] > 0:  # what the last month asks more than the second (a listing read whole, say)
        verdict += "; requests grown from month 2: " + ", ".join(
            f"{r.replace(BASE_PATH, '')} {n:+d}" for n, r in grew[:3] if n > 0
        )
    return {
        "time": (figure, verdict),
        "requests": (
            f"first {requests[0]}, second {requests[1]}, last {requests[-1]}",
            f"trend from month 2 {growth:+.0%} {'(flat: met)' if abs(growth) <= 0.10 else '(NOT flat)'}",
        ),
        "rss": (
            f"{y['peak_rss_mib']} MiB (run, no-op of each year: {y['rss_runs_mib']})",
            "met" if y["peak_rss_mib"] < 1024 else "NOT met",
        ),
        "noop": (
            f"{min(m['noop_requests'] for m in months)}-{max(m['noop_requests'] for m in months)} requests a "
            f"workbook, {within} of {len(months)} within the bound (worst {worst['workbook']}: "
            f"{worst['noop_requests']} of {worst['bound']}{why})",
            "met" if within == len(months) else "NOT met",
        ),
        "noop_gets": (
            f"{y['noop_writes']} non-GET requests; {y['noop_changed_counts']} objects not unchanged; the registry "
            f"read back the same: {y['noop_changed_nothing']}",
            "met" if nothing_written else "NOT met",
        ),
        "readback": (
            f"{y['held_total']} held of {y['written_total']} written ({y['readback_requests']} GETs, "
            f"{y['readback_s']} s); {len(y['readback_mismatches'])} counts differ, {len(y['duplicated'])} "
            f"supplier_reference_ids held twice; every workbook ok: {y['all_ok']}",
            "met" if not lost and y["all_ok"] else "NOT met",
        ),
    }


def _year_lines(report: dict) -> list[tuple[str, str, str]]:
    y = report["year"]
    months = y["months"]
    ours = _year_figures(y)
    before = _year_figures(y["before"]) if y.get("before") else None
    targets = {
        "time": f"year of every kind: {len(months)} workbooks of ~{months[0]['objects']} objects, every sheet, one "
        f"batch, sandbox process at 0 ms, median of {len(y['runs'])} runs: time per workbook flat",
        "requests": "year: requests per workbook flat (trend from month 2 within 10%)",
        "rss": "year: peak RSS of the importing process < 1024 MiB",
        "noop": "year: no-op re-run of the year (a second batch call): <= ceil(objects/50)+10 requests a workbook",
        "noop_gets": "year: the no-op re-run sends only GETs and changes nothing",
        "readback": "year: nothing lost or duplicated (read back over HTTP per month and kind vs the rows written)",
    }
    lines = []
    for key, target in targets.items():
        figure, verdict = ours[key]
        if before is not None:
            verdict += f"; before ({len(y['before']['runs'])} run): {before[key][0]}: {before[key][1]}"
        lines.append((target, figure, verdict))
    if before is None:
        lines.append(("year: side by side with the version before", "(not measured before)", ""))
    return lines


def _year_table(report: dict) -> str:
    y = report["year"]
    before = {m["workbook"]: m for m in y.get("before", {}).get("months", [])}
    rows = []
    for m in y["months"]:
        row = {
            "workbook": m["workbook"],
            "written": m["objects"],
            "objects": m["created"],
            "seconds": m["seconds"],
            "runs_s": " ".join(f"{s:.1f}" for s in m["runs_seconds"]),
            "adjusted_s": m.get("adjusted_seconds", ""),
            "loop_ms": m.get("loop_ms", ""),
            "requests": m["requests"],
            "noop_requests": m["noop_requests"],
            "of_them_attributions": m["noop_attribution_gets"],
            "bound": m["bound"],
            "client_cpu_s": m["client_cpu_s"],
            "sandbox_cpu_s": m["sandbox_cpu_s"],
        }
        if m["workbook"] in before:
            b = before[m["workbook"]]
            row.update({"before_s": b["seconds"], "before_requests": b["requests"], "before_noop": b["noop_requests"]})
        rows.append(row)
    return _table(rows)


# -- under a rate budget (issue #30) -------------------------------------------------------------------------

#: the load of the rate rows, run as its own process (our code, or a baseline checkout's first on PYTHONPATH):
#: `creates` datapoint creates (POST /datapoints) interleaved with `reads` listings of the feedstock types
#: (GET /feedstock_types), over a pool of `concurrency` threads; prints time, requests, 429s and what was made,
#: and the budgets the client learned from 429s; with a JSON of such budgets, the client adopts them first (as a
#: run does from the run history), when it can (a baseline's client may not)
_RATE_LOAD = r"""
import json, sys, threading, time
from concurrent.futures import ThreadPoolExecutor
import httpx
throttled = []  # when each 429 was answered, from the load's start (the profile of a run's learning)
lock = threading.Lock()
send = httpx.Client.send
t = time.perf_counter()

def timed(self, request, *args, **kwargs):
    answer = send(self, request, *args, **kwargs)
    if answer.status_code == 429:
        with lock:
            throttled.append(round(time.perf_counter() - t, 2))
    return answer

httpx.Client.send = timed
from importer.api import ClientConfig, IsometricClient
from importer.api import models as m
url, secret, token, creates, reads, concurrency, tag, learned, stated = sys.argv[1:10]
creates, reads, concurrency = int(creates), int(reads), int(concurrency)
jobs = sorted([("c", i / creates, i) for i in range(creates)] + [("r", (i + 0.5) / reads, i) for i in range(reads)],
              key=lambda job: job[1])
config = ClientConfig(base_url=url, client_secret=secret, access_token=token, max_rate_limited_attempts=200,
                      **({"max_rate": float(stated)} if stated else {}))

def one(job):
    kind, _, i = job
    if kind == "r":
        return client.list_feedstock_types()
    srid = f"{tag}-{i:05d}"
    return client.create_datapoint(m.CreateDatapointRequest(
        supplier_reference_id=srid, display_name=srid, description="rate budget load", type="REPORTED",
        quantity=m.QuantityInput(magnitude=1.0 + i, unit="t"), source_ids=[], project_id="prj_1SBXBIOCHAR00001"))

with IsometricClient(config) as client:
    if learned and hasattr(client, "adopt_rates"):
        from importer.api import LearnedRate
        client.adopt_rates({k: LearnedRate(**v) for k, v in json.loads(learned).items()})
    t = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        done = list(pool.map(one, jobs))
    wall = time.perf_counter() - t
    made = sorted(d.supplier_reference_id for d in done if hasattr(d, "supplier_reference_id"))
    print(json.dumps({"seconds": wall, "requests": client.request_count, "answered_429": client.throttled_count,
                      "made": made, "settled_rates": getattr(client, "settled_rates", None),
                      "rate_source": getattr(client, "rate_source", None), "throttled_at": sorted(throttled),
                      "learned": {k: vars(v) for k, v in getattr(client, "learned_rates", {}).items()}}))
"""


def _rate_sandbox(db: Path, budget: float, scope: str, headers: bool) -> tuple[subprocess.Popen, str]:
    """`isometric-import sandbox` in its own process with a budget (our sandbox serves both sides)."""
    import socket

    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    exe = str(Path(sys.executable).with_name("isometric-import"))
    proc = subprocess.Popen(
        [
            exe,
            "sandbox",
            "--port",
            str(port),
            "--db",
            str(db),
            "--budget",
            str(budget),
            "--budget-global" if scope == "global" else "--budget-per-endpoint",
            "--rate-headers" if headers else "--no-rate-headers",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/mrv/v0"
    for _ in range(200):
        try:
            httpx.get(url + "/projects", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.05)
    return proc, url


def _datapoints_held(url: str) -> int:
    """How many datapoints the sandbox holds (its seed's and the load's), read past its budget's 429s."""
    import httpx

    from importer.sandbox import DEMO_ACCESS_TOKEN, DEMO_CLIENT_SECRET

    auth = {"X-Client-Secret": DEMO_CLIENT_SECRET, "Authorization": f"Bearer {DEMO_ACCESS_TOKEN}"}
    for _ in range(50):
        got = httpx.get(url + "/datapoints", params={"first": 1}, timeout=10, headers=auth)
        if got.status_code == 200:
            return int(got.json()["total_count"])
        time.sleep(0.2)
    raise RuntimeError("the sandbox would not list its datapoints")


def _rate_run(
    url: str,
    creates: int,
    reads: int,
    concurrency: int,
    tag: str,
    checkout: Path | None,
    learned: dict | None = None,
    stated: float | None = None,
) -> dict:
    from importer.sandbox import DEMO_ACCESS_TOKEN, DEMO_CLIENT_SECRET

    env = {**os.environ, "PYTHONPATH": str(checkout or REPO)}
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            _RATE_LOAD,
            url,
            DEMO_CLIENT_SECRET,
            DEMO_ACCESS_TOKEN,
            str(creates),
            str(reads),
            str(concurrency),
            tag,
            json.dumps(learned) if learned else "",
            "" if stated is None else str(stated),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        cwd=str(checkout or REPO),
    )  # `-c` puts the working folder first on sys.path
    if out.returncode:
        raise RuntimeError(f"the rate load failed: {out.stderr[-2000:]}")
    result: dict = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def target_rate(budgets: tuple[float, ...] = (2, 20), seconds: float = 12, concurrency: int = 8) -> list[dict]:
    """For each budget (per endpoint and global, with RateLimit headers and without): a load of datapoint creates
    and feedstock-type listings (two routes, 2:1) sized so that its bound is about `seconds`: per endpoint the
    busiest route's requests / budget, global all requests / budget. Time against the bound, the share of
    requests answered 429, the requests, the rate the client settled on, and whether every create landed once
    (read back from the server). With --baseline, the previous client runs the same load beside ours, each
    against a fresh sandbox of ours (the old sandbox has neither a global budget nor headers).

    Without headers each side then runs the load a second time against the same sandbox, as the next run does
    (`next_*` figures): ours starts from the budgets the first load learned (a run takes them from the run
    history), a client without that memory learns them again. Under a global budget without headers ours runs it
    once more as a first run told the budget (`--max-rate`; `stated_*` figures)."""
    sides: list[tuple[str, Path | None]] = [("ours", None)]
    if BASELINE.get("checkout") is not None:
        sides.append(("before", BASELINE["checkout"]))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for budget in budgets:
            for scope in ("endpoint", "global"):
                for headers in (True, False):
                    # two creates to a read: per endpoint the creates bound it, global all three
                    creates = round(seconds * budget * (1 if scope == "endpoint" else 2 / 3))
                    reads = max(1, creates // 2)
                    bound = (creates if scope == "endpoint" else creates + reads) / budget
                    row: dict = {
                        "budget": budget,
                        "scope": scope,
                        "headers": headers,
                        "bound_s": round(bound, 1),
                        "creates": creates,
                        "reads": reads,
                    }
                    for side, checkout in sides:
                        name = f"b{budget:g}-{scope}-{'h' if headers else 'n'}-{side}"
                        proc, url = _rate_sandbox(Path(tmp) / f"{name}.sqlite3", budget, scope, headers)
                        try:
                            seeded = _datapoints_held(url)
                            time.sleep(1.1)  # start the load on a fresh window
                            got = _rate_run(url, creates, reads, concurrency, name, checkout)
                            time.sleep(1.1)
                            made = _datapoints_held(url) - seeded
                            again = None
                            if not headers:  # the next run against the same API
                                time.sleep(1.1)
                                again = _rate_run(
                                    url, creates, reads, concurrency, name + "-next", checkout, got["learned"]
                                )
                                time.sleep(1.1)
                                made_again = _datapoints_held(url) - seeded - made
                            stated = None
                            if not headers and scope == "global" and side == "ours":
                                # a first run told the budget (--max-rate): a client without memory, kept to it
                                time.sleep(1.1)
                                stated = _rate_run(
                                    url, creates, reads, concurrency, name + "-stated", checkout, None, budget
                                )
                                time.sleep(1.1)
                                made_stated = _datapoints_held(url) - seeded - made - made_again
                        finally:
                            proc.terminate()
                            proc.wait(timeout=10)
                        prefix = "" if side == "ours" else "before_"
                        row.update(_rate_figures(got, bound, name, creates, made, prefix))
                        if again is not None:
                            row.update(
                                _rate_figures(again, bound, name + "-next", creates, made_again, prefix + "next_")
                            )
                        if stated is not None:
                            row.update(_rate_figures(stated, bound, name + "-stated", creates, made_stated, "stated_"))
                        if side == "ours":
                            row.update({"settled_rates": got["settled_rates"], "rate_source": got["rate_source"]})
                            if again is not None:
                                row.update({"next_rate_source": again["rate_source"]})
                    rows.append(row)
                    print(f"  rate: {row}", file=sys.stderr, flush=True)
    return rows


def _rate_figures(got: dict, bound: float, tag: str, creates: int, made: int, prefix: str) -> dict:
    """One load's figures for its row, under `prefix`: time against the bound, 429s, and whether every create
    landed once (`made`: what the server holds more after the load)."""
    return {
        f"{prefix}seconds": round(got["seconds"], 1),
        f"{prefix}share_of_bound": round(bound / got["seconds"], 3),
        f"{prefix}requests": got["requests"],
        f"{prefix}answered_429": got["answered_429"],
        f"{prefix}share_429": round(got["answered_429"] / got["requests"], 3),
        f"{prefix}exact": got["made"] == sorted(f"{tag}-{i:05d}" for i in range(creates)) and made == creates,
        f"{prefix}throttled_at": got.get("throttled_at", []),
    }


def _rate_lines(report: dict) -> list[tuple[str, str, str]]:
    lines: list[tuple[str, str, str]] = []
    for r in report["rate"]:
        target = (
            f"budget {r['budget']:g}/s {r['scope']}, {'headers' if r['headers'] else 'no headers'}: "
            f">= 95% of the bound ({r['bound_s']} s), <= 2% 429"
        )
        lines.append(_rate_line(r, "", target))
        if "next_seconds" in r:
            target = f"  the next run against the same API (ours from what the first learned: {r['next_rate_source']})"
            lines.append(_rate_line(r, "next_", target))
        if "stated_seconds" in r:
            target = f"  a first run told the budget (--max-rate {r['budget']:g}; ours only)"
            lines.append(_rate_line(r, "stated_", target))
    return lines


def _rate_line(r: dict, key: str, target: str) -> tuple[str, str, str]:
    """A rate row's line for the load whose figures are under `key` (and `before_` + `key`)."""
    met = r[f"{key}share_of_bound"] >= 0.95 and r[f"{key}share_429"] <= 0.02 and r[f"{key}exact"]
    before = (
        f"; before {r[f'before_{key}seconds']} s ({r[f'before_{key}share_of_bound']:.0%}), "
        f"{r[f'before_{key}share_429']:.1%} 429 of {r[f'before_{key}requests']}"
        if f"before_{key}seconds" in r
        else ""
    )
    when = r.get(f"{key}throttled_at", [])
    profile = (
        f" (at {', '.join(f'{at:.1f}' for at in when[:12])}{' ...' if len(when) > 12 else ''} s)"
        if when and r[f"{key}share_429"] > 0.02
        else ""
    )
    return (
        target,
        f"{r[f'{key}seconds']} s, {r[f'{key}answered_429']} of {r[f'{key}requests']} answered 429{profile}",
        f"{r[f'{key}share_of_bound']:.0%}, {r[f'{key}share_429']:.1%} 429"
        f"{'' if r[f'{key}exact'] else ', LOST OR DUPLICATED'} {'met' if met else 'NOT met'}{before}",
    )


def targets(args: argparse.Namespace) -> dict:
    report: dict = {"baseline": BASELINE.get("ref")}
    if args.only == "validation":
        report["validation"] = target_validation(args.rows)
        return report
    if args.only == "rate":
        report["validation"] = []
        report["rate"] = target_rate()
        return report
    if args.only == "depth":
        report["validation"] = []
        report["depth"] = target_depth(args.objects, 200, 32)
        print(f"  {report['depth']}", file=sys.stderr, flush=True)
        return report
    if args.only == "month":
        report["validation"] = []
        _month_batches(report, args)
        return report
    if args.only == "year":
        report["validation"] = []
        report["year"] = target_year(args.months, args.objects)
        return report
    report["upload_200ms"] = target_upload(args.objects, 200, 32)
    print(f"  {report['upload_200ms']}", file=sys.stderr, flush=True)
    report["depth"] = target_depth(args.objects, 200, 32)
    print(f"  {report['depth']}", file=sys.stderr, flush=True)
    report["upload_50ms"] = target_upload(args.objects, 50, 32)
    print(f"  {report['upload_50ms']}", file=sys.stderr, flush=True)
    report["validation"] = target_validation(args.rows)
    _month_batches(report, args)
    report["year"] = target_year(args.months, args.objects)
    report["rate"] = target_rate()
    return report


def _month_batches(report: dict, args: argparse.Namespace) -> None:
    # this machine has slow spells of a minute or so that lift one batch's later months by 30%: the batch is
    # run BATCH_REPEATS times and each month's time is the median of its runs (every run is kept in the report)
    runs = [target_month_batch(args.months, args.objects) for _ in range(BATCH_REPEATS)]
    report["month_batch_runs"] = runs
    report["month_batch"] = [
        {
            **month[0],
            "seconds": statistics.median(r["seconds"] for r in month),
            "runs_seconds": [r["seconds"] for r in month],
        }
        for month in zip(*runs, strict=True)
    ]


def print_targets(report: dict) -> None:
    lines = [("target", "figure", "ratio / verdict")]
    if "upload_200ms" in report:
        lines += _upload_lines(report)
    if "depth" in report:
        lines += _depth_lines(report)
    _validation_lines(report, lines)
    batch = report.get("month_batch")
    if batch:
        runs = report.get("month_batch_runs", [batch])
        lines.append(
            (
                f"{len(batch)} monthly workbooks in one batch, median of {len(runs)} runs: time per workbook flat",
                *_flatness(batch, runs),
            )
        )
    if report.get("year"):
        lines += _year_lines(report)
    if report.get("rate"):
        lines += _rate_lines(report)
    if report.get("baseline") and report["validation"]:
        lines.append((f"side by side with {report['baseline']} (validation)", "", ""))
    width = max(len(a) for a, _, _ in lines)
    for a, b, c in lines:
        print(f"{a:<{width}}  {b:<34}  {c}")
    if report.get("year"):
        print(
            "\nyear of every kind, per workbook (written: the objects its rows define; objects: those its run created;"
            "\nseconds: the median of the runs; no-op requests: the most of any run, and of them the GETs of an"
            "\nentry's component attributions; bound: ceil(objects / 50) + 10)"
        )
        print(_year_table(report))


def _depth_lines(report: dict) -> list[tuple[str, str, str]]:
    d = report["depth"]
    return [
        (
            f"depth, {d['latency_ms']:g} ms, c={d['concurrency']}, {d['objects']} objects of every kind: "
            "<= 1.1 x (requests x latency / c + critical path x latency + start-up)",
            f"{d['seconds']} s; {d['requests']} requests, floor {d['floor_s']} s; start-up {d['startup_s']} s "
            f"({d['startup_requests']} requests); critical path {d['critical_path_requests']} requests "
            f"({d['critical_path_s']} s: {' > '.join(d['critical_path'])})",
            f"{d['of_bound']:.2f}x {'met' if d['met'] else 'NOT met'} (bound {d['bound_s']} s); "
            f"{d['of_bound_fixed_both_ends']:.2f}x counting the read-back after the last write as fixed too "
            f"({d['readback_s']} s, {d['readback_requests']} requests); writes {d['writes_s']} s with "
            f"{d['in_flight_mean']} in flight, {d['request_mean_ms']} ms a request",
        )
    ]


def _upload_lines(report: dict) -> list[tuple[str, str, str]]:
    up, fast = report["upload_200ms"], report["upload_50ms"]
    noop = up["noop"]
    lines: list[tuple[str, str, str]] = []
    lines.append(
        (
            f"upload 200 ms, c=32: >= 90% of the floor ({up['floor_s']} s for {up['requests']} requests)",
            f"{up['seconds']} s",
            f"{up['efficiency']:.0%} {'met' if up['efficiency'] >= 0.9 else 'NOT met'}",
        )
    )
    lines.append(
        (
            "upload 50 ms, c=32: where the time goes",
            f"{fast['seconds']} s (floor {fast['floor_s']} s)",
            f"client CPU {fast['client_cpu_ms_per_request']} ms/request, sandbox CPU "
            f"{fast['sandbox_cpu_ms_per_request']} ms/request, waiting {fast['waiting_share']:.0%}",
        )
    )
    lines.append(
        (
            f"no-op re-run: <= ceil(N/50)+10 = {noop['bound']} requests (N = {noop['compared']})",
            f"{noop['requests']} requests",
            f"{noop['requests'] / noop['bound']:.1f}x the bound "
            f"{'met' if noop['requests'] <= noop['bound'] else 'NOT met'}",
        )
    )
    return lines


def _validation_lines(report: dict, lines: list[tuple[str, str, str]]) -> None:
    for v in report["validation"]:
        met = (
            v["ratio"] <= v["target_ratio"]
            and v["peak_rss_mib"] <= v["target_rss_mib"]
            and (v["report_mb"] <= v.get("target_report_mb", 1e9))
        )
        lines.append(
            (
                f"validation {v['case']}: <= {v['target_ratio']}x calamine read, <= 400 MiB"
                + (", report < 10 MB" if "target_report_mb" in v else ""),
                f"{v['validate_s']} s vs {v['calamine_read_s']} s (best of {REPEATS}), {v['peak_rss_mib']} MiB, "
                f"{v['report_mb']} MB",
                f"{v['ratio']}x {'met' if met else 'NOT met'}"
                + (
                    f"; before {v['before_validate_s']} s ({v['before_ratio']}x), {v['vs_before']:+.0%}"
                    if "before_ratio" in v
                    else ""
                ),
            )
        )


def _trend(times: list[float]) -> float:
    """The least-squares growth from the first to the last month, as a share of the median month."""
    if len(times) < 2:
        return 0.0
    slope = statistics.linear_regression(range(len(times)), times).slope
    return slope * (len(times) - 1) / statistics.median(times)


def _flatness(batch: list[dict], runs: list[list[dict]]) -> tuple[str, str]:
    """The month batch's figure and verdict. One workbook's time varies by about 10% from run to run here, so
    the first and the last alone say little: the verdict takes the trend over the months (of each month's
    median over the runs) and calls it flat within 10%. It starts at the second month: the first imports into
    an empty project and has no earlier month's writes to read (about 56 requests and 0.3 s fewer, every
    month after reads the month before's); the trend with the first month is printed beside it, and each run's."""
    times, requests = [r["seconds"] for r in batch], [r["requests"] for r in batch]
    growth = _trend(times[1:])
    each = ", ".join(f"{_trend([r['seconds'] for r in run][1:]):+.0%}" for run in runs)
    return (
        f"first {times[0]} s, second {times[1]} s, last {times[-1]} s, max {max(times)} s",
        f"trend from month 2 {growth:+.0%} {'(flat: met)' if abs(growth) <= 0.10 else '(NOT flat)'}; from "
        f"month 1 {_trend(times):+.0%}; each run from month 2 {each}; requests {requests[0]} -> {requests[1]} "
        f"-> {requests[-1]}",
    )


def _table(rows: list[dict]) -> str:
    if not rows:
        return ""
    cols = list(rows[0].keys() | set().union(*rows))
    cols = [c for c in rows[0]] + [c for c in cols if c not in rows[0]]
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in cols}
    lines = ["  ".join(c.rjust(widths[c]) for c in cols)]
    lines += ["  ".join(str(r.get(c, "")).rjust(widths[c]) for c in cols) for r in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["validate", "upload", "targets", "all"])
    parser.add_argument("--rows", type=int, default=100000, help="datapoint rows of the validation targets")
    parser.add_argument("--months", type=int, default=12, help="monthly workbooks of the batch target")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--objects", type=int, default=2000)
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 8, 16, 32])
    parser.add_argument(
        "--budget",
        type=float,
        default=20.0,
        help="per-endpoint requests/s for the pacing run (below the concurrency's bound)",
    )
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--baseline",
        metavar="REF",
        help="also time this commit's validate, side by side (a git "
        "worktree run with this venv: the same dependencies, the previous code)",
    )
    parser.add_argument(
        "--only", choices=["validation", "rate", "depth", "month", "year"], help="targets: only these rows"
    )
    args = parser.parse_args()
    if args.baseline:
        BASELINE["checkout"] = baseline_checkout(args.baseline, Path(tempfile.mkdtemp(prefix="bench-")))
        BASELINE["ref"] = args.baseline
    report: dict = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
    }
    if args.what == "targets":
        report["targets"] = targets(args)
        if args.json:
            print(json.dumps(report, indent=2))
        else:
            print(f"# {report['date']} on {report['machine']}")
            print_targets(report["targets"])
        return
    if args.what in ("validate", "all"):
        report["validate"] = bench_validate(args.sizes)
    if args.what in ("upload", "all"):
        report["upload"] = bench_upload(args.objects, args.latency_ms, args.concurrency, args.budget)
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"# {report['date']} on {report['machine']}")
    if "validate" in report:
        print("\n## validation (whole process) vs pandas.read_excel(engine='openpyxl')")
        print(_table(report["validate"]))
    if "upload" in report:
        up = report["upload"]
        print(f"\n## upload against the sandbox with {up['latency_ms']:.0f} ms latency")
        print(_table(up["runs"]))
        print(f"\nno-op re-run: {up['noop_rerun']}")
        if up["rate_budget"]:
            print(f"rate budget: {up['rate_budget']}")


if __name__ == "__main__":
    main()
