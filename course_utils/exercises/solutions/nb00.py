"""Reference solutions for notebook 00 (00_welcome_and_setup.ipynb). Try each exercise first;
`show_solution(0, k)` prints one. Each block runs after the exercise cell's own code."""

# %% exercise 1
def perplexity(probs: torch.Tensor) -> float:
    loss = -torch.log(probs).mean()          # average surprise in nats: the cross-entropy loss
    return float(torch.exp(loss))            # undo the log: "as unsure as a uniform choice among … tokens"

# %% exercise 2
def softmax_with_temperature(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    return torch.softmax(logits / temperature, dim=-1)      # (…, V): T < 1 sharpens, T > 1 flattens

# %% exercise 3
def softmax(x: torch.Tensor) -> torch.Tensor:
    exps = torch.exp(x - x.max())   # (n,) all ≤ 1: no overflow
    return exps / exps.sum()

# %% exercise 4
def two_draws(seed: int):
    set_seed(seed)
    first = torch.rand(3)
    set_seed(seed)
    second = torch.rand(3)
    return first, second
