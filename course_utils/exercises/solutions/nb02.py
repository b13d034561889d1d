"""Reference solutions for notebook 02 (02_ngram_and_rnn_language_models.ipynb). Try each exercise first;
`show_solution(2, k)` prints one. Each block runs after the exercise cell's own code."""

# %% exercise 1
def bigram_add_k_nll(train_ids, test_ids, vocab_size, k):
    train_ids, test_ids = np.asarray(train_ids), np.asarray(test_ids)
    counts = np.zeros((vocab_size, vocab_size))
    np.add.at(counts, (train_ids[:-1], train_ids[1:]), 1)            # c(h w)
    probs = (counts + k) / (counts.sum(axis=1, keepdims=True) + k * vocab_size)  # rows: contexts h
    return float(-np.log(probs[test_ids[:-1], test_ids[1:]]).mean())


# %% exercise 2
def gru_cell(x, h, W_ih, W_hh, b_ih, b_hh):
    x_r, x_z, x_n = (x @ W_ih.T + b_ih).chunk(3, dim=-1)   # each (B, d)
    h_r, h_z, h_n = (h @ W_hh.T + b_hh).chunk(3, dim=-1)   # each (B, d)
    r = torch.sigmoid(x_r + h_r)                           # reset gate
    z = torch.sigmoid(x_z + h_z)                           # update gate
    n = torch.tanh(x_n + r * h_n)                          # candidate state
    return (1 - z) * n + z * h                             # (B, d)

# %% exercise 3
def clip_by_global_norm(grads, max_norm):
    total_norm = torch.sqrt(sum(g.pow(2).sum() for g in grads))
    scale = min(1.0, max_norm / float(total_norm))   # ≤ 1: only ever shrinks
    return [g * scale for g in grads], total_norm
