"""Build the sample workbooks and their evidence files (run from the repository root):

    .venv/bin/python sample_workbooks/build_samples.py

`biochar-2026-10.xlsx`: a realistic October import for the local sandbox's seed project
(prj_1SBXBIOCHAR00001): four evidence documents, fifteen datapoints, an existing feedstock type (named as the Certify UI
shows it: the API cannot create one), a production batch
and a field application, every monitored input bound, one extra component (a site generator, half of it
attributed to the batch), a statement ending 2026-10-31, not submitted. It validates clean.
`biochar-2026-10-broken.xlsx`: the same with the mistakes field teams make, to show what errors look like.
"""

from __future__ import annotations

import datetime as dt
import struct
import sys
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from importer.workbook.writer import write_workbook  # noqa: E402

D = dt.date


def _pdf(title: str, lines: list[str]) -> bytes:
    """A minimal, valid one-page PDF with a few lines of text."""
    text = "BT /F1 12 Tf 56 780 Td 16 TL " + " ".join(f"({t}) '" for t in [title, *lines]) + " ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(text) + text.encode() + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _png(width: int = 24, height: int = 16) -> bytes:
    """A small real PNG (a grey receipt-shaped rectangle)."""
    raw = b"".join(b"\x00" + bytes([200, 200, 190]) * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def evidence() -> None:
    folder = HERE / "evidence"
    folder.mkdir(exist_ok=True)
    (folder / "weighbridge-2026-10.pdf").write_bytes(
        _pdf(
            "Weighbridge tickets October 2026",
            [
                "Ticket 10-001  2026-10-03  forestry residues in  18.40 t",
                "Ticket 10-002  2026-10-09  biochar out 4.21 t",
                "Ticket 10-003  2026-10-18  biochar delivered  4.10 t",
            ],
        )
    )
    (folder / "electricity-meter-2026-10.csv").write_text(
        "meter,period_start,period_end,kwh\nPYRO-A,2026-10-01,2026-10-05,1210.5\n"
        "PYRO-A,2026-10-06,2026-10-10,1185.0\nPYRO-A,2026-10-11,2026-10-15,1302.25\n",
        encoding="utf-8",
    )
    (folder / "lab-certificate-B2610.txt").write_text(
        "Accredited laboratory certificate B-2610\nSample: biochar batch 2026-10-A\n"
        "Organic carbon (Corg, dry basis): 78.4 %\nH/Corg molar ratio: 0.31\nMethod: DIN 51732\n",
        encoding="utf-8",
    )
    (folder / "fuel-receipt-2026-10.png").write_bytes(_png())
    (folder / "logistics-log-2026-10.pdf").write_bytes(
        _pdf(
            "Logistics log October 2026",
            [
                "Feedstock haul: sawmill to plant 46 km",
                "Delivery: plant to field Norrby 3 - 28 km",
                "Spreader diesel 2026-10-20: 64 L",
                "Site generator diesel October: 120 L",
            ],
        )
    )


def sheets() -> tuple[dict[str, list[dict[str, object]]], dict[str, object]]:
    src = [
        {
            "ref": "weighbridge",
            "display_name": "Weighbridge tickets October 2026",
            "file": "evidence/weighbridge-2026-10.pdf",
            "published_at": D(2026, 10, 31),
            "description": "Scanned weighbridge tickets of feedstock and biochar",
        },
        {
            "ref": "meter-readings",
            "display_name": "Pyrolysis electricity meter readings",
            "file": "evidence/electricity-meter-2026-10.csv",
            "published_at": D(2026, 10, 31),
            "description": "Export of the plant's electricity sub-meter",
        },
        {
            "ref": "lab-certificate",
            "display_name": "Lab certificate B-2610 (organic carbon)",
            "file": "evidence/lab-certificate-B2610.txt",
            "published_at": D(2026, 10, 20),
            "description": "Accredited lab analysis of the October biochar",
        },
        {
            "ref": "fuel-receipt",
            "display_name": "Diesel receipt October 2026",
            "file": "evidence/fuel-receipt-2026-10.png",
            "published_at": D(2026, 10, 21),
            "description": "Photo of the fuel station receipt",
        },
        {
            "ref": "logistics-log",
            "display_name": "Logistics log October 2026",
            "file": "evidence/logistics-log-2026-10.pdf",
            "published_at": D(2026, 10, 31),
            "description": "Distances driven and fuel used",
        },
    ]

    def dp(ref, name, desc, magnitude, unit, sources, *, kind="REPORTED", sd=None, measured=D(2026, 10, 15), why=None):
        return {
            "ref": ref,
            "display_name": name,
            "description": desc,
            "type": kind,
            "magnitude": magnitude,
            "unit": unit,
            "standard_deviation": sd,
            "measured_at": measured,
            "source_refs": sources,
            "uncertainty_justification": why,
        }

    dps = [
        dp(
            "feedstock-haul-km",
            "Feedstock haul distance",
            "Sawmill to plant, one way, per load",
            46,
            "km",
            "logistics-log",
            measured=D(2026, 10, 3),
        ),
        dp(
            "feedstock-delivered-t",
            "Feedstock delivered (wet)",
            "Forestry residues received at the plant",
            18.4,
            "t",
            "weighbridge",
            sd=0.2,
            measured=D(2026, 10, 3),
            why="Weighbridge accuracy +/- 1%",
        ),
        dp(
            "kwh-period-1",
            "Pyrolysis electricity 1-5 Oct",
            "Sub-meter PYRO-A",
            1210.5,
            "kWh",
            "meter-readings",
            measured=D(2026, 10, 5),
        ),
        dp(
            "kwh-period-2",
            "Pyrolysis electricity 6-10 Oct",
            "Sub-meter PYRO-A",
            1185.0,
            "kWh",
            "meter-readings",
            measured=D(2026, 10, 10),
        ),
        dp(
            "kwh-period-3",
            "Pyrolysis electricity 11-15 Oct",
            "Sub-meter PYRO-A",
            1302.25,
            "kWh",
            "meter-readings",
            measured=D(2026, 10, 15),
        ),
        dp(
            "feedstock-dry-t",
            "Feedstock pyrolysed (dry)",
            "Dry mass of feedstock fed to the reactor",
            14.9,
            "t",
            "weighbridge",
            sd=0.3,
            why="Moisture measured on 5 samples",
        ),
        dp(
            "biochar-mass-t",
            "Biochar produced (dry)",
            "Dry mass of biochar from batch 2026-10-A",
            4.21,
            "t",
            "weighbridge",
            sd=0.05,
            measured=D(2026, 10, 9),
        ),
        dp(
            "organic-carbon",
            "Biochar organic carbon",
            "Corg, dry basis, lab certificate B-2610",
            78.4,
            "%",
            "lab-certificate",
            sd=1.2,
            measured=D(2026, 10, 20),
            why="Lab reported expanded uncertainty",
        ),
        dp(
            "delivery-km",
            "Delivery distance to field",
            "Plant to field Norrby 3",
            28,
            "km",
            "logistics-log",
            measured=D(2026, 10, 18),
        ),
        dp(
            "delivered-biochar-t",
            "Biochar delivered",
            "Weighbridge ticket 10-003",
            4.1,
            "t",
            "weighbridge",
            measured=D(2026, 10, 18),
        ),
        dp(
            "spreader-diesel-l",
            "Spreader diesel",
            "Diesel used by the spreader",
            64,
            "L",
            "fuel-receipt, logistics-log",
            measured=D(2026, 10, 20),
        ),
        dp(
            "generator-diesel-l",
            "Site generator diesel",
            "Generator run during the October campaign",
            120,
            "L",
            "logistics-log",
            measured=D(2026, 10, 31),
        ),
        dp(
            "diesel-ef",
            "Diesel emission factor (well-to-wheel)",
            "Published factor for road diesel",
            2.68,
            "kgCO2e/L",
            "logistics-log",
            kind="STANDARD_PUBLISHED_VALUE",
            measured=None,
        ),
    ]
    feedstock = [{"ref": "sawmill-offcuts", "name": "Sawmill offcuts"}]
    entries = [
        {
            "ref": "batch-2026-10-a",
            "template": "Monthly production batch",
            "started_on": D(2026, 10, 1),
            "completed_on": D(2026, 10, 15),
            "feedstock_type": "sawmill-offcuts",
        },
        {
            "ref": "application-2026-10",
            "template": "Field application",
            "started_on": D(2026, 10, 16),
            "completed_on": D(2026, 10, 31),
        },
    ]

    def bind(entry, component, key, refs, unit, shape):
        return {
            "entry_ref": entry,
            "template_component": component,
            "input_key": key,
            "datapoint_refs": refs,
            "expected_unit": unit,
            "shape": shape,
        }

    inputs = [
        bind("batch-2026-10-a", "Feedstock road transport", "distance", "feedstock-haul-km", "km", "scalar"),
        bind("batch-2026-10-a", "Feedstock road transport", "mass", "feedstock-delivered-t", "t", "scalar"),
        bind(
            "batch-2026-10-a",
            "Pyrolysis electricity",
            "electricity_used",
            "kwh-period-1, kwh-period-2, kwh-period-3",
            "kWh",
            "list",
        ),
        bind("batch-2026-10-a", "Biomass decay counterfactual", "feedstock_mass", "feedstock-dry-t", "t", "scalar"),
        bind("batch-2026-10-a", "Biochar sequestration", "biochar_mass", "biochar-mass-t", "t", "scalar"),
        bind(
            "batch-2026-10-a",
            "Biochar sequestration",
            "organic_carbon_fraction",
            "organic-carbon",
            "dimensionless",
            "scalar",
        ),
        bind("application-2026-10", "Biochar delivery transport", "distance", "delivery-km", "km", "scalar"),
        bind("application-2026-10", "Biochar delivery transport", "mass", "delivered-biochar-t", "t", "scalar"),
        bind("application-2026-10", "Spreader fuel", "fuel_volume", "spreader-diesel-l", "L", "scalar"),
    ]
    components = [
        {
            "ref": "site-generator-2026-10",
            "entry_ref": "batch-2026-10-a",
            "action": "add",
            "blueprint_key": "fuel-combustion",
            "display_name": "Site generator diesel",
            "description": "Diesel generator powering the drying line in October",
            "activity_started_at": D(2026, 10, 1),
            "activity_completed_at": D(2026, 10, 31),
            "group": "energy-use",
            "attribution_factor": 0.5,
        }
    ]
    component_inputs = [
        {"component_ref": "site-generator-2026-10", "input_key": "fuel_volume", "datapoint_refs": "generator-diesel-l"},
        {"component_ref": "site-generator-2026-10", "input_key": "fuel_emission_factor", "datapoint_refs": "diesel-ef"},
    ]
    # the chain of custody: where the biochar went, from which batch (storage locations are registered once and
    # reused; a later month cites them by slc_ ID)
    storage_locations = [
        {
            "ref": "north-field",
            "name": "North field",
            "latitude": 59.8586,
            "longitude": 17.6389,
            "storage_method": "biochar_field",
            "description": "Arable field north of the plant, limed 2025",
        },
        {
            "ref": "river-meadow",
            "name": "River meadow",
            "latitude": 59.8412,
            "longitude": 17.6027,
            "storage_method": "biochar_field",
            "description": None,
        },
    ]
    production_batches = [
        {
            "ref": "kiln-2026-10-a",
            "display_name": "Kiln 1, 1-14 October",
            "facility_id": None,  # the project sheet's
            "feedstock_types": "sawmill-offcuts",
            "started_at": dt.datetime(2026, 10, 1, 6, 0),
            "ended_at": dt.datetime(2026, 10, 14, 18, 0),
            "mass": 4.21,
            "unit": "t",
            "standard_deviation": 0.05,
        }
    ]
    applications = [
        {
            "ref": "spread-2026-10-18-north",
            "production_batch": "kiln-2026-10-a",
            "storage_location": "north-field",
            "application_date": D(2026, 10, 18),
            "application_rate": 10,
            "application_rate_unit": "t/ha",
            "truck_mass_on_arrival": 18.4,
            "truck_mass_on_departure": 15.9,
            "truck_mass_unit": "t",
            "source_refs": "weighbridge",
            "entry": "application-2026-10",
        },
        {
            "ref": "spread-2026-10-19-meadow",
            "production_batch": "kiln-2026-10-a",
            "storage_location": "river-meadow",
            "application_date": D(2026, 10, 19),
            "application_rate": 8,
            "application_rate_unit": "t/ha",
            "truck_mass_on_arrival": 16.1,
            "truck_mass_on_departure": 14.5,
            "truck_mass_unit": "t",
            "source_refs": "weighbridge",
            "entry": "application-2026-10",
        },
    ]
    project = {
        "project_id": "prj_1SBXBIOCHAR00001",
        "statement_end_on": D(2026, 10, 31),
        "submit_statement": False,
        "ghg_statement_report_url": None,
        "supplier_reference_prefix": "demo-2026-10",
        "facility_id": "fcl_1SBXKILNFACILITY1",  # the sandbox's seeded facility
    }
    return (
        {
            "sources": src,
            "datapoints": dps,
            "feedstock_types": feedstock,
            "entries": entries,
            "entry_inputs": inputs,
            "components": components,
            "component_inputs": component_inputs,
            "storage_locations": storage_locations,
            "production_batches": production_batches,
            "biochar_applications": applications,
        },
        project,
    )


def broken(data: dict[str, list[dict[str, object]]]) -> dict[str, list[dict[str, object]]]:
    data = {k: [dict(r) for r in v] for k, v in data.items()}
    data["datapoints"][1]["unit"] = "tonnes metric"  # unknown unit
    data["datapoints"][2]["source_refs"] = "meter-reading"  # typo: did you mean meter-readings?
    data["datapoints"][6]["magnitude"] = "4,21"  # comma as decimal mark
    data["entries"][1]["completed_on"] = D(2026, 10, 10)  # before started_on
    data["sources"][3]["file"] = "evidence/fuel-receipt-2026-11.png"  # missing file
    data["datapoints"][9]["ref"] = "delivery-km"  # duplicate ref
    data["datapoints"][10]["type"] = "MEASURED"  # not an allowed type
    return data


def main() -> None:
    evidence()
    data, project = sheets()
    write_workbook(HERE / "biochar-2026-10.xlsx", data, project=project)
    write_workbook(HERE / "biochar-2026-10-broken.xlsx", broken(data), project=project)
    print("wrote", HERE / "biochar-2026-10.xlsx", "and", HERE / "biochar-2026-10-broken.xlsx")


if __name__ == "__main__":
    main()
