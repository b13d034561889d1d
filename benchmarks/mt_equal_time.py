"""Notebook 06's fine-tuned rung at equal training time: the course base model fine-tuned for as many steps as
fit in the time the from-scratch encoder–decoder trains, the step count chosen on validation BLEU, then the
test set scored once.

Notebook 06 can afford only a 200-step fine-tune (4.8 passes over the data), less time than its from-scratch
network's 600 steps; `mt_finetune.py` showed that longer fine-tunes score higher on validation. This script makes
the comparison the issue asks for, on one machine in one process:

1. time the from-scratch encoder–decoder exactly as 06 trains it (600 steps of 64 pairs, AdamW 1e-3), updates
   only (06's own timing also includes its validation checkpoints);
2. fine-tune the base model with `mt_finetune.py`'s chosen learning rate for 200, 300, … steps (each a full run:
   the cosine schedule depends on the total), stopping at the first run that takes longer than step 1;
3. among the runs that fit, keep the best validation BLEU (greedy) — the test set plays no part in the choice;
4. translate the 244 test sentences once with the kept model (greedy) and store the outputs, so that 06 can
   compute the interval and the paired differences against its own rungs.

    python benchmarks/mt_equal_time.py                      # → benchmarks/results/mt_equal_time.json
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from course_utils.metrics import bleu
from course_utils.mt_baselines import mt_detokenize, mt_tokenize
from course_utils.seq2seq import EncoderDecoder, Seq2SeqConfig, Seq2SeqData, TextCodec, seq2seq_loss
from course_utils.training import train_model
from equal_time import best_run_within, environment  # benchmarks/ is on sys.path when run as a script
from mt_finetune import RESULTS as SWEEP, greedy_bleu, greedy_outputs, tune, ui_splits

RESULTS = Path(__file__).resolve().parent / "results" / "mt_equal_time.json"
SCRATCH_STEPS = 600          # notebook 06's from-scratch network: 600 steps of 64 pairs, AdamW 1e-3, 50 warmup


def scratch_seconds(train) -> float:
    """Seconds of updates for 06's from-scratch encoder–decoder (its configuration, batches and schedule)."""
    src = TextCodec.build((s for s, _ in train), tokenize=mt_tokenize, detokenize=mt_detokenize)
    tgt = TextCodec.build((t for _, t in train), tokenize=mt_tokenize, detokenize=mt_detokenize)
    data = Seq2SeqData(train, src, tgt)
    config = Seq2SeqConfig(len(src), len(tgt), max_src_len=32, max_tgt_len=40, d_model=128, n_heads=4,
                           n_encoder_layers=2, n_decoder_layers=2, dropout=0.0)
    _ = torch.manual_seed(0)
    model = EncoderDecoder(config)
    history = train_model(model, data.batcher(batch_size=64, seed=0), steps=SCRATCH_STEPS, lr=1e-3,
                          warmup_steps=50, loss_fn=seq2seq_loss(tgt.pad_id), progress=False)
    return history.seconds[-1]


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, nargs="+", default=[200, 300, 400, 500, 600, 700, 800],
                   help="fine-tuning step counts tried in order, until one takes longer than from scratch")
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    train, val, test = ui_splits(with_test=True)
    lr = json.loads(SWEEP.read_text())["chosen"]["lr"]          # mt_finetune.py's choice, on validation
    budget = scratch_seconds(train)
    print(f"from scratch: {SCRATCH_STEPS} steps in {budget:.1f} s", flush=True)

    def tuned(steps):
        model, tok, end_id, _, history = tune(train, lr, steps)
        return (model, tok, end_id), history.seconds[-1]

    def val_bleu(t):
        model, tok, end_id = t
        return round(greedy_bleu(model, tok, val, end_id), 2)

    runs, (run, (model, tok, end_id)) = best_run_within(args.steps, budget, tuned, val_bleu, "val_bleu")
    start = time.perf_counter()
    sources, references = [s for s, _ in test], [t for _, t in test]
    outputs = greedy_outputs(model, tok, sources, end_id)
    result = {
        "lr": lr, "scratch_steps": SCRATCH_STEPS, "scratch_seconds": round(budget, 1), "runs": runs,
        "chosen": {"steps": run["steps"], "train_seconds": run["train_seconds"], "val_bleu": run["val_bleu"]},
        "test": {"bleu": round(bleu(outputs, references), 2), "sentences": len(test),
                 "decode_seconds": round(time.perf_counter() - start, 1), "sources": sources, "outputs": outputs},
        **environment(), "command": "python benchmarks/mt_equal_time.py",
    }
    print(f"kept {run['steps']} steps (validation BLEU {run['val_bleu']}); test BLEU {result['test']['bleu']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
