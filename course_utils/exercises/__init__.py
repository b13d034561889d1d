"""Exercise checkers, one module per notebook (`nb01`, `nb02`, …), and their reference solutions.

Each `check_exercise_N(answer)` prints one line: `✓ …` on a right answer, or `✗ not yet: …` with a hint
that says *what* is wrong (not just "wrong"). In a notebook a check never raises, so Run All finishes
while the exercises are still open; it returns a verdict that is true only when the answer is right, so
an experiment can wait for it: ``if experiment_ready(check_exercise_2, mark_negation): …``.

Reference solutions live beside the checkers, in `solutions/nbNN.py`, one deliberate step away:
``show_solution(8, 2)`` prints the answer to notebook 08's exercise 2. The tests set `RAISE_ON_FAIL`,
so a wrong answer raises `ExpectationError` there and a checker that cannot fail is caught.
"""
from __future__ import annotations

import contextlib
import functools
import io
import re
from pathlib import Path
from typing import Any, Callable

from course_utils.checks import ExpectationError, expect_true

RAISE_ON_FAIL = False
"""True in the test suite: a wrong answer raises instead of returning a falsy verdict."""

SOLUTIONS_DIR = Path(__file__).resolve().parent / "solutions"
_MARKER = re.compile(r"^# %% exercise (\d+)\s*$", re.M)


def _pass(message: str) -> None:
    """Print `✓ message` — the checkers' verdict on a right answer."""
    expect_true(message, True)


def _fail(message: str) -> None:
    """Print `✗ not yet: message` and raise ExpectationError — the verdict, with its hint, on a wrong answer."""
    expect_true(f"not yet: {message}", False)


class Verdict:
    """A check's outcome: truthy when the answer passed. Jupyter displays nothing for it, so a cell that
    ends with `check_exercise_1(answer)` shows only the ✓/✗ line."""

    def __init__(self, passed: bool) -> None:
        self.passed = passed

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        return f"Verdict(passed={self.passed})"

    def _ipython_display_(self) -> None:
        """Show nothing: the checker has already printed its one line."""


def exercise_check(check: Callable[[Any], None]) -> Callable[..., Verdict]:
    """Turn a checker that raises on a wrong answer into one that prints a "not yet" line and returns a
    Verdict — unless `RAISE_ON_FAIL` is set (the tests), when errors propagate unchanged."""

    @functools.wraps(check)
    def run(answer: Any, *, quiet: bool = False) -> Verdict:
        out = io.StringIO() if quiet else None
        with contextlib.redirect_stdout(out) if quiet else contextlib.nullcontext():
            try:
                check(answer)
            except ExpectationError:
                if RAISE_ON_FAIL:
                    raise
                return Verdict(False)       # the ✗ line is already printed
            except Exception as error:      # the learner's code raised: say so in one line, do not stop Run All
                if RAISE_ON_FAIL:
                    raise
                print(f"✗ not yet: your code raised {type(error).__name__}: {error}")
                return Verdict(False)
        return Verdict(True)

    return run


def experiment_ready(check: Callable[..., Verdict], answer: Any) -> bool:
    """True when `answer` passes `check` (run quietly); otherwise print one line saying the experiment that
    needs it waits, so an experiment cell reads ``if experiment_ready(check_exercise_2, mark_negation): …``."""
    if check(answer, quiet=True):
        return True
    name = getattr(answer, "__name__", "your answer")
    print(f"⏳ this experiment runs once {name} passes its check above")
    return False


def _notebook_number(notebook: int | str) -> int:
    try:
        number = int(str(notebook)[:2])
    except ValueError:
        raise ValueError(f"notebook must be a notebook number such as 8 or '08', got {notebook!r}") from None
    return number


def solution_sources(notebook: int | str) -> dict[int, str]:
    """{exercise number: reference solution code} for one notebook, read from `solutions/nbNN.py`."""
    number = _notebook_number(notebook)
    path = SOLUTIONS_DIR / f"nb{number:02d}.py"
    if not path.exists():
        raise ValueError(f"notebook must be one with exercises; there is no {path.name} for notebook {notebook!r}")
    parts = _MARKER.split(path.read_text(encoding="utf-8"))
    # parts = [module docstring, "1", code 1, "2", code 2, …]
    return {int(n): code.strip() + "\n" for n, code in zip(parts[1::2], parts[2::2])}


def show_solution(notebook: int | str, exercise: int) -> None:
    """Print the reference answer to one exercise. Try first: the checker's hint is usually enough."""
    sources = solution_sources(notebook)
    if exercise not in sources:
        raise ValueError(f"exercise must be one of {sorted(sources)} for notebook {notebook!r}, got {exercise!r}")
    number = _notebook_number(notebook)
    print(f"# Reference solution — notebook {number:02d}, exercise {exercise}. "
          "Paste it over your attempt, run it, then run the check again.\n")
    print(sources[exercise], end="")
