"""Exercise checkers, one module per notebook (`nb01`, `nb02`, …).

Each `check_*` function prints ✓ on a right answer and raises `ExpectationError` with a hint that
says *what* is wrong (not just "wrong") otherwise.
"""
from __future__ import annotations

from course_utils.checks import expect_true


def _pass(message: str) -> None:
    """Print `✓ message` — the checkers' verdict on a right answer."""
    expect_true(message, True)


def _fail(message: str) -> None:
    """Print `✗ message` and raise ExpectationError — the checkers' verdict, with its hint, on a wrong answer."""
    expect_true(message, False)
