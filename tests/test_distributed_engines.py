"""Beyond DDP: the per-rank sampler, activation checkpointing, training-state bytes, MFU, and FSDP2 in the
course's trainer (two processes, gloo on CPU)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from course_utils.distributed_training import (RankWindowSampler, enable_activation_checkpointing,
                                               saved_for_backward_bytes, training_state_bytes)
from course_utils.flops import matmul_peak_flops, model_flops_utilization, training_flops_per_token
from course_utils.training import count_parameters, lm_loss
from course_utils.transformer import GPT, GPTConfig

ROOT = Path(__file__).resolve().parent.parent
TORCHRUN = Path(sys.executable).parent / "torchrun"


# ---------------------------------------------------------------- the per-rank sampler
@pytest.mark.parametrize("world", [1, 2, 4])
def test_no_two_ranks_ever_get_the_same_window_and_no_window_repeats_in_an_epoch(world):
    sampler = RankWindowSampler(n_tokens=1_001, block_size=10, global_batch=8, world_size=world, seed=3)
    assert sampler.n_windows == 100 and sampler.steps_per_epoch == 12   # 4 windows left over per epoch
    for epoch in range(3):
        seen = set()
        for step in range(epoch * 12, (epoch + 1) * 12):
            per_rank = [set(sampler.windows(step, r).tolist()) for r in range(world)]
            assert all(len(w) == 8 // world for w in per_rank)            # no repeat inside a rank either
            union = set().union(*per_rank)
            assert len(union) == 8                                       # ranks pairwise disjoint
            assert not union & seen                                      # not used earlier this epoch
            seen |= union
        assert len(seen) == 96


def test_the_ranks_windows_are_disjoint_text_and_together_make_the_global_batch():
    ids = torch.arange(1_001)
    one = RankWindowSampler(len(ids), 10, 8, world_size=1, seed=0)
    two = RankWindowSampler(len(ids), 10, 8, world_size=2, seed=0)
    x, y = one.batch(ids, step=5, rank=0)                                # (8, 10)
    parts = [two.batch(ids, step=5, rank=r) for r in range(2)]           # (4, 10) each
    assert torch.equal(x, torch.cat([p[0] for p in parts])) and torch.equal(y, x + 1)
    tokens = [set(p[0].flatten().tolist()) for p in parts]
    assert not tokens[0] & tokens[1]                                     # not even one input token shared
    assert all(int(row[0]) % 10 == 0 for row in x)                       # windows start on the grid


def test_random_windows_can_repeat_which_is_what_the_sampler_prevents():
    from course_utils.distributed_training import global_batch

    ids = torch.arange(200)  # few possible starts: independent draws collide within a step
    repeats = sum(len(set(global_batch(ids, 10, 16, 0, step)[0][:, 0].tolist())) < 16 for step in range(20))
    assert repeats > 0


@pytest.mark.parametrize("kwargs, message", [
    ({"global_batch": 7, "world_size": 2}, "global_batch must be divisible by world_size (2), got 7"),
    ({"global_batch": 200}, "global_batch must be ≤ the number of windows (100 of 10 tokens), got 200"),
    ({"block_size": 0}, "block_size must be"),
])
def test_sampler_bad_arguments_name_the_argument(kwargs, message):
    args = {"n_tokens": 1_001, "block_size": 10, "global_batch": 8, "world_size": 1, **kwargs}
    with pytest.raises(ValueError) as err:
        RankWindowSampler(**args)
    assert message in str(err.value)


def test_sampler_refuses_a_rank_outside_the_world():
    with pytest.raises(ValueError, match="rank"):
        RankWindowSampler(1_001, 10, 8, world_size=2).windows(0, 2)


# ---------------------------------------------------------------- activation checkpointing, state bytes
def test_activation_checkpointing_gives_the_same_gradients_and_saves_less():
    torch.manual_seed(0)
    plain = GPT(GPTConfig(50, 16, 32, 4, 2))
    again = GPT(GPTConfig(50, 16, 32, 4, 2))
    again.load_state_dict(plain.state_dict())
    enable_activation_checkpointing(again)
    x = torch.randint(0, 50, (4, 16))
    y = torch.randint(0, 50, (4, 16))
    saved_plain, saved_ckpt = saved_for_backward_bytes(plain, x, y), saved_for_backward_bytes(again, x, y)
    assert saved_ckpt < saved_plain / 2
    for (name, p), q in zip(plain.named_parameters(), again.parameters()):
        assert torch.allclose(p.grad, q.grad, atol=1e-6), name
    assert list(again.state_dict()) == list(plain.state_dict())     # same names: checkpoints unchanged


def test_activation_checkpointing_needs_the_course_gpt():
    with pytest.raises(TypeError, match="blocks"):
        enable_activation_checkpointing(torch.nn.Linear(2, 2))


def test_training_state_bytes_are_16_per_parameter_in_one_process():
    model = GPT(GPTConfig(50, 16, 32, 4, 2))
    optimizer = torch.optim.AdamW(model.parameters())
    lm_loss(model(torch.zeros(2, 16, dtype=torch.long)), torch.zeros(2, 16, dtype=torch.long)).backward()
    optimizer.step()
    n = count_parameters(model)
    assert training_state_bytes(model, optimizer) == {"parameters": 4 * n, "gradients": 4 * n,
                                                      "optimizer_state": 8 * n}


# ---------------------------------------------------------------- FLOPs and MFU
def test_training_flops_per_token_is_6n_plus_the_attention_term_and_matches_the_counter():
    assert training_flops_per_token(1_000, 2, 64, 32) == 6 * 1_000 + 12 * 2 * 64 * 32
    model = GPT(GPTConfig(80, 64, 64, 4, 2)).eval()   # eval: explicit attention the counter can see
    x = torch.randint(0, 80, (4, 64))
    with FlopCounterMode(display=False) as counter:
        lm_loss(model(x), x).backward()
    formula = training_flops_per_token(count_parameters(model), 2, 64, 64) * x.numel()
    assert 0.93 <= counter.get_total_flops() / formula <= 1.0


def test_mfu_is_useful_flops_over_peak():
    assert model_flops_utilization(1_000, 6e6, 1e10) == pytest.approx(0.6)
    with pytest.raises(ValueError, match="peak_flops_per_second"):
        model_flops_utilization(1_000, 6e6, 0)
    with pytest.raises(ValueError, match="tokens_per_second"):
        model_flops_utilization(-1, 6e6, 1e9)
    threads = torch.get_num_threads()
    assert matmul_peak_flops(size=64, repeats=2, threads=1) > 1e6
    assert torch.get_num_threads() == threads                        # restored


# ---------------------------------------------------------------- FSDP2 in the trainer (2 processes, gloo)
COMMON = ["--size", "tiny", "--batch-size", "8", "--block-size", "32", "--eval-every", "3", "--steps", "6"]


def run(args, launcher):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([*map(str, launcher), *map(str, args)], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def losses(path: Path) -> list[float]:
    return [json.loads(line)["loss"] for line in path.read_text().splitlines()]


def test_fsdp_with_checkpointing_follows_one_process_and_its_checkpoint_resumes_in_one_process(tmp_path):
    from course_utils.distributed_training import main

    def one(args):   # one process: this one (a subprocess costs 2 s of imports)
        assert main([str(a) for a in [*COMMON, *args]]) == 0

    two = (TORCHRUN, "--standalone", "--nproc_per_node=2", "-m", "course_utils.distributed_training")
    one(["--grad-accum", "2", "--out", tmp_path / "a.pt", "--history", tmp_path / "a.jsonl"])
    run([*COMMON, "--fsdp", "--activation-checkpointing", "--stop-after", "3", "--memory-report", tmp_path / "m.json",
         "--out", tmp_path / "b.pt", "--history", tmp_path / "b.jsonl"], two)
    state = torch.load(tmp_path / "b.pt", weights_only=True)          # gathered: a plain one-process checkpoint
    assert state["step"] == 3 and isinstance(next(iter(state["optimizer"]["state"])), int)
    one(["--resume", "--out", tmp_path / "b.pt", "--history", tmp_path / "b.jsonl"])
    assert losses(tmp_path / "b.jsonl") == pytest.approx(losses(tmp_path / "a.jsonl"), abs=1e-4)
    report = json.loads((tmp_path / "m.json").read_text())
    n = count_parameters(GPT(GPTConfig(**{k: v for k, v in state["config"].items() if k != "world_size"})))
    for rank in report["ranks"]:   # each rank stores half of 4 + 4 + 8 bytes per parameter
        assert rank["parameters"] == rank["gradients"] == 2 * n and rank["optimizer_state"] == 4 * n


def test_fsdp_in_one_process_is_refused_with_a_clear_message(tmp_path):
    from course_utils.distributed_training import main

    with pytest.raises(SystemExit, match="--fsdp shards across processes"):
        main([*COMMON, "--fsdp", "--out", str(tmp_path / "x.pt")])
