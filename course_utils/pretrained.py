"""The course base model: load it, score text with it, and (once, after training) publish it into data/.

    from course_utils.pretrained import load_base_model, nats_per_char
    model, tokenizer = load_base_model()           # a course GPT in eval mode + its BPETokenizer, offline
    ids = tokenizer.encode("To be, or not to be")  # list[int]
    nats_per_char(model, tokenizer, "Shall I compare thee to a summer's day?")

The checkpoint ships in data/ as plain files — `base_model.safetensors` (weights), `base_model.json`
(GPTConfig, recipe, hardware), `base_tokenizer.json` (BPE merges), `base_model_curve.json` (training
curve) — each checked against its sha256 in data/manifest.json ("models") before use. Nothing is
unpickled: safetensors and JSON cannot run code, so loading is as safe as `torch.load(weights_only=True)`.
It was trained by `python -m course_utils.pretrain` (see that module) on data/cache/pretrain_corpus.txt.
"""
from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import torch

MODEL_NAME = "base_model"
FILES = {"weights": "base_model.safetensors", "config": "base_model.json", "tokenizer": "base_tokenizer.json",
         "curve": "base_model_curve.json"}
RUN_FILES = {"weights": "model.safetensors", "config": "model.json", "tokenizer": "tokenizer.json",
             "curve": "curve.json"}  # the same files in a `python -m course_utils.pretrain --out RUN` folder
TRAIN_COMMAND = "python -m course_utils.pretrain"


def model_entry(name: str = MODEL_NAME) -> dict:
    """The manifest's record of a shipped model: files with sha256, recipe, corpus, hardware, results."""
    from course_utils.data import MANIFEST, DataIntegrityError

    if not MANIFEST.exists():
        raise DataIntegrityError(f"{MANIFEST} is missing")
    models = {m["name"]: m for m in json.loads(MANIFEST.read_text(encoding="utf-8")).get("models", [])}
    if name not in models:
        raise KeyError(f"unknown model {name!r}; models in {MANIFEST.name}: {sorted(models)}")
    return models[name]


def verified_path(file: str, name: str = MODEL_NAME) -> Path:
    """Path of a shipped model file after checking it exists and matches its recorded sha256."""
    from course_utils.data import DATA_DIR, DataIntegrityError, sha256_of

    expected = model_entry(name)["files"].get(file)
    if expected is None:
        raise KeyError(f"model {name!r} has no file {file!r}")
    path = DATA_DIR / file
    if not path.exists():
        raise DataIntegrityError(f"{path} is missing: restore it from git (`git checkout -- data/{file}`) or "
                                 f"retrain with `{TRAIN_COMMAND}` (see data/README.md)")
    actual = sha256_of(path)
    if actual != expected:
        raise DataIntegrityError(f"{path} is corrupted or was replaced (sha256 {actual[:12]}…, expected "
                                 f"{expected[:12]}…); restore it with `git checkout -- data/{file}`")
    return path


def build_model(config_path: Path, weights_path: Path, device: str | torch.device = "cpu"):
    """A course GPT from a JSON config and a safetensors weights file, in eval mode on `device`."""
    from safetensors.torch import load_model

    from course_utils.transformer import GPT, GPTConfig

    meta = json.loads(Path(config_path).read_text(encoding="utf-8"))
    model = GPT(GPTConfig(**meta["config"]))
    load_model(model, str(weights_path), strict=True, device="cpu")
    return model.to(device).eval()


def load_base_model(device: str | torch.device = "cpu"):
    """(model, tokenizer): the course base model — a `GPT` in eval mode on `device` — and the
    `BPETokenizer` it was trained with. Offline; every file's sha256 is checked first."""
    from course_utils.bpe import BPETokenizer

    model = build_model(verified_path(FILES["config"]), verified_path(FILES["weights"]), device)
    tokenizer = BPETokenizer.load(verified_path(FILES["tokenizer"]))
    if tokenizer.vocab_size != model.config.vocab_size:
        raise ValueError(f"tokenizer has {tokenizer.vocab_size} tokens, model expects {model.config.vocab_size}")
    return model, tokenizer


def base_model_info() -> dict:
    """The shipped model's JSON: config, recipe, corpus sha256, training seconds, hardware, final losses."""
    return json.loads(verified_path(FILES["config"]).read_text(encoding="utf-8"))


def training_curve() -> list[dict]:
    """[{step, train_loss, val_loss, seconds, lr}, …] logged while pretraining (val = corpus validation slice)."""
    return json.loads(verified_path(FILES["curve"]).read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------------------------------
# scoring: nats per character, every character once
# ---------------------------------------------------------------------------------------------------
@torch.no_grad()
def score_text(model, tokenizer, text: str, context: str = "\n", stride: int | None = None,
               batch_size: int = 32) -> dict:
    """Total next-token loss of `text` under `model`, every token of `text` scored exactly once.

    Sliding windows of block_size tokens advance by `stride` (default block_size // 2); each window
    scores only its last `stride` positions, so every scored token sees ≥ block_size − stride tokens of
    context (the first ones: `context`, which is never scored — e.g. the text that precedes a held-out
    split). stride = block_size gives plain non-overlapping windows. Returns {nats, tokens, chars,
    nats_per_char, bits_per_byte}."""
    if not isinstance(text, str) or not text:
        raise ValueError(f"text must be a non-empty str, got {type(text).__name__} of length {len(text or '')}")
    T = model.config.block_size
    stride = stride or T // 2
    if not 1 <= stride <= T:
        raise ValueError(f"stride must be in [1, block_size={T}], got {stride}")
    prefix = tokenizer.encode(context)[-T:] if context else []
    if not prefix:
        raise ValueError("context must encode to at least one token (the first token of text needs one)")
    ids = torch.tensor(prefix + tokenizer.encode(text), dtype=torch.long)   # (P + N,)
    first = len(prefix)                                                    # index of the first scored target
    device = next(model.parameters()).device
    jobs = []                                                              # (window start, first scored target)
    target = first
    while target < len(ids):
        end = min(target + stride, len(ids))                               # targets [target, end)
        start = max(0, end - 1 - T)                                        # inputs ids[start : end - 1]
        jobs.append((start, end, target))
        target = end
    nats = 0.0
    for i in range(0, len(jobs), batch_size):
        chunk = jobs[i : i + batch_size]
        width = max(end - 1 - start for start, end, _ in chunk)
        x = torch.zeros(len(chunk), width, dtype=torch.long)               # (B, ≤T) left-aligned windows
        for row, (start, end, _) in enumerate(chunk):
            x[row, : end - 1 - start] = ids[start : end - 1]
        logp = torch.log_softmax(model(x.to(device)).float(), dim=-1)      # (B, ≤T, V)
        for row, (start, end, target) in enumerate(chunk):
            pos = torch.arange(target - 1 - start, end - 1 - start, device=device)  # positions predicting ids[target:end]
            nats -= logp[row, pos, ids[target:end].to(device)].sum().item()
    chars, n_bytes = len(text), len(text.encode("utf-8"))
    return {"nats": nats, "tokens": len(ids) - first, "chars": chars, "nats_per_char": nats / chars,
            "bits_per_byte": nats / math.log(2) / n_bytes}


def nats_per_char(model, tokenizer, text: str, context: str = "\n", stride: int | None = None) -> float:
    """Mean loss per character of `text` (nats): total token loss / characters. See `score_text`."""
    return score_text(model, tokenizer, text, context, stride)["nats_per_char"]


def shakespeare_held_out() -> tuple[str, str]:
    """(context, held-out text) of the course's shared split: the last 10 % of data/shakespeare.txt
    (`train_val_split`), and the training text before it (used as context only, never scored)."""
    from course_utils.data import load_text, train_val_split

    train_text, held_out = train_val_split(load_text("shakespeare"))
    return train_text, held_out


# ---------------------------------------------------------------------------------------------------
# publishing a finished run into data/ (done once by the maintainer, then committed)
# ---------------------------------------------------------------------------------------------------
def publish(run_dir: str | Path, results: dict, name: str = MODEL_NAME, run_notes: dict | None = None) -> dict:
    """Copy a finished `python -m course_utils.pretrain --out RUN` folder into data/ and record it in
    data/manifest.json under "models": sha256 of every file, recipe, corpus, hardware, `results` and
    `run_notes` (wall clock, load average, anything a reader needs to judge the cost)."""
    from course_utils.data import DATA_DIR, MANIFEST, sha256_of

    run_dir = Path(run_dir)
    missing = [f for f in RUN_FILES.values() if not (run_dir / f).exists()]
    if missing:
        raise FileNotFoundError(f"run_dir {run_dir} lacks {missing}: has the run finished?")
    for key, file in FILES.items():
        shutil.copyfile(run_dir / RUN_FILES[key], DATA_DIR / file)
    meta = json.loads((DATA_DIR / FILES["config"]).read_text(encoding="utf-8"))
    entry = {"name": name, "description": "The course base model: a GPT pretrained on data/cache/pretrain_corpus.txt "
             "with the course's byte-level BPE tokenizer (course_utils.pretrained.load_base_model).",
             "files": {file: sha256_of(DATA_DIR / file) for file in FILES.values()},
             "command": meta["command"], "config": meta["config"], "recipe": meta["recipe"],
             "corpus": {"name": "pretrain_corpus", "sha256": meta["corpus_sha256"], "chars": meta["corpus_chars"]},
             "train_seconds": meta["train_seconds"], "hardware": meta["hardware"], "run": run_notes or {},
             "results": results,
             "license": "weights: same terms as the course code; trained on public-domain and BSD-3-Clause text"}
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    manifest["models"] = [m for m in manifest.get("models", []) if m["name"] != name] + [entry]
    MANIFEST.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return entry
