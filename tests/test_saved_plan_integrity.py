"""Issue #24, item 2: `apply` carries out exactly what was reviewed. plan.json records a digest of every
plan's content (each action's op, kind, payload, changes, existing ID, dependencies, the statement settings,
orphans, the submit flag); `apply` refuses, sending nothing, a file edited after it was saved, and a plan whose
values differ from what its inputs give now, naming the first differing action and field. Driven through the
real CLI against a sandbox over loopback; what the server holds is read back over HTTP."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from e2e_helpers import api_nodes, cli_env, copy_samples, expected_references, run_cli

pytestmark = pytest.mark.slow

Body = dict[str, Any]


def _actions(body: Body) -> list[dict[str, Any]]:
    actions: list[dict[str, Any]] = body["plans"][0]["actions"]
    return actions


def _action(body: Body, kind: str, ref: str) -> dict[str, Any]:
    return next(a for a in _actions(body) if a["kind"] == kind and a["ref"] == ref)


def _magnitude(body: Body) -> None:
    _action(body, "datapoint", "biochar-mass-t")["payload"]["magnitude"] = 421.0


def _display_name(body: Body) -> None:
    _action(body, "datapoint", "organic-carbon")["payload"]["display_name"] = "Organic carbon (approved)"


def _op(body: Body) -> None:
    _action(body, "datapoint", "diesel-ef")["op"] = "unchanged"


def _dependency(body: Body) -> None:
    entry = _action(body, "ghg_entry", "batch-2026-10-a")
    entry["depends_on"] = entry["depends_on"][1:]


def _submit(body: Body) -> None:
    body["plans"][0]["submit"] = True


def _delete_action(body: Body) -> None:
    actions = _actions(body)
    actions.remove(_action(body, "datapoint", "delivery-km"))


def _add_action(body: Body) -> None:
    extra = json.loads(json.dumps(_action(body, "datapoint", "biochar-mass-t")))
    extra["ref"] = "biochar-mass-t-again"
    extra["supplier_reference_id"] = extra["supplier_reference_id"] + "-again"
    actions = _actions(body)
    actions.insert(actions.index(_action(body, "datapoint", "biochar-mass-t")) + 1, extra)


def _reorder(body: Body) -> None:
    actions = _actions(body)
    first = actions.index(_action(body, "datapoint", "feedstock-haul-km"))
    actions[first], actions[first + 1] = actions[first + 1], actions[first]


EDITS: dict[str, tuple[Callable[[Body], None], tuple[str, ...]]] = {
    "magnitude": (_magnitude, ("biochar-mass-t", "payload.magnitude", "421")),
    "display name": (_display_name, ("organic-carbon", "payload.display_name", "Organic carbon (approved)")),
    "op": (_op, ("diesel-ef", "op", "unchanged")),
    "dependency": (_dependency, ("batch-2026-10-a", "depends_on")),
    "submit flag": (_submit, ("plan field submit is true in the file, false now",)),
    "deleted action": (_delete_action, ("delivery-km", "missing")),
    "added action": (_add_action, ("biochar-mass-t-again",)),
    "reordered": (_reorder, ("reordered", "feedstock-haul-km")),
}


def _server(sandbox: Any) -> dict[str, list[dict[str, Any]]]:
    return {
        path: [
            n
            for n in api_nodes(sandbox, path, project_id="prj_1SBXBIOCHAR00001")
            if str(n.get("supplier_reference_id") or "").startswith("demo-")
        ]
        for path in ("/sources", "/datapoints", "/ghg_entries", "/components")
    }


@pytest.fixture()
def planned(sandbox: Any, tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    env = cli_env(sandbox, tmp_path / "home")
    workbook = copy_samples(tmp_path)
    out = tmp_path / "plan.json"
    made = run_cli(["plan", str(workbook), "--out", str(out), "--quiet"], env)
    assert made.code == 0, made.stdout + made.stderr
    return workbook, out, env


@pytest.mark.parametrize("edit", list(EDITS))
def test_an_edited_plan_is_refused_and_nothing_is_sent(sandbox: Any, planned: Any, edit: str) -> None:
    _, out, env = planned
    change, named = EDITS[edit]
    body = json.loads(out.read_text())
    change(body)
    out.write_text(json.dumps(body, indent=1))
    refused = run_cli(["apply", str(out), "--json", "--quiet"], env, subprocess_=True)
    assert refused.code == 1, refused.stdout + refused.stderr
    assert "nothing was sent" in refused.stdout and "edited" in refused.stdout
    for word in named:  # the first differing action and field, as in the file and as now
        assert word in refused.stdout, (word, refused.stdout)
    assert _server(sandbox) == {p: [] for p in ("/sources", "/datapoints", "/ghg_entries", "/components")}


def test_a_plan_edited_with_its_digests_recomputed_is_still_refused(sandbox: Any, planned: Any) -> None:
    """The digests are not a signature: whoever rewrites them too is stopped by the re-plan, which must give
    every value of the file."""
    from importer.planning import saved

    _, out, env = planned
    body = json.loads(out.read_text())
    _magnitude(body)
    plan = saved.decode(body["plans"][0])
    body["plan_digests"] = [saved.content_digest(plan)]
    body["digest"] = saved.file_digest(body["plan_digests"], body["api_url"])
    out.write_text(json.dumps(body, indent=1))
    assert not saved.tampering(saved.load(out))  # the file is consistent in itself
    refused = run_cli(["apply", str(out), "--json", "--quiet"], env, subprocess_=True)
    assert refused.code == 1, refused.stdout + refused.stderr
    text = refused.stdout
    assert "nothing was sent" in text and "biochar-mass-t" in text
    assert "payload.magnitude is 421.0 in the file, 4.21 now" in text
    assert not any(_server(sandbox).values())


def test_an_untouched_plan_applies_exactly(sandbox: Any, planned: Any) -> None:
    workbook, out, env = planned
    applied = run_cli(["apply", str(out), "--json", "--quiet"], env, subprocess_=True)
    assert applied.code == 0, applied.stdout + applied.stderr
    held = _server(sandbox)
    expected = expected_references(workbook)
    for path, kind in (
        ("/sources", "source"),
        ("/datapoints", "datapoint"),
        ("/ghg_entries", "ghg_entry"),
        ("/components", "component"),
    ):
        assert sorted(n["supplier_reference_id"] for n in held[path]) == sorted(expected[kind]), path
    mass = next(n for n in held["/datapoints"] if n["supplier_reference_id"].endswith(":biochar-mass-t"))
    assert mass["quantity"]["magnitude"] == 4.21
