"""Stopping a run (gracefully with --stop-after, or by SIGKILL after a --save-every checkpoint) and continuing it
with --resume gives exactly the uninterrupted run; checkpoints are written atomically."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from course_utils.distributed_training import main

ROOT = Path(__file__).resolve().parent.parent
COMMON = ["--size", "tiny", "--batch-size", "8", "--block-size", "16", "--eval-every", "3", "--steps", "6"]


def losses(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_stop_then_resume_equals_the_uninterrupted_run(tmp_path, capsys):
    # in-process (three subprocesses cost 2 s of imports each); test_sigkill… below goes through real processes
    def train(*args):
        return main([*COMMON, *map(str, args)])

    straight, resumed = tmp_path / "straight.jsonl", tmp_path / "resumed.jsonl"
    assert train("--out", tmp_path / "a.pt", "--history", straight) == 0
    capsys.readouterr()
    assert train("--stop-after", "3", "--out", tmp_path / "b.pt", "--history", resumed) == 0
    assert "done: 3 of 6 steps" in capsys.readouterr().out
    assert train("--resume", "--out", tmp_path / "b.pt", "--history", resumed) == 0
    a, b = losses(straight), losses(resumed)
    assert [r["step"] for r in b] == [1, 2, 3, 4, 5, 6]
    assert [r["loss"] for r in a] == [r["loss"] for r in b]  # same batches, same schedule, same state
    assert [r.get("val_loss") for r in a] == [r.get("val_loss") for r in b]


def refused(capsys, *args) -> str:
    """Run the CLI in-process on bad arguments: it must stop with SystemExit (no traceback); its message."""
    with pytest.raises(SystemExit) as stopped:
        main([*COMMON, *map(str, args)])
    code = stopped.value.code
    assert code not in (0, None)
    return code if isinstance(code, str) else capsys.readouterr().err


def test_stop_after_out_of_range_is_a_clear_error(tmp_path, capsys):
    message = refused(capsys, "--stop-after", "7", "--out", tmp_path / "x.pt")
    assert "--stop-after must be between 1 and --steps (6), got 7" in message


KILL_RUN = ["--size", "tiny", "--batch-size", "8", "--block-size", "16", "--eval-every", "1000", "--steps", "40"]


def weights(path):
    return torch.load(path, map_location="cpu", weights_only=True)["model"]


def test_sigkill_mid_run_then_resume_gives_the_uninterrupted_weights(tmp_path):
    """A real preemption: SIGKILL (no chance to save) after a periodic checkpoint, then --resume."""
    command = [sys.executable, "-m", "course_utils.distributed_training", *KILL_RUN]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    ckpt, hist = tmp_path / "b.pt", tmp_path / "b.jsonl"
    proc = subprocess.Popen([*command, "--save-every", "2", "--out", ckpt, "--history", hist], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not ckpt.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)  # wait for the first periodic checkpoint (step 2) …
    proc.send_signal(signal.SIGKILL)  # … and kill without warning, as a preempted machine would
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL, f"the run ended before the kill: {stderr.decode()[-2000:]}"
    saved = torch.load(ckpt, map_location="cpu", weights_only=True)["step"]
    assert saved % 2 == 0 and 2 <= saved < 40
    assert not list(tmp_path.glob(".b.pt.tmp-*"))  # no half-written file left behind in the listing we use

    resumed = subprocess.Popen([*command, "--save-every", "2", "--resume", "--out", ckpt, "--history", hist],
                               cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the uninterrupted run, in this process meanwhile, on one thread like the others
    try:
        assert main([*map(str, KILL_RUN), "--out", str(tmp_path / "a.pt")]) == 0
    finally:
        torch.set_num_threads(threads)
    assert resumed.wait(timeout=120) == 0, resumed.stderr.read()[-2000:]
    assert [r["step"] for r in losses(hist)] == list(range(1, 41))  # steps lost to the kill were redone once
    a, b = weights(tmp_path / "a.pt"), weights(ckpt)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)  # bit for bit


def test_save_checkpoint_is_atomic(tmp_path, monkeypatch):
    """A write that dies half-way leaves the previous checkpoint intact and no temporary file."""
    from course_utils import training

    model = torch.nn.Linear(3, 2)
    path = tmp_path / "ck.pt"
    training.save_checkpoint(path, model, step=1)
    real_save = torch.save

    def dies_half_way(obj, f):
        real_save(obj, f)
        f.truncate(10)  # a partial file …
        raise KeyboardInterrupt("killed while writing")  # … and the writer dies

    monkeypatch.setattr(training.torch, "save", dies_half_way)
    try:
        training.save_checkpoint(path, model, step=2)
    except KeyboardInterrupt:
        pass
    monkeypatch.setattr(training.torch, "save", real_save)
    assert training.checkpoint_step(path) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["ck.pt"]


def test_save_every_must_be_positive(tmp_path, capsys):
    assert "--save-every must be a positive integer, got 0" in refused(capsys, "--save-every", "0", "--out", tmp_path / "x.pt")


def test_resume_drops_history_logged_after_the_checkpoint(tmp_path):
    from course_utils.distributed_training import _drop_history_after

    path = tmp_path / "h.jsonl"
    path.write_text("".join(json.dumps({"step": s}) + "\n" for s in range(1, 6)) + '{"step": 6, "lo')  # killed mid-line
    _drop_history_after(path, 3)
    assert [r["step"] for r in losses(path)] == [1, 2, 3]
