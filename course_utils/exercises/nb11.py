"""Checkers for notebook 11 (scaling up): the 6·N·D compute estimate, gradient accumulation, one
data-parallel step simulated in one process, and memory per device under DDP and FSDP."""
from __future__ import annotations

import copy
import math
from typing import Callable

import torch

from course_utils.exercises import _fail, _pass, exercise_check
from course_utils.training import lm_loss
from course_utils.transformer import GPT, GPTConfig

SECONDS_PER_DAY = 86_400
BYTES_PER_PARAMETER = 16  # weights + gradients + Adam's two moments (4 + 4 + 8 in fp32; 2 + 2 + 12 mixed)


def _number(name: str, got) -> float:
    if got is None:
        _fail(f"{name} returned None — return a number")
    try:
        return float(got)
    except (TypeError, ValueError):
        _fail(f"{name} should return a number, got {type(got).__name__}: {got!r}")


# ---- exercise 1 ----------------------------------------------------------------------------------
_DAYS_HINTS = (  # (wrong answer / right answer, what went wrong)
    (1 / 3, "that is the forward pass only (2·N·D): the backward pass costs about twice the forward, so 6·N·D"),
    (1 / 6, "you left out the factor 6: training costs ≈ 6 FLOPs per parameter per token"),
    (SECONDS_PER_DAY, "that is in seconds — divide by 86 400 seconds per day"),
    (24, "that is in hours — divide by 24 more"),
    (6, "the factor 6 is counted twice"),
)


@exercise_check
def check_exercise_1(days_to_train: Callable[[float, float, float], float]) -> None:
    """`days_to_train(n_params, n_tokens, flops_per_second)` = 6·N·D / FLOP/s / 86 400."""
    cases = [(1e8, 1e10, 1e12), (175e9, 300e9, 1e15), (109_312, 122_880, 5e9)]
    for n_params, n_tokens, flops in cases:
        got = _number("days_to_train", days_to_train(n_params, n_tokens, flops))
        want = 6 * n_params * n_tokens / flops / SECONDS_PER_DAY
        if math.isclose(got, want, rel_tol=1e-6):
            continue
        hint = next((h for ratio, h in _DAYS_HINTS if want and math.isclose(got / want, ratio, rel_tol=1e-3)),
                    "compute 6 · n_params · n_tokens FLOPs, divide by FLOP/s for seconds, then by 86 400")
        _fail(f"days_to_train({n_params:.3g}, {n_tokens:.3g}, {flops:.3g}) = {got:.4g}, expected {want:.4g} — {hint}")
    _pass("days_to_train = 6·N·D / (FLOP/s) / 86 400 s — GPT-3 on a 1 PFLOP/s machine: "
          f"{6 * 175e9 * 300e9 / 1e15 / SECONDS_PER_DAY:,.0f} days")


# ---- shared by exercises 2 and 3 -------------------------------------------------------------------
def _tiny_model_and_batch(seed: int = 0, batch: int = 8) -> tuple[GPT, torch.Tensor, torch.Tensor]:
    torch.manual_seed(seed)
    model = GPT(GPTConfig(vocab_size=11, block_size=8, d_model=16, n_heads=2, n_layers=1))
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 11, (batch, 8), generator=g)  # (B, T)
    y = torch.randint(0, 11, (batch, 8), generator=g)  # (B, T)
    return model, x, y


def _full_batch_grads(model: GPT, x: torch.Tensor, y: torch.Tensor) -> list[torch.Tensor]:
    reference = copy.deepcopy(model)
    reference.zero_grad(set_to_none=True)
    lm_loss(reference(x), y).backward()
    return [p.grad.clone() for p in reference.parameters()]


def _close(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return all(torch.allclose(u, v, rtol=1e-4, atol=1e-7) for u, v in zip(a, b))


def _scaled(grads: list[torch.Tensor], factor: float) -> list[torch.Tensor]:
    return [g * factor for g in grads]


# ---- exercise 2 ----------------------------------------------------------------------------------
@exercise_check
def check_exercise_2(accumulate_gradients: Callable) -> None:
    """`accumulate_gradients(model, x, y, k)` leaves in every `p.grad` the gradient of the full batch's
    mean loss, computed in k micro-batches (each loss scaled by 1/k, gradients summed by backward)."""
    for k in (2, 4):
        model, x, y = _tiny_model_and_batch(seed=k)
        want = _full_batch_grads(model, x, y)
        model.zero_grad(set_to_none=True)
        accumulate_gradients(model, x, y, k)
        grads = [p.grad for p in model.parameters()]
        if any(g is None for g in grads):
            _fail(f"after accumulate_gradients(model, x, y, k={k}) some p.grad is None — call loss.backward() "
                  "for every micro-batch")
        if _close(grads, want):
            continue
        last = _full_batch_grads(model, x[-len(x) // k:], y[-len(y) // k:])
        if _close(grads, _scaled(want, k)):
            _fail(f"with k={k} the gradients are {k}× too large — divide each micro-batch loss by k "
                  "(the full batch's loss is the MEAN of the micro-batch losses)")
        if _close(grads, _scaled(last, 1 / k)) or _close(grads, last):
            _fail(f"with k={k} only the last micro-batch's gradient is left — do not zero the gradients "
                  "inside the loop: backward() adds into p.grad, and that sum is the point")
        _fail(f"with k={k} the accumulated gradients differ from the full batch's gradient — split x and y "
              "into k equal micro-batches along dim 0 (x.chunk(k)), loss = lm_loss(model(x_i), y_i) / k, "
              "loss.backward() for each")
    _pass("k micro-batches with loss / k give exactly the full batch's gradient (k = 2 and 4)")


# ---- exercise 3 ----------------------------------------------------------------------------------
@exercise_check
def check_exercise_3(simulate_ddp_step: Callable) -> None:
    """`simulate_ddp_step(model, x, y, world_size, lr)` returns `world_size` replicas, each trained on
    its slice, gradients averaged (the all-reduce), then one SGD step — all equal to a full-batch step."""
    lr = 0.5
    for world in (2, 4):
        model, x, y = _tiny_model_and_batch(seed=10 + world)
        before = [p.detach().clone() for p in model.parameters()]
        full = _full_batch_grads(model, x, y)
        want = [p - lr * g for p, g in zip(before, full)]
        replicas = simulate_ddp_step(model, x, y, world, lr)
        if replicas is None:
            _fail("simulate_ddp_step returned None — return the list of replicas")
        if not isinstance(replicas, (list, tuple)) or len(replicas) != world:
            _fail(f"with world_size={world} return a list of {world} replicas, got "
                  f"{len(replicas) if isinstance(replicas, (list, tuple)) else type(replicas).__name__}")
        if len({id(r) for r in replicas}) != world:
            _fail("the replicas are the same object — make each one with copy.deepcopy(model)")
        params = [[p.detach() for p in r.parameters()] for r in replicas]
        if any(not _close(params[0], other) for other in params[1:]):
            _fail(f"with world_size={world} the replicas differ after the step — each used its own slice's "
                  "gradient; average the gradients over replicas first (the all-reduce), then step")
        if _close(params[0], before):
            _fail("the parameters did not change — take the SGD step p ← p − lr · mean gradient")
        if _close(params[0], [p - lr * world * g for p, g in zip(before, full)]):
            _fail(f"the step is {world}× too large — the all-reduce SUMS the gradients; divide by world_size")
        if not _close(params[0], want):
            _fail(f"with world_size={world} the replicas agree but differ from one full-batch SGD step — give "
                  "replica r the slice x.chunk(world_size)[r], loss = lm_loss(replica(x_r), y_r)")
    _pass("every replica took the same step, equal to one full-batch SGD step (world_size = 2 and 4)")


# ---- exercise 4 ----------------------------------------------------------------------------------
def reference_memory_per_device_gb(n_params: float, world_size: int, strategy: str) -> float:
    total = BYTES_PER_PARAMETER * n_params / 1e9
    return total if strategy == "ddp" else total / world_size


@exercise_check
def check_exercise_4(memory_per_device_gb: Callable[[float, int, str], float]) -> None:
    """`memory_per_device_gb(n_params, world_size, strategy)`: 16 bytes per parameter for weights,
    gradients and Adam state; DDP keeps all of it on every device, FSDP shares it out evenly."""
    cases = [(7e9, 8, "ddp"), (7e9, 8, "fsdp"), (175e9, 64, "fsdp"), (1e6, 2, "ddp"), (70e9, 1, "fsdp")]
    for n_params, world, strategy in cases:
        got = _number("memory_per_device_gb", memory_per_device_gb(n_params, world, strategy))
        want = reference_memory_per_device_gb(n_params, world, strategy)
        if math.isclose(got, want, rel_tol=1e-6):
            continue
        ratio = got / want if want else float("nan")
        call = f"memory_per_device_gb({n_params:.3g}, {world}, {strategy!r}) = {got:.4g}, expected {want:.4g}"
        if math.isclose(ratio, 1e9 / 2**30, rel_tol=1e-4):
            hint = "that is GiB (2³⁰ bytes); use GB = 10⁹ bytes"
        elif strategy == "ddp" and math.isclose(ratio, 1 / world, rel_tol=1e-6):
            hint = "DDP does not shard: every device holds a full copy of everything"
        elif strategy == "fsdp" and math.isclose(ratio, world, rel_tol=1e-6):
            hint = "FSDP shards weights, gradients and optimizer state: divide by world_size"
        elif math.isclose(ratio, 4 / 16, rel_tol=1e-6) or math.isclose(ratio, 2 / 16, rel_tol=1e-6):
            hint = "that counts the weights only; training also keeps gradients and Adam's two moments: 16 bytes"
        else:
            hint = "bytes = 16 · n_params (÷ world_size for 'fsdp'), then ÷ 10⁹ for GB"
        _fail(f"{call} — {hint}")
    _pass("16 bytes per parameter: DDP keeps all of it on every device, FSDP divides it by world_size")
