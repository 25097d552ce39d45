"""A kind names itself (`Kind.noun`, `Kind.label`): the progress lines and the run report take its words from the
kind, so a new kind needs no table of its own in either (#25). Checked with a kind no output has ever heard of."""

from __future__ import annotations

import dataclasses
import io
import re
from pathlib import Path

import pytest

from importer.planning import kinds
from importer.progress import LineProgress
from importer.report.run_html import write_run_report
from importer.results import ObjectOutcome

from report_fixtures import hostile_result


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_every_registered_kind_names_itself_in_the_results():
    result = hostile_result()
    for kind in kinds.REGISTERED:
        assert kind.noun and kind.label, kind.name
        assert result.noun(kind.name) == kind.noun
        assert result.plural(kind.name).lower() == kind.label.lower()


def test_a_kind_unknown_to_the_outputs_reads_as_its_own_words(tmp_path: Path):
    result = hostile_result()
    result.kind_names["soil_core"] = ("soil core", "soil cores")
    result.objects.append(
        ObjectOutcome("soil_cores", 4, "core-7", "soil_core", "x:soil_cores:core-7", status="failed", error="no")
    )
    text = _text(write_run_report(result, tmp_path / "r.html").read_text())
    assert "Soil cores" in text  # the totals' row heading
    assert "soil core" in text  # the problem row's kind
    assert not re.search(r"\bsoil_core\b", text)  # its name in code shows nowhere (its sheet's tab name may)

    stream = io.StringIO()
    progress = LineProgress(stream)
    progress.level_started("soil_core", 1, "soil cores")
    progress.object_done(result.objects[-1])
    progress.level_finished("soil_core")
    progress.close()
    assert "[soil cores] 1 object(s)" in stream.getvalue() and "[soil cores] FAILED ROWS" in stream.getvalue()

    # the terminal: the change lines, the failed rows and the totals
    from importer.output import change_lines, console, print_result

    changes = "\n".join(change_lines(result, verbose=True))
    assert "soil core core-7" in changes
    out = io.StringIO()
    print_result(console(out), result, verbose=True)
    printed = out.getvalue()
    assert "(soil core core-7)" in printed and "  Soil cores: 1 failed" in printed
    assert not re.search(r"\bsoil_core\b", changes + printed)


def test_the_sheets_that_make_objects_are_the_owned_kinds_sheets_and_the_workbook_holds_each():
    """`identity.workbook_references` walks the sheets the spec says make objects (a new kind's sheet says so
    itself); each must be a kind the importer owns, held by the Workbook under the sheet's name, or by its row type
    when a kind declares the sheet itself (`spec.register`). Sources and components name their references themselves
    (a file's hash; a scope's segment)."""
    import dataclasses

    from importer.workbook import spec
    from importer.workbook.model import Workbook

    owned = {kind.reference_sheet or kind.sheet for kind in kinds.REGISTERED if kind.owned}
    making = {sheet.name for sheet in spec.SHEETS if sheet.makes_objects}
    assert making == owned - {"sources", "components", "project_components", "statement_components"}
    fields = {f.name for f in dataclasses.fields(Workbook)}
    declared = {sheet.name for sheet in spec.SHEETS if sheet.row_type is not None}
    assert declared and not declared & fields
    assert making <= fields | declared


def test_a_kind_cannot_declare_a_sheet_kind_or_prefix_already_taken():
    """What a kind declares itself (`Kind.sheets`, `Kind.resources`) joins the format and the client only when it
    takes nothing already there: the same declaration again is a no-op, a clash is refused before anything changes."""
    import importer
    from importer import ids
    from importer.api import endpoints
    from importer.planning.feedstock_batches import RESOURCE, SHEET_SPEC
    from importer.workbook import spec

    importer.register_kinds()
    sheets, collections, prefixes = list(spec.SHEETS), dict(endpoints.COLLECTIONS), dict(ids.PREFIXES)
    spec.register(SHEET_SPEC)
    endpoints.register(RESOURCE)
    assert (list(spec.SHEETS), dict(endpoints.COLLECTIONS), dict(ids.PREFIXES)) == (sheets, collections, prefixes)

    with pytest.raises(ValueError, match="already has a sheet named 'samples'"):
        spec.register(dataclasses.replace(SHEET_SPEC, name="samples"))
    with pytest.raises(ValueError, match="declares no row_type"):
        spec.register(dataclasses.replace(SHEET_SPEC, name="deliveries", row_type=None))
    with pytest.raises(ValueError, match="already serves a 'production_batch'"):
        endpoints.register(dataclasses.replace(RESOURCE, kind="production_batch"))
    with pytest.raises(ValueError, match="ID prefix 'src_'"):
        endpoints.register(dataclasses.replace(RESOURCE, kind="delivery", prefix="src_"))
    with pytest.raises(ValueError, match="ID prefix 'dlv'"):
        endpoints.register(dataclasses.replace(RESOURCE, kind="delivery", prefix="dlv"))
    assert (list(spec.SHEETS), dict(endpoints.COLLECTIONS), dict(ids.PREFIXES)) == (sheets, collections, prefixes)
