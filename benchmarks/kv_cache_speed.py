"""Generation speed with and without the KV cache, and the cache's memory per token (formula vs measured).

`generate(model, prompt, n, strategy="greedy", use_cache=...)` for n = 128, 512 and 1,024 new tokens after an
8-token prompt; tokens/s = n / wall seconds, the two runs of each length interleaved so machine load hits both
alike, and their tokens compared (they must be equal). The model has the shape of the course base model
(4 blocks × 192 wide, 6 heads, vocabulary 2,048) with random weights — speed depends on the shape, not on the
values — and a window of prompt + 1,024 positions, so the cache never has to be dropped (past block_size,
generate recomputes the sliding window and the cache no longer helps). `--shape gpt2` times GPT-2 124 M's shape
(12 × 768, 12 heads, vocabulary 50,257): the anchor, 27 → 166 tokens/s for GPT-2 124 M on a laptop CPU, is from
Raschka's LLMs-from-scratch (ch04/03_kv-cache); without the cache it is slow (minutes at 1,024 tokens).

Memory per cached token of one sequence: the formula 2 · n_layers · n_kv_heads · head_dim · 4 bytes, the bytes
the cache's buffers hold (from their storage), and the growth of the process's resident memory when caches for
`--memory-batch` sequences are allocated and filled (Linux /proc/self/statm), before anything else runs.

    python benchmarks/kv_cache_speed.py                       # base shape, 128/512/1024 tokens, 2 threads
    python benchmarks/kv_cache_speed.py --shape gpt2 --lengths 128 512   # GPT-2 124 M's shape
    python benchmarks/kv_cache_speed.py --shape tiny --lengths 16 32 --threads 1 --out /tmp/kv.json   # smoke test
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import torch

from course_utils.generation import generate
from course_utils.kv_cache import kv_cache_bytes_per_token
from course_utils.training import count_parameters
from course_utils.transformer import GPT, GPTConfig

RESULTS = Path(__file__).resolve().parent / "results" / "kv_cache_speed.json"
SHAPES = {"base": dict(vocab_size=2048, d_model=192, n_heads=6, n_layers=4),      # data/base_model.json
          "gpt2": dict(vocab_size=50257, d_model=768, n_heads=12, n_layers=12),   # GPT-2 124 M
          "tiny": dict(vocab_size=97, d_model=36, n_heads=3, n_layers=2)}         # a smoke test
ANCHOR = {"source": "rasbt/LLMs-from-scratch ch04/03_kv-cache", "model": "GPT-2 124 M", "device": "laptop CPU",
          "tokens_per_s_without_cache": 27, "tokens_per_s_with_cache": 166}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shape", choices=sorted(SHAPES), default="base")
    p.add_argument("--lengths", type=int, nargs="+", default=[128, 512, 1024], help="new tokens per run")
    p.add_argument("--prompt", type=int, default=8, help="prompt length (random token ids)")
    p.add_argument("--n-kv-heads", type=int, default=None, help="grouped-query attention: fewer key/value heads")
    p.add_argument("--memory-batch", type=int, default=None,
                   help="sequences in the cache whose memory is measured (default: as many as fill ≈ 96 MiB)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=RESULTS)
    return p.parse_args(argv)


def timed_generate(model: GPT, prompt: torch.Tensor, n: int, use_cache: bool) -> tuple[float, torch.Tensor]:
    """(seconds, ids) of one greedy generation."""
    start = time.perf_counter()
    ids = generate(model, prompt, n, strategy="greedy", use_cache=use_cache)
    return time.perf_counter() - start, ids


def resident_bytes() -> int | None:
    """The process's resident memory (Linux), else None."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE")


def measure_memory(model: GPT, batch: int) -> dict:
    """Bytes per cached token of one sequence: formula, buffer storage, and resident-memory growth."""
    before = resident_bytes()
    cache = model.new_kv_cache(batch)
    for layer in cache.layers:                    # touch every page (zeros may be mapped lazily)
        layer.keys.fill_(1.0)
        layer.values.fill_(1.0)
    after = resident_bytes()
    tokens = batch * cache.capacity
    return {"formula_bytes_per_token": kv_cache_bytes_per_token(model.config),
            "buffer_bytes_per_token": cache.bytes_per_token(),
            "resident_growth_bytes_per_token": None if before is None else round((after - before) / tokens, 1),
            "measured_with": f"{batch} sequences × {cache.capacity} positions ({cache.nbytes / 2**20:.1f} MiB of buffers)"}


def main(argv=None) -> dict:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    config = GPTConfig(**SHAPES[args.shape], block_size=args.prompt + max(args.lengths), n_kv_heads=args.n_kv_heads)
    model = GPT(config).eval()
    prompt = torch.randint(0, config.vocab_size, (1, args.prompt), generator=torch.Generator().manual_seed(args.seed))
    print(f"GPT {count_parameters(model):,} parameters ({args.shape} shape, block_size {config.block_size}) · "
          f"{torch.get_num_threads()} threads · load {os.getloadavg()[0]:.1f}")
    batch = args.memory_batch or max(1, round(96 * 2**20 / (kv_cache_bytes_per_token(config) * config.block_size)))
    memory = measure_memory(model, batch)   # first: memory freed by earlier runs would hide the growth
    for use_cache in (False, True):                                   # warm-up: allocator, kernels
        timed_generate(model, prompt, 8, use_cache)
    rows = []
    for n in args.lengths:
        (t_plain, ids_plain), (t_cached, ids_cached) = (timed_generate(model, prompt, n, c) for c in (False, True))
        row = {"new_tokens": n, "seconds_without_cache": round(t_plain, 3), "seconds_with_cache": round(t_cached, 3),
               "tokens_per_s_without_cache": round(n / t_plain, 1), "tokens_per_s_with_cache": round(n / t_cached, 1),
               "speedup": round(t_plain / t_cached, 2), "same_tokens": torch.equal(ids_plain, ids_cached)}
        rows.append(row)
        print(f"{n:5d} tokens: {row['tokens_per_s_without_cache']:8.1f} → {row['tokens_per_s_with_cache']:8.1f} "
              f"tokens/s (× {row['speedup']:.1f}) · same tokens: {row['same_tokens']}", flush=True)
    print(f"KV cache per token: formula {memory['formula_bytes_per_token']:,} B · buffers "
          f"{memory['buffer_bytes_per_token']:,.0f} B · resident growth {memory['resident_growth_bytes_per_token']} B "
          f"({memory['measured_with']})")
    result = {
        "what": "greedy generation after a random prompt, tokens/s with and without the KV cache (random weights)",
        "shape": args.shape, "config": config.to_dict(), "parameters": count_parameters(model),
        "prompt_tokens": args.prompt, "rows": rows, "memory": memory, "anchor": ANCHOR,
        "threads": torch.get_num_threads(), "load_average_1min_at_end": round(os.getloadavg()[0], 2),
        "machine": {"cpu_count": os.cpu_count(), "processor": platform.processor() or platform.machine(),
                    "torch": torch.__version__, "python": platform.python_version()},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
