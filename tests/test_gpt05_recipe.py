"""Notebook 05's winning GPT (benchmarks/gpt05_recipe.py): choices made on a validation slice at equal time."""
import sys
from pathlib import Path

import pytest

from course_utils.pretrained import shakespeare_held_out
from course_utils.reference_results import load_benchmark

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import gpt05_recipe  # noqa: E402


def test_the_validation_slice_is_the_tail_of_the_training_text_and_never_the_held_out_split():
    train_text, held_out = shakespeare_held_out()
    fit, val = gpt05_recipe.validation_slice()
    assert fit + val == train_text and len(val) == len(train_text) - int(0.9 * len(train_text))
    assert held_out not in val and val not in held_out


def test_a_row_trains_for_its_seconds_and_scores_per_character():
    text = shakespeare_held_out()[0][:30_000]
    settings = {**gpt05_recipe.START, "tokenizer": "bpe", "optimizer": "muon", "lr": 1e-2, "positional": "rope",
                "norm": "rmsnorm", "feed_forward": "swiglu", "n_layers": 1}
    row = gpt05_recipe.gpt_row(settings, text[:27_000], text[27_000:], seconds=0.5, seed=0)
    assert row["steps"] >= 1 and 1.0 < row["validation_loss"] < 8.0
    assert row["train_seconds"] < 5.0                     # about the budget (a loaded machine is slower)


def test_committed_rows_are_cumulative_and_the_recipe_is_the_best_row():
    result = load_benchmark("gpt05_recipe")
    rows = result["rows"]
    assert rows[0]["settings"] == gpt05_recipe.START
    assert [row["change"] for row in rows[1:]] == [what for what, _ in gpt05_recipe.CHANGES]
    settings = dict(gpt05_recipe.START)
    for row, (_, change) in zip(rows[1:], gpt05_recipe.CHANGES):
        settings.update(change)
        assert row["settings"] == settings
    best = min(rows, key=lambda row: row["validation_loss"])
    assert (result["chosen"], result["recipe"], result["recipe_steps"]) == (best["change"], best["settings"], best["steps"])
    assert result["recipe_seeds_validation_loss"][0] == best["validation_loss"]
    assert result["recipe_seed_spread"] == pytest.approx(max(result["recipe_seeds_validation_loss"])
                                                         - min(result["recipe_seeds_validation_loss"]), abs=1e-4)
