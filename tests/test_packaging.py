"""pyproject.toml and environment.yml list the same packages with the same ranges; CI runs make test."""
from __future__ import annotations

import re
import tomllib

import pytest
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONDA_NAMES = {"torch": "pytorch"}  # conda-forge spells a few packages differently


def _split(req: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", req)
    return m.group(1).lower(), m.group(2).replace(" ", "")


def pyproject_requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        reqs += extra
    return dict(_split(r) for r in reqs)


def conda_requirements() -> dict[str, str]:
    deps = {}
    text = (ROOT / "environment.yml").read_text()
    for line in text.split("dependencies:", 1)[1].splitlines():
        m = re.match(r"^\s*-\s+([A-Za-z0-9_.\-]+[^#]*)", line)
        if m and not line.strip().startswith("- pip:"):
            name, spec = _split(m.group(1).strip())
            deps[name] = spec
    return deps


def test_pyproject_has_no_exact_pins():
    pins = {k: v for k, v in pyproject_requirements().items() if "==" in v}
    assert not pins, f"pyproject.toml should use compatible ranges, not pins: {pins}"


def test_environment_yml_matches_pyproject():
    conda = conda_requirements()
    for name, spec in pyproject_requirements().items():
        conda_name = CONDA_NAMES.get(name, name)
        assert conda_name in conda, f"{name} is in pyproject.toml but not in environment.yml"
        assert conda[conda_name] == spec, f"{name}: pyproject says {spec!r}, environment.yml {conda[conda_name]!r}"
    extra = set(conda) - {CONDA_NAMES.get(n, n) for n in pyproject_requirements()} - {"python", "pip"}
    assert not extra, f"environment.yml lists packages pyproject.toml does not: {sorted(extra)}"


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "make test" in ci and "make test" in readme and "make lab" in readme


def test_building_the_metadata_prints_no_setuptools_warning(tmp_path):
    """The first install used to print a 12-line deprecation warning about ``project.license``, twice (issue 12)."""
    import subprocess
    import sys

    setuptools = pytest.importorskip("setuptools")
    if int(setuptools.__version__.split(".")[0]) < 77:
        pytest.skip(f"setuptools {setuptools.__version__} here; pip builds with >= 77 (pyproject.toml)")
    code = ("import sys; from setuptools import build_meta as b; "
            "print(b.prepare_metadata_for_build_wheel(sys.argv[1]))")
    run = subprocess.run([sys.executable, "-W", "always", "-c", code, str(tmp_path)], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Warning" not in run.stderr and "deprecated" not in run.stderr.lower(), run.stderr[-2000:]
    metadata = next(tmp_path.glob("*.dist-info")) / "METADATA"
    assert "License-Expression: MIT" in metadata.read_text()
