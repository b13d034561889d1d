"""The teaching layer stays consistent: badges and setup cells from the one repository URL, key terms
in the glossary and references that resolve (exercises: tests/test_exercise_design.py)."""
import ast
import importlib
import re
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import notebook_tools as tools  # noqa: E402

NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
IDS = [p.name for p in NOTEBOOKS]


def read(path):
    return nbformat.read(path, as_version=4)


def tags(cell):
    return cell.metadata.get("tags", [])


def test_notebook_names_are_numbered_and_unique():
    numbers = [p.name[:2] for p in NOTEBOOKS]
    assert numbers[0] == "00" and len(set(numbers)) == len(numbers)
    assert all(re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", p.name) for p in NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_badge_and_setup_cell_come_from_the_one_url(path):
    nb = read(path)
    assert nb.cells[0].source == tools.colab_badge(path.name), "run: python scripts/notebook_tools.py sync"
    source = tools.first_code_cell(nb).source
    seed = int(re.search(r"setup_notebook\(seed=(\d+)\)", source).group(1))
    assert source == tools.setup_cell_source(seed), "run: python scripts/notebook_tools.py sync"


def test_readme_links_every_notebook_and_its_colab_badge():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for path in NOTEBOOKS:
        assert f"notebooks/{path.name}" in readme, f"README does not link {path.name}"
        assert tools.colab_url(path.name) in readme, f"README has no Colab badge for {path.name}"
    for link in re.findall(r"\]\((?!https?://)([^)#\s]+)", readme):
        assert (ROOT / link).exists(), f"README links to missing file {link}"


def key_terms(nb) -> list[tuple[str, str]]:
    """(English, 中文) rows of the notebook's '## Key terms' table."""
    for cell in nb.cells:
        if cell.cell_type == "markdown" and re.search(r"^#+\s*Key terms", cell.source, re.M):
            rows = [r.strip().strip("|").split("|") for r in cell.source.splitlines() if r.strip().startswith("|")]
            return [(r[0].strip(), r[1].strip()) for r in rows[2:] if len(r) >= 2]
    return []


def glossary() -> dict[str, str]:
    text = (ROOT / "docs" / "glossary.md").read_text(encoding="utf-8")
    rows = [r.strip().strip("|").split("|") for r in text.splitlines() if r.strip().startswith("|")]
    return {r[0].strip(): r[1].strip() for r in rows[2:] if len(r) >= 2}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_key_terms_match_the_glossary(path):
    terms = key_terms(read(path))
    assert len(terms) >= 3, f"{path.name} needs a '## Key terms' table (English | 中文 | meaning)"
    known = glossary()
    for english, chinese in terms:
        assert english in known, f"{english!r} ({path.name}) is missing from docs/glossary.md"
        assert known[english] == chinese, f"{english!r}: {path.name} says {chinese!r}, glossary says {known[english]!r}"


def imported_names(source: str):
    """(module, name) for every `from course_utils... import name` in a cell."""
    try:
        tree = ast.parse(re.sub(r"^\s*[!%].*$", "", source, flags=re.M))
    except SyntaxError:
        return
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("course_utils"):
            for alias in node.names:
                yield node.module, alias.name
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("course_utils"):
                    yield alias.name, None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_references_exist(path):
    nb = read(path)
    for cell in nb.cells:
        if cell.cell_type == "code":
            for module, name in imported_names(cell.source):
                mod = importlib.import_module(module)
                if name is not None and name != "*":
                    assert hasattr(mod, name) or importlib.util.find_spec(f"{module}.{name}"), \
                        f"{path.name} imports {name} from {module}, which does not exist"
        else:
            for link in re.findall(r"\]\((?!https?://|#)([^)\s]+)", cell.source):
                assert (path.parent / link).exists(), f"{path.name} links to missing file {link}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_no_cell_ends_with_a_bare_expect(path):
    # expect() returns the measured value; as a cell's last expression Jupyter would display it
    # (e.g. 2.9701231128868018) and nbval would compare that float digit for digit on every machine.
    for i, cell in enumerate(read(path).cells):
        if cell.cell_type != "code":
            continue
        body = ast.parse(cell.source).body
        last = body[-1] if body else None
        bare = (isinstance(last, ast.Expr) and isinstance(last.value, ast.Call)
                and getattr(last.value.func, "id", "") == "expect")
        assert not bare, f"{path.name} cell {i} ends with expect(...): write `_ = expect(...)`"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_committed_outputs_read_as_text(path):
    # GitHub and Colab show a saved progress-bar widget frozen at its first frame ("training: 0% 0/800"):
    # committed outputs must be plain text (train_model prints plain progress lines).
    nb = read(path)
    assert "widgets" not in nb.metadata, f"{path.name} carries saved widget state from an old run"
    for i, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            assert "application/vnd.jupyter.widget-view+json" not in data, f"{path.name} cell {i} holds a widget"
            text = output.get("text", "") + data.get("text/plain", "")
            assert not re.search(r"\d+%\|", text), f"{path.name} cell {i} holds a tqdm bar: {text[:80]!r}"
