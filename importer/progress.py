"""Progress of a plan or a run on stderr: rich progress bars on a terminal, plain timestamped lines otherwise (CI
logs, cron mail, a pipe), nothing with --quiet. stdout stays clean for `--json`.

The API, for the executor and the planner alike (every reporter below implements all of it):

- ``level_started(level, total)`` / ``object_done(outcome)`` / ``level_finished(level)``: one bar (or line) per
  level of the run. A bar that ends with failed or conflicting rows turns red, with blocked rows yellow, and says
  how many; a clean one ends green.
- ``phase(name, total=None)``: a step that is not a level, e.g. planning. Returns a handle with
  ``advance(n=1)``, ``update(completed=None, total=None, note=None)`` and ``done(note=None)``; it is also a
  context manager (``done`` on exit). ``total=None`` is an indeterminate step (a spinner / "working")::

      with progress.phase("reading the registry") as step:
          for page in pages:
              ...
              step.advance()
      with progress.phase("comparing rows", total=len(rows)) as step:
          ...

- ``retry(what, attempt, wait=None, reason=None)``: a request is being retried (the API client's tenacity
  ``before_sleep`` hook can call it). Retries are counted on the bar and printed as lines when piped.
- ``close()``: stops the bars and the heartbeat.

When output is not a terminal, a heartbeat line with a UTC timestamp is printed whenever nothing else was
printed for ``HEARTBEAT_SECONDS`` (10 s), so a long run is never silent in a log.
"""

from __future__ import annotations

import datetime as dt
import sys
import threading
from typing import TYPE_CHECKING, Protocol, TextIO, TypedDict

from importer.results import ObjectOutcome
from importer.terminal_text import SafeConsole, visible

if TYPE_CHECKING:  # rich's progress is imported when a bar is first shown
    from rich.console import Console
    from rich.progress import TaskID

HEARTBEAT_SECONDS = 10.0
BAD = ("failed", "conflict")


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%H:%M:%SZ")


class _PhaseOwner(Protocol):
    """The display a phase reports to."""

    def _phase_changed(self, phase: _Phase, note: str | None = None) -> None: ...
    def _phase_done(self, phase: _Phase, note: str | None = None) -> None: ...


class _Phase:
    """A handle on one phase: `advance`, `update`, `done`; a context manager."""

    def __init__(self, owner: _PhaseOwner, name: str, total: int | None) -> None:
        self.owner = owner
        self.name = name
        self.total = total
        self.completed = 0
        self.finished = False

    def advance(self, n: int = 1) -> None:
        self.completed += n
        self.owner._phase_changed(self)

    def update(self, completed: int | None = None, total: int | None = None, note: str | None = None) -> None:
        if completed is not None:
            self.completed = completed
        if total is not None:
            self.total = total
        self.owner._phase_changed(self, note)

    def done(self, note: str | None = None) -> None:
        if not self.finished:
            self.finished = True
            self.owner._phase_done(self, note)

    def __enter__(self) -> _Phase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.done(note="stopped" if exc and exc[0] is not None else None)


class QuietProgress:
    def level_started(self, level: str, total: int, title: str | None = None) -> None:
        pass

    def object_done(self, outcome: ObjectOutcome) -> None:
        pass

    def level_finished(self, level: str) -> None:
        pass

    def phase(self, name: str, total: int | None = None) -> _Phase:
        return _Phase(self, name, total)

    def _phase_changed(self, phase: _Phase, note: str | None = None) -> None:
        pass

    def _phase_done(self, phase: _Phase, note: str | None = None) -> None:
        pass

    def retry(self, what: str, attempt: int, wait: float | None = None, reason: str | None = None) -> None:
        pass

    def close(self) -> None:
        pass


class LineProgress:
    """Timestamped lines: one per level and phase, one per failed row or retry, a heartbeat every 10 s of
    silence. Readable in CI logs and cron mail."""

    def __init__(self, stream: TextIO | None = None, *, heartbeat: float = HEARTBEAT_SECONDS) -> None:
        self.stream = stream or sys.stderr
        self._lock = threading.Lock()
        self._levels: dict[str, dict[str, int]] = {}  # open level -> status counts (levels run side by side)
        self._totals: dict[str, int] = {}
        self._titles: dict[str, str] = {}  # level -> its title for people (the kind's label)
        self._retries = 0
        self._phase: _Phase | None = None
        self._heartbeat = heartbeat
        self._last = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- output ------------------------------------------------------------------------------------------------
    def _print(self, text: str) -> None:
        """Under the lock. Control characters (from a cell or a server's message) are shown, not sent."""
        print(visible(f"{_now()} {text}"), file=self.stream, flush=True)
        self._last = _monotonic()

    def _ensure_heartbeat(self) -> None:
        if self._thread is None and self._heartbeat > 0:
            self._last = _monotonic()
            self._thread = threading.Thread(target=self._beat, name="progress-heartbeat", daemon=True)
            self._thread.start()

    def _beat(self) -> None:
        step = min(1.0, self._heartbeat / 2)
        while not self._stop.wait(step):
            with self._lock:
                if _monotonic() - self._last >= self._heartbeat:
                    self._print(f"still working: {self._where()}")

    def _where(self) -> str:
        if self._phase is not None and not self._phase.finished:
            of = f"/{self._phase.total}" if self._phase.total else ""
            return f"{self._phase.name} {self._phase.completed}{of}"
        if self._levels:
            parts = []
            for level, counts in self._levels.items():
                bad = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()) if s in (*BAD, "blocked"))
                parts.append(
                    f"{self._titles.get(level, level)} {sum(counts.values())}/{self._totals[level]}"
                    + (f" ({bad})" if bad else "")
                )
            retries = f", {self._retries} retries" if self._retries else ""
            return "; ".join(parts) + retries
        return "starting"

    # -- levels ------------------------------------------------------------------------------------------------
    def level_started(self, level: str, total: int, title: str | None = None) -> None:
        self._finish_phase()  # the levels start once the reading before them is done
        with self._lock:
            self._ensure_heartbeat()
            self._levels[level], self._totals[level] = {}, total
            self._titles[level] = title or level
            self._print(f"[{self._titles[level]}] {total} object(s)")

    def object_done(self, outcome: ObjectOutcome) -> None:
        with self._lock:
            counts = self._levels.setdefault(outcome.kind, {})
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
            if outcome.status in ("failed", "blocked", "conflict"):
                where = f"{outcome.sheet} row {outcome.row}" if outcome.row else outcome.sheet
                why = outcome.error or (f"blocked by {outcome.blocked_by}" if outcome.blocked_by else "")
                self._print(f"  {outcome.status}: {where} ({outcome.ref}): {why}")

    def level_finished(self, level: str) -> None:
        with self._lock:
            counts = self._levels.pop(level, {})
            summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "nothing to do"
            mark = (
                "FAILED ROWS"
                if any(counts.get(s) for s in BAD)
                else ("BLOCKED ROWS" if counts.get("blocked") else "done")
            )
            self._print(f"[{self._titles.get(level, level)}] {mark}: {summary}")

    # -- phases and retries ------------------------------------------------------------------------------------
    def _finish_phase(self) -> None:
        """A phase its caller left open ends when the next step starts (or the display closes): its line says
        done, not "started" forever."""
        if self._phase is not None and not self._phase.finished:
            self._phase.done()

    def phase(self, name: str, total: int | None = None) -> _Phase:
        self._finish_phase()
        handle = _Phase(self, name, total)
        with self._lock:
            self._ensure_heartbeat()
            self._phase = handle
            self._print(f"[{name}] started" + (f": {total} step(s)" if total else ""))
        return handle

    def _phase_changed(self, phase: _Phase, note: str | None = None) -> None:
        if note:
            with self._lock:
                self._print(f"[{phase.name}] {note}")

    def _phase_done(self, phase: _Phase, note: str | None = None) -> None:
        with self._lock:
            count = f" ({phase.completed}" + (f"/{phase.total}" if phase.total else "") + ")" if phase.completed else ""
            self._print(f"[{phase.name}] {note or 'done'}{count}")
            if self._phase is phase:
                self._phase = None

    def retry(self, what: str, attempt: int, wait: float | None = None, reason: str | None = None) -> None:
        with self._lock:
            self._ensure_heartbeat()
            self._retries += 1
            pause = f", next try in {wait:.1f} s" if wait is not None else ""
            self._print(f"  retry: {what}: attempt {attempt} failed{f' ({reason})' if reason else ''}{pause}")

    def close(self) -> None:
        self._finish_phase()
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None


def _monotonic() -> float:
    import time

    return time.monotonic()


class _NoteField(TypedDict, total=False):
    """A bar's note, when a phase's update gives one (else the bar keeps its own)."""

    note: str


class RichProgress:
    """A rich progress bar per level and phase (stderr, terminal only). A level's bar ends red when rows failed
    or conflicted, yellow when rows were blocked, green otherwise; failed/blocked counts and retries show on it."""

    def __init__(self, console: Console | None = None) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            Task,
            TextColumn,
            TimeElapsedColumn,
        )
        from rich.progress_bar import ProgressBar

        class StateBar(BarColumn):
            """The bar's colour follows the task's `state` field: ok (green), blocked (yellow), bad (red)."""

            def render(self, task: Task) -> ProgressBar:
                style = {"bad": "red", "blocked": "yellow"}.get(task.fields.get("state", "ok"))
                if style:
                    self.complete_style = self.finished_style = style
                else:
                    self.complete_style, self.finished_style = "bar.complete", "bar.finished"
                return super().render(task)

        self._progress = Progress(
            SpinnerColumn(finished_text=" "),
            TextColumn("{task.description:<22}", markup=False),
            StateBar(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[note]}"),
            TimeElapsedColumn(),
            console=console or SafeConsole(stderr=True),
            transient=False,
        )
        self._tasks: dict[str, TaskID] = {}  # level -> its bar (levels run side by side)
        self._levels: dict[str, dict[str, int]] = {}  # level -> status counts
        self._retries = 0
        self._lock = threading.Lock()
        self._phases: list[_Phase] = []  # open phases: one left open by its caller ends when the next step starts

    def _finish_phases(self) -> None:
        for handle in [h for h in self._phases if not h.finished]:
            handle.done()
        self._phases.clear()

    def _start(self) -> None:
        if not self._progress.live.is_started:
            self._progress.start()

    def _note(self, counts: dict[str, int]) -> str:
        parts = []
        for status, mark in (
            ("failed", "[red]\u2717 {} failed[/red]"),
            ("conflict", "[red]\u26a0 {} conflict[/red]"),
            ("blocked", "[yellow]\u2298 {} blocked[/yellow]"),
        ):
            if counts.get(status):
                parts.append(mark.format(counts[status]))
        if self._retries:
            parts.append(f"[cyan]\u21bb {self._retries} retries[/cyan]")
        return " ".join(parts)

    @staticmethod
    def _state(counts: dict[str, int]) -> str:
        if any(counts.get(s) for s in BAD):
            return "bad"
        return "blocked" if counts.get("blocked") else "ok"

    def level_started(self, level: str, total: int, title: str | None = None) -> None:
        self._finish_phases()
        with self._lock:
            self._start()
            self._levels[level] = {}
            self._tasks[level] = self._progress.add_task(title or level, total=total, state="ok", note="")

    def object_done(self, outcome: ObjectOutcome) -> None:
        with self._lock:
            counts = self._levels.setdefault(outcome.kind, {})
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
            task = self._tasks.get(outcome.kind)
            if task is not None:
                self._progress.update(task, advance=1, state=self._state(counts), note=self._note(counts))

    def level_finished(self, level: str) -> None:
        with self._lock:
            task_id = self._tasks.pop(level, None)
            counts = self._levels.pop(level, {})
            if task_id is not None:
                task = next((t for t in self._progress.tasks if t.id == task_id), None)
                total = task.total if task is not None else None
                self._progress.update(task_id, completed=total, state=self._state(counts), note=self._note(counts))

    def phase(self, name: str, total: int | None = None) -> _Phase:
        self._finish_phases()
        handle = _Phase(self, name, total)
        self._phases.append(handle)
        with self._lock:
            self._start()
            handle.task = self._progress.add_task(name, total=total, state="ok", note="")  # type: ignore[attr-defined]
        return handle

    def _phase_changed(self, phase: _Phase, note: str | None = None) -> None:
        from rich.markup import escape

        with self._lock:
            fields: _NoteField = {"note": escape(note)} if note else {}  # the note column reads markup
            self._progress.update(
                phase.task,  # type: ignore[attr-defined]
                completed=phase.completed,
                total=phase.total,
                **fields,
            )

    def _phase_done(self, phase: _Phase, note: str | None = None) -> None:
        with self._lock:
            total = phase.total if phase.total is not None else max(phase.completed, 1)
            from rich.markup import escape

            self._progress.update(
                phase.task,  # type: ignore[attr-defined]
                completed=total,
                total=total,
                note=escape(note or ("done" if phase.total is None else "")),
            )

    def retry(self, what: str, attempt: int, wait: float | None = None, reason: str | None = None) -> None:
        with self._lock:
            self._retries += 1
            if self._tasks:
                for level, task_id in self._tasks.items():
                    self._progress.update(task_id, note=self._note(self._levels.get(level, {})))
            else:
                from rich.markup import escape

                self._progress.console.print(
                    f"[cyan]retry[/cyan] {escape(what)}: attempt {attempt}"
                    + (f" ({escape(reason)})" if reason else ""),
                    highlight=False,
                    markup=True,
                )

    def close(self) -> None:
        self._finish_phases()
        if self._progress.live.is_started:
            self._progress.stop()


def make_progress(*, quiet: bool) -> QuietProgress | LineProgress | RichProgress:
    if quiet:
        return QuietProgress()
    if sys.stderr.isatty():
        return RichProgress()
    return LineProgress()
