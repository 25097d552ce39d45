"""The chain of custody in the run report: for each GHG entry, its production batches, then the applications of
their biochar (date, net mass, rate), then where each was spread; the month's net applied mass beside the entries'
biochar mass; and a map of the storage locations drawn as a self-contained SVG from their coordinates (no tiles,
no network), each point linking to the applications spread there."""

from __future__ import annotations

import html
import math
from collections import defaultdict
from dataclasses import dataclass

from importer.results import ApplicationLineage, ChainLineage, EntryLineage, LocationLineage
from importer.workbook.spec import holds_biochar_mass

MAP_WIDTH, MAP_HEIGHT, MAP_PAD = 640, 360, 40
_SCALE_KM = (0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)
KM_PER_DEGREE = 111.32  # of latitude (and of longitude at the equator, scaled by the cosine elsewhere)


def anchor(kind: str, ref: str) -> str:
    """The HTML id of a chain object's row: the map's points link to them."""
    return f"{kind}-" + "".join(c if c.isalnum() or c in "-_" else "_" for c in ref)


def _tonnes(kg: float | None) -> str:
    return "n/a" if kg is None else f"{kg / 1000:,.3f} t"


@dataclass(frozen=True)
class MapPoint:
    ref: str
    name: str
    x: float
    y: float
    applications: tuple[str, ...]


def _project(locations: list[LocationLineage]) -> tuple[dict[str, tuple[float, float]], float]:
    """x, y of each located point: an equirectangular projection of the points' bounding box (longitudes scaled by
    the cosine of the mean latitude, so a field's shape is not stretched), fitted into the map with a margin."""
    placed = [loc for loc in locations if loc.latitude is not None and loc.longitude is not None]
    if not placed:
        return {}, 0.0
    mean_lat = math.radians(sum(loc.latitude or 0.0 for loc in placed) / len(placed))
    xs = {loc.ref: (loc.longitude or 0.0) * max(math.cos(mean_lat), 0.01) for loc in placed}
    ys = {loc.ref: loc.latitude or 0.0 for loc in placed}
    span_x = max(xs.values()) - min(xs.values())
    span_y = max(ys.values()) - min(ys.values())
    span = max(span_x, span_y) or 1.0
    scale = min((MAP_WIDTH - 2 * MAP_PAD) / span, (MAP_HEIGHT - 2 * MAP_PAD) / span)
    mid_x = (max(xs.values()) + min(xs.values())) / 2
    mid_y = (max(ys.values()) + min(ys.values())) / 2
    where = {ref: (MAP_WIDTH / 2 + (xs[ref] - mid_x) * scale, MAP_HEIGHT / 2 - (ys[ref] - mid_y) * scale) for ref in xs}
    return where, scale / KM_PER_DEGREE  # pixels per km


def map_svg(chain: ChainLineage, prefix: str = "") -> str | None:
    """The storage locations as an SVG (None when none has coordinates): a point per location, its name beside it,
    linked to the first of its applications (its title lists them all)."""
    where, px_per_km = _project(chain.locations)
    if not where:
        return None
    spread: dict[str, list[str]] = defaultdict(list)
    for a in chain.applications:
        spread[a.location].append(a.ref)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {MAP_WIDTH} {MAP_HEIGHT}" role="img" '
        f'aria-labelledby="chain-map-title" class="chain-map" width="100%" style="max-width:{MAP_WIDTH}px">',
        '<title id="chain-map-title">Storage locations by latitude and longitude (north up)</title>',
        f'<rect x="0" y="0" width="{MAP_WIDTH}" height="{MAP_HEIGHT}" fill="none" stroke="currentColor" '
        'stroke-opacity="0.3"/>',
    ]
    for loc in chain.locations:
        if loc.ref not in where:
            continue
        x, y = where[loc.ref]
        apps = spread.get(loc.ref, [])
        label = html.escape(loc.name or loc.ref)
        title = html.escape(
            f"{loc.name or loc.ref} ({loc.latitude:.5f}, {loc.longitude:.5f}): "
            + (", ".join(apps) if apps else "no application this month")
        )
        target = prefix + (anchor("application", apps[0]) if apps else anchor("location", loc.ref))
        radius = 5 + min(len(apps), 5)
        parts.append(
            f'<a href="#{target}"><title>{title}</title>'
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius}" fill="#2f6f4f" fill-opacity="0.8"/>'
            f'<text x="{x + radius + 4:.1f}" y="{y + 4:.1f}" font-size="12" fill="currentColor">{label}'
            f"{f' ({len(apps)})' if apps else ''}</text></a>"
        )
    if len(where) > 1:  # a scale bar of a round length, about a fifth of the map wide
        wide = (MAP_WIDTH / 5) / px_per_km
        km = next((k for k in _SCALE_KM if k >= wide), _SCALE_KM[-1])
        length, label = km * px_per_km, (f"{km * 1000:g} m" if km < 1 else f"{km:g} km")
        y = MAP_HEIGHT - 14
        parts.append(
            f'<g class="scale"><line x1="12" y1="{y}" x2="{12 + length:.1f}" y2="{y}" stroke="currentColor" '
            f'stroke-width="2"/><text x="12" y="{y - 5}" font-size="11" fill="currentColor">{label}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _entry_biochar_kg(entry: EntryLineage) -> float | None:
    """The entry's biochar mass input in kg, as its datapoints give it (None when it has no such input)."""
    from importer.units import kg_factor

    total, found = 0.0, False
    for component in entry.components:
        for item in component.inputs:
            if not holds_biochar_mass(item.input_key):
                continue
            for dp in item.datapoints:
                if dp.magnitude is None or not dp.unit:
                    return None
                factor = kg_factor(dp.unit)
                if factor is None:
                    return None
                total += dp.magnitude * factor
                found = True
    return total if found else None


def _application_row(a: ApplicationLineage, locations: dict[str, LocationLineage]) -> dict[str, object]:
    loc = locations.get(a.location)
    return {
        "anchor": anchor("application", a.ref),
        "ref": a.ref,
        "id": a.id,
        "status": a.status,
        "date": a.application_date,
        "net": f"{a.net_mass:,.6g} {a.mass_unit}",
        "rate": f"{a.rate:,.6g} {a.rate_unit}",
        "location": (loc.name if loc is not None and loc.name else a.location),
        "location_anchor": anchor("location", a.location),
        "location_id": loc.id if loc is not None else None,
        "sources": a.sources,
    }


def chain_view(chain: ChainLineage | None, lineage: list[EntryLineage], prefix: str = "") -> dict[str, object] | None:
    """What the report's chain-of-custody section shows (its anchors are under the result's `prefix`, as the
    template writes them); None without a chain."""
    if chain is None:
        return None
    locations = {loc.ref: loc for loc in chain.locations}
    batches = {b.ref: b for b in chain.batches}
    by_entry: dict[str | None, list[ApplicationLineage]] = defaultdict(list)
    for a in chain.applications:
        by_entry[a.entry].append(a)
    entries = []
    for entry_ref in sorted(by_entry, key=lambda r: (r is None, r or "")):
        applications = by_entry[entry_ref]
        groups = []
        for batch_ref in dict.fromkeys(a.batch for a in applications):
            batch = batches.get(batch_ref)
            groups.append(
                {
                    "ref": batch_ref,
                    "anchor": anchor("batch", batch_ref),
                    "id": batch.id if batch is not None else batch_ref,
                    "name": batch.display_name if batch is not None else None,
                    "period": f"{batch.started_at[:16].replace('T', ' ')} to {batch.ended_at[:16].replace('T', ' ')}"
                    if batch is not None and batch.started_at and batch.ended_at
                    else None,
                    "mass": f"{batch.mass:,.6g} {batch.unit}" if batch is not None and batch.mass is not None else None,
                    "status": batch.status if batch is not None else "",
                    "applications": [_application_row(a, locations) for a in applications if a.batch == batch_ref],
                }
            )
        net_kg = [a.net_mass_kg for a in applications]
        known = None if None in net_kg else sum(k for k in net_kg if k is not None)
        entry = next((e for e in lineage if e.ref == entry_ref), None)
        biochar = _entry_biochar_kg(entry) if entry is not None else None
        entries.append(
            {
                "ref": entry_ref,
                "net": _tonnes(known),
                "biochar": _tonnes(biochar)
                if (biochar := _entry_biochar_kg(entry) if entry else None) is not None
                else None,
                "batches": groups,
            }
        )
    net = [a.net_mass_kg for a in chain.applications]
    entry_masses = [_entry_biochar_kg(e) for e in lineage]
    unused = [b for b in chain.batches if b.ref not in {a.batch for a in chain.applications}]
    return {
        "entries": entries,
        "total_net": _tonnes(sum(k for k in net if k is not None)) if net and None not in net else None,
        "applications": len(chain.applications),
        "entries_biochar": _tonnes(sum(k for k in entry_masses if k is not None))
        if any(k is not None for k in entry_masses)
        else None,
        "stored_batches": [
            {"ref": b.ref, "anchor": anchor("batch", b.ref), "id": b.id, "mass": f"{b.mass:,.6g} {b.unit}"}
            for b in unused
        ],
        "locations": [
            {
                "ref": loc.ref,
                "anchor": anchor("location", loc.ref),
                "id": loc.id,
                "name": loc.name,
                "where": f"{loc.latitude:.5f}, {loc.longitude:.5f}" if loc.latitude is not None else None,
                "method": loc.storage_method,
                "applications": [a.ref for a in chain.applications if a.location == loc.ref],
            }
            for loc in chain.locations
        ],
        "map": map_svg(chain, prefix),
    }


__all__ = ["chain_view", "map_svg"]
