"""Recurrent language models: a vanilla RNN cell written from its equation, unrolled by hand, and
wrappers over torch.nn.LSTM / torch.nn.GRU behind one interface.

    h_t = tanh(W_xh x_t + W_hh h_{t−1} + b)        (the Elman RNN cell)
    logits_t = W_hy h_t + b_y                      (a linear read-out predicts token t + 1)

Backpropagation through time (BPTT) is just autograd on the unrolled loop: the loss at step t
depends on h_t, which depends on h_{t−1}, …, so gradients flow back through every W_hh product —
and shrink (or blow up) geometrically with distance. `input_gradient_norms` measures exactly that.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from course_utils.validation import require_int

KINDS = ("rnn", "lstm", "gru")


class RNNCell(nn.Module):
    """One step of a vanilla (Elman) RNN: h_t = tanh(W_xh x_t + W_hh h_{t−1} + b).

    Initialised like torch.nn.RNN: every weight uniform in ±1/√d_hidden.
    """

    def __init__(self, d_in: int, d_hidden: int):
        super().__init__()
        d_in, d_hidden = (require_int(v, name, minimum=1) for name, v in (("d_in", d_in), ("d_hidden", d_hidden)))
        self.d_in, self.d_hidden = d_in, d_hidden
        self.W_xh = nn.Parameter(torch.empty(d_hidden, d_in))
        self.W_hh = nn.Parameter(torch.empty(d_hidden, d_hidden))
        self.b = nn.Parameter(torch.empty(d_hidden))
        bound = 1 / math.sqrt(d_hidden)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def forward(self, x_t: torch.Tensor, h_prev: torch.Tensor | None = None) -> torch.Tensor:
        """x_t (B, d_in), h_prev (B, d_hidden) or None for zeros → h_t (B, d_hidden)."""
        if x_t.dim() != 2 or x_t.size(-1) != self.d_in:
            raise ValueError(f"x_t must have shape (B, {self.d_in}), got {tuple(x_t.shape)}")
        if h_prev is None:
            h_prev = x_t.new_zeros(x_t.size(0), self.d_hidden)
        return torch.tanh(x_t @ self.W_xh.T + h_prev @ self.W_hh.T + self.b)

    @torch.no_grad()
    def copy_from_torch(self, rnn: nn.RNN | nn.RNNCell, layer: int = 0) -> "RNNCell":
        """Load the weights of a torch.nn.RNN layer (or RNNCell) with tanh: b = b_ih + b_hh."""
        suffix = "" if isinstance(rnn, nn.RNNCell) else f"_l{layer}"
        w_ih, w_hh = getattr(rnn, f"weight_ih{suffix}"), getattr(rnn, f"weight_hh{suffix}")
        if w_ih.shape != self.W_xh.shape or w_hh.shape != self.W_hh.shape:
            raise ValueError(f"shape mismatch: torch weights {tuple(w_ih.shape)}/{tuple(w_hh.shape)}, "
                             f"this cell {tuple(self.W_xh.shape)}/{tuple(self.W_hh.shape)}")
        self.W_xh.copy_(w_ih)
        self.W_hh.copy_(w_hh)
        bias = torch.zeros_like(self.b)
        for name in (f"bias_ih{suffix}", f"bias_hh{suffix}"):
            if getattr(rnn, name, None) is not None:
                bias += getattr(rnn, name)
        self.b.copy_(bias)
        return self


def unroll(cell: RNNCell, xs: torch.Tensor, h0: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Run `cell` over time by hand: xs (B, T, d_in) → all hidden states (B, T, d_hidden) and h_T (B, d_hidden)."""
    if xs.dim() != 3:
        raise ValueError(f"xs must have shape (B, T, d_in), got {tuple(xs.shape)}")
    h, states = h0, []
    for t in range(xs.size(1)):  # the recurrence: each step needs the previous one
        h = cell(xs[:, t], h)     # (B, d_hidden)
        states.append(h)
    return torch.stack(states, dim=1), h


class RNNLanguageModel(nn.Module):
    """Embedding → n_layers recurrent layers → linear head: next-token logits at every position.

    kind="rnn" stacks hand-written `RNNCell`s unrolled with a Python loop over time (BPTT through
    autograd); "lstm" and "gru" use torch.nn.LSTM / torch.nn.GRU (fast fused kernels).
    The state between calls is a list with one h per layer ("rnn"), or torch's (h, c) / h.
    """

    def __init__(self, vocab_size: int, d_embed: int, d_hidden: int, n_layers: int = 1, kind: str = "rnn",
                 dropout: float = 0.0):
        super().__init__()
        vocab_size, d_embed, d_hidden, n_layers = (require_int(v, name, minimum=1) for name, v in (
            ("vocab_size", vocab_size), ("d_embed", d_embed), ("d_hidden", d_hidden), ("n_layers", n_layers)))
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.vocab_size, self.kind, self.n_layers = vocab_size, kind, n_layers
        self.embedding = nn.Embedding(vocab_size, d_embed)
        if kind == "rnn":
            self.cells = nn.ModuleList(RNNCell(d_embed if i == 0 else d_hidden, d_hidden) for i in range(n_layers))
        else:
            recurrent = nn.LSTM if kind == "lstm" else nn.GRU
            self.recurrent = recurrent(d_embed, d_hidden, n_layers, batch_first=True,
                                       dropout=dropout if n_layers > 1 else 0.0)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(d_hidden, vocab_size)

    def recur(self, emb: torch.Tensor, state=None):
        """The recurrent layers alone: emb (B, T, d_embed) → outputs (B, T, d_hidden), final state."""
        if self.kind != "rnn":
            return self.recurrent(emb, state)
        hs, new_state = emb, []
        for i, cell in enumerate(self.cells):
            if i > 0:
                hs = self.dropout(hs)  # between layers, as torch.nn.RNN does
            hs, h_last = unroll(cell, hs, None if state is None else state[i])
            new_state.append(h_last)
        return hs, new_state

    def forward_with_state(self, x: torch.Tensor, state=None):
        """x (B, T) token ids → logits (B, T, vocab_size) and the recurrent state after the last step."""
        if x.dim() != 2 or x.dtype != torch.long:
            raise ValueError(f"x must be a (B, T) tensor of token ids (torch.long), got shape "
                             f"{tuple(x.shape)} dtype {x.dtype}")
        out, state = self.recur(self.embedding(x), state)  # (B, T, d_hidden)
        return self.head(self.dropout(out)), state          # (B, T, vocab_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, T) long → logits (B, T, vocab_size), starting from a zero state."""
        return self.forward_with_state(x)[0]

    @torch.no_grad()
    def sample(self, prompt: torch.Tensor, n_new: int, temperature: float = 1.0,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """Continue a 1-D prompt of ids by n_new sampled ids, carrying the hidden state (O(1) per token)."""
        if prompt.dim() != 1 or len(prompt) == 0:
            raise ValueError(f"prompt must be a non-empty 1-D tensor of ids, got shape {tuple(prompt.shape)}")
        n_new = require_int(n_new, "n_new", minimum=0)
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        was_training = self.training
        self.eval()
        device = next(self.parameters()).device
        logits, state = self.forward_with_state(prompt.to(device)[None])  # (1, T, V)
        out = [prompt.to(device)]
        for _ in range(n_new):
            probs = F.softmax(logits[0, -1] / temperature, dim=-1)          # (V,)
            token = torch.multinomial(probs.cpu(), 1, generator=generator).to(device)
            out.append(token)
            logits, state = self.forward_with_state(token[None], state)     # (1, 1, V)
        self.train(was_training)
        return torch.cat(out).cpu()


def input_gradient_norms(model: RNNLanguageModel, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
    """‖∂ loss_T / ∂ x_t‖ for every input position t: how much the last prediction depends on each input.

    x (B, T) ids; the loss is the cross-entropy of the prediction at the last position (target y[:, -1],
    or the model's own argmax when y is None). Returns (T,) norms averaged over the batch; index T − 1 − k
    is the gradient from k steps back. A vanishing gradient shows as a geometric fall with k.

    x and y are moved to the model's device; the norms come back on x's device. cuDNN is switched off
    for this call: CUDA refuses to back-propagate through a cuDNN RNN in eval mode (no effect on CPU).
    """
    caller_device, device = x.device, next(model.parameters()).device
    x = x.to(device)
    y = None if y is None else y.to(device)
    was_training = model.training
    model.eval()  # no dropout: measure the network itself
    try:
        with torch.backends.cudnn.flags(enabled=False):     # cuDNN RNN backward needs train mode
            emb = model.embedding(x).detach().requires_grad_(True)  # (B, T, d_embed)
            out, _ = model.recur(emb)                                # (B, T, d_hidden)
            logits = model.head(out[:, -1])                          # (B, V) — only the last step
            target = y[:, -1] if y is not None else logits.argmax(-1)
            loss = F.cross_entropy(logits, target, reduction="sum")
            (grad,) = torch.autograd.grad(loss, emb)                 # (B, T, d_embed); parameters' .grad untouched
    finally:
        model.train(was_training)
    return grad.norm(dim=-1).mean(dim=0).to(caller_device)           # (T,)
