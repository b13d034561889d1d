"""Char-level GPT on the course's shared Shakespeare split: held-out loss per second of training.

Target (COURSE_DESIGN.md): validation ≤ 1.60 nats/char within ≤ 120 s of training on 2 CPU cores.
For reference, nanoGPT's published CPU recipe (4 layers, 128 wide, block 64, batch 12, 2000 steps at
lr 1e-3) reaches 1.88 in about 3 minutes.

    python benchmarks/char_gpt.py                   # the default recipe (≈ 120 s on 2 idle cores)
    python benchmarks/char_gpt.py --steps 300       # a quicker look
    python benchmarks/char_gpt.py --lr 3e-3 --block 128 --batch 16 --out /tmp/x.json   # try a variant

It prints the validation loss at checkpoints with the training seconds spent so far (evaluation time
excluded) and steps/s, and writes everything to benchmarks/results/char_gpt.json. Timings depend on
what else runs on the machine: steps/s lets you scale to an idle machine (the idle reference for the
default model is ≈ 10 steps/s at block 64, batch 32).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import torch

from course_utils.data import char_corpus, lm_batcher, lm_eval_windows
from course_utils.optim import make_optimizer
from course_utils.training import count_parameters, evaluate, lm_loss, lr_at
from course_utils.transformer import GPT, GPTConfig

RESULTS = Path(__file__).resolve().parent / "results" / "char_gpt.json"
TARGET_LOSS, TARGET_SECONDS = 1.60, 120.0


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=1200, help="optimizer steps (fixed: runs are repeatable)")
    p.add_argument("--block", type=int, default=64, help="context length T")
    p.add_argument("--batch", type=int, default=32, help="windows per step B")
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--d-model", type=int, default=128)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--positional", choices=["learned", "sinusoidal"], default="learned")
    p.add_argument("--tie-weights", action=argparse.BooleanOptionalAction, default=True,
                   help="share the token embedding with the output head")
    p.add_argument("--dropout", type=float, default=0.0, help="no dropout: 2–3 epochs cannot overfit")
    p.add_argument("--lr", type=float, default=4e-3, help="peak learning rate (AdamW)")
    p.add_argument("--warmup", type=int, default=100, help="linear warmup steps")
    p.add_argument("--min-lr-ratio", type=float, default=0.05, help="cosine decays to lr × this")
    p.add_argument("--optimizer", choices=["adamw", "muon"], default="muon",
                   help="muon: Muon for the blocks' matrices, AdamW for embeddings/head/gains (course_utils.optim)")
    p.add_argument("--beta2", type=float, default=0.99)
    p.add_argument("--weight-decay", type=float, default=0.1)
    p.add_argument("--checkpoints", type=int, default=8, help="how many times to measure validation loss")
    p.add_argument("--threads", type=int, default=2, help="torch threads (2 is fastest on 2 cores)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=RESULTS)
    return p.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    tokenizer, train_ids, val_ids = char_corpus()
    config = GPTConfig(vocab_size=tokenizer.vocab_size, block_size=args.block, d_model=args.d_model,
                       n_heads=args.heads, n_layers=args.layers, dropout=args.dropout, positional=args.positional,
                       tie_weights=args.tie_weights)
    model = GPT(config)
    get_batch = lm_batcher(train_ids, val_ids, args.block, args.batch, seed=args.seed)
    val_full = lm_eval_windows(val_ids, args.block)                      # every held-out char once
    optimizer = make_optimizer(model, args.lr, args.optimizer, args.weight_decay, betas=(0.9, args.beta2))
    checkpoints = {round(args.steps * (i + 1) / args.checkpoints) for i in range(args.checkpoints)}
    print(f"GPT {count_parameters(model):,} parameters · {config} · {args.steps} steps of "
          f"{args.batch}×{args.block} tokens · {torch.get_num_threads()} threads · load {os.getloadavg()[0]:.1f}")
    curve, train_seconds, cpu_seconds, running = [], 0.0, 0.0, []
    model.train()
    for step in range(args.steps):
        t0, c0 = time.perf_counter(), time.process_time()
        for group in optimizer.param_groups:  # linear warmup, then cosine decay
            group["lr"] = lr_at(step, args.steps, args.lr, args.warmup, args.min_lr_ratio)
        x, y = get_batch("train")
        loss = lm_loss(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        running.append(loss.item())
        train_seconds += time.perf_counter() - t0
        cpu_seconds += time.process_time() - c0
        if step + 1 in checkpoints:
            val = evaluate(model, val_full, batch_size=256)
            row = {"step": step + 1, "train_seconds": round(train_seconds, 2), "train_loss": round(sum(running) / len(running), 4),
                   "val_loss": round(val, 4), "steps_per_s": round((step + 1) / train_seconds, 2)}
            curve.append(row)
            running = []
            print(f"step {row['step']:5d} · {row['train_seconds']:7.1f} s · {row['steps_per_s']:5.2f} steps/s · "
                  f"train {row['train_loss']:.3f} · val {row['val_loss']:.3f} nats/char", flush=True)
    final = curve[-1]
    result = {
        "what": "char-level GPT, held-out loss on the shared Shakespeare split (last 10 %)",
        "target": f"val ≤ {TARGET_LOSS} nats/char within ≤ {TARGET_SECONDS:.0f} s training on 2 CPU cores",
        "val_loss": final["val_loss"], "train_seconds": final["train_seconds"], "steps_per_s": final["steps_per_s"],
        "cpu_seconds": round(cpu_seconds, 1), "met_target": final["val_loss"] <= TARGET_LOSS and final["train_seconds"] <= TARGET_SECONDS,
        "parameters": count_parameters(model), "config": config.to_dict(),
        "recipe": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "out"},
        "curve": curve, "load_average_1min_at_end": round(os.getloadavg()[0], 2),
        "machine": {"cpu_count": os.cpu_count(), "torch": torch.__version__, "python": platform.python_version()},
    }
    print(f"→ val {final['val_loss']:.3f} nats/char after {final['train_seconds']:.0f} s "
          f"({final['steps_per_s']:.2f} steps/s; target ≤ {TARGET_LOSS} in ≤ {TARGET_SECONDS:.0f} s: "
          f"{'met' if result['met_target'] else 'not met'})")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


if __name__ == "__main__":
    main()
