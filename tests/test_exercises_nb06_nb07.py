"""Exercise checkers of notebooks 06 and 07: right answers pass, wrong ones raise a helpful error."""
import math
from collections import Counter

import numpy as np
import torch

from course_utils.exercises import nb06, nb07
from checker_assertions import fails_with


# ---- notebook 06 -------------------------------------------------------------------------------
def test_nb06_decoder_io(capsys):
    nb06.check_exercise_1(lambda t, b, e: ([b, *t], [*t, e]))
    assert "✓" in capsys.readouterr().out
    fails_with(nb06.check_exercise_1, lambda t, b, e: ([*t, e], [b, *t]), "swapped")
    fails_with(nb06.check_exercise_1, lambda t, b, e: ([b, *t], list(t)), "shifted")
    fails_with(nb06.check_exercise_1, lambda t, b, e: None, "None")


def test_nb06_padding_mask():
    nb06.check_exercise_2(lambda src, pad: (src != pad)[:, None, None, :])
    fails_with(nb06.check_exercise_2, lambda src, pad: src != pad, "broadcast")
    fails_with(nb06.check_exercise_2, lambda src, pad: (src == pad)[:, None, None, :], "inverted")
    fails_with(nb06.check_exercise_2, lambda src, pad: (src != 0)[:, None, None, :], "pad_id")
    fails_with(nb06.check_exercise_2, lambda src, pad: (src != pad)[:, None, None, :].int(), "bool")


def beam_step(scores, log_probs, k):
    V = log_probs.size(-1)
    top, flat = (scores[:, None] + log_probs).flatten().topk(k)
    return top, flat // V, flat % V


def test_nb06_beam_step():
    nb06.check_exercise_3(beam_step)
    fails_with(nb06.check_exercise_3, lambda s, lp, k: beam_step(torch.zeros_like(s), lp, k), "score so far")
    per_beam = lambda s, lp, k: ((s + lp.max(-1).values), torch.arange(k), lp.argmax(-1))  # noqa: E731
    fails_with(nb06.check_exercise_3, per_beam, "flatten")
    fails_with(nb06.check_exercise_3, lambda s, lp, k: None, "None")


def clipped(hyp, ref, n):
    h = Counter(tuple(hyp[i:i + n]) for i in range(len(hyp) - n + 1))
    r = Counter(tuple(ref[i:i + n]) for i in range(len(ref) - n + 1))
    return sum((h & r).values()), sum(h.values())


def test_nb06_clipped_matches():
    nb06.check_exercise_4(clipped)

    def unclipped(hyp, ref, n):
        r = {tuple(ref[i:i + n]) for i in range(len(ref) - n + 1)}
        grams = [tuple(hyp[i:i + n]) for i in range(len(hyp) - n + 1)]
        return sum(g in r for g in grams), len(grams)

    fails_with(nb06.check_exercise_4, unclipped, "clip")


# ---- notebook 07 -------------------------------------------------------------------------------
def rouge1(c, r):
    overlap = sum((Counter(c) & Counter(r)).values())
    if not overlap:
        return 0.0
    p, q = overlap / len(c), overlap / len(r)
    return 2 * p * q / (p + q)


def test_nb07_rouge1():
    nb07.check_exercise_1(rouge1)
    fails_with(nb07.check_exercise_1, lambda c, r: sum((Counter(c) & Counter(r)).values()) / len(c), "precision")
    fails_with(nb07.check_exercise_1, lambda c, r: None, "None")


def my_pagerank(W, damping=0.85):
    n = len(W)
    out = W.sum(1, keepdims=True)
    P = np.where(out > 0, W / np.where(out > 0, out, 1), 1 / n)
    r = np.full(n, 1 / n)
    for _ in range(200):
        r = (1 - damping) / n + damping * P.T @ r
    return r


def test_nb07_pagerank():
    nb07.check_exercise_2(my_pagerank)

    def leaky(W, damping=0.85):
        n = len(W)
        P = W / np.maximum(W.sum(1, keepdims=True), 1e-12)
        r = np.full(n, 1 / n)
        for _ in range(200):
            r = (1 - damping) / n + damping * P.T @ r
        return r

    fails_with(nb07.check_exercise_2, leaky, "sum to 1")
    fails_with(nb07.check_exercise_2, lambda W, d: np.full(len(W), 1 / len(W)), "expected")


def test_nb07_cosine():
    def cosine(a, b):
        ca, cb = Counter(a), Counter(b)
        norm = math.sqrt(sum(v * v for v in ca.values()) * sum(v * v for v in cb.values()))
        return sum(ca[w] * cb[w] for w in ca) / norm if norm else 0.0

    nb07.check_exercise_3(cosine)
    fails_with(nb07.check_exercise_3, lambda a, b: len(set(a) & set(b)) / math.sqrt(len(set(a)) * len(set(b)))
               if a and b else 0.0, "counts")
    fails_with(nb07.check_exercise_3, lambda a, b: cosine(a, b) if a and b else 1.0, "empty")
