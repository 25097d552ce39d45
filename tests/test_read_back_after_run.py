"""What a run reports of its GHG entries after it wrote (#30, depth): the API answers a PATCH of an entry's component
attributions with the entry, so an entry whose attributions the run changed is not read again; its figure must still
be the one the server holds. Each figure is read back over HTTP, and the change is checked against arithmetic done
here (the sample's generator: 120 L of diesel at 2.68 kg CO2e/L, attributed with a factor)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from e2e_helpers import api_nodes, cli_env, run_cli
from workbooks import write

PREFIX = "demo-2026-10"  # the sample's supplier_reference_prefix
GENERATOR_KG = 120 * 2.68  # the sample's site generator: generator-diesel-l x diesel-ef


def _workbook(folder: Path, *, factor: float = 0.5, litres: float = 120) -> Path:
    def mutate(sheets: dict[str, list[dict[str, Any]]], project: dict[str, Any]) -> None:
        for row in sheets["components"]:
            row["attribution_factor"] = factor
        for row in sheets["datapoints"]:
            if row["ref"] == "generator-diesel-l":
                row["magnitude"] = litres

    return write(folder, mutate)


def _held(sandbox: Any) -> dict[str, float]:
    """entry ref -> co2e_net_removed_kg, as the server answers its listing now."""
    return {
        e["supplier_reference_id"].rsplit(":", 1)[1]: e["co2e_net_removed_kg"]
        for e in api_nodes(sandbox, "/ghg_entries")
        if str(e["supplier_reference_id"]).startswith(f"{PREFIX}:entries:")
    }


def _reported(result: Any) -> dict[str, float]:
    return {e["ref"]: e["co2e_net_removed_kg"] for e in result.json()["lineage"]}


def test_an_entry_whose_attributions_changed_reports_the_servers_figure_without_being_read_again(sandbox, tmp_path):
    env = cli_env(sandbox, tmp_path / "home")
    first = run_cli(["run", str(_workbook(tmp_path / "a")), "--json", "--quiet"], env)
    assert first.code == 0, first.stdout + first.stderr
    before = _held(sandbox)
    assert _reported(first) == before

    log = sandbox.store.request_log
    start = len(log)
    moved = run_cli(["run", str(_workbook(tmp_path / "b", factor=0.8)), "--json", "--quiet"], env)
    assert moved.code == 0, moved.stdout + moved.stderr
    sent = [(method, path) for method, path, _ in list(log)[start:]]
    patches = [i for i, (method, path) in enumerate(sent) if method == "PATCH" and "component_attributions" in path]
    assert patches, sent  # the factor changed: the attribution was replaced
    # nothing read the entry again after the PATCH answered with it (nor listed the entries: the other entry,
    # which this run did not write, is read by its ID)
    entries = api_nodes(sandbox, "/ghg_entries")
    (entry,) = [e for e in entries if e["supplier_reference_id"].endswith(":batch-2026-10-a")]
    again = [p for m, p in sent[patches[-1] + 1 :] if m == "GET" and p.endswith(("/ghg_entries", entry["id"]))]
    assert not again, sent
    after = _held(sandbox)
    assert _reported(moved) == after
    # an emission: the larger share lowers the entry's net removal by the generator's extra 30%
    assert abs((before["batch-2026-10-a"] - after["batch-2026-10-a"]) - GENERATOR_KG * 0.3) < 1e-6
    assert after["application-2026-10"] == before["application-2026-10"]


def test_an_entry_whose_component_changed_under_a_standing_attribution_is_read_back(sandbox, tmp_path):
    env = cli_env(sandbox, tmp_path / "home")
    assert run_cli(["run", str(_workbook(tmp_path / "a")), "--json", "--quiet"], env).code == 0
    before = _held(sandbox)
    more = run_cli(["run", str(_workbook(tmp_path / "b", litres=150)), "--json", "--quiet"], env)
    assert more.code == 0, more.stdout + more.stderr
    after = _held(sandbox)
    assert _reported(more) == after
    assert abs((before["batch-2026-10-a"] - after["batch-2026-10-a"]) - 30 * 2.68 * 0.5) < 1e-6


def test_after_writing_shared_components_the_entries_are_read_back_by_id_not_through_the_organisations_listing(
    sandbox, tmp_path
):
    """A shared component moves every entry's share, so every entry is read back; by its ID, a few at a time, not
    through the organisation's listing of entries (which grows with every month imported). The figures reported
    are the server's."""
    import test_shared_components

    env = cli_env(sandbox, tmp_path / "home")
    log = sandbox.store.request_log
    start = len(log)
    result = run_cli(
        ["run", str(write(tmp_path / "wb", test_shared_components._five_entries())), "--json", "--quiet"], env
    )
    assert result.code == 0, result.stdout + result.stderr
    sent = [(method, path) for method, path, _ in list(log)[start:]]
    last_write = max(i for i, (method, _) in enumerate(sent) if method != "GET")
    after = [path for method, path in sent[last_write + 1 :] if method == "GET"]
    assert not [p for p in after if p.endswith("/ghg_entries")], after
    held = _held(sandbox)
    assert len([p for p in after if "/ghg_entries/" in p]) == len(held)
    assert _reported(result) == held
