"""Notebook 05's GPT recipe, chosen on validation: AdamW's peak learning rate, and Muon beside it.

Notebook 05 trains its GPT (3 blocks × 96 wide, 32 windows × 64 characters, 600 steps, 50 warmup steps, cosine to
5 % of the peak) with the course's `train_model` — the loop of notebook 02 — and AdamW as GPTs are usually
trained (`make_optimizer(kind="adamw")`: β2 = 0.99, weight decay 0.1 on weight matrices only). This script chooses AdamW's
peak learning rate on a **validation slice carved from the training text** (its last 10 %; the model trains on
the first 90 %), never on the held-out split. It then trains the chosen AdamW recipe and the Muon variant
(`make_optimizer(kind="muon")`: Muon for the hidden matrices, the same AdamW for the rest; the aside of 05 §8) on the whole training text and scores
both once on every held-out character — the numbers 05 quotes for the aside.

    ./course.sh python benchmarks/gpt_optimizer.py       # ≈ 4 min on 2 idle cores

Losses at a fixed number of steps do not depend on the machine's load; the seconds do.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch

from course_utils.batching import lm_batcher, lm_eval_windows
from course_utils.data import char_corpus
from course_utils.optim import make_optimizer
from course_utils.training import evaluate, train_model
from course_utils.transformer import GPT, GPTConfig

RESULTS = Path(__file__).resolve().parent / "results" / "gpt_optimizer.json"
STEPS, BLOCK, BATCH, WARMUP, MIN_LR_RATIO = 600, 64, 32, 50, 0.05
ADAMW_LRS = (4e-3, 8e-3, 1.6e-2, 3.2e-2)
MUON_LR = 1e-2


def train(train_ids: torch.Tensor, val_ids: torch.Tensor, optimizer: str, lr: float) -> tuple[GPT, float]:
    """05's model and schedule; returns the model and its training seconds."""
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=80, block_size=BLOCK, d_model=96, n_heads=4, n_layers=3, dropout=0.0,
                          positional="learned", tie_weights=True))
    opt = make_optimizer(model, lr=lr, kind=optimizer)      # AdamW: β2 0.99, weight decay 0.1 on matrices only
    history = train_model(model, lm_batcher(train_ids, val_ids, BLOCK, BATCH, seed=0), steps=STEPS, lr=lr,
                          warmup_steps=WARMUP, min_lr_ratio=MIN_LR_RATIO, optimizer=opt, progress=False)
    return model, history.seconds[-1]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    tokenizer, train_ids, held_out_ids = char_corpus()
    cut = int(len(train_ids) * 0.9)
    fit_ids, val_ids = train_ids[:cut], train_ids[cut:]                      # validation carved from training text
    val_windows = lm_eval_windows(val_ids, BLOCK)
    sweep = []
    for optimizer, lr in [*(("adamw", lr) for lr in ADAMW_LRS), ("muon", MUON_LR)]:
        model, seconds = train(fit_ids, val_ids, optimizer, lr)
        sweep.append({"optimizer": optimizer, "lr": lr, "validation_loss": round(evaluate(model, val_windows), 4),
                      "train_seconds": round(seconds, 1)})
        print(f"{optimizer:5s} lr {lr:g}: validation {sweep[-1]['validation_loss']:.4f} nats/char "
              f"({seconds:.0f} s)", flush=True)
    best = min((row for row in sweep if row["optimizer"] == "adamw"), key=lambda row: row["validation_loss"])
    held_out, held_out_windows = {}, lm_eval_windows(held_out_ids, BLOCK)
    for optimizer, lr in (("adamw", best["lr"]), ("muon", MUON_LR)):
        model, seconds = train(train_ids, held_out_ids, optimizer, lr)
        held_out[optimizer] = {"lr": lr, "held_out_loss": round(evaluate(model, held_out_windows), 4),
                               "train_seconds": round(seconds, 1)}
        print(f"whole training text, {optimizer} lr {lr:g}: held-out {held_out[optimizer]['held_out_loss']:.4f} "
              f"nats/char", flush=True)
    result = {"what": "05's GPT: AdamW peak lr chosen on a validation slice of the training text; Muon beside it",
              "recipe": {"steps": STEPS, "block": BLOCK, "batch": BATCH, "warmup": WARMUP,
                         "min_lr_ratio": MIN_LR_RATIO, "model": "3 × 96, 4 heads", "seed": 0},
              "sweep_on_validation": sweep, "chosen_adamw_lr": best["lr"], "held_out": held_out,
              "threads": torch.get_num_threads(), "load_average_1min_at_end": round(os.getloadavg()[0], 2),
              "date": time.strftime("%Y-%m-%d")}
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


if __name__ == "__main__":
    main()
