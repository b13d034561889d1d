"""course_utils.bias: word probabilities under a char-level model, pronoun bias, corpus co-occurrence."""
import math

import numpy as np
import pytest
import torch
from torch import nn

from course_utils.bias import (GENDER_PAIRS, boundary_ids, cooccurrence_counts, length_differences, log_odds,
                               pronoun_bias, remove_linear_effect, slope, spearman, swap_gendered_words, word_log_prob,
                               word_pair_gaps, word_pair_log_probs, words_log_prob, words_of)
from course_utils.tokenizers import CharTokenizer
from course_utils.transformer import GPT, GPTConfig

TOKENIZER = CharTokenizer(sorted(set(" .,'\nabcdefghijklmnopqrstuvwxyz")))
V = TOKENIZER.vocab_size
N_BOUNDARY = 4  # " ", ".", ",", "\n" — the apostrophe and letters are not word boundaries


class Uniform(nn.Module):
    """Every next character equally likely: P(word + boundary) = V^-len · (boundaries / V)."""

    def __init__(self):
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, idx):
        return torch.zeros(*idx.shape, V) + 0 * self.dummy  # (B, T, V)


def test_boundary_ids_are_the_non_letters():
    assert sorted(TOKENIZER.itos[i] for i in boundary_ids(TOKENIZER)) == sorted(" .,\n")
    with pytest.raises(TypeError, match="itos"):
        boundary_ids(object())


def test_word_log_prob_under_a_uniform_model():
    model = Uniform()
    want = 3 * math.log(1 / V) + math.log(N_BOUNDARY / V)
    assert word_log_prob(model, TOKENIZER, "the nurse said", " he") == pytest.approx(want, rel=1e-5)
    both = words_log_prob(model, TOKENIZER, "the nurse said", [" he", " it"])
    assert both == pytest.approx(math.log(2) + want, rel=1e-5)


def test_pronoun_bias_under_a_uniform_model_reflects_only_word_lengths():
    model = Uniform()
    b = N_BOUNDARY / V
    p_he = V ** -3 * b + 2 * V ** -4 * b        # " he" + " him" + " his"
    p_she = V ** -4 * b + V ** -4 * b           # " she" + " her"
    got = pronoun_bias(model, TOKENIZER, ["the nurse said", "a king"])
    assert got == pytest.approx(math.log(p_he / p_she), rel=1e-5)
    assert pronoun_bias(model, TOKENIZER, ["x"], he_words=[" he"], she_words=[" me"]) == pytest.approx(0.0, abs=1e-6)


def test_word_log_prob_agrees_with_a_direct_computation_on_a_gpt():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=V, block_size=16, d_model=32, n_heads=2, n_layers=1)).eval()
    context, word = "a long context that is cropped, the nurse said", " she"
    ids = TOKENIZER.encode(context + word)[-16:]
    with torch.no_grad():
        log_p = model(torch.tensor([ids])).log_softmax(-1)[0]                    # (16, V)
    want = sum(float(log_p[t - 1, ids[t]]) for t in range(16 - 4, 16))
    want += float(log_p[-1, boundary_ids(TOKENIZER)].logsumexp(-1))
    assert word_log_prob(model, TOKENIZER, context, word) == pytest.approx(want, rel=1e-5)
    # the probabilities of every "word + boundary" continuation sum to at most 1 (here: 1-char words)
    total = sum(math.exp(word_log_prob(model, TOKENIZER, "the", f" {c}")) for c in "abcdefghijklmnopqrstuvwxyz")
    assert total <= 1.0


def test_word_log_prob_rejects_bad_input():
    with pytest.raises(ValueError, match="non-empty"):
        word_log_prob(Uniform(), TOKENIZER, "", " he")
    with pytest.raises(TypeError, match="word"):
        word_log_prob(Uniform(), TOKENIZER, "the", 3)
    with pytest.raises(ValueError, match="non-empty list"):
        words_log_prob(Uniform(), TOKENIZER, "the", " he")


def test_cooccurrence_counts_window_after_the_phrase():
    text = "The nurse came; she wept. Then the nurse said he would go, and she stayed with him.\nNurse."
    counts = cooccurrence_counts(text, "the nurse", ["he", "she", "him"], window=3)
    assert counts == {"she": 1, "he": 1, "him": 0}              # "came she wept" / "said he would"
    wide = cooccurrence_counts(text, "the nurse", ["he", "she", "him"], window=20)
    assert wide == {"she": 3, "he": 2, "him": 2}                # overlapping windows count twice
    assert words_of("The King's men") == ["the", "king's", "men"]
    with pytest.raises(ValueError, match="window"):
        cooccurrence_counts(text, "nurse", ["he"], window=0)
    with pytest.raises(ValueError, match="phrase"):
        cooccurrence_counts(text, "  ", ["he"])


def test_log_odds_and_spearman():
    assert log_odds(3, 3) == 0.0 and log_odds(9, 0) == pytest.approx(math.log(10))
    with pytest.raises(ValueError, match="counts"):
        log_odds(-1, 2)
    assert spearman([1, 2, 3, 4], [10, 20, 30, 400]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # ties get average ranks: x ranks (1.5, 1.5, 3, 4)
    assert spearman([1, 1, 2, 3], [1, 2, 3, 4]) == pytest.approx(np.corrcoef([1.5, 1.5, 3, 4], [1, 2, 3, 4])[0, 1])
    with pytest.raises(ValueError, match="same length"):
        spearman([1, 2, 3], [1, 2])


def test_swap_gendered_words_keeps_case_and_word_boundaries():
    text = "He gave his sword to the King; she thanked him. SHE. Her lord, the shepherd, the kingdom."
    want = "She gave her sword to the Queen; he thanked her. HE. Him lady, the shepherd, the kingdom."
    assert swap_gendered_words(text) == want
    # swapping twice restores every unambiguous word
    assert swap_gendered_words(swap_gendered_words("the king and the queen, a man and a woman")) == \
        "the king and the queen, a man and a woman"
    assert ("gentleman", "gentlewoman") in GENDER_PAIRS
    with pytest.raises(TypeError, match="text"):
        swap_gendered_words(None)
    with pytest.raises(ValueError, match="pairs"):
        swap_gendered_words("he", pairs=["he"])


def test_word_pair_gaps_under_a_uniform_model_are_length_differences():
    gaps = word_pair_gaps(Uniform(), TOKENIZER, ["the", "a"], [("king", "queen"), ("man", "woman"), ("he", "he")])
    np.testing.assert_allclose(gaps, [math.log(V), 2 * math.log(V), 0.0], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="contexts"):
        word_pair_gaps(Uniform(), TOKENIZER, [])


def test_per_character_gaps_remove_the_length_penalty_of_a_uniform_model():
    # under a uniform model every character costs ln V, so per character every word scores the same
    pairs = [("king", "queen"), ("man", "woman"), ("duke", "duchess")]
    raw = word_pair_gaps(Uniform(), TOKENIZER, ["the"], pairs)
    np.testing.assert_allclose(raw, [math.log(V), 2 * math.log(V), 3 * math.log(V)], rtol=1e-5)
    per_char = word_pair_gaps(Uniform(), TOKENIZER, ["the"], pairs, per_character=True)
    # ln P(" w" + boundary) / (len(w) + 2) = ((len(w) + 1)·ln(1/V) + ln(4/V)) / (len(w) + 2): nearly equal
    want = [((len(m) + 1) * -math.log(V) + math.log(N_BOUNDARY / V)) / (len(m) + 2) -
            ((len(f) + 1) * -math.log(V) + math.log(N_BOUNDARY / V)) / (len(f) + 2) for m, f in pairs]
    np.testing.assert_allclose(per_char, want, rtol=1e-5)
    assert np.all(np.abs(per_char) < 0.1 * np.abs(raw))
    both = word_pair_log_probs(Uniform(), TOKENIZER, ["the", "a"], pairs)
    assert both.shape == (3, 2) and both[0, 0] > both[0, 1]
    np.testing.assert_array_equal(length_differences(pairs), [1, 2, 3])
    assert length_differences()[GENDER_PAIRS.index(("husband", "wife"))] == -3


def test_remove_linear_effect_and_slope():
    x = np.array([-3.0, 0, 1, 2, 3, 5])
    noise = np.array([0.3, -0.2, 0.1, -0.4, 0.5, -0.3])
    y = 1.5 - 2.0 * x + noise
    residual = remove_linear_effect(y, x)
    assert abs(residual.mean()) < 1e-12 and abs(np.corrcoef(residual, x)[0, 1]) < 1e-12
    assert slope(y, x) == pytest.approx(np.polyfit(x, y, 1)[0])
    assert slope(3 * x, x) == pytest.approx(3.0)
    # y exactly linear in x: nothing is left
    np.testing.assert_allclose(remove_linear_effect(4 + 0.5 * x, x), 0, atol=1e-12)
    with pytest.raises(ValueError, match="constant"):
        remove_linear_effect([1, 2, 3], [2, 2, 2])
    with pytest.raises(ValueError, match="same length"):
        slope([1, 2, 3], [1, 2])
