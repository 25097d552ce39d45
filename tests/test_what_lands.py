"""What lands is what the workbook shows, or the cell is refused (issue: number formats, units, formulas,
hidden data, dates, lists).

The fixtures under tests/fixtures/realworld/ were produced by real programs (LibreOffice typed in five locales,
xlsxwriter and openpyxl with number formats, tables, filters, hidden rows and columns); expected.json holds
what each one DISPLAYS, written by hand. Accepted fixtures are imported into a loopback sandbox and read back
over plain HTTP (not through the importer's client), value by value and unit by unit; each GHG entry's CO2e is
compared with a figure computed here from the displayed values and the seed's published constants.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from importer.cli import app
from importer.workbook.validate import validate_workbook

from workbooks import sample_data

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "realworld"
EXPECTED: dict[str, Any] = {
    k: v for k, v in json.loads((FIXTURES / "expected.json").read_text()).items() if not k.startswith("_")
}
ACCEPTED = sorted(name for name, spec in EXPECTED.items() if spec["accepted"])
REFUSED = sorted(name for name, spec in EXPECTED.items() if not spec["accepted"])


def _located(findings: list[Any]) -> set[tuple[str, str]]:
    return {(f.code, f.location) for f in findings}


@pytest.mark.parametrize("name", REFUSED)
def test_refused_fixture_names_the_cell(name: str) -> None:
    result = validate_workbook(FIXTURES / name)
    assert not result.ok and result.workbook is None
    for error in EXPECTED[name]["errors"]:
        assert (error["code"], error["cell"]) in _located(result.errors()), [f.location for f in result.errors()]
    for finding in result.errors():  # every error says what was found and what was expected, at a cell
        assert finding.cell and finding.message


@pytest.mark.parametrize("name", ACCEPTED)
def test_accepted_fixture_reads_what_it_shows(name: str) -> None:
    spec = EXPECTED[name]
    result = validate_workbook(FIXTURES / name)
    assert result.ok, [(f.location, f.message) for f in result.errors()]
    for warning in spec.get("warnings", []):
        assert (warning["code"], warning["cell"]) in _located(result.warnings())
    hidden = [f for f in result.findings if f.code in ("hidden_column", "hidden_row", "filtered_row")]
    assert result.findings[: len(hidden)] == hidden  # hidden data is named first
    rows = {d.ref: d for d in result.workbook.datapoints}
    for ref, want in spec["datapoints"].items():
        got = rows[ref]
        assert got.magnitude == pytest.approx(want["magnitude"], rel=1e-12), ref
        assert got.unit == want["unit"], ref
        if "standard_deviation" in want:
            assert got.standard_deviation == (
                pytest.approx(want["standard_deviation"], rel=1e-12) if want["standard_deviation"] is not None else None
            ), ref


# -- round trip through a loopback sandbox ----------------------------------------------------------------

#: the seed's fixed (library) datapoints, as published in the sandbox's templates (API-NOTES: fixed inputs
#: come from the template): road freight 0.107 kgCO2e/t/km, grid 0.045 kgCO2e/kWh, feedstock carbon fraction
#: 0.5, decay fraction 0.1, permanence 0.8, diesel 2.68 kgCO2e/L
ROAD_EF, GRID_EF, CARBON, DECAY, PERMANENCE, DIESEL_EF = 0.107, 0.045, 0.5, 0.1, 0.8, 2.68
#: factors to the blueprint inputs' units (t, km, kWh, L, dimensionless), written out by hand
TO_BLUEPRINT = {"t": 1.0, "km": 1.0, "kWh": 1.0, "L": 1.0, "m3": 1000.0, "%": 0.01, "dimensionless": 1.0}


def _displayed(name: str) -> dict[str, tuple[float, str]]:
    """Every datapoint as the fixture displays it: the sample's rows, overlaid with expected.json."""
    sheets, _ = sample_data()
    values = {r["ref"]: (float(r["magnitude"]), r["unit"]) for r in sheets["datapoints"]}
    for ref, want in EXPECTED[name]["datapoints"].items():
        values[ref] = (float(want["magnitude"]), want["unit"])
    return values


def _expected_co2e(values: dict[str, tuple[float, str]]) -> dict[str, float]:
    """Net kg CO2e removed of the sample's two entries, by hand: sequestration minus counterfactual minus each
    activity, an extra component times its attribution factor (0.5 for the site generator)."""

    def v(ref: str) -> float:
        magnitude, unit = values[ref]
        return magnitude * TO_BLUEPRINT[unit]

    sequestration = v("biochar-mass-t") * 1000 * v("organic-carbon") * PERMANENCE * 44 / 12
    counterfactual = v("feedstock-dry-t") * 1000 * CARBON * DECAY * 44 / 12
    haul = v("feedstock-haul-km") * v("feedstock-delivered-t") * ROAD_EF
    electricity = (v("kwh-period-1") + v("kwh-period-2") + v("kwh-period-3")) * GRID_EF
    generator = v("generator-diesel-l") * DIESEL_EF * 0.5
    application = v("delivery-km") * v("delivered-biochar-t") * ROAD_EF + v("spreader-diesel-l") * DIESEL_EF
    return {
        "batch-2026-10-a": sequestration - counterfactual - haul - electricity - generator,
        "application-2026-10": -application,
    }


def test_the_hand_computation_matches_the_published_sample_total() -> None:
    """The hand formula above reproduces the sample's known statement total (6,348.6 kg), so a mistake in it
    cannot hide a mistake in what lands."""
    sheets, _ = sample_data()
    values = {r["ref"]: (float(r["magnitude"]), r["unit"]) for r in sheets["datapoints"]}
    assert round(sum(_expected_co2e(values).values()), 1) == 6348.6


def _get(http: httpx.Client, path: str, srid: str) -> dict[str, Any]:
    nodes = http.get(path, params={"supplier_reference_id": srid}).raise_for_status().json()["nodes"]
    assert len(nodes) == 1, (path, srid, nodes)
    return nodes[0]


@pytest.mark.slow
def test_accepted_fixtures_land_as_displayed(tmp_path: Path, sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ISOMETRIC_API_URL", sandbox.base_url)
    monkeypatch.setenv("ISOMETRIC_CLIENT_SECRET", sandbox.client_secret)
    monkeypatch.setenv("ISOMETRIC_ACCESS_TOKEN", sandbox.access_token)
    monkeypatch.setenv("NO_COLOR", "1")
    folder = tmp_path / "fixtures"
    shutil.copytree(FIXTURES, folder, ignore=shutil.ignore_patterns("*.py", "*.json"))
    headers = {"X-Client-Secret": sandbox.client_secret, "Authorization": f"Bearer {sandbox.access_token}"}
    runner = CliRunner()
    with httpx.Client(base_url=sandbox.base_url, headers=headers, timeout=30) as http:
        for name in ACCEPTED:
            outcome = runner.invoke(app, ["run", str(folder / name), "--quiet"])
            assert outcome.exit_code == 0, (name, outcome.output)
            prefix = f"rw-{Path(name).stem}"
            for ref, want in EXPECTED[name]["datapoints"].items():
                held = _get(http, "/datapoints", f"{prefix}:datapoints:{ref}")["quantity"]
                assert held["magnitude"] == pytest.approx(want["magnitude"], rel=1e-12), (name, ref, held)
                assert held["unit"] == want["unit"], (name, ref, held)
                if want.get("standard_deviation") is not None:
                    assert held["standard_deviation"] == pytest.approx(want["standard_deviation"], rel=1e-12)
                if want.get("measured_at"):
                    stamp = _get(http, "/datapoints", f"{prefix}:datapoints:{ref}")["measured_at"]
                    assert (
                        dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).date().isoformat()
                        == want["measured_at"]
                    )
            for ref, co2e in _expected_co2e(_displayed(name)).items():
                entry = _get(http, "/ghg_entries", f"{prefix}:entries:{ref}")
                assert entry["co2e_net_removed_kg"] == pytest.approx(co2e, abs=0.05), (name, ref)
