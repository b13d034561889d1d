"""Write student versions of the notebooks: solution cells removed, exercise outputs cleared.

    python scripts/make_student_copies.py            # → student/NN_name.ipynb (git-ignored)
    python scripts/make_student_copies.py --out DIR

Cells tagged `solution` are dropped; cells tagged `exercise` keep their scaffold but lose outputs, and so
do the check cells right after a removed solution (their ✓ would give the answer away).
"""
from __future__ import annotations

import argparse
import copy
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
SOLUTION, EXERCISE = "solution", "exercise"


def tags(cell) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def student_version(nb):
    """A copy of `nb` without solutions and with exercise/check outputs cleared."""
    nb = copy.deepcopy(nb)
    cells, after_solution = [], False
    for cell in nb.cells:
        if SOLUTION in tags(cell):
            after_solution = True
            continue
        if cell.cell_type == "code" and (EXERCISE in tags(cell) or after_solution):
            cell.outputs, cell.execution_count = [], None
        after_solution = False
        cells.append(cell)
    nb.cells = cells
    return nb


def first_exercise_index(nb) -> int:
    """Index of the first exercise cell (len(cells) if none)."""
    return next((i for i, c in enumerate(nb.cells) if EXERCISE in tags(c)), len(nb.cells))


def make_all(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        nb = student_version(nbformat.read(path, as_version=4))
        nbformat.write(nb, out / path.name)
        written.append(out / path.name)
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "student")
    args = parser.parse_args()
    for path in make_all(args.out):
        print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
