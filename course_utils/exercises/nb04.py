"""Checkers for notebook 04 (multi-head attention): splitting and merging heads, turning torch's
"True = blocked" masks into the course's "True = keep" masks, and counting parameters."""
from __future__ import annotations

from typing import Callable

import torch

from course_utils.attention import MultiHeadAttention
from course_utils.exercises import _fail, _pass, exercise_check


def _shape(got) -> str:
    return str(tuple(got.shape)) if isinstance(got, torch.Tensor) else type(got).__name__


def _reference_split(x: torch.Tensor, h: int) -> torch.Tensor:
    B, T, d_model = x.shape
    return x.view(B, T, h, d_model // h).transpose(1, 2)


@exercise_check
def check_exercise_1(split_heads: Callable[[torch.Tensor, int], torch.Tensor]) -> None:
    """The learner's `split_heads(x, h)` must turn (B, T, d_model) into (B, h, T, d_k): head i holds
    features i·d_k … (i+1)·d_k − 1 of every position."""
    x = torch.arange(2 * 3 * 8, dtype=torch.float32).view(2, 3, 8)  # (B=2, T=3, d_model=8)
    for h in (1, 2, 4):
        got = split_heads(x.clone(), h)
        want = _reference_split(x, h)
        if got is None:
            _fail("split_heads returned None — return the (B, h, T, d_k) tensor")
        if not isinstance(got, torch.Tensor) or got.shape != want.shape:
            _fail(f"split_heads(x of shape (2, 3, 8), h={h}) should have shape {tuple(want.shape)}, got {_shape(got)}")
        if not torch.equal(got, want):
            wrong_order = x.reshape(2, h, 3, 8 // h)
            hint = (" — x.view(B, h, T, d_k) mixes positions into heads; view as (B, T, h, d_k) first, "
                    "then transpose(1, 2)" if torch.equal(got, wrong_order) else
                    " — view as (B, T, h, d_k), then swap the T and h axes")
            _fail(f"split_heads(x, h={h})[0, 0] = {got[0, 0].tolist()}, expected {want[0, 0].tolist()}{hint}")
    _pass("split_heads gives (B, h, T, d_k) with head i = features i·d_k … (i+1)·d_k − 1")


@exercise_check
def check_exercise_2(merge_heads: Callable[[torch.Tensor], torch.Tensor]) -> None:
    """The learner's `merge_heads(x)` must undo split_heads: (B, h, T, d_k) → (B, T, h·d_k)."""
    x = torch.arange(2 * 3 * 8, dtype=torch.float32).view(2, 3, 8)
    for h in (1, 2, 4):
        heads = _reference_split(x, h)
        got = merge_heads(heads.clone())
        if got is None:
            _fail("merge_heads returned None — return the (B, T, d_model) tensor")
        if not isinstance(got, torch.Tensor) or got.shape != x.shape:
            _fail(f"merge_heads(heads of shape {tuple(heads.shape)}) should have shape {tuple(x.shape)}, "
                  f"got {_shape(got)}")
        if not torch.equal(got, x):
            _fail(f"merge_heads(split_heads(x, {h})) ≠ x: row [0, 0] is {got[0, 0].tolist()}, expected "
                  f"{x[0, 0].tolist()} — transpose(1, 2) back to (B, T, h, d_k) before the view/reshape")
    _pass("merge_heads(split_heads(x, h)) == x for h = 1, 2, 4")


def _reference_keep_mask(attn_mask, key_padding_mask, B, T_q, T_k) -> torch.Tensor:
    keep = torch.ones(B, 1, T_q, T_k, dtype=torch.bool)
    if attn_mask is not None:
        keep = keep & ~attn_mask
    if key_padding_mask is not None:
        keep = keep & ~key_padding_mask[:, None, None, :]
    return keep


@exercise_check
def check_exercise_3(torch_masks_to_keep_mask: Callable) -> None:
    """The learner's `torch_masks_to_keep_mask(attn_mask, key_padding_mask)` must turn torch's masks
    (True = blocked; (T_q, T_k) and (B, T_k)) into one keep-mask that broadcasts to (B, h, T_q, T_k)."""
    B, T_q, T_k = 2, 3, 4
    attn_mask = torch.ones(T_q, T_k, dtype=torch.bool).triu(1)          # torch style: True = blocked
    key_padding = torch.tensor([[False, False, False, True], [False, False, True, True]])
    cases = ((attn_mask, None, "attn_mask only"), (None, key_padding, "key_padding_mask only"),
             (attn_mask, key_padding, "both masks"))
    for am, kpm, what in cases:
        got = torch_masks_to_keep_mask(am, kpm)
        want = _reference_keep_mask(am, kpm, B, T_q, T_k)
        if got is None:
            _fail(f"{what}: returned None — return a bool keep-mask (True = may attend)")
        try:
            got_full = torch.broadcast_to(got, (B, 1, T_q, T_k))
        except (RuntimeError, TypeError):
            _fail(f"{what}: a mask of shape {_shape(got)} does not broadcast to (B, h, T_q, T_k) = "
                  f"({B}, h, {T_q}, {T_k}) — put the padding mask at [:, None, None, :]")
        if got_full.dtype != torch.bool:
            _fail(f"{what}: return a bool mask, got {got_full.dtype}")
        if torch.equal(got_full, ~want):
            _fail(f"{what}: the mask is inverted — torch's True means blocked, ours True means keep: use ~")
        if not torch.equal(got_full, want):
            _fail(f"{what}: batch 1 keep-mask is {got_full[1, 0].int().tolist()}, expected "
                  f"{want[1, 0].int().tolist()} — a key is kept only if neither mask blocks it (&)")
    _pass("torch_masks_to_keep_mask: True = blocked turned into True = keep, both masks combined")


@exercise_check
def check_exercise_4(mha_parameter_count: Callable[[int, int], int]) -> None:
    """The learner's `mha_parameter_count(d_model, h)` must match MultiHeadAttention's parameter count."""
    for d_model, h in ((8, 1), (8, 2), (64, 8), (256, 8)):
        got = mha_parameter_count(d_model, h)
        want = sum(p.numel() for p in MultiHeadAttention(h, d_model).parameters())
        if got != want:
            hint = (" — the number of heads does not change it: heads split d_model, they don't add weights"
                    if got is not None and mha_parameter_count(d_model, 1) != got else
                    " — four d_model × d_model weight matrices (W_Q, W_K, W_V, W_O), each with a bias")
            _fail(f"mha_parameter_count({d_model}, h={h}) = {got}, expected {want}{hint}")
    _pass("mha_parameter_count matches the module: 4·d_model² + 4·d_model, whatever h is")
