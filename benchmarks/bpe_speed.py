"""Speed of the course's byte-level BPE (pure Python) on the shipped Shakespeare, next to tiktoken (Rust).

Measures
1. training `BPETokenizer.train(text, vocab_size=1000)` on the whole corpus (target ≤ 10 s on 2 cores);
2. encoding throughput of the whole corpus (chars/s and tokens/s): a fresh tokenizer (cold chunk cache,
   what a learner sees the first time) and the same tokenizer again (warm cache);
3. tiktoken encoding throughput, single-threaded `encode_ordinary`, with GPT-2's 50,257-token BPE and
   — like with like — with *our* 1,000-token merges loaded into tiktoken; for the latter we also report
   whether the two implementations produce identical ids on the whole corpus.

Each figure is the median (and minimum) over `--rounds` repetitions, interleaved so machine load hits
them alike. Every step is single-threaded, so besides wall-clock time we record CPU time
(`time.process_time`), which stays close to the idle-machine wall time when other jobs share the CPU;
throughputs are given per CPU-second. Prints a table and writes benchmarks/results/bpe_speed.json.
Not a timed test.

    python benchmarks/bpe_speed.py [--rounds 5]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Callable

import tiktoken

from course_utils.bpe import GPT2_SPLIT_PATTERN, BPETokenizer
from course_utils.data import dataset, load_text
from course_utils.tokenizers import gpt2_encoding

VOCAB_SIZE = 1000
TRAIN_TARGET_S = 10.0
RESULTS = Path(__file__).resolve().parent / "results" / "bpe_speed.json"


def seconds(action: Callable[[], object]) -> tuple[tuple[float, float], object]:
    """(wall-clock seconds, CPU seconds) of one call, and its result."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = action()
    return (time.perf_counter() - wall, time.process_time() - cpu), result


def tiktoken_from(tokenizer: BPETokenizer) -> tiktoken.Encoding:
    """Our merges as a tiktoken Encoding: each token's bytes ranked by its id (bytes 0-255, then merges)."""
    ranks = {token_bytes: token_id for token_id, token_bytes in tokenizer.vocab.items()}
    return tiktoken.Encoding(name=f"course-bpe-{tokenizer.vocab_size}", pat_str=GPT2_SPLIT_PATTERN,
                             mergeable_ranks=ranks, special_tokens={})


def summarize(samples: list[tuple[float, float]]) -> dict[str, float]:
    """Median and minimum of the wall and CPU seconds."""
    wall, cpu = [w for w, _ in samples], [c for _, c in samples]
    return {"median_s": statistics.median(wall), "min_s": min(wall),
            "median_cpu_s": statistics.median(cpu), "min_cpu_s": min(cpu)}


def run(rounds: int) -> dict:
    text = load_text("shakespeare")
    gpt2 = gpt2_encoding()
    train_s, encode_cold_s, encode_warm_s, tik_ours_s, tik_gpt2_s = [], [], [], [], []
    for _ in range(rounds):
        t, trained = seconds(lambda: BPETokenizer.train(text, vocab_size=VOCAB_SIZE))
        train_s.append(t)
        fresh = BPETokenizer(list(trained.merges))            # empty chunk cache
        t, ours_ids = seconds(lambda: fresh.encode(text))
        encode_cold_s.append(t)
        t, _ = seconds(lambda: fresh.encode(text))            # every chunk now cached
        encode_warm_s.append(t)
        tik_ours = tiktoken_from(trained)
        t, tik_ours_ids = seconds(lambda: tik_ours.encode_ordinary(text))
        tik_ours_s.append(t)
        t, gpt2_ids = seconds(lambda: gpt2.encode_ordinary(text))
        tik_gpt2_s.append(t)

    def throughput(samples: list[tuple[float, float]], n_tokens: int) -> dict[str, float]:
        stats = summarize(samples)
        cpu = stats["median_cpu_s"]
        return {**stats, "chars_per_cpu_s": len(text) / cpu, "tokens_per_cpu_s": n_tokens / cpu,
                "tokens": n_tokens}

    return {
        "what": f"byte-level BPE on the shipped Shakespeare ({len(text):,} characters)",
        "corpus_sha256": dataset("shakespeare").files["shakespeare.txt"],
        "rounds": rounds,
        "cpu_count": os.cpu_count(),
        "load_average_at_start": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "python": platform.python_version(),
        "tiktoken": tiktoken.__version__,
        "train": {"vocab_size": VOCAB_SIZE, **summarize(train_s), "target_s": TRAIN_TARGET_S},
        "encode": {
            "ours, cold cache (pure Python)": throughput(encode_cold_s, len(ours_ids)),
            "ours, warm cache (pure Python)": throughput(encode_warm_s, len(ours_ids)),
            f"tiktoken with our {VOCAB_SIZE} merges (Rust)": throughput(tik_ours_s, len(tik_ours_ids)),
            "tiktoken GPT-2 r50k_base (Rust)": throughput(tik_gpt2_s, len(gpt2_ids)),
        },
        "tiktoken_with_our_merges_gives_identical_ids": tik_ours_ids == ours_ids,
    }


def print_table(result: dict) -> None:
    train = result["train"]
    verdict = "✓" if train["median_s"] <= train["target_s"] else "✗"
    print(result["what"])
    print(f"{verdict} train to vocab {train['vocab_size']:,}: median {train['median_s']:.2f} s wall "
          f"(min {train['min_s']:.2f} s), {train['median_cpu_s']:.2f} s CPU (target ≤ {train['target_s']:.0f} s)")
    print(f"{'encoder':<36} {'wall s':>7} {'CPU s':>7} {'chars/CPU-s':>12} {'tokens/CPU-s':>13} {'tokens':>9}")
    for name, row in result["encode"].items():
        print(f"{name:<36} {row['median_s']:>7.3f} {row['median_cpu_s']:>7.3f} {row['chars_per_cpu_s']:>12,.0f} "
              f"{row['tokens_per_cpu_s']:>13,.0f} {row['tokens']:>9,}")
    print("tiktoken with our merges gives identical ids:", result["tiktoken_with_our_merges_gives_identical_ids"])
    if result["load_average_at_start"] is not None and result["load_average_at_start"] > 1.0:
        print(f"note: load average {result['load_average_at_start']:.1f} at start — other work shared the CPU; "
              "trust the CPU-second figures over the wall-clock ones")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="repetitions per measurement (median reported)")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error(f"--rounds must be ≥ 1, got {args.rounds}")
    result = run(args.rounds)
    print_table(result)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS.relative_to(RESULTS.parent.parent.parent)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
