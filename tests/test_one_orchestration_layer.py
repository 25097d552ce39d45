"""One orchestration layer (issue #25): the command line calls the library and the modules that print, nothing
else of the importer; the library says how things ended as a `Verdict`, and exit codes exist in `cli.py` alone.

Read from the source with `ast`, so a lazy import inside a command counts as much as one at the top.
"""

from __future__ import annotations

import ast
from pathlib import Path

from importer.library import Verdict

PACKAGE = Path(__file__).resolve().parent.parent / "importer"

#: what `cli.py` may import of the importer: the library, and what prints or renders (the package itself only
#: for its version)
CLI_MAY_IMPORT = {
    "importer",
    "importer.library",
    "importer.output",
    "importer.progress",
    "importer.redaction",
    "importer.terminal_text",
}
CLI_MAY_IMPORT_UNDER = ("importer.report.",)


def _imported_modules(path: Path) -> set[str]:
    """Every importer module `path` imports, wherever the import stands (type-only imports included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "importer":  # `from importer import x`: x may be a submodule
                found |= {
                    f"importer.{alias.name}"
                    if (PACKAGE / f"{alias.name}.py").exists() or (PACKAGE / alias.name).is_dir()
                    else "importer"
                    for alias in node.names
                }
            else:
                found.add(node.module)
    return {name for name in found if name == "importer" or name.startswith("importer.")}


def test_the_cli_imports_only_the_library_and_what_prints() -> None:
    imported = _imported_modules(PACKAGE / "cli.py")
    assert "importer.library" in imported  # the walk sees the lazy imports inside the commands
    beyond = {m for m in imported if m not in CLI_MAY_IMPORT and not m.startswith(CLI_MAY_IMPORT_UNDER)}
    assert beyond == set(), f"cli.py reaches past the library into {sorted(beyond)}"


def test_the_walk_sees_a_reach_past_the_library(tmp_path: Path) -> None:
    script = tmp_path / "cli.py"
    script.write_text("def f():\n    from importer.runner import api_session\n    from importer import history\n")
    assert _imported_modules(script) == {"importer.runner", "importer.history"}


def test_the_library_defines_no_exit_codes() -> None:
    tree = ast.parse((PACKAGE / "library.py").read_text(encoding="utf-8"))
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    names |= {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    names |= {node.arg for node in ast.walk(tree) if isinstance(node, ast.arg)}
    names |= {
        target.id
        for node in ast.walk(tree)
        if isinstance(node, ast.AnnAssign | ast.Assign)
        for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(target, ast.Name)
    }
    assert not {n for n in names if n == "exit_code" or n.startswith("EXIT_")}
    assert "exit_code" not in (PACKAGE / "library.py").read_text(encoding="utf-8")


def test_verdicts_keep_the_more_serious() -> None:
    assert Verdict.OK.worst(Verdict.FAILED) is Verdict.FAILED
    assert Verdict.REFUSED.worst(Verdict.FAILED) is Verdict.REFUSED
    assert Verdict.FAILED.worst(Verdict.INTERRUPTED) is Verdict.INTERRUPTED


def test_the_cli_maps_every_verdict_to_the_documented_exit_code() -> None:
    from importer.cli import _exit_code

    assert {v: _exit_code(v) for v in Verdict} == {
        Verdict.OK: 0,
        Verdict.FAILED: 1,
        Verdict.REFUSED: 2,
        Verdict.INTERRUPTED: 130,
    }


def test_the_importers_own_stops_share_one_base_carrying_their_verdict() -> None:
    from importer.history import LocalStateError
    from importer.rollback import RollbackRefused
    from importer.runner import ImportAborted
    from importer.settings import SettingsError
    from importer.stops import ImporterError

    assert SettingsError("x").verdict is Verdict.REFUSED
    assert LocalStateError(Path("h"), "x").verdict is Verdict.REFUSED
    assert RollbackRefused("x").verdict is Verdict.FAILED
    assert ImportAborted("x", verdict=Verdict.INTERRUPTED).verdict is Verdict.INTERRUPTED
    for error in (SettingsError, LocalStateError, RollbackRefused, ImportAborted):
        assert issubclass(error, ImporterError)
