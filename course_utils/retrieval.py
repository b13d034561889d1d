"""TF-IDF retrieval, written with torch: find the stored texts most similar to a query (notebook 09).

    tf(t, d)  = how often term t occurs in text d            (or 1 + ln tf with sublinear_tf=True)
    idf(t)    = ln((1 + N) / (1 + df(t))) + 1                 N texts, df(t) = texts that contain t
    v(d)      = tf(·, d) · idf(·) / ‖tf(·, d) · idf(·)‖₂      one unit-length row per text: (N, V)
    cos(q, d) = v(q) · v(d)                                   all queries at once: (M, V) @ (V, N)

A word that occurs everywhere ("the", "is") gets a small idf and counts for little; a rare word that
query and text share ("printer") counts for a lot. The idf formula is scikit-learn's default (smooth_idf),
so numbers match `TfidfVectorizer(norm="l2")` given the same tokens.

`DenseRetriever` has the same interface with a pretrained sentence encoder instead of word counts (e.g.
`course_utils.pretrained.load_minilm()`): each text becomes one unit vector of its meaning, so "websites won't
load" can find "my internet is down" without a shared word.

`recall_at_k` scores rankings of candidate responses (is the right one among the top k?).
"""
from __future__ import annotations

import math
import re
from collections import Counter
from typing import Callable, Sequence

import torch

from course_utils.validation import require_int, require_str

_WORD = re.compile(r"[\w']+")


def simple_tokenize(text: str) -> list[str]:
    """Lower-cased runs of letters, digits, _ and ' — punctuation is dropped: "Hi, I'm Bob!" → ['hi', "i'm", 'bob']."""
    return _WORD.findall(require_str(text).lower())


def content_tokenize(text: str) -> list[str]:
    """`simple_tokenize` without English stop words (spaCy's list, offline) and n't-contractions:
    "My printer won't print" → ['printer', 'print']. With few stored texts, words like "my" or "won't"
    would otherwise decide the match."""
    from spacy.lang.en.stop_words import STOP_WORDS

    return [w for w in simple_tokenize(text)
            if w not in STOP_WORDS and not w.endswith("n't") and w.split("'")[0] not in STOP_WORDS]


class _NearestTexts:
    """What every retriever here shares: given `similarity(queries)` (M, N) and the fitted `documents`,
    the k best matches per query."""

    documents: list[str]

    def similarity(self, queries: Sequence[str]) -> torch.Tensor:  # pragma: no cover - defined by subclasses
        raise NotImplementedError

    def _require_fitted(self) -> None:  # pragma: no cover - defined by subclasses
        raise NotImplementedError

    def top_k(self, queries: Sequence[str], k: int = 5) -> tuple[torch.Tensor, torch.Tensor]:
        """For each query the k most similar fitted texts: (scores (M, k), indices (M, k)), best first
        (ties broken by lower index)."""
        self._require_fitted()
        k = require_int(k, "k", minimum=1, maximum=len(self.documents))
        sims = self.similarity(queries)                                               # (M, N)
        # stable sort: equal scores keep index order, so results do not depend on the platform
        order = sims.argsort(dim=1, descending=True, stable=True)[:, :k]
        return sims.gather(1, order), order

    def query(self, text: str, k: int = 5) -> list[tuple[int, float]]:
        """The k most similar fitted texts to one query, as (index, cosine) pairs."""
        if not isinstance(text, str):
            raise TypeError(f"text must be str, got {type(text).__name__}")
        scores, indices = self.top_k([text], k)
        return [(int(i), float(s)) for i, s in zip(indices[0], scores[0])]


class TfidfRetriever(_NearestTexts):
    """Fit on N texts; `query(text, k)` returns the k most similar (index, cosine) pairs."""

    def __init__(self, tokenize: Callable[[str], list[str]] = simple_tokenize, min_df: int = 1,
                 sublinear_tf: bool = False):
        min_df = require_int(min_df, "min_df", minimum=1)
        self.tokenize, self.min_df, self.sublinear_tf = tokenize, min_df, sublinear_tf
        self.terms: dict[str, int] = {}       # term → column
        self.idf: torch.Tensor | None = None  # (V,)
        self.matrix: torch.Tensor | None = None  # (N, V), unit rows
        self.documents: list[str] = []

    def __repr__(self) -> str:
        shape = tuple(self.matrix.shape) if self.matrix is not None else "unfitted"
        return f"TfidfRetriever(texts×terms={shape}, min_df={self.min_df}, sublinear_tf={self.sublinear_tf})"

    def fit(self, documents: Sequence[str]) -> "TfidfRetriever":
        """Learn the vocabulary and idf from `documents` and store their unit TF-IDF rows."""
        if isinstance(documents, str) or len(documents) == 0:
            raise ValueError("documents must be a non-empty list of str")
        docs = [self.tokenize(d) for d in documents]
        df = Counter(term for tokens in docs for term in set(tokens))                 # document frequency
        kept = sorted(t for t, c in df.items() if c >= self.min_df)
        self.terms = {t: i for i, t in enumerate(kept)}
        n = len(docs)
        self.idf = torch.tensor([math.log((1 + n) / (1 + df[t])) + 1 for t in kept])  # (V,)
        self.documents = list(documents)
        self.matrix = self._vectors(docs)
        return self

    def _vectors(self, token_lists: list[list[str]]) -> torch.Tensor:
        tf = torch.zeros(len(token_lists), len(self.terms))                          # (M, V)
        for row, tokens in enumerate(token_lists):
            for term, count in Counter(tokens).items():
                col = self.terms.get(term)
                if col is not None:
                    tf[row, col] = count
        if self.sublinear_tf:
            tf = torch.where(tf > 0, 1 + tf.clamp_min(1).log(), tf)
        v = tf * self.idf                                                             # (M, V)
        return v / v.norm(dim=1, keepdim=True).clamp_min(1e-12)                       # unit rows (0 stays 0)

    def _require_fitted(self) -> None:
        if self.matrix is None:
            raise RuntimeError("this TfidfRetriever is not fitted yet: call .fit(documents) first")

    def transform(self, texts: Sequence[str]) -> torch.Tensor:
        """Unit TF-IDF rows (M, V) for new texts; terms not seen in fit are ignored."""
        self._require_fitted()
        if isinstance(texts, str):
            raise TypeError("texts must be a list of str, got one str; wrap it: [text]")
        return self._vectors([self.tokenize(t) for t in texts])

    def similarity(self, queries: Sequence[str]) -> torch.Tensor:
        """Cosine similarity of every query with every fitted text: (M, N), values in [0, 1]."""
        return self.transform(queries) @ self.matrix.T

class DenseRetriever(_NearestTexts):
    """Fit on N texts with a sentence `encoder` (anything with `.encode(list_of_str, batch_size=…)` → (N, D),
    e.g. `load_minilm()`); `query(text, k)` returns the k most similar (index, cosine) pairs.

    TfidfRetriever's interface, with a dense vector of the text's *meaning* in place of sparse word counts:
    a pretrained encoder maps paraphrases close together, so a query can match a text with no word in
    common (and two texts that share words can still be far apart)."""

    def __init__(self, encoder, batch_size: int = 64):
        if not callable(getattr(encoder, "encode", None)):
            raise TypeError(f"encoder must have an encode(list_of_str) method, got {type(encoder).__name__}")
        self.encoder, self.batch_size = encoder, require_int(batch_size, "batch_size", minimum=1)
        self.matrix: torch.Tensor | None = None  # (N, D), unit rows
        self.documents: list[str] = []

    def __repr__(self) -> str:
        shape = tuple(self.matrix.shape) if self.matrix is not None else "unfitted"
        return f"DenseRetriever(texts×dims={shape}, encoder={type(self.encoder).__name__})"

    def fit(self, documents: Sequence[str]) -> "DenseRetriever":
        """Encode and store `documents` as unit vectors (N, D)."""
        if isinstance(documents, str) or len(documents) == 0:
            raise ValueError("documents must be a non-empty list of str")
        self.documents = list(documents)
        self.matrix = self.transform(self.documents, _fitting=True)
        return self

    def _require_fitted(self) -> None:
        if self.matrix is None:
            raise RuntimeError("this DenseRetriever is not fitted yet: call .fit(documents) first")

    def transform(self, texts: Sequence[str], _fitting: bool = False) -> torch.Tensor:
        """Unit vectors (M, D) for `texts`, on the CPU."""
        if not _fitting:
            self._require_fitted()
        if isinstance(texts, str):
            raise TypeError("texts must be a list of str, got one str; wrap it: [text]")
        texts = [require_str(t, f"texts[{i}]") for i, t in enumerate(texts)]
        vectors = torch.as_tensor(self.encoder.encode(texts, batch_size=self.batch_size)).float().cpu()  # (M, D)
        return vectors / vectors.norm(dim=1, keepdim=True).clamp_min(1e-12)

    def similarity(self, queries: Sequence[str]) -> torch.Tensor:
        """Cosine similarity of every query with every fitted text: (M, N), values in [−1, 1]."""
        return self.transform(queries) @ self.matrix.T


def cosine_matrix(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Row-wise cosine similarity of (M, D) and (N, D) → (M, N); zero rows give 0."""
    if a.dim() != 2 or b.dim() != 2 or a.size(1) != b.size(1):
        raise ValueError(f"a and b must be (M, D) and (N, D), got {tuple(a.shape)} and {tuple(b.shape)}")
    a = a / a.norm(dim=1, keepdim=True).clamp_min(1e-12)
    b = b / b.norm(dim=1, keepdim=True).clamp_min(1e-12)
    return a @ b.T


def recall_at_k(scores: torch.Tensor, true_index: torch.Tensor | Sequence[int], k: int) -> float:
    """Fraction of rows whose true candidate ranks in the top k of `scores` (M, C) (higher = better).

    Ties count fairly: a true candidate tied with e others, with g candidates strictly above, is in
    the top k with probability clamp((k − g) / (e + 1), 0, 1) — the chance under random tie-breaking —
    so a scorer that gives every candidate the same score earns exactly k / C.
    """
    if not torch.is_tensor(scores) or scores.dim() != 2:
        raise ValueError(f"scores must be a (M, C) tensor, got {getattr(scores, 'shape', type(scores).__name__)}")
    true_index = torch.as_tensor(true_index, dtype=torch.long)
    if true_index.shape != (scores.size(0),):
        raise ValueError(f"true_index must have shape ({scores.size(0)},), got {tuple(true_index.shape)}")
    k = require_int(k, "k", minimum=1, maximum=scores.size(1))
    true_score = scores.gather(1, true_index[:, None])                     # (M, 1)
    greater = (scores > true_score).sum(1).float()                          # (M,)
    ties = (scores == true_score).sum(1).float() - 1                        # others with the same score
    return ((k - greater) / (ties + 1)).clamp(0, 1).mean().item()


def candidate_sets(responses: Sequence[str], n_candidates: int = 10, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """The 1-in-C response-selection test: for each held-out pair i, C candidate indices into `responses`
    — the true one (i itself) plus C − 1 random others whose text differs from responses[i] (so no
    distractor is secretly correct), shuffled. Returns (candidates (n, C), position of the truth (n,))."""
    if isinstance(responses, str):
        raise TypeError("responses must be a list of str, got one str")
    n = len(responses)
    n_candidates = require_int(n_candidates, "n_candidates", minimum=2, maximum=n)  # at most len(responses)
    g = torch.Generator().manual_seed(seed)
    rows, truth = [], []
    for i in range(n):
        others = [int(j) for j in torch.randperm(n, generator=g) if responses[j] != responses[i]]
        if len(others) < n_candidates - 1:
            raise ValueError(f"responses[{i}] has only {len(others)} responses with a different text; "
                             f"need {n_candidates - 1} distractors")
        row = torch.tensor([i, *others[: n_candidates - 1]])[torch.randperm(n_candidates, generator=g)]
        rows.append(row)
        truth.append(int((row == i).nonzero()))
    return torch.stack(rows), torch.tensor(truth)
