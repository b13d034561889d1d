"""Assertions shared by the exercise-checker tests (tests/test_exercises_*.py)."""
import pytest

from course_utils.checks import ExpectationError


def fails_with(check, answer, *fragments):
    """The checker must raise ExpectationError whose message contains every fragment."""
    with pytest.raises(ExpectationError) as info:
        check(answer)
    for fragment in fragments:
        assert fragment in str(info.value), f"{fragment!r} not in {str(info.value)!r}"
