"""Author, sync and execute the course notebooks.

    .venv/bin/python scripts/notebook_tools.py sync              # rewrite every badge + setup cell from pyproject's URL
    .venv/bin/python scripts/notebook_tools.py run NB.ipynb ...  # execute in place (outputs are committed)

In Python: `new_notebook(cells)` with `md("...")` and `code("...", tags=[...])` builds a notebook whose
first cell is the canonical Colab/local setup cell.
"""
from __future__ import annotations

import os
import platform
import re
import sys
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
COLAB_DIR = "/content/course"


def repo_url() -> str:
    """The repository URL, from its one home: pyproject.toml [project.urls] Repository."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    return re.search(r'^Repository\s*=\s*"([^"]+)"', text, re.M).group(1)


def github_path() -> str:
    """'owner/name' from the repository URL."""
    return repo_url().removeprefix("https://github.com/").removesuffix(".git")


def colab_url(notebook_name: str) -> str:
    return f"https://colab.research.google.com/github/{github_path()}/blob/main/notebooks/{notebook_name}"


def colab_badge(notebook_name: str) -> str:
    """Markdown for an "Open in Colab" badge linking to this notebook on the main branch."""
    return (f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
            f"({colab_url(notebook_name)})")


def setup_cell_source(seed: int = 0) -> str:
    """The first code cell of every notebook.

    On your machine it only calls setup_notebook. In Colab it clones the repository (its URL has one home:
    pyproject.toml [project.urls] Repository), installs course_utils, and builds/verifies the data —
    loudly and idempotently: a marker file is written only after all three steps succeeded; a failed step
    raises one line saying which step failed and what to do; running the cell again retries from the
    step that failed. tests/test_colab_setup_cell.py runs it against a stub google.colab module.
    """
    return f'''# Setup: in Google Colab this fetches and installs the course (once per runtime, about a minute);
# on your own machine it does nothing. If a step fails it says which one; re-running retries it.
import sys
if "google.colab" in sys.modules:
    def _colab_setup(url, course):
        import importlib, os, shutil, subprocess

        class SetupError(Exception):
            def _render_traceback_(self):  # Colab shows this one line instead of a traceback
                return [str(self)]

        def step(n, what, command, fix, **options):
            print(f"→ setup {{n}}/3: {{what}}", flush=True)
            if subprocess.run(command, **options).returncode != 0:
                raise SetupError(f"✗ setup step {{n}}/3 ({{what}}) failed: {{fix}}; then run this cell again.")

        if not os.path.exists(f"{{course}}/.colab-setup-done"):
            if not os.path.isdir(f"{{course}}/.git"):
                shutil.rmtree(course, ignore_errors=True)
                step(1, f"cloning {{url}}", ["git", "clone", "--depth", "1", url, course],
                     "check the internet connection and that this URL exists (forks: README)")
            step(2, "installing course_utils and its packages",
                 [sys.executable, "-m", "pip", "install", "-q", "-e", course],
                 "read pip's message above (a network error: just retry)",
                 env={{**os.environ, "PYTHONWARNINGS": "ignore:Editable installation"}})
            step(3, "building and verifying the course data",
                 [sys.executable, "-m", "course_utils.data", "cache"],
                 "read the message above (it needs the internet once)", cwd=course)
            open(f"{{course}}/.colab-setup-done", "w").close()
            importlib.invalidate_caches()
            print(f"✓ the course is set up in {{course}}")
        sys.path.insert(0, course)
        os.chdir(f"{{course}}/notebooks")

    _colab_setup("{repo_url()}", "{COLAB_DIR}")

from course_utils import setup_notebook
setup_notebook(seed={seed})'''


# What the course's kernel (ipykernel's python3) reports. JupyterLab writes both into a notebook as soon as
# its kernel starts; if they differ from what the file holds, a notebook opens with the unsaved-changes dot.
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LANGUAGE_INFO = {"codemirror_mode": {"name": "ipython", "version": 3}, "file_extension": ".py",
                 "mimetype": "text/x-python", "name": "python", "nbconvert_exporter": "python",
                 "pygments_lexer": "ipython3"}


def canonical_metadata(metadata) -> None:
    """Set kernelspec and language_info to what the kernel reports (language_info keeps its Python version)."""
    version = metadata.get("language_info", {}).get("version") or platform.python_version()
    metadata["kernelspec"] = dict(KERNELSPEC)
    metadata["language_info"] = {**LANGUAGE_INFO, "version": version}


def md(source: str, tags: list[str] | None = None):
    cell = nbformat.v4.new_markdown_cell(source.strip("\n"))
    if tags:
        cell.metadata["tags"] = tags
    return cell


def code(source: str, tags: list[str] | None = None):
    cell = nbformat.v4.new_code_cell(source.strip("\n"))
    if tags:
        cell.metadata["tags"] = tags
    return cell


def new_notebook(cells: list, seed: int = 0):
    """A notebook: the setup cell, then `cells`, with a Python 3 kernelspec."""
    nb = nbformat.v4.new_notebook()
    canonical_metadata(nb.metadata)
    nb.cells = [code(setup_cell_source(seed)), *cells]
    return nb


def first_code_cell(nb):
    return next(c for c in nb.cells if c.cell_type == "code")


BADGE_TAG = "colab-badge"


def sync(path: Path) -> bool:
    """Rewrite a notebook's Colab badge (first cell) and setup cell from the one repository URL, and its
    kernelspec/language_info to what the kernel reports (so JupyterLab opens it unmodified).

    Returns True if the file changed.
    """
    nb = nbformat.read(path, as_version=4)
    before = nbformat.writes(nb)
    badge = colab_badge(Path(path).name)
    if nb.cells and BADGE_TAG in nb.cells[0].metadata.get("tags", []):
        nb.cells[0].source = badge
    else:
        nb.cells.insert(0, md(badge, tags=[BADGE_TAG]))
    cell = first_code_cell(nb)
    seed = 0
    if "setup_notebook(seed=" in cell.source:
        seed = int(cell.source.split("setup_notebook(seed=")[1].split(")")[0])
    cell.source = setup_cell_source(seed)
    canonical_metadata(nb.metadata)
    if nbformat.writes(nb) == before:
        return False
    nbformat.write(nb, path)
    return True


def execute(path: Path, timeout: int = 600) -> float:
    """Run every cell in place (cwd = notebooks/) and save the outputs; return seconds taken."""
    from nbclient import NotebookClient

    os.environ.setdefault("PYTHONHASHSEED", "0")
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(Path(path).parent)}}).execute()
    seconds = time.perf_counter() - start
    nbformat.write(nb, path)
    return seconds


def main(argv: list[str]) -> int:
    if argv[:1] == ["sync"]:
        for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
            if sync(path):
                print(f"updated badge/setup cell/metadata: {path.name}")
        return 0
    if argv[:1] == ["run"] and argv[1:]:
        for name in argv[1:]:
            print(f"{name}: executed in {execute(Path(name)):.1f} s")
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
