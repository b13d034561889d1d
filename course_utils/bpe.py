"""Byte-level byte-pair encoding (BPE), written from scratch.

Training starts from the 256 single bytes and repeatedly merges the most frequent adjacent pair
into a new token until `vocab_size` tokens exist. Because every string is a sequence of UTF-8
bytes, any Unicode text round-trips: decode(encode(s)) == s.

Text is first split into chunks (words with their leading space, numbers, punctuation runs) as
GPT-2 does, so merges never cross a word boundary. Pair counts are updated incrementally — only
the words that contain the merged pair are touched — which keeps training on 1 MB to a few seconds.
"""
from __future__ import annotations

import heapq
import json
import warnings
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path

import regex

from course_utils.validation import require_int, require_str

# GPT-2's pre-tokenisation pattern: contractions, letters, numbers, other symbols, whitespace.
GPT2_SPLIT_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
_SPLIT = regex.compile(GPT2_SPLIT_PATTERN)
Pair = tuple[int, int]


def merge_pair(ids: tuple[int, ...] | list[int], pair: Pair, new_id: int) -> list[int]:
    """Replace every non-overlapping occurrence of `pair` in `ids` (left to right) by `new_id`."""
    out, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and ids[i] == pair[0] and ids[i + 1] == pair[1]:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def pair_counts(ids: list[int] | tuple[int, ...], weight: int = 1, counts: Counter | None = None) -> Counter:
    """Count adjacent pairs in `ids`, each occurrence weighted (a word seen 5 times counts 5)."""
    counts = Counter() if counts is None else counts
    for pair in zip(ids, ids[1:]):
        counts[pair] += weight
    return counts


class BPETokenizer:
    """Byte-level BPE with `train`, `encode`, `decode`, `save`, `load`.

    >>> tok = BPETokenizer.train("low lower lowest", vocab_size=260)
    >>> tok.decode(tok.encode("lowest 🙂")) == "lowest 🙂"
    True
    """

    def __init__(self, merges: list[Pair] | None = None):
        self.merges: dict[Pair, int] = {}
        self.vocab: dict[int, bytes] = {i: bytes([i]) for i in range(256)}
        for pair in merges or []:
            self._add_merge(tuple(pair))
        self._cache: dict[str, list[int]] = {}

    def _add_merge(self, pair: Pair) -> int:
        new_id = 256 + len(self.merges)
        if not all(0 <= t < new_id for t in pair):
            raise ValueError(f"merge {pair} refers to a token id ≥ {new_id} that does not exist yet")
        self.merges[pair] = new_id
        self.vocab[new_id] = self.vocab[pair[0]] + self.vocab[pair[1]]
        return new_id

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    @classmethod
    def train(cls, text: str, vocab_size: int, verbose: bool = False) -> "BPETokenizer":
        """Learn `vocab_size - 256` merges from `text` (the most frequent pair first)."""
        require_str(text)
        vocab_size = require_int(vocab_size, "vocab_size", minimum=256)  # the 256 byte tokens + merges
        tok = cls()
        # 1) split into chunks and count each distinct chunk once, with its frequency
        chunk_freq = Counter(_SPLIT.findall(text))
        words = [list(chunk.encode("utf-8")) for chunk in chunk_freq]
        freqs = list(chunk_freq.values())
        # 2) count all adjacent pairs and remember which words contain each pair
        counts: Counter = Counter()
        where: dict[Pair, set[int]] = defaultdict(set)
        for w, (ids, f) in enumerate(zip(words, freqs)):
            pair_counts(ids, f, counts)
            for pair in zip(ids, ids[1:]):
                where[pair].add(w)
        heap = [(-c, pair) for pair, c in counts.items()]
        heapq.heapify(heap)
        # 3) merge the most frequent pair (ties: smallest ids), updating counts locally
        while tok.vocab_size < vocab_size and heap:
            neg, pair = heapq.heappop(heap)
            if counts.get(pair, 0) != -neg or -neg <= 0:
                continue  # stale heap entry
            new_id = tok._add_merge(pair)
            touched: set[Pair] = set()
            for w in where.pop(pair):
                old = words[w]
                new = merge_pair(old, pair, new_id)
                if len(new) == len(old):
                    continue
                for p in zip(old, old[1:]):
                    counts[p] -= freqs[w]
                    touched.add(p)
                for p in zip(new, new[1:]):
                    counts[p] += freqs[w]
                    where[p].add(w)
                    touched.add(p)
                words[w] = new
            counts.pop(pair, None)
            for p in touched - {pair}:
                if counts[p] > 0:
                    heapq.heappush(heap, (-counts[p], p))
            if verbose:
                print(f"merge {len(tok.merges):4d}: {tok.vocab[pair[0]]!r} + {tok.vocab[pair[1]]!r} "
                      f"-> {new_id} ({-neg} times)")
        if tok.vocab_size < vocab_size:
            warnings.warn(f"text has no pairs left to merge: vocab_size is {tok.vocab_size}, "
                          f"not the {vocab_size} asked for; train on more text", stacklevel=2)
        return tok

    def _encode_chunk(self, chunk: str) -> list[int]:
        ids = list(chunk.encode("utf-8"))
        while len(ids) > 1:
            # apply the earliest-learned merge present in the chunk, as training did
            pair = min(zip(ids, ids[1:]), key=lambda p: self.merges.get(p, float("inf")))
            if pair not in self.merges:
                break
            ids = merge_pair(ids, pair, self.merges[pair])
        return ids

    def encode(self, text: str) -> list[int]:
        """Text → token ids (any Unicode string)."""
        require_str(text)
        out: list[int] = []
        for chunk in _SPLIT.findall(text):
            ids = self._cache.get(chunk)
            if ids is None:
                ids = self._cache[chunk] = self._encode_chunk(chunk)
            out.extend(ids)
        return out

    def decode(self, ids: Iterable[int]) -> str:
        """Token ids (a list, or a 1-D tensor / array) → text; bytes that are not valid UTF-8 on their own
        become '\\ufffd'."""
        ids = [require_int(i, "ids") for i in ids]  # plain ints: a 0-d tensor is not found in a dict
        bad = [i for i in ids if i not in self.vocab]
        if bad:
            raise ValueError(f"ids must be in [0, {self.vocab_size}), got {bad[:5]}")
        return b"".join(self.vocab[i] for i in ids).decode("utf-8", errors="replace")

    def token_strings(self, ids: list[int]) -> list[str]:
        """Each token's bytes shown as text, for printing how a string was split."""
        return [self.vocab[i].decode("utf-8", errors="replace") for i in ids]

    def save(self, path: str | Path) -> None:
        """Write the merges as JSON (no pickle: safe to share)."""
        Path(path).write_text(json.dumps({"type": "byte-bpe", "merges": list(self.merges)}), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> "BPETokenizer":
        """Read merges written by `save`."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if data.get("type") != "byte-bpe":
            raise ValueError(f"{path} is not a BPETokenizer file (type={data.get('type')!r})")
        return cls([tuple(p) for p in data["merges"]])
