"""Classification metrics: accuracy, precision / recall / F1 and the confusion matrix, checked by hand
and against the definitions on random labels."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from course_utils.metrics import accuracy, confusion_matrix, f1_score, precision_recall_f1

Y_TRUE = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
Y_PRED = [1, 1, 1, 0, 1, 1, 0, 0, 0, 0]   # TP=3, FN=1, FP=2, TN=4


def test_accuracy_by_hand():
    assert accuracy(Y_TRUE, Y_PRED) == pytest.approx(7 / 10)
    assert accuracy(torch.tensor(Y_TRUE), np.array(Y_PRED)) == pytest.approx(0.7)   # tensors and arrays too


def test_precision_recall_f1_by_hand():
    p, r, f = precision_recall_f1(Y_TRUE, Y_PRED)
    assert (p, r) == pytest.approx((3 / 5, 3 / 4))
    assert f == pytest.approx(2 * 0.6 * 0.75 / (0.6 + 0.75))
    assert f1_score(Y_TRUE, Y_PRED) == pytest.approx(f)
    p0, r0, _ = precision_recall_f1(Y_TRUE, Y_PRED, positive=0)      # the other class as "positive"
    assert (p0, r0) == pytest.approx((4 / 5, 4 / 6))


def test_zero_denominators_give_zero():
    assert precision_recall_f1([0, 0], [0, 0]) == (0.0, 0.0, 0.0)    # no positives at all
    assert precision_recall_f1([1, 1], [0, 0]) == (0.0, 0.0, 0.0)    # nothing predicted positive


def test_confusion_matrix_rows_truth_columns_prediction():
    cm = confusion_matrix(Y_TRUE, Y_PRED)
    assert cm.tolist() == [[4, 2], [1, 3]]                           # labels sorted: 0, 1
    assert confusion_matrix(Y_TRUE, Y_PRED, labels=[1, 0]).tolist() == [[3, 1], [2, 4]]
    assert confusion_matrix(["neg", "pos"], ["pos", "pos"]).tolist() == [[0, 1], [0, 1]]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2)), min_size=1, max_size=40))
def test_metrics_agree_with_the_confusion_matrix(pairs):
    y_true, y_pred = map(list, zip(*pairs))
    cm = confusion_matrix(y_true, y_pred, labels=[0, 1, 2])
    assert cm.sum() == len(pairs)
    assert accuracy(y_true, y_pred) == pytest.approx(np.trace(cm) / cm.sum())
    for c in range(3):
        tp, fp, fn = cm[c, c], cm[:, c].sum() - cm[c, c], cm[c, :].sum() - cm[c, c]
        p, r, f = precision_recall_f1(y_true, y_pred, positive=c)
        assert p == pytest.approx(tp / (tp + fp) if tp + fp else 0.0)
        assert r == pytest.approx(tp / (tp + fn) if tp + fn else 0.0)
        assert f == pytest.approx(2 * tp / (2 * tp + fp + fn) if tp else 0.0)   # F1 = 2TP / (2TP + FP + FN)


def test_macro_f1_is_the_mean_of_per_class_f1():
    per_class = [precision_recall_f1(Y_TRUE, Y_PRED, c)[2] for c in (0, 1)]
    assert f1_score(Y_TRUE, Y_PRED, average="macro") == pytest.approx(sum(per_class) / 2)


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="same length, got 2 and 3"):
        accuracy([0, 1], [0, 1, 1])
    with pytest.raises(ValueError, match="must not be empty"):
        accuracy([], [])
    with pytest.raises(TypeError, match="y_true must be a sequence"):
        accuracy("0101", [0, 1, 0, 1])
    with pytest.raises(ValueError, match="average must be"):
        f1_score([0], [0], average="micro")
    with pytest.raises(ValueError, match="missing"):
        confusion_matrix([0, 1], [0, 2], labels=[0, 1])


def test_an_unknown_positive_label_raises_instead_of_scoring_zero():
    with pytest.raises(ValueError, match=r"positive=1 is not a label of this data \(labels seen: 'neg', 'pos'\)"):
        precision_recall_f1(["pos", "neg"], ["pos", "pos"])
    with pytest.raises(ValueError, match="positive='yes' is not a label"):
        f1_score([0, 1], [1, 1], positive="yes")
    assert precision_recall_f1(["pos", "neg"], ["pos", "pos"], positive="pos") == pytest.approx((0.5, 1.0, 2 / 3))
    assert precision_recall_f1(np.array([0, 0]), np.array([0, 0])) == (0.0, 0.0, 0.0)   # a known kind: 0


def test_bootstrap_interval_covers_the_mean_and_narrows_with_more_items():
    import numpy as np
    from course_utils.metrics import bootstrap_interval

    rng = np.random.default_rng(1)
    small, large = rng.normal(5.0, 1.0, 50), rng.normal(5.0, 1.0, 2000)
    lo_s, hi_s = bootstrap_interval(lambda idx: small[idx].mean(), len(small))
    lo_l, hi_l = bootstrap_interval(lambda idx: large[idx].mean(), len(large))
    assert lo_s < small.mean() < hi_s and lo_l < large.mean() < hi_l
    assert (hi_l - lo_l) < (hi_s - lo_s) / 3                       # ≈ √40 narrower
    assert abs((hi_l - lo_l) - 2 * 1.96 / np.sqrt(2000)) < 0.02      # the normal-theory width
    assert bootstrap_interval(lambda idx: small[idx].mean(), 50) == (lo_s, hi_s)   # seeded
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_interval(lambda idx: 0.0, 10, confidence=1.5)
