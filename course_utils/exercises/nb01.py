"""Checkers for notebook 01 (vocabulary & encoding): vocabulary rules, one-hot vectors, the unknown-word
rate, and decoding BPE ids from the merge list alone."""
from __future__ import annotations

from typing import Callable, Sequence

import torch
import torch.nn.functional as F

from course_utils.bpe import BPETokenizer
from course_utils.checks import ExpectationError, expect_true
from course_utils.tokenizers import UNK, Vocab


def _pass(message: str) -> None:
    expect_true(message, True)


def _fail(message: str) -> None:
    print(f"✗ {message}")
    raise ExpectationError(f"✗ {message}")


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


UNK_CASES = (
    (["the", "cat", "sat"], ["the", "cat", "sat"], 0.0),
    (["the", "cat", "sat"], ["the", "dog", "sat", "down"], 0.5),
    (["a"], ["b", "c", "a"], 2 / 3),
)


def check_exercise_3(unk_rate: Callable[[Sequence[str], Vocab], float]) -> None:
    """The learner's `unk_rate(tokens, vocab)` = share of tokens that the vocabulary maps to <unk>."""
    for known, tokens, want in UNK_CASES:
        vocab = Vocab(known)
        got = unk_rate(tokens, vocab)
        if got is None:
            _fail("unk_rate returned None — return a float between 0 and 1")
        if abs(float(got) - want) > 1e-9:
            _fail(f"unk_rate({tokens}, vocab of {known}) = {float(got):.4f}, expected {want:.4f} — count the "
                  f"tokens missing from the vocabulary (they encode to id {vocab.unk_id} = {UNK!r}) "
                  "and divide by len(tokens)")
    _pass(f"unk_rate is right on {len(UNK_CASES)} cases")


DECODE_TEXTS = ("low lower lowest", "the cat sat on the mat", "大规模语言模型 🙂")


def check_exercise_4(decode_from_merges: Callable[[list[int], list[tuple[int, int]]], str]) -> None:
    """The learner rebuilds each token's bytes from the merge list alone (id 256 + i = merge i) and
    decodes ids to text; the result must equal `BPETokenizer.decode`."""
    tok = BPETokenizer.train("low lower lowest newer newest " * 5 + "the cat sat on the mat " * 5, vocab_size=280)
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
