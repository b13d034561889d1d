"""Reference solutions for notebook 09 (09_dialogue_system.ipynb). Try each exercise first;
`show_solution(9, k)` prints one. Each block runs after the exercise cell's own code."""

# %% exercise 1
def tfidf_rows(token_lists, terms, idf):
    rows = torch.zeros(len(token_lists), len(terms))                  # (M, V)
    for i, tokens in enumerate(token_lists):
        for term, count in Counter(tokens).items():
            if term in terms:
                rows[i, terms[term]] = count
    rows = rows * idf                                                 # tf · idf
    return rows / rows.norm(dim=1, keepdim=True).clamp_min(1e-12)     # unit rows

# %% exercise 2
def mean_reciprocal_rank(scores, true_index):
    true_score = scores.gather(1, true_index[:, None])                # (n, 1)
    greater = (scores > true_score).sum(1)                            # (n,) candidates strictly above
    tied = (scores == true_score).sum(1) - 1                          # (n,) others with the same score
    total = 0.0
    for g, e in zip(greater.tolist(), tied.tolist()):
        ranks = range(g + 1, g + e + 2)                               # equally likely places of the truth
        total += sum(1 / r for r in ranks) / len(ranks)
    return total / len(scores)

# %% exercise 3
my_rules = {**TECH_SUPPORT_INTENTS, "keyboard": r"\bkey(s|board)?\b"}
