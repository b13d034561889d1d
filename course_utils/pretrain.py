"""Pretrain the course base model: a GPT with byte-level BPE tokens on the course's pretraining corpus.

    python -m course_utils.pretrain --out runs/base --precision bf16  # the shipped recipe (≈ 30 min, 2 cores)
    python -m course_utils.pretrain --out runs/base                 # after a kill: resumes where it stopped
    python -m course_utils.pretrain --out runs/big --device cuda --layers 8 --d-model 384 --heads 6

What it does, in order:
1. reads data/cache/pretrain_corpus.txt (course_utils.pretrain_corpus; checksum verified) and holds out its
   last `--val-fraction` of tokens as a *validation slice* for tuning — never the Shakespeare held-out split;
2. trains the course's byte-level `BPETokenizer` on the training part (or reloads it when resuming);
3. trains `GPT` with Muon (hidden matrices) + AdamW (the rest), warmup + cosine learning rate, for a fixed
   number of steps. Batch `k` depends only on (seed, k), so a resumed run draws exactly the batches an
   uninterrupted one would;
4. every `--checkpoint-every` steps writes `state.pt` atomically (temp file + os.replace: a kill never
   leaves half a file), holding weights, optimizer state, step and the curve so far;
5. at the end writes `model.safetensors`, `model.json` (config + recipe), `tokenizer.json`, `curve.json`.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import torch

STATE = "state.pt"          # resumable training state (weights + optimizer + step + curve)
TOKENIZER = "tokenizer.json"
WEIGHTS = "model.safetensors"
CONFIG = "model.json"
CURVE = "curve.json"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m course_utils.pretrain", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=Path("runs/base"), help="run folder (resumes if it holds state.pt)")
    p.add_argument("--corpus", type=Path, default=None,
                   help="a UTF-8 text file; default: the checksummed data/cache/pretrain_corpus.txt")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda", "mps"])
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's choice)")
    p.add_argument("--precision", default="auto", choices=["auto", "bf16", "fp32"],
                   help="bf16: matmuls in bfloat16 under autocast, weights and optimizer in float32 "
                        "(2.5× faster on a CPU with AVX-512 BF16; the shipped model was trained so); fp32: "
                        "everything in float32; auto (default): bf16 on a CUDA GPU with native bf16 "
                        "(compute capability ≥ 8.0), fp32 on the CPU, MPS and older GPUs")
    p.add_argument("--vocab-size", type=int, default=2048)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--d-model", type=int, default=192)
    p.add_argument("--heads", type=int, default=6)
    p.add_argument("--block-size", type=int, default=128, help="context length in tokens")
    p.add_argument("--batch-size", type=int, default=32, help="sequences per step")
    p.add_argument("--steps", type=int, default=3000, help="total optimizer steps (the schedule's length)")
    p.add_argument("--stop-after", type=int, default=None, help="checkpoint and stop after this step (tests)")
    p.add_argument("--lr", type=float, default=1e-2)
    p.add_argument("--optimizer", default="muon", choices=["muon", "adamw"])
    p.add_argument("--weight-decay", type=float, default=0.1)
    p.add_argument("--warmup", type=int, default=100, help="linear warmup steps")
    p.add_argument("--min-lr-ratio", type=float, default=0.1, help="final lr as a share of --lr (cosine decay)")
    p.add_argument("--val-fraction", type=float, default=0.03, help="tail of the corpus held out for tuning")
    p.add_argument("--val-windows", type=int, default=64, help="validation windows scored at each eval")
    p.add_argument("--eval-every", type=int, default=100)
    p.add_argument("--checkpoint-every", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    for name in ("vocab_size", "layers", "d_model", "heads", "block_size", "batch_size", "steps", "eval_every",
                 "checkpoint_every", "val_windows"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be a positive integer, got {getattr(args, name)}")
    if args.vocab_size < 256:
        p.error(f"--vocab-size must be ≥ 256 (the byte tokens), got {args.vocab_size}")
    if args.d_model % args.heads:
        p.error(f"--d-model ({args.d_model}) must be divisible by --heads ({args.heads})")
    if not args.lr > 0:
        p.error(f"--lr must be > 0, got {args.lr}")
    if not 0 < args.val_fraction < 1:
        p.error(f"--val-fraction must be in (0, 1), got {args.val_fraction}")
    if args.stop_after is not None and not 1 <= args.stop_after <= args.steps:
        p.error(f"--stop-after must be between 1 and --steps ({args.steps}), got {args.stop_after}")
    if args.device == "cuda" and not torch.cuda.is_available():
        p.error("--device cuda: no CUDA device is available here")
    if args.device == "mps" and not torch.backends.mps.is_available():
        p.error("--device mps: no Apple-silicon GPU is available here")
    if args.precision == "auto":  # the recipe records what actually ran: bf16 or fp32
        native_bf16 = args.device == "cuda" and torch.cuda.get_device_capability() >= (8, 0)
        args.precision = "bf16" if native_bf16 else "fp32"
    return args


# ---------------------------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------------------------
def read_corpus(path: Path | None) -> tuple[str, str]:
    """(text, sha256) of the corpus; the default one is checksum-verified against the manifest."""
    from course_utils.data import path_of, read_utf8, sha256_of

    path = path_of("pretrain_corpus") if path is None else Path(path)
    if not path.exists():
        raise FileNotFoundError(f"--corpus {path} does not exist")
    return read_utf8(path), sha256_of(path)


def split_text(text: str, val_fraction: float) -> tuple[str, str]:
    """(training text, validation slice): the slice is the corpus's tail, cut at a line start."""
    cut = text.rfind("\n", 0, int(len(text) * (1 - val_fraction))) + 1
    return text[:cut], text[cut:]


def get_tokenizer(out: Path, train_text: str, vocab_size: int):
    """The run's BPETokenizer: reloaded from `out` when resuming, else trained on the training text."""
    from course_utils.bpe import BPETokenizer

    path = out / TOKENIZER
    if path.exists():
        tok = BPETokenizer.load(path)
        if tok.vocab_size != vocab_size:
            raise SystemExit(f"error: {path} has vocab_size {tok.vocab_size}, --vocab-size is {vocab_size}")
        return tok
    tok = BPETokenizer.train(train_text, vocab_size)
    tmp = path.with_suffix(".tmp")
    tok.save(tmp)
    os.replace(tmp, path)
    return tok


def batch_at(ids: torch.Tensor, block: int, batch: int, seed: int, step: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The (x, y) windows of optimizer step `step`, both (B, T): a function of (seed, step) only."""
    g = torch.Generator().manual_seed(seed * 1_000_003 + step)
    starts = torch.randint(len(ids) - block, (batch,), generator=g)   # (B,)
    offsets = torch.arange(block)                                      # (T,)
    return ids[starts[:, None] + offsets], ids[starts[:, None] + offsets + 1]


def eval_windows(ids: torch.Tensor, block: int, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Up to `n` non-overlapping windows spread evenly over `ids`: x, y of shape (n, T)."""
    total = (len(ids) - 1) // block
    if total < 1:
        raise ValueError(f"validation slice has {len(ids)} tokens, need more than block_size={block}")
    rows = torch.linspace(0, total - 1, min(n, total)).long() * block  # (n,) window starts
    offsets = torch.arange(block)
    return ids[rows[:, None] + offsets], ids[rows[:, None] + offsets + 1]


# ---------------------------------------------------------------------------------------------------
# state: atomic checkpoints
# ---------------------------------------------------------------------------------------------------
def save_state(path: Path, model, optimizer, step: int, curve: list[dict], running: list[float],
               seconds: float) -> None:
    """Write the training state to a temp file, then rename it over `path` (atomic on POSIX): a kill
    at any moment leaves either the previous state or the new one, never half a file."""
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step,
                "curve": curve, "running": running, "seconds": seconds}, tmp)
    os.replace(tmp, path)


def load_state(path: Path, model, optimizer) -> tuple[int, list[dict], list[float], float]:
    """(step, curve, training losses since the last eval, seconds so far) from a state file;
    weights_only=True: no code runs on load."""
    state = torch.load(path, map_location=next(model.parameters()).device, weights_only=True)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    return int(state["step"]), list(state["curve"]), list(state["running"]), float(state["seconds"])


def hardware(device: str) -> dict:
    """What ran the training: processor, threads, load average, torch version."""
    info = {"device": device, "torch": torch.__version__, "threads": torch.get_num_threads(),
            "cpu_count": os.cpu_count(), "processor": platform.processor() or platform.machine(),
            "load_average": [round(x, 2) for x in os.getloadavg()]}
    if device == "cuda":
        info["gpu"] = torch.cuda.get_device_name()
    return info


# ---------------------------------------------------------------------------------------------------
# training
# ---------------------------------------------------------------------------------------------------
def train(args: argparse.Namespace) -> dict:
    from course_utils.optim import make_optimizer
    from course_utils.training import evaluate, lr_at
    from course_utils.transformer import GPT, GPTConfig

    if args.threads:
        torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    text, corpus_sha = read_corpus(args.corpus)
    train_text, val_text = split_text(text, args.val_fraction)
    tok = get_tokenizer(args.out, train_text, args.vocab_size)
    train_ids = torch.tensor(tok.encode(train_text), dtype=torch.long)   # (N,)
    val_ids = torch.tensor(tok.encode(val_text), dtype=torch.long)       # (M,)
    val = eval_windows(val_ids, args.block_size, args.val_windows)
    torch.manual_seed(args.seed)
    config = GPTConfig(tok.vocab_size, args.block_size, args.d_model, args.heads, args.layers)
    model = GPT(config).to(args.device)
    optimizer = make_optimizer(model, args.lr, args.optimizer, args.weight_decay)
    step, curve, running, seconds = 0, [], [], 0.0
    if (args.out / STATE).exists():
        step, curve, running, seconds = load_state(args.out / STATE, model, optimizer)
        print(f"resuming from step {step} ({seconds:.0f} s trained so far)", flush=True)
    last = args.stop_after or args.steps
    print(f"corpus {len(text):,} chars ({len(train_ids):,} training tokens, {len(text) / (len(train_ids) + len(val_ids)):.2f}"
          f" chars/token) · {sum(p.numel() for p in model.parameters()):,} parameters · steps {step}→{last}", flush=True)
    model.train()
    t0 = time.perf_counter() - seconds
    while step < last:
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, args.steps, args.lr, args.warmup, args.min_lr_ratio)
        x, y = (t.to(args.device) for t in batch_at(train_ids, args.block_size, args.batch_size, args.seed, step))
        with torch.autocast(args.device, dtype=torch.bfloat16, enabled=args.precision == "bf16"):
            logits = model(x)                                                        # (B, T, V)
        loss = torch.nn.functional.cross_entropy(logits.float().flatten(0, 1), y.flatten())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        running.append(loss.item())
        step += 1
        if step % args.eval_every == 0 or step == last:
            record = {"step": step, "train_loss": sum(running) / len(running),
                      "val_loss": evaluate(model, val), "seconds": round(time.perf_counter() - t0, 1),
                      "lr": optimizer.param_groups[0]["lr"]}
            curve.append(record)
            running = []
            print(f"step {step:5d}  train {record['train_loss']:.4f}  val {record['val_loss']:.4f}  "
                  f"{record['seconds']:.0f} s  load {os.getloadavg()[0]:.2f}", flush=True)
        if step % args.checkpoint_every == 0 or step == last:
            save_state(args.out / STATE, model, optimizer, step, curve, running, time.perf_counter() - t0)
    if step == args.steps:
        write_release(args, model, tok, curve, corpus_sha, time.perf_counter() - t0, len(text))
    return {"step": step, "curve": curve}


def write_release(args: argparse.Namespace, model, tok, curve: list[dict], corpus_sha: str, seconds: float,
                  corpus_chars: int) -> None:
    """The finished model as plain files: safetensors weights, JSON config + recipe, tokenizer, curve."""
    from safetensors.torch import save_model

    save_model(model, str(args.out / WEIGHTS))  # a tied tensor (head = token embedding) is stored once
    recipe = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    meta = {"config": model.config.to_dict(), "recipe": recipe, "corpus_sha256": corpus_sha,
            "corpus_chars": corpus_chars, "train_seconds": round(seconds, 1), "hardware": hardware(args.device),
            "final": curve[-1] if curve else None, "command": "python -m course_utils.pretrain " + " ".join(sys.argv[1:])}
    (args.out / CONFIG).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    (args.out / CURVE).write_text(json.dumps(curve) + "\n", encoding="utf-8")
    print(f"done: {args.out / WEIGHTS} after {seconds:.0f} s", flush=True)


def main(argv: list[str] | None = None) -> int:
    from course_utils.data import DataIntegrityError

    args = parse_args(argv)
    try:
        train(args)
    except (DataIntegrityError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
