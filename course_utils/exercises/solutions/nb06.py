"""Reference solutions for notebook 06 (06_machine_translation.ipynb). Try each exercise first;
`show_solution(6, k)` prints one. Each block runs after the exercise cell's own code."""

# %% exercise 1
def decoder_io(target: list[int], bos_id: int, eos_id: int) -> tuple[list[int], list[int]]:
    return [bos_id, *target], [*target, eos_id]

# %% exercise 2
def source_padding_mask(src: torch.Tensor, pad_id: int) -> torch.Tensor:
    return (src != pad_id)[:, None, None, :]        # (B, S) → (B, 1, 1, S)

# %% exercise 3
def beam_step(scores: torch.Tensor, log_probs: torch.Tensor, k: int):
    V = log_probs.size(-1)
    candidates = (scores[:, None] + log_probs).flatten()     # (k·V,) score of every extension
    new_scores, flat = candidates.topk(k)                    # (k,) the k best over all hypotheses
    return new_scores, flat // V, flat % V                   # which hypothesis, which token

# %% exercise 4
def clipped_matches(hyp: list[str], ref: list[str], n: int) -> tuple[int, int]:
    hyp_ngrams = Counter(tuple(hyp[i:i + n]) for i in range(len(hyp) - n + 1))
    ref_ngrams = Counter(tuple(ref[i:i + n]) for i in range(len(ref) - n + 1))
    return sum((hyp_ngrams & ref_ngrams).values()), sum(hyp_ngrams.values())
