"""Lab results in the run report: per measured property (say `mass_fraction (total_organic_carbon)`), a small
self-contained SVG plotting each batch's (or location's) replicates as points, with their mean and the spread of
one standard deviation either side, so that an auditor sees an outlier at a glance; and a table of every value,
its sample, what the sample was taken from, and the lab certificate the workbook names (the API takes no sources
for a sample: this is where the certificate is recorded)."""

from __future__ import annotations

import html
import statistics
from collections import defaultdict

from importer.results import SampleValueLineage

WIDTH, HEIGHT, PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 480, 220, 64, 16, 16, 48


def _group(value: SampleValueLineage) -> str:
    """What the replicates are of: the batch (or location...) the sample was taken from, else the sample."""
    return f"{value.taken_from} {value.target}" if value.target else f"sample {value.sample}"


def _num(x: float) -> str:
    return f"{x:.6g}"


def chart(prop: str, values: list[SampleValueLineage], prefix: str = "") -> str:
    """One property's replicates as an SVG: a column per group, a point per value (its title the value, sample and
    row), the group's mean as a bar and its standard deviation as a whisker (none for a single value)."""
    groups: dict[str, list[SampleValueLineage]] = defaultdict(list)
    for v in values:
        groups[_group(v)].append(v)
    magnitudes = [v.magnitude for v in values]
    low, high = min(magnitudes), max(magnitudes)
    spreads = []
    for members in groups.values():
        if len(members) > 1:
            mean, sd = statistics.mean(m.magnitude for m in members), statistics.stdev(m.magnitude for m in members)
            spreads.append((mean - sd, mean + sd))
    low = min([low, *(a for a, _ in spreads)])
    high = max([high, *(b for _, b in spreads)])
    margin = (high - low) * 0.1 or abs(high) * 0.1 or 1.0
    low, high = low - margin, high + margin
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    plot_w = WIDTH - PAD_LEFT - PAD_RIGHT

    def y(value: float) -> float:
        return PAD_TOP + (high - value) / (high - low) * plot_h

    unit = next((v.unit for v in values if v.unit), None) or "dimensionless"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="replicates" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{html.escape(prop)}: replicates per batch">',
        f'<line x1="{PAD_LEFT}" y1="{PAD_TOP}" x2="{PAD_LEFT}" y2="{HEIGHT - PAD_BOTTOM}" stroke="#666"/>',
        f'<text x="4" y="{PAD_TOP + 10}" font-size="10">{html.escape(_num(high))}</text>',
        f'<text x="4" y="{HEIGHT - PAD_BOTTOM}" font-size="10">{html.escape(_num(low))}</text>',
        f'<text x="4" y="{PAD_TOP + plot_h / 2:.1f}" font-size="10">{html.escape(unit)}</text>',
    ]
    step = plot_w / len(groups)
    for i, (name, members) in enumerate(groups.items()):
        cx = PAD_LEFT + step * (i + 0.5)
        parts.append(
            f'<text x="{cx:.1f}" y="{HEIGHT - PAD_BOTTOM + 16}" font-size="10" text-anchor="middle">'
            f"{html.escape(name)}</text>"
        )
        mean = statistics.mean(m.magnitude for m in members)
        if len(members) > 1:
            sd = statistics.stdev(m.magnitude for m in members)
            parts.append(
                f'<line class="spread" x1="{cx:.1f}" y1="{y(mean + sd):.1f}" x2="{cx:.1f}" y2="{y(mean - sd):.1f}" '
                f'stroke="#999" stroke-width="2"><title>mean {_num(mean)} ± {_num(sd)} (1 SD)</title></line>'
            )
        parts.append(
            f'<line class="mean" x1="{cx - 14:.1f}" y1="{y(mean):.1f}" x2="{cx + 14:.1f}" y2="{y(mean):.1f}" '
            f'stroke="#333" stroke-width="2"><title>mean {_num(mean)}</title></line>'
        )
        for j, v in enumerate(members):
            dx = (j - (len(members) - 1) / 2) * 6
            parts.append(
                f'<a href="#{prefix}lab-{html.escape(v.ref)}"><circle class="replicate" cx="{cx + dx:.1f}" '
                f'cy="{y(v.magnitude):.1f}" r="4" fill="#1f6feb"><title>{html.escape(v.ref)}: '
                f"{_num(v.magnitude)} (sample {html.escape(v.sample)})</title></circle></a>"
            )
    parts.append("</svg>")
    return "".join(parts)


def samples_view(values: list[SampleValueLineage], prefix: str = "") -> dict[str, object] | None:
    """The report's lab section: a chart per property, and a row per value. None when the workbook has none."""
    if not values:
        return None
    by_property: dict[str, list[SampleValueLineage]] = defaultdict(list)
    for v in values:
        by_property[v.property].append(v)
    return {
        "charts": [{"property": prop, "svg": chart(prop, members, prefix)} for prop, members in by_property.items()],
        "rows": [
            {
                "anchor": f"{prefix}lab-{v.ref}",
                "ref": v.ref,
                "property": v.property,
                "value": _num(v.magnitude) + (f" ± {_num(v.standard_deviation)}" if v.standard_deviation else ""),
                "unit": v.unit or "dimensionless",
                "sample": v.sample,
                "sample_id": v.sample_id,
                "status": v.status,
                "measured_at": v.measured_at,
                "type": v.measurement_type,
                "taken_from": f"{v.taken_from} {v.target}" if v.target else "",
                "target_id": v.target_id if v.target_id != v.target else None,
                "certificate": [c.file_name or c.display_name or c.ref or c.id or "" for c in v.certificate],
            }
            for v in values
        ],
    }
