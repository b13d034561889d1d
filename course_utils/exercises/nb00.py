"""Checkers for notebook 00 (welcome & setup): glossary, course map, softmax, reproducible seeds."""
from __future__ import annotations

import random
from typing import Callable, Mapping

import numpy as np
import torch

from course_utils.exercises import _fail, _pass, exercise_check
from course_utils.env import set_seed
from course_utils.viz import COURSE_STAGES

# Accepted Chinese renderings of each English term (the first one is the course's choice).
GLOSSARY_ANSWERS: dict[str, tuple[str, ...]] = {
    "token": ("词元", "标记", "令牌", "词符"),
    "attention": ("注意力", "注意力机制"),
    "perplexity": ("困惑度",),
    "vocabulary": ("词汇表", "词表"),
}

# Exercise 2: topic → the notebook that teaches it (from the course map).
MAP_QUESTIONS: dict[str, str] = {
    "train BPE from scratch": "01",
    "finish the article's MultiHeadAttention class": "04",
    "train a GPT language model": "05",
    "sentiment analysis": "08",
}


@exercise_check
def check_exercise_1(glossary: Mapping[str, str]) -> None:
    """The learner maps English terms to Chinese: token, attention, perplexity, vocabulary."""
    if not isinstance(glossary, Mapping):
        _fail(f"glossary should be a dict {{'token': '…', …}}, got {type(glossary).__name__}")
    for term, accepted in GLOSSARY_ANSWERS.items():
        answer = glossary.get(term)
        if answer is None:
            _fail(f"glossary[{term!r}] is missing or None — look it up in the Key terms table")
        if str(answer).strip() not in accepted:
            _fail(f"glossary[{term!r}] = {answer!r} is not a usual translation; "
                  f"the course writes {accepted[0]!r} (the Key terms table lists it)")
    _pass(f"all {len(GLOSSARY_ANSWERS)} terms translated")


def _notebook_number(value: object) -> str:
    """Accept 4, "4", "04" or "04_multi_head_attention" for notebook 04."""
    text = str(value).strip()
    digits = text.split("_")[0]
    return digits.zfill(2) if digits.isdigit() else text


@exercise_check
def check_exercise_2(notebook_for: Mapping[str, object]) -> None:
    """The learner reads the course map: which notebook teaches each topic?"""
    names = {number: name for _, notebooks in COURSE_STAGES for number, name in notebooks}
    for topic, want in MAP_QUESTIONS.items():
        got = notebook_for.get(topic) if isinstance(notebook_for, Mapping) else None
        if got is None:
            _fail(f"notebook_for[{topic!r}] is missing or None — find the topic in the course map figure")
        if _notebook_number(got) != want:
            _fail(f"{topic!r}: notebook {_notebook_number(got)} ({names.get(_notebook_number(got), 'no such notebook')}) "
                  f"is not the one; look at the map's column for this kind of topic")
    _pass(f"all {len(MAP_QUESTIONS)} topics placed on the map")


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
