"""Exercise checkers of notebooks 03 and 04: right answers pass, wrong ones raise a helpful error."""
import math

import torch

from course_utils.exercises import nb03, nb04
from checker_assertions import fails_with


# ---- notebook 03 -------------------------------------------------------------------------------
def stable_log_softmax(x):
    shifted = x - x.max(dim=-1, keepdim=True).values
    return shifted - shifted.exp().sum(dim=-1, keepdim=True).log()


def test_nb03_stable_log_softmax(capsys):
    nb03.check_exercise_1(stable_log_softmax)
    assert "✓" in capsys.readouterr().out
    fails_with(nb03.check_exercise_1, lambda x: (x.exp() / x.exp().sum(-1, keepdim=True)).log(), "nan", "row max")
    fails_with(nb03.check_exercise_1, lambda x: torch.softmax(x, -1).log(), "inf", "log Σ exp")
    fails_with(nb03.check_exercise_1, lambda x: stable_log_softmax(x.transpose(0, -1)).transpose(0, -1)
               if x.dim() > 1 else stable_log_softmax(x), "LAST")
    fails_with(nb03.check_exercise_1, lambda x: None, "None")


def local_causal_mask(size, window):
    t = torch.arange(size)
    return (t[:, None] - t[None, :] >= 0) & (t[:, None] - t[None, :] < window)


def test_nb03_local_mask():
    nb03.check_exercise_2(local_causal_mask)
    fails_with(nb03.check_exercise_2, lambda s, w: torch.ones(s, s, dtype=torch.bool).tril(), "row", "window")
    fails_with(nb03.check_exercise_2, lambda s, w: local_causal_mask(s, w).int(), "bool")
    fails_with(nb03.check_exercise_2, lambda s, w: local_causal_mask(s + 1, w), "shape")


def test_nb03_entropy():
    nb03.check_exercise_3(lambda p: -torch.special.xlogy(p, p).sum(-1))
    fails_with(nb03.check_exercise_3, lambda p: -(p * p.log()).sum(-1), "nan", "0·log 0")
    fails_with(nb03.check_exercise_3, lambda p: -torch.special.xlogy(p, p).sum(-1) / math.log(2), "nats")


# ---- notebook 04 -------------------------------------------------------------------------------
def split_heads(x, h):
    B, T, d_model = x.shape
    return x.view(B, T, h, d_model // h).transpose(1, 2)


def merge_heads(x):
    B, h, T, d_k = x.shape
    return x.transpose(1, 2).reshape(B, T, h * d_k)


def test_nb04_split_and_merge(capsys):
    nb04.check_exercise_1(split_heads)
    nb04.check_exercise_2(merge_heads)
    assert capsys.readouterr().out.count("✓") == 2
    fails_with(nb04.check_exercise_1, lambda x, h: x.view(x.size(0), h, x.size(1), -1), "transpose(1, 2)")
    fails_with(nb04.check_exercise_1, lambda x, h: x, "shape")
    fails_with(nb04.check_exercise_2, lambda x: x.reshape(x.size(0), x.size(2), -1), "transpose(1, 2)")


def to_keep(attn_mask, key_padding_mask):
    keep = torch.tensor(True)
    if attn_mask is not None:
        keep = keep & ~attn_mask
    if key_padding_mask is not None:
        keep = keep & ~key_padding_mask[:, None, None, :]
    return keep


def test_nb04_mask_conversion():
    nb04.check_exercise_3(to_keep)
    fails_with(nb04.check_exercise_3, lambda a, k: ~to_keep(a, k), "inverted")
    fails_with(nb04.check_exercise_3, lambda a, k: ~k if k is not None else ~a, "broadcast")


def test_nb04_parameter_count():
    nb04.check_exercise_4(lambda d, h: 4 * d * d + 4 * d)
    fails_with(nb04.check_exercise_4, lambda d, h: 4 * d * d, "bias")
    fails_with(nb04.check_exercise_4, lambda d, h: h * (4 * d * d + 4 * d), "heads")
