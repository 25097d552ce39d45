"""Planning: what a run would do, as an immutable `Plan` of typed actions (see `importer.planning.model`).

One module per kind of object owns its desired state (built from the workbook's rows), its diff against the
registry, how its actions are applied and its lineage: `sources`, `datapoints`, `feedstock_types`,
`ghg_entries`, `components`, `attributions`, `statements`. This module runs them in dependency order, blocks
what depends on a conflict, and lists the orphans: objects the workbook's earlier runs could have made (their
supplier_reference_id is exactly one the identity rule derives under its prefix, `importer.identity.owned_by`)
that the workbook no longer defines (with `prune`, planned for deletion in reverse dependency order). Another
workbook's objects are never orphans of this one, even when its prefix starts with this one's (`acme` and
`acme:2026-10`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, cast

from importer import process_wide
from importer.context import ProjectContext
from importer.identity import owned_by, reference_for
from importer.planning import ghg_entries, kinds, registry
from importer.planning.carried import CarriedListings
from importer.planning.common import Planning, enum_text, template_component_of
from importer.planning.known import Known, resolve_from_knowledge
from importer.planning.model import (
    STATEMENT_KEY,
    SUBMITTED_STATUSES,
    Action,
    EvidenceFingerprint,
    Key,
    Orphan,
    Plan,
    StatementEntry,
)
from importer.planning.registry import RegistryState, fetch_entry_details
from importer.planning.statements import SUBMISSION, StatementPayload
from importer.workbook.model import Workbook

if TYPE_CHECKING:  # the API client loads lazily (the CLI starts fast)
    from importer.api import models as m
    from importer.api.client import IsometricClient

PRUNE_ORDER = kinds.PRUNE_ORDER  # orphans are deleted in this order (what uses an object goes first)


@dataclasses.dataclass(frozen=True)
class DeletePayload:
    """An orphan to delete (`--prune`)."""

    co2e_net_removed_kg: float | None = None


def context_fingerprint(ctx: ProjectContext) -> str:
    def plain(value: m.Response) -> dict[str, object] | str:  # a stand-in without model_dump: its text
        return value.model_dump(mode="json") if hasattr(value, "model_dump") else str(value)

    text = json.dumps(
        {
            "templates": [plain(t) for t in ctx.templates],
            "blueprints": {k: plain(v) for k, v in sorted(ctx.blueprints.items())},
            "feedstock_types": sorted((plain(t) for t in ctx.feedstock_types), key=lambda t: t["id"]),
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def block_dependants(actions: list[Action]) -> list[Action]:
    """A conflict blocks everything that depends on it, transitively (actions are in dependency order)."""
    bad: dict[Key, Action] = {}
    out = []
    for action in actions:
        if action.op in ("conflict", "blocked"):
            bad[action.key] = action
            out.append(action)
            continue
        culprit = next((bad[d] for d in action.depends_on if d in bad), None)
        if culprit is not None:
            action = dataclasses.replace(action, op="blocked", blocked_by=culprit.where)
            bad[action.key] = action
        out.append(action)
    return out


def find_orphans(p: Planning) -> list[Orphan]:
    """Objects this workbook's earlier runs could have made (`owned_by`: `<prefix>:<sheet of the kind>:<ref>`,
    sources with their hash) that it no longer defines. Not `startswith(prefix + ":")`: a prefix may hold `:`,
    and `acme` must not claim what `acme:2026-10` made. Where this machine's run history says which prefixes'
    runs made a reference (`made_under_of`), one made only under other prefixes (another workbook's row whose own
    supplier_reference_id looks like one of ours) is not an orphan either."""
    defined = set(p.srids.values())
    made_under = made_under_of(p.state)
    submitted = {s.id for s in p.state.statements if enum_text(s.status) in SUBMITTED_STATUSES}
    out: list[Orphan] = []
    # only kinds the importer creates under the workbook's references (not feedstock types: the API creates none)
    tables = [(k.name, p.state.table(k.registry)) for k in kinds.REGISTERED if k.owned and k.registry is not None]
    for kind, table in tables:
        for srid, obj in sorted(table.items()):
            if srid in defined or not owned_by(p.prefix, srid, kind):
                continue
            if p.prefix not in made_under.get(srid, (p.prefix,)):  # only other prefixes' runs made it here
                continue
            why = None
            entry = cast("m.GhgEntry", obj) if kind == "ghg_entry" else None
            datapoint = cast("m.Datapoint", obj) if kind == "datapoint" else None
            if datapoint is not None and enum_text(datapoint.locked_status) != "not_locked":
                why = f"locked ({enum_text(datapoint.locked_status)})"
            if kind == "ghg_entry" and entry is not None and entry.ghg_statement_id in submitted:
                why = f"in submitted statement {entry.ghg_statement_id}"
            out.append(
                Orphan(
                    kind=kind,
                    id=obj.id,
                    supplier_reference_id=srid,
                    co2e_net_removed_kg=entry.co2e_net_removed_kg if entry is not None else None,
                    completed_on=str(entry.completed_on) if entry is not None and entry.completed_on else None,
                    deletable=why is None,
                    why_not=why,
                )
            )
    return out


#: where a snapshot keeps which prefixes' runs made each reference (`History.known`'s `made_under`); kept in the
#: state's own __dict__ because RegistryState (importer.planning.registry) has no field for it
_MADE_UNDER = "made_under"


def made_under_of(state: RegistryState) -> Mapping[str, frozenset[str]]:
    """supplier_reference_id -> the prefixes of this machine's runs that made it (empty without a history)."""
    found: Mapping[str, frozenset[str]] = state.__dict__.get(_MADE_UNDER, {})
    return found


def _prune_actions(orphans: list[Orphan], planned: list[Action]) -> list[Action]:
    """Delete actions for the deletable orphans, after every planned update of entries and components (a
    re-bound input may free an orphan datapoint) and in reverse dependency order among themselves."""
    after = tuple(a.key for a in planned if a.kind in ("ghg_entry", "component", "component_attribution"))
    out: list[Action] = []
    previous: tuple[Key, ...] = ()
    for orphan in orphans:  # what cannot be deleted is a conflict that says why and what to do
        if not orphan.deletable:
            out.append(
                Action(
                    kind=orphan.kind,
                    ref=orphan.supplier_reference_id,
                    sheet="(orphan)",
                    row=None,
                    op="conflict",
                    payload=DeletePayload(orphan.co2e_net_removed_kg),
                    supplier_reference_id=orphan.supplier_reference_id,
                    existing_id=orphan.id,
                    reason=f"{orphan.kind.replace('_', ' ')} {orphan.id} is no longer in the workbook but "
                    f"cannot be deleted: it is {orphan.why_not}. Keep its row in the workbook, or "
                    "ask Isometric to withdraw it",
                )
            )
    for kind in PRUNE_ORDER:
        these = [o for o in orphans if o.kind == kind and o.deletable]
        keys = []
        for orphan in these:
            action = Action(
                kind=kind,
                ref=orphan.supplier_reference_id,
                sheet="(orphan)",
                row=None,
                op="delete",
                payload=DeletePayload(orphan.co2e_net_removed_kg),
                supplier_reference_id=orphan.supplier_reference_id,
                existing_id=orphan.id,
                depends_on=after + previous,
            )
            out.append(action)
            keys.append(action.key)
        previous += tuple(keys)
    return out


def statement_entries(
    p: Planning, statement: Action | None, orphans: list[Orphan], prune: bool
) -> list[StatementEntry]:
    """Every GHG entry the statement will hold, read from the registry and the plan, grouped: this workbook's,
    orphans of its prefix (not when pruned), and entries from elsewhere (an existing statement's other entries;
    for a new one, registry entries in the period that no statement holds yet: the API does not say which
    project an entry belongs to, so these may include other projects' and are labelled as such)."""
    if statement is None or statement.op == "conflict":
        return []
    payload = statement.payload_of(StatementPayload)
    start, end = payload.start_on or "0000-01-01", payload.end_on
    out = [
        StatementEntry("workbook", e.ref, p.existing_id("ghg_entry", e.ref), e.completed_on.isoformat())
        for e in p.wb.entries
        if start <= e.completed_on.isoformat() <= end
    ]
    ours = {p.srids.get(("ghg_entry", e.ref)) for e in p.wb.entries}
    orphan_ids = {o.id for o in orphans}
    if not prune:
        out += [
            StatementEntry("orphan", o.supplier_reference_id, o.id, o.completed_on or "", o.co2e_net_removed_kg)
            for o in orphans
            if o.kind == "ghg_entry" and o.completed_on and start <= o.completed_on <= end
        ]
    held = next((s for s in p.state.statements if s.id == statement.existing_id), None)
    by_id = {e.id: e for e in p.state.ghg_entries.values()}
    if held is not None:
        others: list[m.GhgEntry | str] = [
            by_id.get(i) or i
            for i in held.ghg_entry_ids
            if i not in orphan_ids and (by_id[i].supplier_reference_id if i in by_id else None) not in ours
        ]
    else:
        others = [
            e
            for e in p.state.ghg_entries.values()
            if e.supplier_reference_id not in ours
            and e.id not in orphan_ids
            and not e.ghg_statement_id
            and start <= str(e.completed_on) <= end
        ]
    for e in others:
        if isinstance(e, str):
            out.append(StatementEntry("elsewhere", e, e, ""))
        else:
            out.append(
                StatementEntry(
                    "elsewhere", e.supplier_reference_id or e.id, e.id, str(e.completed_on), e.co2e_net_removed_kg
                )
            )
    return out


def build_plan(
    wb: Workbook,
    ctx: ProjectContext,
    state: RegistryState,
    *,
    submit: bool,
    prune: bool = False,
    replace: bool = False,
) -> Plan:
    """The plan of a validated workbook against a registry snapshot: pure, no HTTP (the garbage collector
    paused: `importer.process_wide`). `replace`: a changed object the API cannot update is deleted and created
    anew (otherwise that is a conflict)."""
    with process_wide.paused():
        return _build_plan(wb, ctx, state, submit=submit, prune=prune, replace=replace)


def _build_plan(
    wb: Workbook, ctx: ProjectContext, state: RegistryState, *, submit: bool, prune: bool, replace: bool
) -> Plan:
    prefix = wb.project.supplier_reference_prefix or wb.project.project_id
    p = Planning(wb=wb, ctx=ctx, state=state, submit=submit, prefix=prefix, replace=replace)
    statement_actions: list[Action] = []
    for kind in kinds.REGISTERED:  # in dependency order; a kind may read (and the statement amend) what came before
        planned = kind.plan(p)
        if kind.name == STATEMENT_KEY[0]:  # the statement goes last, after any delete of the entries it would hold
            statement_actions = planned
        else:
            p.planned += planned
    actions = p.planned
    orphans = find_orphans(p)
    deletes = _prune_actions(orphans, actions) if prune else []
    actions += deletes
    entry_deletes = tuple(a.key for a in deletes if a.kind == "ghg_entry")
    for statement in statement_actions:  # the statement, and its submission when that is an action of its own
        actions.append(dataclasses.replace(statement, depends_on=statement.depends_on + entry_deletes))
    order = {kind.name: i for i, kind in enumerate(kinds.REGISTERED)}

    def rank(action: Action) -> tuple[int, int]:  # kinds in dependency order, then deletes, the statement last
        if action.kind == "ghg_statement":  # then the kinds that need it (statement components), its submission
            return (3, 0) if action.key == SUBMISSION else (2, order[action.kind])
        if order[action.kind] > order[STATEMENT_KEY[0]] and action.op != "delete":
            return (2, order[action.kind])
        pruned = action.op == "delete" and isinstance(action.payload, DeletePayload)  # a replace's stays with its kind
        return (1, 0) if pruned else (0, order[action.kind])

    actions.sort(key=rank)  # stable: workbook order within a kind, prune order among deletes
    actions = block_dependants(actions)
    held = statement_entries(p, statement_actions[0] if statement_actions else None, orphans, prune)
    defined = set(p.srids.values())
    fingerprint = state.fingerprint(
        lambda srid: srid in defined or owned_by(prefix, srid),
        frozenset(e.id for e in held if e.group == "elsewhere" and e.id),
    )
    return Plan(
        project_id=wb.project.project_id,
        prefix=prefix,
        workbook_path=str(wb.path),
        workbook_sha256=wb.sha256,
        evidence=tuple(EvidenceFingerprint(s.ref, str(s.file), s.sha256) for s in wb.sources),
        registry_fingerprint=fingerprint,
        context_fingerprint=context_fingerprint(ctx),
        actions=tuple(actions),
        submit=submit,
        messages=tuple(p.messages),
        orphans=tuple(orphans),
        statement_end_on=wb.project.statement_end_on,
        statement_entries=tuple(held),
        prune=prune,
        replace=replace,
    )


def fetch_state(
    client: IsometricClient, wb: Workbook, *, concurrency: int = 4, carried: CarriedListings | None = None
) -> RegistryState:
    """The registry's batched listings (`importer.planning.registry.fetch_state`), with those of every registered
    kind that lists itself (`Kind.listing`)."""
    return registry.fetch_state(client, wb, concurrency=concurrency, carried=carried, kinds=kinds.REGISTERED)


def manual_components(wb: Workbook, state: RegistryState) -> dict[str, str | None]:
    """The workbook's MANUAL project components: ref -> the component's ID when the registry holds it."""
    prefix = wb.project.supplier_reference_prefix or wb.project.project_id
    out: dict[str, str | None] = {}
    for c in wb.components:
        if c.scope == "project" and c.allocation_strategy == "MANUAL":
            held = state.components.get(reference_for(c.supplier_reference_id, prefix, "project_components", c.ref))
            out[c.ref] = held.id if held is not None else None
    return out


def manual_entries(wb: Workbook, state: RegistryState, known: Known) -> tuple[set[str], bool]:
    """The entries whose attributions a plan reads for the MANUAL project components' shares, and whether they are
    all of the workbook's. Every entry, unless the shares of each such component the registry holds are known
    (`Known.shares`): then the entries its sheet names and those known to carry a share (a share taken off an
    entry is found there); none without such components."""
    components = manual_components(wb, state)
    if not components:
        return set(), False
    everyone = {e.ref for e in wb.entries}
    held = [cid for cid in components.values() if cid is not None]
    if any(cid not in known.shares for cid in held):
        return everyone, True
    carrying = set().union(*(known.shares[cid] for cid in held)) if held else set()
    prefix = wb.project.supplier_reference_prefix or wb.project.project_id
    ids = {
        e.ref: entry.id
        for e in wb.entries
        for entry in [state.ghg_entries.get(reference_for(e.supplier_reference_id, prefix, "entries", e.ref))]
        if entry is not None
    }
    named = {row.entry for row in wb.project_component_attributions}
    return (named & everyone) | {ref for ref, entry_id in ids.items() if entry_id in carrying}, False


def snapshot(
    client: IsometricClient,
    listed: RegistryState,
    wb: Workbook,
    ctx: ProjectContext,
    *,
    concurrency: int = 4,
    known: Known | None = None,
) -> RegistryState:
    """The registry as this workbook's plan needs it: the batched listings (`listed`, from `fetch_state`,
    read beside the project's context), completed, for the existing entries the workbook names, with their
    components of the template components it binds. Those come from the project's component listing where
    `known` (what earlier runs learned, `importer.planning.known`) says which are whose, and otherwise from
    one listing per entry; entries whose extra components the workbook attaches or removes are always listed,
    with their attributions. The components an entry gets are the same either way (the registry fingerprint
    of a saved plan does not depend on what this machine knew)."""
    known = known or Known()
    prefix = wb.project.supplier_reference_prefix or wb.project.project_id
    state = listed
    state.uploaded_sources = known.uploaded_sources
    state.__dict__[_MADE_UNDER] = known.made_under  # a reference only another prefix made: no orphan
    bound = ghg_entries.bindings(wb, ctx)
    sharing, surveying = manual_entries(wb, state, known)
    extras = {c.entry_ref for c in wb.components if c.entry_scoped}
    attached = extras | sharing
    # entries whose attributions this machine knows and the plan may take from there: only extra components added
    # (a template component removed, or a MANUAL share, is read), each of them known attached
    removing = {c.entry_ref for c in wb.components if c.entry_scoped and c.action != "add"}
    adding: dict[str, set[str]] = {}
    for c in wb.components:
        if c.entry_scoped and c.action == "add":
            held_component = state.components.get(reference_for(c.supplier_reference_id, prefix, "components", c.ref))
            adding.setdefault(c.entry_ref, set()).add(held_component.id if held_component is not None else "")
    by_id = {c.id: c for c in state.project_components}
    wanted: dict[str, frozenset[str]] = {}
    with_attributions: set[str] = set()
    for entry in wb.entries:
        srid = reference_for(entry.supplier_reference_id, prefix, "entries", entry.ref)
        if srid not in state.ghg_entries:
            continue
        entry_id = state.ghg_entries[srid].id
        remembered = known.attributions.get(entry_id)
        if (
            entry.ref in extras
            and entry.ref not in sharing | removing
            and remembered is not None
            and adding.get(entry.ref, set()) <= {a.component_id for a in remembered}
            and all(a.component_id in by_id for a in remembered)
        ):  # as fetch_entry_details would read them: the attributions, their components from the project's listing
            state.entry_attributions[entry_id] = list(remembered)
            state.entry_components[entry_id] = [by_id[a.component_id] for a in remembered]
            continue
        if entry.ref in attached:
            with_attributions.add(entry_id)
        else:
            wanted[entry_id] = frozenset(bound.get(entry.ref, {}))
    resolved = resolve_from_knowledge(wanted, state.project_components, known)
    state.learned_membership.update(resolved.learned)
    to_list = sorted(with_attributions) + [e for e, comps in resolved.components.items() if comps is None]
    fetch_entry_details(client, state, to_list, concurrency=concurrency, with_attributions=with_attributions)
    for entry_id, comps in resolved.components.items():
        held = state.entry_components.get(entry_id, []) if comps is None else comps
        state.entry_components[entry_id] = sorted(
            (c for c in held if template_component_of(c) in wanted[entry_id]), key=lambda c: c.id
        )
    if surveying:  # every entry of the workbook read: its MANUAL components' shares seen whole
        for cid in filter(None, manual_components(wb, state).values()):
            state.learned_shares[cid] = {
                entry_id
                for entry_id, attributions in state.entry_attributions.items()
                if any(a.component_id == cid for a in attributions)
            }
    return state


__all__ = [
    "STATEMENT_KEY",
    "Action",
    "Known",
    "Orphan",
    "Plan",
    "RegistryState",
    "block_dependants",
    "build_plan",
    "fetch_state",
    "snapshot",
]
