"""What the importer needs to know about the live project before planning: its GHG entry templates and the
component blueprints they use, with the look-ups the workbook's human-friendly names need.

A workbook may name a template by `rvt_` ID or display name, a template component by `rtc_` ID, display
name or blueprint key, and a feedstock type (created only in the Certify UI) by `ftt_` ID, supplier reference or
name; resolving those names is done here, once, for every later stage.
"""

from __future__ import annotations

import difflib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from importer.ids import has_id_prefix

if TYPE_CHECKING:  # the API client loads lazily (the CLI starts fast)
    from importer.api import models as m
    from importer.api.client import IsometricClient
    from importer.workbook.model import FeedstockTypeRow

#: (group, component) of a template
TemplatePair = tuple["m.TemplateGroup", "m.TemplateComponent"]


def _norm(text: str) -> str:
    return " ".join(text.strip().lower().split())


@dataclass
class ProjectContext:
    project_id: str
    templates: list[m.GhgEntryTemplate]
    blueprints: dict[str, m.ComponentBlueprint]  # key -> blueprint
    statements: list[m.GhgStatement] = field(default_factory=list)  # the project's GHG statements
    #: the organisation's feedstock types, listed whole: the API creates none
    feedstock_types: list[m.FeedstockType] = field(default_factory=list)
    _by_name: dict[str, m.GhgEntryTemplate] = field(default_factory=dict, repr=False)
    #: (blueprint, input key) -> spec
    _inputs: dict[tuple[str, str], m.BlueprintInput] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for template in self.templates:
            self._by_name.setdefault(_norm(template.display_name), template)
        for key, blueprint in self.blueprints.items():
            for spec in blueprint.inputs:
                self._inputs.setdefault((key, spec.input_key), spec)

    def resolve_template(self, text: str) -> m.GhgEntryTemplate | None:
        """A template by `rvt_` ID or (case-insensitive) display name."""
        text = text.strip()
        if has_id_prefix(text):
            return next((t for t in self.templates if t.id == text), None)
        return self._by_name.get(_norm(text))

    def template_suggestion(self, text: str) -> str | None:
        names = [t.display_name for t in self.templates]
        close = difflib.get_close_matches(text, names, n=1, cutoff=0.6)
        return close[0] if close else None

    @staticmethod
    def template_components(template: m.GhgEntryTemplate) -> list[TemplatePair]:
        """(group, component) pairs of a template, in template order."""
        return [(group, comp) for group in template.groups for comp in group.components]

    def resolve_template_component(self, template: m.GhgEntryTemplate, text: str) -> TemplatePair | None:
        """(group, component) of `template` named by `rtc_` ID, display name or blueprint key. A blueprint key
        used by two components of the template is ambiguous and resolves to nothing."""
        text = text.strip()
        pairs = self.template_components(template)
        if has_id_prefix(text):
            return next(((g, c) for g, c in pairs if c.id == text), None)
        by_name = [(g, c) for g, c in pairs if _norm(c.display_name) == _norm(text)]
        if len(by_name) == 1:
            return by_name[0]
        by_key = [(g, c) for g, c in pairs if c.blueprint_key == text.strip()]
        return by_key[0] if len(by_key) == 1 else None

    def component_suggestion(self, template: m.GhgEntryTemplate, text: str) -> str | None:
        names = [c.display_name for _, c in self.template_components(template)]
        close = difflib.get_close_matches(text, names, n=1, cutoff=0.6)
        return close[0] if close else None

    def match_feedstock_type(self, row: FeedstockTypeRow) -> FeedstockMatch:
        """The existing feedstock type a `feedstock_types` row names: by its `ftt_` ID when it gives one, else by
        its own supplier_reference_id, else by exact name (trimmed, case-sensitive). Only a row's own reference
        is looked for: a type made in the Certify UI is never claimed under a derived one."""
        types = self.feedstock_types
        if row.feedstock_type_id:
            by_id = [t for t in types if t.id == row.feedstock_type_id]
            return FeedstockMatch(by_id[0] if by_id else None, "feedstock_type_id", row.feedstock_type_id)
        if row.supplier_reference_id:
            by_srid = [t for t in types if t.supplier_reference_id == row.supplier_reference_id]
            if by_srid:
                return FeedstockMatch(by_srid[0], "supplier_reference_id", row.supplier_reference_id)
        name = (row.name or "").strip()
        by_name = [t for t in types if t.name.strip() == name]
        if len(by_name) > 1:
            return FeedstockMatch(None, "name", name, ambiguous=tuple(t.id for t in by_name))
        if by_name:
            return FeedstockMatch(by_name[0], "name", name)
        near = [t.name for t in types if t.name.strip().casefold() == name.casefold()]
        near = near or difflib.get_close_matches(name, [t.name for t in types], n=1, cutoff=0.6)
        return FeedstockMatch(None, "name", name, suggestion=near[0] if near else None)

    def blueprint_input(self, blueprint_key: str, input_key: str) -> m.BlueprintInput | None:
        return self._inputs.get((blueprint_key, input_key))

    def group_keys(self, template: m.GhgEntryTemplate) -> list[str]:
        return [g.key for g in template.groups]


@dataclass(frozen=True)
class FeedstockMatch:
    """What a `feedstock_types` row resolved to: the type (None when nothing matched), how it was looked for
    (`by`: the column that decided) and the text looked for; a near miss's name, or the IDs of types sharing
    the name."""

    found: m.FeedstockType | None
    by: str
    text: str
    suggestion: str | None = None
    ambiguous: tuple[str, ...] = ()


def load_context(client: IsometricClient, project_id: str, *, feedstock_types: bool = True) -> ProjectContext:
    """Fetch the project's templates, every blueprint they (or extra components) may use, the project's GHG
    statements (for the statement checks before anything is sent) and, unless told not to, the organisation's
    feedstock types, all at once."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        templates = pool.submit(client.list_ghg_entry_templates, project_id)
        blueprints = pool.submit(client.list_component_blueprints)
        statements = pool.submit(client.list_ghg_statements)
        types = pool.submit(client.list_feedstock_types) if feedstock_types else None
        return ProjectContext(
            project_id=project_id,
            templates=templates.result(),
            blueprints={b.key: b for b in blueprints.result()},
            statements=sorted(
                (s for s in statements.result() if s.project_id == project_id), key=lambda s: s.reporting_period_end_at
            ),
            feedstock_types=types.result() if types is not None else [],
        )
