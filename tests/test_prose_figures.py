"""Every decimal figure quoted in a notebook's prose comes from that notebook: it equals (at the precision
quoted) a number in one of the committed outputs, or it is a setting written in a code cell. What remains
— constants, published results, figures of other notebooks — is listed in PROSE_FIGURES_ALLOWED with a
reason. A re-run that moves a result, with prose left behind, fails here."""
import json
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
ALLOWED = json.loads((Path(__file__).parent / "prose_figures_allowed.json").read_text(encoding="utf-8"))

DECIMAL = re.compile(r"(?<![\w.\-−])[−-]?\d[\d,]*\.\d+(?![\w.]*\d)")
NUMBER = re.compile(r"[−-]?\d[\d,]*(?:\.\d+)?(?:e[−-]?\d+)?")


def numbers_in(text: str) -> list[float]:
    out = []
    for token in NUMBER.findall(text):
        try:
            out.append(float(token.replace(",", "").replace("−", "-")))
        except ValueError:
            continue
    return out


def output_text(nb) -> str:
    parts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            data = output.get("data", {})
            parts.append(data.get("text/plain", ""))
            parts.append(data.get("text/markdown", ""))
    return "\n".join(parts)


def prose_figures(nb) -> list[str]:
    """Decimal numbers in markdown, outside $…$ maths and `code` spans (formulas, not results)."""
    found = []
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        text = re.sub(r"\$\$.*?\$\$|\$[^$]*\$|`[^`]*`|\]\([^)]*\)", " ", cell.source, flags=re.S)
        found += DECIMAL.findall(text)
    return found


def quoted(figure: str, candidates: list[float]) -> bool:
    value = float(figure.replace(",", "").replace("−", "-"))
    decimals = len(figure.split(".")[1])
    return any(abs(round(c, decimals) - abs(value)) < 10 ** -(decimals + 3) or
               abs(round(c, decimals) - value) < 10 ** -(decimals + 3) for c in candidates)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_every_quoted_figure_is_measured_or_set_in_the_notebook(path):
    nb = nbformat.read(path, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    candidates = numbers_in(output_text(nb)) + numbers_in(code)
    allowed = ALLOWED.get(path.name, {})
    stale = sorted({f for f in prose_figures(nb) if f not in allowed and not quoted(f, candidates)})
    assert not stale, (f"{path.name}: the prose quotes {stale}, found in no output and no code cell — re-read the "
                       "prose against the outputs, or list a true constant in tests/prose_figures_allowed.json")


def test_the_check_can_fail():
    assert quoted("1.62", [1.6213, 3.0]) and not quoted("1.62", [1.67, 16.2])
    assert prose_figures(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
        "loss 1.62 after $x = 0.5$ and `lr=0.1`, then 2.0")])) == ["1.62", "2.0"]
