"""The KV cache: generate(..., use_cache=True) gives the same tokens as without it — greedy and seeded
sampling, prompts of every length up to block_size, runs that slide past block_size — for the classic GPT and
the modern block (RoPE, GQA); each cached step's logits match a full forward pass; the memory formula
matches what the buffers hold."""
import pytest
import torch

from course_utils.attention import MultiHeadAttention, causal_mask
from course_utils.generation import generate
from course_utils.kv_cache import KVCache, kv_cache_bytes_per_token
from course_utils.transformer import GPT, GPTConfig

pytestmark = pytest.mark.usefixtures("one_thread")

BLOCK = 12
TINY = dict(vocab_size=53, block_size=BLOCK, d_model=24, n_heads=4, n_layers=2)
MODERN = dict(positional="rope", norm="rmsnorm", feed_forward="swiglu", n_kv_heads=2, bias=False)
VARIANTS = {"classic": {}, "sinusoidal": dict(positional="sinusoidal"), "modern": MODERN,
            "rope+mqa": dict(positional="rope", n_kv_heads=1)}
DECODING = {"greedy": dict(strategy="greedy"), "top-k": dict(top_k=5, temperature=0.9),
            "top-p": dict(top_p=0.8, temperature=1.3)}


def tiny_gpt(seed=0, **overrides):
    """A random tiny GPT whose weights are large enough (std 0.3) for peaked, varied next-token distributions:
    a random GPT at the usual 0.02 is nearly uniform, which would make the equality below easy."""
    torch.manual_seed(seed)
    model = GPT(GPTConfig(**{**TINY, **overrides})).eval()
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() == 2:
                p.normal_(0.0, 0.3)
    return model


@pytest.mark.parametrize("variant", VARIANTS)
def test_same_tokens_with_and_without_cache(variant):
    model = tiny_gpt(**VARIANTS[variant])
    for prompt_len in (1, 7, BLOCK - 1, BLOCK, BLOCK + 2):           # up to a full window, and past it
        for n_new in (2, BLOCK + 4):                                 # the longer runs slide past block_size
            prompt = torch.randint(0, 53, (2, prompt_len), generator=torch.Generator().manual_seed(prompt_len))
            for name, kwargs in DECODING.items():
                without = generate(model, prompt, n_new, generator=torch.Generator().manual_seed(n_new), **kwargs)
                cached = generate(model, prompt, n_new, generator=torch.Generator().manual_seed(n_new),
                                  use_cache=True, **kwargs)
                assert torch.equal(cached, without), (variant, prompt_len, n_new, name)
    assert not model.training


def test_same_tokens_with_stop_and_banned_ids():
    model = tiny_gpt()
    prompt = torch.randint(0, 53, (3, 4), generator=torch.Generator().manual_seed(1))
    runs = [generate(model, prompt, 30, generator=torch.Generator().manual_seed(2), stop_id=7, banned_ids=[3, 4],
                     use_cache=cache) for cache in (False, True)]
    assert torch.equal(*runs)


def test_shipped_base_model_same_tokens():
    """The course base model, sampled as notebooks 05 and 10 do (temperature 0.8, a seeded generator)."""
    from course_utils.pretrained import load_base_model

    model, tokenizer = load_base_model()
    prompt = torch.tensor([tokenizer.encode("ROMEO:\n")])
    runs = [generate(model, prompt, 60, temperature=0.8, generator=torch.Generator().manual_seed(0),
                     use_cache=cache) for cache in (False, True)]
    assert torch.equal(*runs)


@pytest.mark.parametrize("variant", ["classic", "modern"])
def test_cached_logits_match_full_forward(variant):
    """Prefill 5 positions, then one at a time: every step's logits equal the full forward's at that position
    up to float rounding (only the order of additions differs)."""
    model = tiny_gpt(**VARIANTS[variant])
    ids = torch.randint(0, 53, (2, BLOCK), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        full = model(ids)                                              # (2, BLOCK, V)
        cache = model.new_kv_cache(batch_size=2)
        steps = [model(ids[:, :5], kv_cache=cache)] + [model(ids[:, t:t + 1], kv_cache=cache) for t in range(5, BLOCK)]
    assert cache.length == BLOCK
    assert full.abs().max() > 1.0
    assert (torch.cat(steps, dim=1) - full).abs().max() <= 1e-5
    with pytest.raises(ValueError, match="block_size"):                # the cache is full: no position left
        model(ids[:, :1], kv_cache=cache)


def test_attention_with_cache_equals_causal_attention():
    """MultiHeadAttention: 3 positions, then 2, then 1 through a cache = the causal layer on all 6 at once."""
    torch.manual_seed(0)
    for kwargs in ({}, dict(n_kv_heads=2, rope_theta=100.0, bias=False)):
        mha = MultiHeadAttention(4, 16, dropout=0.0, **kwargs).eval()
        x = torch.randn(2, 6, 16)
        cache = KVCache(1, 2, mha.n_kv_heads, 8, 4).layers[0]
        parts = [mha(s, s, s, is_causal=True, kv_cache=cache) for s in (x[:, :3], x[:, 3:5], x[:, 5:])]
        assert torch.allclose(torch.cat(parts, dim=1), mha(x, x, x, is_causal=True), atol=1e-6)
        assert cache.length == 6
    assert torch.equal(causal_mask(2, past=3), torch.tensor([[1, 1, 1, 1, 0], [1, 1, 1, 1, 1]], dtype=torch.bool))
    with pytest.raises(ValueError, match="self-attention"):
        mha(x, torch.randn(2, 6, 16), torch.randn(2, 6, 16), kv_cache=cache)


def test_memory_per_token_formula_matches_buffers():
    for overrides, n_kv in (({}, 4), (dict(n_kv_heads=2), 2), (dict(n_kv_heads=1), 1)):
        model = tiny_gpt(**overrides)
        cache = model.new_kv_cache(batch_size=3)
        expected = 2 * model.config.n_layers * n_kv * (24 // 4) * 4      # 2 · layers · kv heads · head_dim · bytes
        assert kv_cache_bytes_per_token(model.config) == expected
        assert cache.bytes_per_token() == expected                        # measured from the buffers' storage
        assert cache.nbytes == expected * 3 * BLOCK
    assert kv_cache_bytes_per_token(GPTConfig(**TINY), torch.float16) == 2 * 2 * 4 * 6 * 2


def test_bad_input_is_named():
    model = tiny_gpt()
    prompt = torch.zeros(1, 3, dtype=torch.long)
    with pytest.raises(TypeError, match="use_cache"):
        generate(model, prompt, 2, use_cache="yes")
    with pytest.raises(ValueError, match="use_cache=True needs a model"):
        generate(torch.nn.Sequential(torch.nn.Embedding(53, 53)), prompt, 2, use_cache=True)
    cache = model.new_kv_cache(batch_size=2)
    with pytest.raises(ValueError, match="batch_size=2"):
        model(prompt, kv_cache=cache)
    with pytest.raises(ValueError, match="KVCache"):
        model(prompt, kv_cache=[None, None])
    with pytest.raises(ValueError, match="capacity"):
        KVCache(1, 1, 1, 2, 4).layers[0].update(torch.zeros(1, 1, 3, 4), torch.zeros(1, 1, 3, 4))
    with pytest.raises(ValueError, match="capacity"):
        KVCache(1, 1, 1, 0, 4)
