"""Data-parallel throughput on this machine: tokens/s of 1 process vs 2 processes (DDP, gloo), same
global batch, same model, same steps — the number notebook 11 explains.

    python benchmarks/ddp_throughput.py                      # tiny GPT, 3 rounds (≈ 1 min on 2 idle cores)
    python benchmarks/ddp_throughput.py --size small --steps 40 --rounds 5

Three layouts of the same work, each run with `course_utils.distributed_training` in a fresh process:
  1 process × 1 thread   — the baseline the usual "N× faster with N processes" claim compares against;
  1 process × 2 threads  — what you get on 2 cores without DDP (torch's own intra-op threads);
  2 processes × 1 thread — DDP: each process computes half of every batch, gradients are all-reduced.
On a 2-core machine the two DDP processes share the same two cores the threaded single process already
uses, so DDP can only win against the 1-thread baseline. Speed is measured from each run's own history
(seconds at every step, written by rank 0), skipping the first `--skip` steps (warm-up), so start-up
(importing torch, loading data, the process-group rendezvous) is not counted. Rounds interleave the
layouts so a busy neighbour slows all of them alike; the median over rounds is reported.
Writes benchmarks/results/ddp_throughput.json.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "ddp_throughput.json"
TORCHRUN = Path(sys.executable).parent / "torchrun"
LAYOUTS = {  # name → (processes, threads per process)
    "1 process × 1 thread": (1, 1),
    "1 process × 2 threads": (1, 2),
    "2 processes × 1 thread (DDP)": (2, 1),
}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", default="tiny", help="model size of course_utils.distributed_training: tiny, small, medium")
    p.add_argument("--steps", type=int, default=60, help="optimizer steps per run")
    p.add_argument("--skip", type=int, default=10, help="warm-up steps not timed")
    p.add_argument("--batch-size", type=int, default=32, help="GLOBAL batch, the same for every layout")
    p.add_argument("--block-size", type=int, default=64)
    p.add_argument("--rounds", type=int, default=3, help="repeats of every layout (median reported)")
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    if not 0 <= args.skip < args.steps - 1:
        p.error(f"--skip must be in [0, --steps - 1), got {args.skip} with --steps {args.steps}")
    return args


def tokens_per_second(history: list[dict], skip: int, tokens_per_step: int) -> float:
    """Training speed from a run's per-step history, from step `skip` to the last step."""
    start, end = history[skip - 1] if skip else {"step": 0, "seconds": 0.0}, history[-1]
    return (end["step"] - start["step"]) * tokens_per_step / (end["seconds"] - start["seconds"])


def run_layout(processes: int, threads: int, args: argparse.Namespace, workdir: Path) -> float:
    """Train once with this layout in a fresh process group; return tokens/s."""
    history = workdir / f"history_{processes}x{threads}.jsonl"
    history.unlink(missing_ok=True)
    launcher = ([str(TORCHRUN), "--standalone", f"--nproc_per_node={processes}"] if processes > 1
                else [sys.executable])  # --standalone: a free port, so parallel runs do not collide
    command = [*launcher, "-m", "course_utils.distributed_training", "--size", args.size, "--steps", str(args.steps),
               "--batch-size", str(args.batch_size), "--block-size", str(args.block_size),
               "--eval-every", str(args.steps), "--out", str(workdir / "ckpt.pt"), "--history", str(history)]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    rows = [json.loads(line) for line in history.read_text().splitlines()]
    return tokens_per_second(rows, args.skip, args.batch_size * args.block_size)


def main(argv=None) -> dict:
    args = parse_args(argv)
    speeds: dict[str, list[float]] = {name: [] for name in LAYOUTS}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for name, (processes, threads) in LAYOUTS.items():
                speeds[name].append(run_layout(processes, threads, args, Path(tmp)))
                print(f"round {r + 1}: {name:30s} {speeds[name][-1]:9,.0f} tokens/s", flush=True)
    median = {name: statistics.median(values) for name, values in speeds.items()}
    one, threaded, ddp = (median[name] for name in LAYOUTS)  # the order of LAYOUTS
    result = {
        "what": "tokens/s of course_utils.distributed_training, same global batch and model; DDP with gloo on CPU",
        "recipe": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "out"},
        "tokens_per_step": args.batch_size * args.block_size,
        "tokens_per_s_median": {k: round(v) for k, v in median.items()},
        "tokens_per_s_all_rounds": {k: [round(v) for v in values] for k, values in speeds.items()},
        "ratio_ddp2_to_1proc_1thread": round(ddp / one, 3),
        "ratio_ddp2_to_1proc_2threads": round(ddp / threaded, 3),
        "load_average_1min_at_end": round(os.getloadavg()[0], 2),
        "machine": {"cpu_count": os.cpu_count(), "torch": torch.__version__, "python": platform.python_version(),
                    "processor": platform.machine()},
    }
    print(f"DDP (2 processes) / 1 process × 1 thread : {result['ratio_ddp2_to_1proc_1thread']:.2f}×")
    print(f"DDP (2 processes) / 1 process × 2 threads: {result['ratio_ddp2_to_1proc_2threads']:.2f}×")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return result


if __name__ == "__main__":
    main()
