"""Realistic synthetic workbooks for benchmarks and fault tests, written against the sandbox's seed project.

A workbook of N datapoints holds N/8 production-batch entries; each entry binds the 6 monitored inputs of
"Monthly production batch" (distance, mass, three electricity meter readings as a list, feedstock mass,
biochar mass, organic carbon fraction) to 8 datapoints of its own; one evidence file per 100 datapoints.
Values vary deterministically with the row so re-generating gives the same bytes-for-bytes content.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

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
    dp_rows: list[dict[str, Any]] = []
    entry_rows: list[dict[str, Any]] = []
    input_rows: list[dict[str, Any]] = []
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
    project = {"project_id": PROJECT_ID, "supplier_reference_prefix": prefix, "submit_statement": False}
    if statement_end_on:
        project["statement_end_on"] = dt.date.fromisoformat(statement_end_on)
    path = folder / (name or f"synthetic-{datapoints}.xlsx")
    if not entries_too:  # datapoints nothing uses: a warning on every row
        entry_rows, input_rows = [], []
    return write_workbook(
        path,
        {"sources": source_rows, "datapoints": dp_rows, "entries": entry_rows, "entry_inputs": input_rows},
        project=project,
    )


def object_count(datapoints: int, sources: int | None = None) -> int:
    """Objects a synthetic workbook of `datapoints` rows creates (sources + datapoints + entries)."""
    entries = max(1, datapoints // DATAPOINTS_PER_ENTRY)
    n_sources = sources if sources is not None else max(1, datapoints // 100)
    return n_sources + entries * DATAPOINTS_PER_ENTRY + entries
