"""Reference solutions for notebook 10 (10_challenges_and_faq.ipynb). Try each exercise first;
`show_solution(10, k)` prints one. Each block runs after the exercise cell's own code."""

# %% exercise 1
def exposure_bits(secret_score, candidate_scores):
    scores = np.asarray(candidate_scores, dtype=float)
    rank = 1 + int(np.sum(scores < secret_score))
    return math.log2(len(scores)) - math.log2(rank)

# %% exercise 2
def estimate_exposure(secret_score, sampled_scores, space_size):
    fraction = float(np.mean(np.asarray(sampled_scores, dtype=float) < secret_score))
    return math.log2(space_size) - math.log2(1 + (space_size - 1) * fraction)


# %% exercise 3
import re

def he_she_log_odds(text):
    words = re.findall(r"[a-z]+", text.lower())
    he = sum(w in ("he", "him", "his") for w in words)
    she = sum(w in ("she", "her") for w in words)
    return math.log((he + 1) / (she + 1))


# %% exercise 4
def characters_per_context(encode, texts, context_tokens):
    chars = sum(len(t) for t in texts)
    tokens = sum(len(encode(t)) for t in texts)
    return context_tokens * chars / tokens

