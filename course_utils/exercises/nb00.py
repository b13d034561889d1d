"""Checkers for notebook 00 (welcome & setup): perplexity, softmax temperature, softmax, reproducible seeds."""
from __future__ import annotations

import random
from typing import Callable

import numpy as np
import torch

from course_utils.exercises import _fail, _pass, exercise_check
from course_utils.env import set_seed

PERPLEXITY_CASES = (  # (probabilities the model gave the true tokens, expected perplexity)
    (torch.full((10,), 1 / 65), 65.0),           # uniform guessing over 65 characters
    (torch.tensor([0.5, 0.25]), 8 ** 0.5),       # geometric mean of 1/p: √(2 · 4)
    (torch.ones(4), 1.0),                        # always certain and right: no surprise
    (torch.tensor([0.9, 0.9, 0.9, 1e-6]), float(torch.exp(-torch.tensor([0.9, 0.9, 0.9, 1e-6]).log().mean()))),
)


@exercise_check
def check_exercise_1(perplexity: Callable[[torch.Tensor], float]) -> None:
    """perplexity(p) = exp(mean(−ln p)) over the probabilities a model gave the true next tokens."""
    for probs, want in PERPLEXITY_CASES:
        got = perplexity(probs.clone())
        if got is None:
            _fail("perplexity returned None — return exp of the average negative log-probability")
        try:
            value = float(got)
        except (TypeError, ValueError):
            _fail(f"perplexity should return a number, got {type(got).__name__}")
        if abs(value - want) > 1e-4 * max(1.0, want):
            hint = ("an average of probabilities is not it: average the *log*-probabilities, then undo the log"
                    if abs(value - 1 / float(probs.mean())) < 1e-3 * want else
                    "mind the signs: the loss is the mean of −ln p, and perplexity = e^loss")
            _fail(f"perplexity({[round(v, 6) for v in probs.tolist()]}) = {value:.4f}, expected {want:.4f} — {hint}")
    _pass(f"perplexity = exp(mean −ln p) on {len(PERPLEXITY_CASES)} cases; uniform guessing over 65 characters gives 65")


TEMPERATURE_LOGITS = torch.tensor([[2.0, 1.0, 0.1], [0.0, 0.0, 3.0], [5.0, -5.0, 0.0]])


@exercise_check
def check_exercise_2(softmax_with_temperature: Callable[[torch.Tensor, float], torch.Tensor]) -> None:
    """softmax(logits / T) along the last dimension; T ≤ 0 is refused with a ValueError naming `temperature`."""
    for temperature in (1.0, 0.5, 2.0, 10.0):
        got = softmax_with_temperature(TEMPERATURE_LOGITS.clone(), temperature)
        if got is None:
            _fail("softmax_with_temperature returned None — return the probabilities")
        want = torch.softmax(TEMPERATURE_LOGITS / temperature, dim=-1)
        if not isinstance(got, torch.Tensor) or got.shape != want.shape:
            _fail(f"expected a tensor of shape {tuple(want.shape)}, got {type(got).__name__} "
                  f"{tuple(getattr(got, 'shape', ()))}")
        if not torch.allclose(got.float(), want, atol=1e-5):
            _fail(f"at temperature {temperature} row 0 is {[round(v, 3) for v in got[0].tolist()]}, expected "
                  f"{[round(v, 3) for v in want[0].tolist()]} — divide the logits by the temperature, then "
                  "softmax over the last dimension")
    for bad in (0.0, -1.0):
        try:
            softmax_with_temperature(TEMPERATURE_LOGITS.clone(), bad)
        except ValueError as error:
            if "temperature" not in str(error):
                _fail(f"the ValueError for temperature={bad} should name the argument, got: {error}")
            continue
        except Exception as error:   # noqa: BLE001 — any other error is the wrong kind
            _fail(f"temperature={bad} raised {type(error).__name__}; raise ValueError saying temperature must be > 0")
        _fail(f"temperature={bad} was accepted; raise ValueError(f\"temperature must be > 0, got {{temperature}}\")")
    _pass("softmax(logits / T) for T = 0.5, 1, 2, 10, and T ≤ 0 is refused with a clear ValueError")


SOFTMAX_CASES = (
    torch.tensor([2.0, 1.0, 0.1]),
    torch.tensor([0.0, 0.0, 0.0, 0.0]),
    torch.tensor([-3.0, 7.5]),
    torch.tensor([1000.0, 999.0, 998.0]),  # naive exp() overflows to inf here
)


@exercise_check
def check_exercise_3(softmax: Callable[[torch.Tensor], torch.Tensor]) -> None:
    """The learner writes softmax(x) = exp(x - max x) / sum(exp(x - max x)) for a 1-D tensor."""
    for x in SOFTMAX_CASES:
        got = softmax(x.clone())
        if got is None:
            _fail("softmax returned None — replace `return None` with your formula")
        if not isinstance(got, torch.Tensor) or got.shape != x.shape:
            _fail(f"softmax({x.tolist()}) should be a tensor of shape {tuple(x.shape)}, "
                  f"got {type(got).__name__} {tuple(getattr(got, 'shape', ()))}")
        if not torch.isfinite(got).all():
            _fail(f"softmax({x.tolist()}) gave {got.tolist()}: exp() overflowed — subtract x.max() first "
                  "(it cancels in the ratio)")
        want = torch.softmax(x, dim=0)
        if not torch.allclose(got.float(), want, atol=1e-5):
            _fail(f"softmax({x.tolist()}) = {[round(v, 4) for v in got.tolist()]}, expected "
                  f"{[round(v, 4) for v in want.tolist()]} — divide exp(x) by its sum")
    _pass(f"softmax matches torch.softmax on {len(SOFTMAX_CASES)} inputs (including large ones)")


@exercise_check
def check_exercise_4(two_draws: Callable[[int], tuple[torch.Tensor, torch.Tensor]]) -> None:
    """The learner returns two random draws, re-seeding with `seed` before each: they must be equal,
    and a different seed must give different numbers."""
    states = random.getstate(), np.random.get_state(), torch.get_rng_state()
    try:
        _check_two_draws(two_draws)
    finally:  # leave the notebook's random state as it was
        random.setstate(states[0])
        np.random.set_state(states[1])
        torch.set_rng_state(states[2])
    _pass("same seed → same numbers; different seed → different numbers")


def _check_two_draws(two_draws: Callable[[int], tuple[torch.Tensor, torch.Tensor]]) -> None:
    result = two_draws(0)
    if result is None:
        _fail("two_draws returned None — return the pair (first, second)")
    if not (isinstance(result, tuple) and len(result) == 2 and all(isinstance(t, torch.Tensor) for t in result)):
        _fail(f"two_draws should return a pair of tensors (first, second), got {type(result).__name__}")
    first, second = result
    if not torch.equal(first, second):
        _fail("the two draws differ: call set_seed(seed) before *each* draw, not once")
    set_seed(123)  # a different global state before the call must not matter
    again, _ = two_draws(0)
    if not torch.equal(first, again):
        _fail("two_draws(0) gave different numbers on a second call: seed inside the function")
    other, _ = two_draws(1)
    if torch.equal(first, other):
        _fail("two_draws(1) gave the same numbers as two_draws(0): use the `seed` argument")
