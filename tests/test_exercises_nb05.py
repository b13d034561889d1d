"""Exercise checkers of notebook 05: right answers pass, wrong ones raise a helpful error."""
import pytest
import torch

from course_utils.exercises import nb05
from course_utils.generation import apply_top_p
from checker_assertions import fails_with


pytestmark = pytest.mark.usefixtures("one_thread")


# ---- exercise 1 -------------------------------------------------------------------------------------
def apply_min_p(logits, min_p):
    probs = logits.softmax(dim=-1)
    return logits.masked_fill(probs < min_p * probs.max(dim=-1, keepdim=True).values, float("-inf"))


def test_min_p(capsys):
    nb05.check_exercise_1(apply_min_p)
    assert "✓" in capsys.readouterr().out
    fails_with(nb05.check_exercise_1, lambda logits, p: None, "None")
    fails_with(nb05.check_exercise_1, lambda logits, p: apply_top_p(logits, p), "LARGEST")
    fails_with(nb05.check_exercise_1, lambda logits, p: apply_min_p(logits, p).softmax(-1).log(), "kept logits changed")
    fails_with(nb05.check_exercise_1,  # compares with the global max instead of the row's
               lambda logits, p: logits.masked_fill(logits.softmax(-1) < p * logits.softmax(-1).max(), float("-inf")),
               "row")


# ---- exercise 2 -------------------------------------------------------------------------------------
def gpt_parameter_count(V, T, C, N, tie_weights=True, positional="learned"):
    embeddings = V * C + (T * C if positional == "learned" else 0)
    block = 12 * C * C + 13 * C
    return embeddings + N * block + 2 * C + (0 if tie_weights else V * C)


def test_parameter_count(capsys):
    nb05.check_exercise_2(gpt_parameter_count)
    assert "124,439,808" in capsys.readouterr().out
    fails_with(nb05.check_exercise_2, lambda **cfg: gpt_parameter_count(**{**cfg, "tie_weights": True}), "V·C")
    fails_with(nb05.check_exercise_2, lambda **cfg: gpt_parameter_count(**{**cfg, "positional": "learned"}), "T·C")
    fails_with(nb05.check_exercise_2, lambda **cfg: gpt_parameter_count(**cfg) - cfg["N"] * 4 * cfg["C"],
               "per block")
    fails_with(nb05.check_exercise_2, lambda **cfg: None, "None")


# ---- exercise 3 -------------------------------------------------------------------------------------
def greedy_decode(model, idx, max_new_tokens):
    for _ in range(max_new_tokens):
        logits = model(idx[:, -model.block_size:])
        idx = torch.cat([idx, logits[:, -1].argmax(-1, keepdim=True)], dim=1)
    return idx


def test_greedy_decode(capsys):
    nb05.check_exercise_3(greedy_decode)
    assert "✓" in capsys.readouterr().out

    def uncropped(model, idx, n):
        for _ in range(n):
            idx = torch.cat([idx, model(idx)[:, -1].argmax(-1, keepdim=True)], dim=1)
        return idx

    fails_with(nb05.check_exercise_3, uncropped, "block_size")

    def first_position(model, idx, n):
        for _ in range(n):
            idx = torch.cat([idx, model(idx[:, -model.block_size:])[:, 0].argmax(-1, keepdim=True)], dim=1)
        return idx

    fails_with(nb05.check_exercise_3, first_position, "LAST position")
    fails_with(nb05.check_exercise_3, lambda m, idx, n: greedy_decode(m, idx, n)[:, 3:], "shape")


# ---- exercise 4 -------------------------------------------------------------------------------------
def post_ln_block(block, x):
    x = block.ln_attn(x + block.attn(x, x, x, is_causal=True))
    return block.ln_ff(x + block.ff(x))


def test_post_ln_block(capsys):
    nb05.check_exercise_4(post_ln_block)
    assert "✓" in capsys.readouterr().out
    fails_with(nb05.check_exercise_4, lambda block, x: block(x), "pre-LN")
    fails_with(nb05.check_exercise_4, lambda block, x: block.ln_ff(block.ff(block.ln_attn(block.attn(x, x, x)))),
               "order")
