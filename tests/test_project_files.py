"""Keep the install routes consistent and the front door working: pip (pyproject/requirements), conda
(environment.yml), CI, course.sh (Python floor, half-built venv, CPU torch, loud installs), the lab's
settings, and README commands that work as written."""
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from packaging.version import Version

tomllib = pytest.importorskip("tomllib")  # Python ≥ 3.11; the consistency checks run in CI
ROOT = Path(__file__).resolve().parent.parent
COURSE_SH = ROOT / "course.sh"
CONDA_NAMES = {"torch": "pytorch"}


def _floors(specs):
    out = {}
    for spec in specs:
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)\s*>=\s*([\w.]+)", spec.strip())
        assert m, f"dependency {spec!r} should be written 'name>=floor'"
        out[m.group(1).lower()] = m.group(2)
    return out


def _pins(lines, sep="=="):
    out = {}
    for line in lines:
        m = re.fullmatch(rf"([A-Za-z0-9_.\-]+)\s*{sep}\s*([\w.+]+)", line.strip())
        if m:
            out[m.group(1).lower()] = m.group(2)
    return out


def test_environment_yml_pins_what_requirements_pins():
    """conda learners get the versions that produced the committed outputs (not just pyproject's floors)."""
    requirements = _pins((ROOT / "requirements.txt").read_text().splitlines())
    conda = yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"]
    conda_pins = _pins([d for d in conda if isinstance(d, str)], sep="=")
    pip_section = next(d["pip"] for d in conda if isinstance(d, dict))
    conda_pins.update(_pins(pip_section))
    expected = {CONDA_NAMES.get(k, k): v for k, v in requirements.items()}
    assert conda_pins == expected, (
        "environment.yml must pin what requirements.txt pins (conda-forge names; pip section for packages "
        f"conda-forge lacks): missing {sorted(set(expected.items()) - set(conda_pins.items()))}, "
        f"extra {sorted(set(conda_pins.items()) - set(expected.items()))}")
    assert "-e ." in pip_section
    # every package pyproject declares is pinned (its floors below the pins)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for name, floor in _floors(project["dependencies"] + project["optional-dependencies"]["dev"]).items():
        assert Version(requirements[name.lower()]) >= Version(floor), name


def test_python_floor_is_one_everywhere():
    """numpy 2.4.6, matplotlib 3.11.2, ipykernel 7.4 and hypothesis need Python 3.11: one floor everywhere."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.11"
    conda = yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"]
    assert "python>=3.11" in conda
    assert re.search(r"^MIN_PY_MINOR=11\b", COURSE_SH.read_text(), re.M)
    for name in ("README.md", "course.sh", "docs/instructor_guide.md"):
        assert not re.search(r"(≥|>=)\s*3\.10|\(3, 10\)", (ROOT / name).read_text()), name
    assert "Python ≥ 3.11" in (ROOT / "README.md").read_text()


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


# ---------------------------------------------------------------- course.sh, called as a learner would

def _fake_python(tmp_path, body):
    """An executable 'python' that runs `body` (sh) first and otherwise behaves like this interpreter."""
    fake = tmp_path / "fakepython"
    fake.write_text(f'#!/bin/sh\n{body}\nexec {sys.executable} "$@"\n')
    fake.chmod(0o755)
    return fake


def _course_sh(*args, env=None, timeout=60):
    return subprocess.run([str(COURSE_SH), *args], cwd=ROOT, env={**os.environ, **(env or {})},
                          capture_output=True, text=True, timeout=timeout)


def test_course_sh_refuses_python_below_311_first_with_a_clear_message(tmp_path):
    old = _fake_python(tmp_path, 'case "$1" in --version) echo "Python 3.10.12"; exit 0;; -c) exit 1;; esac')
    venv_dir = tmp_path / "venv"
    result = _course_sh("setup", env={"PYTHON": str(old), "COURSE_VENV": str(venv_dir)})
    assert result.returncode == 1
    assert "Python ≥ 3.11 is needed" in result.stderr and "Python 3.10.12" in result.stderr
    assert not venv_dir.exists(), "nothing is created before the check"


def test_course_sh_rebuilds_a_venv_without_pip_and_cleans_up_a_failed_one(tmp_path):
    """Debian without python3.X-venv: `python -m venv` leaves bin/python but no pip. The next run must
    notice and rebuild; a venv that fails again is removed, with the apt-get hint."""
    venv_dir = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv_dir)], check=True)
    # venv creation that fails like Debian's: it writes bin/python, then exits 1
    broken = _fake_python(tmp_path, 'if [ "$1 $2" = "-m venv" ]; then\n'
                                    f'  {sys.executable} -m venv --without-pip "$3"\n'
                                    '  echo "ensurepip is not available" >&2; exit 1\nfi')
    result = _course_sh("setup", env={"PYTHON": str(broken), "COURSE_VENV": str(venv_dir)})
    assert result.returncode == 1
    assert "half-built" in result.stdout, result.stdout + result.stderr
    assert "apt-get install python3." in result.stderr and "-venv" in result.stderr
    assert not venv_dir.exists(), "a half-built venv must not be left for the next run to trip on"


def _source_and_call(call, tmp_path):
    """Run one course.sh function (the script runs main only when executed, not when sourced)."""
    bin_dir = tmp_path / "probe-venv" / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    if not (bin_dir / "python").exists():
        (bin_dir / "python").symlink_to(sys.executable)
    return subprocess.run(["bash", "-c", f"source ./course.sh; {call}"], cwd=ROOT, capture_output=True,
                          text=True, timeout=30, env={**os.environ, "COURSE_VENV": str(bin_dir.parent)})


@pytest.mark.skipif(sys.platform != "linux" or os.uname().machine != "x86_64", reason="CPU index: Linux x86_64")
def test_torch_cpu_index_is_used_when_it_answers_and_skipped_fast_when_not(tmp_path):
    import http.server
    import threading

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        up = _source_and_call(f"TORCH_CPU_INDEX={url}; torch_index_args cpu", tmp_path)
    finally:
        server.shutdown()
    assert up.stdout.split() == ["--extra-index-url", url], up.stderr
    # an index that never answers (a black-holed address, or no DNS) costs 3 s, not PIP_DEFAULT_TIMEOUT
    start = time.perf_counter()
    down = _source_and_call("TORCH_CPU_INDEX=http://10.255.255.1:9; torch_index_args cpu", tmp_path)
    assert down.returncode == 0 and down.stdout == "", down.stdout + down.stderr
    assert "did not answer within 3 s" in down.stderr
    assert time.perf_counter() - start < 8
    cuda = _source_and_call("torch_index_args cuda", tmp_path)
    assert cuda.stdout == "" and "CUDA" in cuda.stderr


def test_course_sh_installs_cpu_torch_by_default_and_never_silences_pip():
    text = COURSE_SH.read_text()
    assert 'TORCH_CPU_INDEX="${COURSE_TORCH_CPU_INDEX:-https://download.pytorch.org/whl/cpu}"' in text
    assert 'torch_kind="${COURSE_TORCH:-$(cat "$torch_file" 2>/dev/null || echo cpu)}"' in text
    pip_lines = [line for line in text.splitlines() if "pip install" in line]
    assert pip_lines and not [line for line in pip_lines if re.search(r"\s(-q|--quiet)\b", line)], \
        "a multi-minute install must show pip's progress"


# ---------------------------------------------------------------- the lab opens cleanly

def test_lab_opens_at_the_repository_root_on_notebook_00():
    lab = re.search(r"\blab\)(.*?);;", COURSE_SH.read_text(), re.S).group(1)
    assert '--ServerApp.root_dir="$PWD"' in lab, "README, glossary and guide must be reachable in the lab"
    assert "--LabApp.default_url=/lab/tree/notebooks/00_welcome_and_setup.ipynb" in lab
    assert (ROOT / "notebooks" / "00_welcome_and_setup.ipynb").exists()


def test_lab_settings_ship_with_the_course_and_setup_installs_them():
    overrides = json.loads((ROOT / "config" / "jupyterlab_overrides.json").read_text())
    assert overrides["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"  # no news pop-up
    config = json.loads((ROOT / "config" / "jupyter_config.json").read_text())
    assert config["KernelManager"]["transport_encryption"] == "auto"
    text = COURSE_SH.read_text()
    assert "share/jupyter/lab/settings/overrides.json" in text and "etc/jupyter/jupyter_config.json" in text
    settings = Path(sys.prefix, "share", "jupyter", "lab", "settings", "overrides.json")
    if sys.prefix != sys.base_prefix and (Path(sys.prefix) / ".course-installed").exists():  # the course venv
        assert json.loads(settings.read_text()) == overrides, "run ./course.sh setup"


def test_kernels_start_encrypted_so_no_plain_tcp_warning(tmp_path):
    """ipykernel warns 'Kernel is running over TCP without encryption' unless the kernel manager gives it
    CurveZMQ keys; config/jupyter_config.json turns that on (the kernelspec declares curve support)."""
    zmq = pytest.importorskip("zmq")
    if not zmq.has("curve"):
        pytest.skip("this libzmq has no CurveZMQ")
    from jupyter_client.manager import KernelManager
    from traitlets.config import Config

    config = Config(json.loads((ROOT / "config" / "jupyter_config.json").read_text()))
    log = tmp_path / "kernel.log"
    manager = KernelManager(kernel_name="python3", config=config)
    with log.open("w") as stderr:
        manager.start_kernel(stderr=stderr)
        try:
            client = manager.client()
            client.start_channels()
            client.wait_for_ready(timeout=60)
            reply = client.execute_interactive("x = 6 * 7", timeout=60)
            assert reply["content"]["status"] == "ok"
            client.stop_channels()
        finally:
            manager.shutdown_kernel(now=True)
    assert "without encryption" not in log.read_text()


def test_notebooks_open_without_unsaved_changes():
    """JupyterLab writes the kernel's kernelspec and language_info into a notebook when its kernel starts;
    a value that differs (display name 'Python 3' vs 'Python 3 (ipykernel)', a stub language_info) marks
    the notebook modified the moment it opens. Only language_info's Python version may differ."""
    import nbformat
    from ipykernel.ipkernel import IPythonKernel
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec("python3")
    kernel_info = {k: v for k, v in IPythonKernel.language_info.items() if k != "version"}
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        metadata = nbformat.read(path, as_version=4).metadata
        assert metadata["kernelspec"] == {"name": "python3", "display_name": spec.display_name,
                                          "language": spec.language}, f"{path.name}: run notebook_tools.py sync"
        info = dict(metadata["language_info"])
        assert info.pop("version", None), f"{path.name}: language_info has no version"
        assert info == kernel_info, f"{path.name}: run notebook_tools.py sync"


# ---------------------------------------------------------------- the front door, as written

def _shell_commands(text):
    """Commands in a Markdown file: lines of ```bash blocks and `inline code`."""
    commands = []
    for block in re.findall(r"```(?:bash|sh)?\n(.*?)```", text, re.S):
        commands += [line.split(" #")[0].strip() for line in block.splitlines()]
    commands += re.findall(r"`([^`\n]+)`", text)
    return [c for c in commands if c]


def test_documented_commands_work_as_written():
    """No bare `python …` or `jupyter …`: Debian has no `python`, and outside the venv nothing is installed.
    (The README's results block is written by benchmarks/report.py and is not checked here.)"""
    for name in ("README.md", "CONTRIBUTING.md", "docs/instructor_guide.md"):
        text = re.sub(r"<!-- results:start -->.*?<!-- results:end -->", "", (ROOT / name).read_text(), flags=re.S)
        bare = [c for c in _shell_commands(text)
                if re.match(r"(python3?|pip3?|pytest|jupyter)\s", c)]
        assert not bare, f"{name}: use ./course.sh … or .venv/bin/…: {bare}"


def test_readme_gives_install_size_and_time_and_container_port():
    readme = (ROOT / "README.md").read_text()
    assert re.search(r"\d GB", readme), "how much disk the install takes"
    assert "-p 8888:8888" in readme, "a container must publish the lab's port"
    assert "COURSE_TORCH=cuda" in readme


def test_contributing_stands_on_files_inside_the_repository():
    text = (ROOT / "CONTRIBUTING.md").read_text()
    assert "../" not in text, "CONTRIBUTING must not point outside the repository"
    for link in re.findall(r"\]\(([^)#]+)", text):
        if not link.startswith("http"):
            assert (ROOT / link).exists(), link


def test_markdown_images_have_alt_text():
    import nbformat

    sources = {name: (ROOT / name).read_text() for name in ("README.md", "docs/instructor_guide.md")}
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        for i, cell in enumerate(nbformat.read(path, as_version=4).cells):
            if cell.cell_type == "markdown":
                sources[f"{path.name} cell {i}"] = cell.source
    for where, text in sources.items():
        assert not re.search(r"!\[\s*\]\(", text), f"{where}: an image without alt text"
        assert not re.search(r"<img(?![^>]*\balt=)[^>]*>", text), f"{where}: <img> without alt"


def test_notebook_phase_runs_every_notebook_once_slowest_first_each_on_one_worker(tmp_path):
    listed = _source_and_call("notebooks_longest_first", tmp_path).stdout.split()
    every = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert sorted(listed) == every and len(listed) == len(set(listed)), "a notebook would be skipped or run twice"
    known = json.loads((ROOT / "benchmarks/results/notebooks.json").read_text())["notebooks"]
    seconds = [known[Path(p).name]["seconds"] for p in listed if Path(p).name in known]
    assert seconds == sorted(seconds, reverse=True), "the slowest notebooks start first"
    body = COURSE_SH.read_text()
    assert "--dist loadfile" in body, "a notebook's cells must stay on one worker, in order (one kernel each)"
