"""Expected-result checks: print ✓/✗ with the measured value and the band, raise on ✗."""
from __future__ import annotations

import math


class ExpectationError(AssertionError):
    """A measured result fell outside its expected band."""


def _band(low: float | None, high: float | None, fmt: str) -> str:
    if low is not None and high is not None:
        return f"expected {low:{fmt}}–{high:{fmt}}"
    if high is not None:
        return f"expected ≤ {high:{fmt}}"
    return f"expected ≥ {low:{fmt}}"


def expect(name: str, value: float, *, low: float | None = None, high: float | None = None,
           fmt: str = ".2f", unit: str = "") -> float:
    """Check `low ≤ value ≤ high`; print `✓ name value (expected …)` or raise ExpectationError.

    Example: ``expect("validation loss", 1.62, high=1.80)`` prints
    ``✓ validation loss 1.62 (expected ≤ 1.80)``.
    """
    if low is None and high is None:
        raise ValueError("expect() needs at least one of low= or high=")
    if low is not None and high is not None and low > high:
        raise ValueError(f"low must be ≤ high, got low={low} and high={high}")
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"value must be a number, got {type(value).__name__}: {value!r}") from None
    ok = not math.isnan(value) and (low is None or value >= low) and (high is None or value <= high)
    line = f"{'✓' if ok else '✗'} {name} {value:{fmt}}{unit} ({_band(low, high, fmt)})"
    print(line)
    if not ok:
        raise ExpectationError(line)
    return value


def expect_true(name: str, condition: bool, hint: str = "") -> None:
    """Check a yes/no property; on failure the hint tells the learner what to look at."""
    if condition:
        print(f"✓ {name}")
        return
    line = f"✗ {name}" + (f" — {hint}" if hint else "")
    print(line)
    raise ExpectationError(line)
