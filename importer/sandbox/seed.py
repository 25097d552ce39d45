"""The sandbox's seed: a realistic biochar project with fixed IDs, which the sample workbooks are written
against. Two GHG entry templates ("Monthly production batch", "Field application") whose groups hold
feedstock transport, electricity, fuel, counterfactual and sequestration components; fixed inputs carry
locked library datapoints; five component blueprints; two feedstock types (as if made in the Certify UI).

A second project (enhanced weathering) has its own template ("Basalt spreading": a sequestration component with
monitored rock mass and weathered fraction, and a grinding-energy component with a monitored list input), its own
two blueprints and its own fixed datapoints, so tests can cover two projects and cross-project refusals."""

from __future__ import annotations

from typing import Any

PROJECT_ID = "prj_1SBXBIOCHAR00001"
OTHER_PROJECT_ID = "prj_1SBXOTHERPROJ001"
TEMPLATE_PRODUCTION = "rvt_1SBXPRODBATCH001"
TEMPLATE_APPLICATION = "rvt_1SBXFIELDAPPL001"
TEMPLATE_WEATHERING = "rvt_1SBXWEATHERING01"
FEEDSTOCK_TYPE_ID = "ftt_1SBXFORESTRES001"
SAWMILL_OFFCUTS_ID = "ftt_1SBXSAWMILLOFF01"
#: the demo organisation's pyrolysis plant (facilities are made in the Certify UI; no endpoint lists them)
FACILITY_ID = "fcl_1SBXKILNFACILITY1"

PROJECTS = [
    {
        "id": PROJECT_ID,
        "name": "Demo Biochar Project",
        "country_code": "SWE",
        "process_key": "biochar",
        "description": "Local sandbox project: slow pyrolysis of forestry residues, biochar applied to fields.",
        "short_description": "Demo biochar (local sandbox)",
        "risk_of_reversal": "low",
    },
    {
        "id": OTHER_PROJECT_ID,
        "name": "Other Project",
        "country_code": "NOR",
        "process_key": "biochar",
        "description": "A second project, to check cross-project references.",
        "short_description": None,
        "risk_of_reversal": None,
    },
]


def _input(key: str, shape: str, unit: str, kind: str, description: str) -> dict[str, Any]:
    return {
        "input_key": key,
        "data_shape": shape,
        "compatible_unit": unit,
        "quantity_kind": kind,
        "description": description,
    }


BLUEPRINTS: list[dict[str, Any]] = [
    {
        "key": "road-transport",
        "display_name": "Road transport",
        "type": "ACTIVITY",
        "description": "Emissions of moving a mass over a distance by road.",
        "inputs": [
            _input("distance", "SCALAR", "km", "distance", "Distance driven"),
            _input("mass", "SCALAR", "t", "mass", "Mass transported"),
            _input(
                "emission_factor",
                "SCALAR",
                "kgCO2e/t/km",
                "mass_distance_carbon_emission_factor",
                "Emission factor per tonne-kilometre",
            ),
        ],
        "expression": "distance * mass * emission_factor",
    },
    {
        "key": "grid-electricity",
        "display_name": "Grid electricity",
        "type": "ACTIVITY",
        "description": "Emissions of electricity drawn from the grid.",
        "inputs": [
            _input("electricity_used", "LIST", "kWh", "energy", "Metered electricity"),
            _input(
                "grid_emission_factor", "SCALAR", "kgCO2e/kWh", "energy_carbon_emission_factor", "Grid emission factor"
            ),
        ],
        "expression": "sum(electricity_used) * grid_emission_factor",
    },
    {
        "key": "fuel-combustion",
        "display_name": "Fuel combustion",
        "type": "ACTIVITY",
        "description": "Emissions of burning liquid fuel.",
        "inputs": [
            _input("fuel_volume", "SCALAR", "L", "volume", "Fuel burnt"),
            _input(
                "fuel_emission_factor", "SCALAR", "kgCO2e/L", "volume_carbon_emission_factor", "Fuel emission factor"
            ),
        ],
        "expression": "fuel_volume * fuel_emission_factor",
    },
    {
        "key": "biomass-decay-counterfactual",
        "display_name": "Biomass decay counterfactual",
        "type": "COUNTERFACTUAL",
        "description": "Carbon the feedstock would have stored anyway.",
        "inputs": [
            _input("feedstock_mass", "SCALAR", "t", "mass", "Feedstock mass"),
            _input("carbon_fraction", "SCALAR", "dimensionless", "mass_fraction", "Carbon fraction"),
            _input("decay_fraction", "SCALAR", "dimensionless", "dimensionless_ratio", "Fraction not decayed"),
        ],
        "expression": "feedstock_mass * 1000 * carbon_fraction * decay_fraction * 44 / 12",
    },
    {
        "key": "biochar-sequestration",
        "display_name": "Biochar sequestration",
        "type": "SEQUESTRATION",
        "description": "Durable carbon in biochar.",
        "inputs": [
            _input("biochar_mass", "SCALAR", "t", "mass", "Dry biochar mass"),
            _input("organic_carbon_fraction", "SCALAR", "dimensionless", "mass_fraction", "Organic carbon"),
            _input("permanence_factor", "SCALAR", "dimensionless", "dimensionless_ratio", "Permanence"),
        ],
        "expression": "biochar_mass * 1000 * organic_carbon_fraction * permanence_factor * 44 / 12",
    },
    {
        "key": "biochar-sequestration-replicates",
        "display_name": "Biochar sequestration (lab replicates)",
        "type": "SEQUESTRATION",
        "description": "Durable carbon in biochar, from the mean of the lab's replicate organic-carbon results.",
        "inputs": [
            _input("biochar_mass", "SCALAR", "t", "mass", "Dry biochar mass"),
            _input("organic_carbon_fraction", "LIST", "dimensionless", "mass_fraction", "Organic carbon replicates"),
            _input("permanence_factor", "SCALAR", "dimensionless", "dimensionless_ratio", "Permanence"),
        ],
        "expression": "biochar_mass * 1000 * mean(organic_carbon_fraction) * permanence_factor * 44 / 12",
    },
]

# the second project's blueprints
BLUEPRINTS += [
    {
        "key": "basalt-weathering",
        "display_name": "Basalt weathering",
        "type": "SEQUESTRATION",
        "description": "CO2 drawn down by crushed basalt weathering in soil.",
        "inputs": [
            _input("rock_mass", "SCALAR", "t", "mass", "Rock spread"),
            _input("cdr_potential", "SCALAR", "kgCO2e/t", "mass_cdr_potential", "CDR potential of the rock"),
            _input(
                "weathered_fraction",
                "SCALAR",
                "dimensionless",
                "dimensionless_ratio",
                "Fraction weathered in the period",
            ),
        ],
        "expression": "rock_mass * cdr_potential * weathered_fraction",
    },
    {
        "key": "rock-grinding",
        "display_name": "Rock grinding",
        "type": "ACTIVITY",
        "description": "Emissions of the electricity used to grind rock.",
        "inputs": [
            _input("grinding_energy", "LIST", "kWh", "energy", "Metered grinding electricity"),
            _input(
                "grinding_emission_factor",
                "SCALAR",
                "kgCO2e/kWh",
                "energy_carbon_emission_factor",
                "Grid emission factor",
            ),
        ],
        "expression": "sum(grinding_energy) * grinding_emission_factor",
    },
]

# fixed (library) datapoints the templates carry: id, name, magnitude, unit (first project)
FIXED_DATAPOINTS = [
    ("dtp_1SBXFIXEDROADEF01", "Road freight emission factor", 0.107, "kgCO2e/t/km"),
    ("dtp_1SBXFIXEDGRIDEF01", "Swedish grid emission factor", 0.045, "kgCO2e/kWh"),
    ("dtp_1SBXFIXEDCARBON01", "Feedstock carbon fraction", 0.5, "dimensionless"),
    ("dtp_1SBXFIXEDDECAY001", "Counterfactual decay fraction", 0.1, "dimensionless"),
    ("dtp_1SBXFIXEDPERMAN01", "Biochar permanence factor", 0.8, "dimensionless"),
    ("dtp_1SBXFIXEDDIESEL01", "Diesel emission factor", 2.68, "kgCO2e/L"),
]


# the second project's fixed datapoints
OTHER_FIXED_DATAPOINTS = [
    ("dtp_1SBXOTHERCDRPOT1", "Basalt CDR potential", 300.0, "kgCO2e/t"),
    ("dtp_1SBXOTHERGRIDEF1", "Norwegian grid emission factor", 0.019, "kgCO2e/kWh"),
]


def _monitored(key: str, name: str, kind: str) -> dict[str, Any]:
    return {"input_key": key, "display_name": name, "type": "monitored", "datapoint_id": None, "quantity_kind": kind}


def _fixed(key: str, name: str, kind: str, datapoint_id: str) -> dict[str, Any]:
    return {
        "input_key": key,
        "display_name": name,
        "type": "fixed",
        "datapoint_id": datapoint_id,
        "quantity_kind": kind,
    }


def _component(cid: str, name: str, blueprint: str, inputs: list[dict[str, Any]]) -> dict[str, Any]:
    return {"id": cid, "display_name": name, "description": None, "blueprint_key": blueprint, "inputs": inputs}


ROAD = _fixed("emission_factor", "Emission factor", "mass_distance_carbon_emission_factor", "dtp_1SBXFIXEDROADEF01")
TEMPLATES: list[dict[str, Any]] = [
    {
        "id": TEMPLATE_PRODUCTION,
        "display_name": "Monthly production batch",
        "project_id": PROJECT_ID,
        "supplier_reference_id": "seed-template-production",
        "credit_type": "REMOVAL",
        "groups": [
            {
                "id": "rtg_1SBXGROUPFEEDTR01",
                "key": "feedstock-transport",
                "display_name": "Feedstock transport",
                "description": "Moving feedstock to the plant",
                "components": [
                    _component(
                        "rtc_1SBXCOMPFEEDTR01",
                        "Feedstock road transport",
                        "road-transport",
                        [_monitored("distance", "Distance", "distance"), _monitored("mass", "Mass", "mass"), ROAD],
                    )
                ],
            },
            {
                "id": "rtg_1SBXGROUPENERGY01",
                "key": "energy-use",
                "display_name": "Energy use",
                "description": "Energy used by the plant",
                "components": [
                    _component(
                        "rtc_1SBXCOMPELECTR01",
                        "Pyrolysis electricity",
                        "grid-electricity",
                        [
                            _monitored("electricity_used", "Electricity used", "energy"),
                            _fixed(
                                "grid_emission_factor",
                                "Grid emission factor",
                                "energy_carbon_emission_factor",
                                "dtp_1SBXFIXEDGRIDEF01",
                            ),
                        ],
                    )
                ],
            },
            {
                "id": "rtg_1SBXGROUPCOUNTF01",
                "key": "counterfactual",
                "display_name": "Counterfactual",
                "description": "What would have happened anyway",
                "components": [
                    _component(
                        "rtc_1SBXCOMPCOUNTF01",
                        "Biomass decay counterfactual",
                        "biomass-decay-counterfactual",
                        [
                            _monitored("feedstock_mass", "Feedstock mass", "mass"),
                            _fixed("carbon_fraction", "Carbon fraction", "mass_fraction", "dtp_1SBXFIXEDCARBON01"),
                            _fixed("decay_fraction", "Decay fraction", "dimensionless_ratio", "dtp_1SBXFIXEDDECAY001"),
                        ],
                    )
                ],
            },
            {
                "id": "rtg_1SBXGROUPSEQUES01",
                "key": "sequestration",
                "display_name": "Sequestration",
                "description": "Carbon stored in biochar",
                "components": [
                    _component(
                        "rtc_1SBXCOMPSEQUES01",
                        "Biochar sequestration",
                        "biochar-sequestration",
                        [
                            _monitored("biochar_mass", "Biochar mass", "mass"),
                            _monitored("organic_carbon_fraction", "Organic carbon fraction", "mass_fraction"),
                            _fixed(
                                "permanence_factor", "Permanence factor", "dimensionless_ratio", "dtp_1SBXFIXEDPERMAN01"
                            ),
                        ],
                    )
                ],
            },
        ],
    },
    {
        "id": TEMPLATE_APPLICATION,
        "display_name": "Field application",
        "project_id": PROJECT_ID,
        "supplier_reference_id": "seed-template-application",
        "credit_type": "REMOVAL",
        "groups": [
            {
                "id": "rtg_1SBXGROUPAPPLTR01",
                "key": "application-transport",
                "display_name": "Application transport",
                "description": "Delivering biochar to the field",
                "components": [
                    _component(
                        "rtc_1SBXCOMPDELIVR01",
                        "Biochar delivery transport",
                        "road-transport",
                        [_monitored("distance", "Distance", "distance"), _monitored("mass", "Mass", "mass"), ROAD],
                    )
                ],
            },
            {
                "id": "rtg_1SBXGROUPAPENER01",
                "key": "energy-use",
                "display_name": "Energy use",
                "description": "Fuel used to spread biochar",
                "components": [
                    _component(
                        "rtc_1SBXCOMPSPREAD01",
                        "Spreader fuel",
                        "fuel-combustion",
                        [
                            _monitored("fuel_volume", "Fuel volume", "volume"),
                            _fixed(
                                "fuel_emission_factor",
                                "Fuel emission factor",
                                "volume_carbon_emission_factor",
                                "dtp_1SBXFIXEDDIESEL01",
                            ),
                        ],
                    )
                ],
            },
        ],
    },
]

TEMPLATES.append(
    {
        "id": TEMPLATE_WEATHERING,
        "display_name": "Basalt spreading",
        "project_id": OTHER_PROJECT_ID,
        "supplier_reference_id": "seed-template-weathering",
        "credit_type": "REMOVAL",
        "groups": [
            {
                "id": "rtg_1SBXGROUPROCKAP1",
                "key": "rock-application",
                "display_name": "Rock application",
                "description": "Crushed basalt spread on fields",
                "components": [
                    _component(
                        "rtc_1SBXCOMPBASALT01",
                        "Basalt weathering",
                        "basalt-weathering",
                        [
                            _monitored("rock_mass", "Rock mass", "mass"),
                            _fixed("cdr_potential", "CDR potential", "mass_cdr_potential", "dtp_1SBXOTHERCDRPOT1"),
                            _monitored("weathered_fraction", "Weathered fraction", "dimensionless_ratio"),
                        ],
                    )
                ],
            },
            {
                "id": "rtg_1SBXGROUPGRIND01",
                "key": "energy-use",
                "display_name": "Energy use",
                "description": "Electricity used to grind the rock",
                "components": [
                    _component(
                        "rtc_1SBXCOMPGRIND001",
                        "Rock grinding",
                        "rock-grinding",
                        [
                            _monitored("grinding_energy", "Grinding energy", "energy"),
                            _fixed(
                                "grinding_emission_factor",
                                "Grid emission factor",
                                "energy_carbon_emission_factor",
                                "dtp_1SBXOTHERGRIDEF1",
                            ),
                        ],
                    )
                ],
            },
        ],
    }
)

#: feedstock types exist before any import (the API cannot create them: the Certify UI does); the sample
#: workbooks name "Sawmill offcuts"; `isometric-import sandbox --feedstock-type NAME` or
#: `POST /_sandbox/feedstock_types` adds more
FEEDSTOCK_TYPES: list[dict[str, Any]] = [
    {"id": FEEDSTOCK_TYPE_ID, "supplier_reference_id": "seed-forestry-residues", "name": "Forestry residues"},
    {"id": SAWMILL_OFFCUTS_ID, "supplier_reference_id": None, "name": "Sawmill offcuts"},
]

#: facilities exist before any import (no endpoint creates or lists them); production batches name one
FACILITIES: list[dict[str, Any]] = [{"id": FACILITY_ID, "name": "Demo pyrolysis plant"}]
