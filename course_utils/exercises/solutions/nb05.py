"""Reference solutions for notebook 05 (05_gpt_language_model.ipynb). Try each exercise first;
`show_solution(5, k)` prints one. Each block runs after the exercise cell's own code."""

# %% exercise 1
def apply_min_p(logits: torch.Tensor, min_p: float) -> torch.Tensor:
    probs = logits.softmax(dim=-1)                                     # (…, V)
    threshold = min_p * probs.max(dim=-1, keepdim=True).values        # (…, 1) one cut-off per row
    return logits.masked_fill(probs < threshold, float("-inf"))

# %% exercise 2
def gpt_parameter_count(V, T, C, N, tie_weights=True, positional="learned") -> int:
    embeddings = V * C + (T * C if positional == "learned" else 0)    # sinusoidal: a buffer, no parameters
    blocks = N * (12 * C * C + 13 * C)                                 # attention 4C²+4C, FFN 8C²+5C, 2 LNs 4C
    head = 0 if tie_weights else V * C                                 # tied: shares the embedding matrix
    return embeddings + blocks + 2 * C + head                          # + final LayerNorm


# %% exercise 3
@torch.no_grad()
def greedy_decode(model, idx: torch.Tensor, max_new_tokens: int) -> torch.Tensor:
    for _ in range(max_new_tokens):
        logits = model(idx[:, -model.block_size:])                     # (B, ≤ block_size, V)
        next_id = logits[:, -1, :].argmax(dim=-1, keepdim=True)        # (B, 1)
        idx = torch.cat([idx, next_id], dim=1)                          # (B, T + 1)
    return idx

# %% exercise 4
def post_ln_block(block, x: torch.Tensor) -> torch.Tensor:
    x = block.ln_attn(x + block.attn(x, x, x, is_causal=True))   # LN after the residual sum
    return block.ln_ff(x + block.ff(x))
