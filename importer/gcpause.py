"""Kept only so that `from importer import gcpause` still works (planning/__init__.py and library.py): the
collector's pause and the rest of the process-wide tricks live in `importer.process_wide`."""

from importer.process_wide import long_lived, paused

__all__ = ["long_lived", "paused"]
