"""What the importer prints and writes is safe with hostile inputs, through the real CLI:

- text from a workbook (refs, display names, evidence file names, cell values quoted in findings) or from a
  server (error messages) reaches the terminal, a pipe or a log with its control characters shown as escapes
  (`importer.terminal_text`), never obeyed, and rich markup in it is printed, not read; `--json` stays JSON;
- no output path (`--report`, `--annotate`, `--out`, `template OUT`, `sandbox --db`) may be an input of the
  command (the workbook, an evidence file it names, a saved plan being applied), however it is spelled
  (`./x`, a symlink, a hard link): refused with exit 2, nothing written, nothing sent.
"""

from __future__ import annotations

import hashlib
import json
import os
import pty
import re
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from e2e_helpers import REPO, SAMPLE, SAMPLES, cli_env, run_cli, server_references

#: a screen clear, a cursor home, a green "OK" line, a carriage return, a right-to-left override, rich markup
HOSTILE = "\x1b[2J\x1b[H\x1b[1;32mOK: every row imported\x1b[0m\r\u202e[green]OK[/green][bold]x\x08\x7f\x9b"
#: every character that must never reach the output raw (the newline is the only control let through)
RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def assert_shown_not_sent(*texts: str) -> None:
    for text in texts:
        found = RAW_CONTROL.search(text)
        assert found is None, (
            f"raw {found.group()!r} in output: {text[max(0, found.start() - 80) : found.end() + 80]!r}"
        )


def ooxml(text: str) -> str:
    """`text` as a cell holds it: XML cannot carry most C0 controls, so a workbook stores them as `_xHHHH_`
    (as Excel does), which every reader, python-calamine included, turns back into the character."""
    return re.sub("[\x00-\x1f\x7f]", lambda m: f"_x{ord(m.group()):04X}_", text)


#: a workbook's own file name can be as hostile (no "/" in a file name)
HOSTILE_NAME = "oct-\x1b[2J\x1b[1;32m\r\u202e[green]OK[bold].xlsx"


def hostile_workbook(folder: Path, *, broken: bool = False, name: str = "october.xlsx") -> Path:
    """The sample with HOSTILE in an entry's ref (and every reference to it), a source's and a datapoint's display
    name and an evidence file's name; `broken` adds it to a unit cell too (a finding that quotes it)."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copytree(SAMPLES / "evidence", folder / "evidence")
    book = openpyxl.load_workbook(SAMPLE)
    old_ref = book["entries"].cell(row=2, column=1).value
    for sheet in book.worksheets:
        for line in sheet.iter_rows():
            for cell in line:
                if cell.value == old_ref:
                    cell.value = ooxml(f"batch-{HOSTILE}")
    for title in ("sources", "datapoints"):
        headers = [c.value for c in book[title][1]]
        book[title].cell(row=2, column=headers.index("display_name") + 1).value = ooxml(f"name {HOSTILE}")
    headers = [c.value for c in book["sources"][1]]
    file_cell = book["sources"].cell(row=4, column=headers.index("file") + 1)
    evidence = Path(file_cell.value)
    hostile_name = "lab-\x1b[31m\u202e[green]x.txt"  # no "/" in a file name
    (folder / evidence).rename(folder / evidence.parent / hostile_name)
    file_cell.value = ooxml(str(evidence.parent / hostile_name))
    if broken:
        headers = [c.value for c in book["datapoints"][1]]
        book["datapoints"].cell(row=3, column=headers.index("unit") + 1).value = ooxml(f"t{HOSTILE}")
    path = folder / name
    book.save(path)
    return path


def cli(args: list[str], env: dict[str, str]):
    return run_cli(args, env, subprocess_=True)


# -- 1. control characters and markup from a workbook or a server -------------------------------------------


def test_validate_shows_hostile_cells_escaped_and_markup_literally(sandbox, tmp_path):
    workbook = hostile_workbook(tmp_path / "wb", broken=True, name=HOSTILE_NAME)
    env = cli_env(sandbox, tmp_path / "home")
    human = cli(["validate", str(workbook), "--no-report"], env)
    assert human.code == 1, human.stdout + human.stderr
    assert_shown_not_sent(human.stdout, human.stderr)
    shown = "oct-\\x1b[2J\\x1b[1;32m\\r\\u202e[green]OK[bold].xlsx: not valid"  # printed as written, no markup read
    assert shown in human.stdout
    as_json = cli(["validate", str(workbook), "--no-report", "--json"], env)
    assert as_json.code == 1
    assert_shown_not_sent(as_json.stdout, as_json.stderr)
    assert json.loads(as_json.stdout)["workbook"] == str(workbook)  # the JSON holds the real value, escaped as JSON


def test_validate_on_a_terminal_sends_no_hostile_sequence(tmp_path):
    """On a terminal rich colours the output itself; the workbook's sequences are still shown, not sent."""
    workbook = hostile_workbook(tmp_path / "wb", broken=True, name=HOSTILE_NAME)
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TERM")} | {
        "TERM": "xterm-256color",
        "COLUMNS": "200",
    }
    controller, terminal = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "importer.cli", "validate", str(workbook), "--no-report"],
        stdout=terminal,
        stderr=terminal,
        stdin=subprocess.DEVNULL,
        env=env,
        cwd=REPO,
    )
    os.close(terminal)
    chunks = []
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(controller)
    assert proc.wait(timeout=60) == 1
    screen = b"".join(chunks).decode("utf-8", "replace")
    for sequence in ("\x1b[2J", "\x1b[H", "\x1b[1;32mOK", "\r\u202e", "\u202e", "\x08", "\x7f", "\x9b"):
        assert sequence not in screen
    assert "oct-\\x1b[2J\\x1b[1;32m\\r\\u202e[green]OK[bold].xlsx" in screen
    leftover = re.sub(r"\x1b\[[0-9;]*m", "", screen).replace("\r\n", "\n")  # rich's own colours, the tty's CRLF
    assert_shown_not_sent(leftover)


class HostileServer:
    """ASGI middleware in front of the sandbox: every POST /sources is answered 422 with HOSTILE in the
    message, as a server (or something between) could."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"].endswith("/sources"):
            body = json.dumps({"detail": f"rejected {HOSTILE} [red]bad[/red]"}).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 422,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


@pytest.fixture()
def hostile_sandbox(tmp_path):
    from importer.sandbox import SandboxServer

    server = SandboxServer(db_path=tmp_path / "sandbox.sqlite3")
    server.app = HostileServer(server.app)
    with server:
        yield server


def test_a_failed_run_with_hostile_refs_and_server_messages_prints_them_escaped(hostile_sandbox, tmp_path):
    workbook = hostile_workbook(tmp_path / "wb")
    env = cli_env(hostile_sandbox, tmp_path / "home")
    result = cli(["run", str(workbook), "--verbose"], env)  # progress lines on stderr, every row on stdout
    assert result.code == 1, result.stdout + result.stderr
    assert_shown_not_sent(result.stdout, result.stderr)
    assert "PROBLEMS:" in result.stdout and "OK: run" not in result.stdout
    assert "rejected \\x1b[2J" in result.stdout and "[red]bad[/red]" in result.stdout
    assert "batch-\\x1b[2J" in result.stdout  # the entry's ref, blocked
    as_json = cli(["run", str(workbook), "--json"], env)
    assert as_json.code == 1
    assert_shown_not_sent(as_json.stdout, as_json.stderr)
    assert json.loads(as_json.stdout)["ok"] is False


def test_log_lines_show_control_characters(tmp_path):
    from importer.terminal_text import VisibleFormatter, visible

    record = __import__("logging").LogRecord("x", 30, "f", 1, "server said %s", (HOSTILE,), None)
    line = VisibleFormatter("%(message)s").format(record)
    assert_shown_not_sent(line)
    assert line == "server said " + visible(HOSTILE)
    assert visible("a\tb\rc\x1bd\u2066e\u200bf\nz") == "a\\tb\\rc\\x1bd\\u2066e\\u200bf\nz"


# -- 2. no output path may be an input -------------------------------------------------------------------------


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture()
def copy(tmp_path):
    """A private copy of the sample and its evidence, with a symlink and a hard link to the workbook."""
    folder = tmp_path / "wb"
    folder.mkdir()
    shutil.copyfile(SAMPLE, folder / "october.xlsx")
    shutil.copytree(SAMPLES / "evidence", folder / "evidence")
    (tmp_path / "link.xlsx").symlink_to(folder / "october.xlsx")
    os.link(folder / "evidence" / "weighbridge-2026-10.pdf", tmp_path / "hard.pdf")
    return folder


def inputs_of(folder: Path) -> dict[Path, str]:
    return {p: digest(p) for p in [folder / "october.xlsx", *sorted((folder / "evidence").iterdir())]}


CASES = [
    ["validate", "{wb}", "--report", "{wb}"],
    ["validate", "{wb}", "--report", "{dir}/./evidence/../october.xlsx"],
    ["validate", "{wb}", "--report", "{tmp}/link.xlsx"],
    ["validate", "{wb}", "--report", "{tmp}/hard.pdf"],
    ["validate", "{wb}", "--annotate", "{dir}/evidence/lab-certificate-B2610.txt"],
    ["validate", "{dir}", "--report", "{dir}/evidence/electricity-meter-2026-10.csv"],
    ["plan", "{wb}", "--out", "{wb}"],
    ["plan", "{wb}", "--out", "{tmp}/link.xlsx", "-q"],
    ["plan", "{wb}", "--report", "{dir}/evidence/fuel-receipt-2026-10.png", "-q"],
    ["run", "{wb}", "--report", "{wb}", "-q"],
    ["run", "{dir}", "--report", "{tmp}/hard.pdf", "--json"],
    ["run", "{wb}", "--report", "{dir}/evidence/logistics-log-2026-10.pdf", "-q"],
]


@pytest.mark.parametrize(
    "args", CASES, ids=["-".join(a for a in c[:3] if not a.startswith("{")) + str(i) for i, c in enumerate(CASES)]
)
def test_an_output_naming_an_input_is_refused(sandbox, tmp_path, copy, args):
    before = inputs_of(copy)
    words = [a.format(wb=copy / "october.xlsx", dir=copy, tmp=tmp_path) for a in args]
    result = cli(words, cli_env(sandbox, tmp_path / "home"))
    assert result.code == 2, result.stdout + result.stderr
    said = result.stdout + result.stderr
    assert "error: --" in said and "it would be overwritten. Nothing was written or sent" in said
    assert inputs_of(copy) == before
    assert not any(server_references(sandbox).values()), "something was sent"
    assert not (tmp_path / "home" / "reports").exists()


def test_apply_refuses_to_write_over_its_saved_plan_or_the_plans_inputs(sandbox, tmp_path, copy):
    env = cli_env(sandbox, tmp_path / "home")
    saved = tmp_path / "plan.json"
    made = cli(["plan", str(copy / "october.xlsx"), "--out", str(saved), "-q"], env)
    assert made.code == 0, made.stdout + made.stderr
    before = inputs_of(copy) | {saved: digest(saved)}
    for target in (saved, copy / "october.xlsx", copy / "evidence" / "weighbridge-2026-10.pdf", tmp_path / "hard.pdf"):
        result = cli(["apply", str(saved), "--report", str(target), "-q"], env)
        assert result.code == 2, result.stdout + result.stderr
        assert "it would be overwritten" in result.stdout
    assert inputs_of(copy) | {saved: digest(saved)} == before
    assert not any(server_references(sandbox).values()), "something was sent"


def test_two_outputs_naming_one_file_are_refused(sandbox, tmp_path, copy):
    result = cli(
        ["plan", str(copy / "october.xlsx"), "--out", str(tmp_path / "x"), "--report", str(tmp_path / "x")],
        cli_env(sandbox, tmp_path / "home"),
    )
    assert result.code == 2 and "--report and --out name the same file" in result.stdout
    assert not (tmp_path / "x").exists()


def test_template_never_replaces_a_file(sandbox, tmp_path, copy):
    before = inputs_of(copy)
    result = cli(
        ["template", str(copy / "october.xlsx"), "--project-id", "prj_1SBXBIOCHAR00001"],
        cli_env(sandbox, tmp_path / "home"),
    )
    assert result.code == 2 and "already exists" in result.stdout
    assert inputs_of(copy) == before


def test_sandbox_db_refuses_a_file_that_is_no_database(tmp_path, copy):
    before = inputs_of(copy)
    proc = subprocess.run(
        [sys.executable, "-m", "importer.cli", "sandbox", "--db", str(copy / "october.xlsx"), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert proc.returncode == 2 and "not a SQLite database" in proc.stderr
    assert inputs_of(copy) == before
