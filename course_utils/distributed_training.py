"""The distributed trainer: train the course GPT from the command line — one process, or many under
`torchrun` (DistributedDataParallel). The training loop used inside notebooks is `course_utils.training`.

    python -m course_utils.distributed_training --size small --steps 200 --out runs/gpt.pt
    torchrun --nproc_per_node=2 -m course_utils.distributed_training --size small --steps 200 --out runs/gpt.pt
    python -m course_utils.distributed_training --steps 200 --stop-after 100 --out runs/gpt.pt   # stop half-way …
    python -m course_utils.distributed_training --steps 200 --resume --out runs/gpt.pt           # … and continue exactly
    python -m course_utils.distributed_training --steps 200 --save-every 20 --out runs/gpt.pt    # survives `kill -9`:
    python -m course_utils.distributed_training --steps 200 --save-every 20 --resume --out runs/gpt.pt  # redo ≤ 19 steps

Checkpoints are written atomically (temporary file, then rename), so a process killed at any moment —
even in the middle of writing one — leaves the last complete checkpoint behind. Resuming from it gives
exactly the weights of an uninterrupted run: the batches depend only on (seed, step), the checkpoint holds
weights, AdamW state and step, and the course GPT trains without dropout (no random state to restore).

Data parallelism: every process holds a full copy of the model and gets its own slice of each global
batch; after backward, DistributedDataParallel averages the gradients across processes (all-reduce), so
every copy takes the same optimizer step. With the same global batch, N processes follow the same loss
curve as one process — they just share the work. gloo is used on CPU, nccl on GPU; with fewer GPUs on
the machine than processes (two ranks on a one-GPU Colab) every rank runs on the CPU with gloo instead,
and says so in one line. Precision follows the hardware (`autocast_dtype`): bf16 autocast on a GPU that
has bf16 (compute capability ≥ 8.0), fp16 autocast with a GradScaler on older GPUs (a T4), fp32 on the
CPU. `--grad-accum` splits each per-process batch into micro-batches.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP

from course_utils.batching import lm_batch, lm_eval_windows

SIZES = {  # name → (n_layers, d_model, n_heads)
    "tiny": (2, 64, 4),
    "small": (4, 128, 4),
    "medium": (6, 192, 6),
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m course_utils.distributed_training", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", default="small", help=f"model size: one of {sorted(SIZES)}")
    p.add_argument("--data", default="shakespeare", help="dataset name from data/manifest.json")
    p.add_argument("--steps", type=int, default=200, help="total optimizer steps (including resumed ones)")
    p.add_argument("--stop-after", type=int, default=None,
                   help="stop and checkpoint after this step, as a preempted job would; the learning-rate "
                        "schedule still follows --steps, so a --resume run continues it exactly")
    p.add_argument("--batch-size", type=int, default=32, help="GLOBAL batch (sequences per step, all processes)")
    p.add_argument("--block-size", type=int, default=64, help="context length in characters")
    p.add_argument("--grad-accum", type=int, default=1, help="micro-batches per process per step")
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--eval-every", type=int, default=50)
    p.add_argument("--save-every", type=int, default=None,
                   help="also checkpoint every N steps (atomically), so a killed run loses at most N-1 steps")
    p.add_argument("--out", type=Path, default=Path("runs/gpt.pt"),
                   help="checkpoint path (written at the end, and every --save-every steps)")
    p.add_argument("--resume", action="store_true", help="continue from --out if it exists")
    p.add_argument("--history", type=Path, default=None, help="append one JSON line per step to this file (rank 0)")
    args = p.parse_args(argv)
    if args.size not in SIZES:
        p.error(f"--size must be one of {sorted(SIZES)}, got {args.size!r}")
    for name in ("steps", "batch_size", "block_size", "grad_accum", "eval_every"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be a positive integer, got {getattr(args, name)}")
    if args.lr <= 0:
        p.error(f"--lr must be > 0, got {args.lr}")
    if args.save_every is not None and args.save_every < 1:
        p.error(f"--save-every must be a positive integer, got {args.save_every}")
    if args.stop_after is not None and not 1 <= args.stop_after <= args.steps:
        p.error(f"--stop-after must be between 1 and --steps ({args.steps}), got {args.stop_after}")
    from course_utils import data

    try:
        data.dataset(args.data)
    except KeyError as err:
        p.error(str(err).strip('"'))
    return args


def pick_device(local_rank: int, local_world: int) -> torch.device:
    """cuda:local_rank when this machine has a GPU for every local process, else the CPU — never
    cuda:1 on a one-GPU machine. Every rank sees the same counts, so all ranks choose alike."""
    n_gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if n_gpus == 0:
        return torch.device("cpu")
    if n_gpus < local_world:
        if local_rank == 0:
            print(f"{local_world} processes but {n_gpus} GPU(s) on this machine: every process runs on the CPU "
                  f"with gloo", flush=True)
        return torch.device("cpu")
    return torch.device("cuda", local_rank)


def autocast_dtype(device: torch.device) -> torch.dtype | None:
    """The mixed-precision dtype the hardware supports: bf16 on a GPU with native bf16 (compute
    capability ≥ 8.0), fp16 (to be used with a GradScaler) on older GPUs such as Colab's T4, and None —
    plain fp32 — on the CPU and MPS (the course uses no bf16 on the CPU)."""
    if device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.get_device_capability(device) >= (8, 0) else torch.float16


def setup_distributed() -> tuple[int, int, torch.device]:
    """(rank, world_size, device); starts a process group when launched by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = pick_device(local_rank, int(os.environ.get("LOCAL_WORLD_SIZE", str(world))))
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if world > 1:
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return rank, world, device


def global_batch(ids: torch.Tensor, block: int, batch: int, seed: int, step: int):
    """The (batch, block) windows of optimizer step `step`, the same on every process (each then takes
    its slice). They depend only on (seed, step), so a resumed run draws exactly the batches an
    uninterrupted run would — no random-generator state has to be saved in the checkpoint."""
    return lm_batch(ids, block, batch, torch.Generator().manual_seed(seed * 1_000_003 + step))


def _drop_history_after(path: Path, step: int) -> None:
    """A killed run logged steps after its last checkpoint (perhaps half a line, if killed mid-write):
    those steps are about to be redone, so keep only the complete records up to `step`."""
    kept = []
    for line in path.read_text().splitlines(keepends=True):
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if line.endswith("\n") and record["step"] <= step:
            kept.append(line)
    path.write_text("".join(kept))


def train(args: argparse.Namespace) -> dict:
    from course_utils.data import char_corpus
    from course_utils.training import evaluate, load_checkpoint, lr_at, save_checkpoint
    from course_utils.transformer import GPT, GPTConfig

    rank, world, device = setup_distributed()
    if args.batch_size % (world * args.grad_accum):
        raise SystemExit(f"error: --batch-size ({args.batch_size}) must be divisible by processes × "
                         f"--grad-accum ({world} × {args.grad_accum})")
    torch.manual_seed(args.seed)  # same initial weights on every process
    tokenizer, train_ids, val_ids = char_corpus(args.data)
    n_layers, d_model, n_heads = SIZES[args.size]
    config = GPTConfig(tokenizer.vocab_size, args.block_size, d_model, n_heads, n_layers)
    model = GPT(config).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr)
    start_step = 0
    if args.resume and args.out.exists():
        start_step = load_checkpoint(args.out, model, optimizer)["step"]
        if rank == 0 and args.history and args.history.exists():
            _drop_history_after(args.history, start_step)
    ddp_model = DDP(model) if world > 1 else model
    micro = args.batch_size // (world * args.grad_accum)
    val = lm_eval_windows(val_ids[:20_000], args.block_size)
    amp_dtype = autocast_dtype(device)                       # None = fp32 (CPU)
    scaler = torch.amp.GradScaler("cuda", enabled=amp_dtype == torch.float16)  # fp16 gradients underflow
    log = open(args.history, "a") if args.history and rank == 0 else None
    history, t0 = [], time.perf_counter()
    last_step = args.stop_after or args.steps
    for step in range(start_step, last_step):
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, args.steps, args.lr, min(100, args.steps // 10), 0.1)
        x, y = global_batch(train_ids, args.block_size, args.batch_size, args.seed, step)  # (B_global, T)
        x, y = (t.view(world, args.grad_accum, micro, -1)[rank].to(device) for t in (x, y))
        loss_sum = 0.0
        for k in range(args.grad_accum):
            sync = k == args.grad_accum - 1  # all-reduce gradients only on the last micro-batch
            ctx = ddp_model.no_sync() if world > 1 and not sync else torch.enable_grad()
            with ctx, torch.autocast(device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
                logits = ddp_model(x[k])
                loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), y[k].flatten()) / args.grad_accum
            scaler.scale(loss).backward()  # disabled scaler (bf16, fp32): plain loss.backward()
            loss_sum += loss.item()
        scaler.unscale_(optimizer)         # clip the true gradients
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        scaler.step(optimizer)             # disabled scaler: optimizer.step(); fp16: skips a step with inf/nan
        scaler.update()
        optimizer.zero_grad(set_to_none=True)
        if world > 1:  # report the global mean loss, not just this process's slice
            t = torch.tensor([loss_sum], device=device)
            dist.all_reduce(t)
            loss_sum = t.item() / world
        record = {"step": step + 1, "loss": loss_sum, "seconds": time.perf_counter() - t0}
        if (step + 1) % args.eval_every == 0 or step + 1 == last_step:
            record["val_loss"] = evaluate(model, val)
        history.append(record)
        if log:
            log.write(json.dumps(record) + "\n")
            log.flush()
        if rank == 0 and "val_loss" in record:
            print(f"step {step + 1:5d}  loss {loss_sum:.4f}  val {record['val_loss']:.4f}  "
                  f"{record['seconds']:.1f}s", flush=True)
        if args.save_every and (step + 1) % args.save_every == 0 and step + 1 < last_step:
            if rank == 0:  # every rank holds the same weights: one writes, atomically
                args.out.parent.mkdir(parents=True, exist_ok=True)
                save_checkpoint(args.out, model, optimizer, step=step + 1,
                                config={**config.to_dict(), "world_size": world})
    if rank == 0:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        save_checkpoint(args.out, model, optimizer, step=last_step,
                        config={**config.to_dict(), "world_size": world})
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()
    if log:
        log.close()
    print(f"rank {rank}/{world} finished at step {last_step}", flush=True)
    return {"rank": rank, "world_size": world, "history": history, "last_step": last_step}


def main(argv: list[str] | None = None) -> int:
    from course_utils.data import DataIntegrityError

    args = parse_args(argv)
    if args.resume and args.out.exists():
        from course_utils.training import checkpoint_step

        if checkpoint_step(args.out) >= (args.stop_after or args.steps):
            print(f"error: {args.out} is already at step {checkpoint_step(args.out)}; ask for more --steps",
                  file=sys.stderr)
            return 2
    try:
        result = train(args)
    except DataIntegrityError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    if result["rank"] == 0:
        print(f"done: {result['last_step']} of {args.steps} steps on {result['world_size']} process(es); "
              f"checkpoint {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
