"""The built wheel works installed: templates inside it, reports in the current folder, from anywhere.

The wheel is built once from a copy of the checkout and installed (not editable) into a fresh virtual
environment. Its dependencies come from this test run's own environment (a `.pth` line pointing at its
site-packages), so nothing is downloaded but the build backend; `.ci/run` also does a full, networked install.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "sample_workbooks" / "biochar-2026-10.xlsx"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build from a copy, so the checkout gets no build/ or egg-info and parallel builds do not collide."""
    src = tmp_path_factory.mktemp("src")
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("importer", "templates"):
        shutil.copytree(REPO / folder, src / folder, ignore=skip)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(src)],
        check=True,
        timeout=300,
        capture_output=True,
        text=True,
    )
    (built,) = out.glob("isometric_workbook_importer-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed (not editable); dependencies resolved from this environment."""
    root = tmp_path_factory.mktemp("venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True, timeout=120)
    python = root / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # A plain path line: this environment's packages become importable, its own .pth files (the editable
    # install of the checkout) are not processed, so `importer` can only come from the wheel.
    (Path(purelib) / "zz_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)],
        check=True,
        timeout=300,
        capture_output=True,
        text=True,
    )
    return root


@pytest.fixture(scope="module")
def elsewhere(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder outside the checkout holding a copy of the sample workbook and its evidence."""
    folder = tmp_path_factory.mktemp("elsewhere")
    shutil.copy2(SAMPLE, folder / SAMPLE.name)
    shutil.copytree(SAMPLE.parent / "evidence", folder / "evidence")
    return folder


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ISOMETRIC_") and k != "PYTHONPATH"}
    clean.update(ISOMETRIC_IMPORTER_HOME=str(tmp_path_factory.mktemp("home")), NO_COLOR="1", COLUMNS="160")
    return clean


def tool(venv: Path, cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(venv / "bin" / "isometric-import"), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=240
    )


def test_wheel_carries_the_templates_and_every_package(wheel: Path):
    names = set(zipfile.ZipFile(wheel).namelist())
    for template in (REPO / "templates").glob("*.j2"):
        assert f"importer/_templates/{template.name}" in names
    for init in (REPO / "importer").rglob("__init__.py"):
        packaged = init.relative_to(REPO).as_posix()
        assert packaged in names, f"{packaged} is missing from the wheel: add its package to pyproject.toml"
    assert not any(n.startswith(("templates/", "reports/")) for n in names)


def test_installed_package_is_the_wheel_and_loads_templates_from_it(venv: Path, elsewhere: Path, env: dict[str, str]):
    code = (
        "import importer, importer.report.render as r; print(importer.__file__); "
        "print(r.environment().get_template('run_report.html.j2').filename)"
    )
    proc = subprocess.run(
        [str(venv / "bin" / "python"), "-c", code], cwd=elsewhere, env=env, capture_output=True, text=True, check=True
    )
    package, template = proc.stdout.splitlines()
    assert Path(package).is_relative_to(venv) and "site-packages" in package
    assert Path(template).is_relative_to(venv) and Path(template).parent.name == "_templates"


def test_validate_from_another_folder_writes_its_report_there(venv: Path, elsewhere: Path, env: dict[str, str]):
    proc = tool(venv, elsewhere, env, "validate", SAMPLE.name)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (report,) = (elsewhere / "reports").glob("*-validation.html")
    assert SAMPLE.name in report.read_text(encoding="utf-8")
    assert f"report: {report}" in proc.stdout


def test_run_from_another_folder_against_the_embedded_sandbox(venv: Path, elsewhere: Path, env: dict[str, str]):
    proc = tool(venv, elsewhere, env, "run", SAMPLE.name, "--quiet")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "REHEARSAL" in proc.stdout and "GHG statement" in proc.stdout and "kg CO2e" in proc.stdout
    (report,) = (elsewhere / "reports").glob("*-run.html")
    assert f"report: {report}" in proc.stdout

    again = tool(venv, elsewhere, env, "run", SAMPLE.name, "--json")
    assert again.returncode == 0, again.stdout + again.stderr
    payload = json.loads(again.stdout)
    assert payload["ok"] is True
    assert Path(payload["report"]).parent == elsewhere / "reports"


def test_an_unwritable_reports_folder_is_only_a_warning(venv: Path, elsewhere: Path, env: dict[str, str]):
    blocker = elsewhere / "not-a-folder"
    blocker.write_text("a file where the reports folder should be")
    unwritable = {**env, "ISOMETRIC_REPORTS_DIR": str(blocker / "reports")}

    plan = tool(venv, elsewhere, unwritable, "plan", SAMPLE.name, "--json")
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert json.loads(plan.stdout)["ok"] is True
    assert "warning: report not written" in plan.stderr

    validate = tool(venv, elsewhere, unwritable, "validate", SAMPLE.name, "--json")
    assert validate.returncode == 0, validate.stdout + validate.stderr
    assert json.loads(validate.stdout)["ok"] is True
    assert "warning: report not written" in validate.stderr
