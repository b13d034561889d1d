"""Which change bought how much? The char recipe → the BPE recipe of `char_gpt.py`, one change at a time.

Four runs of the same 3-block × 96 GPT for the same 1,000 steps of 32 × 64 tokens (Muon, lr 1e-2, cosine),
scored in nats per held-out character of the shared Shakespeare split:

    characters, classic block (learned positions, LayerNorm, GELU MLP)
    characters, modern block  (RoPE, RMSNorm, SwiGLU, 2 key/value heads — notebook 12)
    BPE 1,024,  classic block
    BPE 1,024,  modern block   (= `char_gpt.py --recipe bpe`)

Equal steps rather than equal seconds keeps the runs repeatable; each row records its training seconds, so
the time each change costs is on the table too. This reports the held-out loss of four fixed variants and
chooses nothing. Writes benchmarks/results/char_gpt_ablation.json (≈ 7 min on 2 cores).

    python benchmarks/char_gpt_ablation.py
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import char_gpt  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "char_gpt_ablation.json"
STEPS = 1000
MODERN = ["--positional", "rope", "--norm", "rmsnorm", "--feed-forward", "swiglu", "--n-kv-heads", "2"]
VARIANTS = {
    "characters, classic block": ["--tokenizer", "char"],
    "characters, modern block": ["--tokenizer", "char", *MODERN],
    "BPE 1,024, classic block": ["--tokenizer", "bpe", "--vocab-size", "1024"],
    "BPE 1,024, modern block": ["--tokenizer", "bpe", "--vocab-size", "1024", *MODERN],
}


def main() -> dict:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, flags in VARIANTS.items():
            print(f"\n=== {name} ===", flush=True)
            r = char_gpt.main([*flags, "--steps", str(STEPS), "--checkpoints", "1", "--out", f"{tmp}/run.json"])
            rows.append({"variant": name, "flags": flags, "val_loss": r["val_loss"],
                         "train_seconds": r["train_seconds"], "steps_per_s": r["steps_per_s"],
                         "parameters": r["parameters"], "characters_per_token": r["characters_per_token"]})
    base = rows[0]["val_loss"]
    for row in rows:
        row["gain_vs_first"] = round(base - row["val_loss"], 4)
        print(f"{row['variant']:28s} {row['val_loss']:.3f} nats/char  {row['train_seconds']:6.1f} s  "
              f"({row['gain_vs_first']:+.3f} vs the first row)")
    out = {"what": "char_gpt.py variants, 1,000 equal steps each, nats per held-out character",
           "steps": STEPS, "rows": rows, "cpu_model": char_gpt.cpu_model(),
           "load_average_1min_at_end": round(os.getloadavg()[0], 2)}
    RESULTS.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    return out


if __name__ == "__main__":
    main()
