"""Committed outputs read the same on GitHub, in Colab and in JupyterLab (issue 9 §6): plain text and PNG figures
only — no widget that a saved notebook shows as its first frame ("training: 0% 0/800"), no carriage-return progress
bars, no stderr warnings left for a learner to puzzle over."""
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("[0-9][0-9]_*.ipynb"))
READABLE = {"text/plain", "image/png", "text/markdown", "text/latex"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_committed_outputs_are_plain_text_and_png(path):
    problems = []
    for index, cell in enumerate(nbformat.read(path, as_version=4).cells):
        for output in cell.get("outputs", []):
            if output.output_type == "stream":
                if output.name == "stderr":
                    problems.append(f"cell {index}: stderr output {output.text[:80]!r}")
                if "\r" in output.text:
                    problems.append(f"cell {index}: a carriage-return progress bar {output.text[:80]!r}")
            elif output.output_type in ("display_data", "execute_result"):
                if extra := set(output.data) - READABLE:
                    problems.append(f"cell {index}: output types {sorted(extra)} (widgets or HTML do not render alike)")
            elif output.output_type == "error":
                problems.append(f"cell {index}: a committed error ({output.ename})")
    assert not problems, f"{path.name}:\n" + "\n".join(problems)
