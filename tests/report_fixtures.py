"""A realistic RunResult with every kind and status, two entries with lineage, a statement, and hostile cell
text in refs, errors and names, for report tests. Failed rows carry the typed failure that importer.failures
makes of the API's own errors (`error_for`, `ServerError`), never a message written for the report to parse;
tests/test_typed_errors.py checks the same from real runs."""

from __future__ import annotations

import datetime as dt
import zlib

from importer.api.errors import ServerError, error_for
from importer.failures import conflict, failure_of
from importer.results import (
    ComponentLineage,
    DatapointLineage,
    EntryLineage,
    InputLineage,
    ObjectOutcome,
    RunResult,
    SourceLineage,
)

SCRIPT = "<script>window.__pwned=1</script>"
IMG = '"><img src=x onerror="window.__pwned=2">'
FORMULA = "=cmd|' /C calc'!A0"


def _kind_names() -> dict[str, tuple[str, str]]:
    """What the runner gives every result: the registered kinds' names for people."""
    from importer.planning import kinds

    return {kind.name: (kind.noun, kind.label) for kind in kinds.REGISTERED}


def _failed(outcome: ObjectOutcome, exc: BaseException, *, elapsed: float | None = 0.4) -> ObjectOutcome:
    """`outcome` failed with `exc`, as importer.applying records it: the API's message as text and the typed
    failure the client's error carries (status, request id, the field a 422 names)."""
    failure = failure_of(exc, sheet=outcome.sheet, elapsed_seconds=elapsed)
    outcome.status, outcome.error, outcome.failure = "failed", failure.message, failure
    return outcome


def hostile_result(*, embedded: bool = True) -> RunResult:
    start = dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC)
    objects = [
        ObjectOutcome(
            "sources", 2, "weighbridge", "source", "demo:sources:weighbridge:abc", "src_1AAAAAAAAAAAAAAA", "created"
        ),
        _failed(
            ObjectOutcome("sources", 3, SCRIPT, "source", "demo:sources:x", None, "failed"),
            error_for(
                422,
                [{"loc": ["body", "display_name"], "msg": IMG, "type": "value_error"}],
                method="POST",
                url="http://127.0.0.1:8765/mrv/v0/sources",
            ),
        ),
        ObjectOutcome(
            "datapoints",
            2,
            "biochar-mass",
            "datapoint",
            "demo:datapoints:biochar-mass",
            "dtp_1AAAAAAAAAAAAAAA",
            "updated",
            changes=["quantity"],
        ),
        ObjectOutcome(
            "datapoints",
            3,
            FORMULA,
            "datapoint",
            "demo:datapoints:f",
            None,
            "blocked",
            blocked_by=f"sources row 3 ({SCRIPT})",
        ),
        ObjectOutcome(
            "datapoints",
            4,
            "locked-dp",
            "datapoint",
            "demo:datapoints:locked-dp",
            "dtp_1BBBBBBBBBBBBBBB",
            "conflict",
            error="datapoint is locked (locked_used_in_verified_removal)",
            failure=conflict("datapoint is locked (locked_used_in_verified_removal)"),
        ),
        ObjectOutcome("entries", 2, "batch-1", "ghg_entry", "demo:entries:batch-1", "rmv_1AAAAAAAAAAAAAAA", "created"),
        ObjectOutcome(
            "entries", 3, "batch-2", "ghg_entry", "demo:entries:batch-2", "rmv_1BBBBBBBBBBBBBBB", "unchanged"
        ),
        ObjectOutcome("project", None, "statement_end_on", "ghg_statement", None, "ggs_1AAAAAAAAAAAAAAA", "created"),
    ]
    source = SourceLineage("weighbridge", "src_1AAAAAAAAAAAAAAA", "Weighbridge", "weighbridge.pdf", "ab" * 32)
    lineage = [
        EntryLineage(
            "batch-1",
            "rmv_1AAAAAAAAAAAAAAA",
            "created",
            "rvt_1SBXPRODBATCH001",
            "Monthly production batch",
            "2026-10-01",
            "2026-10-15",
            6532.4,
            components=[
                ComponentLineage(
                    "Biochar sequestration",
                    "biochar-sequestration",
                    "sequestration",
                    "template",
                    1.0,
                    inputs=[
                        InputLineage(
                            "biochar_mass",
                            "monitored",
                            [
                                DatapointLineage(
                                    "biochar-mass", "dtp_1AAAAAAAAAAAAAAA", f"Biochar {SCRIPT}", 4.21, "t", [source]
                                )
                            ],
                        ),
                        InputLineage(
                            "permanence_factor",
                            "fixed",
                            [DatapointLineage(None, "dtp_1SBXFIXEDPERMAN01", "Permanence", 0.8, "dimensionless")],
                        ),
                    ],
                ),
                ComponentLineage("Site generator diesel", "fuel-combustion", "energy-use", "extra", 0.5),
            ],
        ),
        EntryLineage(
            "batch-2",
            "rmv_1BBBBBBBBBBBBBBB",
            "unchanged",
            "rvt_1SBXFIELDAPPL001",
            "Field application",
            "2026-10-16",
            "2026-10-31",
            -183.8,
        ),
    ]
    return RunResult(
        kind_names=_kind_names(),
        run_id="20261124T100000Z-abc123",
        mode="run",
        workbook_path=f"/data/{SCRIPT}.xlsx",
        workbook_sha256="cd" * 32,
        tool_version="0.1.0",
        api_url="http://127.0.0.1:8765/mrv/v0",
        environment="local sandbox (embedded)",
        embedded_sandbox=embedded,
        operator="analyst",
        started_at=start,
        finished_at=start + dt.timedelta(seconds=12),
        objects=objects,
        lineage=lineage,
        statement={
            "id": "ggs_1AAAAAAAAAAAAAAA",
            "status": "DRAFT",
            "reporting_period_start_at": "2026-10-01",
            "reporting_period_end_at": "2026-10-31",
            "pending_total_co2e_removed_kg": 6348.6,
            "ghg_entry_ids": ["rmv_1AAAAAAAAAAAAAAA", "rmv_1BBBBBBBBBBBBBBB"],
        },
        messages=[f"note with {IMG}"],
    )


# -- the three runs the browser proof screenshots, and a big one -------------------------------------------------
# Only today's RunResult fields, except where a fixture says it sets a field requested from importer/results.py
# (set with setattr: the report reads those with getattr and shows them when present).

T0 = dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC)
API = "https://api.sandbox.isometric.com/mrv/v0"
PREFIX = "acme-biochar"


def _src(i: int) -> SourceLineage:
    return SourceLineage(
        f"meter-log-{i}",
        f"src_1SRC{i:011d}",
        f"Meter log {i}",
        f"meter-log-{i}.pdf",
        f"{i:02x}" * 32,
        description="Weighbridge tickets, October",
    )


def _entry(
    n: int,
    status: str,
    co2e: float | None,
    *,
    template: str = "Monthly production batch",
    day: int = 1,
    month: int = 10,
    distance: float = 46.0,
) -> EntryLineage:
    ref = f"batch-{n:04d}"
    dps = [
        ("Feedstock road transport", "distance", f"{ref}-distance", distance, "km"),
        ("Feedstock road transport", "mass", f"{ref}-feedstock-delivered", 18.2, "t"),
        ("Biochar sequestration", "biochar_mass", f"{ref}-biochar-mass", 4.21, "t"),
        ("Biochar sequestration", "organic_carbon_fraction", f"{ref}-organic-carbon", 0.78, "dimensionless"),
    ]
    comps: dict[str, ComponentLineage] = {}
    for comp, key, dp_ref, value, unit in dps:
        c = comps.setdefault(
            comp, ComponentLineage(comp, comp.lower().replace(" ", "-"), "production", "template", 1.0)
        )
        c.inputs.append(
            InputLineage(
                key,
                "monitored",
                [
                    DatapointLineage(
                        dp_ref,
                        f"dtp_1D{n:05d}{len(c.inputs):02d}{zlib.crc32(dp_ref.encode()) % 10**7:07d}",
                        dp_ref.replace("-", " "),
                        value,
                        unit,
                        [_src(n % 3)],
                    )
                ],
            )
        )
    return EntryLineage(
        ref,
        f"rmv_1E{n:014d}" if status not in ("failed", "blocked") else None,
        status,
        "rvt_1SBXPRODBATCH001",
        template,
        f"2026-{month:02d}-{day:02d}",
        f"2026-{month:02d}-{min(day + 14, 28):02d}",
        co2e,
        components=list(comps.values()),
    )


def _objects_for(entries: list[EntryLineage], statuses: dict[str, str] | None = None) -> list[ObjectOutcome]:
    statuses = statuses or {}
    objects: list[ObjectOutcome] = []
    for i in range(3):
        s = _src(i)
        objects.append(
            ObjectOutcome(
                "sources",
                2 + i,
                s.ref,
                "source",
                f"{PREFIX}:sources:{s.ref}",
                s.id,
                statuses.get(s.ref or "", "created"),
            )
        )
    row = 2
    for e in entries:
        for c in e.components:
            for inp in c.inputs:
                for d in inp.datapoints:
                    objects.append(
                        ObjectOutcome(
                            "datapoints",
                            row,
                            d.ref,
                            "datapoint",
                            f"{PREFIX}:datapoints:{d.ref}",
                            d.id,
                            statuses.get(d.ref or "", "created"),
                        )
                    )
                    row += 1
    for n, e in enumerate(entries):
        objects.append(ObjectOutcome("entries", 2 + n, e.ref, "ghg_entry", f"{PREFIX}:entries:{e.ref}", e.id, e.status))
    objects.append(
        ObjectOutcome("project", None, "statement_end_on", "ghg_statement", None, "ggs_1STATEMENT000001", "created")
    )
    return objects


def _statement(total: float, n: int) -> dict:
    return {
        "id": "ggs_1STATEMENT000001",
        "status": "DRAFT",
        "reporting_period_start_at": "2026-10-01",
        "reporting_period_end_at": "2026-10-31",
        "pending_total_co2e_removed_kg": total,
        "ghg_entry_ids": [f"rmv_1E{i:014d}" for i in range(n)],
    }


def _run(objects, lineage, statement, **kw) -> RunResult:
    return RunResult(
        kind_names=_kind_names(),
        run_id="20261124T100000Z-c1ea70",
        mode="run",
        workbook_path="/data/acme-biochar-2026-10.xlsx",
        workbook_sha256="9f" * 32,
        tool_version="0.1.0",
        api_url="https://api.sandbox.isometric.com/mrv/v0",
        environment="Isometric sandbox",
        embedded_sandbox=False,
        operator="analyst",
        started_at=T0,
        finished_at=T0 + dt.timedelta(seconds=41),
        objects=objects,
        lineage=lineage,
        statement=statement,
        **kw,
    )


def clean_result() -> RunResult:
    """Everything created. Sets two fields requested from results.py on the entries: the API's standard
    deviation and the template's credit type (a reduction entry with a negative net figure)."""
    entries = [
        _entry(0, "created", 6532.4),
        _entry(1, "created", 5210.9, day=15),
        _entry(2, "created", -183.8, template="Field application", day=20),
    ]
    for e, sd, credit in zip(entries, (412.0, 365.5, 21.3), ("REMOVAL", "REMOVAL", "REDUCTION"), strict=True):
        e.co2e_net_removed_standard_deviation_kg = sd  # type: ignore[attr-defined]
        e.credit_type = credit  # type: ignore[attr-defined]
    return _run(_objects_for(entries), entries, _statement(18940.0, 5))


def updates_result() -> RunResult:
    """A re-run after the field team corrected a distance: one datapoint updated, the rest unchanged. Today's
    fields only: the new value comes from the lineage, the previous value is not recorded."""
    entries = [_entry(0, "unchanged", 6498.1, distance=52.5), _entry(1, "unchanged", 5210.9, day=15)]
    objects = _objects_for(entries, {})
    for o in objects:
        o.status = "unchanged" if o.status == "created" else o.status
    dist = next(o for o in objects if o.ref == "batch-0000-distance")
    dist.status, dist.changes = "updated", ["quantity"]
    note = next(o for o in objects if o.ref == "meter-log-1")
    note.status, note.changes = "updated", ["display_name"]
    return _run(objects, entries, _statement(11709.0, 2))


def failures_result() -> RunResult:
    """Seven rows need attention: a source refused (422) blocking its datapoint, entry and the entry's component
    chain; a datapoint failed on a transient 503; a locked datapoint in conflict."""
    entries = [_entry(0, "created", 6532.4), _entry(1, "blocked", None, day=15), _entry(2, "created", 5102.7, day=20)]
    objects = _objects_for(entries)
    src = next(o for o in objects if o.ref == "meter-log-1")
    src.id = None
    refusal = error_for(
        422,
        [
            {
                "loc": ["body", "display_name"],
                "msg": "String should have at most 100 characters",
                "type": "string_too_long",
            }
        ],
        method="POST",
        url=f"{API}/sources",
        request_id="req_7f3a9c21e4",
    )
    refusal.attempts = 1  # as the client records them: the answer's X-Request-Id, the times it sent the request
    _failed(src, refusal, elapsed=0.3)
    blocked_dp = next(o for o in objects if o.ref == "batch-0001-distance")
    blocked_dp.status, blocked_dp.id, blocked_dp.blocked_by = "blocked", None, "sources row 3 (meter-log-1)"
    blocked_dp2 = next(o for o in objects if o.ref == "batch-0001-feedstock-delivered")
    blocked_dp2.status, blocked_dp2.id, blocked_dp2.blocked_by = "blocked", None, "sources row 3 (meter-log-1)"
    entry = next(o for o in objects if o.ref == "batch-0001")
    entry.status, entry.blocked_by = "blocked", "datapoints row 6 (batch-0001-distance)"
    flaky = next(o for o in objects if o.ref == "batch-0002-biochar-mass")
    flaky.id = None
    unavailable = ServerError(
        "Service unavailable",
        status=503,
        detail="Service unavailable",
        method="POST",
        url=f"{API}/datapoints",
        request_id="req_5c01d2e3f4",
    )
    unavailable.attempts = 6
    _failed(flaky, unavailable, elapsed=21.7)
    locked = next(o for o in objects if o.ref == "batch-0000-organic-carbon")
    locked.status = "conflict"
    locked.changes = ["quantity"]
    locked.error = (
        "datapoint is locked (locked_used_in_verified_removal) and cannot change (quantity): "
        "keep 0.78 in datapoints!E5 or ask Isometric to unlock it"
    )
    locked.failure = conflict(locked.error)
    comp = ObjectOutcome(
        "components",
        4,
        "batch-0001/Biochar sequestration",
        "component",
        f"{PREFIX}:components:batch-0001-seq",
        None,
        "blocked",
        blocked_by="entries row 3 (batch-0001)",
    )
    objects.insert(-1, comp)
    return _run(
        objects,
        entries,
        _statement(11635.1, 2),
        messages=["2 entries of the statement period were not touched by this workbook"],
    )


def big_result(n_objects: int = 2000) -> RunResult:
    """About `n_objects` rows: 4 datapoints per entry, 3 sources; a few failures, many months."""
    n_entries = max(1, (n_objects - 4) // 5)
    entries = [
        _entry(i, "created", 900.0 + (i * 37) % 500 - (300 if i % 17 == 0 else 0), day=1 + i % 14, month=1 + i % 12)
        for i in range(n_entries)
    ]
    objects = _objects_for(entries)
    _failed(objects[10], error_for(504, "Gateway Timeout", method="POST", url=f"{API}/datapoints"))
    return _run(objects, entries, _statement(sum(e.co2e_net_removed_kg or 0 for e in entries), n_entries))
