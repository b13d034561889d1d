"""Checkers for notebook 01 (vocabulary & encoding): vocabulary rules, one-hot vectors, and BPE encoding
and decoding from the merge list alone."""
from __future__ import annotations

from typing import Callable, Sequence

import torch
import torch.nn.functional as F

from course_utils.bpe import BPETokenizer
from course_utils.exercises import _fail, _pass, exercise_check
from course_utils.tokenizers import Vocab


def _first_difference(got: Sequence, want: Sequence) -> str:
    for i, (g, w) in enumerate(zip(got, want)):
        if g != w:
            return f"position {i}: got {g!r}, expected {w!r}"
    return f"lengths differ: got {len(got)} items, expected {len(want)}"


# (token_lists, min_freq, max_size) — ties, rare tokens and a size cap.
VOCAB_CASES = (
    ([["the", "cat", "sat"], ["the", "dog", "sat"]], 1, None),
    ([["b", "a", "b", "c", "a", "d"]], 1, None),             # ties a=b=2 → alphabetical
    ([["to", "be", "or", "not", "to", "be"], ["be", "quick"]], 2, None),  # min_freq drops singletons
    ([["x", "y", "y", "z", "z", "z", "w"]], 1, 6),           # max_size counts the 4 specials
)


@exercise_check
def check_exercise_1(build_itos: Callable[..., list[str]]) -> None:
    """The learner's `build_itos(token_lists, min_freq=1, max_size=None)` must list the specials, then
    tokens seen ≥ min_freq times by descending count (ties alphabetical), at most max_size in all."""
    for token_lists, min_freq, max_size in VOCAB_CASES:
        got = build_itos(token_lists, min_freq=min_freq, max_size=max_size)
        want = Vocab.build(token_lists, min_freq=min_freq, max_size=max_size).itos
        if got is None:
            _fail("build_itos returned None — return the list of tokens, specials first")
        if list(got) != want:
            _fail(f"build_itos({token_lists}, min_freq={min_freq}, max_size={max_size}) = {list(got)}, "
                  f"expected {want} — {_first_difference(list(got), want)}. Rules: specials first, then "
                  "count ≥ min_freq, sort by (-count, token), cut to max_size including the specials")
    _pass(f"build_itos agrees with Vocab.build on {len(VOCAB_CASES)} corpora")


@exercise_check
def check_exercise_2(one_hot: Callable[[torch.Tensor, int], torch.Tensor]) -> None:
    """The learner's `one_hot(ids, vocab_size)` must return a float (T, V) matrix with a single 1 per
    row, and `one_hot(ids, V) @ W` must pick the rows `W[ids]`."""
    ids, vocab_size = torch.tensor([3, 0, 3, 5, 1]), 7
    got = one_hot(ids, vocab_size)
    if got is None:
        _fail("one_hot returned None — return a (T, vocab_size) tensor")
    if not isinstance(got, torch.Tensor) or tuple(got.shape) != (len(ids), vocab_size):
        _fail(f"one_hot(ids of length {len(ids)}, {vocab_size}) should have shape ({len(ids)}, {vocab_size}), "
              f"got {tuple(getattr(got, 'shape', ()))}")
    if not got.is_floating_point():
        _fail(f"one_hot should return floats (so it can be multiplied by a weight matrix), got {got.dtype}")
    want = F.one_hot(ids, vocab_size).float()
    if not torch.equal(got, want):
        bad = int((got != want).any(dim=1).nonzero()[0])
        _fail(f"row {bad} (id {int(ids[bad])}) is {got[bad].tolist()}, expected {want[bad].tolist()}")
    weight = torch.arange(vocab_size * 2, dtype=torch.float32).view(vocab_size, 2)
    if not torch.equal(got @ weight, weight[ids]):
        _fail("one_hot(ids) @ W does not select the rows W[ids]")
    _pass("one_hot matches F.one_hot, and one_hot @ W selects the rows W[ids]")


def _small_tokenizer() -> BPETokenizer:
    """A tiny BPE trained on a fixed text: the same merges on every machine."""
    return BPETokenizer.train("low lower lowest newer newest " * 5 + "the cat sat on the mat " * 5, vocab_size=280)


ENCODE_CHUNKS = ("lowest", " lowest", " newer", " the", " cat", " mat", "大模型")


@exercise_check
def check_exercise_3(encode_chunk: Callable[[str, list[tuple[int, int]]], list[int]]) -> None:
    """The learner's `encode_chunk(chunk, merges)` turns one pre-tokenized chunk into BPE ids using only
    the merge list (merge i creates id 256 + i); it must agree with `BPETokenizer.encode`."""
    tok = _small_tokenizer()
    merges = list(tok.merges)
    for chunk in ENCODE_CHUNKS:
        want = tok.encode(chunk)
        got = encode_chunk(chunk, merges)
        if got is None:
            _fail("encode_chunk returned None — return a list of token ids")
        got = [int(i) for i in got]
        if got != want:
            pieces = tok.token_strings(got) if all(i in tok.vocab for i in got) else "(unknown ids)"
            _fail(f"encode_chunk({chunk!r}, merges) = {got} {pieces}, "
                  f"expected {want} {tok.token_strings(want)}. Start from list(chunk.encode('utf-8')) and apply "
                  "the merges in the order they were learned: for i, pair in enumerate(merges): "
                  "ids = merge(ids, pair, 256 + i)")
    _pass(f"encode_chunk agrees with BPETokenizer.encode on {len(ENCODE_CHUNKS)} chunks")


DECODE_TEXTS = ("low lower lowest", "the cat sat on the mat", "大规模语言模型 🙂")


@exercise_check
def check_exercise_4(decode_from_merges: Callable[[list[int], list[tuple[int, int]]], str]) -> None:
    """The learner rebuilds each token's bytes from the merge list alone (id 256 + i = merge i) and
    decodes ids to text; the result must equal `BPETokenizer.decode`."""
    tok = _small_tokenizer()
    merges = list(tok.merges)
    for text in DECODE_TEXTS:
        ids = tok.encode(text)
        got = decode_from_merges(ids, merges)
        if got is None:
            _fail("decode_from_merges returned None — return the decoded string")
        if got != text:
            _fail(f"decode_from_merges({ids}, merges) = {got!r}, expected {text!r}. Start from "
                  "vocab = {i: bytes([i]) for i in range(256)}, add vocab[256 + i] = vocab[a] + vocab[b] "
                  "for each merge (a, b) in order, join the bytes, then .decode('utf-8', errors='replace')")
    _pass(f"decode_from_merges round-trips {len(DECODE_TEXTS)} texts (English, Chinese, emoji)")
