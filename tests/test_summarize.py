"""Extractive summarization: sentence splitting, lead-k, word frequency, TextRank/PageRank, the data; the
prompt helpers of the abstractive rungs (document_head, covered_share)."""
import numpy as np
import pytest

from course_utils.summarize import (content_words, covered_share, document_head, embed_document_sentences,
                                    embedding_centrality_scores, lead_k, load_docstring_summaries,
                                    overlap_similarity, pagerank, similarity_matrix, split_sentences, summarize,
                                    textrank_scores, top_k, word_frequency_scores)

TEXT = ("Cats are small domestic animals. Cats sleep for most of the day, and cats purr. "
        "Dogs bark at the mail carrier. Many people keep cats and dogs as pets.")


def test_split_sentences_uses_spacy_rules():
    assert split_sentences(TEXT) == ["Cats are small domestic animals.",
                                     "Cats sleep for most of the day, and cats purr.",
                                     "Dogs bark at the mail carrier.", "Many people keep cats and dogs as pets."]
    assert split_sentences("Use it, e.g. for arrays. Then stop.") == ["Use it, e.g. for arrays.", "Then stop."]
    assert split_sentences("") == [] and split_sentences("   ") == []
    with pytest.raises(TypeError, match="text must be str, got list"):
        split_sentences(["a"])


def test_content_words_drop_stop_words_and_punctuation():
    assert content_words("The cats, and THE dogs!") == ["cats", "dogs"]


def test_lead_k():
    sentences = split_sentences(TEXT)
    assert lead_k(sentences, 2) == sentences[:2]
    assert lead_k(sentences[:1], 3) == sentences[:1]                    # fewer sentences than k: all of them
    assert lead_k([], 1) == []
    with pytest.raises(ValueError, match="k must be a positive int"):
        lead_k(sentences, 0)
    with pytest.raises(TypeError, match="split it with split_sentences"):
        lead_k(TEXT, 1)


def test_word_frequency_prefers_sentences_of_frequent_words():
    sentences = split_sentences(TEXT)
    scores = word_frequency_scores(sentences)
    assert scores.shape == (4,) and scores.argmax() == 1                # "cats … cats" is all topic words
    assert word_frequency_scores(["The.", "Cats sleep."])[0] == 0.0     # no content word → 0


def test_overlap_similarity_formula():
    a, b = ["cats", "sleep", "day"], ["cats", "purr"]
    assert overlap_similarity(a, b) == pytest.approx(1 / (np.log(3) + np.log(2)))
    assert overlap_similarity(["x"], ["x"]) == 0.0                      # log 1 + log 1 = 0: no division by zero
    assert overlap_similarity([], ["x"]) == 0.0


def test_similarity_matrix_is_symmetric_with_zero_diagonal():
    W = similarity_matrix(split_sentences(TEXT))
    assert W.shape == (4, 4) and np.allclose(W, W.T) and np.all(np.diag(W) == 0)
    assert W[2, 0] == 0 and W[0, 1] > 0                                 # dogs ⟂ cats sentence; cats ~ cats


def test_pagerank_equals_the_exact_solution():
    rng = np.random.default_rng(0)
    W = rng.random((6, 6)) * (rng.random((6, 6)) < 0.5)
    W = W + W.T
    np.fill_diagonal(W, 0)
    W[5, :] = W[:, 5] = 0                                               # an isolated (dangling) node
    r = pagerank(W)
    out = W.sum(1, keepdims=True)
    P = np.where(out > 0, W / np.where(out > 0, out, 1), 1 / 6)        # a dangling node links to every node
    exact = np.linalg.solve(np.eye(6) - 0.85 * P.T, np.full(6, 0.15 / 6))  # r = (1-d)/n + d Pᵀ r, solved
    assert np.allclose(r, exact, atol=1e-9)
    assert r.sum() == pytest.approx(1.0)
    assert np.allclose(pagerank(np.zeros((3, 3))), 1 / 3)               # no edges: uniform
    assert pagerank(np.zeros((0, 0))).shape == (0,)


def test_pagerank_bad_input():
    with pytest.raises(ValueError, match="square"):
        pagerank(np.ones((2, 3)))
    with pytest.raises(ValueError, match="non-negative"):
        pagerank(-np.ones((2, 2)))
    with pytest.raises(ValueError, match="damping"):
        pagerank(np.ones((2, 2)), damping=1.0)


def test_textrank_picks_the_central_sentence():
    sentences = split_sentences(TEXT)
    scores = textrank_scores(sentences)
    assert scores.argmax() == 3                                         # shares words with cats *and* dogs
    assert summarize(TEXT, "textrank", 1) == sentences[3]
    assert summarize(TEXT, "lead", 2) == " ".join(sentences[:2])
    assert summarize(TEXT, "frequency", 1) == sentences[1]
    assert summarize("One sentence only.", "textrank", 3) == "One sentence only."
    assert summarize("", "textrank") == ""


def test_top_k_keeps_document_order_and_breaks_ties_early():
    assert top_k(["a", "b", "c"], [0.1, 0.9, 0.5], 2) == ["b", "c"]
    assert top_k(["a", "b", "c"], [0.5, 0.5, 0.5], 1) == ["a"]
    with pytest.raises(ValueError, match="one value per sentence"):
        top_k(["a", "b"], [1.0], 1)
    with pytest.raises(ValueError, match="method must be one of"):
        summarize(TEXT, "abstractive")


def test_docstring_summaries_load_deterministically():
    rows = load_docstring_summaries()
    assert len(rows) > 1000
    assert rows == load_docstring_summaries()
    name, summary, document = rows[0]
    assert name.split(".")[0] in {"numpy", "scipy", "pandas", "sklearn"}
    assert summary.endswith(".") and len(document.split()) >= 25
    assert len({r[2] for r in rows}) == len(rows)                       # no document twice
    with pytest.raises(ValueError, match="packages must be chosen from"):
        load_docstring_summaries(("numpy", "torch"))


class _CharTokenizer:
    """One token per UTF-8 byte: enough to test document_head's cut."""

    def encode(self, text):
        return list(text.encode("utf-8"))

    def decode(self, ids):
        return bytes(ids).decode("utf-8", errors="replace")


def test_document_head_keeps_the_beginning():
    tok = _CharTokenizer()
    assert document_head(tok, "Return the sum. More text.", 10) == "Return the"
    assert document_head(tok, "short", 10) == "short"
    assert document_head(tok, "abé", 3) == "ab"                               # half of 'é' is dropped
    with pytest.raises(ValueError, match="n_tokens"):
        document_head(tok, "text", 0)
    with pytest.raises(TypeError, match="text must be str"):
        document_head(tok, ["text"], 3)


def test_covered_share_counts_distinct_content_words():
    shares = covered_share(["Return the sum of arrays.", "The of", "Sum sum."],
                           ["Compute the sum.", "anything", "no match"])
    assert shares[0] == pytest.approx(1 / 3)                                 # return, sum, arrays: only sum
    assert np.isnan(shares[1])                                               # stop words only
    assert shares[2] == 0.0
    with pytest.raises(ValueError, match="same length"):
        covered_share(["a"], [])
    with pytest.raises(TypeError, match="texts must be a list of str"):
        covered_share("a", ["a"])


def unit(rows):
    rows = np.asarray(rows, dtype=float)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_embedding_centrality_centroid_is_the_cosine_with_the_mean():
    V = unit([[1, 0, 0], [0.9, 0.1, 0], [0.8, 0, 0.2], [0, 0, 1]])    # three close sentences and an outlier
    scores = embedding_centrality_scores(V, "centroid")
    mean = V.mean(0)
    assert np.allclose(scores, V @ mean / np.linalg.norm(mean), atol=1e-6)
    assert scores.argmax() in (0, 1, 2) and scores.argmin() == 3


def test_embedding_centrality_pagerank_is_pagerank_over_positive_cosines():
    V = unit([[1, 0.2, 0], [0.9, 0.3, 0.1], [-1, 0, 0.1], [0.5, 0.5, 0.5]])
    W = np.clip(V @ V.T, 0, None)
    np.fill_diagonal(W, 0)                                          # negative cosines are no edge; no self-loops
    assert np.allclose(embedding_centrality_scores(V, "pagerank"), pagerank(W), atol=1e-6)
    scores = embedding_centrality_scores(V)                          # default: pagerank
    assert scores.sum() == pytest.approx(1.0) and scores.argmin() == 2   # the opposite sentence is peripheral
    assert embedding_centrality_scores(np.zeros((0, 3))).shape == (0,)


def test_embedding_centrality_bad_input():
    with pytest.raises(ValueError, match="variant must be one of"):
        embedding_centrality_scores(np.eye(2), "textrank")
    with pytest.raises(ValueError, match=r"vectors must be a 2-D .* got shape \(3,\)"):
        embedding_centrality_scores(np.ones(3))


class CharCountEncoder:
    """A stand-in sentence encoder: (letters a–z counts) normalised; records its calls."""
    def __init__(self):
        self.calls = []

    def encode(self, texts, batch_size=64):
        import torch

        self.calls.append((list(texts), batch_size))
        counts = torch.tensor([[t.lower().count(c) + 1e-3 for c in "abcdefghijklmnopqrstuvwxyz"] for t in texts])
        return torch.nn.functional.normalize(counts.reshape(len(texts), 26), dim=-1)


def test_embed_document_sentences_embeds_all_documents_in_one_call():
    encoder = CharCountEncoder()
    documents = [TEXT, "One sentence only.", ""]
    out = embed_document_sentences(encoder, documents, batch_size=8)
    assert len(encoder.calls) == 1 and encoder.calls[0][1] == 8
    assert [s for s, _ in out] == [split_sentences(d) for d in documents]
    assert [tuple(v.shape) for _, v in out] == [(4, 26), (1, 26), (0, 26)]
    alone = CharCountEncoder().encode(split_sentences(TEXT))
    assert np.allclose(out[0][1], alone)                           # same vectors as embedding the document alone
    with pytest.raises(TypeError, match="documents must be a list of str"):
        embed_document_sentences(encoder, TEXT)
    with pytest.raises(TypeError, match=r"documents\[1\] must be str"):
        embed_document_sentences(encoder, ["a.", 3])


def test_pagerank_keeps_exact_ties_exact():
    """Three sentences equally similar to each other (numpy.ravel's docstring) are exactly as central; the
    unrounded power iteration left them 1e-17 apart, in an order that depends on the CPU, so top_k's
    "ties → the earlier sentence" picked different sentences on different machines."""
    a = 0.7708
    W = np.array([[0, 0, a, a], [0, 0, 0, 0], [a, 0, 0, a], [a, 0, a, 0]])
    r = pagerank(W)
    assert r[0] == r[2] == r[3] > r[1]
    assert top_k(["s0", "s1", "s2", "s3"], r, 1) == ["s0"]
