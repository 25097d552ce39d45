"""The year of every kind (issue #30): twelve monthly workbooks with every sheet filled, made from the sample.

`monthly_workbook(folder, m)` writes month m (1 = January 2026) of about N objects: the sample workbook's rows
(sample_workbooks/biochar-2026-10.xlsx) copied under new refs as `depth.scaled_sample` copies them, every date of
the sample moved into month m (the day kept, the month's last day where it has no such day: entries from the 1st
to the 15th and the 16th to the month's end, the batch from the 1st 06:00 to the 14th 18:00, the applications on
the 18th and 19th), the statement ending on the month's last day, the supplier_reference_prefix `year-{m:02d}`;
and the sheets the sample leaves empty, modelled on tests/test_measurement_samples.py and
tests/test_shared_components.py (whose rows pass against the sandbox):

- per copy, a lab sample of its production batch (measured the 16th, three replicates of total organic carbon
  and the dry mass): the batch entry's biochar sequestration binds the dry mass and the first replicate, in place
  of the sample's own `biochar-mass-t` and `organic-carbon` datapoints (dropped from each copy);
- every `LOCATION_EVERY`-th copy, a measurement location near its first field and a soil sample taken there on
  the 25th (one value);
- per month, the shared emissions: a project component with allocation_strategy MANUAL (the kiln's embodied
  diesel) given to the batch entries of the first `MANUAL_SHARES` copies on the project_component_attributions
  sheet, a project component with allocation_strategy CUSTOM_TIME_PERIOD over the month (plant construction), and
  a statement component (the office's electricity), with their five datapoints.

`Month.expected` is what the server must hold afterwards, counted here from the rows written (never from what the
importer reports): per segment of the derived supplier_reference_id (`<prefix>:<segment>:<ref>`) the objects that
carry one, and besides them the samples' values (`sample_values`, datapoints the server makes without a
supplier_reference_id), the attributions of the entries' extra components (`component_attributions`) and of the
MANUAL component (`project_component_attributions`), and the statement (`ghg_statements`).
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

from depth import _REF_COLUMNS, _SHARED, SAMPLE, _sheet_rows, copied, write_scaled

YEAR = 2026
LOCATION_EVERY = 4  # a measurement location and its soil sample every this many copies
MANUAL_SHARES = 4  # batch entries carrying the MANUAL project component, 1 / MANUAL_SHARES each
REPLICATES = (0.781, 0.792, 0.774)  # total organic carbon, dimensionless (as tests/test_measurement_samples.py)
DRY_MASS_T = 4.21
#: the copied sheets with refs: the sample's and the lab's (measurement locations are added every few copies)
_COPIED = {**_REF_COLUMNS, "samples": ("ref", "production_batch"), "sample_values": ("ref", "sample")}
_DROPPED = ("biochar-mass-t", "organic-carbon")  # bound to the lab's values instead
_TEXT = ("display_name", "name", "description")
#: the shared emissions' datapoints (tests/test_shared_components.py's DATAPOINTS)
_SHARED_DATAPOINTS = (
    ("kiln-build-l", 2000.0, "L"),
    ("plant-build-l", 9000.0, "L"),
    ("office-kwh-1", 3100.0, "kWh"),
    ("office-kwh-2", 2100.0, "kWh"),
    ("office-grid-ef", 0.045, "kgCO2e/kWh"),
)


@dataclasses.dataclass(frozen=True)
class Month:
    path: Path
    prefix: str
    period: str  # 'YYYY-MM': the month its statement ends in
    copies: int
    objects: int  # objects the workbook defines that a run creates (the statement and the attributions included)
    expected: dict[str, int]  # what the server must hold of this month (see the module docstring)


def month_of(index: int) -> tuple[int, int]:
    """(year, month) of month `index` (1 = January of YEAR; 13 = January of the year after)."""
    return YEAR + (index - 1) // 12, (index - 1) % 12 + 1


def _last_day(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def shifted(value: Any, year: int, month: int) -> Any:
    """A date or datetime of the sample moved into (year, month), the day kept where the month has it."""
    if isinstance(value, dt.datetime):
        return value.replace(year=year, month=month, day=min(value.day, _last_day(year, month)))
    if isinstance(value, dt.date):
        return value.replace(year=year, month=month, day=min(value.day, _last_day(year, month)))
    return value


def _lab_rows() -> dict[str, list[dict[str, Any]]]:
    """One copy's lab sheets: the production batch's sample and its values (refs renamed per copy)."""
    values = [
        {
            "ref": f"toc-{i}",
            "sample": "lab-batch",
            "quantity_kind": "mass_fraction",
            "qualifier": "total_organic_carbon",
            "magnitude": value,
            "unit": "dimensionless",
            "standard_deviation": 0.004,
        }
        for i, value in enumerate(REPLICATES, start=1)
    ]
    values.append(
        {
            "ref": "dry-mass",
            "sample": "lab-batch",
            "quantity_kind": "mass",
            "qualifier": "material_condition_dry",
            "magnitude": DRY_MASS_T,
            "unit": "t",
            "standard_deviation": 0.05,
        }
    )
    sample = {
        "ref": "lab-batch",
        "measurement_type": "biochar_production_batch",
        "measured_at": dt.datetime(YEAR, 10, 16, 9, 0),  # shifted into the month with the rest
        "production_batch": "kiln-2026-10-a",
        "source_refs": "lab-certificate",
    }
    return {"samples": [sample], "sample_values": values}


def _base_rows() -> tuple[dict[str, list[dict[str, Any]]], dict[str, Any]]:
    """The sample's rows with the lab sheets, the sequestration bound to the lab's values; and the project sheet."""
    rows = _sheet_rows(SAMPLE)
    project = {r["key"]: r.get("value") for r in rows.pop("project") if r.get("value") is not None}
    rows["datapoints"] = [d for d in rows["datapoints"] if d["ref"] not in _DROPPED]
    for item in rows["entry_inputs"]:
        if item["template_component"] == "Biochar sequestration":
            item["datapoint_refs"] = "dry-mass" if item["input_key"] == "biochar_mass" else "toc-1"
    rows.update(_lab_rows())
    return rows, project


def _objects_per_copy(rows: dict[str, list[dict[str, Any]]]) -> float:
    """Objects one copy creates: its rows with a supplier_reference_id, an attribution per entry with extra
    components, and on average the measurement location and soil sample of every LOCATION_EVERY-th copy."""
    attributed = {r["entry_ref"] for r in rows.get("components", [])}
    held = sum(len(rows.get(s, [])) for s in _COPIED if s not in ("entry_inputs", "component_inputs", "sample_values"))
    return len(attributed) + held + 2 / LOCATION_EVERY


def _texts(row: dict[str, Any], k: int, month_name: str, stamp: str) -> None:
    for column in _TEXT:
        text = row.get(column)
        if isinstance(text, str):
            row[column] = text.replace("October", month_name).replace("2026-10", stamp)
    for column in ("display_name", "name"):
        if isinstance(row.get(column), str):
            row[column] = f"{row[column]} #{k}"


def monthly_workbook(folder: Path, month_index: int, objects: int = 2000) -> Month:
    """Month `month_index` (1 = January 2026) of about `objects` objects with every sheet filled, written to
    `folder` beside a copy of the sample's evidence files (see the module docstring)."""
    year, month = month_of(month_index)
    month_name, stamp = calendar.month_name[month], f"{year}-{month:02d}"
    prefix = f"year-{month_index:02d}"
    rows, project = _base_rows()
    shared_objects = len(rows["sources"]) + len(_SHARED_DATAPOINTS) + 3 + MANUAL_SHARES + 1  # + the statement
    per_copy = _objects_per_copy(rows)
    copies = max(MANUAL_SHARES, round((objects - shared_objects) / per_copy))
    out: dict[str, list[dict[str, Any]]] = {}
    for sheet in _SHARED:
        out[sheet] = [dict(r) for r in rows.get(sheet, [])]
        for r in out[sheet]:
            for column in _TEXT:
                if isinstance(r.get(column), str):
                    r[column] = r[column].replace("October", month_name).replace("2026-10", stamp)
    for k in range(copies):
        suffix = f"-{k:03d}"

        for sheet, columns in _COPIED.items():
            for row in rows.get(sheet, []):
                new = copied(row, columns, suffix)
                _texts(new, k, month_name, stamp)
                if sheet == "storage_locations":  # a field of its own, a few hundred metres from the sample's
                    new["latitude"] = round(float(row["latitude"]) + 0.003 * k, 6)
                    new["longitude"] = round(float(row["longitude"]) + 0.01 * month_index, 6)
                out.setdefault(sheet, []).append(new)
        if k % LOCATION_EVERY == 0:  # a sampling point in the copy's first field, and a soil sample taken there
            field = next(r for r in out["storage_locations"] if r["ref"].endswith(suffix))
            point = f"point{suffix}"
            out.setdefault("measurement_locations", []).append(
                {"ref": point, "latitude": field["latitude"], "longitude": round(field["longitude"] + 0.0005, 6)}
            )
            out["samples"].append(
                {
                    "ref": f"soil{suffix}",
                    "measurement_type": "biochar_soil",
                    "measured_at": dt.datetime(YEAR, 10, 25),
                    "measurement_location": point,
                }
            )
            out["sample_values"].append(
                {
                    "ref": f"soil-soc{suffix}",
                    "sample": f"soil{suffix}",
                    "quantity_kind": "mass_fraction",
                    "qualifier": "soil_organic_carbon",
                    "magnitude": 0.021,
                }
            )
    _add_shared(out, month_index)
    for sheet_rows in out.values():
        for row in sheet_rows:
            for column, value in row.items():
                row[column] = shifted(value, year, month)
    project = {k: shifted(v, year, month) for k, v in project.items()}
    project["statement_end_on"] = dt.date(year, month, _last_day(year, month))
    path = write_scaled(folder / f"{stamp}.xlsx", out, project, prefix)
    expected = _expected(out)
    objects_held = sum(n for kind, n in expected.items() if kind != "sample_values")
    return Month(path=path, prefix=prefix, period=stamp, copies=copies, objects=objects_held, expected=expected)


def _add_shared(out: dict[str, list[dict[str, Any]]], month_index: int) -> None:
    """The month's shared emissions (tests/test_shared_components.py's `_shared`, over the month): two project
    components, MANUAL (shared by the first copies' batch entries) and CUSTOM_TIME_PERIOD, and a statement
    component; dates in the sample's October, shifted with the rest."""
    for ref, magnitude, unit in _SHARED_DATAPOINTS:
        out["datapoints"].append(
            {
                "ref": ref,
                "display_name": f"{ref} (month {month_index})",
                "description": f"{ref}: shared emissions of the month",
                "type": "REPORTED",
                "magnitude": magnitude,
                "unit": unit,
                "source_refs": "logistics-log",
            }
        )
    month = (dt.datetime(YEAR, 10, 1), dt.datetime(YEAR, 10, 31))

    def component(ref: str, blueprint: str, name: str, **extra: Any) -> dict[str, Any]:
        return {
            "ref": ref,
            "action": "add",
            "blueprint_key": blueprint,
            "display_name": f"{name} (month {month_index})",
            "activity_started_at": month[0],
            "activity_completed_at": month[1],
            **extra,
        }

    diesel = "diesel-ef-000"  # the first copy's published factor
    out["components"] += [
        component(
            "kiln-embodied",
            "fuel-combustion",
            "Kiln construction diesel",
            scope="project",
            allocation_strategy="MANUAL",
        ),
        component(
            "plant-construction",
            "fuel-combustion",
            "Plant construction diesel",
            scope="project",
            allocation_strategy="CUSTOM_TIME_PERIOD",
        ),
        component("office-electricity", "grid-electricity", "Office electricity", scope="statement"),
    ]
    out["component_inputs"] += [
        {"component_ref": "kiln-embodied", "input_key": "fuel_volume", "datapoint_refs": "kiln-build-l"},
        {"component_ref": "kiln-embodied", "input_key": "fuel_emission_factor", "datapoint_refs": diesel},
        {"component_ref": "plant-construction", "input_key": "fuel_volume", "datapoint_refs": "plant-build-l"},
        {"component_ref": "plant-construction", "input_key": "fuel_emission_factor", "datapoint_refs": diesel},
        {
            "component_ref": "office-electricity",
            "input_key": "electricity_used",
            "datapoint_refs": "office-kwh-1, office-kwh-2",
        },
        {
            "component_ref": "office-electricity",
            "input_key": "grid_emission_factor",
            "datapoint_refs": "office-grid-ef",
        },
    ]
    batches = [e["ref"] for e in out["entries"] if e["template"] == "Monthly production batch"]
    out["project_component_attributions"] = [
        {"component": "kiln-embodied", "entry": entry, "attribution_factor": 1 / MANUAL_SHARES}
        for entry in batches[:MANUAL_SHARES]
    ]


def _expected(out: dict[str, list[dict[str, Any]]]) -> dict[str, int]:
    """What the server must hold of this month, counted from the rows written (see the module docstring)."""
    from importer.identity import COMPONENT_SHEETS

    expected = {
        sheet: len(out.get(sheet, []))
        for sheet in (
            "sources",
            "datapoints",
            "entries",
            "storage_locations",
            "production_batches",
            "biochar_applications",
            "measurement_locations",
            "samples",
        )
    }
    for scope, segment in COMPONENT_SHEETS.items():
        expected[segment] = sum(
            1 for c in out["components"] if (c.get("scope") or "entry") == scope and c.get("action", "add") == "add"
        )
    expected["sample_values"] = len(out.get("sample_values", []))
    expected["component_attributions"] = expected["components"]  # each extra component attributed to its entry
    expected["project_component_attributions"] = len(out.get("project_component_attributions", []))
    expected["ghg_statements"] = 1
    return expected
