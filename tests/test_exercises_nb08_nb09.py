"""Exercise checkers of notebooks 08 and 09: right answers pass, typical wrong ones raise a helpful error."""
import pytest
import torch
from collections import Counter

from course_utils.dialogue import TECH_SUPPORT_INTENTS
from course_utils.exercises import nb08, nb09, solution_sources
from checker_assertions import fails_with


# ---- notebook 08 -------------------------------------------------------------------------------
def scores_from_confusion(cm, positive=1):
    tp = cm[positive, positive]
    predicted, actual = cm[:, positive].sum(), cm[positive, :].sum()
    p = tp / predicted if predicted else 0.0
    r = tp / actual if actual else 0.0
    return float(p), float(r), float(2 * p * r / (p + r) if p + r else 0.0)


def test_nb08_scores_from_confusion(capsys):
    nb08.check_exercise_1(scores_from_confusion)
    assert "✓" in capsys.readouterr().out
    swapped = lambda cm, positive=1: scores_from_confusion(cm.T, positive)    # rows and columns confused
    fails_with(nb08.check_exercise_1, swapped, "precision", "column sum")

    def unsafe(cm, positive=1):
        tp = cm[positive, positive]
        p, r = tp / cm[:, positive].sum(), tp / cm[positive, :].sum()
        return p, r, 2 * p * r / (p + r)
    with pytest.warns(RuntimeWarning):                                          # numpy 0/0 → nan
        fails_with(nb08.check_exercise_1, unsafe, "nan", "return 0.0")
    fails_with(nb08.check_exercise_1, lambda cm, positive=1: None, "None")


NEGATIONS = {"never", "no", "nothing", "nowhere", "noone", "none", "not", "havent", "hasnt", "hadnt", "cant",
             "couldnt", "shouldnt", "wont", "wouldnt", "dont", "doesnt", "didnt", "isnt", "arent", "aint"}


def reference_solution(notebook: int, exercise: int, **names):
    """The shipped reference solution (course_utils/exercises/solutions/), run with the scaffold's names."""
    namespace = dict(names)
    exec(solution_sources(notebook)[exercise], namespace)
    return namespace


mark_negation = reference_solution(8, 2, NEGATION_WORDS=NEGATIONS)["mark_negation"]


def test_nb08_mark_negation():
    nb08.check_exercise_2(mark_negation)
    fails_with(nb08.check_exercise_2, lambda tokens: [t + "_NEG" for t in tokens], "first difference")

    def comma_ends_scope(tokens):  # a common slip: a comma is not clause punctuation here
        out, negated = [], False
        for t in tokens:
            if t in {".", ":", ";", "!", "?", ","}:
                negated = False
                out.append(t)
            else:
                out.append(t + "_NEG" if negated else t)
                negated = negated or t in NEGATIONS or t.endswith("n't")
        return out
    fails_with(nb08.check_exercise_2, comma_ends_scope, ". : ; ! or ?")


def test_nb08_three_way():
    def right(c):
        return "positive" if c >= 0.05 else "negative" if c <= -0.05 else "neutral"
    nb08.check_exercise_3(right)
    fails_with(nb08.check_exercise_3, lambda c: "positive" if c > 0.05 else "negative" if c < -0.05 else "neutral",
               "boundaries")
    fails_with(nb08.check_exercise_3, lambda c: None, "None")


# ---- notebook 09 -------------------------------------------------------------------------------
def tfidf_rows(token_lists, terms, idf):
    rows = torch.zeros(len(token_lists), len(terms))
    for i, tokens in enumerate(token_lists):
        for term, count in Counter(tokens).items():
            if term in terms:
                rows[i, terms[term]] = count
    rows = rows * idf
    return rows / rows.norm(dim=1, keepdim=True).clamp_min(1e-12)


def test_nb09_tfidf_rows():
    nb09.check_exercise_1(tfidf_rows)
    unnormalised = lambda tl, terms, idf: tfidf_rows(tl, terms, idf) * 3
    fails_with(nb09.check_exercise_1, unnormalised, "length 1")
    nan_rows = lambda tl, terms, idf: (lambda r: r / r.norm(dim=1, keepdim=True))(
        tfidf_rows(tl, terms, idf) * 1.0)
    fails_with(nb09.check_exercise_1, nan_rows, "clamp_min")

    def binary_tf(token_lists, terms, idf):
        return tfidf_rows([sorted(set(t)) for t in token_lists], terms, idf)
    fails_with(nb09.check_exercise_1, binary_tf, "raw count")


def test_nb09_mrr():
    def fair_mrr(scores, truth):
        true = scores.gather(1, truth[:, None])
        greater, tied = (scores > true).sum(1), (scores == true).sum(1) - 1
        return sum(sum(1 / (g + j) for j in range(1, e + 2)) / (e + 1)
                   for g, e in zip(greater.tolist(), tied.tolist())) / len(scores)

    def optimistic_mrr(scores, truth):   # ties counted in the true reply's favour
        rank = (scores > scores.gather(1, truth[:, None])).sum(1) + 1
        return (1 / rank.float()).mean().item()

    nb09.check_exercise_2(fair_mrr)
    fails_with(nb09.check_exercise_2, optimistic_mrr, "tie must not count in the true reply's favour")
    fails_with(nb09.check_exercise_2, lambda s, t: (1 / ((s > s.gather(1, t[:, None])).sum(1).float() + 2)).mean(),
               "rank = 1 +")


def test_nb09_keyboard_rule():
    nb09.check_exercise_3({**TECH_SUPPORT_INTENTS, "keyboard": r"\bkey(s|board)?\b"})
    fails_with(nb09.check_exercise_3, dict(TECH_SUPPORT_INTENTS), "'keyboard' entry")
    fails_with(nb09.check_exercise_3, {**TECH_SUPPORT_INTENTS, "keyboard": r"keyboard"}, "widen")
    greedy = {"keyboard": r"\b(key\w*|not|no)\b", **TECH_SUPPORT_INTENTS}    # first in order: steals requests
    fails_with(nb09.check_exercise_3, greedy, "old rules")
