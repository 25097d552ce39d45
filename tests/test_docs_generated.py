"""docs/workbook-format.md is what docs/generate_workbook_format.py makes of importer/workbook/spec.py."""

from __future__ import annotations

import difflib
import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
GENERATOR = REPO / "docs" / "generate_workbook_format.py"


@pytest.fixture(scope="module")
def generator():
    spec = importlib.util.spec_from_file_location("generate_workbook_format", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_doc_matches_the_spec(generator):
    committed = generator.DOC.read_text(encoding="utf-8")
    wanted = generator.render(committed)
    if committed != wanted:
        diff = "\n".join(
            list(
                difflib.unified_diff(committed.splitlines(), wanted.splitlines(), "committed", "generated", lineterm="")
            )[:60]
        )
        pytest.fail(
            f"docs/workbook-format.md is out of date with importer/workbook/spec.py. Regenerate it with\n"
            f"    {generator.COMMAND}\nand commit the result.\n{diff}"
        )


def test_doc_header_names_the_command_and_the_prose_survives(generator):
    doc = generator.DOC.read_text(encoding="utf-8")
    header = doc.split("## ", 1)[0]
    assert generator.COMMAND in header
    assert "## General rules" in doc and "## Cross-sheet rules" in doc  # hand-written, outside the markers
    assert (
        doc.index("## General rules")
        < doc.index(generator.BEGIN)
        < doc.index(generator.END)
        < doc.index("## Cross-sheet rules")
    )


def test_generated_tables_follow_the_spec(generator):
    from importer.workbook import spec

    block = generator.generated_block()
    for sheet in spec.SHEETS:
        assert f"## `{sheet.name}`" in block
        for col in sheet.columns:
            row = next(
                line
                for line in block.splitlines()
                if line.startswith(f"| `{col.name}` |") and line in generator.sheet_section(sheet)
            )
            assert row.count(" | ") == 5, row  # column, type, required, description, example, allowed values
    datapoints = generator.sheet_section(spec.DATAPOINTS)
    assert "one of `CONSTANT`, `STANDARD_PUBLISHED_VALUE`, `REPORTED`, `ASSUMPTION`, `DERIVED`" in datapoints


def test_a_changed_description_changes_the_doc(generator, monkeypatch):
    from dataclasses import replace

    from importer.workbook import spec

    column = replace(spec.SOURCES.columns[0], description="Your name | for the row.")
    changed = replace(
        spec.SOURCES, description="Evidence, described anew.", columns=(column, *spec.SOURCES.columns[1:])
    )
    monkeypatch.setattr(spec, "SHEETS", (spec.PROJECT, changed, *spec.SHEETS[2:]))
    committed = generator.DOC.read_text(encoding="utf-8")
    regenerated = generator.render(committed)
    assert "\nEvidence, described anew.\n" in regenerated
    assert "| `ref` | text | yes | Your name \\| for the row. |" in regenerated  # a pipe cannot split the table
    assert generator.render(generator.render(committed)) == generator.render(committed)


def test_check_mode_exit_status(generator, capsys):
    assert generator.main(["--check"]) == 0
