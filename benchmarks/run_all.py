"""The course benchmark suite — one command measures every figure the README quotes.

    ./course.sh python benchmarks/run_all.py                 # everything (≈ 45 min on 2 idle cores; rnn_lm alone ≈ 19)
    ./course.sh python benchmarks/run_all.py --only notebooks mha
    ./course.sh python benchmarks/run_all.py --only notebooks --notebooks 06 09   # re-time two notebooks
    ./course.sh python benchmarks/run_all.py --report-only   # rebuild results.json, the plot and the README table

Parts (each writes benchmarks/results/<part>.json):
  notebooks  every notebook executed under nbval, timed one by one (as a learner runs them)
  bpe        BPE training/encoding speed                       (benchmarks/bpe_speed.py)
  mha        MultiHeadAttention vs torch.nn.MultiheadAttention (benchmarks/mha_speed.py)
  char_gpt   char-GPT held-out loss per training second        (benchmarks/char_gpt.py)
  char_gpt_bpe  the same on byte-level BPE tokens, modern block  (benchmarks/char_gpt.py --recipe bpe)
  char_gpt_bpe_short  the BPE recipe for 330 steps, 05's LSTM's training time
                                                                  (benchmarks/char_gpt.py --recipe bpe-short)
  char_gpt_vocab  the BPE recipe's vocabulary (512 / 1,024 / 2,048), chosen on a validation slice (≈ 5 min)
                                                                  (benchmarks/char_gpt_vocab.py)
  char_gpt_ablation  characters vs BPE × classic vs modern block, 1,000 steps each (≈ 7 min)
                                                                  (benchmarks/char_gpt_ablation.py)
  gpt05_recipe  05's winning GPT: one change at a time on a validation slice, 30 s each (≈ 6 min)
                                                                  (benchmarks/gpt05_recipe.py)
  compile_speed  torch.compile vs eager for 05's winning GPT: compile time, steps/s, break-even (≈ 1 min)
                                                                  (benchmarks/compile_speed.py)
  ddp        DDP 1 vs 2 processes throughput                   (benchmarks/ddp_throughput.py)
  rnn_lm     LSTM vs Kneser–Ney 6-gram, long run               (benchmarks/rnn_lm.py)
  base_model the shipped base model on every held-out split    (benchmarks/base_model.py; scoring only —
             retraining it is `python -m course_utils.pretrain`, ≈ 16 min)
  gpt_optimizer       05's AdamW learning rate on validation; Muon beside it   (benchmarks/gpt_optimizer.py)
  mt_finetune         06's fine-tuning recipe, chosen on validation BLEU       (benchmarks/mt_finetune.py)
  mt_equal_time       06's fine-tune at the from-scratch network's training time; test scored once
                                                                              (benchmarks/mt_equal_time.py)
  summarize_finetune  07's fine-tuning recipe, chosen on validation ROUGE-1    (benchmarks/summarize_finetune.py)
  summarize_equal_time  07's fine-tune at the from-scratch network's training time; test scored once
                                                                              (benchmarks/summarize_equal_time.py)
  sentiment_finetune  08's fine-tuning recipe, chosen on validation accuracy   (benchmarks/sentiment_finetune.py)
  kv_cache            tokens/s with and without the KV cache; cache bytes/token (benchmarks/kv_cache_speed.py)
  modern_block        RMSNorm / SwiGLU / RoPE / GQA ablation at equal time       (benchmarks/modern_block_ablation.py)
  post_training       12's SFT / LoRA / DPO recipes chosen on validation (≈ 40 min on 1 thread) (benchmarks/post_training.py)
  minilm_rungs        all-MiniLM-L6-v2 rungs of 07, 08, 09 on their own splits  (benchmarks/minilm_rungs.py)
  distributed_engines 11's FSDP2 vs DDP memory, activation checkpointing, two-node launch, lr vs batch, MFU
                      (≈ 2.5 min)                                               (benchmarks/distributed_engines.py)
Then `report` collects them into results.json, results.png and the README's results table.
Run on an otherwise idle machine: the figures are wall-clock times.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
SCRIPTS = {"bpe": "bpe_speed.py", "mha": "mha_speed.py", "char_gpt": "char_gpt.py",
           "char_gpt_bpe": "char_gpt.py --recipe bpe", "char_gpt_bpe_short": "char_gpt.py --recipe bpe-short",
           "char_gpt_vocab": "char_gpt_vocab.py", "char_gpt_ablation": "char_gpt_ablation.py",
           "gpt05_recipe": "gpt05_recipe.py", "compile_speed": "compile_speed.py",
           "ddp": "ddp_throughput.py",
           "rnn_lm": "rnn_lm.py", "base_model": "base_model.py", "gpt_optimizer": "gpt_optimizer.py",
           "mt_finetune": "mt_finetune.py", "mt_equal_time": "mt_equal_time.py",
           "summarize_finetune": "summarize_finetune.py",
           "summarize_equal_time": "summarize_equal_time.py",
           "sentiment_finetune": "sentiment_finetune.py", "kv_cache": "kv_cache_speed.py",
           "modern_block": "modern_block_ablation.py", "post_training": "post_training.py",
           "minilm_rungs": "minilm_rungs.py", "distributed_engines": "distributed_engines.py"}
PARTS = ["notebooks", *SCRIPTS]


def cpu_model() -> str:
    """The CPU's model name (timings differ by ≈ 1.5× between the 2-core machines this course was timed on)."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def machine() -> dict:
    import torch

    return {"python": platform.python_version(), "torch": torch.__version__, "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(), "processor": platform.processor() or platform.machine(),
            "cpu_model": cpu_model(), "load_average_1min_at_start": round(os.getloadavg()[0], 2),
            "date": time.strftime("%Y-%m-%d")}


def slowest_cells(pytest_output: str) -> list[dict]:
    """The cells pytest's `--durations` report lists, as [{"cell": code-cell index, "seconds": s}, …] (nbval
    names a notebook's items "Cell N", N counting code cells from 0): where a notebook's time goes."""
    found = re.findall(r"^([0-9.]+)s call\s+\S+::Cell (\d+)$", pytest_output, flags=re.MULTILINE)
    return [{"cell": int(cell), "seconds": round(float(seconds), 1)} for seconds, cell in found]


def time_notebooks(only: list[str] | None = None) -> dict:
    """Run each notebook under nbval, one at a time (as a learner runs them); record wall-clock seconds and
    pass/fail. `only` (e.g. ["06", "09"]) re-times those notebooks and keeps the others' recorded times.

    Before each notebook the machine's speed is measured (`course_utils.speed.reference_step_rate`: notebook 05's
    GPT, training steps per second on one core), so each time is also recorded as a cost in reference steps that does not
    depend on how fast (or how busy) the machine was — the course's 2-core machines differ by more than 2×."""
    from course_utils.speed import BUDGET_SECONDS, reference_step_rate, reference_steps

    path, info = RESULTS / "notebooks.json", machine()   # the load average before the first notebook
    times = json.loads(path.read_text())["notebooks"] if only and path.exists() else {}
    for nb in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        if only and nb.name[:2] not in only:
            continue
        rate = reference_step_rate()            # this machine's speed just before: makes the time a machine-free cost
        start = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "pytest", "-q", "--durations=3", "--durations-min=1",
                                 f"notebooks/{nb.name}"], cwd=ROOT, capture_output=True, text=True,
                                env={**os.environ, "PYTHONHASHSEED": "0"})
        seconds = round(time.perf_counter() - start, 1)
        times[nb.name] = {"seconds": seconds, "passed": result.returncode == 0,
                          "slowest_cells": slowest_cells(result.stdout), "reference_steps_per_s": round(rate, 2),
                          "reference_steps": round(reference_steps(seconds, rate))}
        print(f"{nb.name:45s} {seconds:7.1f} s  {'ok' if result.returncode == 0 else 'FAILED'}  "
              f"({rate:.1f} reference steps/s → {times[nb.name]['reference_steps']:,} reference steps)", flush=True)
    times = dict(sorted(times.items()))
    total = round(sum(t["seconds"] for t in times.values()), 1)
    cost = sum(t.get("reference_steps", 0) for t in times.values())
    budget = BUDGET_SECONDS["course"]
    print(f"{'whole course':45s} {total:7.1f} s  (budget {budget:.0f} s) · {cost:,} reference steps: within {budget:.0f} s "
          f"on a machine that runs ≥ {cost / budget:.1f} reference steps/s")
    out = {"machine": info, "notebooks": times, "total_seconds": total, "budget_seconds": budget,
           "total_reference_steps": cost, "reference_steps_per_s_for_budget": round(cost / budget, 1)}
    (RESULTS / "notebooks.json").write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    return out


def run_script(part: str) -> None:
    print(f"\n=== {part}: benchmarks/{SCRIPTS[part]} ===", flush=True)
    script, *args = SCRIPTS[part].split()
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args], cwd=ROOT, check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", choices=PARTS, default=PARTS)
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--notebooks", nargs="+", metavar="NN", default=None,
                        help="with the notebooks part: re-time only these (e.g. 06 09), keep the others' times")
    args = parser.parse_args(argv)
    RESULTS.mkdir(exist_ok=True)
    if not args.report_only:
        for part in args.only:
            time_notebooks(args.notebooks) if part == "notebooks" else run_script(part)
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import report

    report.main()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
