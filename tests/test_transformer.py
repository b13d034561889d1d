import math

import pytest
import torch

from course_utils.training import count_parameters, load_checkpoint, lm_loss, save_checkpoint
from course_utils.transformer import (GPT, Embeddings, FeedForward, GPTConfig, TransformerBlock,
                                      sinusoidal_positions)


pytestmark = pytest.mark.usefixtures("one_thread")


def tiny(**overrides) -> GPT:
    torch.manual_seed(0)
    return GPT(GPTConfig(**{"vocab_size": 11, "block_size": 16, "d_model": 32, "n_heads": 4, "n_layers": 2,
                            **overrides}))


def test_sinusoidal_positions_shape_and_values():
    pe = sinusoidal_positions(50, 16)
    assert pe.shape == (50, 16)
    assert torch.allclose(pe[0, 0::2], torch.zeros(8)) and torch.allclose(pe[0, 1::2], torch.ones(8))
    pos, i = 7, 3  # PE[pos, 2i] = sin(pos / 10000^(2i/d)), PE[pos, 2i+1] = cos(same)
    angle = pos / 10000 ** (2 * i / 16)
    assert pe[pos, 2 * i].item() == pytest.approx(math.sin(angle), abs=1e-6)
    assert pe[pos, 2 * i + 1].item() == pytest.approx(math.cos(angle), abs=1e-6)
    assert sinusoidal_positions(4, 5).shape == (4, 5)  # odd width works too
    assert pe.abs().max() <= 1.0


def test_sinusoidal_positions_bad_input():
    with pytest.raises(ValueError, match="d must be a positive int, got 0"):
        sinusoidal_positions(4, 0)
    with pytest.raises(ValueError, match="T must be a positive int"):
        sinusoidal_positions(2.5, 4)


@pytest.mark.parametrize("positional", ["learned", "sinusoidal"])
def test_embeddings_shape_and_parameters(positional):
    emb = Embeddings(11, 16, 8, positional)
    assert emb(torch.zeros(3, 5, dtype=torch.long)).shape == (3, 5, 8)
    expected = 11 * 8 + (16 * 8 if positional == "learned" else 0)
    assert count_parameters(emb) == expected


def test_forward_shape_and_weight_tying():
    model = tiny()
    assert model(torch.randint(11, (3, 16))).shape == (3, 16, 11)
    assert model.head.weight is model.embed.token.weight
    untied = tiny(tie_weights=False)
    assert count_parameters(untied) - count_parameters(model) == 11 * 32


@pytest.mark.parametrize("positional", ["learned", "sinusoidal"])
def test_causal_logits_do_not_see_the_future(positional):
    model = tiny(positional=positional).eval()
    x = torch.randint(11, (2, 12))
    y = x.clone()
    y[:, 7:] = (y[:, 7:] + 1) % 11  # change every token after position 6
    a, b = model(x), model(y)
    assert torch.allclose(a[:, :7], b[:, :7], atol=1e-6)
    assert not torch.allclose(a[:, 7:], b[:, 7:])
    model.train()  # the fused training path is causal too
    assert torch.allclose(model(x)[:, :7], model(y)[:, :7], atol=1e-5)


def test_gpt_overfits_one_small_batch():
    model = tiny()
    x = torch.randint(11, (4, 16), generator=torch.Generator().manual_seed(1))
    x[:, 0] = torch.arange(4)  # distinct first tokens: every prefix is unique, so loss 0 is reachable
    y = torch.roll(x, -1, dims=1)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    for _ in range(150):
        loss = lm_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.02


def test_checkpoint_round_trip_weights_only(tmp_path):
    model = tiny(positional="sinusoidal")
    path = tmp_path / "gpt.pt"
    save_checkpoint(path, model, step=3, config=model.config.to_dict())
    state = torch.load(path, weights_only=True)
    assert state["config"]["positional"] == "sinusoidal"
    torch.manual_seed(123)
    restored = GPT(GPTConfig(**state["config"]))
    info = load_checkpoint(path, restored)
    assert info["step"] == 3
    x = torch.randint(11, (2, 9))
    assert torch.equal(model.eval()(x), restored.eval()(x))
    assert restored.head.weight is restored.embed.token.weight  # tying survives loading


def test_too_long_sequence_names_both_lengths():
    with pytest.raises(ValueError, match=r"sequence length 17 .*block_size=16"):
        tiny()(torch.zeros(1, 17, dtype=torch.long))


def test_bad_inputs():
    with pytest.raises(ValueError, match="idx must be a \\(B, T\\) tensor"):
        tiny()(torch.zeros(5, dtype=torch.long))
    with pytest.raises(ValueError, match="d_model must be divisible by n_heads, got d_model=30 and n_heads=4"):
        GPTConfig(vocab_size=5, d_model=30, n_heads=4)
    with pytest.raises(ValueError, match="positional must be one of"):
        GPTConfig(vocab_size=5, positional="rotary")
    with pytest.raises(ValueError, match="vocab_size must be a positive int, got 0"):
        GPTConfig(vocab_size=0)
    with pytest.raises(TypeError, match="config must be a GPTConfig"):
        GPT({"vocab_size": 5})


def test_feed_forward_acts_on_each_position_separately():
    torch.manual_seed(0)
    ff = FeedForward(8)
    x = torch.randn(2, 5, 8)
    assert torch.allclose(ff(x)[:, 2], ff(x[:, 2:3])[:, 0], atol=1e-6)
    assert count_parameters(ff) == 8 * 32 + 32 + 32 * 8 + 8


def test_block_is_generic_over_self_and_cross_attention():
    torch.manual_seed(0)
    x, memory = torch.randn(2, 5, 16), torch.randn(2, 7, 16)
    encoder_block = TransformerBlock(16, 2, causal=False).eval()
    assert encoder_block(x).shape == (2, 5, 16)
    decoder_block = TransformerBlock(16, 2, causal=True, cross_attention=True).eval()
    out = decoder_block(x, memory=memory)
    assert out.shape == (2, 5, 16)
    assert not torch.allclose(out, decoder_block(x, memory=memory + 1))  # it reads the memory
    keep = torch.ones(2, 1, 1, 7, dtype=torch.bool)
    keep[:, ..., 5:] = False  # hide the last two memory positions
    changed = memory.clone()
    changed[:, 5:] += 1
    assert torch.allclose(decoder_block(x, memory=memory, memory_mask=keep),
                          decoder_block(x, memory=changed, memory_mask=keep), atol=1e-6)
    with pytest.raises(ValueError, match="pass memory"):
        decoder_block(x)
    with pytest.raises(ValueError, match="no cross-attention"):
        encoder_block(x, memory=memory)


@pytest.mark.parametrize("bad, low, high", [(50, 0, 50), (-1, -1, 3)])
def test_gpt_range_checks_token_ids(bad, low, high):
    """A bad id fails with the argument, the range and the actual min/max — not an IndexError on the CPU or
    a device-side assert that kills a CUDA session."""
    model = GPT(GPTConfig(vocab_size=50, block_size=8, d_model=16, n_heads=2, n_layers=1))
    idx = torch.tensor([[0, 3, bad]])
    with pytest.raises(ValueError, match=rf"idx: token ids must be in \[0, 50\), got values from {low} to {high}"):
        model(idx)
    assert model(torch.tensor([[0, 49]])).shape == (1, 2, 50)   # the edges of the range are fine


def test_gpt_config_accepts_numpy_and_torch_integers():
    import numpy as np

    config = GPTConfig(vocab_size=np.int64(20), block_size=torch.tensor(8), d_model=16, n_heads=np.int32(2),
                       n_layers=np.int64(2), dropout=np.float32(0.0))
    assert config.to_dict()["n_layers"] == 2 and all(
        type(v) in (int, float, str, bool, type(None)) for v in config.to_dict().values())  # weights_only-safe
    assert len(GPT(config).blocks) == 2
    with pytest.raises(ValueError, match="n_layers must be a positive int, got True"):
        GPTConfig(vocab_size=20, n_layers=True)
