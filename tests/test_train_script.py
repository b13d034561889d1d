"""The command-line trainer: one process and two processes under torchrun (gloo on CPU)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from course_utils.distributed_training import main
from course_utils.training import load_checkpoint
from course_utils.transformer import GPT, GPTConfig

ROOT = Path(__file__).resolve().parent.parent
TORCHRUN = Path(sys.executable).parent / "torchrun"
COMMON = ["--size", "tiny", "--batch-size", "8", "--block-size", "32", "--eval-every", "5"]


def run(args, launcher=(sys.executable, "-m", "course_utils.distributed_training"), timeout=240):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([*map(str, launcher), *map(str, args)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_torchrun_two_processes_match_one_process_then_resume(tmp_path):
    """Two processes (global batch split in two) follow one process with 2 accumulated micro-batches of the same
    global batch; then the two-process run resumes from its checkpoint and continues the step count."""
    one, ckpt, hist = tmp_path / "one.jsonl", tmp_path / "gpt.pt", tmp_path / "history.jsonl"
    # the one-process reference in this process (a subprocess costs 2 s of imports)
    assert main([*map(str, [*COMMON, "--steps", "6", "--grad-accum", "2", "--out", tmp_path / "a.pt", "--history", one])]) == 0
    launcher = (TORCHRUN, "--standalone", "--nproc_per_node=2", "-m", "course_utils.distributed_training")
    first = run([*COMMON, "--steps", "6", "--out", ckpt, "--history", hist], launcher)
    assert first.returncode == 0, first.stderr[-2000:]
    assert "rank 0/2 finished at step 6" in first.stdout and "rank 1/2 finished at step 6" in first.stdout
    a = [json.loads(line)["loss"] for line in one.read_text().splitlines()]
    b = [json.loads(line)["loss"] for line in hist.read_text().splitlines()]
    assert a == pytest.approx(b, abs=1e-4)
    state = torch.load(ckpt, map_location="cpu", weights_only=True)  # safe load works
    config = {k: v for k, v in state["config"].items() if k != "world_size"}
    model = GPT(GPTConfig(**config))
    assert load_checkpoint(ckpt, model)["step"] == 6 and state["config"]["world_size"] == 2

    second = run([*COMMON, "--steps", "9", "--out", ckpt, "--history", hist, "--resume"], launcher)
    assert second.returncode == 0, second.stderr[-2000:]
    steps = [json.loads(line)["step"] for line in hist.read_text().splitlines()]
    assert steps == list(range(1, 10))  # resume continued the step count: 7, 8, 9
    assert torch.load(ckpt, weights_only=True)["step"] == 9


@pytest.mark.parametrize("args, message", [
    (["--size", "huge"], "--size must be one of ['medium', 'small', 'tiny'], got 'huge'"),
    (["--batch-size", "0"], "--batch-size must be a positive integer, got 0"),
    (["--steps", "-3"], "--steps must be a positive integer, got -3"),
    (["--data", "wikipedia"], "unknown dataset 'wikipedia'"),
    (["--batch-size", "7", "--grad-accum", "2"], "--batch-size (7) must be divisible"),
])
def test_bad_arguments_give_a_clear_message_not_a_traceback(args, message, tmp_path, capsys):
    # in-process (a subprocess per case cost 1.3 s of imports): the CLI must stop with SystemExit carrying or
    # printing the message — any other exception would be the traceback a learner must not see
    with pytest.raises(SystemExit) as stopped:
        main([*map(str, args), "--out", str(tmp_path / "x.pt")])
    code = stopped.value.code
    assert code not in (0, None)
    assert message in (code if isinstance(code, str) else capsys.readouterr().err)


def test_the_command_line_prints_a_clear_message_not_a_traceback(tmp_path):
    result = run(["--size", "huge", "--out", tmp_path / "x.pt"])   # once through the real entry point
    assert result.returncode != 0
    assert "--size must be one of" in result.stderr and "Traceback" not in result.stderr


def test_missing_data_file_is_a_clear_error(tmp_path):
    env_data = tmp_path / "data"
    env_data.mkdir()
    (env_data / "manifest.json").write_text((ROOT / "data" / "manifest.json").read_text())
    result = subprocess.run([sys.executable, "-m", "course_utils.distributed_training", "--steps", "1", "--out", str(tmp_path / "x.pt")],
                            cwd=ROOT, env={**os.environ, "COURSE_DATA_DIR": str(env_data)}, capture_output=True, text=True)
    assert result.returncode == 1
    assert "shakespeare.txt is missing; rebuild it with `python -m course_utils.data build`" in result.stderr
    assert "Traceback" not in result.stderr
