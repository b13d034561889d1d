"""One training loop for every model in the course: progress bar, periodic held-out evaluation,
gradient clipping, warmup + cosine learning-rate schedule, history, and safe checkpoints.

A batch is a tuple `(*inputs, targets)`: the loop calls `model(*inputs)` to get logits and
`loss_fn(logits, targets)` for the loss, so language models, classifiers and encoder–decoders all fit.
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from course_utils.validation import require_int, require_real


def lm_loss(logits: torch.Tensor, targets: torch.Tensor, ignore_index: int = -100) -> torch.Tensor:
    """Mean cross-entropy over every position: logits (B, T, V), targets (B, T)."""
    return F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1), ignore_index=ignore_index)


@dataclass
class History:
    """What happened during training, for plots and checks."""
    steps: list[int] = field(default_factory=list)        # steps at which we evaluated
    train_loss: list[float] = field(default_factory=list)  # mean training loss since last eval
    val_loss: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)     # wall-clock time at each eval
    grad_norm: list[float] = field(default_factory=list)   # per step, before clipping

    @property
    def final_val(self) -> float:
        return self.val_loss[-1]

    def curves(self) -> dict[str, list[float]]:
        return {"train": self.train_loss, "validation": self.val_loss}


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


@torch.no_grad()
def evaluate(model: nn.Module, data: Sequence[torch.Tensor], loss_fn: Callable = lm_loss,
             batch_size: int = 64) -> float:
    """Mean loss of `model` over a fixed held-out set `(*inputs, targets)`, in chunks of batch_size rows."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    total, rows = 0.0, 0
    n = len(data[-1])
    for i in range(0, n, batch_size):
        batch = [t[i : i + batch_size].to(device) for t in data]
        total += loss_fn(model(*batch[:-1]), batch[-1]).item() * len(batch[-1])
        rows += len(batch[-1])
    model.train(was_training)
    return total / rows


def lr_at(step: int, steps: int, lr: float, warmup_steps: int, min_lr_ratio: float) -> float:
    """Linear warmup to `lr`, then cosine decay to `lr * min_lr_ratio` at the last step."""
    if step < warmup_steps:
        return lr * (step + 1) / warmup_steps
    progress = (step - warmup_steps) / max(1, steps - warmup_steps)
    return lr * (min_lr_ratio + (1 - min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


def train_model(model: nn.Module, get_batch: Callable[[str], Sequence[torch.Tensor]], *, steps: int,
                val_data: Sequence[torch.Tensor] | None = None, lr: float = 1e-3, weight_decay: float = 0.0,
                warmup_steps: int = 0, min_lr_ratio: float = 0.1, clip_grad: float | None = 1.0,
                eval_every: int | None = None, loss_fn: Callable = lm_loss, progress: bool = True,
                optimizer: torch.optim.Optimizer | None = None) -> History:
    """Train with AdamW for `steps` steps on batches from `get_batch("train")`.

    Every `eval_every` steps (and at the end) the loss on `val_data` is recorded, so a learner sees
    held-out loss next to training loss. The learning rate warms up linearly for `warmup_steps`, then
    follows a cosine down to `min_lr_ratio` of its peak. The peak is `lr` for the AdamW built here; a
    passed `optimizer` keeps its own learning rate per parameter group (`SGD(params, lr=0.5)` peaks at
    0.5), which the schedule scales, and `lr` is then not used.

    With `progress`, it prints a plain line four times per run (step, mean training loss since the last
    line, the latest held-out loss, seconds): plain text reads the same live, on GitHub and in Colab,
    where a progress-bar widget saved in a notebook shows only its first frame.
    """
    steps = require_int(steps, "steps", minimum=1)
    lr = require_real(lr, "lr", above=0)
    device = next(model.parameters()).device
    optimizer = optimizer or torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    peaks = [group.setdefault("initial_lr", group["lr"]) for group in optimizer.param_groups]  # each group's own
    eval_every = eval_every or steps
    history, running, start = History(), [], time.perf_counter()
    report = _ProgressLines(steps) if progress else None
    model.train()
    for step in range(steps):
        for group, peak in zip(optimizer.param_groups, peaks):
            group["lr"] = lr_at(step, steps, peak, warmup_steps, min_lr_ratio)
        *inputs, targets = (t.to(device) for t in get_batch("train"))
        loss = loss_fn(model(*inputs), targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        norm = nn.utils.clip_grad_norm_(model.parameters(), clip_grad if clip_grad else float("inf"))
        history.grad_norm.append(norm.item())
        optimizer.step()
        running.append(loss.item())
        if (step + 1) % eval_every == 0 or step + 1 == steps:
            history.steps.append(step + 1)
            history.train_loss.append(sum(running) / len(running))
            running = []
            if val_data is not None:
                history.val_loss.append(evaluate(model, val_data, loss_fn))
            history.seconds.append(time.perf_counter() - start)
        if report:
            report.step(step + 1, loss.item(), history.val_loss[-1] if history.val_loss else None,
                        time.perf_counter() - start)
    return history


class _ProgressLines:
    """Prints `training: step 200/800 · loss 2.134 · val 2.101 · 12 s` at each quarter of the run (val: the
    latest held-out loss measured)."""

    def __init__(self, steps: int, lines: int = 4):
        self.steps, self.every, self.losses = steps, max(1, math.ceil(steps / lines)), []

    def step(self, step: int, loss: float, val_loss: float | None, seconds: float) -> None:
        self.losses.append(loss)
        if step % self.every and step != self.steps:
            return
        text = f"training: step {step:>{len(str(self.steps))}}/{self.steps} · loss {sum(self.losses) / len(self.losses):.3f}"
        text += f" · val {val_loss:.3f}" if val_loss is not None else ""
        print(f"{text} · {seconds:.0f} s", flush=True)
        self.losses = []


def save_checkpoint(path: str | Path, model: nn.Module, optimizer: torch.optim.Optimizer | None = None,
                    step: int = 0, config: dict | None = None) -> None:
    """Save weights (+ optimizer state, step, a plain-dict config) as tensors and primitives only.

    Atomic: the state is written to a temporary file in the same folder, flushed to disk, and then renamed
    over `path` (`os.replace`), so a process killed mid-write leaves the previous checkpoint intact."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict() if optimizer else None,
                        "step": step, "config": config or {}}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def load_checkpoint(path: str | Path, model: nn.Module, optimizer: torch.optim.Optimizer | None = None) -> dict:
    """Load a checkpoint safely (`weights_only=True`: no arbitrary code runs); return step and config."""
    device = next(model.parameters()).device
    state = torch.load(path, map_location=device, weights_only=True)
    model.load_state_dict(state["model"])
    if optimizer is not None and state["optimizer"] is not None:
        optimizer.load_state_dict(state["optimizer"])
    return {"step": state["step"], "config": state["config"]}


def checkpoint_step(path: str | Path) -> int:
    """The step a checkpoint was saved at (without building a model)."""
    return int(torch.load(path, map_location="cpu", weights_only=True)["step"])
