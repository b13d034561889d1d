"""benchmarks/compile_speed.py: torch.compile vs eager on 2 CPU cores — the timing helper and the committed result."""
import sys
from pathlib import Path

import pytest

from course_utils.reference_results import load_benchmark

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import compile_speed  # noqa: E402


def test_eager_timing_reports_first_steps_and_a_rate():
    result = compile_speed.time_training(compiled=False, steps=3, first=1)
    assert set(result) == {"first_steps_seconds", "steps_per_s"} and result["steps_per_s"] > 0


def test_committed_result_is_consistent():
    r = load_benchmark("compile_speed")
    assert r["speedup"] == pytest.approx(r["compiled"]["steps_per_s"] / r["eager"]["steps_per_s"], abs=1e-3)
    assert (r["break_even_steps"] is None) == (r["speedup"] <= 1.0)     # a slower compiled step never pays back
    assert r["compile_seconds"] == pytest.approx(r["compiled"]["first_steps_seconds"]
                                                 - r["eager"]["first_steps_seconds"], abs=0.1)
