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

Beyond DDP (notebook 11, section 9):
    torchrun --nproc_per_node=2 -m course_utils.distributed_training --fsdp --out runs/gpt.pt   # FSDP2
    python -m course_utils.distributed_training --activation-checkpointing --out runs/gpt.pt   # less memory
    torchrun --nproc_per_node=2 -m course_utils.distributed_training --sampler disjoint ...      # no shared windows

`--fsdp` shards every parameter, gradient and AdamW state across the processes
(`torch.distributed.fsdp.fully_shard`, one unit per Transformer block plus the root); each block's full
weights are all-gathered just before it runs and dropped after, gradients are reduce-scattered to their
owners. The arithmetic is that of DDP, so the loss curve is the same; the checkpoint it writes is gathered
into the ordinary one-process format, so FSDP and non-FSDP runs resume each other's checkpoints.
`--activation-checkpointing` keeps only each block's input for backward and recomputes the rest (less
memory, about one more forward pass of time). `--sampler disjoint` cuts the text into non-overlapping
windows and deals each step's windows out to the ranks, so two ranks never get the same window (the default
`random` draws windows independently and may repeat one).
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import time
from pathlib import Path

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP

from course_utils.batching import lm_batch, lm_eval_windows
from course_utils.validation import require_int

SIZES = {  # name → (n_layers, d_model, n_heads)
    "tiny": (2, 64, 4),
    "small": (4, 128, 4),
    "medium": (6, 192, 6),
}
SAMPLERS = ("random", "disjoint")


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
    p.add_argument("--fsdp", action="store_true",
                   help="shard parameters, gradients and optimizer state across processes (FSDP2, fully_shard) "
                        "instead of replicating them (DDP); needs torchrun with ≥ 2 processes")
    p.add_argument("--activation-checkpointing", action="store_true",
                   help="keep only each block's input for backward and recompute the rest: less memory, more time")
    p.add_argument("--sampler", choices=SAMPLERS, default="random",
                   help="random: windows drawn independently per step (may repeat); disjoint: non-overlapping "
                        "windows dealt out to the ranks, never the same window twice in an epoch")
    p.add_argument("--memory-report", type=Path, default=None,
                   help="write every rank's bytes of parameters, gradients and optimizer state (counted from the "
                        "tensors it holds at the end of the first step) to this JSON file (rank 0 writes it)")
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


class RankWindowSampler:
    """Per-rank training windows that never give two ranks the same window.

    The text is cut into `n = (n_tokens - 1) // block_size` non-overlapping windows (window k: inputs
    ids[k·T : (k+1)·T], targets shifted by one). Each epoch is one seeded permutation of 0 … n-1; step s
    takes the next `global_batch` entries of its epoch's permutation (the few left over at an epoch's end
    are skipped, so a step never spans two epochs), and rank r takes the r-th contiguous slice of them.
    Entries of a permutation are distinct, so within a step no two ranks — and no two rows — share a window,
    and within an epoch no window is used twice. The order depends only on (seed, step): a resumed run
    sees the same data, and one process taking all slices sees exactly the global batch of N processes."""

    def __init__(self, n_tokens: int, block_size: int, global_batch: int, world_size: int = 1, seed: int = 0):
        self.block_size = require_int(block_size, "block_size", minimum=1)
        self.global_batch = require_int(global_batch, "global_batch", minimum=1)
        self.world_size = require_int(world_size, "world_size", minimum=1)
        self.seed = require_int(seed, "seed", minimum=0)
        self.n_windows = (require_int(n_tokens, "n_tokens", minimum=1) - 1) // self.block_size
        if self.global_batch % self.world_size:
            raise ValueError(f"global_batch must be divisible by world_size ({self.world_size}), got {self.global_batch}")
        if self.global_batch > self.n_windows:
            raise ValueError(f"global_batch must be ≤ the number of windows ({self.n_windows} of {self.block_size} "
                             f"tokens), got {self.global_batch}")
        self.steps_per_epoch = self.n_windows // self.global_batch

    def windows(self, step: int, rank: int) -> torch.Tensor:
        """Indices of rank `rank`'s windows at optimizer step `step`: (global_batch / world_size,)."""
        step = require_int(step, "step", minimum=0)
        rank = require_int(rank, "rank", minimum=0, maximum=self.world_size - 1)
        epoch, position = divmod(step, self.steps_per_epoch)
        order = torch.randperm(self.n_windows, generator=torch.Generator().manual_seed(self.seed * 1_000_003 + epoch))
        per_rank = self.global_batch // self.world_size
        start = position * self.global_batch + rank * per_rank
        return order[start : start + per_rank]

    def batch(self, ids: torch.Tensor, step: int, rank: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(x, y) of this rank at this step: (global_batch / world_size, block_size) each."""
        if ids.dim() != 1 or (len(ids) - 1) // self.block_size != self.n_windows:
            raise ValueError(f"ids must be the 1-D tensor of {self.n_windows * self.block_size + 1}+ tokens this "
                             f"sampler was built for, got shape {tuple(ids.shape)}")
        starts = self.windows(step, rank) * self.block_size
        offsets = torch.arange(self.block_size)
        return ids[starts[:, None] + offsets], ids[starts[:, None] + offsets + 1]  # (B_rank, T) each


def enable_activation_checkpointing(model: torch.nn.Module) -> torch.nn.Module:
    """Recompute each Transformer block's activations in backward instead of storing them: autograd then
    keeps only every block's input (B, T, C), at the cost of about one extra forward pass. In place; the
    parameter names and the checkpoint format do not change (no wrapper module)."""
    from torch.utils.checkpoint import checkpoint

    blocks = getattr(model, "blocks", None)
    if not isinstance(blocks, torch.nn.ModuleList):
        raise TypeError(f"model must have a `blocks` ModuleList (the course GPT), got {type(model).__name__}")
    for block in blocks:
        block.forward = functools.partial(checkpoint, block.forward, use_reentrant=False)
    return model


def shard_model(model: torch.nn.Module) -> torch.nn.Module:
    """FSDP2: every Transformer block becomes one sharded unit (all-gathered just before it runs, resharded
    after), the root holds the rest (embeddings, final norm, tied head). Needs a started process group; every
    parameter becomes a DTensor of which this rank stores 1/world_size (rows of dim 0)."""
    from torch.distributed.fsdp import fully_shard

    for block in model.blocks:
        fully_shard(block)
    fully_shard(model)
    return model


def local_nbytes(tensors) -> int:
    """Bytes this rank actually stores for `tensors`: a DTensor (FSDP shard) counts only its local shard."""
    total = 0
    for t in tensors:
        local = t.to_local() if hasattr(t, "to_local") else t
        total += local.numel() * local.element_size()
    return total


def training_state_bytes(model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, int]:
    """This rank's bytes of parameters, gradients (those present now) and optimizer state (AdamW's m and v;
    the scalar step counters are left out), counted from the tensors or shards it holds."""
    params = list(model.parameters())
    return {"parameters": local_nbytes(params),
            "gradients": local_nbytes(p.grad for p in params if p.grad is not None),
            "optimizer_state": local_nbytes(v for state in optimizer.state.values() for v in state.values()
                                            if torch.is_tensor(v) and v.dim() > 0)}


def saved_for_backward_bytes(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> int:
    """Bytes autograd keeps between forward and backward for the batch (x, y): every tensor that
    `saved_tensors_hooks` sees (activation checkpointing shrinks it). Then runs the backward pass, so the
    model's gradients are what one training step leaves."""
    from course_utils.training import lm_loss

    total = 0

    def keep(t: torch.Tensor) -> torch.Tensor:
        nonlocal total
        total += t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(keep, lambda t: t):
        loss = lm_loss(model(x), y)
    loss.backward()
    return total


def _optimizer_state_by_index(state: dict, names: list[str]) -> dict:
    """A full optimizer state dict keyed by parameter names (torch.distributed.checkpoint) → keyed by
    position, as `optimizer.state_dict()` of one process writes it."""
    index = {name: i for i, name in enumerate(names)}
    return {"state": {index[k]: v for k, v in state["state"].items()},
            "param_groups": [{**g, "params": [index[k] for k in g["params"]]} for g in state["param_groups"]]}


def _optimizer_state_by_name(state: dict, names: list[str]) -> dict:
    """The inverse of `_optimizer_state_by_index`."""
    return {"state": {names[i]: v for i, v in state["state"].items()},
            "param_groups": [{**g, "params": [names[i] for i in g["params"]]} for g in state["param_groups"]]}


class _Snapshot:
    """A state dict already gathered, passed where `save_checkpoint` expects a model or an optimizer."""

    def __init__(self, state: dict):
        self._state = state

    def state_dict(self) -> dict:
        return self._state


def gathered_state(model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> tuple[_Snapshot, _Snapshot]:
    """Full (unsharded) weights and optimizer state of an FSDP model, in the one-process checkpoint format,
    on rank 0 (the other ranks get empty dicts). A collective: every rank must call it."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_state_dict

    weights, optim = get_state_dict(model, optimizer, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
    names = [name for name, _ in model.named_parameters()]
    if not optim:  # with cpu_offload only rank 0 receives the gathered state; the others get {} and save nothing
        return _Snapshot(weights), _Snapshot({})
    return _Snapshot(weights), _Snapshot(_optimizer_state_by_index(optim, names))


def load_into_sharded(path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> int:
    """Load a one-process-format checkpoint into an FSDP model and its optimizer (each rank keeps its
    shards); return the step."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, set_state_dict

    state = torch.load(path, map_location="cpu", weights_only=True)
    names = [name for name, _ in model.named_parameters()]
    set_state_dict(model, optimizer, model_state_dict=state["model"],
                   optim_state_dict=_optimizer_state_by_name(state["optimizer"], names),
                   options=StateDictOptions(full_state_dict=True))
    return state["step"]


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


def _save(path: Path, model, optimizer, step: int, config: dict, rank: int, fsdp: bool) -> None:
    """Rank 0 writes the checkpoint atomically. Under DDP every rank holds the same weights; under FSDP each
    holds a shard, so all ranks first gather the full state (a collective) into the one-process format."""
    from course_utils.training import save_checkpoint

    if fsdp:
        model, optimizer = gathered_state(model, optimizer)
    if rank == 0:
        path.parent.mkdir(parents=True, exist_ok=True)
        save_checkpoint(path, model, optimizer, step=step, config=config)


def _write_memory_report(path: Path, memory: dict | None, rank: int, world: int, fsdp: bool, recompute: bool) -> None:
    """Gather every rank's training-state bytes (and peak resident memory) to rank 0, which writes them."""
    import resource

    mine = {**(memory or {}), "rank": rank, "max_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}
    ranks = [mine]
    if world > 1:
        ranks = [None] * world
        dist.all_gather_object(ranks, mine)
    if rank == 0:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"world_size": world, "fsdp": fsdp, "activation_checkpointing": recompute,
                                    "ranks": ranks}, indent=2) + "\n")


def train(args: argparse.Namespace) -> dict:
    from course_utils.data import char_corpus
    from course_utils.training import evaluate, load_checkpoint, lr_at
    from course_utils.transformer import GPT, GPTConfig

    fsdp, recompute = getattr(args, "fsdp", False), getattr(args, "activation_checkpointing", False)
    sampler_name, memory_report = getattr(args, "sampler", "random"), getattr(args, "memory_report", None)
    rank, world, device = setup_distributed()
    if args.batch_size % (world * args.grad_accum):
        raise SystemExit(f"error: --batch-size ({args.batch_size}) must be divisible by processes × "
                         f"--grad-accum ({world} × {args.grad_accum})")
    if fsdp and world < 2:
        raise SystemExit("error: --fsdp shards across processes: launch with torchrun --nproc_per_node=2 (or more)")
    torch.manual_seed(args.seed)  # same initial weights on every process
    tokenizer, train_ids, val_ids = char_corpus(args.data)
    n_layers, d_model, n_heads = SIZES[args.size]
    config = GPTConfig(tokenizer.vocab_size, args.block_size, d_model, n_heads, n_layers)
    model = GPT(config).to(device)
    if recompute:
        enable_activation_checkpointing(model)
    if fsdp:
        shard_model(model)  # before the optimizer: it must see the sharded parameters
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr)
    start_step = 0
    if args.resume and args.out.exists():
        start_step = (load_into_sharded(args.out, model, optimizer) if fsdp
                      else load_checkpoint(args.out, model, optimizer)["step"])
        if rank == 0 and args.history and args.history.exists():
            _drop_history_after(args.history, start_step)
    ddp_model = DDP(model) if world > 1 and not fsdp else model
    micro = args.batch_size // (world * args.grad_accum)
    sampler = (RankWindowSampler(len(train_ids), args.block_size, args.batch_size, world, args.seed)
               if sampler_name == "disjoint" else None)
    memory = None
    val = lm_eval_windows(val_ids[:20_000], args.block_size)
    amp_dtype = autocast_dtype(device)                       # None = fp32 (CPU)
    scaler = torch.amp.GradScaler("cuda", enabled=amp_dtype == torch.float16)  # fp16 gradients underflow
    log = open(args.history, "a") if args.history and rank == 0 else None
    history, t0 = [], time.perf_counter()
    last_step = args.stop_after or args.steps
    for step in range(start_step, last_step):
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, args.steps, args.lr, min(100, args.steps // 10), 0.1)
        if sampler is None:
            x, y = global_batch(train_ids, args.block_size, args.batch_size, args.seed, step)  # (B_global, T)
            x, y = (t.view(world, args.grad_accum, micro, -1)[rank].to(device) for t in (x, y))
        else:                                                  # only this rank's windows: (B_global / world, T)
            x, y = (t.view(args.grad_accum, micro, -1).to(device) for t in sampler.batch(train_ids, step, rank))
        loss_sum = 0.0
        for k in range(args.grad_accum):
            sync = k == args.grad_accum - 1  # all-reduce gradients only on the last micro-batch
            if fsdp:                         # FSDP2: reduce-scatter only on the last micro-batch
                model.set_requires_gradient_sync(sync)
            ctx = ddp_model.no_sync() if world > 1 and not fsdp and not sync else torch.enable_grad()
            with ctx, torch.autocast(device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
                logits = ddp_model(x[k])
                loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), y[k].flatten()) / args.grad_accum
            scaler.scale(loss).backward()  # disabled scaler (bf16, fp32): plain loss.backward()
            loss_sum += loss.item()
        scaler.unscale_(optimizer)         # clip the true gradients
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        scaler.step(optimizer)             # disabled scaler: optimizer.step(); fp16: skips a step with inf/nan
        scaler.update()
        if memory_report and memory is None:  # gradients, weights and AdamW state all exist now
            memory = training_state_bytes(model, optimizer)
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
            _save(args.out, model, optimizer, step + 1, {**config.to_dict(), "world_size": world}, rank, fsdp)
    _save(args.out, model, optimizer, last_step, {**config.to_dict(), "world_size": world}, rank, fsdp)
    if memory_report:
        _write_memory_report(memory_report, memory, rank, world, fsdp, recompute)
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
