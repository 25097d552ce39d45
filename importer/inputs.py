"""What a command reads must never be what it writes: the inputs of a command (its workbooks, the evidence files
they name, a saved plan and what it names) and the check that no output path is one of them, nor another output.

Only an output path that already exists can be an input, so the inputs (which means reading the workbooks'
evidence lists) are looked up only then. The library's commands and the command line both ask here.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

Inputs = list[tuple[str, Path]]  # (what it is, its path)


def evidence_named(workbook: Path) -> list[Path]:
    """The existing files a workbook's `sources` sheet names (any text cell that is a file relative to the
    workbook's folder, as the `file` column is read): the evidence a run uploads. Read only when an output path
    already exists; a workbook that cannot be read names none (its validation says why)."""
    from importer.workbook.reader import MAX_FILE, WORKBOOK_SUFFIXES

    found: list[Path] = []
    try:
        if workbook.suffix.lower() not in WORKBOOK_SUFFIXES or workbook.stat().st_size > MAX_FILE:
            return found
        from python_calamine import CalamineWorkbook

        book = CalamineWorkbook.from_path(str(workbook))
        for title in book.sheet_names:
            if "source" not in title.strip().lower():
                continue
            for row in book.get_sheet_by_name(title).to_python():
                for cell in row:
                    text = cell.strip().replace("\\", "/") if isinstance(cell, str) else ""
                    if text and len(text) < 1024 and "\0" not in text:
                        candidate = workbook.parent / text
                        if candidate.is_file():
                            found.append(candidate)
    except Exception:  # unreadable here is unreadable for validation too, which reports it
        return found
    return found


def inputs_of(workbooks: list[Path], saved: Path | None = None) -> Inputs:
    """Everything a command reads: the workbooks, each one's evidence files, and a saved plan being applied
    (with the workbooks and evidence files it names)."""
    inputs: Inputs = []
    if saved is not None:
        inputs.append(("the saved plan being applied", saved))
        from importer.planning import saved as saved_plans

        try:
            bundle = saved_plans.load(saved)
        except saved_plans.SavedPlanError:
            bundle = None
        for plan in bundle.plans if bundle is not None else ():
            workbooks = [*workbooks, Path(plan.workbook_path)]
            inputs += [
                (f"evidence file of source {item.ref!r} in the saved plan", Path(item.file)) for item in plan.evidence
            ]
    for workbook in workbooks:
        inputs.append(("the workbook", workbook))
        inputs += [(f"an evidence file {workbook.name} names", p) for p in evidence_named(workbook)]
    return inputs


def same_file(a: Path, b: Path) -> bool:
    """The same file: by device and inode (symlinks, hard links, `./x`, letter case where the file system
    ignores it), else by resolved path."""
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        try:
            return os.path.realpath(a) == os.path.realpath(b)
        except (OSError, ValueError):
            return False


def overwrites_input(outputs: list[tuple[str, Path | None]], inputs: Callable[[], Inputs]) -> str | None:
    """Why writing these outputs (what names each, its path) would destroy an input (or another output), or None.
    Only an output path that already exists can be an input, so `inputs` is called only then."""
    named = [(flag, path) for flag, path in outputs if path is not None]
    for index, (flag, path) in enumerate(named):
        for other_flag, other in named[:index]:
            if os.path.realpath(path) == os.path.realpath(other) or same_file(path, other):
                return f"{other_flag} and {flag} name the same file ({path}); nothing was written or sent"
    existing = [(flag, path) for flag, path in named if path.exists() and not path.is_dir()]
    if not existing:
        return None
    known = inputs()
    for flag, path in existing:
        for what, source in known:
            if same_file(path, source):
                same = "" if os.path.realpath(path) == os.path.realpath(source) else f" ({source})"
                return (
                    f"{flag} {path} is {what}{same}: it would be overwritten. Nothing was written or sent; "
                    f"give {flag} a new path"
                )
    return None


def sort_out_evidence(workbooks: list[Path], refused: list[tuple[Path, str]], ignored: list[tuple[Path, str]]) -> None:
    """A folder's file that one of its workbooks names as evidence is no refused workbook: it is moved, in
    place, from `refused` to `ignored`, saying whose evidence it is."""
    if not refused:
        return
    named = [(workbook, evidence) for workbook in workbooks for evidence in evidence_named(workbook)]
    for item in list(refused):
        owner = next((w for w, evidence in named if same_file(item[0], evidence)), None)
        if owner is not None:
            refused.remove(item)
            ignored.append((item[0], f"an evidence file {owner.name} names, not a workbook"))
