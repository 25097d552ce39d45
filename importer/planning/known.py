"""What this machine learned of the registry on earlier runs, and how a snapshot uses it to read less.

A no-op re-run must compare every template component of every entry the workbook names, but a component
(`Component`) does not say which GHG entry it belongs to: only `GET /components?ghg_entry_id=` ties them, one
request per entry. The snapshot therefore reads the project's components in one paginated listing (their
*content*: which datapoints each input holds, always fresh) and takes their *membership* from what was learned
before:

- `membership`: component ID -> entry ID, learned from an entry's own component listing (authoritative), or
  from the match below. Membership changes only by an explicit attribution PATCH; a remembered component that
  is gone from the project, or an entry for which it does not give exactly one component per bound template
  component, is listed again.
- `created_inputs`: entry ID -> what this machine's create sent for it (template component -> input key ->
  datapoint IDs). The server makes one component per template component with exactly those inputs, so an
  entry created here is matched to the one unclaimed component of that template component holding those
  inputs, and only when no other entry was created with the same inputs (otherwise it is listed). The match
  uses what was *sent*, never what the workbook wants now: a workbook that swaps two entries' datapoints is
  compared against each entry's own component, not against the other's.
- `shares`: which GHG entries carry a share of a MANUAL project component. The API lists an entry's
  attributions one entry at a time and has no listing of a project component's shares, so a workbook with such a
  component would read every entry's attributions to find a share it no longer gives. Once this machine has seen
  a component's shares whole (or made the component), it reads only the entries its sheet names and those known
  to carry a share, and keeps the knowledge up with the shares its runs set or take away. A share someone else
  sets in the Certify UI on an entry the workbook does not name is not seen (as with membership above).
- `attributions`: an entry's component attributions (which extra components it counts, with what group and
  factor), as last read here: after a run attaches components it reads them once, and a re-run takes them from
  here instead of reading every such entry again (one request each), unless the workbook removes a template
  component or the entry carries MANUAL shares (those are read). An attribution changed in the Certify UI since is
  not seen (as with membership above).
- `uploaded_sources`: sources whose document a signed-URL 409 (or a confirmed PUT) proved uploaded. A
  document once uploaded stays (the API has no way to remove it), so they are not asked again.

Knowledge is per API URL (the run history holds it); without it (another machine, a new home folder) the
snapshot reads every entry's components, as before.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from importer.planning.common import input_ids, template_component_of

if TYPE_CHECKING:  # the API client loads lazily (the CLI starts fast)
    from importer.api import models as m
    from importer.planning.common import SentComponent

#: template component (rtc_) -> input key -> datapoint IDs
Signature = Mapping[str, Mapping[str, tuple[str, ...]]]


@dataclass(frozen=True)
class Known:
    uploaded_sources: frozenset[str] = frozenset()
    membership: Mapping[str, str] = field(default_factory=dict)  # component ID -> GHG entry ID
    created_inputs: Mapping[str, Signature] = field(default_factory=dict)  # GHG entry ID -> its create's inputs
    #: supplier_reference_id -> the prefixes of this machine's runs that made it (an orphan search never claims
    #: what only other prefixes' runs made)
    made_under: Mapping[str, frozenset[str]] = field(default_factory=dict)
    #: MANUAL project component ID -> the GHG entries carrying a share of it, for the components whose shares this
    #: machine saw whole (every entry of a workbook read, or the component made here) and kept up with since
    shares: Mapping[str, frozenset[str]] = field(default_factory=dict)
    #: GHG entry ID -> its component attributions as this machine last read them, nothing of its own runs having
    #: changed them since
    attributions: Mapping[str, tuple[m.ComponentAttribution, ...]] = field(default_factory=dict)


def signature_of(components: Iterable[SentComponent]) -> dict[str, dict[str, tuple[str, ...]]]:
    """The Signature of a CreateGhgEntryRequest's `ghg_entry_template_components` (as sent)."""
    out: dict[str, dict[str, tuple[str, ...]]] = {}
    for comp in components:
        inputs = out.setdefault(str(comp["ghg_entry_template_component_id"]), {})
        for item in comp["inputs"]:
            ids = item.get("datapoint_ids")
            inputs[str(item["input_key"])] = tuple(sorted(ids if ids is not None else [item["datapoint_id"]]))
    return out


def _holds(component: m.Component, inputs: Mapping[str, tuple[str, ...]]) -> bool:
    held = {i.input_key: tuple(sorted(input_ids(i))) for i in component.inputs}
    return all(held.get(key) == ids for key, ids in inputs.items())


@dataclass
class Resolution:
    """Per entry: its components of the wanted template components (None: list the entry), and the membership
    learned on the way (to be remembered)."""

    components: dict[str, list[m.Component] | None]
    learned: dict[str, str]


def resolve_from_knowledge(
    wanted: Mapping[str, frozenset[str]], project_components: list[m.Component], known: Known
) -> Resolution:
    """`wanted`: entry ID -> the template components the workbook binds for it. Each entry gets its components
    of those template components from remembered membership, or from its create's inputs, or None (to be
    listed)."""
    present = {c.id: c for c in project_components}
    by_entry: dict[str, list[m.Component]] = {}
    for comp_id, entry_id in known.membership.items():
        if comp_id in present:
            by_entry.setdefault(entry_id, []).append(present[comp_id])
    unclaimed = [c for c in project_components if c.id not in known.membership]
    # how many entries created here sent each (template component, inputs): a shared one matches nothing
    sent = Counter(
        (rtc, tuple(sorted(inputs.items()))) for sig in known.created_inputs.values() for rtc, inputs in sig.items()
    )
    out: dict[str, list[m.Component] | None] = {}
    learned: dict[str, str] = {}
    for entry_id, rtcs in wanted.items():
        mine = [c for c in by_entry.get(entry_id, []) if template_component_of(c) in rtcs]
        if sorted(template_component_of(c) or "" for c in mine) == sorted(rtcs):
            out[entry_id] = sorted(mine, key=lambda c: c.id)
            continue
        signature = known.created_inputs.get(entry_id)
        matched: list[m.Component] = []
        for rtc in rtcs:
            inputs = signature.get(rtc) if signature is not None else None
            if inputs is None or sent[(rtc, tuple(sorted(inputs.items())))] != 1:
                break
            candidates = [c for c in unclaimed if template_component_of(c) == rtc and _holds(c, inputs)]
            if len(candidates) != 1:
                break
            matched.append(candidates[0])
        else:
            out[entry_id] = sorted(matched, key=lambda c: c.id)
            learned.update({c.id: entry_id for c in matched})
            continue
        out[entry_id] = None
    return Resolution(components=out, learned=learned)
