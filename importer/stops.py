"""How an import (or any command of the library) ends, as a typed value, and the importer's own stops.

`Verdict` is what the library says of a batch, a workbook or a stop: ok, failed (the workbook has errors, a row
failed or was blocked, a plan was refused), refused (misuse, an unreadable file, an unusable API or local state:
nothing was tried) or interrupted. Only the command line turns a verdict into an exit code.

`ImporterError` is the base of the importer's own exceptions (not the API client's): it carries its message and
the verdict of the stop it causes. Imports nothing, so every layer may use it.
"""

from __future__ import annotations

import enum


class Verdict(enum.Enum):
    """What a command came to, from best to worst: `worst` of two keeps the more serious."""

    OK = "ok"
    FAILED = "failed"
    REFUSED = "refused"
    INTERRUPTED = "interrupted"

    @property
    def rank(self) -> int:
        return _ORDER.index(self)

    def worst(self, other: Verdict) -> Verdict:
        return self if self.rank >= other.rank else other


_ORDER = (Verdict.OK, Verdict.FAILED, Verdict.REFUSED, Verdict.INTERRUPTED)


class ImporterError(Exception):
    """A stop of the importer's own: `message` says what happened, `verdict` what kind of stop it is (by default
    a refusal: nothing was tried)."""

    verdict: Verdict = Verdict.REFUSED

    def __init__(self, message: str, *, verdict: Verdict | None = None) -> None:
        super().__init__(message)
        self.message = message
        if verdict is not None:
            self.verdict = verdict
