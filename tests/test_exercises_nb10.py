"""Exercise checkers of notebook 10: right answers pass, wrong ones raise a helpful error."""
import math
import re

import numpy as np

from course_utils.exercises import nb10
from checker_assertions import fails_with


def exposure_bits(secret, scores):
    scores = np.asarray(scores)
    return math.log2(len(scores)) - math.log2(1 + np.sum(scores < secret))


def test_exercise_1_exposure(capsys):
    nb10.check_exercise_1(exposure_bits)
    assert "✓" in capsys.readouterr().out
    fails_with(nb10.check_exercise_1, lambda s, c: None, "None")
    fails_with(nb10.check_exercise_1, lambda s, c: math.log2(len(c)) - math.log2(1 + np.sum(np.asarray(c) > s)),
               "rank")
    fails_with(nb10.check_exercise_1, lambda s, c: math.log2(len(c)) - math.log2(np.sum(np.asarray(c) <= s)),
               "ties")


def estimate_exposure(secret, sample, space):
    return math.log2(space) - math.log2(1 + (space - 1) * np.mean(np.asarray(sample) < secret))


def test_exercise_2_sampled_exposure():
    nb10.check_exercise_2(estimate_exposure)
    fails_with(nb10.check_exercise_2, lambda s, x, n: math.log2(n) - math.log2(1 + np.sum(np.asarray(x) < s)),
               "fraction")
    fails_with(nb10.check_exercise_2, lambda s, x, n: "high", "number")


def he_she_log_odds(text):
    words = re.findall(r"[a-z]+", text.lower())
    return math.log((sum(w in ("he", "him", "his") for w in words) + 1) / (sum(w in ("she", "her") for w in words) + 1))


def test_exercise_3_he_she():
    nb10.check_exercise_3(he_she_log_odds)
    substring = lambda t: math.log((t.lower().count("he") + 1) / (t.lower().count("she") + 1))
    fails_with(nb10.check_exercise_3, substring, "whole words")
    case_sensitive = lambda t: he_she_log_odds(t.replace("HER", "x").replace("He", "x"))
    fails_with(nb10.check_exercise_3, case_sensitive, "lower-case")


def characters_per_context(encode, texts, context_tokens):
    return context_tokens * sum(map(len, texts)) / sum(len(encode(t)) for t in texts)


def test_exercise_4_capacity():
    nb10.check_exercise_4(characters_per_context)
    averaged = lambda e, ts, c: c * float(np.mean([len(t) / len(e(t)) for t in ts]))
    fails_with(nb10.check_exercise_4, averaged, "do not average")
    fails_with(nb10.check_exercise_4, lambda e, ts, c: sum(len(e(t)) for t in ts) / c, "characters per token")
