"""Lab results as measurement samples (#27), end to end with the real CLI against the loopback sandbox: a production
batch, a measurement location, samples with replicates, and an entry whose sequestration binds the datapoints the
sample's values became (the replicates as a list input of an extra component, the dry mass as a scalar). Everything
is read back over HTTP: each bound input is compared with the datapoint IDs the sample answered, and the entry's CO2e
with a figure computed here (the formulas written here, the template's fixed values read over HTTP). A re-run sends
only GETs; a changed replicate is refused without --replace and, with it, the sample is replaced and the component
re-bound in the same run; the refusals of the format are each located to their cell."""

from __future__ import annotations

import datetime as dt
import statistics
from pathlib import Path
from typing import Any

from e2e_helpers import api_get, api_nodes, cli_env, run_cli
from workbooks import write

PROJECT = "prj_1SBXBIOCHAR00001"
PRODUCTION = "rvt_1SBXPRODBATCH001"  # the seeded "Monthly production batch" template
TOC = ("mass_fraction", "total_organic_carbon")
DRY = ("mass", "material_condition_dry")
REPLICATES = {"toc-1": 0.781, "toc-2": 0.792, "toc-3": 0.774}
DRY_MASS_T = 4.21
PERMANENCE = 0.8

LOCATION = {"ref": "north-p1", "latitude": 59.8586, "longitude": 17.6389}


def _values(replicates: dict[str, float]) -> list[dict[str, Any]]:
    rows = [
        {
            "ref": ref,
            "sample": "lab-kiln-a",
            "quantity_kind": TOC[0],
            "qualifier": TOC[1],
            "magnitude": value,
            "unit": "dimensionless",
            "standard_deviation": 0.004,
        }
        for ref, value in replicates.items()
    ]
    rows.append(
        {
            "ref": "dry-mass",
            "sample": "lab-kiln-a",
            "quantity_kind": DRY[0],
            "qualifier": DRY[1],
            "magnitude": DRY_MASS_T,
            "unit": "t",
            "standard_deviation": 0.05,
        }
    )
    rows.append(
        {
            "ref": "soil-soc",
            "sample": "soil-north-p1",
            "quantity_kind": "mass_fraction",
            "qualifier": "soil_organic_carbon",
            "magnitude": 0.021,
            "unit": None,
            "standard_deviation": None,
        }
    )
    return rows


def _mutate(replicates: dict[str, float], **changes: Any) -> Any:
    """The sample workbook with lab results: the template's sequestration replaced by an extra component that
    takes the lab's replicates as a list (and the batch's dry mass from the same sample)."""

    def mutate(sheets: dict[str, list[dict[str, Any]]], project: dict[str, Any]) -> None:
        sheets["datapoints"] = [d for d in sheets["datapoints"] if d["ref"] not in ("organic-carbon", "biochar-mass-t")]
        sheets["datapoints"].append(
            {
                "ref": "permanence",
                "display_name": "Biochar permanence factor",
                "description": "Permanence of biochar carbon in soil (methodology default)",
                "type": "CONSTANT",
                "magnitude": PERMANENCE,
                "unit": "dimensionless",
                "source_refs": "lab-certificate",
            }
        )
        # the template's sequestration is created with the entry (its monitored inputs bound: here to one lab value
        # each), then taken off the entry in favour of the replicates' component below
        for item in sheets["entry_inputs"]:
            if item["template_component"] == "Biochar sequestration":
                item["datapoint_refs"] = "dry-mass" if item["input_key"] == "biochar_mass" else next(iter(replicates))
        sheets["components"].append(
            {
                "ref": "drop-template-sequestration",
                "entry_ref": "batch-2026-10-a",
                "action": "remove",
                "template_component": "Biochar sequestration",
            }
        )
        sheets["components"].append(
            {
                "ref": "lab-sequestration",
                "entry_ref": "batch-2026-10-a",
                "action": "add",
                "blueprint_key": "biochar-sequestration-replicates",
                "display_name": "Biochar sequestration (lab replicates)",
                "activity_started_at": dt.datetime(2026, 10, 1),
                "activity_completed_at": dt.datetime(2026, 10, 15),
                "group": "sequestration",
                "attribution_factor": 1.0,
            }
        )
        sheets["component_inputs"] += [
            {"component_ref": "lab-sequestration", "input_key": "biochar_mass", "datapoint_refs": "dry-mass"},
            {
                "component_ref": "lab-sequestration",
                "input_key": "organic_carbon_fraction",
                "datapoint_refs": ", ".join(replicates),
            },
            {"component_ref": "lab-sequestration", "input_key": "permanence_factor", "datapoint_refs": "permanence"},
        ]
        sheets["measurement_locations"] = [dict(LOCATION)]
        sheets["samples"] = [
            {
                "ref": "lab-kiln-a",
                "measurement_type": "biochar_production_batch",
                "measured_at": dt.datetime(2026, 10, 16, 9, 0),
                "production_batch": "kiln-2026-10-a",
                "source_refs": "lab-certificate",
            },
            {
                "ref": "soil-north-p1",
                "measurement_type": "biochar_soil",
                "measured_at": dt.datetime(2026, 10, 25),
                "measurement_location": "north-p1",
            },
        ]
        sheets["sample_values"] = _values(replicates)
        for sheet, rows in changes.items():
            sheets[sheet] = rows(sheets[sheet])

    return mutate


def _sheets(replicates: dict[str, float] = REPLICATES, **changes: Any) -> dict[str, list[dict[str, Any]]]:
    """The sheets `_workbook` writes (to find a row's Excel number)."""
    from workbooks import sample_data

    sheets, project = sample_data()
    _mutate(replicates, **changes)(sheets, project)
    return sheets


def _workbook(folder: Path, replicates: dict[str, float] = REPLICATES, **changes: Any) -> Path:
    return write(folder, _mutate(replicates, **changes))


def _prefix(workbook: Path) -> str:
    from importer.workbook.validate import validate_workbook

    result = validate_workbook(workbook)
    assert result.ok, [f.message for f in result.errors()]
    project = result.workbook.project
    return project.supplier_reference_prefix or project.project_id


def _log(sandbox: Any) -> list[tuple[str, str, int]]:
    return list(sandbox.store.request_log)


def _by_srid(sandbox: Any, path: str, **params: Any) -> dict[str, dict[str, Any]]:
    return {n["supplier_reference_id"]: n for n in api_nodes(sandbox, path, **params) if n["supplier_reference_id"]}


def _sample_datapoints(sample: dict[str, Any], replicates: dict[str, float]) -> dict[str, str]:
    """value ref -> the datapoint the sample answered for it (matched by property and magnitude, computed here)."""
    out = {}
    for ref, magnitude in {**replicates, "dry-mass": DRY_MASS_T}.items():
        prop = DRY if ref == "dry-mass" else TOC
        (value,) = [
            v
            for v in sample["values"]
            if (v["measurement_property"]["quantity_kind"], v["measurement_property"]["qualifier"]) == prop
            and abs(v["value"]["magnitude"] - magnitude) < 1e-12
        ]
        out[ref] = value["datapoint_id"]
    return out


def _fixed_values(sandbox: Any) -> dict[str, float]:
    """The template's fixed inputs (input key -> magnitude), read over HTTP: the template, then each datapoint."""
    template = api_get(sandbox, f"/projects/{PROJECT}/ghg_entry_templates/{PRODUCTION}")
    out = {}
    for group in template["groups"]:
        for comp in group["components"]:
            for item in comp["inputs"]:
                if item["type"] == "fixed":
                    out[item["input_key"]] = api_get(sandbox, f"/datapoints/{item['datapoint_id']}")["quantity"][
                        "magnitude"
                    ]
    return out


def _expected_co2e(sandbox: Any, replicates: dict[str, float]) -> float:
    """The batch entry's net removal in kg CO2e, computed here from the workbook's figures (the sample workbook's
    own, written in sample_workbooks/build_samples.py, re-stated here) and the template's fixed values."""
    fixed = _fixed_values(sandbox)
    road = 46 * 18.4 * fixed["emission_factor"]
    electricity = (1210.5 + 1185.0 + 1302.25) * fixed["grid_emission_factor"]
    counterfactual = 14.9 * 1000 * fixed["carbon_fraction"] * fixed["decay_fraction"] * 44 / 12
    generator = 120 * 2.68 * 0.5  # the extra generator component, attributed at 0.5
    sequestration = DRY_MASS_T * 1000 * statistics.mean(replicates.values()) * PERMANENCE * 44 / 12
    return sequestration - road - electricity - counterfactual - generator


def _entry(sandbox: Any, prefix: str) -> dict[str, Any]:
    return _by_srid(sandbox, "/ghg_entries")[f"{prefix}:entries:batch-2026-10-a"]


def _check_bound(sandbox: Any, prefix: str, replicates: dict[str, float]) -> dict[str, str]:
    """The sample as held, its datapoints locked to it, and the lab component's inputs naming exactly them."""
    sample = _by_srid(sandbox, "/measurement_samples")[f"{prefix}:samples:lab-kiln-a"]
    batch = _by_srid(sandbox, "/production_batches")[f"{prefix}:production_batches:kiln-2026-10-a"]
    assert sample["production_batch_id"] == batch["id"] and sample["measurement_location_id"] is None
    assert sample["measured_at"] == "2026-10-16"
    ids = _sample_datapoints(sample, replicates)
    for ref, dp_id in ids.items():
        dp = api_get(sandbox, f"/datapoints/{dp_id}")
        assert dp["locked_status"] == "locked_measurement_sample_datapoint"
        assert abs(dp["quantity"]["magnitude"] - (DRY_MASS_T if ref == "dry-mass" else replicates[ref])) < 1e-12
    listed = {d["id"] for d in api_nodes(sandbox, "/datapoints", measurement_sample_id=sample["id"])}
    assert listed == set(ids.values())
    (component,) = api_nodes(sandbox, "/components", supplier_reference_id=f"{prefix}:components:lab-sequestration")
    inputs = {i["input_key"]: i for i in component["inputs"]}
    assert inputs["organic_carbon_fraction"]["datapoint_ids"] == [ids[r] for r in replicates]  # a list, in order
    assert inputs["biochar_mass"]["datapoint_id"] == ids["dry-mass"]  # a scalar
    return ids


def test_samples_with_replicates_feed_an_entry_read_back_over_http_and_a_rerun_sends_only_gets(sandbox, tmp_path):
    workbook = _workbook(tmp_path / "wb")
    env = cli_env(sandbox, tmp_path / "home")
    first = run_cli(["run", str(workbook), "--json", "--quiet"], env)
    assert first.code == 0, first.stdout + first.stderr
    counts = first.json()["counts"]
    assert counts["measurement_sample"]["created"] == 2 and counts["measurement_location"]["created"] == 1
    prefix = _prefix(workbook)

    location = _by_srid(sandbox, "/measurement_locations")[f"{prefix}:measurement_locations:north-p1"]
    assert api_get(sandbox, f"/measurement_locations/{location['id']}") == location
    assert (location["latitude"], location["longitude"]) == (LOCATION["latitude"], LOCATION["longitude"])
    soil = _by_srid(sandbox, "/measurement_samples")[f"{prefix}:samples:soil-north-p1"]
    assert soil["measurement_location_id"] == location["id"] and soil["production_batch_id"] is None
    assert [v["value"]["magnitude"] for v in soil["values"]] == [0.021]

    _check_bound(sandbox, prefix, REPLICATES)
    entry = _entry(sandbox, prefix)
    assert abs(entry["co2e_net_removed_kg"] - _expected_co2e(sandbox, REPLICATES)) < 1e-6

    before = len(_log(sandbox))
    second = run_cli(["run", str(workbook), "--json", "--quiet"], env)
    assert second.code == 0, second.stdout + second.stderr
    sent = _log(sandbox)[before:]
    assert sent and {method for method, _, _ in sent} == {"GET"}, [r for r in sent if r[0] != "GET"]
    statuses = {o["status"] for o in second.json()["objects"] if o["kind"].startswith("measurement_")}
    assert statuses == {"unchanged"}
    # no datapoint of a sample is ever PATCHed (they are locked): not by the first run, not by the second
    assert not [r for r in _log(sandbox) if r[0] == "PATCH" and r[1].startswith("/mrv/v0/datapoints/")]


def test_a_changed_replicate_is_refused_without_replace_and_with_it_the_sample_is_replaced_and_rebound(
    sandbox, tmp_path
):
    workbook = _workbook(tmp_path / "wb")
    env = cli_env(sandbox, tmp_path / "home")
    assert run_cli(["run", str(workbook), "--quiet"], env).code == 0
    prefix = _prefix(workbook)
    old_ids = _check_bound(sandbox, prefix, REPLICATES)
    old_sample = _by_srid(sandbox, "/measurement_samples")[f"{prefix}:samples:lab-kiln-a"]["id"]

    corrected = dict(REPLICATES, **{"toc-2": 0.702})  # the lab corrected its second replicate
    workbook = _workbook(tmp_path / "wb", corrected)
    before = len(_log(sandbox))
    refused = run_cli(["run", str(workbook), "--json", "--quiet"], env)
    assert refused.code == 1, refused.stdout + refused.stderr
    assert not [r for r in _log(sandbox)[before:] if r[0] != "GET"]  # nothing written
    sample = next(
        o for o in refused.json()["objects"] if o["kind"] == "measurement_sample" and o["ref"] == "lab-kiln-a"
    )
    assert sample["status"] == "conflict" and "--replace" in sample["error"] and old_sample in sample["error"]
    assert "0.792" in sample["error"] and "0.702" in sample["error"]
    component = next(o for o in refused.json()["objects"] if o["ref"] == "lab-sequestration")
    assert component["status"] == "blocked"

    before = len(_log(sandbox))
    replaced = run_cli(["run", str(workbook), "--replace", "--json", "--quiet"], env)
    assert replaced.code == 0, replaced.stdout + replaced.stderr
    writes = [(m, p) for m, p, _ in _log(sandbox)[before:] if m != "GET"]
    held_component = api_nodes(sandbox, "/components", supplier_reference_id=f"{prefix}:components:lab-sequestration")
    assert writes == [
        ("DELETE", f"/mrv/v0/measurement_samples/{old_sample}"),
        ("POST", "/mrv/v0/measurement_samples"),
        ("PATCH", f"/mrv/v0/components/{held_component[0]['id']}"),
    ], writes
    new_ids = _check_bound(sandbox, prefix, corrected)
    assert not set(new_ids.values()) & set(old_ids.values())
    entry = _entry(sandbox, prefix)
    assert abs(entry["co2e_net_removed_kg"] - _expected_co2e(sandbox, corrected)) < 1e-6
    statuses = {(o["kind"], o["ref"]): o["status"] for o in replaced.json()["objects"]}
    assert statuses[("measurement_sample", "lab-kiln-a")] == "replaced"
    assert statuses[("measurement_sample", "soil-north-p1")] == "unchanged"
    assert statuses[("component", "lab-sequestration")] == "updated"


def _cell(sheet: str, column: str, row: int) -> str:
    """The A1 name of a column of the format (the writer puts the spec's columns in order) in an Excel row."""
    from openpyxl.utils import get_column_letter

    from importer.workbook import spec

    names = [c.name for c in spec.SHEETS_BY_NAME[sheet].columns]
    return f"{get_column_letter(names.index(column) + 1)}{row}"


def _row_of(rows: list[dict[str, Any]], **match: Any) -> int:
    """The Excel row (header in row 1) of the first row matching."""
    return 2 + next(i for i, r in enumerate(rows) if all(r.get(k) == v for k, v in match.items()))


def test_each_refusal_of_the_lab_sheets_is_located_to_its_cell(sandbox, tmp_path):
    def samples(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        rows[0]["storage_location"] = "north-field"  # a second target beside the production batch
        rows.append(
            {"ref": "feed-1", "measurement_type": "ew_mineral_feedstock", "measured_at": dt.datetime(2026, 10, 2)}
        )
        rows[-1]["feedstock_batch"] = "batch-17"  # not an ftb_ ID (no sheet lists feedstock batches)
        return rows

    def values(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [*rows, dict(rows[-1], ref="feed-moisture", sample="feed-1")]

    def component_inputs(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for item in rows:
            if item["input_key"] == "organic_carbon_fraction":
                item["datapoint_refs"] += ", toc-4"  # no such value
        return rows

    changes = {"samples": samples, "sample_values": values, "component_inputs": component_inputs}
    workbook = _workbook(tmp_path / "wb", **changes)
    env = cli_env(sandbox, tmp_path / "home")
    result = run_cli(["validate", str(workbook), "--json", "--no-report"], env)
    assert result.code == 1, result.stdout + result.stderr
    found = {(e["sheet"], e["cell"]): e for e in result.json()["errors"]}
    written = _sheets(**changes)["component_inputs"]
    toc_row = _row_of(written, component_ref="lab-sequestration", input_key="organic_carbon_fraction")
    assert set(found) == {
        ("samples", _cell("samples", "storage_location", 2)),
        ("samples", _cell("samples", "feedstock_batch", 4)),
        ("component_inputs", _cell("component_inputs", "datapoint_refs", toc_row)),
    }, sorted(found)
    assert found[("samples", _cell("samples", "storage_location", 2))]["code"] == "sample_targets"
    assert "batch-17" in found[("samples", _cell("samples", "feedstock_batch", 4))]["message"]
    unknown = found[("component_inputs", _cell("component_inputs", "datapoint_refs", toc_row))]
    assert "toc-4" in unknown["message"] and "sample_values" in unknown["message"]
    assert not [r for r in _log(sandbox) if r[0] != "GET"]


def test_replicates_bound_to_a_scalar_input_are_refused_at_the_cell_with_advice(sandbox, tmp_path):
    def entry_inputs(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for item in rows:
            if item["input_key"] == "organic_carbon_fraction":
                item["datapoint_refs"] = ", ".join(REPLICATES)  # the template's input is a SCALAR
        return rows

    workbook = _workbook(tmp_path / "wb", entry_inputs=entry_inputs)
    env = cli_env(sandbox, tmp_path / "home")
    result = run_cli(["validate", str(workbook), "--online", "--json", "--no-report"], env)
    assert result.code == 1, result.stdout + result.stderr
    (error,) = result.json()["errors"]
    row = _row_of(_sheets(entry_inputs=entry_inputs)["entry_inputs"], input_key="organic_carbon_fraction")
    assert (error["sheet"], error["cell"], error["code"]) == (
        "entry_inputs",
        _cell("entry_inputs", "datapoint_refs", row),
        "replicates_on_scalar",
    )
    message = error["message"]
    assert f"{len(REPLICATES)} of {TOC[0]} ({TOC[1]}) of sample 'lab-kiln-a'" in message
    assert "list" in message and "component_inputs" in message  # the advice: where replicates can go
    assert not [r for r in _log(sandbox) if r[0] != "GET"]


def test_a_ref_of_both_a_datapoint_and_a_sample_value_is_refused_where_it_is_cited(sandbox, tmp_path):
    def datapoints(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [*rows, dict(rows[0], ref="dry-mass", display_name="Dry mass typed again")]

    workbook = _workbook(tmp_path / "wb", datapoints=datapoints)
    env = cli_env(sandbox, tmp_path / "home")
    result = run_cli(["validate", str(workbook), "--json", "--no-report"], env)
    assert result.code == 1, result.stdout + result.stderr
    sheets = _sheets(datapoints=datapoints)
    expected = {
        (
            "entry_inputs",
            _cell("entry_inputs", "datapoint_refs", _row_of(sheets["entry_inputs"], datapoint_refs="dry-mass")),
        ),
        (
            "component_inputs",
            _cell("component_inputs", "datapoint_refs", _row_of(sheets["component_inputs"], datapoint_refs="dry-mass")),
        ),
    }
    errors = result.json()["errors"]
    assert {(e["sheet"], e["cell"]) for e in errors} == expected
    assert all(e["code"] == "ambiguous_ref" and "sample_values" in e["message"] for e in errors)


def test_a_sample_used_by_a_submitted_statement_is_not_replaced(sandbox, tmp_path):
    def submit(sheets: dict[str, list[dict[str, Any]]], project: dict[str, Any]) -> None:
        _mutate(REPLICATES)(sheets, project)
        project["ghg_statement_report_url"] = "https://example.org/reports/2026-10.pdf"

    env = cli_env(sandbox, tmp_path / "home")
    workbook = write(tmp_path / "wb", submit)
    first = run_cli(["run", str(workbook), "--submit", "--json", "--quiet"], env)
    assert first.code == 0, first.stdout + first.stderr
    prefix = _prefix(workbook)
    sample_id = _by_srid(sandbox, "/measurement_samples")[f"{prefix}:samples:lab-kiln-a"]["id"]

    def corrected(sheets: dict[str, list[dict[str, Any]]], project: dict[str, Any]) -> None:
        submit(sheets, project)
        sheets["sample_values"] = _values(dict(REPLICATES, **{"toc-2": 0.702}))

    workbook = write(tmp_path / "wb", corrected)
    before = len(_log(sandbox))
    refused = run_cli(["run", str(workbook), "--replace", "--json", "--quiet"], env)
    assert refused.code == 1, refused.stdout + refused.stderr
    assert not [r for r in _log(sandbox)[before:] if r[0] != "GET"]
    sample = next(
        o for o in refused.json()["objects"] if o["kind"] == "measurement_sample" and o["ref"] == "lab-kiln-a"
    )
    assert sample["status"] == "conflict" and sample_id in sample["error"] and "submitted statement" in sample["error"]
    assert _by_srid(sandbox, "/measurement_samples")[f"{prefix}:samples:lab-kiln-a"]["id"] == sample_id


def test_the_sandbox_locks_a_samples_datapoints_and_refuses_their_patch(sandbox, tmp_path):
    import httpx

    workbook = _workbook(tmp_path / "wb")
    env = cli_env(sandbox, tmp_path / "home")
    assert run_cli(["run", str(workbook), "--quiet"], env).code == 0
    sample = _by_srid(sandbox, "/measurement_samples")[f"{_prefix(workbook)}:samples:lab-kiln-a"]
    dp_id = sample["values"][0]["datapoint_id"]
    headers = {"X-Client-Secret": sandbox.client_secret, "Authorization": f"Bearer {sandbox.access_token}"}
    with httpx.Client(base_url=sandbox.base_url, headers=headers, timeout=10) as api:
        patched = api.patch(f"/datapoints/{dp_id}", json={"display_name": "changed"})
        assert patched.status_code == 422 and "locked" in patched.text
        deleted = api.delete(f"/datapoints/{dp_id}")
        assert deleted.status_code == 422
    assert api_get(sandbox, f"/datapoints/{dp_id}")["display_name"] != "changed"


def test_the_template_offers_the_lab_sheets_with_the_contracts_quantity_kinds_and_qualifiers(sandbox, tmp_path):
    import openpyxl

    from contract import document

    out = tmp_path / "template.xlsx"
    env = cli_env(sandbox, tmp_path / "home")
    result = run_cli(["template", str(out), "--project-id", PROJECT], env)
    assert result.code == 0, result.stdout + result.stderr
    book = openpyxl.load_workbook(out)
    schemas = document()["components"]["schemas"]
    ws = book["sample_values"]
    header = [c.value for c in ws[1]]

    def offered(sheet: Any, column: str) -> list[str]:
        names = [c.value for c in sheet[1]]
        letter = openpyxl.utils.get_column_letter(names.index(column) + 1)
        (dv,) = [dv for dv in sheet.data_validations.dataValidation if f"{letter}2" in str(dv.sqref)]
        target, cells = str(dv.formula1).replace("'", "").replace("$", "").split("!")
        first, last = cells.split(":")
        col = "".join(ch for ch in first if ch.isalpha())
        return [book[target][f"{col}{r}"].value for r in range(int(first[len(col) :]), int(last[len(col) :]) + 1)]

    assert offered(ws, "quantity_kind") == schemas["QuantityKindType"]["enum"]
    assert offered(ws, "qualifier") == schemas["QuantityKindQualifierType"]["enum"]
    assert offered(book["samples"], "measurement_type") == schemas["MeasurementTypeKey"]["enum"]
    comment = ws.cell(row=1, column=header.index("qualifier") + 1).comment.text
    assert str(len(schemas["QuantityKindQualifierType"]["enum"])) in comment and len(comment) < 600
    readme = " ".join(str(c.value) for row in book["README"].iter_rows() for c in row if c.value)
    assert "sample_values" in readme and "replicates" in readme


def test_the_report_traces_each_input_to_its_sample_batch_and_certificate_and_charts_the_replicates(sandbox, tmp_path):
    import re

    outlier = dict(REPLICATES, **{"toc-3": 0.61})  # one replicate far from the others
    workbook = _workbook(tmp_path / "wb", outlier)
    env = cli_env(sandbox, tmp_path / "home")
    run = run_cli(["run", str(workbook), "--json", "--quiet", "--report", str(tmp_path / "run.html")], env)
    assert run.code == 0, run.stdout + run.stderr
    prefix = _prefix(workbook)
    ids = _check_bound(sandbox, prefix, outlier)
    sample = _by_srid(sandbox, "/measurement_samples")[f"{prefix}:samples:lab-kiln-a"]
    batch = _by_srid(sandbox, "/production_batches")[f"{prefix}:production_batches:kiln-2026-10-a"]
    page = (tmp_path / "run.html").read_text()
    p = re.search(r'<section id="([^"]*)lab" class="detail">', page).group(1)  # the report's id prefix

    # the lineage: input -> datapoint (the sample's) -> lab value -> sample -> batch -> lab certificate
    entry = page.split(f'id="{p}entry-batch-2026-10-a"', 1)[1].split("</details>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", entry, re.S)
    for ref in outlier:  # the replicates' component binds all three; the template's (taken off) binds toc-1
        bound = [r for r in rows if ids[ref] in r]
        assert len(bound) == (2 if ref == "toc-1" else 1), ref
        for row in bound:
            assert f'lab value <a href="#{p}lab-{ref}">{ref}</a> of sample lab-kiln-a' in row
            assert sample["id"] in row and batch["id"] in row and "production batch kiln-2026-10-a" in row
            assert "lab-certificate" in row  # the certificate, as the evidence of the input
    # the lab section: one chart per property; the TOC chart has one column (the batch) of three points
    section = re.search(rf'<section id="{p}lab" class="detail">(.*?)</section>', page, re.S).group(1)
    charts = re.findall(r"<figcaption><strong>([^<]+)</strong></figcaption>(<svg.*?</svg>)", section, re.S)
    assert [p for p, _ in charts] == [
        f"{TOC[0]} ({TOC[1]})",
        f"{DRY[0]} ({DRY[1]})",
        "mass_fraction (soil_organic_carbon)",
    ]
    svg = charts[0][1]
    points = {
        ref: float(cy)
        for ref, cy in re.findall(
            rf'<a href="#{p}lab-([^"]+)"><circle class="replicate" cx="[\d.]+" cy="([\d.]+)"', svg
        )
    }
    assert set(points) == set(outlier)
    ranked = sorted(outlier, key=outlier.get)  # lowest value drawn lowest (largest y)
    assert sorted(points, key=points.get, reverse=True) == ranked
    (mean_y,) = [float(y) for y in re.findall(r'<line class="mean" x1="[\d.]+" y1="([\d.]+)"', svg)]
    mean = statistics.mean(outlier.values())
    # the mean bar sits where the mean falls between the points (linear scale): computed here from two points
    lo, hi = ranked[0], ranked[-1]
    expected = points[lo] + (mean - outlier[lo]) / (outlier[hi] - outlier[lo]) * (points[hi] - points[lo])
    assert abs(mean_y - expected) < 0.2
    spread = re.search(r'<line class="spread" x1="[\d.]+" y1="([\d.]+)" x2="[\d.]+" y2="([\d.]+)"', svg)
    sd_px = (float(spread.group(2)) - float(spread.group(1))) / 2
    per_unit = (points[lo] - points[hi]) / (outlier[hi] - outlier[lo])
    assert abs(sd_px / per_unit - statistics.stdev(outlier.values())) < 1e-3
    anchors = set(re.findall(r'id="([^"]+)"', page))
    assert all(t in anchors for t in re.findall(rf'href="#({p}lab-[^"]+)"', page))
    assert "lab-certificate" in section  # the certificate recorded beside the values


def test_a_project_component_binds_lab_values_as_an_extra_component_does(sandbox, tmp_path):
    """A shared (project) component's inputs may cite sample_values refs like an entry's extra component: each
    stands for the datapoint the sample made of it, read back over HTTP (a list input keeps the replicates' order)."""

    def plant(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return rows + [
            {
                "ref": "lab-plant-share",
                "action": "add",
                "scope": "project",
                "allocation_strategy": "CUSTOM_TIME_PERIOD",
                "blueprint_key": "biochar-sequestration-replicates",
                "display_name": "Lab-measured carbon, shared over the month",
                "activity_started_at": dt.datetime(2026, 10, 1),
                "activity_completed_at": dt.datetime(2026, 10, 31),
            }
        ]

    def plant_inputs(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return rows + [
            {"component_ref": "lab-plant-share", "input_key": "biochar_mass", "datapoint_refs": "dry-mass"},
            {
                "component_ref": "lab-plant-share",
                "input_key": "organic_carbon_fraction",
                "datapoint_refs": ", ".join(REPLICATES),
            },
            {"component_ref": "lab-plant-share", "input_key": "permanence_factor", "datapoint_refs": "permanence"},
        ]

    workbook = _workbook(tmp_path / "wb", components=plant, component_inputs=plant_inputs)
    result = run_cli(["run", str(workbook), "--json", "--quiet"], cli_env(sandbox, tmp_path / "home"))
    assert result.code == 0, result.stdout + result.stderr
    prefix = _prefix(workbook)
    ids = _check_bound(sandbox, prefix, REPLICATES)
    (shared,) = api_nodes(sandbox, "/components", supplier_reference_id=f"{prefix}:project_components:lab-plant-share")
    inputs = {i["input_key"]: i for i in shared["inputs"]}
    assert inputs["organic_carbon_fraction"]["datapoint_ids"] == [ids[r] for r in REPLICATES]
    assert inputs["biochar_mass"]["datapoint_id"] == ids["dry-mass"]
