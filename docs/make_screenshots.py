"""Regenerate the docs' pictures of the importer from real runs (#29): run from the repository root,

    .venv/bin/python docs/make_screenshots.py

- `docs/terminal-80-columns.txt`: `run`, `plan` (after a datapoint changed), the update `run` and `history`, each
  run by the real CLI in a tmux pane 80 columns wide against the embedded sandbox (a rehearsal), as the screen
  showed it.
- `docs/screenshots/run-report-*.png`: the HTML reports of those runs and of a run with failures (the local
  sandbox refusing components with a 422, as the API would refuse a bad value), taken by headless chromium
  (driven by Playwright, the test extra): at 1440 px, at 390 px, and as printed (print media, A4).

Needs tmux and chromium (Debian's). Everything runs in a temporary folder; nothing is sent to
Isometric. Run IDs, times and ports differ from one regeneration to the next.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
SHOTS = DOCS / "screenshots"
SAMPLES = REPO / "sample_workbooks"
WORKBOOK = "biochar-2026-10.xlsx"
WIDTH = 80
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
    "--hide-scrollbars",
]


def cli() -> list[str]:
    return [sys.executable, "-m", "importer.cli"]


def base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ISOMETRIC_") and k not in ("COLUMNS", "LINES")}
    env.update(NO_COLOR="1", **extra)
    return env


def quote(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"


def in_terminal(args: list[str], env: dict[str, str], cwd: Path) -> str:
    """The screen of `isometric-import ARGS` in a tmux pane WIDTH columns wide, as shown (a private tmux server,
    ended when done)."""
    socket = f"isodocs-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    script = cwd / f".{socket}.sh"
    exports = "".join(f"export {k}={quote(v)}\n" for k, v in env.items() if k.isidentifier())
    python = f"PYTHONPATH={quote(str(REPO))} {quote(sys.executable)} -m importer.cli"
    shown = " ".join(quote(a) if " " in a else a for a in args)
    script.write_text(
        f"{exports}cd {quote(str(cwd))}\nclear\n{python} {' '.join(quote(a) for a in args)}\necho __DONE__\nsleep 120\n"
    )
    tmux = ["tmux", "-L", socket, "-f", "/dev/null"]
    subprocess.run([*tmux, "new-session", "-d", "-x", str(WIDTH), "-y", "300", "sh", str(script)], check=True)
    try:
        deadline = time.monotonic() + 120
        screen = ""
        while time.monotonic() < deadline and "__DONE__" not in screen:
            time.sleep(0.3)
            screen = subprocess.run([*tmux, "capture-pane", "-p"], capture_output=True, text=True).stdout
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)
        script.unlink(missing_ok=True)
    body = screen.split("__DONE__")[0].strip("\n")
    return f"$ isometric-import {shown}\n{body}\n"


def set_magnitude(book: Path, ref: str, factor: float) -> None:
    import openpyxl

    wb = openpyxl.load_workbook(book)
    ws = wb["datapoints"]
    header = [c.value for c in ws[1]]
    line = next(r for r in ws.iter_rows(min_row=2) if r[0].value == ref)
    line[header.index("magnitude")].value = round(line[header.index("magnitude")].value * factor, 3)
    wb.save(book)


def newest(folder: Path, pattern: str) -> Path:
    return max(folder.glob(pattern), key=lambda p: p.stat().st_mtime)


class Browser:
    """Headless chromium driven by Playwright (the test extra): viewport shots, a region, print media."""

    def __enter__(self) -> Browser:
        from playwright.sync_api import sync_playwright

        self._playwright = sync_playwright().start()
        self._browser = self._playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        return self

    def __exit__(self, *exc: object) -> None:
        self._browser.close()
        self._playwright.stop()

    def shot(
        self, report: Path, target: Path, width: int, height: int, *, media: str = "screen", region: str = ""
    ) -> None:
        """The first screenful at `width` x `height`, or the sections `region` names (a CSS selector list), as
        they are on the page."""
        page = self._browser.new_page(viewport={"width": width, "height": height})
        page.emulate_media(media=media)  # type: ignore[arg-type]
        page.goto(report.as_uri())
        page.wait_for_load_state("load")
        if media == "print":
            page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
        if region:
            boxes = [b for b in (el.bounding_box() for el in page.locator(region).all()) if b]
            top, bottom = min(b["y"] for b in boxes), max(b["y"] + b["height"] for b in boxes)
            left, right = min(b["x"] for b in boxes), max(b["x"] + b["width"] for b in boxes)
            page.screenshot(
                path=str(target),
                full_page=True,
                clip={"x": left - 8, "y": top - 8, "width": right - left + 16, "height": bottom - top + 16},
            )
        else:
            page.screenshot(path=str(target))
        page.close()
        print(f"wrote {target.relative_to(REPO)}")


def terminal_and_rehearsal(work: Path, browser: Browser) -> None:
    """run, plan after a change, the update run and history at 80 columns; the clean and update reports."""
    shutil.copytree(SAMPLES, work / "samples", ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    book = Path("samples") / WORKBOOK
    env = base_env(ISOMETRIC_IMPORTER_HOME=str(work / "state"), ISOMETRIC_REPORTS_DIR="reports")
    parts = [in_terminal(["run", str(book)], env, work)]
    clean = newest(work / "reports", "*-run.html")
    set_magnitude(work / book, "biochar-mass-t", 1.05)
    parts.append(in_terminal(["plan", str(book)], env, work))
    parts.append(in_terminal(["run", str(book)], env, work))
    update = newest(work / "reports", "*-run.html")
    parts.append(in_terminal(["history"], env, work))
    text = (
        "What `run`, `plan` and `history` show in a terminal 80 columns wide (tmux),\n"
        "from real runs of the sample workbook against the embedded sandbox: a first\n"
        "import, a plan after the field team corrected the biochar mass, the update\n"
        "run, and the history. Regenerate: .venv/bin/python docs/make_screenshots.py\n\n" + "\n".join(parts)
    )
    (DOCS / "terminal-80-columns.txt").write_text(text, encoding="utf-8")
    print("wrote docs/terminal-80-columns.txt")
    browser.shot(clean, SHOTS / "run-report-clean-1440.png", 1440, 900)
    browser.shot(
        update, SHOTS / "run-report-updates-changes.png", 1440, 900, region="#w1-co2e, #w1-entries, #w1-changes"
    )


def failures(work: Path, browser: Browser) -> None:
    """A run the local sandbox partly refuses: its components' creation answered 422 (display_name)."""
    sys.path.insert(0, str(REPO))
    from importer.sandbox import SandboxServer
    from importer.sandbox.faults import FaultConfig

    shutil.copytree(SAMPLES, work / "failing", ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    faults = FaultConfig(
        answer_status=422, answer_paths=["/components"], methods=["POST"], answer_field="display_name", request_ids=True
    )
    with SandboxServer(db_path=work / "failing.sqlite3", faults=faults) as server:
        env = base_env(
            ISOMETRIC_IMPORTER_HOME=str(work / "failing-state"),
            ISOMETRIC_REPORTS_DIR=str(work / "failing-reports"),
            ISOMETRIC_API_URL=server.base_url,
            ISOMETRIC_CLIENT_SECRET=server.client_secret,
            ISOMETRIC_ACCESS_TOKEN=server.access_token,
        )
        subprocess.run(
            [*cli(), "run", str(work / "failing" / WORKBOOK), "--quiet"], env=env, cwd=REPO, capture_output=True
        )
    report = newest(work / "failing-reports", "*-run.html")
    browser.shot(report, SHOTS / "run-report-failures-1440.png", 1440, 900)
    browser.shot(report, SHOTS / "run-report-failures-390.png", 390, 844)
    browser.shot(report, SHOTS / "run-report-failures-print.png", 794, 1123, media="print")  # A4 at 96 dpi


def main() -> None:
    for tool in ("tmux", CHROMIUM):
        if not shutil.which(tool):
            sys.exit(f"{tool} is needed")
    SHOTS.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="iso", dir="/tmp"))
    try:
        with Browser() as browser:
            terminal_and_rehearsal(work, browser)
            failures(work, browser)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
