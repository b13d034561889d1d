"""Stopping a run with --stop-after and continuing it with --resume gives exactly the uninterrupted run."""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMON = ["--size", "tiny", "--batch-size", "8", "--block-size", "16", "--eval-every", "3", "--steps", "6"]


def train(*args):
    return subprocess.run([sys.executable, "-m", "course_utils.distributed_training", *COMMON, *map(str, args)], cwd=ROOT,
                          env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True, timeout=240)


def losses(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_stop_then_resume_equals_the_uninterrupted_run(tmp_path):
    straight, resumed = tmp_path / "straight.jsonl", tmp_path / "resumed.jsonl"
    assert train("--out", tmp_path / "a.pt", "--history", straight).returncode == 0
    first = train("--stop-after", "3", "--out", tmp_path / "b.pt", "--history", resumed)
    assert first.returncode == 0 and "done: 3 of 6 steps" in first.stdout
    assert train("--resume", "--out", tmp_path / "b.pt", "--history", resumed).returncode == 0
    a, b = losses(straight), losses(resumed)
    assert [r["step"] for r in b] == [1, 2, 3, 4, 5, 6]
    assert [r["loss"] for r in a] == [r["loss"] for r in b]  # same batches, same schedule, same state
    assert [r.get("val_loss") for r in a] == [r.get("val_loss") for r in b]


def test_stop_after_out_of_range_is_a_clear_error(tmp_path):
    result = train("--stop-after", "7", "--out", tmp_path / "x.pt")
    assert result.returncode != 0
    assert "--stop-after must be between 1 and --steps (6), got 7" in result.stderr
    assert "Traceback" not in result.stderr
