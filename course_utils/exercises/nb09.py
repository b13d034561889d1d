"""Checkers for notebook 09 (dialogue systems): TF-IDF rows by hand, mean reciprocal rank, and a new
customer-service intent rule."""
from __future__ import annotations

from typing import Callable

import torch

from course_utils.exercises import _fail, _pass, exercise_check
from course_utils.dialogue import SUPPORT_TEST_REQUESTS, TECH_SUPPORT_INTENTS, detect_intent
from course_utils.retrieval import TfidfRetriever, simple_tokenize


DOCS = ["my printer is not printing", "my mouse is not responding", "the printer printer needs paper",
        "I forgot my password"]
QUERIES = ["printer paper", "my my my", "zebra"]


@exercise_check
def check_exercise_1(tfidf_rows: Callable) -> None:
    """tfidf_rows(token_lists, terms, idf) → (M, V) unit-length TF-IDF rows, equal to TfidfRetriever's."""
    ref = TfidfRetriever().fit(DOCS)
    for texts, what in ((DOCS, "the fitted texts"), (QUERIES, "new queries (one with no known word)")):
        got = tfidf_rows([simple_tokenize(t) for t in texts], ref.terms, ref.idf.clone())
        if got is None:
            _fail("tfidf_rows returned None — return a (M, V) tensor")
        if not torch.is_tensor(got) or tuple(got.shape) != (len(texts), len(ref.terms)):
            shape = tuple(got.shape) if torch.is_tensor(got) else type(got).__name__
            _fail(f"tfidf_rows should return a tensor of shape ({len(texts)}, {len(ref.terms)}) = (texts, terms), "
                  f"got {shape}")
        if not torch.isfinite(got).all():
            _fail(f"tfidf_rows on {what} has nan/inf — a text with no known word has norm 0: divide by "
                  f"norm.clamp_min(1e-12) so its row stays 0")
        want = ref.transform(texts)
        if not torch.allclose(got.float(), want, atol=1e-5):
            row = int((got.float() - want).abs().sum(1).argmax())
            norm = got[row].norm().item()
            hint = ("each row must have length 1: divide by its L2 norm" if abs(norm - 1) > 1e-3 and want[row].norm() > 0
                    else "tf = raw count of the term in the text (repeats count), times idf of the term")
            _fail(f"tfidf_rows on {what}: row {row} ({texts[row]!r}) differs from TfidfRetriever's — {hint}")
    _pass("tfidf_rows equals TfidfRetriever.transform on fitted texts and on new queries")


def _reference_mrr(scores: torch.Tensor, true_index: torch.Tensor) -> float:
    """MRR with fair ties: a true candidate with g scores above it and e others tied with it is equally
    likely at rank g+1 … g+e+1 under random tie-breaking, so it earns the mean of 1/rank over those."""
    true = scores.gather(1, true_index[:, None])
    greater = (scores > true).sum(1).tolist()
    tied = ((scores == true).sum(1) - 1).tolist()
    per_row = [sum(1 / (g + j) for j in range(1, e + 2)) / (e + 1) for g, e in zip(greater, tied)]
    return sum(per_row) / len(per_row)


@exercise_check
def check_exercise_2(mean_reciprocal_rank: Callable) -> None:
    """MRR = mean over rows of 1 / (rank of the true candidate), rank 1 = best score; a tie neither helps
    nor hurts the true candidate (mean of 1/rank over the tied places)."""
    g = torch.Generator().manual_seed(0)
    cases = [(torch.eye(4), torch.arange(4), "a perfect scorer"),
             (-torch.eye(4), torch.arange(4), "a scorer that ranks the truth last"),
             (torch.randn(50, 10, generator=g), torch.randint(0, 10, (50,), generator=g), "random scores"),
             (torch.zeros(3, 4), torch.arange(3), "all candidates tied"),
             (torch.tensor([[2.0, 1.0, 1.0, 0.0], [1.0, 1.0, 3.0, 1.0]]), torch.tensor([1, 0]), "some ties")]
    for scores, truth, what in cases:
        got = mean_reciprocal_rank(scores.clone(), truth.clone())
        if got is None:
            _fail("mean_reciprocal_rank returned None — return a float")
        want = _reference_mrr(scores, truth)
        if abs(float(got) - want) > 1e-6:
            hint = ("a tie must not count in the true reply's favour: with g candidates above it and e tied, "
                    "average 1/rank over the ranks g+1 … g+e+1" if "tied" in what or "ties" in what else
                    "rank = 1 + the number of candidates with a HIGHER score than the true one; average 1 / rank over rows")
            _fail(f"mean_reciprocal_rank for {what} = {float(got):.4f}, expected {want:.4f} — {hint}")
    _pass("mean_reciprocal_rank: 1 for a perfect scorer, 1/C when the truth is last, fair on ties")


KEYBOARD_REQUESTS = ("My keyboard is not typing", "some keys don't work", "the keyboard is broken",
                     "keys are stuck on my laptop")


@exercise_check
def check_exercise_3(rules: dict) -> None:
    """A rule set with a new 'keyboard' intent that keeps every old answer right."""
    if not isinstance(rules, dict) or "keyboard" not in rules:
        _fail("rules should be a dict of intent → regular expression with a 'keyboard' entry, e.g. "
              "{**TECH_SUPPORT_INTENTS, 'keyboard': r'...'}")
    for text in KEYBOARD_REQUESTS:
        got = detect_intent(text, rules)
        if got != "keyboard":
            _fail(f"detect_intent({text!r}) = {got!r}, expected 'keyboard' — widen the pattern "
                  f"(e.g. \\bkey(s|board)?\\b)")
    for text, _ in SUPPORT_TEST_REQUESTS:
        before, after = detect_intent(text, TECH_SUPPORT_INTENTS), detect_intent(text, rules)
        if before != after:
            _fail(f"{text!r} was {before!r} with the old rules and is {after!r} with yours — keep the old rules "
                  f"and make the keyboard pattern specific enough not to steal their requests")
    _pass(f"'keyboard' recognised in {len(KEYBOARD_REQUESTS)} requests; all {len(SUPPORT_TEST_REQUESTS)} old "
          f"answers unchanged")
