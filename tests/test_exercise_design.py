"""Exercises keep their promise: the notebook a learner opens holds no executable solution and Run All
leaves every check at "not yet"; each reference solution (course_utils/exercises/solutions/) passes its
checker; hints do not give the answer line away."""
import ast
import difflib
import functools
import importlib
import re
from pathlib import Path

import nbformat
import pytest

import course_utils.exercises as exercises

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
IDS = [p.name for p in NOTEBOOKS]


def tags(cell):
    return cell.metadata.get("tags", [])


def number(path: Path) -> int:
    return int(path.name[:2])


@functools.cache
def exercise_items(path: Path):
    """(k, scaffold cell, check cell, markdown before the scaffold, argument name) for every exercise
    (read once per notebook: every test of that notebook asks for them)."""
    cells = nbformat.read(path, as_version=4).cells
    items = []
    for i, cell in enumerate(cells):
        if "exercise" not in tags(cell):
            continue
        k = len(items) + 1
        check = next(c for c in cells[i + 1:] if c.cell_type == "code")
        match = re.search(rf"\bcheck_exercise_{k}\((\w+)\)", check.source)
        assert match, f"{path.name}: the code cell after exercise {k} must call check_exercise_{k}(…)"
        markdown = next(c for c in reversed(cells[:i]) if c.cell_type == "markdown"
                        and re.search(rf"Exercise {k}\b", c.source))
        items.append((k, cell, check, markdown.source, match.group(1)))
    return items


@functools.cache
def import_lines(path: Path) -> str:
    """Every top-level import statement of the notebook: the names a learner's cell can use."""
    lines = []
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        lines += [ast.unparse(node) for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    return "\n".join(lines)


CASES = [(path, k) for path in NOTEBOOKS for k, *_ in exercise_items(path)]
CASE_IDS = [f"{path.name[:2]}-ex{k}" for path, k in CASES]


def namespace_after(path: Path, scaffold: str, solution: str | None = None) -> dict:
    """What the learner's notebook holds after running the imports, the exercise cell and (optionally) the
    reference solution pasted below it."""
    ns: dict = {}
    exec(import_lines(path), ns)
    exec(scaffold, ns)
    if solution is not None:
        exec(solution, ns)
    return ns


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_learner_notebook_has_no_solution(path):
    cells = nbformat.read(path, as_version=4).cells
    assert not any("solution" in tags(c) for c in cells), f"{path.name} still has a cell tagged 'solution'"
    code = "\n".join(c.source for c in cells if c.cell_type == "code")
    for k, solution in exercises.solution_sources(number(path)).items():
        body = [line for line in solution.splitlines()
                if line.strip() and not line.lstrip().startswith(("#", "def ", "@", "return None"))]
        assert body, f"solution {k} of {path.name} is empty"
        assert not all(line in code for line in body), f"solution {k} of {path.name} is executable in the notebook"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_every_exercise_has_a_checker_and_a_reference_solution(path):
    items = exercise_items(path)
    assert len(items) >= 3, f"{path.name} has {len(items)} exercises; the course promises ≥ 3"
    assert sorted(exercises.solution_sources(number(path))) == [k for k, *_ in items]


@pytest.mark.parametrize("path, k", CASES, ids=CASE_IDS)
def test_reference_solution_passes_its_checker(path, k, capsys):
    _, scaffold, _, _, name = exercise_items(path)[k - 1]
    checker = getattr(importlib.import_module(f"course_utils.exercises.nb{number(path):02d}"), f"check_exercise_{k}")
    ns = namespace_after(path, scaffold.source, exercises.solution_sources(number(path))[k])
    assert checker(ns[name])                       # RAISE_ON_FAIL (conftest): a wrong answer raises here
    assert capsys.readouterr().out.startswith("✓")


@pytest.mark.parametrize("path, k", CASES, ids=CASE_IDS)
def test_untouched_scaffold_says_not_yet_without_raising(path, k, capsys, monkeypatch):
    monkeypatch.setattr(exercises, "RAISE_ON_FAIL", False)       # as in a learner's notebook
    _, scaffold, check, _, name = exercise_items(path)[k - 1]
    checker = getattr(importlib.import_module(f"course_utils.exercises.nb{number(path):02d}"), f"check_exercise_{k}")
    verdict = checker(namespace_after(path, scaffold.source)[name])
    out = capsys.readouterr().out
    assert not verdict and out.startswith("✗ not yet:") and out.count("\n") == 1, out
    committed = "".join(o.get("text", "") for o in check.outputs)
    assert committed.startswith("✗ not yet:") and "✓" not in committed, \
        f"{path.name}: the committed output of check {k} should say 'not yet', got {committed!r}"


@pytest.mark.parametrize("path, k", CASES, ids=CASE_IDS)
def test_hint_does_not_contain_the_answer(path, k):
    _, scaffold, _, markdown, _ = exercise_items(path)[k - 1]
    given = {re.sub(r"\s+", "", line) for line in scaffold.source.splitlines()}     # the scaffold gives these
    solution_lines = [re.sub(r"\s+", "", line) for line in exercises.solution_sources(number(path))[k].splitlines()
                      if not line.lstrip().startswith(("def ", "@", "import ", "from ", "#"))]
    solution_lines = [line for line in solution_lines if line not in given]
    for span in re.findall(r"`([^`]+)`", markdown):
        span = re.sub(r"\s+", "", span)
        if len(span) < 20:
            continue
        for line in solution_lines:
            matcher = difflib.SequenceMatcher(None, span, line)
            shared = matcher.find_longest_match().size           # longest stretch of code in common
            assert matcher.ratio() < 0.8 and shared < 24, \
                f"{path.name} exercise {k}: the hint `{span}` gives away the line `{line}`"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_show_solution_is_imported_before_the_first_exercise(path):
    # every scaffold says "stuck? show_solution(NN, k)": the name must exist when the learner gets there
    cells = nbformat.read(path, as_version=4).cells
    first = next(i for i, c in enumerate(cells) if "exercise" in tags(c))
    before = "\n".join(c.source for c in cells[:first] if c.cell_type == "code")
    assert re.search(r"from course_utils\.exercises import .*\bshow_solution\b", before), path.name


def test_check_verdicts_in_a_notebook(capsys, monkeypatch):
    from course_utils.exercises import nb00

    monkeypatch.setattr(exercises, "RAISE_ON_FAIL", False)
    assert not nb00.check_exercise_3(lambda x: 1 / 0)
    assert capsys.readouterr().out == "✗ not yet: your code raised ZeroDivisionError: division by zero\n"
    assert nb00.check_exercise_3(lambda x: x.softmax(-1), quiet=True)
    assert capsys.readouterr().out == ""                              # quiet: the verdict only
    assert repr(nb00.check_exercise_3(lambda x: None)) == "Verdict(passed=False)"
    capsys.readouterr()

    def softmax(x):
        return None
    assert not exercises.experiment_ready(nb00.check_exercise_3, softmax)
    assert capsys.readouterr().out == "⏳ this experiment runs once softmax passes its check above\n"
    assert exercises.experiment_ready(nb00.check_exercise_3, lambda x: x.softmax(-1))
    assert capsys.readouterr().out == ""


def test_show_solution_prints_the_reference_and_refuses_bad_numbers(capsys):
    exercises.show_solution("08", 3)
    assert "def three_way" in capsys.readouterr().out
    with pytest.raises(ValueError, match="exercise must be one of"):
        exercises.show_solution(8, 9)
    with pytest.raises(ValueError, match="notebook must be"):
        exercises.show_solution("sentiment", 1)
    with pytest.raises(ValueError, match="no nb42.py"):
        exercises.show_solution(42, 1)
