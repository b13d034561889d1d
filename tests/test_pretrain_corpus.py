"""The pretraining corpus never contains a line of any notebook's validation or test split."""
import pytest

from course_utils import data, pretrain_corpus as pc


@pytest.fixture(scope="module")
def leak_index():
    return pc.LeakIndex(pc.held_out_texts(include_cached=True))


def test_near_duplicate_detector_catches_edited_copies():
    index = pc.LeakIndex(["Shall I compare thee to a summer's day? Thou art more lovely and more temperate."])
    assert index.is_near_duplicate("SHALL I COMPARE THEE TO A SUMMERS DAY  thou art more lovely, and more temperate!")
    assert index.is_near_duplicate("As he said: thee to a summer's day, thou art... or so.")  # 8 words in a row shared
    assert not index.is_near_duplicate("Shall I compare thee to a winter's night?")
    assert not index.is_near_duplicate("Exit.")  # too short to be evidence of anything


def test_every_notebook_split_is_checked(leak_index):
    held = pc.held_out_texts(include_cached=False)
    assert set(held) >= {"shakespeare", "docsum", "chatterbot_en", "mt_en_fr", "dates"}
    text = data.load_text("shakespeare")
    assert held["shakespeare"] == text[pc.shakespeare_cut(text):]
    assert len(held["shakespeare"]) >= len(data.train_val_split(text)[1])   # covers the shared split


def test_no_held_out_line_in_the_pretraining_corpus(leak_index):
    corpus = data.load_text("pretrain_corpus")   # built at setup: python -m course_utils.data cache
    leaks = [line for line in corpus.split("\n") if leak_index.is_near_duplicate(line)]
    assert leaks == [], f"{len(leaks)} held-out lines leaked into the corpus, e.g. {leaks[:3]}"


def test_shakespeare_held_out_text_is_absent():
    corpus_lines = set(data.load_text("pretrain_corpus").splitlines())
    _, held_out = data.train_val_split(data.load_text("shakespeare"))
    long_lines = [line for line in held_out.splitlines() if len(line) >= 30]
    assert len(long_lines) > 1000 and not [line for line in long_lines if line in corpus_lines]
