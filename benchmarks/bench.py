"""Benchmarks for issue #6: validation speed/memory and upload throughput, printed as tables (or --json).

    .venv/bin/python benchmarks/bench.py validate [--sizes 1000 10000 100000]
    .venv/bin/python benchmarks/bench.py upload [--objects 2000] [--latency-ms 50] [--concurrency 1 4 8 16 32]
    .venv/bin/python benchmarks/bench.py all --json

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
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

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


def measure(cmd: list[str]) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", _MEASURE, *cmd], capture_output=True, text=True, check=True)
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
            rows.append({"datapoints": size, "validate_s": round(ours["wall_s"], 2),
                         "validate_rss_mib": round(ours["peak_rss_mib"]),
                         "openpyxl_read_s": round(base["wall_s"], 2), "openpyxl_rss_mib": round(base["peak_rss_mib"]),
                         "speedup": round(base["wall_s"] / ours["wall_s"], 1),
                         "file_mib": round(path.stat().st_size / 2**20, 1)})
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
    config = ClientConfig(base_url=sandbox.base_url, client_secret=sandbox.client_secret,  # type: ignore[attr-defined]
                          access_token=sandbox.access_token)  # type: ignore[attr-defined]
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
                rows.append({"concurrency": c, "objects": created, "seconds": round(wall, 1),
                             "objects_per_s": round(rate, 1), "bound_per_s": round(bound, 1),
                             "efficiency": round(rate / bound, 2), "vs_sequential": round(rate / sequential, 1),
                             "requests": requests, "ok": result.ok})
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
                paced = {"concurrency": c, "budget_per_s_per_endpoint": budget, "objects": created,
                         "min_seconds_at_budget": round(360 / budget, 1),
                         "seconds": round(wall, 1), "objects_per_s": round(created / wall, 1), "requests": requests,
                         "answered_429": throttled, "ok": result.ok}
                print(f"  budget: {paced}", file=sys.stderr, flush=True)
    return {"latency_ms": latency_ms, "runs": rows,
            "noop_rerun": {"objects": unchanged, "requests": noop_requests, "seconds": round(noop_wall, 1)},
            "rate_budget": paced}


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
    parser.add_argument("what", choices=["validate", "upload", "all"])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--objects", type=int, default=2000)
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 8, 16, 32])
    parser.add_argument("--budget", type=float, default=20.0,
                        help="per-endpoint requests/s for the pacing run (below the concurrency's bound)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    report: dict = {"date": time.strftime("%Y-%m-%d"), "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                    f"Python {platform.python_version()}"}
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
