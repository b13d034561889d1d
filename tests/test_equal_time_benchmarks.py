"""06 and 07 at equal training time (benchmarks/mt_equal_time.py, summarize_equal_time.py): the step search, and
committed results that follow its rules."""
import sys
from pathlib import Path

import pytest

from course_utils.metrics import bleu
from course_utils.reference_results import load_benchmark

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from mt_finetune import ui_splits  # noqa: E402


def test_the_test_translations_are_of_notebook_06s_test_split_and_score_what_the_json_says():
    result = load_benchmark("mt_equal_time")
    train, val, test = ui_splits(with_test=True)
    assert (len(train), len(val), len(test)) == (1328, 141, 244)           # the sizes 06 prints
    assert result["test"]["sources"] == [s for s, _ in test]
    assert len(result["test"]["outputs"]) == len(test)
    assert abs(bleu(result["test"]["outputs"], [t for _, t in test]) - result["test"]["bleu"]) < 0.01


def assert_kept_run_fits_and_is_best_on_validation(result: dict, metric: str) -> None:
    fits = [run for run in result["runs"] if run["fits"]]
    assert all(run["train_seconds"] <= result["scratch_seconds"] for run in fits)
    assert all(run["train_seconds"] > result["scratch_seconds"] for run in result["runs"] if not run["fits"])
    best = max(fits, key=lambda run: run[metric])
    assert (result["chosen"]["steps"], result["chosen"][metric]) == (best["steps"], best[metric])


def test_the_kept_run_fits_in_the_from_scratch_time_and_is_the_best_on_validation():
    result = load_benchmark("mt_equal_time")
    assert_kept_run_fits_and_is_best_on_validation(result, "val_bleu")
    assert result["lr"] == load_benchmark("mt_finetune")["chosen"]["lr"]   # the learning rate chosen there


def test_07s_equal_time_summaries_are_of_its_test_split_and_follow_the_same_rules():
    from summarize_finetune import notebook_split
    from course_utils.metrics import rouge

    result = load_benchmark("summarize_equal_time")
    train, val, test = notebook_split(with_test=True)
    assert (len(train), len(val), len(test)) == (1045, 163, 197)           # the sizes 07 prints
    assert result["test"]["sources"] == [d for _, _, d in test]
    assert abs(100 * rouge(result["test"]["outputs"], [s for _, s, _ in test])["rouge1"] - result["test"]["rouge1"]) < 0.01
    assert_kept_run_fits_and_is_best_on_validation(result, "val_rouge1")
    chosen = load_benchmark("summarize_finetune")["chosen"]
    assert all(result["recipe"][k] == chosen[k] for k in ("lr", "batch", "cue", "prompt_tokens", "init"))


def test_the_step_search_stops_at_the_first_run_over_budget_and_keeps_the_best_that_fits():
    from equal_time import best_run_within

    seconds = {100: 10.0, 200: 20.0, 300: 30.0, 400: 41.0, 500: 50.0}
    scores = {100: 1.0, 200: 3.0, 300: 2.0}
    tried = []
    tune = lambda steps: (tried.append(steps) or steps, seconds[steps])
    runs, (kept, tuned) = best_run_within([100, 200, 300, 400, 500], 40.0, tune, scores.get, "val")
    assert tried == [100, 200, 300, 400]                       # 400 takes longer than the budget: stop there
    assert (kept["steps"], kept["val"], tuned) == (200, 3.0, 200)
    assert runs[-1] == {"steps": 400, "train_seconds": 41.0, "fits": False}
    with pytest.raises(SystemExit, match="fits in 5.0 s"):
        best_run_within([100], 5.0, tune, scores.get, "val")
