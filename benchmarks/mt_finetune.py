"""Notebook 06's fine-tuned rung, chosen on the validation split: the course base model fine-tuned on the
EN → FR UI-string training pairs, scored by greedy BLEU on the 141 validation pairs (never the test set).

The notebook can afford one fine-tuning run of a couple hundred steps (its section must stay under 30 s),
so this script makes the choices it cannot make live:

1. zero-shot: the base model before fine-tuning, prompted "english<TAB>" as in its pretraining text
   (it saw the training pairs as "english<TAB>french" lines), stopping at the end of the line;
2. the grid: learning rate × number of steps within the notebook's budget, one full run each (the cosine
   schedule depends on the total), validation BLEU at the end → the configuration the notebook runs;
3. beyond the budget: the chosen learning rate with more steps, to see what more fine-tuning would buy;
4. the chosen configuration with two other seeds (batch order): how far one run's BLEU is from another's.

    python benchmarks/mt_finetune.py                       # → benchmarks/results/mt_finetune.json
    python benchmarks/mt_finetune.py --threads 1 --out /tmp/x.json

Every run: set_seed(0), `add_special_tokens(model, 2)` for <end> and <pad>, prompt = English + "\\t",
answer = French + <end> (`finetune.prompt_example`, loss on the answer only), batches of 32 examples of
similar length (`mt_baselines.length_bucket_batcher`), AdamW with 10 % warmup then cosine decay. Steps and
BLEU are repeatable on one machine; the seconds depend on what else runs on it.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import torch

from course_utils import set_seed
from course_utils.data import load_tsv, shuffled, train_val_split
from course_utils.dialogue import pad_examples
from course_utils.finetune import add_special_tokens, complete, prompt_example
from course_utils.metrics import bleu
from course_utils.mt_baselines import in_length_order, length_bucket_batcher
from course_utils.pretrained import load_base_model
from course_utils.training import evaluate, lm_loss, train_model

RESULTS = Path(__file__).resolve().parent / "results" / "mt_finetune.json"
CUE = "\t"                   # what separates English from French in the base model's pretraining lines
BATCH_SIZE = 32


def ui_splits(with_test: bool = False) -> tuple[list, ...]:
    """(train, validation[, test]) UI-string pairs exactly as notebook 06 makes them (leaked pairs removed)."""
    pairs = [tuple(row) for row in load_tsv("mt_en_fr")]
    rest, test = train_val_split(shuffled(pairs, seed=0), val_fraction=0.15)
    train, val = train_val_split(rest, val_fraction=0.1)
    seen_sources, seen_targets = {s.lower() for s, _ in train}, {t for _, t in train}
    val, test = ([p for p in split if not (p[0].lower() in seen_sources or p[1] in seen_targets)] for split in (val, test))
    return (train, val, test) if with_test else (train, val)


def greedy_outputs(model, tok, sources, end_id) -> list[str]:
    """Each source + cue, continued greedily until <end> (batched, prompts sorted by length as in 06)."""
    return in_length_order(lambda batch: complete(model, tok, batch, CUE, end_id), sources)


def greedy_bleu(model, tok, pairs, end_id) -> float:
    return bleu(greedy_outputs(model, tok, [s for s, _ in pairs], end_id), [t for _, t in pairs])


def zero_shot(val) -> dict:
    model, tok = load_base_model()
    newline = tok.encode("\n")
    if len(newline) != 1:
        raise ValueError(f"expected '\\n' to be one token, got {newline}")
    start = time.perf_counter()
    score = greedy_bleu(model, tok, val, newline[0])        # the base model ends a pair's line with "\n"
    return {"val_bleu": round(score, 2), "seconds": round(time.perf_counter() - start, 1)}


def tune(train, lr: float, steps: int, seed: int = 0):
    """The base model fine-tuned on the training pairs: (model, tokenizer, <end> id, <pad> id, history)."""
    set_seed(seed)
    model, tok = load_base_model()
    end_id, pad_id = add_special_tokens(model, 2)
    examples = [prompt_example(tok, s, t, CUE, end_id, model.config.block_size) for s, t in train]
    history = train_model(model, length_bucket_batcher(examples, BATCH_SIZE, pad_id, seed=seed), steps=steps, lr=lr,
                          warmup_steps=steps // 10, loss_fn=lm_loss, progress=False)
    return model, tok, end_id, pad_id, history


def finetune(train, val, lr: float, steps: int, seed: int = 0) -> dict:
    model, tok, end_id, pad_id, history = tune(train, lr, steps, seed)
    val_data = pad_examples([prompt_example(tok, s, t, CUE, end_id, model.config.block_size) for s, t in val], pad_id)
    start = time.perf_counter()
    score = greedy_bleu(model, tok, val, end_id)
    return {"lr": lr, "steps": steps, "seed": seed, "val_bleu": round(score, 2),
            "train_seconds": round(history.seconds[-1], 1),
            "eval_seconds": round(time.perf_counter() - start, 1),
            "final_train_loss": round(history.train_loss[-1], 4),
            "val_loss": round(evaluate(model, val_data, lm_loss), 4)}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--lrs", type=float, nargs="+", default=[1e-3, 2e-3, 3e-3, 5e-3])
    p.add_argument("--budget-steps", type=int, nargs="+", default=[100, 200],
                   help="step counts the notebook can afford: the choice is made among these")
    p.add_argument("--longer-steps", type=int, nargs="+", default=[300, 400, 600, 800],
                   help="beyond the budget, with the chosen learning rate")
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2],
                   help="the chosen configuration again with other seeds (batch order): how noisy is one run?")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    train, val = ui_splits()
    print(f"{len(train)} training pairs, {len(val)} validation pairs")
    result = {"zero_shot": zero_shot(val)}
    print("zero-shot:", result["zero_shot"], flush=True)
    grid = []
    for lr in args.lrs:
        for steps in args.budget_steps:
            grid.append(finetune(train, val, lr, steps))
            print("grid:", grid[-1], flush=True)
    best = max(grid, key=lambda r: r["val_bleu"])              # chosen on validation BLEU only
    longer = []
    for steps in args.longer_steps:
        longer.append(finetune(train, val, best["lr"], steps))
        print("longer:", longer[-1], flush=True)
    seeds = [finetune(train, val, best["lr"], best["steps"], seed) for seed in args.seeds]
    print("seeds:", seeds, flush=True)
    result.update({
        "train_pairs": len(train), "val_pairs": len(val), "cue": CUE, "batch_size": BATCH_SIZE,
        "grid": grid, "chosen": {"lr": best["lr"], "steps": best["steps"], "val_bleu": best["val_bleu"]},
        "longer": longer, "other_seeds": seeds, "threads": torch.get_num_threads(),
        "load_average_1min_at_end": round(os.getloadavg()[0], 2),
        "machine": {"cpu_count": os.cpu_count(), "torch": torch.__version__, "python": platform.python_version()},
        "command": "python benchmarks/mt_finetune.py" + (f" --threads {args.threads}" if args.threads else ""),
    })
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
