"""TF-IDF retrieval equals the formula (scikit-learn's smooth idf + L2 rows), ranks sensibly, and the
response-selection helpers (candidate sets, recall@k) are fair to ties. DenseRetriever = cosines of an
encoder's vectors, with TfidfRetriever's interface; with all-MiniLM-L6-v2 it matches without shared words."""
import math

import pytest
import torch

from course_utils.retrieval import (DenseRetriever, TfidfRetriever, candidate_sets, content_tokenize,
                                    cosine_matrix, recall_at_k, simple_tokenize)

DOCS = ["my printer is not printing", "my mouse is not responding", "the printer needs paper",
        "I forgot my password"]


def test_simple_tokenize():
    assert simple_tokenize("Hi, I'm Bob!") == ["hi", "i'm", "bob"]
    with pytest.raises(TypeError, match="text must be str"):
        simple_tokenize(3)
    assert content_tokenize("My printer won't print!") == ["printer", "print"]


def test_tfidf_matches_the_formula():
    r = TfidfRetriever().fit(DOCS)
    n = len(DOCS)
    df = {"printer": 2, "my": 3, "password": 1}
    for term, d in df.items():
        assert r.idf[r.terms[term]].item() == pytest.approx(math.log((1 + n) / (1 + d)) + 1)
    # row 0 by hand: every term occurs once, so v ∝ idf of its terms
    terms = simple_tokenize(DOCS[0])
    v = torch.zeros(len(r.terms))
    for t in terms:
        v[r.terms[t]] = r.idf[r.terms[t]]
    assert torch.allclose(r.matrix[0], v / v.norm(), atol=1e-6)
    assert torch.allclose(r.matrix.norm(dim=1), torch.ones(n))


def test_query_finds_the_most_similar_text():
    r = TfidfRetriever().fit(DOCS)
    best, score = r.query("printer not printing", k=1)[0]
    assert best == 0 and 0 < score <= 1
    assert r.query(DOCS[3], k=1) == [(3, pytest.approx(1.0))]
    scores, idx = r.top_k(["paper for the printer", "password"], k=2)
    assert idx[0, 0] == 2 and idx[1, 0] == 3
    assert torch.all(scores[:, 0] >= scores[:, 1])
    assert torch.allclose(r.similarity(DOCS), cosine_matrix(r.matrix, r.matrix), atol=1e-6)


def test_unknown_words_give_zero_similarity_and_ties_keep_index_order():
    r = TfidfRetriever().fit(DOCS)
    assert torch.all(r.similarity(["zebra xylophone"]) == 0)
    assert [i for i, _ in r.query("zebra", k=4)] == [0, 1, 2, 3]


def test_sublinear_tf_and_min_df():
    r = TfidfRetriever(sublinear_tf=True).fit(["a a a a b", "b c"])
    raw = TfidfRetriever().fit(["a a a a b", "b c"])
    assert r.matrix[0, r.terms["a"]] < raw.matrix[0, raw.terms["a"]]   # 1 + ln 4 < 4: repeats count less
    assert set(TfidfRetriever(min_df=2).fit(DOCS).terms) == {"my", "is", "not", "printer"}


def test_errors_name_the_problem():
    with pytest.raises(RuntimeError, match="not fitted"):
        TfidfRetriever().query("x")
    with pytest.raises(ValueError, match="non-empty list"):
        TfidfRetriever().fit([])
    r = TfidfRetriever().fit(DOCS)
    with pytest.raises(ValueError, match=r"k must be an int in \[1, 4\]"):
        r.top_k(["x"], k=5)
    with pytest.raises(TypeError, match="got one str"):
        r.transform("printer")


def test_recall_at_k_counts_ties_fairly():
    truth = torch.tensor([0, 1, 2])
    perfect = torch.eye(3)
    assert recall_at_k(perfect, truth, 1) == 1.0
    assert recall_at_k(torch.zeros(3, 3), truth, 1) == pytest.approx(1 / 3)   # constant scores: chance
    assert recall_at_k(torch.zeros(3, 3), truth, 2) == pytest.approx(2 / 3)
    assert recall_at_k(-perfect, truth, 1) == pytest.approx(0.0)             # truth ranked last
    assert recall_at_k(-perfect, truth, 3) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="true_index must have shape"):
        recall_at_k(perfect, [0, 1], 1)


def test_candidate_sets_hold_the_truth_and_no_secret_duplicates():
    responses = ["a", "b", "c", "a", "d", "e"]
    cands, truth = candidate_sets(responses, n_candidates=4, seed=0)
    assert cands.shape == (6, 4)
    for i, row in enumerate(cands.tolist()):
        assert row[truth[i]] == i and len(set(row)) == 4
        assert sum(responses[j] == responses[i] for j in row) == 1           # "a" never faces the other "a"
    again, _ = candidate_sets(responses, n_candidates=4, seed=0)
    assert torch.equal(cands, again)
    with pytest.raises(ValueError, match="n_candidates must be an int"):
        candidate_sets(responses, n_candidates=7)


@pytest.mark.parametrize("sublinear_tf, min_df", [(False, 1), (True, 1), (False, 2)])
def test_tfidf_equals_scikit_learn(sublinear_tf, min_df):
    """The module docstring's claim, checked: the same numbers as TfidfVectorizer(norm="l2", smooth_idf=True)
    given the same tokens, for the fitted texts and for new queries (unseen words ignored)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    docs = DOCS + ["printer printer paper jam", "the mouse and the printer", "reset my password please"]
    queries = ["my printer is jammed", "password reset", "nothing in common here"]
    ours = TfidfRetriever(min_df=min_df, sublinear_tf=sublinear_tf).fit(docs)
    sk = TfidfVectorizer(tokenizer=simple_tokenize, lowercase=False, token_pattern=None, norm="l2",
                         smooth_idf=True, sublinear_tf=sublinear_tf, min_df=min_df)
    expected = torch.tensor(sk.fit_transform(docs).toarray(), dtype=torch.float32)
    assert list(ours.terms) == list(sk.get_feature_names_out())          # same columns, same order
    assert torch.allclose(ours.idf, torch.tensor(sk.idf_, dtype=torch.float32), atol=1e-6)
    assert torch.allclose(ours.matrix, expected, atol=1e-6)
    assert torch.allclose(ours.transform(queries), torch.tensor(sk.transform(queries).toarray(),
                                                                 dtype=torch.float32), atol=1e-6)


class LetterCountEncoder:
    """A stand-in sentence encoder: letter counts (not normalised, to check the retriever normalises)."""
    def __init__(self):
        self.batch_sizes = []

    def encode(self, texts, batch_size=64):
        self.batch_sizes.append(batch_size)
        return torch.tensor([[t.count(c) + 0.01 for c in "abcdefghijklmnopqrstuvwxyz"] for t in texts])


def test_dense_retriever_is_the_cosine_of_encoder_vectors():
    encoder = LetterCountEncoder()
    retriever = DenseRetriever(encoder, batch_size=3).fit(DOCS)
    queries = ["printer paper", "password"]
    want = cosine_matrix(encoder.encode(queries), encoder.encode(DOCS))
    assert torch.allclose(retriever.similarity(queries), want, atol=1e-6)
    assert torch.allclose(retriever.matrix.norm(dim=1), torch.ones(len(DOCS)))       # unit rows
    assert 3 in encoder.batch_sizes
    scores, indices = retriever.top_k(queries, k=2)                                  # same interface as TF-IDF
    assert indices.shape == (2, 2) and torch.allclose(scores, want.gather(1, indices))
    assert retriever.query("password", k=1)[0][0] == int(want[1].argmax())
    assert "DenseRetriever(texts×dims=(4, 26)" in repr(retriever)


def test_dense_retriever_errors_name_the_problem():
    with pytest.raises(TypeError, match="encoder must have an encode"):
        DenseRetriever(object())
    with pytest.raises(RuntimeError, match="not fitted yet"):
        DenseRetriever(LetterCountEncoder()).query("x")
    retriever = DenseRetriever(LetterCountEncoder())
    with pytest.raises(ValueError, match="non-empty list of str"):
        retriever.fit("one text")
    retriever.fit(DOCS)
    with pytest.raises(TypeError, match="wrap it"):
        retriever.transform("one text")
    with pytest.raises(ValueError, match="k must be"):
        retriever.top_k(["x"], k=5)


def test_dense_retrieval_with_minilm_matches_without_shared_words():
    from course_utils.pretrained import load_minilm

    known = ["my internet is down", "the printer has no paper", "I forgot my password", "the mouse does not move"]
    dense = DenseRetriever(load_minilm()).fit(known)
    tfidf = TfidfRetriever(tokenize=content_tokenize).fit(known)
    for request, want in (("websites won't load", 0), ("the pointer is stuck", 3)):
        assert tfidf.similarity([request]).max() == 0                  # not one content word in common …
        assert dense.query(request, k=1)[0][0] == want                 # … yet the meaning is found
