"""Saved plans, as Terraform saves them: `isometric-import plan WORKBOOK --out plan.json` writes the plans of
a batch with fingerprints of each workbook, its evidence files, the project's templates and blueprints, and
every registry object the plan compared against; `isometric-import apply plan.json` carries out exactly those
plans and refuses, sending nothing, when any of these changed since (and says what changed). A team lead or an
auditor can read and approve what will be sent.

The file is plain JSON: each dataclass of `importer.planning` is written with a `__type__` tag, tuples as lists,
dates as `{"__date__": "YYYY-MM-DD"}`; loading gives back equal (immutable) values.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from importer import __version__
from importer.planning import (
    DeletePayload,
    attributions,
    components,
    datapoints,
    feedstock_types,
    ghg_entries,
    sources,
    statements,
)
from importer.planning.model import Action, Change, EvidenceFingerprint, IdRef, NewRef, Orphan, Plan, StatementEntry

FORMAT = "isometric-import saved plan, version 1"
_CLASSES: dict[str, type] = {cls.__name__: cls for cls in (
    Plan, Action, Change, IdRef, NewRef, EvidenceFingerprint, Orphan, StatementEntry, DeletePayload,
    sources.SourcePayload, datapoints.DatapointPayload, feedstock_types.FeedstockTypePayload,
    ghg_entries.GhgEntryPayload, ghg_entries.ComponentBinding, ghg_entries.InputBinding, ghg_entries.Rebinding,
    components.ComponentPayload, attributions.AttributionPayload, statements.StatementPayload)}


class SavedPlanError(Exception):
    """The file is not a saved plan this version can apply."""


@dataclass(frozen=True)
class SavedPlans:
    plans: tuple[Plan, ...]
    tool_version: str
    api_url: str | None


def encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {"__type__": type(value).__name__}
        for f in dataclasses.fields(value):
            out[f.name] = encode(getattr(value, f.name))
        return out
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, dt.date):
        return {"__date__": value.isoformat()}
    return value


def decode(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(decode(v) for v in value)
    if isinstance(value, dict):
        if "__date__" in value:
            return dt.date.fromisoformat(value["__date__"])
        name = value.get("__type__")
        if name is None:
            return {k: decode(v) for k, v in value.items()}
        cls = _CLASSES.get(name)
        if cls is None:
            raise SavedPlanError(f"unknown element {name!r}: the plan was saved by another version")
        fields = {k: decode(v) for k, v in value.items() if k != "__type__"}
        return cls(**fields)
    return value


def save(plans: list[Plan], path: Path, *, api_url: str | None) -> Path:
    body = {"format": FORMAT, "tool_version": __version__, "api_url": api_url,
            "saved_at": dt.datetime.now(dt.UTC).isoformat(), "plans": [encode(p) for p in plans]}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(body, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    return path


def load(path: Path) -> SavedPlans:
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SavedPlanError(f"{path} cannot be read as a saved plan: {exc}") from None
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        raise SavedPlanError(f"{path} is not a saved plan of this tool (format {body.get('format')!r})"
                             if isinstance(body, dict) else f"{path} is not a saved plan")
    try:
        plans = tuple(decode(p) for p in body["plans"])
    except (TypeError, KeyError) as exc:
        raise SavedPlanError(f"{path} is damaged: {exc}") from None
    return SavedPlans(plans=plans, tool_version=str(body.get("tool_version")), api_url=body.get("api_url"))


def _sha256(path: Path) -> str | None:
    try:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        return digest.hexdigest()
    except OSError:
        return None


def local_changes(plans: tuple[Plan, ...] | list[Plan]) -> list[str]:
    """What changed on this machine since the plans were made: workbooks and evidence files."""
    out = []
    for plan in plans:
        now = _sha256(Path(plan.workbook_path))
        if now is None:
            out.append(f"workbook {plan.workbook_path} is gone")
        elif now != plan.workbook_sha256:
            out.append(f"workbook {plan.workbook_path} changed (SHA-256 {plan.workbook_sha256[:12]} -> {now[:12]})")
        for item in plan.evidence:
            held = _sha256(Path(item.file))
            if held is None:
                out.append(f"evidence file {item.file} (source {item.ref}) is gone")
            elif held != item.sha256:
                out.append(f"evidence file {item.file} (source {item.ref}) changed (SHA-256 {item.sha256[:12]} -> "
                           f"{held[:12]})")
    return out


def registry_changes(plan: Plan, now: dict[str, str]) -> list[str]:
    """What changed in the registry since the plan was made, object by object."""
    before = plan.registry_fingerprint
    out = [f"{key} changed" for key in sorted(before) if key in now and now[key] != before[key]]
    out += [f"{key} appeared" for key in sorted(set(now) - set(before))]
    out += [f"{key} is gone" for key in sorted(set(before) - set(now))]
    return out
