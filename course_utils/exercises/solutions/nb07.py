"""Reference solutions for notebook 07 (07_summarization.ipynb). Try each exercise first;
`show_solution(7, k)` prints one. Each block runs after the exercise cell's own code."""

# %% exercise 1
def rouge1_f1(candidate: list[str], reference: list[str]) -> float:
    overlap = sum((Counter(candidate) & Counter(reference)).values())
    if overlap == 0:
        return 0.0
    precision, recall = overlap / len(candidate), overlap / len(reference)
    return 2 * precision * recall / (precision + recall)

# %% exercise 2
def my_pagerank(W: np.ndarray, damping: float = 0.85) -> np.ndarray:
    n = len(W)
    out = W.sum(axis=1, keepdims=True)                                # (n, 1) total weight per node
    P = np.where(out > 0, W / np.where(out > 0, out, 1), 1.0 / n)     # dangling rows → uniform
    r = np.full(n, 1.0 / n)
    for _ in range(200):
        r = (1 - damping) / n + damping * P.T @ r
    return r

# %% exercise 3
import math


def cosine_similarity(a: list[str], b: list[str]) -> float:
    ca, cb = Counter(a), Counter(b)
    norm = math.sqrt(sum(v * v for v in ca.values())) * math.sqrt(sum(v * v for v in cb.values()))
    return sum(ca[w] * cb[w] for w in ca) / norm if norm else 0.0
