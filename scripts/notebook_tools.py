"""Author, sync and execute the course notebooks.

    python scripts/notebook_tools.py sync               # rewrite every badge + setup cell from pyproject's URL
    python scripts/notebook_tools.py run NB.ipynb ...   # execute in place (outputs are committed)

In Python: `new_notebook(cells)` with `md("...")` and `code("...", tags=[...])` builds a notebook whose
first cell is the canonical Colab/local setup cell.
"""
from __future__ import annotations

import os
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
    return f'''# Setup: in Google Colab this fetches the course and installs it; on your machine it does nothing.
import sys
if "google.colab" in sys.modules:
    import os, subprocess
    if not os.path.isdir("{COLAB_DIR}"):
        subprocess.run(["git", "clone", "--depth", "1", "{repo_url()}", "{COLAB_DIR}"], check=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-e", "{COLAB_DIR}"], check=True)
        subprocess.run([sys.executable, "-m", "course_utils.data", "cache"], cwd="{COLAB_DIR}", check=True)
    sys.path.insert(0, "{COLAB_DIR}")
    os.chdir("{COLAB_DIR}/notebooks")

from course_utils import setup_notebook
setup_notebook(seed={seed})'''


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
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = [code(setup_cell_source(seed)), *cells]
    return nb


def first_code_cell(nb):
    return next(c for c in nb.cells if c.cell_type == "code")


BADGE_TAG = "colab-badge"


def sync(path: Path) -> bool:
    """Rewrite a notebook's Colab badge (first cell) and setup cell from the one repository URL.

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
                print(f"updated setup cell: {path.name}")
        return 0
    if argv[:1] == ["run"] and argv[1:]:
        for name in argv[1:]:
            print(f"{name}: executed in {execute(Path(name)):.1f} s")
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
