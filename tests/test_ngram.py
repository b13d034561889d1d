"""course_utils.ngram: counts, add-k, interpolated Kneser–Ney (checked against nltk.lm), sampling."""
import math

import numpy as np
import pytest
import torch

from course_utils.ngram import NGramLanguageModel, uniform_nll

TEXT = "abracadabra cadabra abra bra cab bacca dabba"
CHARS = sorted(set(TEXT))
IDS = [CHARS.index(c) for c in TEXT]


@pytest.mark.parametrize("order", [2, 3, 4])
def test_kneser_ney_matches_nltk(order):
    from nltk.lm import KneserNeyInterpolated
    from nltk.util import everygrams

    reference = KneserNeyInterpolated(order, discount=0.1)
    reference.fit([list(everygrams(list(TEXT), max_len=order))], vocabulary_text=list(TEXT))
    # nltk's unigram level has no discount (unseen tokens get 0): D₁ = 0 reproduces it
    mine = NGramLanguageModel(order, vocab_size=len(CHARS), discount=[0.0] + [0.1] * (order - 1)).fit(IDS)
    for i in range(len(TEXT)):
        context = TEXT[max(0, i - order + 1):i]
        probs = mine.next_token_probs([CHARS.index(c) for c in context])
        for j, c in enumerate(CHARS):
            assert probs[j] == pytest.approx(reference.score(c, list(context)), abs=1e-12)


@pytest.mark.parametrize("smoothing", ["kneser_ney", "add_k"])
@pytest.mark.parametrize("order", [1, 2, 3, 5])
def test_next_token_probs_sum_to_one(order, smoothing):
    rng = np.random.default_rng(0)
    train = rng.integers(0, 6, size=400)  # ids 6..9 never seen: the model must still give them mass
    model = NGramLanguageModel(order, vocab_size=10, smoothing=smoothing, k=0.5).fit(train)
    for _ in range(20):
        context = rng.integers(0, 10, size=rng.integers(0, 6))
        probs = model.next_token_probs(context)
        assert probs.shape == (10,)
        assert probs.sum() == pytest.approx(1.0, abs=1e-9)
        assert (probs > 0).all()


def test_add_k_is_the_formula():
    ids = [0, 1, 0, 1, 0, 2]
    model = NGramLanguageModel(2, vocab_size=3, smoothing="add_k", k=0.5).fit(ids)
    # after 0: counts 1→2, 2→1, total 3; (c + k) / (total + kV)
    assert model.next_token_probs([0]) == pytest.approx(np.array([0.5, 2.5, 1.5]) / 4.5)
    # a context never seen is uniform
    assert model.next_token_probs([2]) == pytest.approx(np.full(3, 1 / 3))


def test_nll_is_mean_of_token_nll_and_matches_probabilities():
    model = NGramLanguageModel(3, vocab_size=len(CHARS)).fit(IDS)
    held_out = IDS[5:20]
    per_token = model.token_nll(held_out)
    assert model.nll(held_out) == pytest.approx(per_token.mean())
    for i in range(len(held_out)):
        p = model.next_token_probs(held_out[max(0, i - 2):i])[held_out[i]]
        assert per_token[i] == pytest.approx(-math.log(p))


def test_accepts_torch_and_numpy_and_lists():
    a = NGramLanguageModel(3).fit(torch.tensor(IDS))
    b = NGramLanguageModel(3).fit(np.array(IDS))
    c = NGramLanguageModel(3).fit(IDS)
    assert a.nll(torch.tensor(IDS)) == b.nll(np.array(IDS)) == c.nll(IDS)
    assert a.vocab_size == len(CHARS)


def test_higher_order_fits_training_text_better():
    train = [CHARS.index(c) for c in TEXT * 3]
    nlls = [NGramLanguageModel(n, vocab_size=len(CHARS)).fit(train).nll(train) for n in (1, 2, 3, 4)]
    assert nlls == sorted(nlls, reverse=True)
    assert nlls[0] < uniform_nll(len(CHARS))


def test_huge_k_is_uniform():
    model = NGramLanguageModel(2, vocab_size=7, smoothing="add_k", k=1e9).fit(IDS)
    assert model.nll(IDS) == pytest.approx(math.log(7), rel=1e-6)


def test_sample_is_seeded_and_in_vocab():
    model = NGramLanguageModel(3, vocab_size=len(CHARS)).fit(IDS)
    a = model.sample(30, prompt=IDS[:2], seed=1)
    assert a == model.sample(30, prompt=IDS[:2], seed=1)
    assert len(a) == 32 and a[:2] == IDS[:2]
    assert all(0 <= i < len(CHARS) for i in a)
    assert a != model.sample(30, prompt=IDS[:2], seed=2)


def test_num_ngrams_counts_distinct_ngrams():
    model = NGramLanguageModel(2, smoothing="add_k").fit([0, 1, 0, 1])
    assert model.num_ngrams == 2 + 2  # unigrams {0, 1}; bigrams {01, 10}


def test_estimated_discounts_are_between_zero_and_one():
    model = NGramLanguageModel(4, vocab_size=len(CHARS)).fit(IDS * 2)
    assert len(model.discounts) == 4 and all(0 < d <= 1 for d in model.discounts)


@pytest.mark.parametrize("kwargs, match", [
    ({"order": 0}, "order"), ({"order": 2.0}, "order"), ({"order": 2, "smoothing": "laplace"}, "smoothing"),
    ({"order": 2, "discount": 1.5}, "discount"), ({"order": 2, "discount": [0.1]}, "discount"),
    ({"order": 2, "k": 0}, "k"), ({"order": 2, "vocab_size": 0}, "vocab_size"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        NGramLanguageModel(**kwargs)


def test_bad_inputs():
    with pytest.raises(RuntimeError, match="fit"):
        NGramLanguageModel(2).nll(IDS)
    model = NGramLanguageModel(2, vocab_size=len(CHARS)).fit(IDS)
    with pytest.raises(ValueError, match="ids must be in"):
        model.nll([0, 99])
    with pytest.raises(ValueError, match="1-D"):
        model.nll([[0, 1]])
    with pytest.raises(TypeError, match="integer"):
        model.nll([0.5, 1.0])
    with pytest.raises(ValueError, match="vocab_size"):
        NGramLanguageModel(2, vocab_size=3).fit([0, 5])
    with pytest.raises(ValueError, match="too high"):
        NGramLanguageModel(20, vocab_size=80).fit(list(range(80)))
    with pytest.raises(ValueError, match="temperature"):
        model.sample(3, temperature=0)


def test_unseen_fraction():
    from course_utils.ngram import unseen_fraction

    assert unseen_fraction([0, 1, 2, 0, 1], [0, 1, 2], 2) == 0.0
    assert unseen_fraction([0, 1, 2, 0, 1], [2, 1, 0, 1], 2) == pytest.approx(2 / 3)  # 21, 10 unseen; 01 seen
    assert unseen_fraction([0, 1], [3], 1) == 1.0
    with pytest.raises(ValueError, match="n must"):
        unseen_fraction([0, 1], [0, 1], 0)
