import pytest
import torch
from torch import nn

from course_utils.batching import lm_batcher, lm_eval_windows
from course_utils.training import History, evaluate, load_checkpoint, lr_at, save_checkpoint, train_model


class Bigram(nn.Module):
    def __init__(self, vocab=5):
        super().__init__()
        self.table = nn.Embedding(vocab, vocab)

    def forward(self, x):
        return self.table(x)


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


def test_a_passed_optimizer_keeps_its_own_learning_rate():
    """train_model(optimizer=SGD(lr=0.5)) schedules 0.5, not train_model's default lr=1e-3."""
    torch.manual_seed(0)
    model = Bigram()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    ids = torch.arange(200) % 5
    batches, seen = lm_batcher(ids[:150], ids[150:], block_size=8, batch_size=4), []

    def get_batch(split="train"):
        seen.append(optimizer.param_groups[0]["lr"])   # the loop sets the step's lr before asking for data
        return batches(split)

    train_model(model, get_batch, steps=10, optimizer=optimizer, min_lr_ratio=0.1, progress=False)
    assert seen[0] == 0.5
    assert seen[-1] == pytest.approx(lr_at(9, 10, 0.5, 0, 0.1))
    # two groups, two peaks: each follows the same schedule from its own learning rate
    model = Bigram()
    optimizer = torch.optim.SGD([{"params": [model.table.weight], "lr": 0.2}], lr=0.5)
    train_model(model, batches, steps=3, optimizer=optimizer, warmup_steps=3, progress=False)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.2)     # last warmup step = the peak


def test_train_model_accepts_numpy_scalars():
    import numpy as np

    model = Bigram()
    ids = torch.arange(200) % 5
    history = train_model(model, lm_batcher(ids[:150], ids[150:], 8, 4), steps=np.int64(3), lr=np.float32(0.1),
                          progress=False)
    assert history.steps == [3]


def test_progress_is_plain_text_lines(capsys):
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    data = (torch.randn(8, 3), torch.randn(8, 1))
    train_model(model, lambda split: data, steps=8, loss_fn=torch.nn.functional.mse_loss, val_data=data, eval_every=4)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" · ")[0] for line in lines] == [f"training: step {s}/8" for s in (2, 4, 6, 8)]
    assert "val" not in lines[0] and " · val " in lines[1] and lines[-1].endswith(" s")
    train_model(model, lambda split: data, steps=8, loss_fn=torch.nn.functional.mse_loss, progress=False)
    assert capsys.readouterr().out == ""
