"""Extractive summarization: split a text into sentences, score every sentence, keep the best k.

* `split_sentences` — spaCy's rule-based `sentencizer` on `spacy.blank("en")` (no model download).
* `lead_k` — the first k sentences. Writers put the point first, so this is a famously hard baseline.
* `word_frequency_scores` — Luhn (1958): a sentence matters if it is made of the text's frequent
  content words.
* `textrank_scores` — TextRank (Mihalcea & Tarau, 2004): sentences are nodes of a graph whose edges are
  word-overlap similarities; PageRank (power iteration) ranks the sentences most "recommended" by others.

`summarize(text, method, k)` returns the k chosen sentences in their original order.

With a sentence encoder (`course_utils.pretrained.load_minilm`): `embed_document_sentences` splits and embeds
many documents in one call, and `embedding_centrality_scores` ranks a document's sentences by meaning instead of
shared words — the centroid method, or PageRank over cosine similarities (LexRank with embeddings).

For the abstractive rungs of notebook 07: `document_head` cuts a document to the tokens a prompt can
afford, and `covered_share` measures how much of one text's vocabulary another contains (of the
reference in the first sentence, of a model's summary in its document).
"""
from __future__ import annotations

import functools
import math
from collections import Counter
from typing import Sequence

import numpy as np

from course_utils.validation import require_int, require_str

METHODS = ("lead", "frequency", "textrank")


@functools.lru_cache(maxsize=1)
def _sentencizer():
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")  # splits after . ! ? (and keeps abbreviations like "e.g." whole)
    return nlp


def split_sentences(text: str) -> list[str]:
    """Sentences of `text` (whitespace-trimmed, empty ones dropped) by spaCy's sentencizer."""
    require_str(text, "text")
    return [s.text.strip() for s in _sentencizer()(text).sents if s.text.strip()]


@functools.lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    """spaCy's 326 English stop words ("the", "is", "of", …): frequent words that say little."""
    from spacy.lang.en.stop_words import STOP_WORDS

    return frozenset(STOP_WORDS)


def content_words(sentence: str) -> list[str]:
    """Lower-cased alphanumeric tokens of a sentence that are not stop words."""
    require_str(sentence, "sentence")
    stops = stop_words()
    tokens = (t.lower_ for t in _sentencizer().tokenizer(sentence))
    return [t for t in tokens if any(c.isalnum() for c in t) and t not in stops]


def _check_sentences(sentences: Sequence[str]) -> list[str]:
    if isinstance(sentences, str):
        raise TypeError("sentences must be a list of str, got one str; split it with split_sentences(text)")
    sentences = list(sentences)
    for i, s in enumerate(sentences):
        if not isinstance(s, str):
            raise TypeError(f"sentences must contain str, got {type(s).__name__} at index {i}")
    return sentences


def _check_k(k: int) -> None:
    k = require_int(k, "k", minimum=1)  # sentences to keep


def lead_k(sentences: Sequence[str], k: int = 1) -> list[str]:
    """The first k sentences (all of them if there are fewer)."""
    _check_k(k)
    return _check_sentences(sentences)[:k]


def word_frequency_scores(sentences: Sequence[str]) -> np.ndarray:
    """score(s) = mean over the content words w of s of freq(w) / max freq — Luhn's idea: the words a
    text repeats are its topic. Dividing by the sentence's length stops long sentences from winning
    just by being long. A sentence without content words scores 0."""
    words = [content_words(s) for s in _check_sentences(sentences)]
    freq = Counter(w for ws in words for w in ws)
    top = max(freq.values(), default=1)
    return np.array([sum(freq[w] for w in ws) / top / len(ws) if ws else 0.0 for ws in words])


def overlap_similarity(a: Sequence[str], b: Sequence[str]) -> float:
    """TextRank's sentence similarity: |a ∩ b| / (log|a| + log|b|) — shared words, discounted for length
    (0 when there is nothing to share or both sentences have a single word)."""
    shared = len(set(a) & set(b))
    denominator = math.log(len(a)) + math.log(len(b)) if a and b else 0.0
    return shared / denominator if shared and denominator > 0 else 0.0


def similarity_matrix(sentences: Sequence[str]) -> np.ndarray:
    """(n, n) symmetric matrix of `overlap_similarity` between sentences' content words; zero diagonal."""
    words = [content_words(s) for s in _check_sentences(sentences)]
    n = len(words)
    W = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            W[i, j] = W[j, i] = overlap_similarity(words[i], words[j])
    return W


def pagerank(W: np.ndarray, damping: float = 0.85, tol: float = 1e-10, max_iter: int = 200) -> np.ndarray:
    """PageRank of a weighted graph by power iteration:

        r ← (1 − d)/n + d · Pᵀ r,   P[i, j] = W[i, j] / Σ_j W[i, j]   (a node with no edges links to all)

    A random surfer follows an edge with probability d (chosen in proportion to its weight) or jumps
    to a random node; r is where it spends its time. Returns r (sums to 1), rounded to 12 decimals: the
    last bits of a matrix–vector product depend on the CPU's vector instructions, so two sentences that are
    exactly as central (a two-sentence document) must stay an exact tie on every machine.
    """
    W = np.asarray(W, dtype=float)
    if W.ndim != 2 or W.shape[0] != W.shape[1]:
        raise ValueError(f"W must be a square (n, n) matrix, got shape {W.shape}")
    if (W < 0).any():
        raise ValueError("W must have non-negative weights")
    if not 0 <= damping < 1:
        raise ValueError(f"damping must be in [0, 1), got {damping}")
    n = W.shape[0]
    if n == 0:
        return np.zeros(0)
    out = W.sum(axis=1, keepdims=True)                               # (n, 1) total edge weight per node
    P = np.where(out > 0, W / np.where(out > 0, out, 1), 1.0 / n)    # (n, n) row-stochastic
    r = np.full(n, 1.0 / n)
    for _ in range(max_iter):
        new = (1 - damping) / n + damping * P.T @ r
        converged = np.abs(new - r).sum() < tol
        r = new
        if converged:
            break
    return np.round(r, 12)


def textrank_scores(sentences: Sequence[str], damping: float = 0.85) -> np.ndarray:
    """PageRank over the sentence-similarity graph: central sentences share words with many others."""
    return pagerank(similarity_matrix(sentences), damping)


CENTRALITY_VARIANTS = ("centroid", "pagerank")


def embedding_centrality_scores(vectors, variant: str = "pagerank", damping: float = 0.85) -> np.ndarray:
    """How central each sentence of one document is, from its unit-length sentence embeddings (n, C):

    * "centroid": cosine similarity with the mean of the document's sentence vectors — the sentence
      closest to what the whole document is about;
    * "pagerank": PageRank over the graph whose edge weights are the positive cosine similarities between
      sentences (LexRank, Erkan & Radev 2004, with neural embeddings): TextRank with similarity of
      meaning in place of shared words, so "returns" and "gives back" count as related.

    Returns (n,) scores; feed them to `top_k`."""
    import torch

    if variant not in CENTRALITY_VARIANTS:
        raise ValueError(f"variant must be one of {CENTRALITY_VARIANTS}, got {variant!r}")
    vectors = torch.as_tensor(vectors, dtype=torch.float32).detach().cpu()
    if vectors.ndim != 2:
        raise ValueError(f"vectors must be a 2-D (sentences, dim) array, got shape {tuple(vectors.shape)}")
    if len(vectors) == 0:
        return np.zeros(0)
    if variant == "centroid":
        centroid = vectors.mean(0)                                               # (C,)
        return (vectors @ centroid / centroid.norm().clamp_min(1e-12)).numpy()   # (n,) cosines
    W = (vectors @ vectors.T).clamp_min(0).fill_diagonal_(0).double().numpy()    # (n, n) positive cosines
    return pagerank(W, damping)


def embed_document_sentences(encoder, documents: Sequence[str], batch_size: int = 64) -> list[tuple[list[str], "torch.Tensor"]]:
    """[(sentences, vectors (n_i, C))] for each document: split with `split_sentences`, all sentences of all
    documents embedded by one `encoder.encode(list_of_str, batch_size=…)` call (batches mix documents, so
    there is little padding), then cut back per document."""
    if isinstance(documents, str):
        raise TypeError("documents must be a list of str, got one str; wrap it: [text]")
    batch_size = require_int(batch_size, "batch_size", minimum=1)
    per_doc = [split_sentences(require_str(d, f"documents[{i}]")) for i, d in enumerate(documents)]
    flat = [s for sentences in per_doc for s in sentences]
    vectors = encoder.encode(flat, batch_size=batch_size)                        # (Σ n_i, C)
    bounds = np.cumsum([0] + [len(s) for s in per_doc])
    return [(sentences, vectors[a:b]) for sentences, a, b in zip(per_doc, bounds[:-1], bounds[1:])]


def top_k(sentences: Sequence[str], scores: Sequence[float], k: int = 1) -> list[str]:
    """The k highest-scoring sentences (ties → the earlier one), returned in document order."""
    _check_k(k)
    sentences = _check_sentences(sentences)
    if len(scores) != len(sentences):
        raise ValueError(f"scores must have one value per sentence, got {len(scores)} scores for "
                         f"{len(sentences)} sentences")
    order = sorted(range(len(sentences)), key=lambda i: (-scores[i], i))[:k]
    return [sentences[i] for i in sorted(order)]


def summarize(text: str, method: str = "textrank", k: int = 1) -> str:
    """A k-sentence extractive summary of `text` by `method` ("lead", "frequency" or "textrank")."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    sentences = split_sentences(text)
    if method == "lead":
        return " ".join(lead_k(sentences, k))
    scores = word_frequency_scores(sentences) if method == "frequency" else textrank_scores(sentences)
    return " ".join(top_k(sentences, scores, k))


DOCSUM_PACKAGES = ("numpy", "scipy", "pandas", "sklearn")


def load_docstring_summaries(packages: Sequence[str] = DOCSUM_PACKAGES) -> list[tuple[str, str, str]]:
    """(name, summary, document) triples mined from the docstrings of BSD-licensed Python packages: the
    document is a function's extended description, the summary its human-written one-line summary
    (see data/README.md). Same rows, same order on every machine (checksummed files)."""
    from course_utils.data import load_tsv

    if isinstance(packages, str):
        packages = (packages,)
    unknown = [p for p in packages if p not in DOCSUM_PACKAGES]
    if unknown:
        raise ValueError(f"packages must be chosen from {DOCSUM_PACKAGES}, got {unknown}")
    rows, seen = [], set()
    for package in packages:
        for name, summary, document in load_tsv(f"docsum_{package}"):
            if document not in seen:
                seen.add(document)
                rows.append((name, summary, document))
    return rows


def document_head(tokenizer, text: str, n_tokens: int) -> str:
    """The beginning of `text` that `tokenizer` encodes in at most `n_tokens` tokens (all of it if shorter).

    A prompt for a 128-token model keeps the document's start, where docstrings (like news) put the
    point; a shorter prompt is also cheaper to read once per generated token. A multi-byte character cut
    in half at the end is dropped."""
    require_str(text, "text")
    n_tokens = require_int(n_tokens, "n_tokens", minimum=1)
    ids = tokenizer.encode(text)
    if len(ids) <= n_tokens:
        return text
    return tokenizer.decode(ids[:n_tokens]).rstrip("\ufffd")


def covered_share(texts: Sequence[str], sources: Sequence[str]) -> np.ndarray:
    """For each pair, the share of `texts[i]`'s distinct content words (ROUGE tokens minus stop words) that
    also occur in `sources[i]`: (n,) in [0, 1], NaN where a text has no content word.

    `covered_share(references, first_sentences)`: how much of the reference an extract *could* copy;
    `covered_share(outputs, documents)`: how much of what a model writes comes from its document."""
    from course_utils.rouge import rouge_tokenize

    for name, value in (("texts", texts), ("sources", sources)):
        if isinstance(value, str):
            raise TypeError(f"{name} must be a list of str, got one str")
    texts, sources = list(texts), list(sources)
    if len(texts) != len(sources):
        raise ValueError(f"texts and sources must have the same length, got {len(texts)} texts and "
                         f"{len(sources)} sources")
    stops = stop_words()
    shares = []
    for i, (text, source) in enumerate(zip(texts, sources)):
        words = {w for w in rouge_tokenize(require_str(text, f"texts[{i}]")) if w not in stops}
        present = set(rouge_tokenize(require_str(source, f"sources[{i}]")))
        shares.append(len(words & present) / len(words) if words else np.nan)
    return np.array(shares, dtype=float)
