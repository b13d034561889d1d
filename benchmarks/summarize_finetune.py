"""Choosing the fine-tuning recipe of notebook 07's "fine-tuned base model" rung on the VALIDATION split.

Notebook 07 fine-tunes the course base model (course_utils.pretrained) to write a docstring's one-line
summary: prompt = the first `prompt_tokens` tokens of the document + a cue, answer = the summary + <end>,
loss on the answer only (course_utils.finetune.prompt_example). The notebook can afford one short run; this
script scores every candidate recipe by greedy validation ROUGE-1 (course_utils.finetune.complete). The test
split is never read.

1. the choice, inside the notebook's budget (a 32-token prompt, ≤ 150 steps of 16 pairs): peak learning
   rate × steps; then, at the best pair, smaller batches (as many pairs seen), and the other cues.
   `chosen` is the best of these runs.
2. diagnostics at the chosen recipe, not candidates: longer prompts, 2× and 4× the steps, and the same recipe from
   a randomly initialised GPT of the same shape (what pretraining contributes).

    python benchmarks/summarize_finetune.py                     # writes results/summarize_finetune.json
    python benchmarks/summarize_finetune.py --out /tmp/x.json   # keep the committed results untouched
    python benchmarks/summarize_finetune.py --resume            # reuse the runs already in --out

Each run starts from the same base weights and seed; the batch order is the same for every run. Wall-clock
figures depend on what else runs on the machine; losses and ROUGE do not.
"""
from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

from course_utils import set_seed
from course_utils.data import shuffled, train_val_split
from course_utils.dialogue import chat_batcher, pad_examples
from course_utils.finetune import add_special_tokens, complete, prompt_example
from course_utils.metrics import rouge, rouge_tokenize
from course_utils.pretrained import load_base_model
from course_utils.summarize import document_head, load_docstring_summaries
from course_utils.training import lm_loss, train_model
from course_utils.transformer import GPT

RESULTS = Path(__file__).resolve().parent / "results" / "summarize_finetune.json"
CUES = {"in-short": "\nIn short:", "newline": "\n", "separator": "\n\n\n"}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--lrs", type=float, nargs="+", default=[2e-3, 4e-3, 8e-3], help="peak learning rates (AdamW)")
    p.add_argument("--steps", type=int, nargs="+", default=[100, 150], help="optimizer steps per run")
    p.add_argument("--cues", nargs="+", default=list(CUES), choices=list(CUES),
                   help="cues tried at the best (lr, steps); the first one is used for the lr × steps grid")
    p.add_argument("--prompt-tokens", type=int, default=32, help="document tokens kept in the prompt")
    p.add_argument("--longer-prompts", type=int, nargs="*", default=[64, 96], help="diagnostics: longer prompts")
    p.add_argument("--batches", type=int, nargs="+", default=[16, 8],
                   help="pairs per step; the first for the grid, the others at the best (lr, steps) with as many "
                        "pairs seen (more, smaller steps)")
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--max-answer", type=int, default=32, help="summary tokens trained on (longer ones are cut)")
    p.add_argument("--max-new", type=int, default=24, help="longest summary written (tokens)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a busy 2-core machine)")
    p.add_argument("--resume", action="store_true", help="reuse runs already in --out (same settings)")
    p.add_argument("--out", type=Path, default=RESULTS)
    return p.parse_args(argv)


def notebook_split(with_test: bool = False):
    """Notebook 07's training and validation (and test) rows: the same shuffles, the same leaked pairs removed."""
    rows = load_docstring_summaries()
    rest, test = train_val_split(shuffled(rows, seed=0), val_fraction=0.15)
    train, val = train_val_split(rest, val_fraction=0.15)
    seen_summaries, seen_starts = {s.lower() for _, s, _ in train}, {d[:80] for _, _, d in train}
    val, test = ([r for r in split if not (r[1].lower() in seen_summaries or r[2][:80] in seen_starts)]
                 for split in (val, test))
    return (train, val, test) if with_test else (train, val)


SETTING = ("lr", "steps", "batch", "cue", "prompt_tokens", "init")


def tune(train, val, *, lr, steps, batch, cue, prompt_tokens, init, args):
    """One copy of the base model (or a random GPT of its shape) fine-tuned on the training rows; the validation
    loss is measured once, at the end, when `val` is given. Returns (model, tokenizer, <end> id, history)."""
    set_seed(0)
    model, tok = load_base_model()
    if init == "random":
        model = GPT(model.config)                                   # same shape and tokenizer, nothing learned
    end_id, pad_id = add_special_tokens(model, 2)
    pairs = lambda rows: [prompt_example(tok, h, s, cue, end_id, model.config.block_size, args.max_answer)
                          for h, (_, s, _) in zip(document_heads(tok, rows, prompt_tokens), rows)]
    val_data = pad_examples(pairs(val), pad_id) if val else None
    history = train_model(model, chat_batcher(pairs(train), batch, pad_id, seed=0), steps=steps, lr=lr,
                          warmup_steps=args.warmup, val_data=val_data, loss_fn=lm_loss, eval_every=steps, progress=False)
    return model, tok, end_id, history


def document_heads(tok, rows, prompt_tokens: int) -> list[str]:
    """The first `prompt_tokens` tokens of each row's document (the prompt before the cue)."""
    return [document_head(tok, d, prompt_tokens) for _, _, d in rows]


def run(train, val, *, lr, steps, batch, cue, prompt_tokens, init, args) -> dict:
    """Fine-tune one copy of the base model (or a random GPT of its shape) and score it on validation."""
    model, tok, end_id, history = tune(train, val, lr=lr, steps=steps, batch=batch, cue=cue,
                                       prompt_tokens=prompt_tokens, init=init, args=args)
    start = time.perf_counter()
    outputs = complete(model, tok, document_heads(tok, val, prompt_tokens), cue, end_id, max_new_tokens=args.max_new)
    scores = rouge(outputs, [s for _, s, _ in val])
    return {"lr": lr, "steps": steps, "batch": batch, "cue": cue, "prompt_tokens": prompt_tokens, "init": init,
            "train_loss": round(history.train_loss[-1], 4), "val_loss": round(history.val_loss[-1], 4),
            "val_rouge1": round(100 * scores["rouge1"], 2), "val_rouge2": round(100 * scores["rouge2"], 2),
            "words": round(float(np.mean([len(rouge_tokenize(o)) for o in outputs])), 2),
            "distinct": len(set(outputs)), "train_seconds": round(history.seconds[-1], 1),
            "decode_seconds": round(time.perf_counter() - start, 1), "examples": outputs[:3]}


def main(argv=None) -> dict:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    train, val = notebook_split()
    config = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k not in ("out", "resume")}
    config["cues"] = {name: CUES[name] for name in args.cues}
    old = json.loads(args.out.read_text(encoding="utf-8")) if args.resume and args.out.exists() else {}
    same = {k: old.get("config", {}).get(k) for k in ("warmup", "max_answer", "max_new")} == \
        {k: config[k] for k in ("warmup", "max_answer", "max_new")}
    done = {tuple(r[k] for k in SETTING): r for r in old.get("runs", []) + old.get("diagnostics", [])} if same else {}
    result = {"config": config, "train_pairs": len(train), "val_pairs": len(val), "machine": platform.machine(),
              "torch": torch.__version__, "runs": [], "diagnostics": []}

    def record(part, **setting):
        setting = {"init": "base", **setting}
        key = tuple(setting[k] for k in SETTING)
        r = done.get(key) or run(train, val, args=args, **setting)
        result[part].append(r)
        print(f"{r['init']:6} lr {r['lr']:.0e} · {r['steps']:4} steps × {r['batch']:2} · cue {r['cue']!r:14} · "
              f"prompt {r['prompt_tokens']:3} tokens │ train {r['train_loss']:.3f} · val loss {r['val_loss']:.3f} · "
              f"val ROUGE-1 {r['val_rouge1']:5.2f} · {r['words']:.1f} words · {r['distinct']} distinct · "
              f"{r['train_seconds']:.0f}+{r['decode_seconds']:.0f} s" + (" (reused)" if key in done else ""),
              flush=True)
        args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        return r

    cue0, batch0 = CUES[args.cues[0]], args.batches[0]
    base = dict(cue=cue0, prompt_tokens=args.prompt_tokens, batch=batch0)
    grid = [record("runs", lr=lr, steps=steps, **base) for lr in args.lrs for steps in args.steps]
    best = max(grid, key=lambda r: r["val_rouge1"])
    at_best = {**base, "lr": best["lr"], "steps": best["steps"]}
    for batch in args.batches[1:]:
        record("runs", **{**at_best, "batch": batch, "steps": best["steps"] * batch0 // batch})
    for name in args.cues[1:]:
        record("runs", **{**at_best, "cue": CUES[name]})
    chosen = max(result["runs"], key=lambda r: r["val_rouge1"])
    result["chosen"] = {k: chosen[k] for k in (*SETTING, "val_rouge1", "val_loss")}
    recipe = {k: chosen[k] for k in SETTING}
    for n in args.longer_prompts:
        record("diagnostics", **{**recipe, "prompt_tokens": n})
    for factor in (2, 4):
        record("diagnostics", **{**recipe, "steps": factor * chosen["steps"]})
    record("diagnostics", **{**recipe, "init": "random"})
    args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print("chosen on validation:", result["chosen"])
    return result


if __name__ == "__main__":
    main()
