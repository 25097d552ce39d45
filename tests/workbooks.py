"""Workbooks for tests: the sample's own rows (from sample_workbooks/build_samples.py), mutated per test and
written with the evidence folder beside them."""

from __future__ import annotations

import copy
import importlib.util
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from importer.workbook.writer import write_workbook

REPO = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("build_samples", REPO / "sample_workbooks" / "build_samples.py")
build_samples = importlib.util.module_from_spec(_spec)  # type: ignore[arg-type]
_spec.loader.exec_module(build_samples)  # type: ignore[union-attr]

Sheets = dict[str, list[dict[str, Any]]]


def sample_data() -> tuple[Sheets, dict[str, Any]]:
    sheets, project = build_samples.sheets()
    return copy.deepcopy(sheets), dict(project)


def write(folder: Path, mutate: Callable[[Sheets, dict[str, Any]], None] | None = None, name: str = "wb.xlsx") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "evidence").exists():
        shutil.copytree(REPO / "sample_workbooks" / "evidence", folder / "evidence")
    sheets, project = sample_data()
    if mutate:
        mutate(sheets, project)
    return write_workbook(folder / name, sheets, project=project)


def row(sheets: Sheets, sheet: str, ref: str) -> dict[str, Any]:
    return next(r for r in sheets[sheet] if r.get("ref") == ref)
