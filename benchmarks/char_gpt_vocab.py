"""The BPE recipe's vocabulary size, chosen on a validation slice of the training text.

`char_gpt.py --recipe bpe` learns a byte-level BPE from the training text. How many tokens? Larger vocabularies
put more characters in each token (more text per step) but spread the same text over more, rarer embeddings.
Each candidate runs the whole recipe (1,000 steps) with `--validation-slice`: the tokenizer and the model see the
first 90 % of the training text only, and the loss is scored on its last 10 % — the held-out split that the
README quotes is never read. The smallest validation loss wins. Writes benchmarks/results/char_gpt_vocab.json
(≈ 5 min on 2 cores).

    python benchmarks/char_gpt_vocab.py
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import char_gpt  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "char_gpt_vocab.json"
VOCAB_SIZES = (512, 1024, 2048)


def main() -> dict:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for vocab in VOCAB_SIZES:
            print(f"\n=== BPE {vocab:,}, validation slice ===", flush=True)
            r = char_gpt.main(["--recipe", "bpe", "--vocab-size", str(vocab), "--validation-slice",
                               "--checkpoints", "1", "--out", f"{tmp}/run.json"])
            rows.append({"vocab_size": vocab, "validation_loss": r["val_loss"], "train_seconds": r["train_seconds"],
                         "parameters": r["parameters"], "characters_per_token": r["characters_per_token"]})
    chosen = min(rows, key=lambda row: row["validation_loss"])
    for row in rows:
        print(f"BPE {row['vocab_size']:5,}: {row['validation_loss']:.3f} nats/char on the validation slice · "
              f"{row['characters_per_token']:.2f} chars/token · {row['train_seconds']:.0f} s")
    out = {"what": "char_gpt.py --recipe bpe with each vocabulary size, 1,000 steps, nats per character of a "
                   "validation slice (the last 10 % of the training text); the held-out split is not read",
           "rows": rows, "chosen_vocab_size": chosen["vocab_size"],
           "recipe_vocab_size": char_gpt.RECIPES["bpe"]["vocab_size"], "cpu_model": char_gpt.cpu_model(),
           "load_average_1min_at_end": round(os.getloadavg()[0], 2)}
    RESULTS.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    return out


if __name__ == "__main__":
    main()
