"""CO2e arithmetic of the sandbox, by a small safe evaluator (never `eval`).

A blueprint expression such as ``distance * mass * emission_factor`` or ``sum(electricity_used) *
grid_emission_factor`` is parsed with `ast` and walked: numbers, input names, + - * / ** and unary minus,
and `sum()` or `mean()` over a list input. Every datapoint is first converted to its blueprint input's
`compatible_unit` (pint, `importer.sandbox.units`), so a mass given in kg feeds a tonne input correctly. The result
is kilograms of CO2e.

An entry's net removal: for each attributed component, its CO2e times its attribution factor, counted
positive for SEQUESTRATION and REDUCTION (the emissions a reduction avoids) and negative for COUNTERFACTUAL, ACTIVITY
and LOSS emissions (ComponentType of the live document; ADJUSTMENT and UNCERTAINTY_DISCOUNT count as 0 here):
    net = sum(sequestration) + sum(reduction) - sum(counterfactual) - sum(activity) - sum(loss)
The sandbox applies no uncertainty discount: `co2e_net_removed_kg` equals the undiscounted figure.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from functools import lru_cache
from typing import Any

_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}
SIGN = {"SEQUESTRATION": 1.0, "REDUCTION": 1.0, "COUNTERFACTUAL": -1.0, "ACTIVITY": -1.0, "LOSS": -1.0}


class ExpressionError(ValueError):
    pass


@lru_cache(maxsize=256)
def _parsed(expression: str) -> ast.Expression:
    """A blueprint's expression parsed once: a listing of a year's GHG entries evaluates the same few
    expressions tens of thousands of times, and parsing was a fifth of the sandbox's time for it."""
    try:
        return ast.parse(expression, mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"bad expression {expression!r}") from exc


def evaluate(expression: str, values: dict[str, float | list[float]]) -> float:
    """Evaluate a blueprint expression over input values (scalars, or lists for LIST inputs)."""
    tree = _parsed(expression)

    def walk(node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return float(node.value)
        if isinstance(node, ast.Name):
            if node.id not in values:
                raise ExpressionError(f"unknown input {node.id!r}")
            return values[node.id]
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            left, right = walk(node.left), walk(node.right)
            if isinstance(left, list) or isinstance(right, list):
                raise ExpressionError("list inputs must go through sum() or mean()")
            return _BINARY[type(node.op)](left, right)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -walk(node.operand)
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("sum", "mean")
            and len(node.args) == 1
            and not node.keywords
        ):
            arg = walk(node.args[0])
            if not isinstance(arg, list):
                return float(arg)
            if node.func.id == "mean":
                if not arg:
                    raise ExpressionError("mean() of an empty list")
                return float(sum(arg)) / len(arg)
            return float(sum(arg))
        raise ExpressionError(f"unsupported syntax in {expression!r}")

    result = walk(tree)
    if isinstance(result, list):
        raise ExpressionError("an expression must give a number")
    return float(result)
