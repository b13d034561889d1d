"""The base model: the shipped checkpoint loads offline and is checksum-guarded; the pretraining command
resumes after a SIGKILL to exactly the weights of an uninterrupted run."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from course_utils import data, pretrain, pretrained
from course_utils.transformer import GPT

pytestmark = pytest.mark.usefixtures("one_thread")
ROOT = Path(__file__).resolve().parent.parent


def tiny_argv(corpus: Path, out: Path, steps: int = 40) -> list[str]:
    return ["--corpus", str(corpus), "--out", str(out), "--vocab-size", "300", "--layers", "1", "--d-model", "32",
            "--heads", "2", "--block-size", "16", "--batch-size", "4", "--steps", str(steps), "--warmup", "10",
            "--eval-every", "10", "--checkpoint-every", "5", "--val-windows", "4", "--threads", "1",
            "--precision", "fp32"]


@pytest.fixture(scope="module")
def tiny_corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus") / "corpus.txt"
    path.write_text(data.load_text("shakespeare")[:30_000], encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def finished_run(tiny_corpus, tmp_path_factory):
    """An uninterrupted tiny run (in-process)."""
    out = tmp_path_factory.mktemp("run")
    torch.set_num_threads(1)
    assert pretrain.main(tiny_argv(tiny_corpus, out)) == 0
    return out


# ---------------------------------------------------------------------------------------------------
# the shipped checkpoint
# ---------------------------------------------------------------------------------------------------
def test_load_base_model_offline_round_trip():
    model, tokenizer = pretrained.load_base_model()
    assert isinstance(model, GPT) and not model.training
    assert next(model.parameters()).device.type == "cpu"
    text = "To be, or not to be: that is the question. 你好 🙂"
    ids = tokenizer.encode(text)
    assert all(isinstance(i, int) for i in ids) and tokenizer.decode(ids) == text
    assert tokenizer.vocab_size == model.config.vocab_size
    with torch.no_grad():
        logits = model(torch.tensor([ids[: model.config.block_size]]))
    assert logits.shape == (1, min(len(ids), model.config.block_size), model.config.vocab_size)


def test_base_model_knows_shakespeare_better_than_chance():
    model, tokenizer = pretrained.load_base_model()
    context, held_out = pretrained.shakespeare_held_out()
    score = pretrained.score_text(model, tokenizer, held_out[:2000], context=context[-2000:])
    assert score["chars"] == 2000 and score["nats_per_char"] < 2.0


def test_manifest_records_the_checkpoint():
    entry = pretrained.model_entry()
    assert set(entry["files"]) == set(pretrained.FILES.values())
    for key in ("command", "config", "recipe", "corpus", "train_seconds", "hardware", "results"):
        assert key in entry, key
    assert entry["corpus"]["sha256"] == data.dataset("pretrain_corpus").files["pretrain_corpus.txt"]
    assert (data.DATA_DIR / pretrained.FILES["weights"]).stat().st_size <= 25 * 2**20


@pytest.fixture
def data_copy(tmp_path, monkeypatch, finished_run):
    """A private data/ with the tiny run published as the base model."""
    shutil.copy(data.MANIFEST, tmp_path / "manifest.json")
    monkeypatch.setattr(data, "DATA_DIR", tmp_path)
    monkeypatch.setattr(data, "MANIFEST", tmp_path / "manifest.json")
    pretrained.publish(finished_run, results={"note": "tiny test run"})
    return tmp_path


def test_publish_then_load_gives_the_trained_weights(data_copy, finished_run):
    model, tokenizer = pretrained.load_base_model()
    expected = load_file(str(finished_run / pretrain.WEIGHTS))
    state = model.state_dict()
    assert all(torch.equal(state[k], v) for k, v in expected.items())
    assert tokenizer.decode(tokenizer.encode("O Romeo, Romeo!")) == "O Romeo, Romeo!"


def test_changed_checkpoint_is_refused(data_copy):
    path = data_copy / pretrained.FILES["weights"]
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 1
    path.write_bytes(bytes(raw))
    with pytest.raises(data.DataIntegrityError, match="base_model.safetensors is corrupted"):
        pretrained.load_base_model()


def test_missing_checkpoint_names_the_fix(data_copy):
    (data_copy / pretrained.FILES["tokenizer"]).unlink()
    with pytest.raises(data.DataIntegrityError, match="base_tokenizer.json is missing.*git checkout"):
        pretrained.load_base_model()


# ---------------------------------------------------------------------------------------------------
# the pretraining command
# ---------------------------------------------------------------------------------------------------
def test_resume_after_sigkill_gives_the_same_weights(tiny_corpus, finished_run, tmp_path):
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "course_utils.pretrain", *tiny_argv(tiny_corpus, out)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not (out / pretrain.STATE).exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    assert proc.poll() is None, f"the run ended before it could be killed: {proc.stderr.read().decode()}"
    os.kill(proc.pid, signal.SIGKILL)   # mid-run: the first checkpoint exists, the run is far from done
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()
    assert not (out / pretrain.WEIGHTS).exists()
    assert pretrain.main(tiny_argv(tiny_corpus, out)) == 0          # resume to the end
    resumed, uninterrupted = load_file(str(out / pretrain.WEIGHTS)), load_file(str(finished_run / pretrain.WEIGHTS))
    assert resumed.keys() == uninterrupted.keys()
    assert all(torch.equal(resumed[k], uninterrupted[k]) for k in resumed)
    curve = lambda run: [(r["step"], r["train_loss"], r["val_loss"]) for r in  # noqa: E731
                         json.loads((run / pretrain.CURVE).read_text())]
    assert curve(out) == curve(finished_run)


@pytest.mark.parametrize("args, message", [
    (["--heads", "5"], "--d-model (192) must be divisible by --heads (5)"),
    (["--steps", "0"], "--steps must be a positive integer, got 0"),
    (["--vocab-size", "100"], "--vocab-size must be ≥ 256"),
])
def test_bad_arguments_are_named(args, message, capsys):
    with pytest.raises(SystemExit):
        pretrain.parse_args(args)
    assert message in capsys.readouterr().err


def test_score_text_scores_every_token_once_with_full_context(finished_run):
    from course_utils.bpe import BPETokenizer

    model = pretrained.build_model(finished_run / pretrain.CONFIG, finished_run / pretrain.WEIGHTS)
    tok = BPETokenizer.load(finished_run / pretrain.TOKENIZER)
    text = "Speak, man."                                       # short: fits in one 16-token window
    ids = tok.encode("\n" + text)
    assert len(ids) <= model.config.block_size + 1
    with torch.no_grad():
        logp = torch.log_softmax(model(torch.tensor([ids[:-1]])), dim=-1)[0]       # (T, V)
    direct = -logp[torch.arange(len(ids) - 1), torch.tensor(ids[1:])].sum().item()
    for stride in (1, 4, 16):
        score = pretrained.score_text(model, tok, text, context="\n", stride=stride)
        assert score["tokens"] == len(tok.encode(text)) and score["chars"] == len(text)
        assert score["nats"] == pytest.approx(direct, rel=1e-5)
    long = data.load_text("shakespeare")[:600]                # many windows: still every token once
    assert pretrained.score_text(model, tok, long, stride=5)["tokens"] == len(tok.encode(long))
    with pytest.raises(ValueError, match="stride must be in"):
        pretrained.score_text(model, tok, text, stride=17)
