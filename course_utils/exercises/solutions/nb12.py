"""Reference solutions for notebook 12 (12_post_training.ipynb). Try each exercise first;
`show_solution(12, k)` prints one. Each block runs after the exercise cell's own code."""

# %% exercise 1
def cache_bytes_per_token(n_layers: int, n_heads: int, n_kv_heads: int, d_model: int, bytes_per_number: int) -> int:
    head_dim = d_model // n_heads
    return 2 * n_layers * n_kv_heads * head_dim * bytes_per_number      # K and V, every layer, every KV head

# %% exercise 2
def my_dpo_loss(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta: float):
    chosen_reward = beta * (policy_chosen - ref_chosen)                   # r(x, y_w)
    rejected_reward = beta * (policy_rejected - ref_rejected)             # r(x, y_l)
    return -F.logsigmoid(chosen_reward - rejected_reward).mean()

# %% exercise 3
def merged_weight(W, A, B, alpha: float, rank: int):
    return W + (alpha / rank) * (B @ A)                                   # (out, r) @ (r, in) = (out, in)
