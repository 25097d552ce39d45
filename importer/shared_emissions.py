"""What the report says of the emissions shared across GHG entries (#28): each project and statement component's
CO2e and the share each entry of this workbook carries, estimated here from the workbook's own datapoints and the
blueprint's expression, spread by the local sandbox's rule (`importer.sandbox.amortisation`, restated here: this
module imports nothing of the sandbox).

That rule is a rehearsal assumption, not Isometric's published arithmetic (the API returns an entry's net CO2e,
never how much of it is shared), and the report says so beside every figure taken from here:
- a statement component: its CO2e split evenly over the statement's entries;
- a MANUAL project component: its CO2e times each entry's factor (the project_component_attributions sheet);
- CUSTOM_TIME_PERIOD: its CO2e times the days of the entry inside the component's activity period over the period's
  days (the document has no target-date field);
- the lifetime and tonnage strategies amortise over the project's estimated lifetime or tonnage, which the API does
  not return: not estimated here.
A figure needs every datapoint of the component in the workbook (an existing dtp_ ID's value is not read)."""

from __future__ import annotations

import ast
import datetime as dt
import operator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from importer.units import UnitError, conversion_factor

if TYPE_CHECKING:
    from importer.context import ProjectContext
    from importer.workbook.model import ComponentRow, Workbook

#: how a component type counts in an entry's net removal (the sandbox's `co2e.SIGN`)
SIGN = {"SEQUESTRATION": 1.0, "REDUCTION": 1.0, "COUNTERFACTUAL": -1.0, "ACTIVITY": -1.0, "LOSS": -1.0}
RULE = (
    "estimated under the local sandbox's rule (statement components split evenly over the statement's entries; "
    "project components by their MANUAL factors or custom period): a rehearsal assumption, not Isometric's "
    "published arithmetic"
)
_OPS: dict[type, Any] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}


@dataclass
class SharedComponent:
    ref: str
    scope: str  # "project" | "statement"
    display_name: str
    strategy: str | None
    co2e_kg: float | None  # the component's own CO2e, unsigned; None when it cannot be estimated here
    net_kg: float | None  # what it adds to the entries' net removal in all (negative for an emission)
    shares: dict[str, float] = field(default_factory=dict)  # entry ref -> its signed share


@dataclass
class SharedEmissions:
    components: list[SharedComponent] = field(default_factory=list)
    rule: str = RULE

    def entry_share(self, ref: str) -> float | None:
        """The signed share of shared emissions an entry carries (None: it carries none that could be estimated)."""
        found = [c.shares[ref] for c in self.components if ref in c.shares]
        return sum(found) if found else None

    def total(self, scope: str) -> float | None:
        """The signed sum this workbook's entries carry of one scope's components (None when none estimated)."""
        found = [v for c in self.components if c.scope == scope for v in c.shares.values()]
        return sum(found) if found else None


def _evaluate(expression: str, values: dict[str, float | list[float]]) -> float:
    def walk(node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return float(node.value)
        if isinstance(node, ast.Name):
            return values[node.id]
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](walk(node.left), walk(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -walk(node.operand)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "sum":
            return float(sum(walk(node.args[0])))
        raise ValueError(f"unsupported expression {expression!r}")

    return float(walk(ast.parse(expression, mode="eval")))


def _co2e(row: ComponentRow, wb: Workbook, ctx: ProjectContext) -> tuple[float, float] | None:
    """The component's CO2e (kg, unsigned) and its sign, from the workbook's datapoints; None when unknown."""
    blueprint = ctx.blueprints.get(row.blueprint_key or "")
    if blueprint is None or not blueprint.expressions:
        return None
    datapoints = {d.ref: d for d in wb.datapoints}
    units = {i.input_key: i for i in blueprint.inputs}
    values: dict[str, float | list[float]] = {}
    try:
        for ci in wb.component_inputs:
            if ci.component_ref != row.ref or ci.input_key not in units:
                continue
            found = [datapoints[r] for r in ci.datapoint_refs]
            unit = units[ci.input_key].compatible_unit
            converted = [d.magnitude * conversion_factor(d.unit, unit) for d in found]
            values[ci.input_key] = converted if str(units[ci.input_key].data_shape).endswith("LIST") else converted[0]
        value = _evaluate(blueprint.expressions[0].template, values)
    except (KeyError, IndexError, UnitError, ValueError, ZeroDivisionError):
        return None
    return value, SIGN.get(str(getattr(blueprint.type, "value", blueprint.type)), -1.0)


def _days(start: dt.date, end: dt.date) -> int:
    return (end - start).days + 1


def shared_emissions(
    wb: Workbook, ctx: ProjectContext, statement_period: tuple[str, str] | None, statement_size: int
) -> SharedEmissions | None:
    """The workbook's shared components and each of its entries' share (in the statement's period, of
    `statement_size` entries in all); None when the workbook has none."""
    rows = [r for r in wb.components if r.scope in ("project", "statement") and r.action == "add"]
    if not rows:
        return None
    start, end = statement_period or ("0000-01-01", "9999-12-31")
    entries = [e for e in wb.entries if start <= e.completed_on.isoformat() <= end]
    factors = {(a.component, a.entry): a.attribution_factor for a in wb.project_component_attributions}
    out = SharedEmissions()
    for row in rows:
        found = _co2e(row, wb, ctx)
        component = SharedComponent(
            ref=row.ref,
            scope=row.scope,
            display_name=row.display_name or row.ref,
            strategy=row.allocation_strategy,
            co2e_kg=found[0] if found else None,
            net_kg=None,
        )
        out.components.append(component)
        if found is None:
            continue
        value, sign = found
        for entry in entries:
            if row.scope == "statement":
                fraction: float | None = 1.0 / statement_size if statement_period and statement_size else None
            elif row.allocation_strategy == "MANUAL":
                fraction = factors.get((row.ref, entry.ref))
            elif (
                row.allocation_strategy == "CUSTOM_TIME_PERIOD"
                and row.activity_started_at
                and row.activity_completed_at
            ):
                a, b = row.activity_started_at.date(), row.activity_completed_at.date()
                inside = _days(max(a, entry.started_on), min(b, entry.completed_on))
                fraction = max(0, inside) / _days(a, b)
            else:
                fraction = None  # lifetime and tonnage: the project's estimates are not in the API
            if fraction:
                component.shares[entry.ref] = sign * value * fraction
        component.net_kg = sum(component.shares.values()) if component.shares else None
    return out
