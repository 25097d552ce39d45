"""The depth benchmark's own logic (benchmarks/depth.py, #30): the critical path it derives from a plan's
dependency graph, and the workbook of every kind it makes from the sample. No timing here."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import depth  # noqa: E402

from importer.planning.attributions import AttributionPayload  # noqa: E402
from importer.planning.model import Action  # noqa: E402


def _action(kind: str, ref: str, *deps: tuple[str, str], payload: object = None) -> Action:
    return Action(kind=kind, ref=ref, sheet=kind, row=2, op="create", payload=payload, depends_on=deps)


def _chain_plan() -> SimpleNamespace:
    """Two sources, their datapoints, an entry, an extra component, the entry's attributions, the statement."""
    attribution = AttributionPayload(entry=("ghg_entry", "e1"), entry_ref="e1", action="add")  # type: ignore[arg-type]
    return SimpleNamespace(
        actions=(
            _action("source", "s1"),
            _action("source", "s2"),
            _action("datapoint", "d1", ("source", "s1")),
            _action("datapoint", "d2", ("source", "s2")),
            _action("ghg_entry", "e1", ("datapoint", "d1")),
            _action("component", "c1", ("datapoint", "d2")),
            _action("component_attribution", "e1/c1", ("ghg_entry", "e1"), ("component", "c1"), payload=attribution),
            _action("component_attribution", "e1/c2", ("ghg_entry", "e1"), payload=attribution),
            _action(
                "ghg_statement", "statement", ("source", "s1"), ("source", "s2"), ("component_attribution", "e1/c1")
            ),
        )
    )


def test_the_critical_path_follows_the_longest_chain_of_requests():
    length, chain = depth.critical_path(_chain_plan())
    assert (length, [kind for kind, _ in chain]) == (
        5,
        ["source", "datapoint", "ghg_entry", "component_attribution", "ghg_statement"],
    )


def test_a_source_releases_its_datapoints_on_create_but_not_the_statement():
    """A source of 3 requests (create, upload, confirm): its datapoint waits for the create only, the statement
    for all three; the two attributions of an entry are one unit (one PATCH)."""
    requests = {("source", "s1"): 3, ("source", "s2"): 3}
    assert depth.critical_path(_chain_plan(), requests)[0] == 5
    requests[("source", "s1")] = 6  # the statement now waits longest on the source's upload
    length, chain = depth.critical_path(_chain_plan(), requests)
    assert (length, chain) == (7, [("source", 6), ("ghg_statement", 1)])
    grouped = depth.critical_path(_chain_plan(), {("component_attribution", "e1"): 2})
    assert grouped[0] == 6 and ("component_attribution", 2) in grouped[1]


def test_the_scaled_sample_holds_every_kind_and_validates(tmp_path):
    from importer.workbook.validate import validate_workbook

    path, held = depth.scaled_sample(tmp_path, 200)
    result = validate_workbook(path)
    assert not [f for f in result.findings if f.severity == "error"], result.findings[:5]
    wb = result.workbook
    assert wb is not None
    copies = len(wb.entries) // 2
    assert copies >= 5 and held == 6 + copies * depth.objects_per_copy()
    for sheet in ("sources", "datapoints", "feedstock_types", "entries", "components", "storage_locations"):
        assert getattr(wb, sheet), sheet
