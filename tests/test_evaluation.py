"""course_utils.evaluation: bits per byte from nats per character, continuation log-probs equal to scoring
each sequence alone (batched by length, no padding), and multiple choice by likelihood."""
import math

import pytest
import torch

from course_utils.evaluation import bits_per_byte, choose_by_likelihood, continuation_logprobs
from course_utils.transformer import GPT, GPTConfig

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture()
def model():
    torch.manual_seed(0)
    return GPT(GPTConfig(vocab_size=23, block_size=10, d_model=16, n_heads=2, n_layers=2)).eval()


def test_bits_per_byte():
    assert bits_per_byte(math.log(2), "abcd") == pytest.approx(1.0)
    assert bits_per_byte(math.log(2), "é") == pytest.approx(0.5)        # one character, two UTF-8 bytes
    with pytest.raises(ValueError, match="nats_per_char"):
        bits_per_byte(-1.0, "abc")
    with pytest.raises(ValueError, match="text"):
        bits_per_byte(1.0, "")


def one_by_one(model, context, continuation):
    ids = (context + continuation)[-(model.config.block_size + 1):]
    logp = torch.log_softmax(model(torch.tensor(ids[:-1])[None])[0], dim=-1)
    n = len(continuation)
    return sum(logp[len(ids) - 1 - n + j, ids[len(ids) - n + j]].item() for j in range(n))


def test_continuation_logprobs_equal_scoring_each_alone(model):
    contexts = [[1, 2, 3], [4, 5], [6, 7, 8], [9] * 12, [3]]
    continuations = [[4], [6, 7], [1, 2], [5, 6], [7, 8, 9]]     # two pairs share a length; one is cropped
    got = continuation_logprobs(model, contexts, continuations, batch_size=2)
    want = [one_by_one(model, c, o) for c, o in zip(contexts, continuations)]
    assert got == pytest.approx(want, abs=1e-5)
    assert all(g < 0 for g in got)
    with pytest.raises(ValueError, match="continuations"):
        continuation_logprobs(model, [[1]], [[2], [3]])
    with pytest.raises(ValueError, match="continuation"):
        continuation_logprobs(model, [[1]], [list(range(10))])


def test_choose_by_likelihood_picks_the_most_likely_option(model):
    contexts = [[1, 2], [3, 4, 5]]
    options = [[[7], [8], [9, 1]], [[2], [2, 2]]]
    scores = [continuation_logprobs(model, [c] * len(o), o) for c, o in zip(contexts, options)]
    want = [max(range(len(s)), key=s.__getitem__) for s in scores]
    assert choose_by_likelihood(model, contexts, options) == want
    with pytest.raises(ValueError, match="options"):
        choose_by_likelihood(model, contexts, options[:1])
