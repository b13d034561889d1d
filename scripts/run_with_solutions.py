"""Execute notebooks with the reference solutions pasted into their exercise cells — the instructor's view.

    .venv/bin/python scripts/run_with_solutions.py notebooks/08_sentiment_analysis.ipynb ...
    .venv/bin/python scripts/run_with_solutions.py --all

Writes `build/solved/NN_name.ipynb` (git-ignored) and prints every exercise check and experiment output, so
the experiments that wait for a passing check (never run by CI, which runs the learner's notebooks) are seen
to work. Exits non-zero if a cell fails or a check does not print ✓.
"""
from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from course_utils.exercises import solution_sources  # noqa: E402


def solved_version(nb, number: int):
    """A copy of `nb` whose k-th exercise cell runs the scaffold, then reference solution k."""
    nb = copy.deepcopy(nb)
    solutions = solution_sources(number)
    k = 0
    for cell in nb.cells:
        if "exercise" in cell.metadata.get("tags", []):
            k += 1
            cell.source = cell.source + "\n\n# --- reference solution ---\n" + solutions[k]
    return nb


def run(path: Path, out_dir: Path) -> bool:
    nb = solved_version(nbformat.read(path, as_version=4), int(path.name[:2]))
    NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    out_dir.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out_dir / path.name)
    first = next(i for i, c in enumerate(nb.cells) if "exercise" in c.metadata.get("tags", []))
    ok = True
    print(f"== {path.name}")
    for cell in nb.cells[first:]:
        if cell.cell_type != "code" or "exercise" in cell.metadata.get("tags", []):
            continue
        text = "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")
        errors = [o for o in cell.outputs if o.get("output_type") == "error"]
        if errors:
            ok = False
            text += f"ERROR {errors[0]['ename']}: {errors[0]['evalue']}\n"
        if "✗" in text or "⏳" in text:
            ok = False
        print(text, end="")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--all", action="store_true", help="every notebook in notebooks/")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "solved")
    args = parser.parse_args()
    paths = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")) if args.all else args.notebooks
    if not paths:
        parser.error("name notebooks or pass --all")
    results = [run(path.resolve(), args.out) for path in paths]
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
