"""Recurrent and n-gram language models on the course's shared Shakespeare split: held-out loss per
training step and second, next to the Kneser–Ney n-gram baseline of notebook 02.

Notebook 02 trains its RNN/LSTM/GRU for a few hundred steps (two minutes for the whole notebook), where
the n-gram wins. This script trains the same model for longer to measure where — and whether — the
neural model overtakes the counts.

    python benchmarks/rnn_lm.py                          # LSTM, notebook-02 sizes, 6000 steps
    python benchmarks/rnn_lm.py --kind gru --steps 2000  # another model / budget
    python benchmarks/rnn_lm.py --out /tmp/x.json        # keep the committed results untouched

It prints the held-out loss at checkpoints with the training seconds spent so far (evaluation excluded)
and writes everything to benchmarks/results/rnn_lm.json. Wall-clock figures depend on what else runs on
the machine; steps and losses do not.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import torch

from course_utils.batching import lm_batcher, lm_eval_windows
from course_utils.data import char_corpus
from course_utils.ngram import NGramLanguageModel
from course_utils.rnn import RNNLanguageModel
from course_utils.training import count_parameters, evaluate, lm_loss, lr_at

RESULTS = Path(__file__).resolve().parent / "results" / "rnn_lm.json"


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--kind", choices=["rnn", "lstm", "gru"], default="lstm")
    p.add_argument("--steps", type=int, default=6000, help="optimizer steps (fixed: runs are repeatable)")
    p.add_argument("--block", type=int, default=64, help="training window T (notebook 02: 64)")
    p.add_argument("--batch", type=int, default=32, help="windows per step B (notebook 02: 32)")
    p.add_argument("--d-embed", type=int, default=64)
    p.add_argument("--d-hidden", type=int, default=256)
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--lr", type=float, default=6e-3, help="peak learning rate (AdamW)")
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument("--min-lr-ratio", type=float, default=0.1)
    p.add_argument("--eval-block", type=int, default=64, help="held-out windows (notebooks 02 and 05: 64)")
    p.add_argument("--ngram-order", type=int, default=6, help="Kneser–Ney baseline order (notebook 02's best)")
    p.add_argument("--checkpoints", type=int, default=12, help="how many times to measure held-out loss")
    p.add_argument("--threads", type=int, default=2, help="torch threads (2 is fastest on 2 cores)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=RESULTS)
    return p.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    tokenizer, train_ids, val_ids = char_corpus()
    ngram_val = NGramLanguageModel(args.ngram_order, vocab_size=tokenizer.vocab_size).fit(train_ids).nll(val_ids)
    model = RNNLanguageModel(tokenizer.vocab_size, args.d_embed, args.d_hidden, args.layers, args.kind, args.dropout)
    get_batch = lm_batcher(train_ids, val_ids, args.block, args.batch, seed=args.seed)
    val_windows = lm_eval_windows(val_ids, args.eval_block)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr)
    checkpoints = {round(args.steps * (i + 1) / args.checkpoints) for i in range(args.checkpoints)}
    print(f"{args.kind} {count_parameters(model):,} parameters · {args.steps} steps of {args.batch}×{args.block} "
          f"chars · {torch.get_num_threads()} threads · load {os.getloadavg()[0]:.1f} · "
          f"Kneser–Ney {args.ngram_order}-gram baseline {ngram_val:.3f} nats/char", flush=True)
    curve, train_seconds, cpu_seconds, running = [], 0.0, 0.0, []
    model.train()
    for step in range(args.steps):
        t0, c0 = time.perf_counter(), time.process_time()
        for group in optimizer.param_groups:
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
            val = evaluate(model, val_windows, batch_size=256)
            row = {"step": step + 1, "chars_seen": (step + 1) * args.batch * args.block,
                   "train_seconds": round(train_seconds, 2), "cpu_seconds": round(cpu_seconds, 1),
                   "train_loss": round(sum(running) / len(running), 4), "val_loss": round(val, 4)}
            curve.append(row)
            running = []
            print(f"step {row['step']:5d} · {row['train_seconds']:7.1f} s · train {row['train_loss']:.3f} · "
                  f"val {row['val_loss']:.3f} nats/char ({'below' if val < ngram_val else 'above'} the n-gram)",
                  flush=True)
    crossing = next((row["step"] for row in curve if row["val_loss"] < ngram_val), None)
    result = {
        "what": f"{args.kind} language model vs Kneser–Ney n-gram, held-out loss on the shared Shakespeare split",
        "ngram_order": args.ngram_order, "ngram_val_loss": round(ngram_val, 4),
        "val_loss": curve[-1]["val_loss"], "train_seconds": curve[-1]["train_seconds"],
        "first_checkpoint_below_ngram": crossing, "parameters": count_parameters(model),
        "recipe": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "out"},
        "curve": curve, "load_average_1min_at_end": round(os.getloadavg()[0], 2),
        "machine": {"cpu_count": os.cpu_count(), "torch": torch.__version__, "python": platform.python_version()},
    }
    print(f"→ {args.kind} val {curve[-1]['val_loss']:.3f} nats/char after {args.steps} steps; n-gram "
          f"{ngram_val:.3f}; first checkpoint below the n-gram: {crossing}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


if __name__ == "__main__":
    main()
