"""Saved plans, as Terraform saves them: `isometric-import plan WORKBOOK --out plan.json` writes the plans of
a batch with fingerprints of each workbook, its evidence files, the project's templates and blueprints, and
every registry object the plan compared against; `isometric-import apply plan.json` carries out exactly those
plans and refuses, sending nothing, when any of these changed since (and says what changed). A team lead or an
auditor can read and approve what will be sent.

The file is plain JSON: each dataclass of `importer.planning` is written with a `__type__` tag, tuples as lists,
dates as `{"__date__": "YYYY-MM-DD"}`; loading gives back equal (immutable) values.

What is applied is what was reviewed: each plan is saved with a SHA-256 digest of its content (`content_digest`:
every action's op, kind, payload, changes, existing ID, dependencies, the statement settings, orphans, the
submit flag; everything but when it was made and its informational messages), and the file with a digest of
those. `apply` refuses, sending nothing, a file whose content no longer matches its digests (edited after it was
saved) and a plan that differs in any value from the plan its inputs give now (`first_difference` names the
first differing action and field, as in the file and as now). A digest is not a signature: whoever can
rewrite the file and its digests can, but the re-plan then still has to produce that very content.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from importer import __version__
from importer.json_types import JSONObject, JSONValue
from importer.planning import DeletePayload, kinds, sources
from importer.planning.model import (
    Action,
    Change,
    EvidenceFingerprint,
    IdRef,
    NewRef,
    Orphan,
    Plan,
    ReplacedPayload,
    StatementEntry,
)

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

FORMAT = "isometric-import saved plan, version 1"
#: Plan fields that do not decide what is sent: left out of the content digest and comparison
NOT_CONTENT = frozenset({"created_at", "messages"})
#: the plan's own classes, and every registered kind's payloads
_CLASSES: dict[str, type] = {
    cls.__name__: cls
    for cls in (
        Plan,
        Action,
        Change,
        IdRef,
        NewRef,
        EvidenceFingerprint,
        Orphan,
        StatementEntry,
        DeletePayload,
        ReplacedPayload,
    )
} | kinds.PAYLOADS


class SavedPlanError(Exception):
    """The file is not a saved plan this version can apply."""


@dataclass(frozen=True)
class SavedPlans:
    plans: tuple[Plan, ...]
    tool_version: str
    api_url: str | None
    digests: tuple[str | None, ...] = ()  # each plan's recorded content digest (None: not recorded)
    file_digest: str | None = None  # recorded digest of the plans' digests and the API URL


def _encode_dataclass(value: DataclassInstance) -> JSONObject:
    """A dataclass instance as a JSON object tagged with its class (`__type__`)."""
    out: JSONObject = {"__type__": type(value).__name__}
    for f in dataclasses.fields(value):
        out[f.name] = encode(getattr(value, f.name))
    return out


def encode(value: object) -> JSONValue:
    """A value of a plan as JSON (see the module's docstring); TypeError for one JSON cannot hold."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _encode_dataclass(value)
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, dt.date):
        return {"__date__": value.isoformat()}
    if value is None or isinstance(value, str | int | float):  # bool is an int
        return value
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def decode(value: JSONValue) -> object:
    """A value `encode` wrote, given back: tuples for lists, dates, the plan's dataclasses."""
    if isinstance(value, list):
        return tuple(decode(v) for v in value)
    if isinstance(value, dict):
        if "__date__" in value:
            day = value["__date__"]
            if not isinstance(day, str):
                raise TypeError(f"a date is not text: {day!r}")
            return dt.date.fromisoformat(day)
        name = value.get("__type__")
        if name is None:
            return {k: decode(v) for k, v in value.items()}
        cls = _CLASSES.get(name) if isinstance(name, str) else None
        if cls is None:
            raise SavedPlanError(f"unknown element {name!r}: the plan was saved by another version")
        fields = {k: decode(v) for k, v in value.items() if k != "__type__"}
        made: object = cls(**fields)
        return made
    return value


def content(plan: Plan) -> JSONObject:
    """The plan as JSON values, without the fields that do not decide what is sent (`NOT_CONTENT`)."""
    encoded = _encode_dataclass(plan)
    return {k: v for k, v in encoded.items() if k not in NOT_CONTENT}


def _objects(value: JSONValue) -> list[JSONObject]:
    """The objects of a JSON list (an encoded plan's actions), else none."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _canonical(value: JSONValue) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=True).encode()


def content_digest(plan: Plan) -> str:
    """SHA-256 of everything in the plan that is sent or decides what is sent."""
    return hashlib.sha256(_canonical(content(plan))).hexdigest()


def file_digest(digests: list[str] | tuple[str | None, ...], api_url: str | None) -> str:
    """SHA-256 of a file's plan digests, in order, and its API URL: no plan can be dropped, added or swapped."""
    return hashlib.sha256(_canonical({"api_url": api_url, "plans": list(digests)})).hexdigest()


def save(plans: list[Plan], path: Path, *, api_url: str | None) -> Path:
    digests = [content_digest(p) for p in plans]
    body = {
        "format": FORMAT,
        "tool_version": __version__,
        "api_url": api_url,
        "saved_at": dt.datetime.now(dt.UTC).isoformat(),
        "digest": file_digest(digests, api_url),
        "plan_digests": digests,
        "plans": [encode(p) for p in plans],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(body, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    return path


def load(path: Path) -> SavedPlans:
    try:
        body: JSONValue = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SavedPlanError(f"{path} cannot be read as a saved plan: {exc}") from None
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        raise SavedPlanError(
            f"{path} is not a saved plan of this tool (format {body.get('format')!r})"
            if isinstance(body, dict)
            else f"{path} is not a saved plan"
        )
    try:
        listed = body["plans"]
        if not isinstance(listed, list):
            raise TypeError("`plans` is not a list")
        decoded = tuple(decode(p) for p in listed)
    except (TypeError, KeyError, ValueError, AttributeError) as exc:
        raise SavedPlanError(f"{path} is damaged: {exc}") from None
    plans = tuple(p for p in decoded if isinstance(p, Plan))
    if len(plans) != len(decoded):
        raise SavedPlanError(f"{path} is damaged: an element of `plans` is not a plan")
    api_url = body.get("api_url")
    if api_url is not None and not isinstance(api_url, str):
        raise SavedPlanError(f"{path} is damaged: its api_url is not a URL")
    recorded = body.get("plan_digests")
    digests = tuple(str(d) if isinstance(d, str) else None for d in recorded) if isinstance(recorded, list) else ()
    whole = body.get("digest")
    return SavedPlans(
        plans=plans,
        tool_version=str(body.get("tool_version")),
        api_url=api_url,
        digests=digests,
        file_digest=whole if isinstance(whole, str) else None,
    )


def tampering(bundle: SavedPlans) -> list[str]:
    """What shows the file was edited after it was saved: a content that no longer matches its recorded digest
    (named by plan), plans added or removed, digests missing. Empty when the file is as saved."""
    out: list[str] = []
    if bundle.file_digest is None or not bundle.digests:
        return ["the file records no content digest (saved by an earlier version, or the digests were removed)"]
    if len(bundle.digests) != len(bundle.plans):
        out.append(f"the file holds {len(bundle.plans)} plan(s) but records digests of {len(bundle.digests)}")
    if file_digest(bundle.digests, bundle.api_url) != bundle.file_digest:
        out.append(
            "the file's plan digests or API URL no longer match its recorded digest (a plan was added, "
            "removed or reordered, or the API URL edited)"
        )
    for plan, recorded in zip(bundle.plans, bundle.digests, strict=False):
        if recorded is None or content_digest(plan) != recorded:
            out.append(
                f"the plan of {plan.workbook_path} was edited after it was saved (its content no longer "
                "matches its recorded digest)"
            )
    return out


def _show(value: JSONValue) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= 160 else text[:157] + "..."


def _first_field(before: JSONValue, after: JSONValue, path: str) -> tuple[str, JSONValue, JSONValue] | None:
    """The first path at which two JSON values differ, with both values there."""
    if isinstance(before, dict) and isinstance(after, dict):
        for key in list(before) + [k for k in after if k not in before]:
            if key == "__type__" and before.get(key) == after.get(key):
                continue
            if key not in after or key not in before or before[key] != after[key]:
                if key in before and key in after:
                    found = _first_field(before[key], after[key], f"{path}.{key}" if path else key)
                    if found is not None:
                        return found
                return (f"{path}.{key}" if path else key, before.get(key, "(absent)"), after.get(key, "(absent)"))
        return None
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        for n, (b, a) in enumerate(zip(before, after, strict=True)):
            if b != a:
                return _first_field(b, a, f"{path}[{n}]")
        return None
    return None if before == after and type(before) is type(after) else (path, before, after)


def _action_name(encoded: JSONObject) -> str:
    row = encoded.get("row")
    place = f"{encoded.get('sheet')} row {row}" if row else str(encoded.get("sheet"))
    return f"{encoded.get('kind')} {encoded.get('ref')!r} ({place})"


def _comparable(plan: Plan) -> JSONObject:
    """The content, less what only this machine's knowledge decides (`importer.planning.known`): whether an
    unchanged source asks once more whether its document arrived (`resume_upload` and its note). Asking or not
    sends nothing that changes the registry, and a plan saved on one machine must apply on another (the
    file's own digest still covers these fields: they cannot be edited)."""
    out = content(plan)
    for action in _objects(out.get("actions", [])):
        payload = action.get("payload")
        if isinstance(payload, dict):
            payload.pop("resume_upload", None)
        notes = action.get("notes", [])
        action["notes"] = [n for n in notes if n != sources.RESUME_UPLOAD] if isinstance(notes, list) else []
    return out


def first_difference(saved: Plan, now: Plan) -> str | None:
    """Where the saved plan differs from the plan its inputs give now: the first differing action and field,
    with the value in the file and the value now; None when they are the same in everything that is sent or
    decides what is sent (what only this machine's knowledge decides aside: `_comparable`)."""
    before, after = _comparable(saved), _comparable(now)
    if before == after:
        return None
    file_actions = _objects(before.pop("actions", []))
    now_actions = _objects(after.pop("actions", []))
    file_keys = [(a.get("kind"), a.get("ref")) for a in file_actions]
    now_keys = [(a.get("kind"), a.get("ref")) for a in now_actions]
    if file_keys != now_keys:
        added = [a for a, k in zip(file_actions, file_keys, strict=True) if k not in now_keys]
        if added:
            return f"the file has an action the inputs do not give: {_action_name(added[0])}, op {added[0].get('op')}"
        missing = [a for a, k in zip(now_actions, now_keys, strict=True) if k not in file_keys]
        if missing:
            return (
                f"an action is missing from the file: {_action_name(missing[0])}, op {missing[0].get('op')} "
                "(the inputs give it now)"
            )
        if len(file_keys) != len(now_keys):
            return f"the file has {len(file_keys)} actions, the inputs give {len(now_keys)} (an action repeated)"
        n = next(i for i, (a, b) in enumerate(zip(file_keys, now_keys, strict=True)) if a != b)
        return (
            f"the actions are reordered: position {n + 1} is {_action_name(file_actions[n])} in the file, "
            f"{_action_name(now_actions[n])} now"
        )
    for mine, theirs in zip(file_actions, now_actions, strict=True):
        found = _first_field(mine, theirs, "")
        if found is not None:
            path, was, is_ = found
            return f"action {_action_name(mine)}: {path} is {_show(was)} in the file, {_show(is_)} now"
    found = _first_field(before, after, "")
    if found is not None:
        path, was, is_ = found
        return f"plan field {path} is {_show(was)} in the file, {_show(is_)} now"
    return "the plan differs from what its inputs give now"


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
                out.append(
                    f"evidence file {item.file} (source {item.ref}) changed (SHA-256 {item.sha256[:12]} -> {held[:12]})"
                )
    return out


def registry_changes(plan: Plan, now: dict[str, str]) -> list[str]:
    """What changed in the registry since the plan was made, object by object."""
    before = plan.registry_fingerprint
    out = [f"{key} changed" for key in sorted(before) if key in now and now[key] != before[key]]
    out += [f"{key} appeared" for key in sorted(set(now) - set(before))]
    out += [f"{key} is gone" for key in sorted(set(before) - set(now))]
    return out
