"""Reference solutions for notebook 08 (08_sentiment_analysis.ipynb). Try each exercise first;
`show_solution(8, k)` prints one. Each block runs after the exercise cell's own code."""

# %% exercise 1
def scores_from_confusion(cm, positive=1):
    tp = cm[positive, positive]
    predicted, actual = cm[:, positive].sum(), cm[positive, :].sum()
    precision = tp / predicted if predicted else 0.0
    recall = tp / actual if actual else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return float(precision), float(recall), float(f1)

# %% exercise 2
def mark_negation(tokens):
    out, negated = [], False
    for token in tokens:
        if token in {".", ":", ";", "!", "?"}:
            negated = False
            out.append(token)
        elif negated:
            out.append(token + "_NEG")
        else:
            out.append(token)
            negated = token in NEGATION_WORDS or token.endswith("n't")
    return out

# %% exercise 3
def three_way(compound):
    if compound >= 0.05:
        return "positive"
    if compound <= -0.05:
        return "negative"
    return "neutral"
