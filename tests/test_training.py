import pytest
import torch
from torch import nn

from course_utils.data import lm_batch, lm_batcher, lm_eval_windows
from course_utils.training import History, evaluate, load_checkpoint, lr_at, save_checkpoint, train_model


class Bigram(nn.Module):
    def __init__(self, vocab=5):
        super().__init__()
        self.table = nn.Embedding(vocab, vocab)

    def forward(self, x):
        return self.table(x)


def test_lm_batch_targets_are_inputs_shifted():
    ids = torch.arange(100)
    x, y = lm_batch(ids, 8, 4, torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (4, 8)
    assert torch.equal(y, x + 1)


def test_lm_batch_bad_inputs():
    with pytest.raises(ValueError, match="need more than block_size=8 tokens, got 8"):
        lm_batch(torch.arange(8), 8, 2)
    with pytest.raises(ValueError, match="1-D tensor"):
        lm_batch(torch.zeros(2, 50, dtype=torch.long), 8, 2)


def test_eval_windows_cover_the_split_once():
    x, y = lm_eval_windows(torch.arange(21), 5)
    assert x.shape == (4, 5) and torch.equal(x.flatten(), torch.arange(20)) and torch.equal(y, x + 1)


def test_training_learns_a_deterministic_cycle():
    torch.manual_seed(0)
    ids = torch.arange(500) % 5  # 0 1 2 3 4 0 1 ...: next token is fully predictable
    model = Bigram()
    get_batch = lm_batcher(ids[:400], ids[400:], block_size=8, batch_size=16)
    val = lm_eval_windows(ids[400:], 8)
    before = evaluate(model, val)
    history = train_model(model, get_batch, steps=200, val_data=val, lr=0.1, eval_every=50, progress=False)
    assert isinstance(history, History) and history.steps == [50, 100, 150, 200]
    assert history.final_val < 0.05 < before
    assert len(history.grad_norm) == 200


def test_lr_schedule_warms_up_then_decays():
    lrs = [lr_at(s, 100, 1.0, 10, 0.1) for s in range(100)]
    assert lrs[0] == pytest.approx(0.1) and lrs[9] == pytest.approx(1.0)
    assert lrs[-1] == pytest.approx(0.1, abs=1e-3) and max(lrs) == pytest.approx(1.0)


def test_checkpoint_round_trip(tmp_path):
    model, other = Bigram(), Bigram()
    opt = torch.optim.AdamW(model.parameters())
    model(torch.tensor([[1]])).sum().backward()
    opt.step()
    save_checkpoint(tmp_path / "ck.pt", model, opt, step=7, config={"vocab": 5})
    info = load_checkpoint(tmp_path / "ck.pt", other, torch.optim.AdamW(other.parameters()))
    assert info == {"step": 7, "config": {"vocab": 5}}
    assert torch.equal(model.table.weight, other.table.weight)


def test_train_rejects_bad_steps():
    with pytest.raises(ValueError, match="steps must be a positive int, got 0"):
        train_model(Bigram(), lambda split: None, steps=0)
