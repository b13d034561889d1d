"""Fine-tuning the course base model on notebook 08's movie-review sentences: the choices, on VALIDATION.

Notebook 08 fine-tunes `GPTClassifier(base, 2, pad)` for a fixed number of steps, at no more time than its
from-scratch Transformer takes. This script makes the choices that run uses — learning rate, whether to
freeze the embeddings and lower blocks, mean or last-token pooling — on the validation split only, at an
equal compute budget, and then trains the chosen recipe longer to measure what more time would buy
(a learning curve). The test split and the tweets are never touched here.

    python benchmarks/sentiment_finetune.py                    # the committed sweep (≈ 10 min on 1 core)
    python benchmarks/sentiment_finetune.py --out /tmp/x.json  # keep the committed results untouched

It runs single-threaded and records CPU seconds beside wall-clock seconds: on a shared machine CPU time
stays close to what an idle core would take. Budgets are matched in CPU seconds against the notebook's
from-scratch recipe, timed here first. Writes benchmarks/results/sentiment_finetune.json.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import torch
from torch import nn

from course_utils import set_seed
from course_utils.batching import pad_batch
from course_utils.classifier import (TransformerClassifier, classification_batcher, cross_entropy_loss,
                                     encode_texts, predict_sequences, sentiment_tokenize)
from course_utils.data import load_tsv, shuffled
from course_utils.finetune import GPTClassifier, add_special_tokens
from course_utils.metrics import accuracy
from course_utils.pretrained import load_base_model, score_text
from course_utils.tokenizers import Vocab
from course_utils.training import train_model

RESULTS = Path(__file__).resolve().parent / "results" / "sentiment_finetune.json"
BATCH = 32
SCRATCH = dict(steps=600, lr=5e-4, weight_decay=0.1, warmup_steps=60, eval_every=50)   # notebook 08's recipe


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--lrs", type=float, nargs="+", default=[1e-3, 3e-3, 6e-3])
    p.add_argument("--freeze", type=int, nargs="+", default=[0, 2], help="lower blocks kept frozen")
    p.add_argument("--curve", type=int, nargs="+", default=[200, 400, 800],
                   help="longer runs of the chosen recipe (steps)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, default=RESULTS)
    return p.parse_args(argv)


class LastTokenClassifier(nn.Module):
    """GPTClassifier's body and head, reading the last real token's state instead of the mean (the one
    position of a causal model that has seen the whole sentence)."""

    def __init__(self, inner: GPTClassifier):
        super().__init__()
        self.inner = inner

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        h = self.inner.body.features(ids)                                      # (B, T, C)
        last = (ids != self.inner.pad_id).sum(1).clamp_min(1) - 1              # (B,)
        return self.inner.head(h[torch.arange(len(ids), device=ids.device), last])


def splits():
    rows = shuffled(load_tsv("movie_reviews"), seed=0)                         # notebook 08's split
    n = len(rows)
    return rows[: int(0.8 * n)], rows[int(0.8 * n) : int(0.9 * n)]


def timed(action):
    wall, cpu = time.perf_counter(), time.process_time()
    result = action()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def scratch_budget(train_rows, val_rows) -> dict:
    """Notebook 08's from-scratch Transformer, timed the way the notebook times it (evaluations included)."""
    texts = lambda part: [s for _, _, s in part]
    vocab = Vocab.build([sentiment_tokenize(s) for s in texts(train_rows)], min_freq=2)
    ids_train, ids_val = encode_texts(texts(train_rows), vocab), encode_texts(texts(val_rows), vocab)
    y_train, y_val = [int(r[0]) for r in train_rows], [int(r[0]) for r in val_rows]
    set_seed(0)
    model = TransformerClassifier(len(vocab), 2, d_model=64, n_heads=4, n_layers=2, dropout=0.1, max_len=64,
                                  pad_id=vocab.pad_id)
    val_data = (pad_batch(ids_val, vocab.pad_id, 64), torch.tensor(y_val))
    _, wall, cpu = timed(lambda: train_model(
        model, classification_batcher(ids_train, y_train, BATCH, vocab.pad_id, 64, seed=0), val_data=val_data,
        loss_fn=cross_entropy_loss, progress=False, **SCRATCH))
    val_acc = accuracy(y_val, predict_sequences(model, ids_val, vocab.pad_id, 64))
    return {"steps": SCRATCH["steps"], "wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "val_accuracy": val_acc}


def fine_tune(ids_train, y_train, ids_val, y_val, *, lr: float, steps: int, freeze: int = 0,
              pooling: str = "mean") -> dict:
    """One fine-tuning run of the base model; validation accuracy and seconds."""
    body, _ = load_base_model()
    (pad_id,) = add_special_tokens(body, 1)
    set_seed(0)
    classifier = GPTClassifier(body, 2, pad_id)
    if freeze:
        for p in [*body.embed.parameters(), *(q for block in body.blocks[:freeze] for q in block.parameters())]:
            p.requires_grad_(False)
    model = classifier if pooling == "mean" else LastTokenClassifier(classifier)
    get_batch = classification_batcher(ids_train, y_train, BATCH, pad_id, body.config.block_size, seed=0, bucket=True)
    _, wall, cpu = timed(lambda: train_model(model, get_batch, steps=steps, lr=lr, weight_decay=0.01,
                                             warmup_steps=steps // 10, loss_fn=cross_entropy_loss, progress=False))
    val_acc = accuracy(y_val, predict_sequences(model, ids_val, pad_id, body.config.block_size))
    row = {"lr": lr, "steps": steps, "freeze": freeze, "pooling": pooling, "val_accuracy": val_acc,
           "wall_s": round(wall, 1), "cpu_s": round(cpu, 1)}
    print(json.dumps(row), flush=True)
    return row


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    load_start = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    train_rows, val_rows = splits()
    scratch = scratch_budget(train_rows, val_rows)
    print("from scratch:", json.dumps(scratch), flush=True)

    _, tokenizer = load_base_model()
    ids_train = [tokenizer.encode(s) for _, _, s in train_rows]
    ids_val = [tokenizer.encode(s) for _, _, s in val_rows]
    y_train, y_val = [int(r[0]) for r in train_rows], [int(r[0]) for r in val_rows]
    data = (ids_train, y_train, ids_val, y_val)

    # 1) a step's cost with each freezing choice, so every run gets the same CPU budget as from scratch
    probe = {f: fine_tune(*data, lr=1e-3, steps=20, freeze=f) for f in args.freeze}
    steps_for = {f: int(0.8 * scratch["cpu_s"] / (probe[f]["cpu_s"] / 20)) // 10 * 10 for f in args.freeze}
    print("steps at 80 % of the from-scratch CPU time:", steps_for, flush=True)

    # 2) the sweep at equal budget, on validation
    sweep = [fine_tune(*data, lr=lr, steps=steps_for[f], freeze=f) for f in args.freeze for lr in args.lrs]
    best = max(sweep, key=lambda r: r["val_accuracy"])
    last = fine_tune(*data, lr=best["lr"], steps=best["steps"], freeze=best["freeze"], pooling="last")
    sweep.append(last)
    chosen = max(sweep, key=lambda r: r["val_accuracy"])

    # 3) the chosen recipe with more time: does fine-tuning catch up?
    curve = [fine_tune(*data, lr=chosen["lr"], steps=s, freeze=chosen["freeze"], pooling=chosen["pooling"])
             for s in args.curve]

    # 4) how familiar is movie-review text to the base model? nats/char on the validation sentences
    base, _ = load_base_model()
    val_text = "\n".join(s for _, _, s in val_rows)
    familiarity = score_text(base, tokenizer, val_text)["nats_per_char"]

    result = {
        "what": "fine-tuning the course base model on movie-review sentences (notebook 08): choices on validation",
        "batch_size": BATCH,
        "bucketed_batches": True,
        "from_scratch": scratch,
        "step_probe": list(probe.values()),
        "sweep": sweep,
        "chosen": {k: chosen[k] for k in ("lr", "steps", "freeze", "pooling", "val_accuracy")},
        "curve": curve,
        "base_nats_per_char_on_validation_reviews": round(familiarity, 3),
        "tokens_per_sentence_train": round(sum(map(len, ids_train)) / len(ids_train), 1),
        "threads": args.threads,
        "cpu_count": os.cpu_count(),
        "load_average_at_start": load_start,
        "python": platform.python_version(),
        "torch": torch.__version__,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"chosen: {result['chosen']}; wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
