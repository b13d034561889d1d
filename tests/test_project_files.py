"""Keep the install routes consistent: pip (pyproject/requirements), conda (environment.yml), CI."""
import re
from pathlib import Path

import pytest
import yaml

tomllib = pytest.importorskip("tomllib")  # Python ≥ 3.11; the consistency checks run in CI
ROOT = Path(__file__).resolve().parent.parent
CONDA_NAMES = {"torch": "pytorch"}


def _floors(specs):
    out = {}
    for spec in specs:
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)\s*>=\s*([\w.]+)", spec.strip())
        assert m, f"dependency {spec!r} should be written 'name>=floor'"
        out[m.group(1).lower()] = m.group(2)
    return out


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pip_deps = _floors(project["dependencies"] + project["optional-dependencies"]["dev"])
    conda = yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"]
    conda_deps = _floors([d for d in conda if isinstance(d, str) and d not in ("pip",) and not d.startswith("python")])
    pip_section = next(d["pip"] for d in conda if isinstance(d, dict))
    conda_deps.update(_floors([d for d in pip_section if not d.startswith("-e")]))
    assert conda_deps == {CONDA_NAMES.get(k, k): v for k, v in pip_deps.items()}
    assert "-e ." in pip_section


def test_requirements_pin_cpu_torch_and_install_the_package():
    reqs = (ROOT / "requirements.txt").read_text().splitlines()
    assert "torch==2.13.0" in reqs
    assert "-e .[dev]" in reqs
    pinned = {line.split("==")[0].lower() for line in reqs if "==" in line}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = set(_floors(project["dependencies"] + project["optional-dependencies"]["dev"]))
    assert declared <= pinned, f"pin these in requirements.txt too: {sorted(declared - pinned)}"


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "./course.sh test" in ci
    assert "./course.sh test" in (ROOT / "README.md").read_text()
    assert "./course.sh lab" in (ROOT / "README.md").read_text()
