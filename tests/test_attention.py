"""course_utils.attention: the formula, masks, and MultiHeadAttention against torch.nn.MultiheadAttention."""
import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from course_utils.attention import MultiHeadAttention, causal_mask, padding_mask, scaled_dot_product_attention


def random_keep_mask(shape, generator) -> torch.Tensor:
    """A random keep-mask with at least one kept key per row (torch's module gives NaN otherwise)."""
    keep = torch.rand(shape, generator=generator) > 0.4
    keep[..., 0] = True
    return keep


def paired_modules(h: int, d_model: int, seed: int):
    """torch.nn.MultiheadAttention (random biases too) and ours with the same weights, dropout 0."""
    torch.manual_seed(seed)
    ref = nn.MultiheadAttention(d_model, h, dropout=0.0, batch_first=True)
    with torch.no_grad():
        ref.in_proj_bias.normal_()
        ref.out_proj.bias.normal_()
    return ref, MultiHeadAttention(h, d_model, dropout=0.0).load_from_torch(ref)


# ---- MultiHeadAttention == torch.nn.MultiheadAttention --------------------------------------------
@settings(max_examples=40, deadline=None)
@given(B=st.integers(1, 3), T_q=st.integers(1, 6), T_k=st.integers(1, 6), h=st.sampled_from([1, 2, 4]),
       d_k=st.sampled_from([1, 3, 4]), mask_kind=st.sampled_from(["none", "attn", "padding", "both"]),
       seed=st.integers(0, 2**16))
def test_matches_torch_multihead_attention(B, T_q, T_k, h, d_k, mask_kind, seed):
    ref, ours = paired_modules(h, h * d_k, seed)
    g = torch.Generator().manual_seed(seed)
    query, key = torch.randn(B, T_q, h * d_k, generator=g), torch.randn(B, T_k, h * d_k, generator=g)
    value = torch.randn(B, T_k, h * d_k, generator=g)
    attn_keep = random_keep_mask((T_q, T_k), g) if mask_kind in ("attn", "both") else None
    pad_keep = random_keep_mask((B, T_k), g) if mask_kind in ("padding", "both") else None
    keep = None  # ours: one keep-mask, True = may attend
    if attn_keep is not None:
        keep = attn_keep
    if pad_keep is not None:
        keep = pad_keep[:, None, None, :] if keep is None else keep & pad_keep[:, None, None, :]
    torch_kwargs = {"attn_mask": None if attn_keep is None else ~attn_keep,       # torch: True = blocked
                    "key_padding_mask": None if pad_keep is None else ~pad_keep}
    for mode in ("eval", "train"):  # eval: explicit formula + weights; train: fused fast path (dropout 0)
        ref.train(mode == "train")
        ours.train(mode == "train")
        want, want_weights = ref(query, key, value, need_weights=True, average_attn_weights=False, **torch_kwargs)
        got = ours(query, key, value, keep)
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-4)
        if mode == "eval":
            torch.testing.assert_close(ours.attn, want_weights, atol=1e-6, rtol=1e-5)
        else:
            assert ours.attn is None


@pytest.mark.parametrize("training", [False, True])
def test_causal_matches_torch_and_is_causal_flag(training):
    ref, ours = paired_modules(4, 16, seed=1)
    ref.train(training)
    ours.train(training)
    x = torch.randn(2, 7, 16)
    want, _ = ref(x, x, x, attn_mask=~causal_mask(7), need_weights=False)
    torch.testing.assert_close(ours(x, x, x, causal_mask(7)), want, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(ours(x, x, x, is_causal=True), want, atol=1e-5, rtol=1e-4)


def test_need_weights_in_training_mode_keeps_weights_and_agrees_with_fast_path():
    _, ours = paired_modules(2, 8, seed=2)
    ours.train()
    x = torch.randn(3, 5, 8)
    fast = ours(x, x, x, causal_mask(5))
    assert ours.attn is None
    explicit = ours(x, x, x, causal_mask(5), need_weights=True)
    assert ours.attn.shape == (3, 2, 5, 5)
    torch.testing.assert_close(fast, explicit, atol=1e-6, rtol=1e-5)


# ---- properties of the weights -----------------------------------------------------------------------
def test_rows_sum_to_one_and_masked_positions_get_zero():
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 3, 5, 4, generator=g) for _ in range(3))
    keep = random_keep_mask((2, 1, 5, 5), g)
    _, weights = scaled_dot_product_attention(q, k, v, keep)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 3, 5))
    assert torch.all(weights.masked_select(~keep.expand_as(weights)) == 0)
    _, causal_weights = scaled_dot_product_attention(q, k, v, causal_mask(5))
    assert torch.all(causal_weights.triu(1) == 0)


def test_fully_masked_row_gives_zero_on_both_paths():
    _, ours = paired_modules(2, 8, seed=3)
    keep = torch.tensor([[True, True, False], [False, False, False], [True, False, True]])
    x = torch.randn(2, 3, 8)
    out_eval = ours.eval()(x, x, x, keep)
    assert torch.all(ours.attn[:, :, 1] == 0) and torch.isfinite(out_eval).all()
    torch.testing.assert_close(ours.train()(x, x, x, keep), out_eval, atol=1e-6, rtol=1e-5)


def test_zero_one_integer_mask_equals_bool_mask():
    q = k = v = torch.randn(1, 4, 2)
    keep = causal_mask(4)
    out_bool, _ = scaled_dot_product_attention(q, k, v, keep)
    out_int, _ = scaled_dot_product_attention(q, k, v, keep.long())
    torch.testing.assert_close(out_bool, out_int)


def test_permutation_equivariance_without_positions():
    """No positional information: permuting the tokens permutes the outputs the same way."""
    _, ours = paired_modules(4, 16, seed=4)
    ours.eval()
    x, memory = torch.randn(2, 6, 16), torch.randn(2, 5, 16)
    perm, perm_k = torch.randperm(6), torch.randperm(5)
    torch.testing.assert_close(ours(x[:, perm], x[:, perm], x[:, perm]), ours(x, x, x)[:, perm], atol=1e-6, rtol=1e-5)
    # cross-attention: shuffling the keys/values (together) changes nothing at all
    torch.testing.assert_close(ours(x, memory[:, perm_k], memory[:, perm_k]), ours(x, memory, memory),
                               atol=1e-6, rtol=1e-5)


def test_formula_on_a_hand_example():
    """One query equal to the first of two orthogonal keys: weights softmax([1, 0]/√2)."""
    q = torch.tensor([[1.0, 0.0]])
    k = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    v = torch.tensor([[10.0], [20.0]])
    out, weights = scaled_dot_product_attention(q, k, v)
    w0 = 1 / (1 + math.exp(-1 / math.sqrt(2)))
    torch.testing.assert_close(weights, torch.tensor([[w0, 1 - w0]]))
    torch.testing.assert_close(out, torch.tensor([[10 * w0 + 20 * (1 - w0)]]))


def test_matches_torch_functional_sdpa():
    g = torch.Generator().manual_seed(5)
    q, k, v = torch.randn(2, 3, 4, 8, generator=g), torch.randn(2, 3, 6, 8, generator=g), torch.randn(2, 3, 6, 5, generator=g)
    keep = random_keep_mask((2, 1, 1, 6), g)
    for mask in (None, keep):
        out, _ = scaled_dot_product_attention(q, k, v, mask)
        torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=mask), atol=1e-6, rtol=1e-5)


# ---- gradients -----------------------------------------------------------------------------------------
def test_gradcheck_formula_float64():
    g = torch.Generator().manual_seed(6)
    q, k, v = (torch.randn(2, 3, 4, dtype=torch.float64, generator=g, requires_grad=True) for _ in range(3))
    keep = causal_mask(3)
    assert torch.autograd.gradcheck(lambda a, b, c: scaled_dot_product_attention(a, b, c, keep), (q, k, v))


@pytest.mark.parametrize("training", [False, True])
def test_gradcheck_module_float64(training):
    torch.manual_seed(7)
    mha = MultiHeadAttention(2, 4, dropout=0.0).double().train(training)
    x = torch.randn(2, 3, 4, dtype=torch.float64, requires_grad=True)
    memory = torch.randn(2, 5, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a: mha(a, a, a, is_causal=True), (x,))
    assert torch.autograd.gradcheck(lambda a, m: mha(a, m, m), (x, memory))


# ---- masks ---------------------------------------------------------------------------------------------
def test_mask_helpers():
    assert causal_mask(3).tolist() == [[True, False, False], [True, True, False], [True, True, True]]
    ids = torch.tensor([[5, 6, 0], [7, 0, 0]])
    assert padding_mask(ids, pad_id=0).shape == (2, 1, 1, 3)
    assert padding_mask(ids, pad_id=0)[1, 0, 0].tolist() == [True, False, False]


# ---- bad input: clear errors naming the argument, the expected and the actual value ---------------------
def raises(error, fn, *fragments):
    with pytest.raises(error) as info:
        fn()
    for fragment in fragments:
        assert fragment in str(info.value), f"{fragment!r} not in {str(info.value)!r}"


def test_bad_inputs():
    x = torch.randn(2, 4, 8)
    raises(ValueError, lambda: MultiHeadAttention(3, 8), "d_model", "h", "d_model=8", "h=3")
    raises(ValueError, lambda: MultiHeadAttention(0, 8), "h", "0")
    raises(ValueError, lambda: MultiHeadAttention(2, 8, dropout=1.5), "dropout", "1.5")
    mha = MultiHeadAttention(2, 8)
    raises(ValueError, lambda: mha(x, x, x[:, :3]), "key", "value", "(2, 4, 8)", "(2, 3, 8)")
    raises(ValueError, lambda: mha(x, x, torch.randn(2, 4, 6)), "value", "d_model=8", "(2, 4, 6)")
    raises(ValueError, lambda: mha(torch.randn(4, 8), x, x), "query", "(B, T, d_model=8)", "(4, 8)")
    raises(ValueError, lambda: mha(x, x, x, torch.ones(3, 3, dtype=torch.bool)), "mask", "(3, 3)", "(2, 2, 4, 4)")
    raises(ValueError, lambda: mha(x, x, x, torch.full((4, 4), 0.5)), "mask", "0/1")
    raises(ValueError, lambda: mha(x, x[:, :3], x[:, :3], is_causal=True), "is_causal", "4", "3")
    raises(ValueError, lambda: mha.load_from_torch(nn.MultiheadAttention(16, 2)), "d_model=16", "d_model=8")
    q = torch.randn(4, 8)
    raises(ValueError, lambda: scaled_dot_product_attention(q, q, q[:3]), "key", "value", "(4, 8)", "(3, 8)")
    raises(ValueError, lambda: scaled_dot_product_attention(q, torch.randn(4, 5), torch.randn(4, 5)),
           "query", "key", "d_k", "(4, 8)", "(4, 5)")
    raises(ValueError, lambda: scaled_dot_product_attention(q, q, q, torch.ones(2, 4, dtype=torch.bool)),
           "mask", "(2, 4)", "(4, 4)")
    raises(TypeError, lambda: scaled_dot_product_attention(q.tolist(), q, q), "query", "list")
    raises(TypeError, lambda: scaled_dot_product_attention(q, q, q, [[1]]), "mask", "list")
