"""Notebook 07's fine-tuned rung at equal training time: the course base model fine-tuned with the recipe chosen
by `summarize_finetune.py` for as many steps as fit in the time the from-scratch encoder–decoder trains, the step
count chosen on validation ROUGE-1, then the test set summarized once.

Notebook 07 fine-tunes for 150 steps, about half its from-scratch network's training time. This script makes
the comparison at equal time, on one machine in one process:

1. time the from-scratch encoder–decoder exactly as 07 trains it (400 steps of 32 pairs, AdamW 1e-3), updates
   only (07's own timing also includes its validation checkpoints);
2. fine-tune the base model with the chosen recipe for 150, 225, 300, … steps (each a full run: the cosine
   schedule depends on the total), stopping at the first run that takes longer than step 1;
3. among the runs that fit, keep the best validation ROUGE-1 (greedy) — the test set plays no part in the choice;
4. summarize the 197 test documents once with the kept model and store the summaries, so that 07 can compute
   the interval and the paired differences against its own rungs.

    python benchmarks/summarize_equal_time.py          # → benchmarks/results/summarize_equal_time.json
"""
from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path

import torch

from course_utils.finetune import complete
from course_utils.metrics import rouge
from course_utils.mt_baselines import mt_detokenize
from course_utils.seq2seq import EncoderDecoder, Seq2SeqConfig, Seq2SeqData, TextCodec, seq2seq_loss
from course_utils.training import train_model
from equal_time import best_run_within, environment  # benchmarks/ is on sys.path when run as a script
from summarize_finetune import RESULTS as SWEEP, SETTING, document_heads, notebook_split, parse_args, tune

RESULTS = Path(__file__).resolve().parent / "results" / "summarize_equal_time.json"
SCRATCH_STEPS, MAX_SRC = 400, 64   # notebook 07's encoder–decoder: 400 steps of 32 pairs, documents cut to 64 words
WORD = re.compile(r"\w+|[^\w\s]")


def scratch_seconds(train, val, test) -> float:
    """Seconds of updates for 07's from-scratch encoder–decoder (its words, vocabularies, configuration, batches)."""
    words = lambda text: WORD.findall(text.lower())
    head_of = lambda document: " ".join(words(document)[: MAX_SRC - 1])
    pairs = [[(head_of(d), s) for _, s, d in rows] for rows in (train, val, test)]
    src = TextCodec.build((s for s, _ in pairs[0]), tokenize=words, detokenize=mt_detokenize, min_freq=2)
    tgt = TextCodec.build((t for _, t in pairs[0]), tokenize=words, detokenize=mt_detokenize, min_freq=2)
    data = [Seq2SeqData(split, src, tgt) for split in pairs]
    config = Seq2SeqConfig(len(src), len(tgt), max_src_len=MAX_SRC, max_tgt_len=max(d.max_tgt_len for d in data),
                           d_model=128, n_heads=4, n_encoder_layers=2, n_decoder_layers=2, dropout=0.0)
    _ = torch.manual_seed(0)
    model = EncoderDecoder(config)
    history = train_model(model, data[0].batcher(batch_size=32, seed=0), steps=SCRATCH_STEPS, lr=1e-3,
                          warmup_steps=50, loss_fn=seq2seq_loss(tgt.pad_id), progress=False)
    return history.seconds[-1]


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, nargs="+", default=[150, 225, 300, 375, 450, 525, 600],
                   help="fine-tuning step counts tried in order, until one takes longer than from scratch")
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    settings = parse_args([])                 # summarize_finetune.py's warmup, answer length and summary length
    train, val, test = notebook_split(with_test=True)
    recipe = {k: v for k, v in json.loads(SWEEP.read_text())["chosen"].items() if k in SETTING and k != "steps"}
    budget = scratch_seconds(train, val, test)
    print(f"from scratch: {SCRATCH_STEPS} steps in {budget:.1f} s · recipe {recipe}", flush=True)
    summarize = lambda model, tok, end_id, rows: complete(model, tok, document_heads(tok, rows, recipe["prompt_tokens"]),
                                                          recipe["cue"], end_id, max_new_tokens=settings.max_new)

    def tuned(steps):
        model, tok, end_id, history = tune(train, None, steps=steps, args=settings, **recipe)
        return (model, tok, end_id), history.seconds[-1]

    val_rouge1 = lambda t: round(100 * rouge(summarize(*t, val), [s for _, s, _ in val])["rouge1"], 2)
    runs, (run, (model, tok, end_id)) = best_run_within(args.steps, budget, tuned, val_rouge1, "val_rouge1")
    start = time.perf_counter()
    outputs = summarize(model, tok, end_id, test)
    result = {
        "recipe": recipe, "scratch_steps": SCRATCH_STEPS, "scratch_seconds": round(budget, 1), "runs": runs,
        "chosen": {"steps": run["steps"], "train_seconds": run["train_seconds"], "val_rouge1": run["val_rouge1"]},
        "test": {"rouge1": round(100 * rouge(outputs, [s for _, s, _ in test])["rouge1"], 2), "documents": len(test),
                 "decode_seconds": round(time.perf_counter() - start, 1),
                 "sources": [d for _, _, d in test], "outputs": outputs},
        **environment(), "command": "python benchmarks/summarize_equal_time.py",
    }
    print(f"kept {run['steps']} steps (validation ROUGE-1 {run['val_rouge1']}); test ROUGE-1 {result['test']['rouge1']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
