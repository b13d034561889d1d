"""Notebook 05's winning GPT: every choice made on a validation slice, at equal training time.

Notebook 05's own GPT (characters, GPT-2's block, 3 × 96, AdamW) loses to the Kneser–Ney 6-gram and to the
LSTM at equal training time. This script builds, one change at a time, the recipe that 05 then trains once
on the whole training text and scores on the held-out split. Every row here trains on the first 90 % of
the training text and is scored on its last 10 % (the *validation slice*; the held-out split is never read)
for the same wall-clock budget: a short probe measures how many steps of each variant fit in `--seconds`,
then notebook 05's training loop (`train_model`) runs that many (steps and measured seconds are recorded). The LSTM of 05
(the same budget) and the 6-gram (counting) are scored on the same slice as references.

Cumulative changes, in the order tried: Muon for the hidden matrices (05's aside chose it on validation) → BPE
tokens (notebook 01's byte-level BPE, 1,024 tokens learned from the slice's training part) → RoPE, RMSNorm, SwiGLU (notebook 12's block) →
2 blocks instead of 3 → decay to 0 with a shorter warmup → the AdamW part (embeddings, head, gains) at 3× the
rate. The row with the lowest validation loss is the recipe — its change and every change above it (a change
that did not help on its own stays in the rows below it); it is repeated with two more seeds (the spread is the noise level of this table). Writes
benchmarks/results/gpt05_recipe.json (≈ 6 min on 2 cores).

    python benchmarks/gpt05_recipe.py                 # 30 s per row
    python benchmarks/gpt05_recipe.py --seconds 5     # a quick look
    python benchmarks/gpt05_recipe.py --replay benchmarks/results/gpt05_recipe.json --out /tmp/replay.json
                                                      # the recorded steps, no probe: reproduces the losses
"""
from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from char_gpt import validation_slice  # noqa: E402  (the slice char_gpt.py --validation-slice uses)
from equal_time import environment  # noqa: E402

from course_utils.batching import lm_batcher, lm_eval_windows  # noqa: E402
from course_utils.bpe import BPETokenizer  # noqa: E402
from course_utils.data import char_corpus  # noqa: E402
from course_utils.ngram import NGramLanguageModel  # noqa: E402
from course_utils.optim import make_optimizer  # noqa: E402
from course_utils.pretrained import score_text  # noqa: E402
from course_utils.rnn import RNNLanguageModel  # noqa: E402
from course_utils.training import evaluate, lm_loss, train_model  # noqa: E402
from course_utils.transformer import GPT, GPTConfig  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "gpt05_recipe.json"
BLOCK, BATCH = 64, 32
# notebook 05's GPT (§8): characters, GPT-2's block, 3 × 96, AdamW at 1.6e-2, warmup 50 of 600 steps, cosine to 5 %
START = {"tokenizer": "char", "n_layers": 3, "positional": "learned", "norm": "layernorm", "feed_forward": "mlp",
         "optimizer": "adamw", "lr": 1.6e-2, "adamw_lr_scale": 1.0, "warmup": 0.08, "min_lr_ratio": 0.05}
CHANGES = [   # (what the row adds, the settings it changes), applied cumulatively
    ("Muon for the hidden matrices", {"optimizer": "muon", "lr": 1e-2}),   # §8's aside: chosen on validation there
    ("BPE tokens (1,024)", {"tokenizer": "bpe"}),
    ("RoPE, RMSNorm, SwiGLU", {"positional": "rope", "norm": "rmsnorm", "feed_forward": "swiglu"}),
    ("2 blocks instead of 3", {"n_layers": 2}),
    ("warmup 2 %, decay to 0", {"warmup": 0.02, "min_lr_ratio": 0.0}),
    ("embeddings/head at 3× the rate", {"adamw_lr_scale": 3.0}),
]
LSTM = {"d_embed": 64, "d_hidden": 256, "n_layers": 1, "kind": "lstm", "lr": 6e-3}   # notebook 05's LSTM


@functools.lru_cache(maxsize=8)
def tokenized(kind: str, text: str) -> tuple:
    """(tokenizer, ids of `text`): characters, or a 1,024-token BPE learned from `text` itself (the slice's
    training part). Cached: every BPE row of a run shares one tokenizer instead of learning it again."""
    tokenizer = BPETokenizer.train(text, 1024) if kind == "bpe" else char_corpus()[0]
    return tokenizer, torch.tensor(tokenizer.encode(text), dtype=torch.long)


def char_ids(train_text: str, val_text: str) -> tuple:
    """(character tokenizer, train ids, validation ids): what the LSTM and the 6-gram read."""
    tokenizer, train_ids = tokenized("char", train_text)
    return tokenizer, train_ids, tokenized("char", val_text)[1]


def steps_in(seconds: float, model, optimizer, get_batch, probe: int = 40, warm_up: int = 10) -> int:
    """How many training steps of this model fit in `seconds` on this machine: `probe` timed steps after
    `warm_up` untimed ones, on a throwaway copy (the model that is then trained starts fresh)."""
    model.train()
    for i in range(warm_up + probe):
        if i == warm_up:
            start = time.perf_counter()
        x, y = get_batch("train")
        loss = lm_loss(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return max(1, round(seconds * probe / (time.perf_counter() - start)))


def train_for(build, batches, seconds: float, warmup: float, min_lr_ratio: float, steps: int | None = None) -> tuple:
    """(model, steps, seconds): the steps that fit in `seconds`, then `train_model` — notebook 05's loop, with
    linear warmup over a `warmup` fraction of the steps and cosine decay to `min_lr_ratio`. `build()` gives a
    fresh (model, optimizer), `batches()` a fresh seeded `get_batch`: the probe does not shift the run's data.
    Given `steps` (a replay), there is no probe: the run repeats a recorded one step for step."""
    steps = steps or steps_in(seconds, *build(), batches())
    model, optimizer = build()
    history = train_model(model, batches(), steps=steps, warmup_steps=max(1, round(warmup * steps)),
                          min_lr_ratio=min_lr_ratio, optimizer=optimizer, progress=False)
    return model, steps, round(history.seconds[-1], 1)


def gpt_row(settings: dict, train_text: str, val_text: str, seconds: float, seed: int,
            steps: int | None = None) -> dict:
    """Train one GPT with `settings` on the slice's training part; nats per character of the validation part."""
    tokenizer, ids = tokenized(settings["tokenizer"], train_text)
    config = GPTConfig(vocab_size=tokenizer.vocab_size, block_size=BLOCK, d_model=96, n_heads=4,
                       n_layers=settings["n_layers"], dropout=0.0, positional=settings["positional"],
                       norm=settings["norm"], feed_forward=settings["feed_forward"])

    def build():
        torch.manual_seed(seed)
        model = GPT(config)
        return model, make_optimizer(model, settings["lr"], settings["optimizer"],
                                     adamw_lr=settings["lr"] * settings["adamw_lr_scale"])

    model, steps, train_seconds = train_for(build, lambda: lm_batcher(ids, ids[:BLOCK + 1], BLOCK, BATCH, seed=seed),
                                            seconds, settings["warmup"], settings["min_lr_ratio"], steps)
    model.eval()
    with torch.no_grad():
        nats = score_text(model, tokenizer, val_text, context=train_text[-8 * BLOCK:], stride=BLOCK, batch_size=256)
    return {"steps": steps, "train_seconds": train_seconds, "validation_loss": round(nats["nats_per_char"], 4)}


def lstm_row(train_text: str, val_text: str, seconds: float, seed: int, steps: int | None = None) -> dict:
    """Notebook 05's LSTM (characters, AdamW at 6e-3) for the same budget, scored on the same slice."""
    tokenizer, train_ids, val_ids = char_ids(train_text, val_text)

    def build():
        torch.manual_seed(seed)
        model = RNNLanguageModel(vocab_size=tokenizer.vocab_size, **{k: v for k, v in LSTM.items() if k != "lr"})
        return model, make_optimizer(model, LSTM["lr"], "adamw")

    model, steps, train_seconds = train_for(build, lambda: lm_batcher(train_ids, val_ids, BLOCK, BATCH, seed=seed), seconds,
                                            warmup=0.05, min_lr_ratio=0.05, steps=steps)   # 05's 50 warmup steps of 1,000
    loss = evaluate(model, lm_eval_windows(val_ids, BLOCK), batch_size=256)
    return {"steps": steps, "train_seconds": train_seconds, "validation_loss": round(loss, 4)}


def ngram_loss(train_text: str, val_text: str) -> float:
    tokenizer, train_ids, val_ids = char_ids(train_text, val_text)
    return round(NGramLanguageModel(order=6, vocab_size=tokenizer.vocab_size).fit(train_ids).nll(val_ids), 4)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=30.0, help="training budget per row (wall clock)")
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--replay", type=Path, default=None,
                   help="a result JSON: run each row for the steps recorded there (no probe; the same losses up to "
                        "floating-point differences between CPUs) — e.g. --replay benchmarks/results/gpt05_recipe.json "
                        "--out /tmp/replay.json")
    args = p.parse_args(argv)
    replay = json.loads(args.replay.read_text(encoding="utf-8")) if args.replay else None
    recorded = lambda i: replay["rows"][i]["steps"] if replay else None  # noqa: E731
    torch.set_num_threads(2)
    train_text, val_text = validation_slice()
    gpt_row(START, train_text[:50_000], val_text[:2_000], 2.0, 0)   # the process's first steps are slow: not timed
    settings, rows = dict(START), []
    for i, (what, change) in enumerate([("notebook 05's GPT: characters, GPT-2's block, 3 × 96, AdamW", {})] + CHANGES):
        settings.update(change)
        row = {"change": what, "settings": dict(settings),
               **gpt_row(settings, train_text, val_text, args.seconds, 0, recorded(i))}
        if rows:
            row["gain"] = round(rows[-1]["validation_loss"] - row["validation_loss"], 4)
        rows.append(row)
        print(f"{what:45s} {row['steps']:5d} steps in {row['train_seconds']:4.1f} s · validation {row['validation_loss']:.3f} nats/char", flush=True)
    chosen = min(rows, key=lambda row: row["validation_loss"])
    settings = chosen["settings"]
    seed_steps = replay.get("recipe_seed_steps", [chosen["steps"]] * 3) if replay else [None] * 3
    others = [gpt_row(settings, train_text, val_text, args.seconds, s, seed_steps[s]) for s in (1, 2)]
    seeds = [chosen["validation_loss"]] + [row["validation_loss"] for row in others]
    lstm = lstm_row(train_text, val_text, args.seconds, 0, replay["lstm"]["steps"] if replay else None)
    out = {"what": "notebook 05's GPT recipe, one change at a time, each row trained for the same seconds on the "
                   "first 90 % of the training text and scored in nats per character on its last 10 % (the "
                   "held-out split is not read)",
           "seconds_per_row": args.seconds, "block": BLOCK, "batch": BATCH, "rows": rows,
           "chosen": chosen["change"], "recipe": settings, "recipe_steps": chosen["steps"],
           "recipe_seeds_validation_loss": seeds, "recipe_seed_steps": [chosen["steps"]] + [r["steps"] for r in others],
           "replayed_from": str(args.replay) if args.replay else None,
           "recipe_seed_spread": round(max(seeds) - min(seeds), 4),
           "lstm": {**lstm, **LSTM}, "ngram_order_6_validation_loss": ngram_loss(train_text, val_text),
           **environment()}
    print(f"chosen: up to '{chosen['change']}' · seeds 0–2: {seeds} · LSTM {lstm['validation_loss']:.3f} ({lstm['steps']} steps) · "
          f"6-gram {out['ngram_order_6_validation_loss']:.3f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    return out


if __name__ == "__main__":
    main()
