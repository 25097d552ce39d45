"""What `run`, `plan` and `--help` put on an 80-column screen (#29): the real CLI in a real terminal (tmux, 80
columns, the embedded sandbox) and piped. The rehearsal banner is said once; no line is cut by the terminal
(words and IDs are wrapped whole, by the tool); the progress ends before the summary starts, and the registry's
bar or line ends as done; `--help` cuts no URL."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from e2e_helpers import REPO, SAMPLES

TMUX = shutil.which("tmux")
VERDICT = re.compile(r"^(OK|PROBLEMS|INTERRUPTED): (run|plan) ")


@pytest.fixture()
def short_dir() -> Iterator[Path]:
    """A folder with a short path, so the paths the tool prints fit 80 columns as a user's would."""
    folder = Path(tempfile.mkdtemp(prefix="s", dir="/tmp"))
    shutil.copytree(SAMPLES, folder / "wb", ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _env(home: Path, **extra: str) -> dict[str, str]:
    """The embedded sandbox (no ISOMETRIC_API_URL), state and reports in `home`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ISOMETRIC_") and k not in ("COLUMNS", "LINES")}
    env.update(ISOMETRIC_IMPORTER_HOME=str(home / "h"), ISOMETRIC_REPORTS_DIR=str(home / "r"), NO_COLOR="1", **extra)
    return env


def _cli() -> list[str]:
    return [sys.executable, "-m", "importer.cli"]


def in_terminal(args: list[str], env: dict[str, str], cwd: Path, *, width: int = 80) -> tuple[list[str], list[str]]:
    """Run the CLI in a tmux pane `width` columns wide; the screen as shown (rows) and with the rows the terminal
    wrapped joined back (lines). A private tmux server, ended when done."""
    socket = f"isoscreen-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    script = cwd / f"{socket}.sh"
    exports = "".join(f"export {k}={_quote(v)}\n" for k, v in env.items() if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", k))
    command = " ".join(_quote(a) for a in [*_cli(), *args])
    script.write_text(f"{exports}cd {_quote(str(REPO))}\n{command}\necho __DONE__ $?\nsleep 60\n")
    tmux = [TMUX or "tmux", "-L", socket, "-f", "/dev/null"]
    subprocess.run([*tmux, "new-session", "-d", "-x", str(width), "-y", "200", "sh", str(script)], check=True)
    try:
        deadline = time.monotonic() + 90
        screen = ""
        while time.monotonic() < deadline:
            screen = subprocess.run([*tmux, "capture-pane", "-p"], capture_output=True, text=True).stdout
            if "__DONE__" in screen:
                break
            time.sleep(0.3)
        assert "__DONE__" in screen, screen
        rows = subprocess.run([*tmux, "capture-pane", "-p"], capture_output=True, text=True).stdout
        joined = subprocess.run([*tmux, "capture-pane", "-p", "-J"], capture_output=True, text=True).stdout
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)
        script.unlink(missing_ok=True)
    cut = lambda text: text[: text.index("__DONE__")].rstrip("\n").splitlines()  # noqa: E731
    return cut(rows), cut(joined)


def _quote(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"


@pytest.mark.skipif(TMUX is None, reason="tmux is not installed")
def test_run_and_plan_read_whole_at_80_columns_in_a_terminal(short_dir):
    book = short_dir / "wb" / "biochar-2026-10.xlsx"
    env = _env(short_dir)
    for command in (["run", str(book)], ["plan", str(book)]):
        rows, lines = in_terminal(command, env, short_dir)
        text = "\n".join(rows)
        assert rows == lines, "the terminal cut a line the tool did not wrap:\n" + text  # no word broken
        assert all(len(row) <= 80 for row in rows)
        assert text.count("REHEARSAL") == 1, text  # said once, before anything starts
        verdict = next(n for n, line in enumerate(lines) if VERDICT.match(line))
        bars = [n for n, line in enumerate(lines) if "\u2501" in line]  # rich's bar glyph
        assert bars and max(bars) < verdict, text  # the progress ends before the summary
        registry = next(line for line in lines if "reading the project and the registry" in line)
        assert "0/?" not in registry and "done" in registry, registry
        continuation = [line for line in lines[verdict:] if line.startswith("    ")]
        assert continuation, text  # a long summary line is wrapped by the tool, with a hanging indent
        run_id = VERDICT.sub("", lines[verdict]).split()[0]
        assert run_id in text and re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{6}", run_id)  # an ID stays whole
    rows, lines = in_terminal(["history"], env, short_dir)
    assert rows == lines, "\n".join(rows)  # one block per run, nothing cut by the terminal
    ids = [line.split()[0] for line in lines if re.match(r"\d{8}T\d{6}Z-[0-9a-f]{6}  ", line)]
    assert len(ids) == 1 and any(
        line.strip() == f"report      {next(short_dir.glob('r/*-run.html'))}" for line in lines
    )


def test_piped_the_banner_is_said_once_and_progress_ends_before_the_summary(short_dir):
    book = short_dir / "wb" / "biochar-2026-10.xlsx"
    proc = subprocess.run(
        [*_cli(), "run", str(book)],
        env=_env(short_dir, COLUMNS="80"),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout
    lines = proc.stdout.splitlines()
    assert proc.stdout.count("REHEARSAL") == 1 and lines[0].startswith("*** REHEARSAL"), proc.stdout
    assert len(lines[0]) <= 80
    verdict = next(n for n, line in enumerate(lines) if VERDICT.match(line))
    progress = [n for n, line in enumerate(lines) if re.match(r"\d\d:\d\d:\d\dZ ", line)]
    assert progress and max(progress) < verdict, proc.stdout
    said = [line for line in lines if "[reading the project and the registry]" in line]
    assert said[-1].endswith("done"), said  # the reading ends before the levels start


def test_help_at_80_columns_cuts_no_url():
    env = {**{k: v for k, v in os.environ.items() if k not in ("LINES",)}, "COLUMNS": "80", "NO_COLOR": "1"}
    main = subprocess.run([*_cli(), "--help"], env=env, capture_output=True, text=True, cwd=REPO, timeout=60)
    assert "https://api.sandbox.isometric.com/mrv/v0" in main.stdout, main.stdout  # whole, on one line
    for command in ("run", "plan", "apply", "validate", "rollback", "template"):
        shown = subprocess.run(
            [*_cli(), command, "--help"], env=env, capture_output=True, text=True, cwd=REPO, timeout=60
        ).stdout
        assert "\u2026" not in shown, shown  # rich cuts a word it cannot fit with an ellipsis
        assert all(len(line) <= 80 for line in shown.splitlines())


def test_the_command_list_of_help_reads_whole_at_80_columns(tmp_path):
    """Each command's line in `--help` at 80 columns: its summary in at most two rows, no row broken before the
    box's edge by a line break of the docstring (a short help of its own where the docstring runs long)."""
    from e2e_helpers import run_cli

    out = run_cli(["--help"], {"COLUMNS": "80", "HOME": str(tmp_path)}).stdout
    box = out.split("Commands", 1)[1].split("╰", 1)[0]
    rows = [r[1:].rstrip().rstrip("│").rstrip() for r in box.splitlines()[1:] if r.startswith("│")]
    blocks: list[list[str]] = []
    for row in rows:
        if row.startswith(" ") and not row.startswith("  "):  # " name  summary"
            blocks.append([row.strip()])
        elif row.strip() and blocks:  # "            continued"
            blocks[-1].append(row.strip())
    assert {b[0].split()[0] for b in blocks} >= {"validate", "plan", "run", "apply", "history", "rollback"}
    for block in blocks:
        assert len(block) <= 2, block
        for first, _ in zip(block, block[1:], strict=False):  # a wrapped row fills the width first
            assert len(first) >= 60, block
