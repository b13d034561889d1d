"""Reference solutions for notebook 00 (00_welcome_and_setup.ipynb). Try each exercise first;
`show_solution(0, k)` prints one. Each block runs after the exercise cell's own code."""

# %% exercise 1
glossary = {"token": "词元", "attention": "注意力", "perplexity": "困惑度", "vocabulary": "词汇表"}

# %% exercise 2
notebook_for = {
    "train BPE from scratch": 1,
    "finish the article's MultiHeadAttention class": 4,
    "train a GPT language model": 5,
    "sentiment analysis": 8,
}

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
