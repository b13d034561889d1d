"""Classical MT baselines: copy, IBM Model 1 word-by-word, translation memory; the date task."""
import datetime

import pytest

from course_utils.dates import date_pair, date_pairs, split_dates
from course_utils.mt_baselines import (TranslationMemory, WordByWordTranslator, best_translations, copy_baseline,
                                       in_length_order, length_bucket_batcher, mt_detokenize, mt_tokenize)

PAIRS = [("the house", "la maison"), ("the book", "le livre"), ("a book", "un livre"),
         ("the red house", "la maison rouge"), ("a house", "une maison"), ("the cat", "le chat")]


def test_tokenize_and_detokenize():
    assert mt_tokenize("Open %1 in l'extension, now!") == ["Open", "%1", "in", "l'", "extension", ",", "now", "!"]
    assert mt_detokenize(["Ouvrir", "l'", "extension", ",", "maintenant", "!"]) == "Ouvrir l'extension, maintenant!"
    assert mt_tokenize("") == []
    with pytest.raises(TypeError, match="text must be str, got int"):
        mt_tokenize(3)


def test_copy_baseline():
    assert copy_baseline(["a b", ""]) == ["a b", ""]
    with pytest.raises(TypeError, match="one str"):
        copy_baseline("a b")


def test_ibm1_learns_the_dictionary():
    translator = WordByWordTranslator.fit_ibm1(PAIRS, iterations=10)
    d = translator.dictionary
    assert (d["house"], d["book"], d["red"], d["cat"]) == ("maison", "livre", "rouge", "chat")
    assert translator.translate(["red cat"]) == ["rouge chat"]             # word by word: no reordering
    assert translator.translate(["red Jupyter", ""]) == ["rouge Jupyter", ""]  # unknown words are copied


def test_ibm1_bad_input():
    with pytest.raises(ValueError, match="at least one"):
        WordByWordTranslator.fit_ibm1([])
    with pytest.raises(TypeError, match="index 1"):
        WordByWordTranslator.fit_ibm1([("a", "b"), ("a",)])
    with pytest.raises(ValueError, match="iterations"):
        WordByWordTranslator.fit_ibm1(PAIRS, iterations=0)
    with pytest.raises(TypeError, match="dictionary must be a dict"):
        WordByWordTranslator([("a", "b")])


def test_best_translations_takes_the_argmax_per_source_word():
    table = {"maison": {"house": 0.9, "the": 0.2, None: 0.5}, "la": {"house": 0.1, "the": 0.6}, None: {"x": 1.0}}
    assert best_translations(table) == {"house": "maison", "the": "la"}


def test_translation_memory_returns_the_nearest_neighbour():
    tm = TranslationMemory(PAIRS)
    assert tm.translate(["the red house"]) == ["la maison rouge"]        # exact match
    assert tm.translate(["the big red house"]) == ["la maison rouge"]    # closest by word overlap
    assert tm.translate(["nothing shared"]) == ["nothing shared"]        # no neighbour: copy
    assert tm.nearest("zzz") == (-1, 0.0)
    assert TranslationMemory.similarity(__import__("collections").Counter("ab"), __import__("collections").Counter("ab")) == 1.0


def test_date_pairs_are_deterministic_and_split_by_date():
    train, test = split_dates(2000, 2001, n_test=50, seed=0)
    assert len(train) + len(test) == 731 and not set(train) & set(test)
    assert split_dates(2000, 2001, n_test=50, seed=0) == (train, test)
    pairs = date_pairs(test, targets=("fr",), seed=1)
    assert pairs == date_pairs(test, targets=("fr",), seed=1) and len(pairs) == 50
    assert date_pair(datetime.date(2019, 2, 15), "full", "fr") == ("Friday, February 15, 2019", "vendredi 15 février 2019")
    assert date_pair(datetime.date(2019, 2, 15), "full", "zh", tag=True) == ("zh: Friday, February 15, 2019",
                                                                            "2019年2月15日星期五")
    both = date_pairs(train, n=40, targets=("fr", "zh"), seed=2)
    assert {s[:3] for s, _ in both} == {"fr:", "zh:"}


def test_date_bad_input():
    with pytest.raises(ValueError, match="fmt must be one of"):
        date_pair(datetime.date(2019, 2, 15), "short")
    with pytest.raises(ValueError, match="target must be one of"):
        date_pair(datetime.date(2019, 2, 15), "full", "de")
    with pytest.raises(ValueError, match="n_test must be in"):
        split_dates(2000, 2000, n_test=366)
    with pytest.raises(ValueError, match="dates must not be empty"):
        date_pairs([])


def test_length_bucket_batcher_groups_similar_lengths_and_visits_every_example():
    examples = [([7] * n, [-100] * (n - 1) + [n]) for n in (5, 1, 9, 2, 8, 3)]   # inputs of lengths 5 1 9 2 8 3
    draw = length_bucket_batcher(examples, batch_size=2, pad_id=0, seed=0)
    seen = []
    for _ in range(3):                                                            # one epoch = 3 buckets
        x, y = draw("train")
        assert x.shape == y.shape and x.shape[0] == 2
        seen.append(sorted(int(v) for v in y.max(dim=1).values))                 # the lengths in this batch
    assert sorted(seen) == [[1, 2], [3, 5], [8, 9]]                               # neighbours by length
    assert (y[y != -100] > 0).all() and (x[:, : min(seen[-1])] == 7).all()
    again = length_bucket_batcher(examples, batch_size=2, pad_id=0, seed=0)
    assert [sorted(int(v) for v in again("train")[1].max(dim=1).values) for _ in range(3)] == seen  # seeded
    with pytest.raises(ValueError, match="batch_size must be"):
        length_bucket_batcher(examples, batch_size=7, pad_id=0)
    with pytest.raises(ValueError, match="examples must be a non-empty list"):
        length_bucket_batcher([], batch_size=1, pad_id=0)


def test_in_length_order_runs_sorted_and_returns_in_the_original_order():
    calls = []

    def shout(batch):
        calls.append(list(batch))
        return [t.upper() for t in batch]

    assert in_length_order(shout, ["ccc", "a", "bb"]) == ["CCC", "A", "BB"]
    assert calls == [["a", "bb", "ccc"]]
    with pytest.raises(ValueError, match="one result per text: got 1 results for 2"):
        in_length_order(lambda batch: ["x"], ["a", "b"])
    with pytest.raises(TypeError, match="texts must be a list of str, got one str"):
        in_length_order(shout, "abc")
