"""The importer's one unit vocabulary: which spellings a workbook may use, the one canonical spelling sent to
the API for each, and the spellings refused because people and libraries read them differently.

Why a vocabulary and not "whatever pint parses": pint reads `mt` as millitonne where a field team means a
metric ton, `kt` as a knot, `T` as a tesla and `ton` as a short ton; each parses cleanly and lands a number
a thousand (or 0.907) times off. So a unit is accepted only when every factor of it is a spelling listed
here; ambiguous spellings are refused at the unit cell with a suggestion, and accepted spellings are
rewritten to their canonical form (`tonnes -> t`), which the plan shows.

pint still does the arithmetic (conversion factors, dimension checks); carbon-accounting units it lacks
(CO2-equivalent masses) are defined once below. Parsing is cached per distinct unit string: a 100k-row sheet
has a handful of distinct units.

pint's registry is built on first use, not on import: loading pint and its definitions costs about 0.3 s, and
offline validation of a workbook whose units are all plain listed spellings (`kg`, `kWh`, `%`) never needs it.
The vocabulary is closed, so what pint makes of an accepted spelling is known in advance: tests parse, with
pint, every listed spelling, every product and quotient of two, and every power form, so accepting a unit needs
no pint at all.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pint

_DEFINITIONS = """
carbon_dioxide_equivalent_kilogram = [co2e_mass] = kgCO2e = kg_CO2e = kgCO2eq
gCO2e = 1e-3 * kgCO2e = g_CO2e
tCO2e = 1000 * kgCO2e = t_CO2e = tonneCO2e = tCO2eq
MtCO2e = 1e9 * kgCO2e
kgCO2 = kgCO2e
tCO2 = tCO2e
MMBtu = 1e6 * Btu
""".strip().splitlines()

DIMENSIONLESS = "dimensionless"
PERCENT = "%"

#: canonical spelling -> the spellings (besides itself) accepted for it. Word spellings also match in any
#: letter case ("Tonnes", "LITRES"); symbols match exactly (mg is not Mg).
CANONICAL: dict[str, tuple[str, ...]] = {
    # mass
    "mg": ("milligram", "milligrams", "milligramme", "milligrammes"),
    "g": ("gram", "grams", "gramme", "grammes", "gr"),
    "kg": ("kgs", "KG", "Kg", "kilogram", "kilograms", "kilogramme", "kilogrammes", "kilo", "kilos"),
    "t": ("tonne", "tonnes", "metric ton", "metric tons", "metric tonne", "metric tonnes", "tonnes (metric)"),
    "kilotonne": ("kilotonnes",),
    "short_ton": ("short ton", "short tons", "US ton", "US tons"),
    "lb": ("lbs", "pound", "pounds"),
    # CO2-equivalent mass
    "gCO2e": ("g CO2e", "gCO2eq", "g CO2eq", "g CO2-e", "gCO2-e"),
    "kgCO2e": ("kg CO2e", "kgCO2eq", "kg CO2eq", "kg CO2-e", "kgCO2-e", "kg_CO2e"),
    "tCO2e": (
        "t CO2e",
        "tCO2eq",
        "t CO2eq",
        "t CO2-e",
        "tCO2-e",
        "tonneCO2e",
        "tonnes CO2e",
        "tonne CO2e",
        "tonnes CO2eq",
    ),
    "MtCO2e": (),
    "kgCO2": ("kg CO2",),
    "tCO2": ("t CO2", "tonnes CO2", "tonne CO2"),
    # energy and power
    "J": ("joule", "joules"),
    "kJ": ("kilojoule", "kilojoules"),
    "MJ": ("megajoule", "megajoules"),
    "GJ": ("gigajoule", "gigajoules"),
    "TJ": ("terajoule", "terajoules"),
    "Wh": ("watt hour", "watt hours", "watt-hour", "watt-hours"),
    "kWh": ("kwh", "KWH", "KWh", "kW h", "kW·h", "kilowatt hour", "kilowatt hours", "kilowatt-hour", "kilowatt-hours"),
    "MWh": ("MWH", "megawatt hour", "megawatt hours", "megawatt-hour", "megawatt-hours"),
    "GWh": ("GWH", "gigawatt hour", "gigawatt hours", "gigawatt-hour", "gigawatt-hours"),
    "kcal": ("kilocalorie", "kilocalories"),
    "MMBtu": ("MMBTU", "mmbtu"),
    "W": ("watt", "watts"),
    "kW": ("kilowatt", "kilowatts"),
    "MW": ("megawatt", "megawatts"),
    # volume
    "mL": ("ml", "millilitre", "millilitres", "milliliter", "milliliters"),
    "L": ("l", "ltr", "litre", "litres", "liter", "liters"),
    "m3": ("m³", "m^3", "m**3", "cubic metre", "cubic metres", "cubic meter", "cubic meters", "cbm"),
    "cm3": ("cm³", "cm^3", "cc"),
    # length and area
    "mm": ("millimetre", "millimetres", "millimeter", "millimeters"),
    "cm": ("centimetre", "centimetres", "centimeter", "centimeters"),
    "m": ("metre", "metres", "meter", "meters"),
    "km": ("KM", "Km", "kilometre", "kilometres", "kilometer", "kilometers"),
    "mi": ("mile", "miles"),
    "m2": ("m²", "m^2", "m**2", "square metre", "square metres", "square meter", "square meters", "sqm"),
    "km2": ("km²", "km^2", "square kilometre", "square kilometres"),
    "ha": ("hectare", "hectares"),
    # time
    "s": ("sec", "second", "seconds"),
    "min": ("minute", "minutes"),
    "h": ("hr", "hrs", "hour", "hours"),
    "day": ("days", "d"),
    "week": ("weeks",),
    "year": ("years", "yr", "yrs"),
    # temperature, pressure
    "degC": ("°C", "℃", "deg C", "celsius", "Celsius"),
    "K": ("kelvin",),
    "bar": ("bars",),
    "kPa": ("kilopascal", "kilopascals"),
    "Pa": ("pascal", "pascals"),
    # ratios
    PERCENT: ("percent", "per cent", "Percent"),
    DIMENSIONLESS: ("1", "-", "fraction", "ratio", "unitless", "none", "Dimensionless"),
}

#: spellings refused as ambiguous: spelling -> what it could mean and what to write instead
AMBIGUOUS: dict[str, str] = {
    "mt": "is a millitonne to unit libraries but a metric ton to most people; write t (tonnes) or kg",
    "MT": "is read as a metric ton or as a megatonne; write t (tonnes), or kilotonne / MtCO2e if you mean more",
    "Mt": "is a megatonne to unit libraries but often a metric ton; write t (tonnes), or 1000000 t",
    "MTs": "is read as metric tons or megatonnes; write t (tonnes)",
    "ton": "is a short ton (907 kg) in the US, a long ton (1016 kg) in the UK, a tonne elsewhere; write t for "
    "tonnes or short_ton",
    "tons": "is short tons (907 kg) in the US, long tons (1016 kg) in the UK, tonnes elsewhere; write t for "
    "tonnes or short_ton",
    "kt": "is a knot (a speed) to unit libraries and a kilotonne to people; write kilotonne, or the value in t",
    "KT": "is a knot or a kilotonne; write kilotonne, or the value in t",
    "T": "is a tesla to unit libraries and a tonne to some people; write t (tonnes)",
    "pct": "is not a unit every tool knows (pint reads it as something else); write %",
    "gal": "is a US gallon (3.785 L) or an imperial gallon (4.546 L); write L",
    "gallon": "is a US gallon (3.785 L) or an imperial gallon (4.546 L); write L",
    "gallons": "is US gallons (3.785 L) or imperial gallons (4.546 L); write L",
    "bbl": "is an oil barrel (159 L) or another barrel; write L or m3",
    "cal": "is a small calorie or a food Calorie (1000 cal); write kcal or kJ",
    "Cal": "is a food Calorie (kcal) or a small calorie; write kcal or kJ",
    "mwh": "is a milliwatt-hour or a megawatt-hour; write MWh",
    "Mwh": "is a milliwatt-hour or a megawatt-hour; write MWh",
    "M": "is mega, molar or a thousand (MMBtu); write the unit in full",
}
_AMBIGUOUS_ANY_CASE = {"ton", "tons", "pct", "gal", "gallon", "gallons", "bbl"}


def _build_lookup() -> tuple[dict[str, str], dict[str, str]]:
    exact: dict[str, str] = {}
    folded: dict[str, str] = {}
    for canonical, spellings in CANONICAL.items():
        for spelling in (canonical, *spellings):
            exact[spelling] = canonical
            if len(spelling) > 3 and spelling.replace(" ", "").replace("-", "").isalpha():
                folded[spelling.lower()] = canonical
    return exact, folded


_EXACT, _FOLDED = _build_lookup()


class UnitError(ValueError):
    """A unit string that is unknown, ambiguous, or not convertible to another unit."""

    def __init__(self, message: str, *, code: str = "bad_unit", suggestion: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.suggestion = suggestion


@dataclass(frozen=True)
class CanonicalUnit:
    written: str  # as in the workbook (stripped)
    canonical: str  # as sent to the API

    @property
    def rewritten(self) -> bool:
        return self.written != self.canonical


def _atom(text: str) -> str:
    """Canonical spelling of one factor (`tonnes`, `m³`, `km^2`); UnitError when ambiguous or unknown."""
    word = text.strip()
    if word in AMBIGUOUS or word.lower() in _AMBIGUOUS_ANY_CASE:
        reason = AMBIGUOUS.get(word) or AMBIGUOUS[word.lower()]
        raise UnitError(f"unit {word!r} is ambiguous: it {reason}", code="ambiguous_unit")
    found = _EXACT.get(word) or _FOLDED.get(word.lower())
    if found is not None:
        return found
    squashed = word.replace(" ", "")
    if squashed != word and squashed in _EXACT:
        return _EXACT[squashed]
    power = re.fullmatch(r"(.+?)(?:\^|\*\*)?(-?[23])", word)
    if power and power[1] in _EXACT:
        base = _EXACT[power[1]]
        if f"{base}{power[2]}" in CANONICAL:
            return f"{base}{power[2]}"
        # an inverse power of a unit pint knows by our spelling (`s^-2`); squares and cubes are listed (m2, km2,
        # m3, cm3) and others refused, as pint cannot read `kg2`
        if power[2][0] == "-" and base not in _PINT_NAMES and base not in (PERCENT, DIMENSIONLESS):
            return f"{base}^{power[2]}"
    raise UnitError(f"unknown unit {word!r}")


@lru_cache(maxsize=4096)
def canonical_unit(text: str) -> CanonicalUnit:
    """The canonical spelling of a workbook unit, factor by factor (`kg CO2e / tonne / km` ->
    `kgCO2e/t/km`). Raises UnitError (code `ambiguous_unit` or `bad_unit`) with a sentence saying why."""
    written = " ".join(str(text).split())
    if not written:
        raise UnitError("the unit is empty; write dimensionless for a pure number")
    whole = _EXACT.get(written) or _FOLDED.get(written.lower())
    if whole is None and (written in AMBIGUOUS or written.lower() in _AMBIGUOUS_ANY_CASE):
        _atom(written)  # raises the ambiguity
    if whole is not None:
        canonical = whole
    else:
        parts = re.split(r"\s*([/*·⋅])\s*", written)
        out = []
        for index, part in enumerate(parts):
            if index % 2:
                out.append("/" if part == "/" else "*")
                continue
            if not part:
                raise UnitError(f"unit {written!r} has an empty factor")
            atom = _atom(part)
            if atom in (PERCENT, DIMENSIONLESS) and len(parts) > 1:
                raise UnitError(
                    f"unit {written!r} combines {part!r} with other units; write a plain %, or dimensionless"
                )
            out.append(atom)
        canonical = "".join(out)
    return CanonicalUnit(written, canonical)  # one pint reads: tests parse every listed spelling and composition


_BUILDING = threading.Lock()


def registry() -> pint.UnitRegistry:  # type: ignore[type-arg]
    """The importer's pint registry, built on first use: pint's own units plus the CO2-equivalent masses.
    One per process, also when threads ask at once (pint refuses to mix units of two registries)."""
    with _BUILDING:
        return _built_registry()


@cache
def _built_registry() -> pint.UnitRegistry:  # type: ignore[type-arg]
    """pint's parsed-definitions cache (the user cache folder) makes building it ~10x faster after the first run;
    where that folder is not writable, it is built from scratch."""
    import pint

    try:
        built: pint.UnitRegistry = pint.UnitRegistry(  # type: ignore[type-arg]
            autoconvert_offset_to_baseunit=True, cache_folder=":auto:"
        )
    except (OSError, ValueError, ImportError):  # pragma: no cover - depends on the machine
        built = pint.UnitRegistry(autoconvert_offset_to_baseunit=True)
    for line in _DEFINITIONS:
        built.define(line)
    # pint has `tonne` and `t` (metric ton) already; `percent` exists in recent pint, define it otherwise.
    try:
        built.Unit("percent")
    except pint.UndefinedUnitError:  # pragma: no cover - depends on pint version
        built.define("percent = 0.01 = %")
    return built


#: canonical spellings pint spells differently
_PINT_NAMES = {
    PERCENT: "percent",
    DIMENSIONLESS: "dimensionless",
    "L": "liter",
    "mL": "milliliter",
    "m3": "meter**3",
    "cm3": "centimeter**3",
    "m2": "meter**2",
    "km2": "kilometer**2",
    "short_ton": "short_ton",
    "kilotonne": "kilotonne",
    "1": "dimensionless",
}


def _pint_text(canonical: str) -> str:
    if canonical in _PINT_NAMES:
        return _PINT_NAMES[canonical]
    parts = re.split(r"([/*])", canonical)
    return "".join(_PINT_NAMES.get(p, p) if i % 2 == 0 else p for i, p in enumerate(parts))


@lru_cache(maxsize=4096)
def parse_unit(text: str) -> pint.Unit:
    """The pint unit of a canonical spelling (`"kg"`, `"kgCO2e/kWh"`, `"%"`, `"m3"`); UnitError when unknown."""
    import pint

    try:
        parsed = registry().parse_units(_pint_text(text.strip()))
    except (
        pint.UndefinedUnitError,
        pint.DefinitionSyntaxError,
        AttributeError,
        TypeError,
        ValueError,
        SyntaxError,
        AssertionError,
        KeyError,
    ) as exc:
        raise UnitError(f"unknown unit {text!r}") from exc
    return parsed


def is_known_unit(text: str) -> bool:
    try:
        canonical_unit(text)
    except UnitError:
        return False
    return True


@lru_cache(maxsize=4096)
def conversion_factor(from_unit: str, to_unit: str) -> float:
    """Multiplier taking a magnitude in `from_unit` to `to_unit` (canonical spellings, or blueprint units);
    UnitError when dimensions differ."""
    import pint

    try:
        return float(registry().Quantity(1.0, parse_unit(from_unit)).to(parse_unit(to_unit)).magnitude)
    except pint.DimensionalityError as exc:
        raise UnitError(f"{from_unit!r} cannot be converted to {to_unit!r}") from exc
    except pint.errors.OffsetUnitCalculusError as exc:  # pragma: no cover - degC products
        raise UnitError(f"{from_unit!r} cannot be converted to {to_unit!r}: {exc}") from exc


def is_convertible(from_unit: str, to_unit: str) -> bool:
    try:
        conversion_factor(from_unit, to_unit)
    except UnitError:
        return False
    return True


#: what a unit measures, by pint dimensionality, for the quantities that cannot be negative: a mass, a CO2e mass
#: (a datapoint in kgCO2e is an amount, not a signed balance), a length (a distance), an area, a volume, an
#: energy, a duration, and a pure number (a % or a fraction; also a ratio of like units, kg/t). Not listed, so
#: signed: temperatures (°C, °F), pressures (gauge pressure can be below zero), powers and other rates, and
#: quotients by a CO2e mass or of one (emission factors, CDR potentials: a net factor can be negative).
_NON_NEGATIVE: dict[frozenset[tuple[str, float]], str] = {
    frozenset({("[mass]", 1)}): "mass",
    frozenset({("[co2e_mass]", 1)}): "CO2e mass",
    frozenset({("[length]", 1)}): "length",
    frozenset({("[length]", 2)}): "area",
    frozenset({("[length]", 3)}): "volume",
    frozenset({("[mass]", 1), ("[length]", 2), ("[time]", -2)}): "energy",
    frozenset({("[time]", 1)}): "duration",
    frozenset(): "fraction",
}

#: the API's quantity kinds (`QuantityKindType`, a blueprint input's `quantity_kind`) that cannot be negative,
#: in words; elevations, latitudes, temperatures, pressures, voltages, currencies, pH and every carbon emission
#: factor or CDR potential may be
NON_NEGATIVE_KINDS: dict[str, str] = {
    "mass": "mass",
    "mass_carbon": "carbon mass",
    "volume": "volume",
    "distance": "distance",
    "depth": "depth",
    "height": "height",
    "diameter": "diameter",
    "diameter_at_breast_height": "diameter",
    "particle_diameter": "particle diameter",
    "area": "area",
    "energy": "energy",
    "time": "duration",
    "power": "power",
    "count": "count",
    "dimensionless_ratio": "ratio",
    "mass_fraction": "mass fraction",
    "mass_fraction_dry_basis": "mass fraction",
    "mass_fraction_wet_basis": "mass fraction",
    "volume_fraction": "volume fraction",
    "mole_fraction": "mole fraction",
    "mass_ratio": "mass ratio",
    "mass_density": "density",
    "bulk_density": "bulk density",
    "particle_mass_density": "density",
    "mass_per_area": "mass per area",
    "volume_per_area": "volume per area",
    "mass_flow_rate": "mass flow rate",
    "volume_flow_rate": "volume flow rate",
    "mass_concentration": "concentration",
    "energy_density": "energy density",
    "mass_energy_density": "energy density",
    "specific_surface_area": "specific surface area",
    "specific_volume": "specific volume",
    "fuel_economy": "fuel economy",
    "molar_mass": "molar mass",
    "mass_distance": "mass-distance",
    "amount_of_substance": "amount of substance",
}


@lru_cache(maxsize=4096)
def non_negative_kind(unit: str) -> str | None:
    """The quantity a canonical unit measures when that quantity cannot be negative (`L` -> `volume`, `kgCO2e` ->
    `CO2e mass`, `%` -> `percentage`, `kg/t` -> `fraction`), None when it may be (`degC`, `kgCO2e/L`) or the unit
    is unknown. Loads pint: ask only about the units of negative values."""
    if unit == PERCENT:
        return "percentage"
    try:
        dimensions: dict[str, float] = dict(parse_unit(unit).dimensionality)  # type: ignore[arg-type]
    except UnitError:
        return None
    return _NON_NEGATIVE.get(frozenset(dimensions.items()))


#: kilograms per unit of the listed mass spellings: what the chain-of-custody checks need, told without pint
MASS_KG: dict[str, float] = {
    "mg": 1e-6,
    "g": 1e-3,
    "kg": 1.0,
    "t": 1000.0,
    "kilotonne": 1e6,
    "short_ton": 907.18474,
    "lb": 0.45359237,
}
#: square metres per unit of the listed area spellings
AREA_M2: dict[str, float] = {"m2": 1.0, "ha": 10_000.0, "km2": 1e6}


def kg_factor(unit: str) -> float | None:
    """Kilograms per `unit` (a canonical spelling) when it is a mass, else None; the listed masses without pint."""
    if unit in MASS_KG:
        return MASS_KG[unit]
    try:
        return conversion_factor(unit, "kg")
    except UnitError:
        return None


def measures(unit: str, quantity: str) -> bool:
    """Whether a canonical unit measures `quantity`: "mass" or "mass per area" (a rate of spreading). The listed
    masses and areas are told without pint; anything else is asked of pint."""
    top, _, bottom = unit.partition("/")
    if quantity == "mass":
        return unit in MASS_KG or is_convertible(unit, "kg")
    if quantity == "mass per area":
        return (top in MASS_KG and bottom in AREA_M2) or is_convertible(unit, "kg/m^2")
    raise ValueError(f"unknown quantity {quantity!r}")
