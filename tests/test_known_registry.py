"""A re-run reads the registry in pages, not entry by entry, and still lands exactly what the workbook says
(issue #15, no-op re-run; `importer.planning.known`).

Every request the importer sends is recorded at the sandbox (and held against the published contract); what
the server holds afterwards is read back with plain httpx and compared with what the workbook's cells say.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest
from request_contract import checked_sandbox

import importer
from importer.library import Verdict
from importer.planning import saved as saved_plans
from importer.workbook.synthetic import make_workbook

from e2e_helpers import copy_samples

pytestmark = pytest.mark.slow
PREFIX = "known"


class Recording:
    """ASGI wrapper: (method, path, sorted query keys) of every request the sandbox receives."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.requests: list[tuple[str, str, tuple[str, ...]]] = []
        self.continued: list[bool] = []  # beside each request: whether it read on from a cursor (`after`)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            given = {part.split("=")[0] for part in scope.get("query_string", b"").decode().split("&") if part}
            self.requests.append((scope["method"], scope["path"], tuple(sorted(given - {"first", "after"}))))
            self.continued.append("after" in given)
        await self.app(scope, receive, send)

    def take(self) -> list[tuple[str, str, tuple[str, ...]]]:
        out, self.requests, self.continued = self.requests, [], []
        return out

    def listings(self, path: str) -> list[bool]:
        """For each request listing the project's `path` (the organisation's GHG entries) since the last take():
        whether it continued a cursor."""
        scoped = () if path == "/ghg_entries" else ("project_id",)
        return [
            after
            for (method, p, keys), after in zip(self.requests, self.continued, strict=True)
            if method == "GET" and p == f"/mrv/v0{path}" and keys == scoped
        ]


@pytest.fixture()
def recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Recording]]:
    holder: dict[str, Recording] = {}

    def wrap(app: Any) -> Recording:
        holder["r"] = Recording(app)
        return holder["r"]

    with checked_sandbox(tmp_path / "sandbox.sqlite3", inner=wrap) as server:
        monkeypatch.setenv("ISOMETRIC_API_URL", server.base_url)
        monkeypatch.setenv("ISOMETRIC_CLIENT_SECRET", server.client_secret)
        monkeypatch.setenv("ISOMETRIC_ACCESS_TOKEN", server.access_token)
        yield server, holder["r"]
        server.contract.assert_clean()


def _api(server: Any) -> httpx.Client:
    return httpx.Client(
        base_url=server.base_url,
        headers={"X-Client-Secret": server.client_secret, "Authorization": f"Bearer {server.access_token}"},
    )


def _all(api: httpx.Client, path: str, **params: Any) -> list[dict[str, Any]]:
    out, after = [], None
    while True:
        page = api.get(path, params={"first": 50, **params, **({"after": after} if after else {})}).json()
        out += page["nodes"]
        if not page["page_info"]["has_next_page"]:
            return out
        after = page["page_info"]["end_cursor"]


def _entry_input(api: httpx.Client, entry_ref: str, input_key: str) -> str:
    """The supplier_reference_id of the datapoint that the entry's component holds for `input_key`."""
    entry = next(e for e in _all(api, "/ghg_entries") if e["supplier_reference_id"] == f"{PREFIX}:entries:{entry_ref}")
    comps = _all(api, "/components", ghg_entry_id=entry["id"])
    item = next(i for c in comps for i in c["inputs"] if i["input_key"] == input_key)
    return str(api.get(f"/datapoints/{item['datapoint_id']}").json()["supplier_reference_id"])


def _swap_inputs(workbook: Path, a: str, b: str, input_key: str) -> None:
    book = openpyxl.load_workbook(workbook)
    sheet = book["entry_inputs"]
    head = [c.value for c in sheet[1]]
    entry, key, refs = head.index("entry_ref"), head.index("input_key"), head.index("datapoint_refs")
    rows = {r[entry].value: r for r in sheet.iter_rows(min_row=2) if r[key].value == input_key}
    rows[a][refs].value, rows[b][refs].value = rows[b][refs].value, rows[a][refs].value
    book.save(workbook)


def test_a_no_op_re_run_reads_in_pages_within_the_bound(recorded: tuple[Any, Recording], tmp_path: Path) -> None:
    server, recording = recorded
    wb = make_workbook(tmp_path / "wb", 240, prefix=PREFIX, sources=3)  # 30 entries, 240 datapoints
    assert importer.run([wb]).ok
    recording.take()
    again = importer.run([wb])
    assert again.ok
    sent = recording.take()
    assert all(o.status == "unchanged" for r in again.results for o in r.objects)
    # nothing one by one: no entry's components, no signed URL for a document already confirmed, no entry or
    # datapoint read back (a run that wrote nothing reports what it read)
    per_object = [
        r
        for r in sent
        if r[2] == ("ghg_entry_id",)
        or r[1].endswith("/signed_upload_url")
        or r[1].startswith("/mrv/v0/datapoints/")
        or r[1].startswith("/mrv/v0/ghg_entries/")
    ]
    assert per_object == []
    assert {m for m, _, _ in sent} == {"GET"}
    # N, counted by hand: the workbook's rows (3 sources, 240 datapoints, 30 entries) and the components the
    # server holds for those entries (read here, entry by entry)
    api = _api(server)
    entries = [e for e in _all(api, "/ghg_entries") if e["supplier_reference_id"].startswith(f"{PREFIX}:")]
    components = sum(len(_all(api, "/components", ghg_entry_id=e["id"])) for e in entries)
    template = next(
        t
        for t in _all(api, "/projects/prj_1SBXBIOCHAR00001/ghg_entry_templates")
        if t["display_name"] == "Monthly production batch"
    )
    assert len(entries) == 30 and components == 30 * sum(len(g["components"]) for g in template["groups"])
    n = 3 + 240 + 30 + components
    assert len(sent) <= math.ceil(n / 50) + 10, Counter(sent)


def test_swapped_inputs_land_on_each_entry_with_and_without_learned_membership(
    recorded: tuple[Any, Recording], tmp_path: Path
) -> None:
    """The first re-run knows only what each create sent; the second also which component is whose. Both
    times the swap lands on the entries the workbook names, read back entry by entry."""
    server, recording = recorded
    wb = make_workbook(tmp_path / "wb", 80, prefix=PREFIX, sources=1)  # 10 entries
    assert importer.run([wb]).ok
    api = _api(server)
    assert _entry_input(api, "batch-000000", "distance") == f"{PREFIX}:datapoints:batch-000000-distance"

    _swap_inputs(wb, "batch-000000", "batch-000001", "distance")
    recording.take()
    swapped = importer.run([wb])
    assert swapped.ok
    assert not [r for r in recording.take() if r[2] == ("ghg_entry_id",) and r[0] == "GET"]  # matched, not listed
    assert _entry_input(api, "batch-000000", "distance") == f"{PREFIX}:datapoints:batch-000001-distance"
    assert _entry_input(api, "batch-000001", "distance") == f"{PREFIX}:datapoints:batch-000000-distance"
    updated = {o.ref for r in swapped.results for o in r.objects if o.status == "updated"}
    assert updated == {"batch-000000", "batch-000001"}

    _swap_inputs(wb, "batch-000000", "batch-000001", "distance")  # back, now with membership remembered
    assert importer.run([wb]).ok
    assert _entry_input(api, "batch-000000", "distance") == f"{PREFIX}:datapoints:batch-000000-distance"
    assert _entry_input(api, "batch-000001", "distance") == f"{PREFIX}:datapoints:batch-000001-distance"


def test_a_component_changed_outside_the_importer_is_put_back(recorded: tuple[Any, Recording], tmp_path: Path) -> None:
    server, _ = recorded
    wb = make_workbook(tmp_path / "wb", 80, prefix=PREFIX, sources=1)
    assert importer.run([wb]).ok and importer.run([wb]).ok  # the second run has learned which component is whose
    api = _api(server)
    entry = next(e for e in _all(api, "/ghg_entries") if e["supplier_reference_id"] == f"{PREFIX}:entries:batch-000003")
    comp = next(
        c
        for c in _all(api, "/components", ghg_entry_id=entry["id"])
        if any(i["input_key"] == "distance" for i in c["inputs"])
    )
    other = next(
        d
        for d in _all(api, "/datapoints", project_id="prj_1SBXBIOCHAR00001")
        if d["supplier_reference_id"] == f"{PREFIX}:datapoints:batch-000007-distance"
    )

    def body(item: dict[str, Any]) -> dict[str, Any]:
        if item["input_key"] == "distance":
            return {"__typename": "CreateComponentScalarInput", "input_key": "distance", "datapoint_id": other["id"]}
        if "datapoint_ids" in item:
            return {
                "__typename": "CreateComponentListInput",
                "input_key": item["input_key"],
                "datapoint_ids": item["datapoint_ids"],
            }
        return {
            "__typename": "CreateComponentScalarInput",
            "input_key": item["input_key"],
            "datapoint_id": item["datapoint_id"],
        }

    inputs = [body(i) for i in comp["inputs"]]
    assert api.patch(f"/components/{comp['id']}", json={"inputs": inputs}).status_code == 200
    assert _entry_input(api, "batch-000003", "distance") == f"{PREFIX}:datapoints:batch-000007-distance"

    planned = importer.plan([wb])
    changed = {o.ref: o.changes for r in planned.results for o in r.objects if o.status == "update"}
    assert changed == {"batch-000003": ["inputs.distance"]}
    assert importer.run([wb]).ok
    assert _entry_input(api, "batch-000003", "distance") == f"{PREFIX}:datapoints:batch-000003-distance"


def _save_plan(wb: Path, path: Path, server: Any) -> Path:
    planned = importer.plan([wb])
    assert planned.verdict is Verdict.OK
    return saved_plans.save(planned.plans, path, api_url=server.base_url)


def test_a_plan_saved_without_knowledge_applies_where_it_is_known(
    recorded: tuple[Any, Recording], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a machine knows changes how the registry is read, never what a plan compares: a plan made on a
    fresh machine (every entry listed) applies on the machine that ran the import, and the other way round."""
    wb = copy_samples(tmp_path)
    here = tmp_path / "here-home"
    monkeypatch.setenv("ISOMETRIC_IMPORTER_HOME", str(here))
    assert importer.run([wb]).ok and importer.run([wb]).ok
    monkeypatch.setenv("ISOMETRIC_IMPORTER_HOME", str(tmp_path / "fresh-home"))
    saved = _save_plan(wb, tmp_path / "plan.json", recorded[0])
    monkeypatch.setenv("ISOMETRIC_IMPORTER_HOME", str(here))
    applied = importer.apply(saved)
    assert applied.verdict is Verdict.OK, applied.stopped
    again = _save_plan(wb, tmp_path / "plan-here.json", recorded[0])
    monkeypatch.setenv("ISOMETRIC_IMPORTER_HOME", str(tmp_path / "another-fresh-home"))
    assert importer.apply(again).verdict is Verdict.OK


def test_another_workbooks_import_in_the_project_leaves_a_saved_plan_valid(
    recorded: tuple[Any, Recording], tmp_path: Path
) -> None:
    """A saved plan depends on its own objects, its prefix's and its statement's: an import of another month
    (another prefix, same project) between plan and apply does not invalidate it; a change to one of its own
    objects does."""
    server, _ = recorded
    october = make_workbook(tmp_path / "oct", 80, prefix="oct", sources=1)
    november = make_workbook(tmp_path / "nov", 80, prefix="nov", sources=1, month=dt.date(2026, 11, 1))
    assert importer.run([october]).ok
    saved = _save_plan(october, tmp_path / "october.json", server)
    assert importer.run([november]).ok  # someone imports November meanwhile
    applied = importer.apply(saved)
    assert applied.verdict is Verdict.OK, applied.stopped

    api = _api(server)
    dp = next(
        d
        for d in _all(api, "/datapoints", project_id="prj_1SBXBIOCHAR00001")
        if d["supplier_reference_id"] == "oct:datapoints:batch-000000-distance"
    )
    assert api.patch(f"/datapoints/{dp['id']}", json={"display_name": "changed in the UI"}).status_code == 200
    refused = importer.apply(saved)
    assert refused.verdict is Verdict.FAILED
    assert [s.message.rsplit(": ", 1)[-1] for s in refused.stopped] == ["oct:datapoints:batch-000000-distance changed"]


def _cells(workbook: Path, sheet: str, *columns: str) -> list[tuple[Any, ...]]:
    rows = openpyxl.load_workbook(workbook, read_only=True)[sheet].iter_rows(values_only=True)
    head = list(next(rows))
    return [tuple(r[head.index(c)] for c in columns) for r in rows if r[0] is not None]


class _Segments:
    """A `progress` factory for importer.run: called as each workbook of a batch starts, it closes the previous
    workbook's share of the recorded requests (and runs `at_start(n)` first, for an outside change)."""

    def __init__(self, recording: Recording, at_start: Any = None) -> None:
        self.recording, self.at_start = recording, at_start
        self.done: list[dict[str, list[bool]]] = []
        recording.take()

    def close(self) -> None:
        self.done.append(
            {kind: self.recording.listings(kind) for kind in ("/datapoints", "/components", "/ghg_entries")}
        )
        self.recording.take()

    def __call__(self) -> Any:
        if self.at_start is not None:
            self.at_start(len(self.done))
        return self

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: None


def test_a_batch_lists_the_project_once_then_only_what_is_new(recorded: tuple[Any, Recording], tmp_path: Path) -> None:
    """Three months in one batch: the first workbook lists the project's datapoints and components whole, the
    next ones continue from the cursor where the last listing ended (issue #15, month batch). What lands is
    read back and compared with the cells; a re-run of the batch finds everything unchanged."""
    server, recording = recorded
    months = [
        make_workbook(
            tmp_path / f"m{n}",
            80,
            prefix=f"m{n}",
            sources=1,
            month=dt.date(2026, 9 + n, 1),
            name=f"2026-{9 + n:02d}.xlsx",
        )
        for n in range(3)
    ]
    segments = _Segments(recording)
    outcome = importer.run(months, progress=segments)
    assert outcome.verdict is Verdict.OK and len(outcome.results) == 3
    assert {o.status for r in outcome.results for o in r.objects} == {"created"}
    for listed in segments.done:
        assert listed["/datapoints"] and listed["/components"]
    assert [s["/datapoints"][0] for s in segments.done] == [False, True, True]
    # the project held no component before the first workbook: no cursor to continue from until the second
    assert [s["/components"][0] for s in segments.done] == [False, False, True]
    assert not any(after is False for s in segments.done[1:] for after in s["/datapoints"])
    assert not any(after is False for s in segments.done[2:] for after in s["/components"])
    # the organisation's GHG entries likewise: none before the first workbook, then only what is new
    assert [s["/ghg_entries"][0] for s in segments.done] == [False, False, True]
    assert not any(after is False for s in segments.done[2:] for after in s["/ghg_entries"])

    api = _api(server)
    held = {
        d["supplier_reference_id"]: d
        for d in _all(api, "/datapoints", project_id="prj_1SBXBIOCHAR00001")
        if d["supplier_reference_id"]
    }
    for n, workbook in enumerate(months):
        expected = {
            f"m{n}:datapoints:{ref}": (float(magnitude), unit)
            for ref, magnitude, unit in _cells(workbook, "datapoints", "ref", "magnitude", "unit")
        }
        mine = {srid: d for srid, d in held.items() if srid.startswith(f"m{n}:")}
        assert len(expected) == 80
        assert {srid: (d["quantity"]["magnitude"], d["quantity"]["unit"]) for srid, d in mine.items()} == expected
    entries = [e for e in _all(api, "/ghg_entries") if e["supplier_reference_id"].startswith("m")]
    assert Counter(e["supplier_reference_id"].split(":")[0] for e in entries) == {"m0": 10, "m1": 10, "m2": 10}

    again = _Segments(recording)
    rerun = importer.run(months, progress=again)
    assert rerun.verdict is Verdict.OK
    assert {o.status for r in rerun.results for o in r.objects} == {"unchanged"}
    assert [s["/datapoints"][0] for s in again.done] == [False, True, True]


def test_a_batch_reads_whole_again_when_an_outside_delete_breaks_the_count(
    recorded: tuple[Any, Recording], tmp_path: Path
) -> None:
    """Between two workbooks of a batch someone deletes one of the second workbook's datapoints: the count
    the server gives no longer adds up, the listing is read whole again, and the datapoint is made again."""
    server, recording = recorded
    october = make_workbook(tmp_path / "oct", 80, prefix="oct", sources=1, name="2026-10.xlsx")
    november = make_workbook(
        tmp_path / "nov",
        40,
        prefix="nov",
        sources=1,
        month=dt.date(2026, 11, 1),
        entries_too=False,
        name="2026-11.xlsx",
    )  # a batch takes them by name
    assert importer.run([november]).ok
    api = _api(server)
    victim = next(
        d
        for d in _all(api, "/datapoints", project_id="prj_1SBXBIOCHAR00001")
        if d["supplier_reference_id"] == "nov:datapoints:batch-000002-meter-a"
    )

    def outside(started: int) -> None:
        if started == 1:  # november is next: october's run has listed and written
            assert api.delete(f"/datapoints/{victim['id']}").status_code == 204

    segments = _Segments(recording, outside)
    outcome = importer.run([october, november], progress=segments)
    assert outcome.verdict is Verdict.OK
    second = segments.done[1]["/datapoints"]
    assert second[0] is True and False in second  # tried from the cursor, then read whole
    made = [o.ref for o in outcome.results[1].objects if o.status == "created"]
    assert made == ["batch-000002-meter-a"]
    back = next(
        d
        for d in _all(api, "/datapoints", project_id="prj_1SBXBIOCHAR00001")
        if d["supplier_reference_id"] == "nov:datapoints:batch-000002-meter-a"
    )
    expected = next(m for r, m in _cells(november, "datapoints", "ref", "magnitude") if r == "batch-000002-meter-a")
    assert back["id"] != victim["id"] and back["quantity"]["magnitude"] == float(expected)


def test_what_a_batch_carries_is_what_a_whole_listing_gives_after_updates(
    recorded: tuple[Any, Recording], tmp_path: Path
) -> None:
    """After a run that updated datapoints and rebound entries' components, the listings a batch carries to its
    next workbook equal, object for object and in order, what listing the project (the organisation's entries)
    whole gives."""
    from importer import runner
    from importer.settings import api_target
    from importer.workbook.validate import validate_workbook

    wb = make_workbook(tmp_path / "wb", 80, prefix="carry", sources=1)
    assert importer.run([wb]).ok
    book = openpyxl.load_workbook(wb)
    sheet = book["datapoints"]
    head = [c.value for c in sheet[1]]
    sheet.cell(row=2, column=head.index("magnitude") + 1).value = 1234.5  # an update
    sheet.cell(row=3, column=head.index("description") + 1).value = "re-measured"  # another
    book.save(wb)
    _swap_inputs(wb, "batch-000000", "batch-000001", "distance")  # two component updates
    validation = validate_workbook(wb)
    assert validation.ok
    with runner.api_session(api_target(None)) as session:
        result = runner.import_workbook(validation, session, runner.ImportOptions(mode="run", prune=True))
        assert result.ok
        statuses = Counter((o.kind, o.status) for o in result.objects)
        assert statuses[("datapoint", "updated")] == 2 and statuses[("ghg_entry", "updated")] == 2
        client, project = session.client, "prj_1SBXBIOCHAR00001"
        for kind, whole in (
            ("datapoint", client.list_datapoints(project_id=project)),
            ("component", client.list_components(project_id=project)),
            ("ghg_entry", client.list_ghg_entries()),
        ):
            assert session.listings.read(client, kind, project) == whole
        # datapoints were brought up to date from the run's answers; rebound components, and the entries whose
        # figures they feed, are read whole again
        assert session.listings.reads == {"whole": 5, "since": 1, "again": 0}


def test_what_a_batch_carries_drops_what_the_run_pruned(recorded: tuple[Any, Recording], tmp_path: Path) -> None:
    """A datapoint whose row was deleted is pruned (`--prune`): the listing carried to the next workbook no
    longer holds it, exactly as a whole listing does not."""
    from importer import runner
    from importer.settings import api_target
    from importer.workbook.validate import validate_workbook

    wb = make_workbook(tmp_path / "wb", 16, prefix="pruned", sources=1, entries_too=False)
    assert importer.run([wb]).ok
    book = openpyxl.load_workbook(wb)
    book["datapoints"].delete_rows(5)
    book.save(wb)
    validation = validate_workbook(wb)
    assert validation.ok
    with runner.api_session(api_target(None)) as session:
        client, project = session.client, "prj_1SBXBIOCHAR00001"
        session.listings.read(client, "datapoint", project)  # what the batch's earlier workbook listed
        result = runner.import_workbook(validation, session, runner.ImportOptions(mode="run", prune=True))
        assert result.ok and [o.status for o in result.objects if o.status != "unchanged"] == ["deleted"]
        whole = client.list_datapoints(project_id=project)
        assert session.listings.read(client, "datapoint", project) == whole
        assert session.listings.reads["again"] == 0


def _entries_as_held(api: httpx.Client) -> dict[str, tuple[str | None, float | None]]:
    """supplier_reference_id -> (statement, CO2e) of every GHG entry the server holds, read with plain httpx."""
    return {
        e["supplier_reference_id"]: (e["ghg_statement_id"], e["co2e_net_removed_kg"]) for e in _all(api, "/ghg_entries")
    }


def test_a_batch_carries_the_entries_and_each_months_statement_files_only_its_own(
    recorded: tuple[Any, Recording], tmp_path: Path
) -> None:
    """Three monthly workbooks, each with its statement, in one batch: from the third on the organisation's
    entries are read from the cursor only, and what a workbook planned against is what the server holds: each
    month's entries filed in that month's statement, read back over HTTP."""
    server, recording = recorded
    months = [
        make_workbook(
            tmp_path / f"s{n}",
            40,
            prefix=f"s{n}",
            sources=1,
            month=dt.date(2026, 9 + n, 1),
            statement_end_on=f"2026-{9 + n:02d}-{(30, 31, 30)[n]}",
            name=f"2026-{9 + n:02d}.xlsx",
        )
        for n in range(3)
    ]
    segments = _Segments(recording)
    outcome = importer.run(months, progress=segments)
    assert outcome.verdict is Verdict.OK and len(outcome.results) == 3
    statements = [r.statement["id"] for r in outcome.results]
    assert len(set(statements)) == 3 and all(statements)
    assert [s["/ghg_entries"][0] for s in segments.done] == [False, False, True]
    assert not any(after is False for s in segments.done[2:] for after in s["/ghg_entries"])
    held = _entries_as_held(_api(server))
    for n, statement in enumerate(statements):
        mine = {srid: filed for srid, (filed, _) in held.items() if srid.startswith(f"s{n}:")}
        assert len(mine) == 5 and set(mine.values()) == {statement}
    # the plan of each later month saw the earlier months' entries as the server held them then: filed
    for n, result in enumerate(outcome.results):
        elsewhere = [e for e in result.statement_entries if e["group"] == "elsewhere"]
        assert elsewhere == [], (n, elsewhere)


def test_a_statement_filing_entries_listed_earlier_makes_the_next_read_whole(
    recorded: tuple[Any, Recording], tmp_path: Path
) -> None:
    """October's entries are imported without a statement; then a workbook whose statement covers October files
    them. The entries carried to the next workbook must say so (read whole again, not from the cursor): what a
    batch carries equals what listing the entries whole gives, statement for statement."""
    from importer import runner
    from importer.settings import api_target
    from importer.workbook.validate import validate_workbook

    server, _ = recorded
    unfiled = make_workbook(tmp_path / "a", 40, prefix="a", sources=1)
    filing = make_workbook(tmp_path / "b", 40, prefix="b", sources=1, statement_end_on="2026-10-31")
    with runner.api_session(api_target(None)) as session:
        client = session.client
        for workbook in (unfiled, filing):
            validation = validate_workbook(workbook)
            assert runner.import_workbook(validation, session, runner.ImportOptions(mode="run")).ok
        carried = session.listings.read(client, "ghg_entry", "prj_1SBXBIOCHAR00001")
        assert carried == client.list_ghg_entries()
    held = _entries_as_held(_api(server))
    filed = {statement for srid, (statement, _) in held.items() if srid.startswith(("a:", "b:"))}
    assert len(filed) == 1 and None not in filed  # the server did file October's earlier entries too
    assert {e.supplier_reference_id: e.ghg_statement_id for e in carried} == {
        srid: statement for srid, (statement, _) in held.items()
    }
