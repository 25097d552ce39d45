"""Isometric workbook importer: a standardized Excel workbook in, Isometric Certify API objects out.

Data flows one way: read workbook -> validate -> resolve against the project -> plan -> apply -> report.
The API client (`importer.api`) knows nothing of workbooks, the workbook layer (`importer.workbook`) knows
nothing of HTTP, and the local sandbox (`importer.sandbox`) imports nothing of the importer.

The library API (lazily imported, so the CLI starts fast):

- `validate(path)` -> `ValidationResult`: offline, every finding located to its cell;
- `plan(paths, ...)` -> `BatchOutcome` whose `.plans` are immutable `Plan` values;
- `apply(saved_plan_path, ...)` -> `BatchOutcome`: exactly a saved plan, refused if anything changed since;
- `run(paths, ...)` -> `BatchOutcome`: plan and apply in one step;
- `rollback(run_id, ...)` -> `RollbackOutcome`: delete what a run created, after a look and a confirmation;
- `target(api_url, client_secret=..., access_token=...)`: where requests go (default: the environment, else
  the embedded local sandbox).

Locking, the run history and the batch checks happen inside these functions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.2.0"

if TYPE_CHECKING:
    from importer.library import BatchOutcome, RollbackOutcome, Stopped, apply, plan, rollback, run, target, validate
    from importer.planning.model import Action, Plan
    from importer.results import RunResult
    from importer.workbook.validate import ValidationResult

_LAZY = {
    "validate": "importer.library",
    "plan": "importer.library",
    "apply": "importer.library",
    "run": "importer.library",
    "target": "importer.library",
    "BatchOutcome": "importer.library",
    "rollback": "importer.library",
    "RollbackOutcome": "importer.library",
    "Stopped": "importer.library",
    "Plan": "importer.planning.model",
    "Action": "importer.planning.model",
    "RunResult": "importer.results",
    "ValidationResult": "importer.workbook.validate",
}


def register_kinds() -> None:
    """Register every kind (`importer.planning.kinds`), and with them the sheets and API resources kinds declare
    themselves (`Kind.sheets`, `Kind.resources`). The workbook layer asks for it when it needs the whole format
    (`importer.workbook.spec.plug_ins`): a workbook naming a sheet the format does not declare, the template.
    Neither the workbook layer nor the API client knows a kind: this package's root, which knows every layer,
    names the registry."""
    import importlib

    importlib.import_module("importer.planning.kinds")


def __getattr__(name: str) -> object:  # the names above are typed by their imports
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'importer' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "Action",
    "BatchOutcome",
    "Plan",
    "RollbackOutcome",
    "RunResult",
    "Stopped",
    "ValidationResult",
    "__version__",
    "apply",
    "plan",
    "register_kinds",
    "rollback",
    "run",
    "target",
    "validate",
]
