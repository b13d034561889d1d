"""Exercise checkers of notebook 11: right answers pass, typical wrong ones raise a helpful error."""
import copy

import torch

from course_utils.exercises import nb11
from course_utils.training import lm_loss
from checker_assertions import fails_with


# ---- exercise 1: 6·N·D -----------------------------------------------------------------------------
def test_days_to_train(capsys):
    nb11.check_exercise_1(lambda n, d, f: 6 * n * d / f / 86_400)
    assert "✓" in capsys.readouterr().out
    fails_with(nb11.check_exercise_1, lambda n, d, f: 2 * n * d / f / 86_400, "forward pass only")
    fails_with(nb11.check_exercise_1, lambda n, d, f: 6 * n * d / f, "seconds")
    fails_with(nb11.check_exercise_1, lambda n, d, f: 6 * n * d / f / 3600, "hours")
    fails_with(nb11.check_exercise_1, lambda n, d, f: n * d / f / 86_400, "factor 6")
    fails_with(nb11.check_exercise_1, lambda n, d, f: None, "None")
    fails_with(nb11.check_exercise_1, lambda n, d, f: "soon", "number")


# ---- exercise 2: gradient accumulation -----------------------------------------------------------
def accumulate(model, x, y, k, scale=True, zero_inside=False):
    for x_i, y_i in zip(x.chunk(k), y.chunk(k)):
        if zero_inside:
            model.zero_grad()
        loss = lm_loss(model(x_i), y_i)
        (loss / k if scale else loss).backward()


def test_accumulate_gradients(capsys):
    nb11.check_exercise_2(accumulate)
    assert "✓" in capsys.readouterr().out
    fails_with(nb11.check_exercise_2, lambda m, x, y, k: accumulate(m, x, y, k, scale=False), "too large", "divide")
    fails_with(nb11.check_exercise_2, lambda m, x, y, k: accumulate(m, x, y, k, zero_inside=True), "last micro-batch")
    fails_with(nb11.check_exercise_2, lambda m, x, y, k: None, "None", "backward")
    fails_with(nb11.check_exercise_2, lambda m, x, y, k: lm_loss(m(x[:k]), y[:k]).backward(), "differ")


# ---- exercise 3: one DDP step in one process -------------------------------------------------------
def ddp_step(model, x, y, world_size, lr, average=True, sum_only=False):
    replicas = [copy.deepcopy(model) for _ in range(world_size)]
    for replica, x_r, y_r in zip(replicas, x.chunk(world_size), y.chunk(world_size)):
        replica.zero_grad()
        lm_loss(replica(x_r), y_r).backward()
    grads = [list(r.parameters()) for r in replicas]
    if average:
        for params in zip(*grads):
            total = sum(p.grad for p in params)
            for p in params:
                p.grad = total.clone() if sum_only else total / world_size
    with torch.no_grad():
        for r in replicas:
            for p in r.parameters():
                p -= lr * p.grad
    return replicas


def test_simulate_ddp_step(capsys):
    nb11.check_exercise_3(ddp_step)
    assert "✓" in capsys.readouterr().out
    fails_with(nb11.check_exercise_3, lambda *a: ddp_step(*a, average=False), "replicas differ", "average")
    fails_with(nb11.check_exercise_3, lambda *a: ddp_step(*a, sum_only=True), "too large", "divide by world_size")
    fails_with(nb11.check_exercise_3, lambda m, x, y, w, lr: [m] * w, "same object")
    fails_with(nb11.check_exercise_3, lambda m, x, y, w, lr: [copy.deepcopy(m) for _ in range(w)], "did not change")
    fails_with(nb11.check_exercise_3, lambda m, x, y, w, lr: ddp_step(m, x, y, w, lr)[:1], "list of")
    fails_with(nb11.check_exercise_3, lambda *a: None, "None")
    fails_with(nb11.check_exercise_3, lambda m, x, y, w, lr: ddp_step(m, x, y, w, lr * 1.5),
               "differ from one full-batch")


# ---- exercise 4: memory per device -----------------------------------------------------------------
def memory(n, world, strategy, bytes_per=16, unit=1e9, ddp_shards=False, fsdp_shards=True):
    total = bytes_per * n / unit
    sharded = fsdp_shards if strategy == "fsdp" else ddp_shards
    return total / world if sharded else total


def test_memory_per_device(capsys):
    nb11.check_exercise_4(memory)
    assert "✓" in capsys.readouterr().out
    fails_with(nb11.check_exercise_4, lambda n, w, s: memory(n, w, s, unit=2**30), "GiB")
    fails_with(nb11.check_exercise_4, lambda n, w, s: memory(n, w, s, bytes_per=4), "weights only")
    fails_with(nb11.check_exercise_4, lambda n, w, s: memory(n, w, s, ddp_shards=True), "DDP does not shard")
    fails_with(nb11.check_exercise_4, lambda n, w, s: memory(n, w, s, fsdp_shards=False), "divide by world_size")
    fails_with(nb11.check_exercise_4, lambda n, w, s: None, "None")
