"""Small stand-ins for API objects (templates, blueprints, registry objects) for unit tests of the planner and
the online checks; shaped like importer.api.models, attribute for attribute."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import SimpleNamespace as NS

from importer.context import ProjectContext
from importer.workbook.model import (
    ComponentInputRow,
    ComponentRow,
    DatapointRow,
    EntryInputRow,
    EntryRow,
    ProjectSettings,
    SourceRow,
    Workbook,
)

PROJECT = "prj_1SBXBIOCHAR00001"


def blueprint(key: str, inputs: list[tuple[str, str, str]]) -> NS:
    return NS(
        key=key,
        display_name=key,
        inputs=[
            NS(input_key=k, data_shape=shape, compatible_unit=unit, quantity_kind="mass") for k, shape, unit in inputs
        ],
    )


BLUEPRINTS = {
    "road-transport": blueprint(
        "road-transport",
        [("distance", "SCALAR", "km"), ("mass", "SCALAR", "t"), ("emission_factor", "SCALAR", "kgCO2e/t/km")],
    ),
    "grid-electricity": blueprint(
        "grid-electricity", [("electricity_used", "LIST", "kWh"), ("grid_emission_factor", "SCALAR", "kgCO2e/kWh")]
    ),
    "fuel-combustion": blueprint(
        "fuel-combustion", [("fuel_volume", "SCALAR", "L"), ("fuel_emission_factor", "SCALAR", "kgCO2e/L")]
    ),
}


def _input(key: str, kind: str, dp: str | None = None) -> NS:
    return NS(input_key=key, display_name=key, type=kind, datapoint_id=dp, quantity_kind="mass")


TEMPLATE = NS(
    id="rvt_1SBXPRODBATCH001",
    display_name="Monthly production batch",
    project_id=PROJECT,
    groups=[
        NS(
            id="rtg_1SBXG00000000001",
            key="feedstock-transport",
            display_name="Feedstock transport",
            components=[
                NS(
                    id="rtc_1SBXC00000000001",
                    display_name="Feedstock road transport",
                    blueprint_key="road-transport",
                    inputs=[
                        _input("distance", "monitored"),
                        _input("mass", "monitored"),
                        _input("emission_factor", "fixed", "dtp_1SBXFIXED0000001"),
                    ],
                )
            ],
        ),
        NS(
            id="rtg_1SBXG00000000002",
            key="energy-use",
            display_name="Energy use",
            components=[
                NS(
                    id="rtc_1SBXC00000000002",
                    display_name="Pyrolysis electricity",
                    blueprint_key="grid-electricity",
                    inputs=[
                        _input("electricity_used", "monitored"),
                        _input("grid_emission_factor", "fixed", "dtp_1SBXFIXED0000002"),
                    ],
                )
            ],
        ),
    ],
)


def context() -> ProjectContext:
    return ProjectContext(project_id=PROJECT, templates=[TEMPLATE], blueprints=BLUEPRINTS)


def workbook(tmp: Path) -> Workbook:
    evidence = tmp / "ticket.txt"
    evidence.write_text("weighbridge ticket\n")
    import hashlib

    sha = hashlib.sha256(evidence.read_bytes()).hexdigest()
    columns = {
        "entries": {"ref": 1, "template": 2, "started_on": 3, "completed_on": 4, "feedstock_type": 5},
        "entry_inputs": {"entry_ref": 1, "template_component": 2, "input_key": 3, "datapoint_refs": 4},
        "components": {"ref": 1, "entry_ref": 2, "action": 3, "blueprint_key": 4, "group": 9},
        "component_inputs": {"component_ref": 1, "input_key": 2, "datapoint_refs": 3},
        "datapoints": {"ref": 1, "magnitude": 5, "unit": 6},
    }

    def dp(row: int, ref: str, magnitude: float, unit: str) -> DatapointRow:
        return DatapointRow(
            row=row,
            ref=ref,
            display_name=ref,
            description=f"{ref} measured",
            type="REPORTED",
            magnitude=magnitude,
            unit=unit,
            standard_deviation=None,
            measured_at=None,
            source_refs=("ticket",),
            uncertainty_justification=None,
            supplier_reference_id=None,
        )

    return Workbook(
        path=tmp / "wb.xlsx",
        sha256="0" * 64,
        project=ProjectSettings(
            project_id=PROJECT, statement_end_on=dt.date(2026, 10, 31), supplier_reference_prefix="t"
        ),
        sources=[
            SourceRow(
                row=2,
                ref="ticket",
                display_name="Ticket",
                file=evidence,
                file_name="ticket.txt",
                published_at=dt.date(2026, 10, 31),
                description=None,
                is_public=False,
                supplier_reference_id=None,
                content_type="text/plain",
                content_length=evidence.stat().st_size,
                sha256=sha,
            )
        ],
        datapoints=[
            dp(2, "distance", 42.0, "km"),
            dp(3, "mass", 18.0, "t"),
            dp(4, "kwh-a", 900.0, "kWh"),
            dp(5, "kwh-b", 950.0, "kWh"),
            dp(6, "diesel", 120.0, "L"),
            dp(7, "diesel-ef", 2.68, "kgCO2e/L"),
        ],
        entries=[
            EntryRow(
                row=2,
                ref="batch-1",
                template="Monthly production batch",
                started_on=dt.date(2026, 10, 1),
                completed_on=dt.date(2026, 10, 15),
                feedstock_type=None,
                supplier_reference_id=None,
            )
        ],
        entry_inputs=[
            EntryInputRow(
                row=2,
                entry_ref="batch-1",
                template_component="Feedstock road transport",
                input_key="distance",
                datapoint_refs=("distance",),
            ),
            EntryInputRow(
                row=3,
                entry_ref="batch-1",
                template_component="road-transport",
                input_key="mass",
                datapoint_refs=("mass",),
            ),
            EntryInputRow(
                row=4,
                entry_ref="batch-1",
                template_component="rtc_1SBXC00000000002",
                input_key="electricity_used",
                datapoint_refs=("kwh-a", "kwh-b"),
            ),
        ],
        components=[
            ComponentRow(
                row=2,
                ref="generator",
                entry_ref="batch-1",
                action="add",
                blueprint_key="fuel-combustion",
                display_name="Generator",
                description=None,
                activity_started_at=dt.datetime(2026, 10, 1, tzinfo=dt.UTC),
                activity_completed_at=dt.datetime(2026, 10, 31, tzinfo=dt.UTC),
                group="energy-use",
                attribution_factor=0.5,
                template_component=None,
                supplier_reference_id=None,
            )
        ],
        component_inputs=[
            ComponentInputRow(row=2, component_ref="generator", input_key="fuel_volume", datapoint_refs=("diesel",)),
            ComponentInputRow(
                row=3, component_ref="generator", input_key="fuel_emission_factor", datapoint_refs=("diesel-ef",)
            ),
        ],
        columns=columns,
    )
