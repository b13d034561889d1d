import pytest
import torch
from torch import nn

from course_utils.generation import (apply_temperature, apply_top_k, apply_top_p, choose_next_token, generate,
                                     next_token_logits)
from course_utils.transformer import GPT, GPTConfig


pytestmark = pytest.mark.usefixtures("one_thread")


class FixedNext(nn.Module):
    """A toy LM whose next-token distribution is the same everywhere: softmax(logits)."""

    def __init__(self, logits, block_size=None):
        super().__init__()
        self.logits = nn.Parameter(torch.as_tensor(logits, dtype=torch.float32), requires_grad=False)
        if block_size is not None:
            self.block_size = block_size
        self.seen_lengths = []

    def forward(self, idx):
        self.seen_lengths.append(idx.size(1))
        return self.logits.expand(idx.size(0), idx.size(1), -1)


def test_top_k_keeps_exactly_k():
    logits = torch.tensor([[1.0, 5.0, 3.0, 2.0, 4.0], [0.0, 0.0, 0.0, 0.0, 0.0]])
    out = apply_top_k(logits, 2)
    assert torch.equal(torch.isfinite(out).sum(-1), torch.tensor([2, 2]))  # ties broken, still exactly k
    assert torch.equal(torch.isfinite(out[0]), torch.tensor([False, True, False, False, True]))
    assert torch.equal(out[0, [1, 4]], logits[0, [1, 4]])  # kept values are unchanged
    assert torch.equal(apply_top_k(logits, 99), logits)


def test_top_p_keeps_the_smallest_set_with_enough_mass():
    probs = torch.tensor([0.1, 0.5, 0.25, 0.15])
    logits = probs.log()
    kept = lambda p: torch.isfinite(apply_top_p(logits, p)).nonzero().flatten().tolist()  # noqa: E731
    assert kept(0.5) == [1]              # 0.5 alone reaches 0.5
    assert kept(0.6) == [1, 2]           # 0.5 < 0.6 ≤ 0.75
    assert kept(0.75) == [1, 2]
    assert kept(0.76) == [1, 2, 3]       # needs 0.9
    assert kept(1.0) == [0, 1, 2, 3]
    assert kept(0.01) == [1]             # the top token always survives
    batch = torch.stack([logits, logits.flip(0)])
    assert torch.isfinite(apply_top_p(batch, 0.6)).sum(-1).tolist() == [2, 2]


def test_temperature_sharpens_and_flattens():
    logits = torch.tensor([2.0, 1.0, 0.0])
    cold, hot = apply_temperature(logits, 0.5).softmax(-1), apply_temperature(logits, 2.0).softmax(-1)
    assert cold[0] > logits.softmax(-1)[0] > hot[0]


def test_greedy_is_deterministic_and_takes_the_argmax():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=7, block_size=8, d_model=16, n_heads=2, n_layers=1))
    prompt = torch.tensor([[1, 2, 3]])
    a = generate(model, prompt, 12, strategy="greedy")
    b = generate(model, prompt, 12, strategy="greedy")
    assert a.shape == (1, 15) and torch.equal(a, b) and torch.equal(a[:, :3], prompt)
    assert model.training  # generate restores the mode it found
    assert generate(FixedNext([0.0, 3.0, 1.0]), prompt, 4, strategy="greedy")[0, 3:].tolist() == [1] * 4


def test_sampling_is_repeatable_with_a_seeded_generator_and_respects_filters():
    model = FixedNext([1.0, 1.1, 0.9, -5.0, 1.05])
    prompt = torch.zeros(4, 1, dtype=torch.long)
    run = lambda **kw: generate(model, prompt, 30, generator=torch.Generator().manual_seed(0), **kw)  # noqa: E731
    assert torch.equal(run(), run())
    assert set(run(top_k=2)[:, 1:].flatten().tolist()) == {1, 4}
    assert set(run(top_p=0.3)[:, 1:].flatten().tolist()) <= {1, 4}
    assert 3 not in run(temperature=0.3).flatten().tolist()


def test_context_is_cropped_to_block_size():
    model = FixedNext([0.0, 1.0], block_size=5)
    generate(model, torch.zeros(1, 3, dtype=torch.long), 6, strategy="greedy")
    assert model.seen_lengths == [3, 4, 5, 5, 5, 5]
    gpt = GPT(GPTConfig(vocab_size=5, block_size=4, d_model=8, n_heads=2, n_layers=1))
    assert generate(gpt, torch.zeros(1, 4, dtype=torch.long), 3).shape == (1, 7)  # no "too long" error
    assert next_token_logits(gpt, torch.zeros(2, 9, dtype=torch.long)).shape == (2, 5)


@pytest.mark.parametrize("kwargs, message", [
    ({"temperature": 0}, "temperature must be a number > 0, got 0"),
    ({"temperature": -1.0}, "temperature must be a number > 0, got -1.0"),
    ({"top_k": 0}, "top_k must be a positive int, got 0"),
    ({"top_k": 2.5}, "top_k must be a positive int, got 2.5"),
    ({"top_p": 0.0}, r"top_p must be a number in \(0, 1\], got 0.0"),
    ({"top_p": 1.5}, r"top_p must be a number in \(0, 1\], got 1.5"),
    ({"strategy": "beam"}, "strategy must be one of"),
    ({"strategy": "greedy", "top_k": 3}, "strategy='greedy' ignores"),
    ({"max_new_tokens": -1}, "max_new_tokens must be an int ≥ 0, got -1"),
])
def test_bad_arguments_name_the_argument_and_value(kwargs, message):
    model = FixedNext([0.0, 1.0])
    kwargs = {"max_new_tokens": 2, **kwargs}
    with pytest.raises(ValueError, match=message):
        generate(model, torch.zeros(1, 1, dtype=torch.long), **kwargs)


def test_bad_logits_and_prompts():
    with pytest.raises(ValueError, match="logits must be a floating-point tensor"):
        apply_top_k(torch.tensor([1, 2, 3]), 1)
    with pytest.raises(ValueError, match="idx must be a \\(B, T\\) tensor"):
        generate(FixedNext([0.0, 1.0]), torch.zeros(3, dtype=torch.long), 2)
    assert choose_next_token(torch.tensor([[0.0, 9.0]]), "greedy").tolist() == [1]


def test_numpy_and_torch_scalars_are_numbers():
    import numpy as np

    model = FixedNext([0.0, 1.0, 2.0])
    idx = torch.zeros(1, 1, dtype=torch.long)
    g = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    plain = generate(model, idx, 4, temperature=0.7, top_k=1, top_p=0.9, generator=g())
    assert torch.equal(generate(model, idx, np.int64(4), temperature=np.float32(0.7), top_k=np.int64(1),
                                top_p=np.float64(0.9), generator=g()), plain)
    assert torch.equal(generate(model, idx, 4, temperature=torch.tensor(0.7), top_k=torch.tensor(1),
                                generator=g()), plain)


def test_top_p_one_keeps_every_token_of_a_large_vocabulary():
    logits = torch.randn(2, 50_257, generator=torch.Generator().manual_seed(0))
    assert torch.isfinite(apply_top_p(logits, 1.0)).all()
    assert torch.isfinite(apply_top_p(logits, 1)).all()


def test_top_p_computes_in_float32_for_half_precision_logits():
    logits = (3 * torch.randn(4, 5_000, generator=torch.Generator().manual_seed(1))).to(torch.bfloat16)
    for p in (0.5, 0.9):
        kept = torch.isfinite(apply_top_p(logits, p))
        assert torch.equal(kept, torch.isfinite(apply_top_p(logits.float(), p)))
        assert apply_top_p(logits, p).dtype == torch.bfloat16                 # the logits keep their dtype


def test_banned_ids_are_never_produced_and_stop_id_ends_each_row():
    model = FixedNext([5.0, 0.0, 9.0, 1.0])                                   # prefers 2, then 0, then 3
    idx = torch.zeros(2, 1, dtype=torch.long)
    out = generate(model, idx, 3, strategy="greedy", banned_ids=[2])
    assert out[:, 1:].tolist() == [[0, 0, 0], [0, 0, 0]]
    out = generate(model, idx, 5, strategy="greedy", banned_ids=[2], stop_id=0)
    assert out.tolist() == [[0, 0], [0, 0]]                                   # stopped at once, stop kept
    out = generate(model, idx, 30, banned_ids=[0, 2], stop_id=1, generator=torch.Generator().manual_seed(0))
    assert (out[:, 1:] != 2).all() and (out[:, 1:] != 0).all()
    assert out.size(1) < 31 and (out[:, -1] == 1).all()                      # ended early: every row stopped
    for row in out.tolist():                                                   # once stopped, a row stays stopped
        first = row.index(1, 1)
        assert set(row[first:]) == {1}
    with pytest.raises(ValueError, match="stop_id must be an int ≥ 0, got -1"):
        generate(model, idx, 2, stop_id=-1)
