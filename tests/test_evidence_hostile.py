"""Evidence paths the file system answers with something other than a file: a link loop (of the file, of a folder
on the way, of a link to itself), a name too long for the file system. Each is an error at its `sources` cell from
the real CLI, never "internal error", in bounded time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from workbooks import write

CASES = {
    "file loop": (
        "evidence/loop-a.pdf",
        [("evidence/loop-a.pdf", "loop-b.pdf"), ("evidence/loop-b.pdf", "loop-a.pdf")],
    ),
    "self link": ("evidence/self.pdf", [("evidence/self.pdf", "self.pdf")]),
    "folder loop": ("evidence/d1/ticket.pdf", [("evidence/d1", "d2"), ("evidence/d2", "d1")]),
    "name too long": ("evidence/" + "n" * 300 + ".pdf", []),
}


@pytest.mark.parametrize("case", list(CASES))
def test_an_evidence_path_that_is_no_file_is_an_error_at_its_cell(tmp_path: Path, case: str) -> None:
    written, links = CASES[case]

    def mutate(sheets, _project):
        sheets["sources"][1]["file"] = written  # the second source: row 3

    book = write(tmp_path, mutate)
    for link, target in links:
        os.symlink(target, tmp_path / link)
    env = {**os.environ, "ISOMETRIC_IMPORTER_HOME": str(tmp_path / "home"), "NO_COLOR": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "importer.cli", "validate", str(book), "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "internal error" not in proc.stdout + proc.stderr and "Traceback" not in proc.stderr
    errors = json.loads(proc.stdout)["errors"]
    assert [(e["sheet"], e["cell"], e["column"]) for e in errors] == [("sources", "C3", "file")], errors
    assert written[:40] in errors[0]["message"]
