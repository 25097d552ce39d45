"""Request builders shared by the sandbox tests: datapoints, and GHG entries of the seed's production template
with every monitored input bound (read from the template itself)."""

from __future__ import annotations

from typing import Any

import httpx

PROJECT = "prj_1SBXBIOCHAR00001"
PRODUCTION = "rvt_1SBXPRODBATCH001"
#: input key -> (magnitude, unit), or a list of them for the list input
VALUES: dict[str, Any] = {
    "distance": (50, "km"),
    "mass": (2000, "kg"),
    "electricity_used": [(100, "kWh"), (0.2, "MWh")],
    "feedstock_mass": (10, "t"),
    "biochar_mass": (3, "t"),
    "organic_carbon_fraction": (80, "%"),
}


def ui_feedstock_type(api: httpx.Client, name: str, srid: str | None = None) -> dict[str, Any]:
    """A feedstock type made as the Certify UI would (the API has no POST /feedstock_types): through the
    sandbox's own admin path, beside the API on the same origin."""
    url = api.base_url.copy_with(path="/_sandbox/feedstock_types")
    response = api.post(url, json={"name": name, **({"supplier_reference_id": srid} if srid else {})})
    assert response.status_code == 201, response.text
    return response.json()


def datapoint(
    api: httpx.Client,
    srid: str,
    magnitude: float = 1.0,
    unit: str = "t",
    project: str = PROJECT,
    sources: tuple[str, ...] | list[str] = (),
) -> dict[str, Any]:
    response = api.post(
        "/datapoints",
        json={
            "supplier_reference_id": srid,
            "display_name": srid,
            "type": "REPORTED",
            "description": "d",
            "quantity": {"magnitude": magnitude, "unit": unit, "standard_deviation": 0.1},
            "source_ids": list(sources),
            "project_id": project,
        },
    )
    assert response.status_code == 200, response.text
    return response.json()


def production_entry_body(
    api: httpx.Client,
    srid: str,
    values: dict[str, Any] | None = None,
    *,
    started: str = "2026-10-01",
    completed: str = "2026-10-15",
    dp_prefix: str | None = None,
) -> dict[str, Any]:
    """A CreateGhgEntryRequest body: one new datapoint per monitored value, bound as the template asks."""
    ids: dict[str, list[str]] = {}
    for key, value in (values or VALUES).items():
        items = value if isinstance(value, list) else [value]
        ids[key] = [datapoint(api, f"{dp_prefix or srid}-{key}-{n}", m, u)["id"] for n, (m, u) in enumerate(items)]
    template = api.get(f"/projects/{PROJECT}/ghg_entry_templates/{PRODUCTION}").json()
    components = []
    for group in template["groups"]:
        for comp in group["components"]:
            inputs = []
            for item in comp["inputs"]:
                if item["type"] != "monitored":
                    continue
                key = item["input_key"]
                if key == "electricity_used":
                    inputs.append(
                        {"__typename": "CreateComponentListInput", "input_key": key, "datapoint_ids": ids[key]}
                    )
                else:
                    inputs.append(
                        {"__typename": "CreateComponentScalarInput", "input_key": key, "datapoint_id": ids[key][0]}
                    )
            components.append({"ghg_entry_template_component_id": comp["id"], "inputs": inputs})
    return {
        "supplier_reference_id": srid,
        "project_id": PROJECT,
        "started_on": started,
        "completed_on": completed,
        "ghg_entry_template_id": PRODUCTION,
        "ghg_entry_template_components": components,
    }
