"""all-MiniLM-L6-v2 (frozen, `course_utils.pretrained.load_minilm`) as a new rung of three ladders, each measured on
its notebook's own split, rebuilt here exactly as the notebook builds it:

* 08 sentiment — frozen sentence embeddings + logistic regression, beside the bag of words (notebook 08's recipe,
  retrained here so both are scored on the same test sentences). C and the number of training sentences
  encoded are reported on VALIDATION; the test split is scored once, with the C chosen on validation. The
  tweets (08 §8, distribution shift) are scored unchanged.
* 09 dialogue — dense retrieval beside TF-IDF: 1-in-10 response selection (recall@k with fair ties, the
  notebook's candidates) and the retrieval bot (nearest training prompt → its reply, word-overlap F1).
* 07 summarization — an embedding-centrality extractive summarizer beside TextRank and lead-1 (ROUGE on the
  leak-filtered test documents, one sentence each). The centrality variant is chosen on validation.

Every rung prints how long encoding took (wall and CPU seconds, sentences per second). Paired gaps come with a
bootstrap 95 % interval over the same held-out items (1,000 resamples, seed 0).

    OMP_NUM_THREADS=1 python benchmarks/minilm_rungs.py --tiny --out /tmp/minilm_tiny.json   # smoke run, ≈ 1 min
    python benchmarks/minilm_rungs.py --threads 2      # full size; writes benchmarks/results/minilm_rungs.json
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

RESULTS = Path(__file__).resolve().parent / "results" / "minilm_rungs.json"
C_GRID = (0.01, 0.1, 1.0, 10.0, 100.0, 1000.0)   # inverse L2 strength of the logistic regression, chosen on validation


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--parts", nargs="+", default=["08", "09", "07"], choices=["08", "09", "07"])
    p.add_argument("--tiny", action="store_true", help="a few dozen items per split: proves the script runs")
    p.add_argument("--threads", type=int, default=1, help="torch threads (the notebooks run on 2 cores)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--train-sizes", type=int, nargs="+", default=[1000, 2000, 4000],
                   help="08: also fit on the first N training sentences only (C chosen on validation per size; "
                        "the test score of each, for a notebook that encodes only N sentences live)")
    p.add_argument("--no-tweets", action="store_true", help="08: skip the 4,196 tweets")
    p.add_argument("--out", type=Path, default=RESULTS)
    return p.parse_args(argv)


def encode_timed(encoder, texts, batch_size: int) -> tuple[torch.Tensor, dict]:
    """(embeddings (N, 384), timing {n, wall_s, cpu_s, per_s})."""
    wall, cpu = time.perf_counter(), time.process_time()
    vectors = encoder.encode(list(texts), batch_size=batch_size)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return vectors, {"n": len(texts), "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
                     "per_s": round(len(texts) / max(wall, 1e-9), 1)}


def paired_gap(a: np.ndarray, b: np.ndarray) -> dict:
    """Mean of a − b over the same items, with a paired bootstrap 95 % interval (same units as a and b)."""
    from course_utils.metrics import bootstrap_interval

    gap = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    low, high = bootstrap_interval(lambda idx: gap[idx].mean(), len(gap))
    return {"mean": round(float(gap.mean()), 4), "low": round(low, 4), "high": round(high, 4)}


def interval(scores: np.ndarray) -> dict:
    from course_utils.metrics import bootstrap_interval

    scores = np.asarray(scores, dtype=float)
    low, high = bootstrap_interval(lambda idx: scores[idx].mean(), len(scores))
    return {"mean": round(float(scores.mean()), 4), "low": round(low, 4), "high": round(high, 4)}


# ---------------------------------------------------------------------------------------------------
# 08 · sentiment: frozen embeddings + logistic regression vs the bag of words
# ---------------------------------------------------------------------------------------------------
def fit_logistic(x: np.ndarray, y: list[int], C: float):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, max_iter=2000).fit(x, y)


def sentiment_rung(encoder, args) -> dict:
    from course_utils import set_seed
    from course_utils.batching import pad_batch
    from course_utils.classifier import (BagOfWordsClassifier, classification_batcher, cross_entropy_loss,
                                         encode_texts, predict, predict_sequences, sentiment_tokenize)
    from course_utils.data import load_tsv, shuffled
    from course_utils.metrics import accuracy, f1_score
    from course_utils.tokenizers import Vocab
    from course_utils.training import train_model

    rows = shuffled(load_tsv("movie_reviews"), seed=0)                        # notebook 08, cell 4
    n = len(rows)
    train_rows, val_rows, test_rows = rows[: int(0.8 * n)], rows[int(0.8 * n): int(0.9 * n)], rows[int(0.9 * n):]
    if args.tiny:
        train_rows, val_rows, test_rows = train_rows[:300], val_rows[:100], test_rows[:100]
    texts = lambda part: [s for _, _, s in part]
    labels = lambda part: [int(label) for label, _, _ in part]
    y_train, y_val, y_test = labels(train_rows), labels(val_rows), labels(test_rows)

    # the ladder's bag of words, exactly notebook 08's recipe (cells 15 and 19), scored on the same sentences
    vocab = Vocab.build([sentiment_tokenize(s) for s in texts(train_rows)], min_freq=2)
    ids_train, ids_val, ids_test = (encode_texts(texts(p), vocab) for p in (train_rows, val_rows, test_rows))
    set_seed(0)
    bow = BagOfWordsClassifier(vocab)
    train_model(bow, classification_batcher(ids_train, y_train, 64, vocab.pad_id, 64, seed=0), steps=300, lr=0.05,
                loss_fn=cross_entropy_loss, progress=False)
    bow_val = accuracy(y_val, predict(bow, pad_batch(ids_val, vocab.pad_id, 64)))
    bow_pred = predict(bow, pad_batch(ids_test, vocab.pad_id, 64))

    x_train, t_train = encode_timed(encoder, texts(train_rows), args.batch_size)
    x_val, t_val = encode_timed(encoder, texts(val_rows), args.batch_size)
    x_test, t_test = encode_timed(encoder, texts(test_rows), args.batch_size)
    x_train, x_val, x_test = x_train.numpy(), x_val.numpy(), x_test.numpy()

    fit_s = time.process_time()
    val_by_C = {C: accuracy(y_val, fit_logistic(x_train, y_train, C).predict(x_val).tolist()) for C in C_GRID}
    best_C = max(C_GRID, key=lambda C: (val_by_C[C], -C))                       # ties → the stronger penalty
    model = fit_logistic(x_train, y_train, best_C)
    fit_s = time.process_time() - fit_s
    pred = model.predict(x_test).tolist()
    by_size = {}                            # fewer training sentences (what a notebook can afford to encode live)
    for m in (m for m in args.train_sizes if m < len(y_train)):
        grid = {C: accuracy(y_val, fit_logistic(x_train[:m], y_train[:m], C).predict(x_val).tolist()) for C in C_GRID}
        C_m = max(C_GRID, key=lambda C: (grid[C], -C))                             # chosen on validation, per size
        test_m = accuracy(y_test, fit_logistic(x_train[:m], y_train[:m], C_m).predict(x_test).tolist())
        by_size[str(m)] = {"C_grid_val_accuracy": {str(C): round(a, 4) for C, a in grid.items()}, "C": C_m,
                           "val_accuracy": round(grid[C_m], 4), "test_accuracy": round(test_m, 4)}

    right, bow_right = np.array(pred) == np.array(y_test), np.array(bow_pred) == np.array(y_test)
    out = {"split": {"train": len(y_train), "validation": len(y_val), "test": len(y_test)},
           "encode": {"train": t_train, "validation": t_val, "test": t_test},
           "logistic_regression": {"C_grid_val_accuracy": {str(C): round(a, 4) for C, a in val_by_C.items()},
                                   "C": best_C, "fit_cpu_s_all_C": round(fit_s, 2),
                                   "by_train_size": by_size},
           "val_accuracy": {"minilm_lr": round(val_by_C[best_C], 4), "bag_of_words": round(bow_val, 4)},
           "test_accuracy": {"minilm_lr": interval(right), "bag_of_words": interval(bow_right)},
           "test_macro_f1": {"minilm_lr": round(f1_score(y_test, pred, average="macro"), 4),
                             "bag_of_words": round(f1_score(y_test, bow_pred, average="macro"), 4)},
           "test_gap_minilm_minus_bow_points": {k: round(100 * v, 2) for k, v in paired_gap(right, bow_right).items()}}
    if not args.no_tweets:
        tweet_rows = load_tsv("tweets")[: 200 if args.tiny else None]
        y_tweets = labels(tweet_rows)
        x_tweets, t_tweets = encode_timed(encoder, texts(tweet_rows), args.batch_size)
        tweet_pred = model.predict(x_tweets.numpy()).tolist()
        bow_tweets = predict_sequences(bow, encode_texts(texts(tweet_rows), vocab), vocab.pad_id, 64)
        t_right, tb_right = np.array(tweet_pred) == np.array(y_tweets), np.array(bow_tweets) == np.array(y_tweets)
        out["tweets"] = {"n": len(y_tweets), "encode": t_tweets,
                         "accuracy": {"minilm_lr": interval(t_right), "bag_of_words": interval(tb_right)},
                         "macro_f1": {"minilm_lr": round(f1_score(y_tweets, tweet_pred, average="macro"), 4),
                                      "bag_of_words": round(f1_score(y_tweets, bow_tweets, average="macro"), 4)},
                         "majority_rate": round(max(np.mean(y_tweets), 1 - np.mean(y_tweets)), 4),
                         "gap_minilm_minus_bow_points": {k: round(100 * v, 2)
                                                         for k, v in paired_gap(t_right, tb_right).items()}}
    return out


# ---------------------------------------------------------------------------------------------------
# 09 · dialogue: dense retrieval vs TF-IDF
# ---------------------------------------------------------------------------------------------------
def per_row_recall(scores: torch.Tensor, truth: torch.Tensor, k: int) -> np.ndarray:
    """recall_at_k (fair ties) of each row on its own: averaging these gives recall_at_k of the whole."""
    from course_utils.retrieval import recall_at_k

    return np.array([recall_at_k(scores[i:i + 1], truth[i:i + 1], k) for i in range(len(truth))])


def dialogue_rung(encoder, args) -> dict:
    from course_utils.data import load_jsonl, shuffled, train_val_split
    from course_utils.dialogue import dialogue_pairs, token_f1, unique_conversations
    from course_utils.retrieval import TfidfRetriever, candidate_sets

    conversations = unique_conversations(load_jsonl("chatterbot"), lang="en")       # notebook 09, cells 4 and 6
    rest, test_convs = train_val_split(shuffled(conversations, seed=0), val_fraction=0.15)
    train_convs, val_convs = train_val_split(rest, val_fraction=0.15)
    train_pairs, test_pairs = dialogue_pairs(train_convs), dialogue_pairs(test_convs)
    if args.tiny:
        train_pairs, test_pairs = train_pairs[:200], test_pairs[:40]
    references = [response for _, response, _ in test_pairs]
    contexts = [" ".join(context) for context, _, _ in test_pairs]
    prompts = [context[-1] for context, _, _ in train_pairs]

    # 1-in-10 response selection (cell 16): the notebook's candidates and its TF-IDF scorer
    candidates, truth = candidate_sets(references, n_candidates=10, seed=0)           # (n, 10), (n,)
    vectorizer = TfidfRetriever().fit(prompts + [response for _, response, _ in train_pairs])
    tfidf = (vectorizer.transform(contexts) @ vectorizer.transform(references).T).gather(1, candidates)
    context_vecs, t_ctx = encode_timed(encoder, contexts, args.batch_size)
    reply_vecs, t_rep = encode_timed(encoder, references, args.batch_size)
    dense = (context_vecs @ reply_vecs.T).gather(1, candidates)                        # (n, 10) cosines
    recall = {name: {k: per_row_recall(s, truth, k) for k in (1, 2, 5)}
              for name, s in (("TF-IDF", tfidf), ("MiniLM", dense))}

    # the retrieval bot (cells 12–14): the reply stored with the most similar training prompt
    retriever = TfidfRetriever().fit(prompts)
    queries = [context[-1] for context, _, _ in test_pairs]
    tfidf_replies = [train_pairs[retriever.query(q, k=1)[0][0]][1] for q in queries]
    prompt_vecs, t_prompts = encode_timed(encoder, prompts, args.batch_size)
    query_vecs, t_queries = encode_timed(encoder, queries, args.batch_size)
    nearest = (query_vecs @ prompt_vecs.T).argmax(dim=1).tolist()
    dense_replies = [train_pairs[j][1] for j in nearest]
    f1 = {name: np.array([token_f1(h, r) for h, r in zip(replies, references)])
          for name, replies in (("TF-IDF", tfidf_replies), ("MiniLM", dense_replies))}
    return {"split": {"train_pairs": len(train_pairs), "test_pairs": len(test_pairs)},
            "encode": {"test_contexts": t_ctx, "test_references": t_rep, "train_prompts": t_prompts,
                       "test_queries": t_queries},
            "recall_at_k": {name: {str(k): interval(r) for k, r in by_k.items()} for name, by_k in recall.items()},
            "gap_R@1_minilm_minus_tfidf": paired_gap(recall["MiniLM"][1], recall["TF-IDF"][1]),
            "retrieval_bot_word_f1": {name: interval(s) for name, s in f1.items()},
            "gap_word_f1_minilm_minus_tfidf": paired_gap(f1["MiniLM"], f1["TF-IDF"])}


# ---------------------------------------------------------------------------------------------------
# 07 · summarization: embedding centrality vs TextRank
# ---------------------------------------------------------------------------------------------------
def centrality_scores(vectors: torch.Tensor, variant: str) -> np.ndarray:
    """How central each sentence is, from its unit vectors (n, 384): `course_utils.summarize.embedding_centrality_scores`
    ("centroid": cosine with the document's mean vector; "pagerank": LexRank-style PageRank over positive cosines)."""
    from course_utils.summarize import embedding_centrality_scores

    return embedding_centrality_scores(vectors, variant)


def summarization_rung(encoder, args) -> dict:
    from course_utils.data import shuffled, train_val_split
    from course_utils.metrics import rouge, rouge_n, rouge_tokenize
    from course_utils.summarize import load_docstring_summaries, split_sentences, summarize, top_k

    rows = load_docstring_summaries()                                                  # notebook 07, cells 6–7
    rest_rows, test_rows = train_val_split(shuffled(rows, seed=0), val_fraction=0.15)
    train_rows, val_rows = train_val_split(rest_rows, val_fraction=0.15)
    seen_summaries, seen_starts = {s.lower() for _, s, _ in train_rows}, {d[:80] for _, _, d in train_rows}
    leaked = lambda row: row[1].lower() in seen_summaries or row[2][:80] in seen_starts
    val_rows, test_rows = [r for r in val_rows if not leaked(r)], [r for r in test_rows if not leaked(r)]
    if args.tiny:
        val_rows, test_rows = val_rows[:30], test_rows[:30]

    def embed_documents(part):
        sentences = [split_sentences(d) for _, _, d in part]
        flat = [s for doc in sentences for s in doc]
        vectors, timing = encode_timed(encoder, flat, args.batch_size)
        bounds = np.cumsum([0] + [len(doc) for doc in sentences])
        return sentences, [vectors[a:b] for a, b in zip(bounds[:-1], bounds[1:])], timing

    def per_doc_rouge1(hyps, refs):
        return np.array([100 * rouge_n(rouge_tokenize(h), rouge_tokenize(r), 1) for h, r in zip(hyps, refs)])

    variants = ("centroid", "pagerank")
    val_sents, val_vecs, t_val = embed_documents(val_rows)
    val_refs = [s for _, s, _ in val_rows]
    val_r1 = {v: float(per_doc_rouge1([" ".join(top_k(s, centrality_scores(x, v), 1)) for s, x in
                                      zip(val_sents, val_vecs)], val_refs).mean()) for v in variants}
    val_r1["TextRank"] = float(per_doc_rouge1([summarize(d, "textrank", 1) for _, _, d in val_rows], val_refs).mean())
    chosen = max(variants, key=val_r1.get)

    test_sents, test_vecs, t_test = embed_documents(test_rows)
    refs, docs = [s for _, s, _ in test_rows], [d for _, _, d in test_rows]
    outputs = {"lead-1": [summarize(d, "lead", 1) for d in docs],
               "TextRank": [summarize(d, "textrank", 1) for d in docs],
               f"MiniLM {chosen}": [" ".join(top_k(s, centrality_scores(x, chosen), 1))
                                    for s, x in zip(test_sents, test_vecs)]}
    per_doc = {name: per_doc_rouge1(h, refs) for name, h in outputs.items()}
    mine = f"MiniLM {chosen}"
    return {"split": {"validation_docs": len(val_rows), "test_docs": len(test_rows),
                      "test_sentences": sum(len(s) for s in test_sents)},
            "encode": {"validation": t_val, "test": t_test},
            "val_rouge1": {k: round(v, 2) for k, v in val_r1.items()}, "chosen_on_validation": chosen,
            "test_rouge": {name: {k: round(100 * v, 2) for k, v in rouge(h, refs).items()}
                           for name, h in outputs.items()},
            "test_rouge1_interval": {name: interval(s) for name, s in per_doc.items()},
            "gap_rouge1_minilm_minus_textrank": paired_gap(per_doc[mine], per_doc["TextRank"]),
            "gap_rouge1_minilm_minus_lead1": paired_gap(per_doc[mine], per_doc["lead-1"]),
            "same_sentence_as_textrank": round(float(np.mean([a == b for a, b in
                                                               zip(outputs[mine], outputs["TextRank"])])), 4)}


# ---------------------------------------------------------------------------------------------------
def _ci(d: dict, scale: float = 1.0, fmt: str = ".3f") -> str:
    return f"{scale * d['mean']:{fmt}} [{scale * d['low']:{fmt}}, {scale * d['high']:{fmt}}]"


def _enc(timings: dict) -> str:
    n = sum(t["n"] for t in timings.values())
    wall, cpu = sum(t["wall_s"] for t in timings.values()), sum(t["cpu_s"] for t in timings.values())
    return f"encoding {n:,} texts: {wall:.1f} s wall, {cpu:.1f} s CPU ({n / max(wall, 1e-9):.0f}/s)"


def report(name: str, r: dict) -> None:
    """The headline numbers of one part (everything else is in the JSON file)."""
    print(f"\n== {name} ({r['total_wall_s']} s) — {_enc(r['encode'])}")
    if name.startswith("08"):
        lr = r["logistic_regression"]
        print(f"  validation accuracy by C: {lr['C_grid_val_accuracy']} → C = {lr['C']}")
        for m, row in lr["by_train_size"].items():
            print(f"  first {m} training sentences: C = {row['C']} (validation {row['val_accuracy']:.3f}), "
                  f"test {row['test_accuracy']:.3f}")
        print(f"  validation: MiniLM + LR {r['val_accuracy']['minilm_lr']:.3f} · bag of words "
              f"{r['val_accuracy']['bag_of_words']:.3f}")
        print(f"  test accuracy: MiniLM + LR {_ci(r['test_accuracy']['minilm_lr'])} · bag of words "
              f"{_ci(r['test_accuracy']['bag_of_words'])} · gap {_ci(r['test_gap_minilm_minus_bow_points'], fmt='+.1f')} points")
        if "tweets" in r:
            t = r["tweets"]
            print(f"  tweets ({t['n']:,}, majority {t['majority_rate']:.3f}): MiniLM + LR {_ci(t['accuracy']['minilm_lr'])} "
                  f"(macro-F1 {t['macro_f1']['minilm_lr']:.3f}) · bag of words {_ci(t['accuracy']['bag_of_words'])} "
                  f"(macro-F1 {t['macro_f1']['bag_of_words']:.3f})")
    elif name.startswith("09"):
        for system, by_k in r["recall_at_k"].items():
            print(f"  {system:<7} " + " · ".join(f"R@{k} {_ci(v, fmt='.2f')}" for k, v in by_k.items()))
        print(f"  R@1 MiniLM − TF-IDF: {_ci(r['gap_R@1_minilm_minus_tfidf'], fmt='+.3f')}")
        print("  retrieval bot word F1: " + " · ".join(f"{k} {_ci(v)}" for k, v in r["retrieval_bot_word_f1"].items())
              + f" · gap {_ci(r['gap_word_f1_minilm_minus_tfidf'], fmt='+.3f')}")
    else:
        print(f"  validation ROUGE-1: {r['val_rouge1']} → {r['chosen_on_validation']}")
        for system, v in r["test_rouge"].items():
            print(f"  test {system:<18} R-1 {v['rouge1']:5.1f}  R-2 {v['rouge2']:4.1f}  R-L {v['rougeL']:5.1f}   "
                  f"R-1 {_ci(r['test_rouge1_interval'][system], fmt='.1f')}")
        print(f"  ROUGE-1 gap vs TextRank {_ci(r['gap_rouge1_minilm_minus_textrank'], fmt='+.1f')}, vs lead-1 "
              f"{_ci(r['gap_rouge1_minilm_minus_lead1'], fmt='+.1f')}; same sentence as TextRank in "
              f"{r['same_sentence_as_textrank']:.0%} of documents")


def main(argv=None) -> dict:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    from course_utils.pretrained import load_minilm

    wall, cpu = time.perf_counter(), time.process_time()
    encoder = load_minilm()
    load = {"wall_s": round(time.perf_counter() - wall, 2), "cpu_s": round(time.process_time() - cpu, 2)}
    print(f"load_minilm: {load['wall_s']} s (sha256 check + safetensors); torch threads {torch.get_num_threads()}")
    results = {"command": "python benchmarks/minilm_rungs.py " + " ".join(sys.argv[1:] if argv is None else argv),
               "tiny": args.tiny, "threads": torch.get_num_threads(), "batch_size": args.batch_size,
               "load_minilm": load, "hardware": {"machine": platform.machine(), "cpus": os.cpu_count(),
                                                 "torch": torch.__version__, "load_avg": os.getloadavg()}}
    for part, name, run in (("08", "08_sentiment", sentiment_rung), ("09", "09_dialogue", dialogue_rung),
                            ("07", "07_summarization", summarization_rung)):
        if part in args.parts:
            start = time.perf_counter()
            results[name] = run(encoder, args)
            results[name]["total_wall_s"] = round(time.perf_counter() - start, 1)
            report(name, results[name])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nwrote {args.out}")
    return results


if __name__ == "__main__":
    main()
