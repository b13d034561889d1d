"""course_utils.privacy: canaries, deduplication, batched log-perplexity, exposure."""
import math
import random

import numpy as np
import pytest
import torch
from torch import nn

from course_utils.privacy import (candidate_log_perplexities, chance_exposure, deduplicate_lines, exposure, exposure_by_sampling,
                                  insert_canaries, pin_candidates, random_pin, secret_rank,
                                  sequence_log_perplexity)
from course_utils.tokenizers import CharTokenizer
from course_utils.transformer import GPT, GPTConfig

TOKENIZER = CharTokenizer(sorted(set("0123456789 .'abcdefghijklmnopqrstuvwxyzAINP\n")))


class BigramTable(nn.Module):
    """A model whose next-token logits depend on the last token only: exact probabilities by hand."""

    def __init__(self, vocab_size: int, seed: int = 0):
        super().__init__()
        self.table = nn.Parameter(torch.randn(vocab_size, vocab_size, generator=torch.Generator().manual_seed(seed)))

    def forward(self, idx):
        return self.table[idx]  # (B, T, V)


def small_gpt(block_size=32):
    torch.manual_seed(0)
    return GPT(GPTConfig(vocab_size=TOKENIZER.vocab_size, block_size=block_size, d_model=32, n_heads=2, n_layers=2))


# ---- candidates and canaries -----------------------------------------------------------------------
def test_pin_candidates_enumerate_the_space_in_order():
    pins = pin_candidates(4)
    assert len(pins) == 10_000 == len(set(pins))
    assert pins[0] == "0 0 0 0" and pins[4719] == "4 7 1 9" and pins[-1] == "9 9 9 9"
    assert pin_candidates(2, sep="") == [f"{i:02d}" for i in range(100)]
    assert len(pin_candidates(4, digits="123456789")) == 9 ** 4 and "1 0 1 1" not in pin_candidates(4, digits="123456789")
    with pytest.raises(ValueError, match="n_digits"):
        pin_candidates(0)
    with pytest.raises(ValueError, match="digits"):
        pin_candidates(4, digits="11")


def test_random_pin_is_seeded_and_in_the_space():
    a, b = random_pin(random.Random(3)), random_pin(random.Random(3))
    assert a == b and a in pin_candidates(4)
    assert "0" not in "".join(random_pin(random.Random(i), digits="123456789") for i in range(50))
    with pytest.raises(TypeError, match="rng"):
        random_pin(3)


def test_insert_canaries_adds_whole_lines_the_right_number_of_times():
    text = "".join(f"line {i}\n" for i in range(50))
    out = insert_canaries(text, {"Ada's PIN is 1 2 3 4.": 3, "Ben's PIN is 9 9 9 9.": 1}, seed=1)
    lines = out.split("\n")
    assert lines.count("Ada's PIN is 1 2 3 4.") == 3 and lines.count("Ben's PIN is 9 9 9 9.") == 1
    assert [l for l in lines if "PIN" not in l] == text.split("\n")     # nothing else changed
    assert out == insert_canaries(text, {"Ada's PIN is 1 2 3 4.": 3, "Ben's PIN is 9 9 9 9.": 1}, seed=1)


@pytest.mark.parametrize("canaries, match", [({}, "non-empty"), ({"a\nb": 1}, "one-line"),
                                              ({"x": 0}, "repetitions"), ({"x": 1.5}, "repetitions")])
def test_insert_canaries_rejects_bad_input(canaries, match):
    with pytest.raises(ValueError, match=match):
        insert_canaries("a\nb\n", canaries)


def test_deduplicate_lines_keeps_first_copies_and_short_lines():
    text = "ACT I.\nA long line that repeats itself\nx\nACT I.\nA long line that repeats itself\nend"
    assert deduplicate_lines(text, min_chars=10) == "ACT I.\nA long line that repeats itself\nx\nACT I.\nend"
    planted = insert_canaries("a\n" * 20, {"Ada's PIN is 1 2 3 4.": 8})
    assert deduplicate_lines(planted).split("\n").count("Ada's PIN is 1 2 3 4.") == 1
    with pytest.raises(ValueError, match="min_chars"):
        deduplicate_lines(text, min_chars=0)


# ---- log-perplexity ---------------------------------------------------------------------------------
def test_sequence_log_perplexity_matches_hand_computed_bigram_probabilities():
    model = BigramTable(TOKENIZER.vocab_size)
    prefix, secret = "PIN is ", "4 7"
    ids = TOKENIZER.encode(prefix + secret)
    log_p = model.table.detach().log_softmax(-1)
    want = -sum(float(log_p[ids[i - 1], ids[i]]) for i in range(len(prefix), len(ids))) / math.log(2)
    assert sequence_log_perplexity(model, TOKENIZER, prefix, secret) == pytest.approx(want, rel=1e-5)


@pytest.mark.parametrize("model", [BigramTable(TOKENIZER.vocab_size), small_gpt()])
def test_batched_scores_equal_one_sequence_at_a_time(model):
    candidates = pin_candidates(3)
    scores = candidate_log_perplexities(model, TOKENIZER, "Ada's PIN is ", candidates, batch_size=7)
    assert scores.shape == (1000,)
    for i in (0, 1, 10, 471, 999):
        assert scores[i] == pytest.approx(sequence_log_perplexity(model, TOKENIZER, "Ada's PIN is ", candidates[i]),
                                          rel=1e-4)
    # probabilities of every possible 3-digit string... they are a part of a distribution: Σ P ≤ 1
    assert np.exp2(-scores).sum() <= 1 + 1e-6


def test_candidates_scored_in_any_order_and_long_prefixes_are_cropped():
    model = small_gpt(block_size=16)
    candidates = ["1 2", "9 9", "3 4"]
    prefix = "a very long prefix that cannot fit the context PIN is "
    forward = candidate_log_perplexities(model, TOKENIZER, prefix, candidates)
    backward = candidate_log_perplexities(model, TOKENIZER, prefix, candidates[::-1])
    np.testing.assert_allclose(forward, backward[::-1], rtol=1e-5)
    assert forward[0] == pytest.approx(sequence_log_perplexity(model, TOKENIZER, prefix, "1 2"), rel=1e-4)


def test_candidate_log_perplexities_rejects_bad_input():
    model = small_gpt()
    with pytest.raises(ValueError, match="same non-zero number of tokens"):
        candidate_log_perplexities(model, TOKENIZER, "PIN ", ["1", "12"])
    with pytest.raises(ValueError, match="non-empty list"):
        candidate_log_perplexities(model, TOKENIZER, "PIN ", "1234")
    with pytest.raises(ValueError, match="prefix must be non-empty"):
        candidate_log_perplexities(model, TOKENIZER, "", ["1", "2"])
    with pytest.raises(ValueError, match="block_size"):
        candidate_log_perplexities(model, TOKENIZER, "PIN ", ["1" * 40])


# ---- rank and exposure ------------------------------------------------------------------------------
def test_exposure_from_ranks():
    scores = np.arange(1024, dtype=float)           # candidate i has log-perplexity i bits
    assert secret_rank(0.0, scores) == 1 and exposure(0.0, scores) == pytest.approx(10.0)
    assert secret_rank(1023.0, scores) == 1024 and exposure(1023.0, scores) == pytest.approx(0.0)
    assert exposure(3.0, scores) == pytest.approx(10 - 2)  # rank 4
    assert secret_rank(5.0, [5.0, 5.0, 6.0]) == 1          # ties count in the secret's favour
    with pytest.raises(ValueError, match="candidate_scores"):
        exposure(1.0, [])
    with pytest.raises(ValueError, match="NaN"):
        exposure(1.0, [float("nan"), 2.0])


def test_exposure_by_sampling_agrees_with_the_exact_value():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=100_000)
    secret = np.sort(scores)[999]                    # rank 1000: exposure log2(1e5) - log2(1000) ≈ 6.64
    exact = exposure(secret, scores)
    sample = rng.choice(scores, size=20_000, replace=False)
    assert exposure_by_sampling(secret, sample, 100_000) == pytest.approx(exact, abs=0.3)
    assert exposure_by_sampling(scores.min() - 1, sample, 100_000) == pytest.approx(math.log2(100_000))
    with pytest.raises(ValueError, match="space_size"):
        exposure_by_sampling(0.0, sample, 10)


def test_a_memorised_secret_has_maximal_exposure():
    model = BigramTable(TOKENIZER.vocab_size)
    with torch.no_grad():                            # make "7" overwhelmingly likely after " "
        model.table[TOKENIZER.stoi[" "], TOKENIZER.stoi["7"]] = 50.0
        model.table[TOKENIZER.stoi["7"], TOKENIZER.stoi[" "]] = 50.0
    candidates = pin_candidates(4)
    scores = candidate_log_perplexities(model, TOKENIZER, "PIN is ", candidates)
    assert exposure(scores[candidates.index("7 7 7 7")], scores) == pytest.approx(math.log2(10_000))


def test_chance_exposure_is_the_mean_exposure_of_a_random_rank():
    # exposure of every possible rank of a secret among 6,561 candidates, averaged: the chance level
    scores = np.arange(6561, dtype=float)
    mean_over_ranks = np.mean([exposure(s, scores) for s in scores])
    assert chance_exposure(6561) == pytest.approx(mean_over_ranks, rel=1e-9)
    assert chance_exposure(6561) == pytest.approx(math.log2(math.e), abs=0.01)     # → log2 e for large |R|
    assert chance_exposure(1) == 0.0 and chance_exposure(2) == pytest.approx(0.5)
    # and it is what random canaries average: rank uniform on 1..N
    rng = np.random.default_rng(0)
    ranks = rng.integers(1, 6562, size=20_000)
    assert np.mean(np.log2(6561) - np.log2(ranks)) == pytest.approx(chance_exposure(6561), abs=0.03)
    with pytest.raises(ValueError):
        chance_exposure(0)
