"""Helpers for end-to-end tests: run the real CLI as a subprocess against a SandboxServer over loopback,
with isolated local state, and count what the server holds through the API."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "sample_workbooks"
SAMPLE = SAMPLES / "biochar-2026-10.xlsx"
KINDS = ("source", "datapoint", "feedstock_type", "ghg_entry", "component", "ghg_statement")


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str

    def json(self) -> dict[str, Any]:
        return json.loads(self.stdout)


def copy_samples(dest: Path) -> Path:
    """A private copy of the sample folder (workbook + evidence), returning the workbook path."""
    target = dest / "samples"
    shutil.copytree(SAMPLES, target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return target / SAMPLE.name


def cli_env(sandbox: Any, home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ISOMETRIC_")}
    env["ISOMETRIC_REPORTS_DIR"] = str(home / "reports")
    env.update(
        {
            "ISOMETRIC_API_URL": sandbox.base_url,
            "ISOMETRIC_CLIENT_SECRET": sandbox.client_secret,
            "ISOMETRIC_ACCESS_TOKEN": sandbox.access_token,
            "ISOMETRIC_IMPORTER_HOME": str(home),
            "NO_COLOR": "1",
            "COLUMNS": "160",
        }
    )
    env.update(extra)
    return env


def run_cli(args: list[str], env: dict[str, str], *, timeout: float = 240, subprocess_: bool = False) -> CliResult:
    """The CLI with `env` as its whole ISOMETRIC_* environment. In-process (typer's runner) unless a separate
    process is the point: `--debug` (logging is configured once per process) or `subprocess_=True` (exit codes
    of the real entry point, signals, crashes)."""
    if subprocess_ or "--debug" in args:
        proc = subprocess.run(
            [sys.executable, "-m", "importer.cli", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=REPO,
        )
        return CliResult(proc.returncode, proc.stdout, proc.stderr)
    from typer.testing import CliRunner

    from importer.cli import app

    overrides: dict[str, str | None] = {k: None for k in os.environ if k.startswith("ISOMETRIC_") and k not in env}
    overrides.update({k: v for k, v in env.items() if k.startswith("ISOMETRIC_") or k in ("NO_COLOR", "COLUMNS")})
    result = CliRunner().invoke(app, args, env=overrides)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # a bug: show it, as the real entry point's --debug would
    return CliResult(result.exit_code, result.stdout, result.stderr)


SHEET_KIND = {
    "sources": "source",
    "datapoints": "datapoint",
    "feedstock_types": "feedstock_type",
    "entries": "ghg_entry",
    "components": "component",
    "storage_locations": "storage_location",
    "production_batches": "production_batch",
    "biochar_applications": "biochar_application",
}


def expected_references(workbook: Path) -> dict[str, set[str]]:
    """kind -> the supplier_reference_ids the workbook defines (by the importer's own identity rule)."""
    from importer.identity import workbook_references
    from importer.workbook.validate import validate_workbook

    result = validate_workbook(workbook)
    assert result.ok, [f.message for f in result.errors()]
    out: dict[str, set[str]] = {kind: set() for kind in SHEET_KIND.values()}
    for sheet, _row, srid in workbook_references(result.workbook):
        out[SHEET_KIND[sheet]].add(srid)
    return out


def server_references(sandbox: Any) -> dict[str, dict[str, int]]:
    """kind -> supplier_reference_id -> how many objects of that kind carry it (seed objects excluded)."""
    out: dict[str, dict[str, int]] = {}
    for kind in SHEET_KIND.values():
        seen: dict[str, int] = {}
        for obj in sandbox.store.list(kind):
            srid = obj.get("supplier_reference_id")
            if srid and not str(srid).startswith("seed"):
                seen[srid] = seen.get(srid, 0) + 1
        out[kind] = seen
    return out


def assert_exactly(sandbox: Any, workbook: Path) -> None:
    """The server holds exactly what the workbook defines: none missing, none duplicated, nothing extra."""
    expected = expected_references(workbook)
    held = server_references(sandbox)
    for kind, srids in expected.items():
        missing = sorted(srids - set(held[kind]))
        extra = sorted(set(held[kind]) - srids)
        dups = sorted(s for s, n in held[kind].items() if n > 1)
        assert not missing, f"{kind}: missing {missing}"
        assert not extra, f"{kind}: unexpected {extra}"
        assert not dups, f"{kind}: duplicated {dups}"


def api_nodes(sandbox: Any, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every node of a listing, read over HTTP with the sandbox's credentials (what the server says, not what
    the importer reported)."""
    import httpx

    headers = {"X-Client-Secret": sandbox.client_secret, "Authorization": f"Bearer {sandbox.access_token}"}
    nodes: list[dict[str, Any]] = []
    after = None
    with httpx.Client(base_url=sandbox.base_url, headers=headers, timeout=30) as http:
        while True:
            query = {**params, "first": 50, **({"after": after} if after else {})}
            page = http.get(path, params=query)
            page.raise_for_status()
            data = page.json()
            nodes += data["nodes"]
            if not data["page_info"]["has_next_page"]:
                return nodes
            after = data["page_info"]["end_cursor"]


def api_get(sandbox: Any, path: str) -> Any:
    import httpx

    headers = {"X-Client-Secret": sandbox.client_secret, "Authorization": f"Bearer {sandbox.access_token}"}
    with httpx.Client(base_url=sandbox.base_url, headers=headers, timeout=30) as http:
        response = http.get(path)
        response.raise_for_status()
        return response.json()
