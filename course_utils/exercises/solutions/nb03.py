"""Reference solutions for notebook 03 (03_the_attention_formula.ipynb). Try each exercise first;
`show_solution(3, k)` prints one. Each block runs after the exercise cell's own code."""

# %% exercise 1
def stable_log_softmax(x: torch.Tensor) -> torch.Tensor:
    shifted = x - x.max(dim=-1, keepdim=True).values           # largest entry becomes 0
    return shifted - shifted.exp().sum(dim=-1, keepdim=True).log()

# %% exercise 2
def local_causal_mask(size: int, window: int) -> torch.Tensor:
    t = torch.arange(size)
    offset = t[:, None] - t[None, :]  # (size, size): query position − key position
    return (offset >= 0) & (offset < window)

# %% exercise 3
def attention_entropy(weights: torch.Tensor) -> torch.Tensor:
    return 0.0 - torch.special.xlogy(weights, weights).sum(dim=-1)  # (…, T_q) nats; 0.0 − avoids "-0."

