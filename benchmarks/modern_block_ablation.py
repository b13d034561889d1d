"""Which modern change helps a small char-level GPT? An ablation at equal training time.

Variants of the 05 char model (benchmarks/char_gpt.py's recipe: 3 blocks × 96 wide, 4 heads, block 64, batch 32,
Muon + AdamW at peak lr 1e-2, 100 warmup steps, cosine decay to 5 %), one change at a time, then all four:

    classic     LayerNorm, GELU MLP (4C), learned positions, 4 key/value heads
    +RMSNorm    norm="rmsnorm"
    +SwiGLU     feed_forward="swiglu", hidden round(8C/3) = 256: the same parameters as the 4C MLP
    +RoPE       positional="rope": no learned position table, queries and keys rotated
    +GQA        n_kv_heads=2: the 4 query heads share 2 key/value heads
    all four    the four together (biases kept, as in every row: one change at a time)

Equal time, not equal steps: each variant's seconds per step are measured first (a few steps, all variants
interleaved), and it then gets round(budget / seconds per step) steps with its cosine schedule fitted to them.
Validation is carved from the training text: the last 10 % of the shared split's training part (every character,
non-overlapping windows of 64); the held-out split of course_utils.data is never read. Each seed gives every
variant the same batches, so differences to classic are paired by seed; the spread over seeds is the noise.
The learning rate is char_gpt.py's, tuned for classic and not re-tuned per variant.

    python benchmarks/modern_block_ablation.py                  # 6 variants × 2 seeds × 45 s (≈ 10 min, 2 cores)
    python benchmarks/modern_block_ablation.py --budget 2 --seeds 0 --threads 1 --out /tmp/ablation.json  # smoke

Writes benchmarks/results/modern_block_ablation.json and prints a table (validation nats/char).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import torch

from course_utils.batching import lm_batcher, lm_eval_windows
from course_utils.data import char_corpus, train_val_split
from course_utils.optim import make_optimizer
from course_utils.training import count_parameters, evaluate, lm_loss, lr_at
from course_utils.transformer import GPT, GPTConfig

RESULTS = Path(__file__).resolve().parent / "results" / "modern_block_ablation.json"
VARIANTS = {
    "classic": {},
    "+RMSNorm": dict(norm="rmsnorm"),
    "+SwiGLU": dict(feed_forward="swiglu"),
    "+RoPE": dict(positional="rope"),
    "+GQA": dict(n_kv_heads=2),
    "all four": dict(norm="rmsnorm", feed_forward="swiglu", positional="rope", n_kv_heads=2),
}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--budget", type=float, default=45.0, help="training seconds per variant and seed")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    p.add_argument("--calibration-steps", type=int, default=15, help="timed steps per variant to set its step count")
    p.add_argument("--block", type=int, default=64)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--layers", type=int, default=3)
    p.add_argument("--d-model", type=int, default=96)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--lr", type=float, default=1e-2)
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--min-lr-ratio", type=float, default=0.05)
    p.add_argument("--val-fraction", type=float, default=0.1, help="tail of the training text used for validation")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", type=Path, default=RESULTS)
    return p.parse_args(argv)


def build(args, vocab_size: int, overrides: dict, seed: int) -> tuple[GPT, object]:
    torch.manual_seed(seed)
    config = GPTConfig(vocab_size=vocab_size, block_size=args.block, d_model=args.d_model, n_heads=args.heads,
                       n_layers=args.layers, dropout=0.0, **overrides)
    model = GPT(config)
    return model, make_optimizer(model, args.lr, "muon", 0.1, betas=(0.9, 0.99))


def train_step(model, optimizer, get_batch) -> float:
    x, y = get_batch("train")
    loss = lm_loss(model(x), y)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    return loss.item()


def seconds_per_step(args, vocab_size: int, fit_ids: torch.Tensor, rounds: int = 2) -> dict[str, float]:
    """Median over `rounds` interleaved rounds of each variant's mean seconds per training step."""
    samples = {name: [] for name in args.variants}
    setups = {name: build(args, vocab_size, VARIANTS[name], seed=0) for name in args.variants}
    get_batch = lm_batcher(fit_ids, fit_ids, args.block, args.batch, seed=0)
    for name, (model, opt) in setups.items():  # warm-up
        model.train()
        for _ in range(3):
            train_step(model, opt, get_batch)
    for r in range(rounds):
        for name in (args.variants if r % 2 == 0 else list(reversed(args.variants))):
            model, opt = setups[name]
            start = time.perf_counter()
            for _ in range(args.calibration_steps):
                train_step(model, opt, get_batch)
            samples[name].append((time.perf_counter() - start) / args.calibration_steps)
    return {name: statistics.median(s) for name, s in samples.items()}


def train_variant(args, vocab_size: int, name: str, steps: int, seed: int, fit_ids, val_ids, val_windows) -> dict:
    model, optimizer = build(args, vocab_size, VARIANTS[name], seed)
    get_batch = lm_batcher(fit_ids, val_ids, args.block, args.batch, seed=seed)
    model.train()
    losses, seconds = [], 0.0
    for step in range(steps):
        start = time.perf_counter()
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, steps, args.lr, args.warmup, args.min_lr_ratio)
        losses.append(train_step(model, optimizer, get_batch))
        seconds += time.perf_counter() - start
    tail = losses[-max(1, steps // 10):]
    return {"variant": name, "seed": seed, "steps": steps, "train_seconds": round(seconds, 2),
            "train_loss_last_10pct": round(sum(tail) / len(tail), 4),
            "val_loss": round(evaluate(model, val_windows, batch_size=256), 4), "parameters": count_parameters(model)}


def summarize(runs: list[dict], variants: list[str]) -> list[dict]:
    """One row per variant: mean validation loss over seeds and its paired difference to classic."""
    by = {(r["variant"], r["seed"]): r for r in runs}
    seeds = sorted({r["seed"] for r in runs})
    rows = []
    for name in variants:
        mine = [by[name, s] for s in seeds]
        row = {"variant": name, "overrides": VARIANTS[name], "parameters": mine[0]["parameters"],
               "steps": mine[0]["steps"], "mean_train_seconds": round(statistics.mean(r["train_seconds"] for r in mine), 1),
               "val_loss_by_seed": [r["val_loss"] for r in mine],
               "mean_val_loss": round(statistics.mean(r["val_loss"] for r in mine), 4)}
        if "classic" in variants:
            deltas = [by[name, s]["val_loss"] - by["classic", s]["val_loss"] for s in seeds]
            row["delta_vs_classic_by_seed"] = [round(d, 4) for d in deltas]
            row["mean_delta_vs_classic"] = round(statistics.mean(deltas), 4)
        rows.append(row)
    return rows


def main(argv=None) -> dict:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    tokenizer, train_ids, _ = char_corpus()      # the held-out split is not used here: validation is carved below
    fit_ids, val_ids = train_val_split(train_ids, args.val_fraction)
    val_windows = lm_eval_windows(val_ids, args.block)
    print(f"train on {len(fit_ids):,} chars, validate on {len(val_ids):,} (the tail of the training text) · "
          f"{torch.get_num_threads()} threads · load {os.getloadavg()[0]:.1f}", flush=True)
    per_step = seconds_per_step(args, tokenizer.vocab_size, fit_ids)
    steps = {name: max(1, round(args.budget / s)) for name, s in per_step.items()}
    for name in args.variants:
        print(f"  {name:<9} {1e3 * per_step[name]:6.1f} ms/step → {steps[name]:5d} steps in {args.budget:.0f} s", flush=True)
    runs = []
    for seed in args.seeds:
        for name in args.variants:
            run = train_variant(args, tokenizer.vocab_size, name, steps[name], seed, fit_ids, val_ids, val_windows)
            runs.append(run)
            print(f"seed {seed} {name:<9} {run['steps']:5d} steps · {run['train_seconds']:6.1f} s · "
                  f"train {run['train_loss_last_10pct']:.3f} · val {run['val_loss']:.4f} nats/char", flush=True)
    rows = summarize(runs, args.variants)
    print("\n| variant | parameters | steps | s | val nats/char (mean) | Δ vs classic (by seed) |\n|---|---|---|---|---|---|")
    for row in rows:
        delta = (f"{row['mean_delta_vs_classic']:+.4f} ({', '.join(f'{d:+.4f}' for d in row['delta_vs_classic_by_seed'])})"
                 if "mean_delta_vs_classic" in row else "")
        print(f"| {row['variant']} | {row['parameters']:,} | {row['steps']} | {row['mean_train_seconds']} | "
              f"{row['mean_val_loss']:.4f} | {delta} |")
    result = {
        "what": "char GPT variants at equal training time; validation = last "
                f"{args.val_fraction:.0%} of the shared split's training text (the held-out split is not used)",
        "budget_seconds": args.budget, "seconds_per_step": {k: round(v, 5) for k, v in per_step.items()},
        "rows": rows, "runs": runs,
        "recipe": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "out"},
        "load_average_1min_at_end": round(os.getloadavg()[0], 2),
        "machine": {"cpu_count": os.cpu_count(), "processor": platform.processor() or platform.machine(),
                    "torch": torch.__version__, "python": platform.python_version()},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
