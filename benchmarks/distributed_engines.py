"""Beyond DDP on this machine (2 processes, gloo on CPU) — the figures notebook 11 section 9 quotes.

    python benchmarks/distributed_engines.py                         # every part (≈ 3 min on 2 idle cores)
    python benchmarks/distributed_engines.py --parts engines two_node   # some parts; the others are kept

Parts (each adds its key to benchmarks/results/distributed_engines.json):
  engines   the course trainer (`course_utils.distributed_training`, tiny GPT, 60 steps, global batch 32 × 64)
            as 1 process (2 micro-batches), DDP, FSDP2 (`--fsdp`) and FSDP2 + activation checkpointing, each
            with `--memory-report`: per-rank bytes of parameters, gradients and AdamW state counted from the
            tensors (FSDP: the local shards), the max |loss − loss of 1 process| over all steps, tokens/s, MFU.
  two_node  the same run as two `torchrun --nnodes 2 --nproc_per_node 1` invocations (node ranks 0 and 1)
            meeting at a c10d rendezvous on localhost — the multi-node command, run once.
  ac        activation checkpointing in one process, small GPT, batch 32 × 64: bytes autograd keeps for
            backward (saved_tensors_hooks) and forward+backward time, with and without.
  sweep     learning rate vs global batch: 3 batch sizes × 4 peak learning rates, tiny GPT, the trainer's
            recipe (AdamW, warm-up + cosine, clip 1.0) and its per-rank sampler in one process, twice: the same
            number of steps for every batch, and the same token budget; held-out loss and the best lr per batch.
  accelerate  the same kind of run written with Hugging Face Accelerate (installed with the course), 1 and 2
            processes under torchrun: the "where to go next" example, run.
  mfu       the float32 matmul peak of this machine (1 and 2 threads), used by `engines` for MFU.
Run the parts one at a time on a shared machine (each ≤ 1.5 min). Records torch version, threads, load average
and date.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results" / "distributed_engines.json"
TORCHRUN = Path(sys.executable).parent / "torchrun"
PARTS = ("mfu", "engines", "two_node", "ac", "sweep", "accelerate")
ACCELERATE_SCRIPT = """import torch
from accelerate import Accelerator
from course_utils.data import char_corpus
from course_utils.distributed_training import RankWindowSampler
from course_utils.training import lm_loss
from course_utils.transformer import GPT, GPTConfig

accelerator = Accelerator(cpu=True)                       # under torchrun: a gloo process group
rank, world = accelerator.process_index, accelerator.num_processes
tokenizer, train_ids, _ = char_corpus()
torch.manual_seed(0)
model = GPT(GPTConfig(tokenizer.vocab_size, 64, 64, 4, 2))
optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
model, optimizer = accelerator.prepare(model, optimizer)  # wraps the model in DDP
sampler = RankWindowSampler(len(train_ids), 64, 32, world_size=world, seed=0)
for step in range(20):
    x, y = sampler.batch(train_ids, step, rank)           # (32 / world, 64)
    loss = lm_loss(model(x), y)
    accelerator.backward(loss)                            # all-reduces the gradients
    optimizer.step()
    optimizer.zero_grad()
mean = accelerator.reduce(loss.detach(), reduction=\"mean\")
accelerator.print(f\"accelerate: {world} processes ({accelerator.distributed_type}), loss after 20 steps {mean.item():.4f}\")
"""
TRAIN = ["-m", "course_utils.distributed_training", "--size", "tiny", "--steps", "60", "--batch-size", "32",
         "--block-size", "64", "--lr", "0.003", "--seed", "0", "--eval-every", "60"]
ENGINES = {  # name → (processes, extra trainer flags)
    "1 process": (1, ["--grad-accum", "2"]),
    "DDP": (2, []),
    "FSDP2": (2, ["--fsdp"]),
    "FSDP2 + activation checkpointing": (2, ["--fsdp", "--activation-checkpointing"]),
}


def context() -> dict:
    return {"torch": torch.__version__, "python": platform.python_version(), "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(), "load_average_1min": round(os.getloadavg()[0], 2),
            "date": time.strftime("%Y-%m-%d %H:%M")}


def read_history(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def tokens_per_second(history: list[dict], tokens_per_step: int) -> float:
    """From the median time between consecutive steps (start-up and the final evaluation do not count)."""
    seconds = [r["seconds"] for r in history]
    return tokens_per_step / statistics.median(b - a for a, b in zip(seconds, seconds[1:]))


def launch(command: list[str], env_threads: int = 1) -> subprocess.CompletedProcess:
    done = subprocess.run(command, cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": str(env_threads)},
                          capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return done


def flops_per_token() -> int:
    from course_utils.distributed_training import SIZES
    from course_utils.flops import training_flops_per_token
    from course_utils.training import count_parameters
    from course_utils.transformer import GPT, GPTConfig

    n_layers, d_model, n_heads = SIZES["tiny"]
    n = count_parameters(GPT(GPTConfig(80, 64, d_model, n_heads, n_layers)))
    return training_flops_per_token(n, n_layers, 64, d_model)


def part_mfu() -> dict:
    from course_utils.flops import matmul_peak_flops

    peak = {str(t): matmul_peak_flops(size=1024, repeats=10, threads=t) for t in (1, 2)}
    print("matmul peak (float32, 1024³):", {t: f"{v / 1e9:.1f} GFLOP/s" for t, v in peak.items()}, flush=True)
    return {"matmul_peak_flops_per_s": {t: round(v) for t, v in peak.items()}, "matrix_size": 1024,
            "repeats": 10, "context": context()}


def part_engines(work: Path, results: dict) -> dict:
    from course_utils.flops import model_flops_utilization

    rows, reference = {}, None
    peak_1 = (results.get("mfu") or part_mfu())["matmul_peak_flops_per_s"]["1"]
    per_token = flops_per_token()
    for name, (nproc, flags) in ENGINES.items():
        tag = name.split()[0].lower() + ("_ac" if "checkpointing" in name else "")
        history, report = work / f"{tag}.jsonl", work / f"{tag}_memory.json"
        launcher = [sys.executable] if nproc == 1 else [str(TORCHRUN), "--standalone", f"--nproc_per_node={nproc}"]
        launch([*launcher, *TRAIN, *flags, "--out", str(work / f"{tag}.pt"), "--history", str(history),
                "--memory-report", str(report)])
        runs = read_history(history)
        losses = [r["loss"] for r in runs]
        reference = reference or losses
        memory = json.loads(report.read_text())["ranks"]
        speed = tokens_per_second(runs, 32 * 64)
        rows[name] = {
            "processes": nproc, "flags": flags,
            "per_rank_bytes": [{k: r[k] for k in ("parameters", "gradients", "optimizer_state")} for r in memory],
            "per_rank_max_rss_bytes": [r["max_rss_bytes"] for r in memory],
            "max_abs_loss_diff_vs_1_process": max(abs(a - b) for a, b in zip(losses, reference)),
            "final_loss": round(losses[-1], 4), "final_val_loss": round(runs[-1]["val_loss"], 4),
            "tokens_per_s": round(speed),
            "mfu_vs_1_thread_peak_per_process": round(model_flops_utilization(speed, per_token, nproc * peak_1), 3),
        }
        r0 = rows[name]["per_rank_bytes"][0]
        print(f"{name:34s} rank 0: params {r0['parameters']:,} B · grads {r0['gradients']:,} B · "
              f"AdamW {r0['optimizer_state']:,} B · max|Δloss| {rows[name]['max_abs_loss_diff_vs_1_process']:.1e} · "
              f"{speed:,.0f} tokens/s · MFU {rows[name]['mfu_vs_1_thread_peak_per_process']:.2f}", flush=True)
    ddp, fsdp = rows["DDP"]["per_rank_bytes"][0], rows["FSDP2"]["per_rank_bytes"][0]
    return {"recipe": " ".join(TRAIN[2:]), "flops_per_token": per_token, "runs": rows,
            "fsdp_over_ddp_per_rank": {k: round(fsdp[k] / ddp[k], 4) for k in ddp}, "context": context()}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def part_two_node(work: Path, results: dict) -> dict:
    port, history = free_port(), work / "two_node.jsonl"
    history.unlink(missing_ok=True)
    commands = [[str(TORCHRUN), "--nnodes=2", "--nproc_per_node=1", f"--node-rank={node}", "--rdzv-backend=c10d",
                 f"--rdzv-endpoint=localhost:{port}", "--rdzv-id=course11", *TRAIN,
                 "--out", str(work / "two_node.pt"), "--history", str(history)] for node in (0, 1)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    start = time.perf_counter()
    nodes = [subprocess.Popen(c, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for c in commands]
    outputs = [node.communicate(timeout=300) for node in nodes]
    seconds = time.perf_counter() - start
    for node, (_, err) in zip(nodes, outputs):
        if node.returncode != 0:
            raise RuntimeError(f"a node failed:\n{err[-3000:]}")
    runs = read_history(history)
    one = results.get("engines", {}).get("runs", {}).get("1 process")
    shown = [c.replace(str(work), "<work>").replace(str(TORCHRUN), "torchrun") for c in map(" ".join, commands)]
    out = {"commands": shown, "rendezvous_port": port, "wall_seconds_both_nodes": round(seconds, 1),
           "world_size_seen": sorted(line for o, _ in outputs for line in o.splitlines() if "finished" in line),
           "final_loss": round(runs[-1]["loss"], 4), "final_val_loss": round(runs[-1]["val_loss"], 4),
           "same_final_loss_as_1_process": one is not None and abs(runs[-1]["loss"] - one["final_loss"]) < 1e-3,
           "context": context()}
    print(f"two nodes: final loss {out['final_loss']} (1 process: {one and one['final_loss']}) · {out['world_size_seen']}")
    return out


def part_ac() -> dict:
    from course_utils.distributed_training import SIZES, enable_activation_checkpointing, saved_for_backward_bytes
    from course_utils.training import lm_loss
    from course_utils.transformer import GPT, GPTConfig

    n_layers, d_model, n_heads = SIZES["small"]
    x = torch.randint(0, 80, (32, 64), generator=torch.Generator().manual_seed(0))  # (B, T)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    out = {}
    for name, recompute in (("plain", False), ("activation checkpointing", True)):
        torch.manual_seed(0)
        model = GPT(GPTConfig(80, 64, d_model, n_heads, n_layers))
        if recompute:
            enable_activation_checkpointing(model)
        saved = saved_for_backward_bytes(model, x, x)
        times = []
        for _ in range(7):
            start = time.perf_counter()
            lm_loss(model(x), x).backward()
            times.append(time.perf_counter() - start)
        out[name] = {"saved_for_backward_bytes": saved, "fwd_bwd_seconds_median": round(statistics.median(times), 4)}
        print(f"{name:26s} saved {saved / 1e6:6.1f} MB · fwd+bwd {out[name]['fwd_bwd_seconds_median'] * 1e3:.0f} ms")
    torch.set_num_threads(threads)
    plain, ckpt = out["plain"], out["activation checkpointing"]
    return {"model": "small", "batch": [32, 64], "threads": 1, "rows": out,
            "memory_saved_fraction": round(1 - ckpt["saved_for_backward_bytes"] / plain["saved_for_backward_bytes"], 3),
            "time_added_fraction": round(ckpt["fwd_bwd_seconds_median"] / plain["fwd_bwd_seconds_median"] - 1, 3),
            "context": context()}


def sweep_grid(batches, lrs, steps_for) -> dict:
    """Held-out loss of the tiny GPT for every (global batch, peak lr), trained `steps_for(batch)` steps with the
    trainer's recipe (AdamW, warm-up + cosine to 10 %, clip 1.0) and its per-rank sampler (one rank)."""
    from course_utils.batching import lm_eval_windows
    from course_utils.data import char_corpus
    from course_utils.distributed_training import SIZES, RankWindowSampler
    from course_utils.training import evaluate, lm_loss, lr_at
    from course_utils.transformer import GPT, GPTConfig

    tokenizer, train_ids, val_ids = char_corpus()
    val = lm_eval_windows(val_ids[:20_000], 64)
    n_layers, d_model, n_heads = SIZES["tiny"]
    grid = {}
    for batch in batches:
        steps = steps_for(batch)
        sampler = RankWindowSampler(len(train_ids), 64, batch, world_size=1, seed=0)
        for lr in lrs:
            torch.manual_seed(0)
            model = GPT(GPTConfig(tokenizer.vocab_size, 64, d_model, n_heads, n_layers))
            optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
            for step in range(steps):
                for group in optimizer.param_groups:
                    group["lr"] = lr_at(step, steps, lr, min(100, steps // 10), 0.1)
                x, y = sampler.batch(train_ids, step, rank=0)              # (batch, 64)
                lm_loss(model(x), y).backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
            grid.setdefault(str(batch), {})[f"{lr:g}"] = round(evaluate(model, val), 4)
            print(f"global batch {batch:4d} · {steps:4d} steps · lr {lr:g}: held-out {grid[str(batch)][f'{lr:g}']:.3f}",
                  flush=True)
    return {"steps": {str(b): steps_for(b) for b in batches}, "held_out_loss": grid,
            "best_lr": {b: float(min(row, key=row.get)) for b, row in grid.items()}}


def part_sweep(batches=(8, 32, 128), lrs=(1e-3, 3e-3, 1e-2, 3e-2), steps=100, tokens=8 * 64 * 400) -> dict:
    """Two regimes: the same number of steps (more ranks → more tokens per step), and the same token budget
    (more ranks → fewer steps)."""
    start = time.perf_counter()
    same_steps = sweep_grid(batches, lrs, lambda b: steps)
    same_tokens = sweep_grid(batches, lrs, lambda b: tokens // (b * 64))
    return {"model": "tiny", "block_size": 64, "lrs": list(lrs), "batches": list(batches),
            "same_steps": same_steps, "same_tokens": {"token_budget": tokens, **same_tokens},
            "seconds": round(time.perf_counter() - start, 1), "context": context()}


def part_accelerate(work: Path) -> dict:
    """The same 20 steps with Hugging Face Accelerate, as 1 process and as 2 (torchrun starts them; Accelerate
    reads the environment and wraps the model in DDP over gloo)."""
    import accelerate

    script = work / "accelerate_demo.py"
    script.write_text(ACCELERATE_SCRIPT)
    env_path = {"PYTHONPATH": str(ROOT)}
    out = {"accelerate": accelerate.__version__, "script": ACCELERATE_SCRIPT}
    for nproc in (1, 2):
        launcher = [sys.executable] if nproc == 1 else [str(TORCHRUN), "--standalone", f"--nproc_per_node={nproc}"]
        done = subprocess.run([*launcher, str(script)], cwd=ROOT, capture_output=True, text=True, timeout=300,
                              env={**os.environ, "OMP_NUM_THREADS": "1", **env_path})
        if done.returncode != 0:
            raise RuntimeError(f"accelerate example failed:\n{done.stderr[-3000:]}")
        line = next(line for line in done.stdout.splitlines() if line.startswith("accelerate:"))
        out[f"{nproc}_process"] = {"printed": line, "final_loss": float(line.rsplit(" ", 1)[1])}
        print(line, flush=True)
    out["context"] = context()
    return out


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    results = json.loads(args.out.read_text()) if args.out.exists() else {}
    results["what"] = ("FSDP2 vs DDP per-rank memory and loss curves, activation checkpointing, a two-node launch, "
                       "lr vs global batch, MFU — course_utils.distributed_training on CPU with gloo")
    with tempfile.TemporaryDirectory(prefix="engines_") as tmp:
        for part in args.parts:
            t0 = time.perf_counter()
            if part == "mfu":
                results["mfu"] = part_mfu()
            elif part == "engines":
                results["engines"] = part_engines(Path(tmp), results)
            elif part == "two_node":
                results["two_node"] = part_two_node(Path(tmp), results)
            elif part == "accelerate":
                results["accelerate"] = part_accelerate(Path(tmp))
            elif part == "ac":
                results["ac"] = part_ac()
            else:
                results["sweep"] = part_sweep()
            results[part]["part_seconds"] = round(time.perf_counter() - t0, 1)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return results


if __name__ == "__main__":
    main()
