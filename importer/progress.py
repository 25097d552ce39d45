"""Progress of a run on stderr: rich progress bars per level on a terminal, plain log lines otherwise,
nothing with --quiet. stdout stays clean for `--json`."""

from __future__ import annotations

import sys
import threading
from typing import Any, TextIO

from importer.results import ObjectOutcome

LEVEL_TITLES = {
    "source": "sources", "datapoint": "datapoints", "feedstock_type": "feedstock types",
    "ghg_entry": "GHG entries", "component": "components", "component_attribution": "attributions",
    "ghg_statement": "GHG statement",
}


class QuietProgress:
    def level_started(self, level: str, total: int) -> None:
        pass

    def object_done(self, outcome: ObjectOutcome) -> None:
        pass

    def level_finished(self, level: str) -> None:
        pass


class LineProgress:
    """One line per level and one per failed row: readable in CI logs and cron mail."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}

    def level_started(self, level: str, total: int) -> None:
        with self._lock:
            self._counts = {}
            print(f"[{LEVEL_TITLES.get(level, level)}] {total} object(s)", file=self.stream, flush=True)

    def object_done(self, outcome: ObjectOutcome) -> None:
        with self._lock:
            self._counts[outcome.status] = self._counts.get(outcome.status, 0) + 1
            if outcome.status in ("failed", "blocked", "conflict"):
                where = f"{outcome.sheet} row {outcome.row}" if outcome.row else outcome.sheet
                why = outcome.error or (f"blocked by {outcome.blocked_by}" if outcome.blocked_by else "")
                print(f"  {outcome.status}: {where} ({outcome.ref}): {why}", file=self.stream, flush=True)

    def level_finished(self, level: str) -> None:
        with self._lock:
            summary = ", ".join(f"{n} {s}" for s, n in sorted(self._counts.items())) or "nothing to do"
            print(f"[{LEVEL_TITLES.get(level, level)}] done: {summary}", file=self.stream, flush=True)


class RichProgress:
    """A rich progress bar per level (stderr, terminal only)."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            TextColumn("{task.description:<16}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=Console(stderr=True), transient=False,
        )
        self._task: Any = None
        self._lock = threading.Lock()

    def level_started(self, level: str, total: int) -> None:
        with self._lock:
            if not self._progress.live.is_started:
                self._progress.start()
            self._task = self._progress.add_task(LEVEL_TITLES.get(level, level), total=total)

    def object_done(self, outcome: ObjectOutcome) -> None:
        with self._lock:
            if self._task is not None:
                self._progress.advance(self._task)

    def level_finished(self, level: str) -> None:
        pass

    def close(self) -> None:
        if self._progress.live.is_started:
            self._progress.stop()


def make_progress(*, quiet: bool) -> Any:
    if quiet:
        return QuietProgress()
    if sys.stderr.isatty():
        return RichProgress()
    return LineProgress()
