"""Where reports go by default: `./reports/` of the current folder, or `ISOMETRIC_REPORTS_DIR` when set (a
`--report` path beats both). Nothing here creates a folder: the writer does, so a read-only current folder
only matters when a report is actually written."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path


def reports_dir() -> Path:
    return Path(os.environ.get("ISOMETRIC_REPORTS_DIR") or Path.cwd() / "reports")


def default_report_path(kind: str, workbook: Path, run_id: str) -> Path:
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", workbook.stem)[:60] or "workbook"
    return reports_dir() / f"{stem}-{run_id}-{kind}.html"


_COMMAND_STARTED: list[float] = []  # time.monotonic() when the command-line tool started (its entry point says)


def mark_command_start() -> None:
    """Called once by the console script's entry point: a report then gives the time its reader waited (the
    workbook read, the embedded sandbox started, the plan and the import), not the import's alone."""
    _COMMAND_STARTED[:] = [time.monotonic() - _process_age()]


def _process_age() -> float:
    """How long this process ran before its entry point (the interpreter starting, the imports), where the
    system says (Linux's /proc); 0 elsewhere."""
    try:
        with open("/proc/self/stat", encoding="ascii") as stat, open("/proc/uptime", encoding="ascii") as up:
            started = int(stat.read().rsplit(")", 1)[1].split()[19]) / os.sysconf("SC_CLK_TCK")
            age = float(up.read().split()[0]) - started
    except (OSError, ValueError, IndexError, AttributeError):
        return 0.0
    return age if 0 <= age < 60 else 0.0


def command_seconds() -> float | None:
    """Seconds since the command started, or None outside the console script (a library caller)."""
    return time.monotonic() - _COMMAND_STARTED[0] if _COMMAND_STARTED else None
