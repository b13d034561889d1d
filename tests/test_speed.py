"""course_utils.speed: the reference step rate and the course-time prediction built on it."""
from __future__ import annotations

import json
import math
import types
from pathlib import Path

import pytest
import torch

from course_utils import speed
from notebook_source import notebook_function

ROOT = Path(__file__).resolve().parent.parent


class FakeClock:
    """A perf_counter that moves only when the fake model runs: 0.01 s per forward pass."""

    def __init__(self) -> None:
        self.now = 0.0

    def perf_counter(self) -> float:
        return self.now


class TinyModel(torch.nn.Module):
    def __init__(self, clock: FakeClock, vocab: int = 5) -> None:
        super().__init__()
        self.clock, self.embed = clock, torch.nn.Embedding(vocab, vocab)

    def forward(self, x: torch.Tensor) -> torch.Tensor:   # (B, T) → (B, T, V)
        self.clock.now += 0.01
        return self.embed(x)


def counting_batcher(calls: list) -> callable:
    def get_batch(split: str = "train"):
        calls.append(split)
        ids = torch.randint(0, 5, (2, 4))
        return ids, ids
    return get_batch


def notebook_05_steps_per_second():
    """The `steps_per_second` notebook 05 builds, timed by a fake clock."""
    clock = FakeClock()
    namespace = {"torch": torch, "F": torch.nn.functional, "time": types.SimpleNamespace(perf_counter=clock.perf_counter)}
    return notebook_function("05_gpt_language_model.ipynb", "steps_per_second", namespace), clock


def test_package_steps_per_second_agrees_with_notebook_05(monkeypatch):
    notebook_fn, notebook_clock = notebook_05_steps_per_second()
    package_clock = FakeClock()
    monkeypatch.setattr(speed.time, "perf_counter", package_clock.perf_counter)
    for steps, warmup in [(20, 5), (3, 0), (7, 2)]:
        calls_nb, calls_pkg = [], []
        torch.manual_seed(0)
        rate_nb = notebook_fn(TinyModel(notebook_clock), counting_batcher(calls_nb), steps=steps, warmup=warmup)
        torch.manual_seed(0)
        rate_pkg = speed.steps_per_second(TinyModel(package_clock), counting_batcher(calls_pkg), steps=steps,
                                          warmup=warmup)
        assert rate_nb == pytest.approx(100.0) and rate_pkg == pytest.approx(rate_nb)   # 0.01 s per step
        assert calls_nb == calls_pkg == ["train"] * (steps + warmup)


def test_steps_per_second_trains_the_model():
    clock = FakeClock()
    model = TinyModel(clock)
    before = model.embed.weight.detach().clone()
    speed.steps_per_second(model, counting_batcher([]), steps=2, warmup=1)
    assert not torch.equal(before, model.embed.weight)


@pytest.mark.parametrize("kwargs, name", [({"steps": 0}, "steps"), ({"warmup": -1}, "warmup"),
                                          ({"steps": 2.5}, "steps")])
def test_steps_per_second_rejects_bad_counts(kwargs, name):
    with pytest.raises(ValueError, match=name):
        speed.steps_per_second(TinyModel(FakeClock()), counting_batcher([]), **kwargs)


def test_reference_step_rate_is_positive_and_leaves_the_random_stream_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    rate = speed.reference_step_rate(repeats=1, steps=2, warmup=0)
    assert math.isfinite(rate) and rate > 0
    assert torch.equal(torch.rand(3), expected)
    with pytest.raises(ValueError, match="repeats"):
        speed.reference_step_rate(repeats=0)
    with pytest.raises(ValueError, match="threads"):
        speed.reference_step_rate(threads=0)


def test_reference_step_rate_times_on_the_threads_asked_for_and_restores_torchs_setting(monkeypatch):
    seen = []

    def fake_rate(model, get_batch, steps, warmup):
        seen.append(torch.get_num_threads())
        return 10.0

    monkeypatch.setattr(speed, "steps_per_second", fake_rate)
    before = torch.get_num_threads()
    assert speed.reference_step_rate(repeats=2) == 10.0
    assert seen == [1, 1]                                    # the default: one thread
    assert torch.get_num_threads() == before
    monkeypatch.setattr(speed, "steps_per_second", lambda *a, **k: 1 / 0)
    with pytest.raises(ZeroDivisionError):                   # a failure inside still restores the setting
        speed.reference_step_rate(threads=2)
    assert torch.get_num_threads() == before


def test_cost_and_prediction_are_inverse():
    cost = speed.reference_steps(90.0, rate=20.0)           # 90 s on a machine at 20 steps/s
    assert cost == 1800.0
    assert speed.predict_seconds(cost, rate=20.0) == 90.0
    assert speed.predict_seconds(cost, rate=40.0) == 45.0   # twice as fast, half the time


@pytest.mark.parametrize("call, name", [
    (lambda: speed.predict_seconds(100.0, rate=0), "rate"),
    (lambda: speed.predict_seconds(100.0, rate=float("nan")), "rate"),
    (lambda: speed.predict_seconds(-1.0, rate=10.0), "cost"),
    (lambda: speed.reference_steps("90", rate=10.0), "seconds"),
    (lambda: speed.reference_steps(90.0, rate=True), "rate"),
    (lambda: speed.course_time_estimate(-3.0), "rate"),
])
def test_bad_inputs_name_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_course_time_estimate_from_given_timings():
    timings = {"notebooks": {"00_a.ipynb": {"seconds": 10.0, "reference_steps": 200},
                             "01_b.ipynb": {"seconds": 30.0, "reference_steps": 600}}}
    assert speed.course_time_estimate(20.0, timings) == {"00_a.ipynb": 10.0, "01_b.ipynb": 30.0}
    assert speed.course_time_estimate(40.0, timings) == {"00_a.ipynb": 5.0, "01_b.ipynb": 15.0}
    del timings["notebooks"]["01_b.ipynb"]["reference_steps"]
    with pytest.raises(ValueError, match="01_b.ipynb"):
        speed.course_time_estimate(20.0, timings)


def test_committed_timings_cover_every_notebook_with_a_consistent_cost():
    committed = json.loads((ROOT / "benchmarks" / "results" / "notebooks.json").read_text(encoding="utf-8"))
    notebooks = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert sorted(committed["notebooks"]) == notebooks
    for name, t in committed["notebooks"].items():
        assert t["reference_steps"] == pytest.approx(t["seconds"] * t["reference_steps_per_s"], rel=0.01, abs=1), name
    assert committed["total_reference_steps"] == sum(t["reference_steps"] for t in committed["notebooks"].values())
    estimate = speed.course_time_estimate(committed["reference_steps_per_s_for_budget"])
    assert sum(estimate.values()) == pytest.approx(speed.BUDGET_SECONDS["course"], rel=0.01)
