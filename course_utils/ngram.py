"""Character n-gram language models: counts, add-k smoothing and interpolated Kneser–Ney.

An n-gram model predicts the next token from the previous `order - 1` tokens only:

    P(w | h) = count(h w) / count(h)                       (maximum likelihood: 0 for anything unseen)
    P(w | h) = (count(h w) + k) / (count(h) + k·V)         (add-k: every token gets a little mass)

Interpolated Kneser–Ney (Kneser & Ney 1995; Chen & Goodman 1998) subtracts a discount D from every
seen count and gives the freed mass to the next-lower order, recursively, down to a uniform 1/V:

    P_m(w | h) = max(c_m(h w) − D_m, 0) / c_m(h •)  +  D_m · N₁₊(h •) / c_m(h •) · P_{m−1}(w | h⁻)

where h⁻ drops the oldest token of h, N₁₊(h •) is the number of distinct tokens seen after h, and
c_m is the raw count at the highest order but the *continuation count* N₁₊(• h w) (in how many
different left contexts `h w` appeared) at lower orders — "Francisco" is frequent, but only after
"San", so as a fallback it should be rare. Contexts never seen fall through to the lower order.

Everything is vectorised with numpy: each n-gram becomes one integer (its tokens as base-V digits),
counts come from `np.unique`, look-ups from `np.searchsorted`. Fitting ~900k characters at order 5
takes about a second; nltk.lm gives the same numbers (see tests/test_ngram.py) but is far too slow here.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from course_utils.validation import require_int

SMOOTHINGS = ("kneser_ney", "add_k")


@dataclass
class _OrderTable:
    """Counts of one order m: n-gram codes (sorted) → count; context codes (sorted) → total, types."""
    codes: np.ndarray          # (n_ngrams,) int64, sorted
    counts: np.ndarray         # (n_ngrams,) float64 — raw or continuation counts
    context_codes: np.ndarray  # (n_contexts,) int64, sorted
    context_total: np.ndarray  # (n_contexts,) float64 — Σ_w counts(h w)
    context_types: np.ndarray  # (n_contexts,) float64 — N₁₊(h •): distinct w with counts(h w) > 0


def _as_id_array(ids, name: str = "ids") -> np.ndarray:
    """A 1-D int64 numpy array from a list, numpy array or CPU torch tensor of token ids."""
    if hasattr(ids, "detach"):
        ids = ids.detach().cpu().numpy()
    array = np.asarray(ids)
    if array.ndim != 1:
        raise ValueError(f"{name} must be a 1-D sequence of token ids, got shape {array.shape}")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"{name} must hold integer token ids, got dtype {array.dtype}")
    return array.astype(np.int64, copy=False)


def _ngram_codes(windows: np.ndarray, m: int, vocab_size: int) -> np.ndarray:
    """The last m columns of `windows` (n, N) read as one base-V integer per row: (n,)."""
    code = np.zeros(len(windows), dtype=np.int64)
    for column in range(windows.shape[1] - m, windows.shape[1]):
        code = code * vocab_size + windows[:, column]
    return code


def _table(codes: np.ndarray, counts: np.ndarray, vocab_size: int) -> _OrderTable:
    """Attach per-context totals and type counts to sorted unique n-gram codes with their counts."""
    contexts, which = np.unique(codes // vocab_size, return_inverse=True)
    return _OrderTable(codes, counts.astype(np.float64), contexts,
                       np.bincount(which, weights=counts).astype(np.float64),
                       np.bincount(which).astype(np.float64))


def _lookup(sorted_keys: np.ndarray, values: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """values[k] for each query found in sorted_keys, 0 where it is absent."""
    if len(sorted_keys) == 0:
        return np.zeros(len(queries))
    where = np.clip(np.searchsorted(sorted_keys, queries), 0, len(sorted_keys) - 1)
    return np.where(sorted_keys[where] == queries, values[where], 0.0)


def _estimate_discount(counts: np.ndarray) -> float:
    """Ney's estimate D = n₁ / (n₁ + 2·n₂) from how many n-grams were seen once (n₁) and twice (n₂)."""
    n1, n2 = np.sum(counts == 1), np.sum(counts == 2)
    return float(n1 / (n1 + 2 * n2)) if n1 > 0 and n2 > 0 else 0.5


class NGramLanguageModel:
    """A count-based language model over integer token ids (characters in this course).

    order:      n — the model conditions on the previous n − 1 tokens (1 = unigram).
    vocab_size: V; taken as max(id) + 1 of the training ids when omitted.
    smoothing:  "kneser_ney" (interpolated, down to uniform) or "add_k" (at every order).
    discount:   Kneser–Ney D: None = estimate per order from the counts, a float for every order, or
                one value per order (lowest first). D₁ = 0 reproduces nltk.lm's unsmoothed unigram.
    k:          the pseudo-count of add-k smoothing (k = 1 is Laplace).
    """

    def __init__(self, order: int, vocab_size: int | None = None, smoothing: str = "kneser_ney",
                 discount: float | list[float] | None = None, k: float = 1.0):
        order = require_int(order, "order", minimum=1)
        if smoothing not in SMOOTHINGS:
            raise ValueError(f"smoothing must be one of {SMOOTHINGS}, got {smoothing!r}")
        if vocab_size is not None:
            vocab_size = require_int(vocab_size, "vocab_size", minimum=1)
        if not k > 0:
            raise ValueError(f"k must be > 0, got {k}")
        self.order, self.vocab_size, self.smoothing, self.k = order, vocab_size, smoothing, float(k)
        self._discount_arg = self._check_discount(discount, order)
        self.discounts: list[float] = []
        self._tables: list[_OrderTable] = []  # index m − 1 holds order m

    @staticmethod
    def _check_discount(discount, order: int):
        if discount is None:
            return None
        values = [discount] * order if np.isscalar(discount) else list(discount)
        if len(values) != order or not all(0 <= float(d) <= 1 for d in values):
            raise ValueError(f"discount must be None, a number in [0, 1], or {order} such numbers "
                             f"(one per order), got {discount!r}")
        return [float(d) for d in values]

    def __repr__(self) -> str:
        return f"NGramLanguageModel(order={self.order}, vocab_size={self.vocab_size}, smoothing={self.smoothing!r})"

    # ---------------------------------------------------------------- fitting
    def fit(self, ids) -> "NGramLanguageModel":
        """Count every n-gram of orders 1..order in `ids`; return self."""
        ids = _as_id_array(ids)
        if len(ids) < self.order:
            raise ValueError(f"need at least order={self.order} training tokens, got {len(ids)}")
        if ids.min() < 0:
            raise ValueError(f"ids must be ≥ 0, got {ids.min()}")
        self.vocab_size = self.vocab_size or int(ids.max()) + 1
        if ids.max() >= self.vocab_size:
            raise ValueError(f"ids must be < vocab_size={self.vocab_size}, got {ids.max()}")
        if self.vocab_size ** self.order >= 2 ** 62:
            raise ValueError(f"order={self.order} is too high for vocab_size={self.vocab_size}: "
                             f"n-gram codes would overflow int64")
        windows = np.lib.stride_tricks.sliding_window_view(ids, self.order)  # (n − order + 1, order)
        tables: list[_OrderTable] = [None] * self.order  # type: ignore[list-item]
        higher_codes = None
        for m in range(self.order, 0, -1):  # top order first: lower orders need its types
            # every m-gram of the text (windows miss the first few; add them back from the start)
            codes = np.concatenate([_ngram_codes(windows, m, self.vocab_size),
                                    _ngram_codes(np.lib.stride_tricks.sliding_window_view(
                                        ids[: self.order - 1], m), m, self.vocab_size)
                                    if self.order - 1 >= m else np.zeros(0, np.int64)])
            distinct, counts = np.unique(codes, return_counts=True)
            if self.smoothing == "kneser_ney" and m < self.order:
                # continuation count N₁₊(• h w): distinct (m+1)-grams whose last m tokens are h w
                tables[m - 1] = _table(*np.unique(higher_codes % self.vocab_size ** m, return_counts=True),
                                       self.vocab_size)
            else:
                tables[m - 1] = _table(distinct, counts, self.vocab_size)
            higher_codes = distinct
        self._tables = tables
        self.discounts = self._discount_arg or [_estimate_discount(t.counts) for t in tables]
        return self

    @property
    def num_ngrams(self) -> int:
        """How many distinct n-grams (all orders) the model stores: its 'parameter count'."""
        return int(sum(len(t.codes) for t in self._tables))

    def _require_fitted(self) -> None:
        if not self._tables:
            raise RuntimeError("this NGramLanguageModel is not fitted yet: call .fit(train_ids) first")

    # ------------------------------------------------------------- probabilities
    def _probabilities(self, windows: np.ndarray, context_len: np.ndarray) -> np.ndarray:
        """P(windows[:, -1] | the context_len tokens before it) for each row of windows (n, order)."""
        V = self.vocab_size
        p = np.full(len(windows), 1.0 / V)  # order 0: uniform
        for m, table in enumerate(self._tables, start=1):
            rows = context_len >= m - 1                        # rows with enough history for order m
            codes = _ngram_codes(windows[rows], m, V)
            count = _lookup(table.codes, table.counts, codes)
            total = _lookup(table.context_codes, table.context_total, codes // V)
            if self.smoothing == "add_k":
                p[rows] = (count + self.k) / (total + self.k * V)
                continue
            types = _lookup(table.context_codes, table.context_types, codes // V)
            D, lower = self.discounts[m - 1], p[rows]
            seen = total > 0
            safe = np.where(seen, total, 1.0)
            p[rows] = np.where(seen, np.maximum(count - D, 0) / safe + D * types / safe * lower, lower)
        return p

    def next_token_probs(self, context=()) -> np.ndarray:
        """The distribution over the next token after `context` (only its last order − 1 ids matter): (V,)."""
        self._require_fitted()
        context = _as_id_array(list(context) if not hasattr(context, "shape") else context, "context")
        history = context[max(0, len(context) - (self.order - 1)):] if self.order > 1 else context[:0]
        if len(history) and (history.min() < 0 or history.max() >= self.vocab_size):
            raise ValueError(f"context ids must be in [0, {self.vocab_size}), got {history.tolist()}")
        padded = np.concatenate([np.zeros(self.order - 1 - len(history), np.int64), history])
        windows = np.column_stack([np.tile(padded, (self.vocab_size, 1)), np.arange(self.vocab_size)])
        return self._probabilities(windows, np.full(self.vocab_size, len(history)))

    def token_nll(self, ids) -> np.ndarray:
        """−ln P(ids[i] | ids[:i]) for every position (the first positions see a shorter context): (n,)."""
        self._require_fitted()
        ids = _as_id_array(ids)
        if len(ids) and (ids.min() < 0 or ids.max() >= self.vocab_size):
            raise ValueError(f"ids must be in [0, {self.vocab_size}), got min {ids.min()}, max {ids.max()}")
        padded = np.concatenate([np.zeros(self.order - 1, np.int64), ids])
        windows = np.lib.stride_tricks.sliding_window_view(padded, self.order)  # (n, order)
        context_len = np.minimum(np.arange(len(ids)), self.order - 1)
        with np.errstate(divide="ignore"):
            return -np.log(self._probabilities(windows, context_len))

    def nll(self, ids) -> float:
        """Mean negative log-likelihood in nats per token: the cross-entropy on `ids` (held-out or not)."""
        ids = _as_id_array(ids)
        if len(ids) == 0:
            raise ValueError("ids must not be empty")
        return float(self.token_nll(ids).mean())

    # ------------------------------------------------------------------ sampling
    def sample(self, n_tokens: int, prompt=(), seed: int = 0, temperature: float = 1.0) -> list[int]:
        """Draw `n_tokens` ids one at a time from P(w | last order − 1 ids); returns prompt + new ids."""
        self._require_fitted()
        n_tokens = require_int(n_tokens, "n_tokens", minimum=0)
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        rng = np.random.default_rng(seed)
        out = [int(i) for i in _as_id_array(list(prompt) if not hasattr(prompt, "shape") else prompt, "prompt")]
        for _ in range(n_tokens):
            p = self.next_token_probs(out) ** (1.0 / temperature)
            out.append(int(rng.choice(self.vocab_size, p=p / p.sum())))
        return out


def uniform_nll(vocab_size: int) -> float:
    """Cross-entropy of the uniform model: ln V nats per token (its perplexity is exactly V)."""
    vocab_size = require_int(vocab_size, "vocab_size", minimum=1)
    return math.log(vocab_size)


def unseen_fraction(train_ids, test_ids, n: int, vocab_size: int | None = None) -> float:
    """Fraction of the n-grams of `test_ids` that never occur in `train_ids`.

    Maximum likelihood gives each of them probability 0 — an infinite held-out cross-entropy — which
    is why every n-gram model needs smoothing, and more so the longer n is (data sparsity).
    """
    train, test = _as_id_array(train_ids, "train_ids"), _as_id_array(test_ids, "test_ids")
    n = require_int(n, "n", minimum=1)
    if len(test) < n or len(train) < n:
        raise ValueError(f"need at least n={n} tokens in train_ids and test_ids, got {len(train)} and {len(test)}")
    V = vocab_size or int(max(train.max(), test.max())) + 1
    if V ** n >= 2 ** 62:
        raise ValueError(f"n={n} is too high for vocab_size={V}: n-gram codes would overflow int64")
    codes = [_ngram_codes(np.lib.stride_tricks.sliding_window_view(ids, n), n, V) for ids in (train, test)]
    return float(1.0 - np.isin(codes[1], codes[0]).mean())
