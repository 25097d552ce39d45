"""The `isometric-import` console script: begins reading the workbook a `validate` command names, then hands
over to the command-line layer (`importer.cli`).

Loading that layer and parsing the options (typer builds pydantic adapters for them) takes about 0.15 s, and
nothing of validation can start before it ends; python-calamine's parse of a big sheet runs without the GIL,
so begun first it overlaps all of that. The look at the arguments here only picks what to start reading:
`importer.cli` still parses them and decides what is validated, and `validate_workbook` takes the read over
only for that very file, unchanged (`importer.process_wide.prefetch`); a wrong pick costs a little CPU,
never a different result.
"""

from __future__ import annotations

import sys
from pathlib import Path

#: options of `validate` that take a value: the word after one is that value, never a workbook to read
VALUE_OPTIONS = frozenset({"--report", "--annotate", "--api-url"})


def workbook_to_read_first(argv: list[str]) -> Path | None:
    """The workbook file a `validate` command line names first, or None: another command, a folder, or no
    existing .xlsx/.xlsm file where the first workbook argument stands."""
    words = iter(argv)
    for word in words:  # root flags (--debug) may come before the command
        if not word.startswith("-"):
            if word != "validate":
                return None
            break
    for word in words:
        if word in VALUE_OPTIONS:
            next(words, None)
        elif word == "--" or not word.startswith("-"):
            first = next(words, None) if word == "--" else word
            if not first:
                return None
            from importer.workbook.reader import WORKBOOK_SUFFIXES  # the reading layer is needed from here on

            path = Path(first)
            return path if path.suffix.lower() in WORKBOOK_SUFFIXES and path.is_file() else None
    return None


def main() -> None:
    """Entry point of the console script (`importer.cli.main` does the rest)."""
    path = workbook_to_read_first(sys.argv[1:])
    if path is not None:
        import contextlib

        from importer.workbook.validate import prefetch

        # only a head start: should it fail, the read itself, inside the CLI's error handling, says what is wrong
        with contextlib.suppress(Exception):
            prefetch(path)
    from importer.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
