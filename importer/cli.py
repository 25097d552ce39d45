"""`isometric-import`: the thin command-line layer over the library.

Each command parses its options, calls one library function, and turns the outcome into output and an
exit code. Heavy modules are imported inside the commands so `--help` and `validate` start fast.

Exit codes: 0 success (warnings allowed); 1 the workbook has errors or a row failed/was blocked;
2 usage error, unreadable file or unreachable API; 130 interrupted.
"""

from __future__ import annotations

import typer

from importer import __version__

app = typer.Typer(
    name="isometric-import",
    help="Validate, plan and upload Isometric Certify workbooks.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"isometric-import {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Validate, plan and upload Isometric Certify workbooks."""


def main() -> None:
    app()


if __name__ == "__main__":
    main()
