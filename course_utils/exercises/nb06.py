"""Checkers for notebook 06 (machine translation): teacher-forcing inputs and labels, the source padding
mask, one step of beam search, and BLEU's clipped n-gram precision."""
from __future__ import annotations

from collections import Counter
from typing import Callable

import torch

from course_utils.exercises import _fail, _pass, exercise_check


def _desc(got) -> str:
    return f"tensor of shape {tuple(got.shape)}" if isinstance(got, torch.Tensor) else repr(got)


@exercise_check
def check_exercise_1(decoder_io: Callable) -> None:
    """`decoder_io(target, bos_id, eos_id)` → (decoder input, labels): <bos> + target and target + <eos>."""
    cases = [([7, 8, 9], 2, 3), ([5], 2, 3), ([], 2, 3), ([4, 4], 10, 11)]
    for target, bos, eos in cases:
        got = decoder_io(list(target), bos, eos)
        want = ([bos, *target], [*target, eos])
        if got is None:
            _fail("decoder_io returned None — return a tuple (decoder_input, labels)")
        if not isinstance(got, tuple) or len(got) != 2:
            _fail(f"decoder_io should return a tuple of two lists, got {got!r}")
        got = (list(got[0]), list(got[1]))
        if got == (want[1], want[0]):
            _fail("the two lists are swapped: the decoder *reads* <bos> + target and must *predict* target + <eos>")
        if got != want:
            _fail(f"decoder_io({list(target)}, bos={bos}, eos={eos}) = {got}, expected {want} — the labels are "
                  f"the inputs shifted left by one: at every position the model predicts the next token")
    _pass("decoder_io: input = <bos> + target, labels = target + <eos> (shifted by one)")


@exercise_check
def check_exercise_2(source_padding_mask: Callable) -> None:
    """`source_padding_mask(src, pad_id)` → a (B, 1, 1, S) bool keep-mask, False at padding positions."""
    src = torch.tensor([[5, 6, 7, 3], [8, 3, 0, 0], [3, 0, 0, 0]])
    want = (src != 0)[:, None, None, :]
    got = source_padding_mask(src.clone(), 0)
    if got is None:
        _fail("source_padding_mask returned None — return the (B, 1, 1, S) keep-mask")
    if not isinstance(got, torch.Tensor):
        _fail(f"return a torch.Tensor, got {type(got).__name__}")
    if got.shape == (3, 4):
        _fail("shape (B, S) does not broadcast against the scores (B, h, T_q, S): add two axes, mask[:, None, None, :]")
    if got.shape != want.shape:
        _fail(f"the mask should have shape (B, 1, 1, S) = {tuple(want.shape)}, got {tuple(got.shape)}")
    if got.dtype != torch.bool:
        _fail(f"return a bool mask (True = may attend), got dtype {got.dtype}")
    if torch.equal(got, ~want):
        _fail("the mask is inverted: True must mean 'may attend', i.e. a real token (src != pad_id)")
    if not torch.equal(got, want):
        _fail(f"row 1 should be {want[1, 0, 0].tolist()}, got {got[1, 0, 0].tolist()}")
    other = torch.tensor([[9, 9, 1]])
    if not torch.equal(source_padding_mask(other, 9), (other != 9)[:, None, None, :]):
        _fail("use the pad_id argument, not a hard-coded 0")
    _pass("source_padding_mask: (B, 1, 1, S), True on real tokens, False on padding")


def _reference_beam_step(scores: torch.Tensor, log_probs: torch.Tensor, k: int):
    V = log_probs.size(-1)
    top, idx = (scores[:, None] + log_probs).flatten().topk(k)
    return top, idx // V, idx % V


@exercise_check
def check_exercise_3(beam_step: Callable) -> None:
    """`beam_step(scores (k,), log_probs (k, V), k)` → the k best (score, beam, token) extensions."""
    g = torch.Generator().manual_seed(0)
    for k, V in ((1, 5), (3, 7), (4, 4)):
        scores = -torch.rand(k, generator=g) * 3
        log_probs = torch.randn(k, V, generator=g).log_softmax(-1)
        got = beam_step(scores.clone(), log_probs.clone(), k)
        want = _reference_beam_step(scores, log_probs, k)
        if got is None:
            _fail("beam_step returned None — return (new_scores, beam_ids, token_ids)")
        if not isinstance(got, tuple) or len(got) != 3:
            _fail(f"beam_step should return three tensors (new_scores, beam_ids, token_ids), got {_desc(got)}")
        new_scores, beams, tokens = (torch.as_tensor(t) for t in got)
        if new_scores.shape != (k,):
            _fail(f"with k={k}, new_scores should have shape ({k},), got {tuple(new_scores.shape)}")
        if torch.allclose(new_scores, log_probs.flatten().topk(k).values):
            _fail("add each beam's score so far: a candidate's score is scores[beam] + log_probs[beam, token]")
        if not torch.allclose(new_scores, want[0], atol=1e-6):
            _fail(f"with k={k}: new_scores {new_scores.tolist()} ≠ expected {want[0].tolist()} — take the top k "
                  f"over all k·V candidates at once (flatten), not the best token of each beam")
        if not (torch.equal(beams.long(), want[1]) and torch.equal(tokens.long(), want[2])):
            _fail(f"with k={k}, V={V}: beams {beams.tolist()} / tokens {tokens.tolist()}, expected "
                  f"{want[1].tolist()} / {want[2].tolist()} — flat index i is beam i // V, token i % V")
    _pass("beam_step: the k best of k·V candidates, scored by the whole prefix's log-probability")


def _reference_clipped_precision(hyp: list[str], ref: list[str], n: int) -> tuple[int, int]:
    h = Counter(tuple(hyp[i:i + n]) for i in range(len(hyp) - n + 1))
    r = Counter(tuple(ref[i:i + n]) for i in range(len(ref) - n + 1))
    return sum((h & r).values()), sum(h.values())


@exercise_check
def check_exercise_4(clipped_matches: Callable) -> None:
    """`clipped_matches(hyp_tokens, ref_tokens, n)` → (matches, total): BLEU's modified n-gram precision."""
    cases = [("the the the the the the the".split(), "the cat is on the mat".split(), 1),
             ("the cat sat on the mat".split(), "the cat is on the mat".split(), 1),
             ("the cat sat on the mat".split(), "the cat is on the mat".split(), 2),
             ("a".split(), "a b".split(), 2)]
    for hyp, ref, n in cases:
        got = clipped_matches(list(hyp), list(ref), n)
        want = _reference_clipped_precision(hyp, ref, n)
        if got is None:
            _fail("clipped_matches returned None — return (matches, total)")
        if tuple(got) != want:
            unclipped = sum(1 for i in range(len(hyp) - n + 1) if tuple(hyp[i:i + n]) in
                            {tuple(ref[j:j + n]) for j in range(len(ref) - n + 1)})
            hint = (" — clip each n-gram's count at its count in the reference (Counter & Counter)"
                    if got and got[0] == unclipped and unclipped != want[0] else
                    " — count the hypothesis n-grams (total) and those also in the reference (matches)")
            _fail(f"clipped_matches({' '.join(hyp)!r}, {' '.join(ref)!r}, n={n}) = {tuple(got)}, expected {want}{hint}")
    _pass("clipped_matches: 'the the the …' gets 2/7, not 7/7 — repeating a word does not game BLEU")
