"""The sandbox's own unit registry (pint), independent of the importer's: the sandbox decides for itself which
unit strings it understands and how they convert, so a disagreement between client and sandbox shows up as a
refusal instead of being hidden by shared code.

Carbon accounting units pint lacks (CO2-equivalent mass and its tonne spellings) are defined here; a unit of
`None` or "" is a dimensionless quantity, rendered as "dimensionless" (the document's `ScalarQuantity.unit` is a
required string of at least one character, so a response can never carry a null or empty unit).
"""

from __future__ import annotations

from functools import lru_cache

import pint

DIMENSIONLESS = "dimensionless"

_registry: pint.UnitRegistry = pint.UnitRegistry(autoconvert_offset_to_baseunit=True)  # type: ignore[type-arg]
for _line in (
    "carbon_dioxide_equivalent_kilogram = [co2e_mass] = kgCO2e = kg_CO2e = kgCO2eq",
    "gCO2e = 1e-3 * kgCO2e = g_CO2e",
    "tCO2e = 1000 * kgCO2e = t_CO2e = tonneCO2e = tCO2eq",
    "MtCO2e = 1e9 * kgCO2e",
    "kgCO2 = kgCO2e",
    "tCO2 = tCO2e",
):
    _registry.define(_line)
try:
    _registry.Unit("percent")
except pint.UndefinedUnitError:  # pragma: no cover - older pint
    _registry.define("percent = 0.01 = %")

_SPELLINGS = {
    "%": "percent",
    "m3": "meter**3",
    "m³": "meter**3",
    "l": "liter",
    "L": "liter",
    "tonnes": "tonne",
    "": DIMENSIONLESS,
    "1": DIMENSIONLESS,
    DIMENSIONLESS: DIMENSIONLESS,
}


class UnitError(ValueError):
    """An unknown unit string, or two units that do not convert into each other."""


def canonical(unit: str | None) -> str:
    """The unit a response shows: the given spelling, or "dimensionless" for none."""
    return unit if unit and unit.strip() else DIMENSIONLESS


@lru_cache(maxsize=1024)
def parse(text: str) -> pint.Unit:
    text = text.strip()
    text = _SPELLINGS.get(text, text.replace("m3", "meter**3").replace("m³", "meter**3").replace("%", "percent"))
    try:
        return _registry.parse_units(text)
    except Exception as exc:  # pint raises many kinds (UndefinedUnitError, syntax errors, AttributeError...)
        raise UnitError(f"unknown unit {text!r}") from exc


@lru_cache(maxsize=1024)
def factor(from_unit: str, to_unit: str) -> float:
    """Multiplier taking a magnitude in `from_unit` to `to_unit`."""
    try:
        return float(_registry.Quantity(1.0, parse(from_unit)).to(parse(to_unit)).magnitude)
    except pint.DimensionalityError as exc:
        raise UnitError(f"{from_unit!r} cannot be converted to {to_unit!r}") from exc


#: quantity kinds (the document's QuantityKindType) the sandbox can tell by dimension: kind -> a unit of it
KIND_UNITS = {
    "mass": "kg",
    "mass_carbon": "kg",
    "distance": "km",
    "depth": "m",
    "height": "m",
    "diameter": "m",
    "elevation": "m",
    "particle_diameter": "m",
    "area": "m**2",
    "volume": "L",
    "energy": "kWh",
    "power": "kW",
    "time": "s",
    "temperature": "K",
    "pressure": "Pa",
    "partial_pressure": "Pa",
    "voltage": "V",
    "electric_current": "A",
    "amount_of_substance": "mol",
    "dimensionless": DIMENSIONLESS,
    "dimensionless_ratio": DIMENSIONLESS,
    "mass_fraction": DIMENSIONLESS,
    "mass_ratio": DIMENSIONLESS,
    "volume_fraction": DIMENSIONLESS,
    "mole_fraction": DIMENSIONLESS,
    "count": DIMENSIONLESS,
    "mass_distance": "t*km",
    "mass_density": "kg/m**3",
    "bulk_density": "kg/m**3",
    "mass_flow_rate": "kg/s",
    "volume_flow_rate": "m**3/s",
    "energy_density": "J/m**3",
    "mass_energy_density": "J/kg",
    "mass_per_area": "kg/m**2",
    "specific_surface_area": "m**2/kg",
    "specific_volume": "m**3/kg",
    "molar_mass": "kg/mol",
    "mass_carbon_emission_factor": "kgCO2e/kg",
    "mass_distance_carbon_emission_factor": "kgCO2e/t/km",
    "energy_carbon_emission_factor": "kgCO2e/kWh",
    "volume_carbon_emission_factor": "kgCO2e/L",
    "distance_carbon_emission_factor": "kgCO2e/km",
    "area_carbon_emission_factor": "kgCO2e/m**2",
    "time_emission_factor": "kgCO2e/s",
}
