"""One pint registry for the whole importer: the workbook validator, the sandbox's unit checks and its CO2e
arithmetic all parse units here, so "kgCO2e/kWh" means the same thing everywhere.

pint knows SI and common units; what it lacks for carbon accounting (CO2-equivalent mass, tonne spellings,
percent) is defined once below. Parsing is cached per distinct unit string: a 100k-row sheet has a handful
of distinct units, so each is parsed once.
"""

from __future__ import annotations

from functools import lru_cache

import pint

_DEFINITIONS = """
carbon_dioxide_equivalent_kilogram = [co2e_mass] = kgCO2e = kg_CO2e = kgCO2eq
gCO2e = 1e-3 * kgCO2e = g_CO2e
tCO2e = 1000 * kgCO2e = t_CO2e = tonneCO2e = tCO2eq
MtCO2e = 1e9 * kgCO2e
kgCO2 = kgCO2e
tCO2 = tCO2e
""".strip().splitlines()

def _registry() -> pint.UnitRegistry:
    """pint's parsed-definitions cache (the user cache folder) makes start-up ~10x faster after the first run;
    where that folder is not writable, build the registry from scratch."""
    try:
        return pint.UnitRegistry(autoconvert_offset_to_baseunit=True, cache_folder=":auto:")
    except (OSError, ValueError, ImportError):  # pragma: no cover - depends on the machine
        return pint.UnitRegistry(autoconvert_offset_to_baseunit=True)


registry = _registry()
for _line in _DEFINITIONS:
    registry.define(_line)
# pint has `tonne` and `t` (metric ton) already; `percent` exists in recent pint, define it otherwise.
try:
    registry.Unit("percent")
except pint.UndefinedUnitError:  # pragma: no cover - depends on pint version
    registry.define("percent = 0.01 = %")

_ALIASES = {
    "%": "percent",
    "m3": "meter**3",
    "m³": "meter**3",
    "l": "liter",
    "L": "liter",
    "tonnes": "tonne",
    "tonne": "tonne",
    "dimensionless": "dimensionless",
    "": "dimensionless",
    "1": "dimensionless",
}


class UnitError(ValueError):
    """A unit string pint cannot parse, or two units that cannot be converted into each other."""


def _normalise(text: str) -> str:
    text = text.strip()
    if text in _ALIASES:
        return _ALIASES[text]
    # kgCO2e/t/km style and "m3" powers inside compound units
    return text.replace("m3", "meter**3").replace("m³", "meter**3").replace("%", "percent")


@lru_cache(maxsize=4096)
def parse_unit(text: str) -> pint.Unit:
    """Parse a unit string (`"kg"`, `"kgCO2e/kWh"`, `"%"`, `"m3"`), raising UnitError when unknown."""
    try:
        parsed = registry.parse_units(_normalise(text))
    except (pint.UndefinedUnitError, pint.DefinitionSyntaxError, AttributeError, TypeError,
            ValueError, SyntaxError, AssertionError, KeyError) as exc:
        raise UnitError(f"unknown unit {text!r}") from exc
    return parsed


def is_known_unit(text: str) -> bool:
    try:
        parse_unit(text)
    except UnitError:
        return False
    return True


@lru_cache(maxsize=4096)
def conversion_factor(from_unit: str, to_unit: str) -> float:
    """Multiplier taking a magnitude in `from_unit` to `to_unit`; UnitError when dimensions differ."""
    try:
        return float(registry.Quantity(1.0, parse_unit(from_unit)).to(parse_unit(to_unit)).magnitude)
    except pint.DimensionalityError as exc:
        raise UnitError(f"{from_unit!r} cannot be converted to {to_unit!r}") from exc


def is_convertible(from_unit: str, to_unit: str) -> bool:
    try:
        conversion_factor(from_unit, to_unit)
    except UnitError:
        return False
    return True
