"""A function as a notebook defines it, so a test can prove the package's version agrees with the lesson's."""
import json
from pathlib import Path

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def notebook_function(notebook: str, name: str, namespace: dict):
    """Execute the `def name(...)` block of the code cell in notebooks/<notebook> that starts with it (the cell's
    lines after the first blank line — its demonstration — are left out) in `namespace`; return the function."""
    cells = json.loads((NOTEBOOKS / notebook).read_text(encoding="utf-8"))["cells"]
    source = next("".join(c["source"]) for c in cells
                  if c["cell_type"] == "code" and "".join(c["source"]).startswith(f"def {name}("))
    exec(source.split("\n\n")[0], namespace)
    return namespace[name]
