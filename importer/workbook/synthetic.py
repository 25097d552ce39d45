"""Realistic synthetic workbooks for benchmarks and fault tests, written against the sandbox's seed project.

A workbook of N datapoints holds N/8 production-batch entries; each entry binds the 6 monitored inputs of
"Monthly production batch" (distance, mass, three electricity meter readings as a list, feedstock mass,
biochar mass, organic carbon fraction) to 8 datapoints of its own; one evidence file per 100 datapoints.
Values vary deterministically with the row so re-generating gives the same bytes-for-bytes content.

With `chain=True` it carries the chain of custody too: five storage locations (under the workbook's prefix: a batch
of workbooks may not share a supplier reference, and a generated workbook cannot know an earlier month's slc_ IDs),
and per entry one production batch of its biochar (the seeded facility, Sawmill offcuts) and one application of it
on a field, named for the entry.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from importer.workbook.writer import write_workbook

PROJECT_ID = "prj_1SBXBIOCHAR00001"
TEMPLATE = "Monthly production batch"
# (template component, input key, datapoint stem, unit, base value); electricity has three readings
_INPUTS = (
    ("Feedstock road transport", "distance", ("distance",), "km", 42.0),
    ("Feedstock road transport", "mass", ("feedstock-delivered",), "t", 18.0),
    ("Pyrolysis electricity", "electricity_used", ("meter-a", "meter-b", "meter-c"), "kWh", 950.0),
    ("Biomass decay counterfactual", "feedstock_mass", ("feedstock-mass",), "t", 17.5),
    ("Biochar sequestration", "biochar_mass", ("biochar-mass",), "t", 4.2),
    ("Biochar sequestration", "organic_carbon_fraction", ("organic-carbon",), "%", 78.0),
)
DATAPOINTS_PER_ENTRY = sum(len(stems) for _, _, stems, _, _ in _INPUTS)  # 8
CHAIN_OBJECTS_PER_ENTRY = 2  # with `chain`: a production batch and an application
FIELDS = 5  # with `chain`: storage locations
FACILITY_ID = "fcl_1SBXKILNFACILITY1"  # the sandbox's seeded facility
FEEDSTOCK_TYPE_ID = "ftt_1SBXSAWMILLOFF01"  # the seeded "Sawmill offcuts"


def make_workbook(
    folder: Path,
    datapoints: int,
    *,
    prefix: str = "synthetic",
    statement_end_on: str | None = None,
    sources: int | None = None,
    month: dt.date = dt.date(2026, 10, 1),
    name: str | None = None,
    entries_too: bool = True,
    chain: bool = False,
) -> Path:
    """Write `<folder>/synthetic-<n>.xlsx` and its evidence files; returns the workbook path."""
    folder.mkdir(parents=True, exist_ok=True)
    evidence = folder / "evidence"
    evidence.mkdir(exist_ok=True)
    entries = max(1, datapoints // DATAPOINTS_PER_ENTRY)
    n_sources = sources if sources is not None else max(1, datapoints // 100)
    source_rows = []
    for i in range(n_sources):
        log_name = f"meter-log-{i:05d}.csv"
        (evidence / log_name).write_text(f"reading_id,value\n{i},{1000 + i}\n", encoding="utf-8")
        source_rows.append(
            {
                "ref": f"src-{i:05d}",
                "display_name": f"Meter log {i}",
                "file": f"evidence/{log_name}",
                "published_at": dt.date(2026, 10, 31),
                "description": "Synthetic meter log",
                "is_public": False,
            }
        )
    dp_rows: list[dict[str, object]] = []
    entry_rows: list[dict[str, object]] = []
    input_rows: list[dict[str, object]] = []
    start = month
    for e in range(entries):
        entry_ref = f"batch-{e:06d}"
        day = start + dt.timedelta(days=e % 27)  # completes by the 28th: inside any month
        entry_rows.append(
            {"ref": entry_ref, "template": TEMPLATE, "started_on": day, "completed_on": day + dt.timedelta(days=1)}
        )
        for component, input_key, stems, unit, base in _INPUTS:
            refs = []
            for stem in stems:
                ref = f"{entry_ref}-{stem}"
                n = len(dp_rows)
                dp_rows.append(
                    {
                        "ref": ref,
                        "display_name": f"{stem} {entry_ref}"[:100],
                        "description": f"Synthetic {stem} of {entry_ref}",
                        "type": "REPORTED",
                        "magnitude": round(base * (1 + ((n * 7919) % 200 - 100) / 1000), 4),
                        "unit": unit,
                        "standard_deviation": round(base * 0.01, 4),
                        "measured_at": day,
                        "source_refs": f"src-{n % n_sources:05d}",
                    }
                )
                refs.append(ref)
            input_rows.append(
                {
                    "entry_ref": entry_ref,
                    "template_component": component,
                    "input_key": input_key,
                    "datapoint_refs": ", ".join(refs),
                }
            )
    sheets: dict[str, list[dict[str, object]]] = {
        "sources": source_rows,
        "datapoints": dp_rows,
        "entries": entry_rows,
        "entry_inputs": input_rows,
    }
    if chain:
        sheets.update(_chain(entry_rows, dp_rows, n_sources))
    project = {"project_id": PROJECT_ID, "supplier_reference_prefix": prefix, "submit_statement": False}
    if chain:
        project["facility_id"] = FACILITY_ID
    if statement_end_on:
        project["statement_end_on"] = dt.date.fromisoformat(statement_end_on)
    path = folder / (name or f"synthetic-{datapoints}.xlsx")
    if not entries_too:  # datapoints nothing uses: a warning on every row
        sheets["entries"], sheets["entry_inputs"] = [], []
    return write_workbook(path, sheets, project=project)


def _chain(
    entry_rows: list[dict[str, object]], dp_rows: list[dict[str, object]], n_sources: int
) -> dict[str, list[dict[str, object]]]:
    """The chain-of-custody sheets: the fields, and per entry a batch of its biochar (its biochar-mass datapoint's
    figure) spread whole on one field the day after production ended (net mass = the batch's mass)."""
    biochar = {
        ref: mass
        for d in dp_rows
        if isinstance(ref := d["ref"], str)
        and ref.endswith("-biochar-mass")
        and isinstance(mass := d["magnitude"], float)
    }
    locations = [
        {
            "ref": f"field-{k}",
            "name": f"Field {k}",
            "latitude": round(59.80 + k * 0.013, 5),
            "longitude": round(17.60 + k * 0.021, 5),
            "storage_method": "biochar_field",
        }
        for k in range(FIELDS)
    ]
    batches, applications = [], []
    for i, entry in enumerate(entry_rows):
        day = entry["started_on"]
        if not isinstance(day, dt.date):  # every entry row made above starts on a date
            raise TypeError(f"entry {entry['ref']} starts on {day!r}, not a date")
        start = dt.datetime.combine(day, dt.time(6, 0))
        mass = biochar[f"{entry['ref']}-biochar-mass"]
        batches.append(
            {
                "ref": f"{entry['ref']}-kiln",
                "feedstock_types": FEEDSTOCK_TYPE_ID,
                "started_at": start,
                "ended_at": start + dt.timedelta(hours=20),
                "mass": mass,
                "unit": "t",
            }
        )
        applications.append(
            {
                "ref": f"{entry['ref']}-spread",
                "production_batch": f"{entry['ref']}-kiln",
                "storage_location": f"field-{i % FIELDS}",
                "application_date": day + dt.timedelta(days=1),
                "application_rate": 10,
                "application_rate_unit": "t/ha",
                "truck_mass_on_arrival": round(mass + 12.0, 4),
                "truck_mass_on_departure": 12.0,
                "truck_mass_unit": "t",
                "source_refs": f"src-{i % n_sources:05d}",
                "entry": entry["ref"],
            }
        )
    return {"storage_locations": locations, "production_batches": batches, "biochar_applications": applications}


def object_count(datapoints: int, sources: int | None = None, *, chain: bool = False) -> int:
    """Objects a synthetic workbook of `datapoints` rows creates (sources + datapoints + entries, and with `chain`
    the fields, batches and applications)."""
    entries = max(1, datapoints // DATAPOINTS_PER_ENTRY)
    n_sources = sources if sources is not None else max(1, datapoints // 100)
    extra = FIELDS + entries * CHAIN_OBJECTS_PER_ENTRY if chain else 0
    return n_sources + entries * DATAPOINTS_PER_ENTRY + entries + extra
