"""The modern decoder block is exactly Llama's: a randomly initialised `transformers.LlamaForCausalLM` with odd
sizes (hidden 36, 3 heads, intermediate 50, vocab 97), saved and loaded into the course GPT by load_llama,
gives the same logits — with multi-head and with grouped-query attention — and the same greedy tokens, with
and without the KV cache. The classic GPT stays the default. Offline: nothing is downloaded."""
import json

import pytest
import torch

from course_utils.attention import rotary_embedding
from course_utils.generation import generate
from course_utils.llama import llama_config, load_llama
from course_utils.transformer import (GPT, FeedForward, GPTConfig, LearnedPositions, RMSNorm, SwiGLUFeedForward,
                                      make_norm)

pytestmark = pytest.mark.usefixtures("one_thread")

TINY = dict(hidden_size=36, num_attention_heads=3, intermediate_size=50, vocab_size=97, num_hidden_layers=2,
            max_position_embeddings=40, rms_norm_eps=1e-5)


def make_llama(folder, seed=0, **overrides):
    """A random LlamaForCausalLM saved by save_pretrained into `folder`; returned in eval mode. Weights at
    std 0.3 and RMSNorm gains ≈ 1 ± 0.3, so that a mistake in the mapping shows in the logits."""
    from transformers import LlamaConfig, LlamaForCausalLM  # a pinned dependency (requirements.txt)

    torch.manual_seed(seed)
    model = LlamaForCausalLM(LlamaConfig(**{**TINY, **overrides})).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.normal_(1.0 if "norm" in name else 0.0, 0.3)
    model.save_pretrained(folder)
    return model


def logits_of(model, ids):
    with torch.no_grad():
        out = model(ids)
    return out if torch.is_tensor(out) else out.logits


@pytest.fixture(scope="module", params=[3, 1], ids=["mha", "gqa"])
def saved(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp(f"llama_kv{request.param}")
    return folder, make_llama(folder, num_key_value_heads=request.param)


def test_logits_equal_transformers(saved):
    folder, hf = saved
    model = load_llama(folder)
    c = model.config
    assert isinstance(model, GPT) and not model.training
    assert (c.d_model, c.n_heads, c.n_kv_heads, c.d_ff, c.vocab_size, c.n_layers, c.block_size) == \
        (36, 3, hf.config.num_key_value_heads, 50, 97, 2, 40)
    assert (c.norm, c.feed_forward, c.positional, c.bias, c.tie_weights, c.rope_theta, c.layer_norm_eps) == \
        ("rmsnorm", "swiglu", "rope", False, False, 10000.0, 1e-5)
    assert sum(p.numel() for p in model.parameters()) == sum(p.numel() for p in hf.parameters())
    ids = torch.randint(0, 97, (2, 40), generator=torch.Generator().manual_seed(1))
    expected = logits_of(hf, ids)
    assert expected.abs().max() > 1.0                                     # big enough to show a mistake
    assert (logits_of(model, ids) - expected).abs().max() <= 1e-4
    assert (logits_of(model, ids[:1, :7]) - logits_of(hf, ids[:1, :7])).abs().max() <= 1e-4
    # the test can fail: another RoPE base, or the gate and up projections swapped, is visibly off
    other = GPT(GPTConfig(**{**c.to_dict(), "rope_theta": 500.0})).eval()
    other.load_state_dict(model.state_dict())
    assert (logits_of(other, ids) - expected).abs().max() > 1e-2
    with torch.no_grad():
        other = load_llama(folder)
        for block in other.blocks:
            block.ff.gate.weight, block.ff.up.weight = block.ff.up.weight, block.ff.gate.weight
    assert (logits_of(other, ids) - expected).abs().max() > 1e-2


def test_rope_with_kv_cache_same_tokens(saved):
    """RoPE + (grouped-query) attention through the KV cache: the same greedy tokens as without the cache and as
    transformers' own generate; the same seeded samples with and without the cache, also past block_size."""
    folder, hf = saved
    model = load_llama(folder)
    prompt = torch.randint(0, 97, (1, 6), generator=torch.Generator().manual_seed(2))
    ours = [generate(model, prompt, 20, strategy="greedy", use_cache=cache) for cache in (False, True)]
    assert torch.equal(*ours)
    theirs = hf.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=20, do_sample=False,
                         pad_token_id=0)
    assert torch.equal(ours[1], theirs)
    sampled = [generate(model, prompt, 45, temperature=0.8, generator=torch.Generator().manual_seed(3),
                        use_cache=cache) for cache in (False, True)]   # 51 tokens: the window slides after 40
    assert torch.equal(*sampled)


def test_tied_embeddings_and_bad_configs(tmp_path):
    hf = make_llama(tmp_path, tie_word_embeddings=True, num_key_value_heads=1)
    model = load_llama(tmp_path)
    assert model.config.tie_weights and model.head.weight is model.embed.token.weight
    ids = torch.randint(0, 97, (1, 9), generator=torch.Generator().manual_seed(4))
    assert (logits_of(model, ids) - logits_of(hf, ids)).abs().max() <= 1e-4
    config = json.loads((tmp_path / "config.json").read_text())
    for bad, match in ((dict(hidden_act="gelu"), "hidden_act"), (dict(model_type="mistral"), "mistral"),
                       (dict(rope_parameters={"rope_type": "linear", "factor": 2.0, "rope_theta": 1e4}), "rope_type"),
                       (dict(head_dim=8), "head_dim")):
        with pytest.raises(ValueError, match=match):
            llama_config({**config, **bad})
    with pytest.raises(FileNotFoundError, match="save_pretrained"):
        load_llama(tmp_path / "missing")


def test_classic_gpt_stays_the_default():
    model = GPT(GPTConfig(vocab_size=11, block_size=8, d_model=12, n_heads=3, n_layers=1))
    block = model.blocks[0]
    assert isinstance(model.embed.position, LearnedPositions) and isinstance(model.ln_f, torch.nn.LayerNorm)
    assert isinstance(block.ln_attn, torch.nn.LayerNorm) and type(block.ff) is FeedForward
    assert block.attn.n_kv_heads == 3 and block.attn.rope_theta is None and block.attn.w_q.bias is not None
    assert sorted(model.state_dict()) == sorted(
        ["embed.token.weight", "embed.position.table.weight", "ln_f.weight", "ln_f.bias", "head.weight"]
        + [f"blocks.0.{m}.{p}" for m in ("ln_attn", "ln_ff", "attn.w_q", "attn.w_k", "attn.w_v", "attn.w_o",
                                         "ff.up", "ff.down") for p in ("weight", "bias")])


def test_modern_pieces():
    x = torch.randn(2, 5, 12)
    norm = make_norm("rmsnorm", 12, eps=1e-6)
    with torch.no_grad():
        norm.weight.normal_()
    reference = torch.nn.RMSNorm(12, eps=1e-6)
    reference.load_state_dict(norm.state_dict())
    assert isinstance(norm, RMSNorm) and torch.allclose(norm(x), reference(x), atol=1e-6)
    # SwiGLU at its default width has the parameters of the classic 4C MLP (without biases, C divisible by 3)
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(SwiGLUFeedForward(96, bias=False)) == count(FeedForward(96)) - 4 * 96 - 96
    # RoPE keeps lengths, and the score of two rotated vectors depends only on their offset
    q, k = torch.randn(12), torch.randn(12)
    at = lambda v, pos: rotary_embedding(v[None, :], start=pos)[0]  # noqa: E731
    assert torch.allclose(at(q, 7).norm(), q.norm(), atol=1e-5)
    assert torch.allclose(at(q, 3) @ at(k, 8), at(q, 10) @ at(k, 15), atol=1e-4)
    assert not torch.allclose(at(q, 3) @ at(k, 8), at(q, 3) @ at(k, 9), atol=1e-4)


@pytest.mark.parametrize("bad, match", [(dict(norm="batchnorm"), "norm must be"),
                                        (dict(feed_forward="moe"), "feed_forward must be"),
                                        (dict(n_kv_heads=2), "n_kv_heads must divide"),
                                        (dict(n_kv_heads=0), "n_kv_heads"),
                                        (dict(positional="alibi"), "positional must be"),
                                        (dict(positional="rope", d_model=9), "even head size"),
                                        (dict(rope_theta=0), "rope_theta"),
                                        (dict(bias=1), "bias")])
def test_bad_config_is_named(bad, match):
    with pytest.raises((ValueError, TypeError), match=match):
        GPTConfig(**{**dict(vocab_size=11, d_model=12, n_heads=3), **bad})
