"""course_utils.rnn: the hand-written cell equals torch.nn.RNN; the LM's shapes, state, sampling, gradients."""
import pytest
import torch
from torch import nn

from course_utils.rnn import RNNCell, RNNLanguageModel, input_gradient_norms, unroll


def test_cell_is_the_equation():
    torch.manual_seed(0)
    cell = RNNCell(3, 4)
    x, h = torch.randn(2, 3), torch.randn(2, 4)
    expected = torch.tanh(x @ cell.W_xh.T + h @ cell.W_hh.T + cell.b)
    assert torch.equal(cell(x, h), expected)
    assert torch.allclose(cell(x), torch.tanh(x @ cell.W_xh.T + cell.b))  # h_0 = 0


def test_unrolled_cell_equals_torch_rnn():
    torch.manual_seed(0)
    reference = nn.RNN(5, 7, batch_first=True)
    cell = RNNCell(5, 7).copy_from_torch(reference)
    xs, h0 = torch.randn(3, 11, 5), torch.randn(3, 7)
    states, h_last = unroll(cell, xs, h0)
    ref_states, ref_last = reference(xs, h0[None])
    assert torch.allclose(states, ref_states, atol=1e-6)
    assert torch.allclose(h_last, ref_last[0], atol=1e-6)


def test_gradients_equal_torch_rnn():
    torch.manual_seed(0)
    reference = nn.RNN(4, 6, batch_first=True)
    cell = RNNCell(4, 6).copy_from_torch(reference)
    xs = torch.randn(2, 9, 4)
    unroll(cell, xs)[0].square().sum().backward()
    reference(xs)[0].square().sum().backward()
    assert torch.allclose(cell.W_hh.grad, reference.weight_hh_l0.grad, atol=1e-5)
    assert torch.allclose(cell.W_xh.grad, reference.weight_ih_l0.grad, atol=1e-5)
    assert torch.allclose(cell.b.grad, reference.bias_hh_l0.grad, atol=1e-5)


def test_copy_from_torch_rnn_cell_and_shape_mismatch():
    torch.manual_seed(0)
    reference = nn.RNNCell(3, 4)
    cell = RNNCell(3, 4).copy_from_torch(reference)
    x, h = torch.randn(2, 3), torch.randn(2, 4)
    assert torch.allclose(cell(x, h), reference(x, h), atol=1e-6)
    with pytest.raises(ValueError, match="shape mismatch"):
        RNNCell(3, 5).copy_from_torch(reference)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("n_layers", [1, 2])
def test_language_model_shapes_and_state(kind, n_layers):
    torch.manual_seed(0)
    model = RNNLanguageModel(11, 8, 16, n_layers=n_layers, kind=kind).eval()
    x = torch.randint(11, (3, 10))
    logits = model(x)
    assert logits.shape == (3, 10, 11)
    # feeding the sequence in two halves with the carried state gives the same logits
    first, state = model.forward_with_state(x[:, :4])
    second, _ = model.forward_with_state(x[:, 4:], state)
    assert torch.allclose(torch.cat([first, second], 1), logits, atol=1e-5)


def test_rnn_language_model_matches_torch_rnn_stack():
    torch.manual_seed(0)
    model = RNNLanguageModel(9, 5, 6, n_layers=2, kind="rnn").eval()
    reference = nn.RNN(5, 6, num_layers=2, batch_first=True)
    for i, cell in enumerate(model.cells):
        cell.copy_from_torch(reference, layer=i)
    x = torch.randint(9, (2, 7))
    emb = model.embedding(x)
    assert torch.allclose(model.recur(emb)[0], reference(emb)[0], atol=1e-6)


@pytest.mark.parametrize("kind", ["rnn", "lstm"])
def test_sample_is_seeded(kind):
    torch.manual_seed(0)
    model = RNNLanguageModel(7, 4, 8, kind=kind)
    prompt = torch.tensor([1, 2, 3])
    a = model.sample(prompt, 20, generator=torch.Generator().manual_seed(0))
    b = model.sample(prompt, 20, generator=torch.Generator().manual_seed(0))
    assert torch.equal(a, b) and a.shape == (23,) and torch.equal(a[:3], prompt)
    assert model.training  # sampling restores the mode


def test_input_gradient_norms_shape_and_no_side_effects():
    torch.manual_seed(0)
    model = RNNLanguageModel(7, 4, 8, kind="rnn")
    x = torch.randint(7, (5, 12))
    norms = input_gradient_norms(model, x, x)
    assert norms.shape == (12,) and (norms > 0).all()
    assert all(p.grad is None for p in model.parameters())
    # the last input matters more than one 11 steps back, for an untrained tanh RNN
    assert norms[-1] > norms[0]


def test_training_reduces_loss():
    torch.manual_seed(0)
    model = RNNLanguageModel(5, 8, 16, kind="rnn")
    x = torch.tensor([[0, 1, 2, 3, 4] * 4])
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    losses = []
    for _ in range(40):
        loss = nn.functional.cross_entropy(model(x[:, :-1]).reshape(-1, 5), x[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.1 < losses[0]


@pytest.mark.parametrize("kwargs, match", [
    ({"kind": "transformer"}, "kind"), ({"d_hidden": 0}, "d_hidden"), ({"n_layers": 1.5}, "n_layers"),
    ({"dropout": 1.0}, "dropout"),
])
def test_bad_model_arguments(kwargs, match):
    args = {"vocab_size": 5, "d_embed": 4, "d_hidden": 8} | kwargs
    with pytest.raises(ValueError, match=match):
        RNNLanguageModel(**args)


def test_bad_inputs():
    model = RNNLanguageModel(5, 4, 8)
    with pytest.raises(ValueError, match="torch.long"):
        model(torch.zeros(2, 3))
    with pytest.raises(ValueError, match=r"\(B, T\)"):
        model(torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="x_t"):
        RNNCell(3, 4)(torch.zeros(2, 5))
    with pytest.raises(ValueError, match="d_in"):
        RNNCell(0, 4)
    with pytest.raises(ValueError, match="prompt"):
        model.sample(torch.tensor([], dtype=torch.long), 3)
