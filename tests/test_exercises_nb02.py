"""Exercise checkers of notebook 02: right answers pass, wrong ones raise a helpful error."""
import math

import numpy as np
import torch

from course_utils.exercises import nb02
from checker_assertions import fails_with


# ---- exercise 1 -----------------------------------------------------------------------------------
def bigram_add_k_nll(train_ids, test_ids, vocab_size, k, log=np.log, row_sums=True):
    counts = np.zeros((vocab_size, vocab_size))
    np.add.at(counts, (train_ids[:-1], train_ids[1:]), 1)
    context = counts.sum(axis=1, keepdims=True) if row_sums else np.bincount(train_ids, minlength=vocab_size)[:, None]
    probs = (counts + k) / (context + k * vocab_size)
    return float(-log(probs[test_ids[:-1], test_ids[1:]]).mean())


def test_nb02_bigram(capsys):
    nb02.check_exercise_1(bigram_add_k_nll)
    assert "✓" in capsys.readouterr().out
    fails_with(nb02.check_exercise_1, lambda *a: None, "None")
    fails_with(nb02.check_exercise_1, lambda *a: bigram_add_k_nll(*a, log=np.log2), "bits")
    fails_with(nb02.check_exercise_1, lambda *a: bigram_add_k_nll(*a, row_sums=False), "FOLLOWED")


# ---- exercise 2 -----------------------------------------------------------------------------------
def gru_cell(x, h, W_ih, W_hh, b_ih, b_hh, swap=False):
    xr, xz, xn = (x @ W_ih.T + b_ih).chunk(3, dim=-1)
    hr, hz, hn = (h @ W_hh.T + b_hh).chunk(3, dim=-1)
    r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
    n = torch.tanh(xn + r * hn)
    return z * n + (1 - z) * h if swap else (1 - z) * n + z * h


def test_nb02_gru(capsys):
    nb02.check_exercise_2(gru_cell)
    assert "✓" in capsys.readouterr().out
    fails_with(nb02.check_exercise_2, lambda *a: None, "None")
    fails_with(nb02.check_exercise_2, lambda *a: gru_cell(*a, swap=True), "GRUCell", "(1 − z)")
    fails_with(nb02.check_exercise_2, lambda x, h, *a: h[:, :2], "shape")


# ---- exercise 3 -----------------------------------------------------------------------------------
def clip_by_global_norm(grads, max_norm, per_tensor=False, always=False):
    total = math.sqrt(sum(float(g.pow(2).sum()) for g in grads))
    if per_tensor:
        return [g * min(1.0, max_norm / float(g.norm())) for g in grads], total
    scale = max_norm / total if (always or total > max_norm) else 1.0
    return [g * scale for g in grads], total


def test_nb02_clipping(capsys):
    nb02.check_exercise_3(clip_by_global_norm)
    assert "✓" in capsys.readouterr().out
    fails_with(nb02.check_exercise_3, lambda g, m: None, "tuple")
    fails_with(nb02.check_exercise_3, lambda g, m: clip_by_global_norm(g, m, per_tensor=True), "SAME factor")
    fails_with(nb02.check_exercise_3, lambda g, m: clip_by_global_norm(g, m, always=True), "only")
    fails_with(nb02.check_exercise_3, lambda g, m: (g, float(g[0].norm())), "global norm")
