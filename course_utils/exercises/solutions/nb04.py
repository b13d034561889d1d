"""Reference solutions for notebook 04 (04_multi_head_attention.ipynb). Try each exercise first;
`show_solution(4, k)` prints one. Each block runs after the exercise cell's own code."""

# %% exercise 1
def split_heads(x: torch.Tensor, h: int) -> torch.Tensor:
    B, T, d_model = x.shape
    return x.view(B, T, h, d_model // h).transpose(1, 2)  # (B, h, T, d_k)

# %% exercise 2
def merge_heads(x: torch.Tensor) -> torch.Tensor:
    B, h, T, d_k = x.shape
    return x.transpose(1, 2).reshape(B, T, h * d_k)  # (B, T, d_model)

# %% exercise 3
def torch_masks_to_keep_mask(attn_mask, key_padding_mask):
    keep = torch.tensor(True)                                   # broadcasts to anything
    if attn_mask is not None:
        keep = keep & ~attn_mask                                # (T_q, T_k)
    if key_padding_mask is not None:
        keep = keep & ~key_padding_mask[:, None, None, :]       # (B, 1, 1, T_k)
    return keep

# %% exercise 4
def mha_parameter_count(d_model: int, h: int) -> int:
    return 4 * (d_model * d_model + d_model)  # W_Q, W_K, W_V, W_O with biases; h only splits d_model
