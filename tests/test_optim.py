import pytest
import torch

from course_utils.batching import lm_batcher
from course_utils.optim import OptimizerGroup, make_optimizer, split_parameters
from course_utils.training import load_checkpoint, save_checkpoint, train_model
from course_utils.transformer import GPT, GPTConfig
from notebook_source import notebook_function


pytestmark = pytest.mark.usefixtures("one_thread")


def tiny(**overrides) -> GPT:
    torch.manual_seed(0)
    return GPT(GPTConfig(**{"vocab_size": 11, "block_size": 16, "d_model": 16, "n_heads": 2, "n_layers": 2,
                            **overrides}))


@pytest.mark.parametrize("tie", [True, False])
def test_split_puts_only_hidden_matrices_in_the_first_list(tie):
    model = tiny(tie_weights=tie)
    matrices, others = split_parameters(model)
    hidden = {id(m.weight) for b in model.blocks for m in (b.attn.w_q, b.attn.w_k, b.attn.w_v, b.attn.w_o,
                                                            b.ff.up, b.ff.down)}
    assert {id(p) for p in matrices} == hidden
    assert id(model.embed.token.weight) in {id(p) for p in others}
    assert id(model.head.weight) in {id(p) for p in others}       # the head stays with AdamW, tied or not
    assert len(matrices) + len(others) == len(list(model.parameters()))  # every parameter exactly once


def test_make_optimizer_kinds():
    model = tiny()
    muon = make_optimizer(model, 1e-2)
    assert isinstance(muon, OptimizerGroup) and [type(o).__name__ for o in muon.optimizers] == ["Muon", "AdamW"]
    covered = [p for g in muon.param_groups for p in g["params"]]
    assert len(covered) == len({id(p) for p in covered}) == len(list(model.parameters()))
    assert all(g["weight_decay"] == 0.0 for g in muon.param_groups if g["params"] and g["params"][0].dim() < 2)
    assert isinstance(make_optimizer(model, 1e-2, kind="adamw"), torch.optim.AdamW)


def test_adamw_lr_sets_the_adamw_part_and_the_schedule_keeps_the_ratio():
    model = tiny()
    opt = make_optimizer(model, 1e-2, adamw_lr=3e-2)
    assert {g["lr"] for g in opt.optimizers[0].param_groups} == {1e-2}      # Muon: the hidden matrices
    assert {g["lr"] for g in opt.optimizers[1].param_groups} == {3e-2}      # AdamW: embeddings, head, gains
    ids = torch.arange(200) % 5
    train_model(model, lm_batcher(ids[:150], ids[150:], 8, 4), steps=4, lr=1e-2, warmup_steps=4,
                optimizer=opt, progress=False)                             # last step of warmup: the peaks
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([1e-2] + [3e-2] * 2)


@pytest.mark.parametrize("kind", ["muon", "adamw"])
def test_training_with_either_optimizer_learns_a_cycle(kind):
    model = tiny()
    ids = torch.arange(400) % 7
    history = train_model(model, lm_batcher(ids[:300], ids[300:], 16, 8), steps=60, lr=1e-2, warmup_steps=5,
                          optimizer=make_optimizer(model, 1e-2, kind), eval_every=20, progress=False)
    assert history.train_loss[-1] < 0.3


def test_state_round_trip_through_a_weights_only_checkpoint(tmp_path):
    model = tiny()
    opt = make_optimizer(model, 1e-2)
    model(torch.zeros(1, 4, dtype=torch.long)).sum().backward()
    opt.step()
    save_checkpoint(tmp_path / "c.pt", model, opt, step=1)
    other = tiny()
    other_opt = make_optimizer(other, 1e-2)
    load_checkpoint(tmp_path / "c.pt", other, other_opt)
    assert other_opt.optimizers[0].state_dict()["state"].keys() == opt.optimizers[0].state_dict()["state"].keys()
    with pytest.raises(ValueError, match="1 optimizer states, this group has 2"):
        other_opt.load_state_dict({"optimizers": [opt.optimizers[0].state_dict()]})


def test_bad_arguments():
    with pytest.raises(ValueError, match="kind must be one of .* got 'sgd'"):
        make_optimizer(tiny(), 1e-3, kind="sgd")
    with pytest.raises(ValueError, match="lr must be > 0, got 0"):
        make_optimizer(tiny(), 0)
    with pytest.raises(ValueError, match="adamw_lr must be > 0 .* got -1"):
        make_optimizer(tiny(), 1e-3, adamw_lr=-1)
    with pytest.raises(ValueError, match="at least one optimizer"):
        OptimizerGroup()


@pytest.mark.parametrize("shape", [(12, 12), (30, 8), (8, 30)])
def test_newton_schulz_is_notebook_05s_and_pushes_singular_values_towards_one(shape):
    from course_utils.optim import newton_schulz

    G = torch.randn(*shape, generator=torch.Generator().manual_seed(0))
    ours = newton_schulz(G)
    assert ours.dtype == torch.float32 and ours.shape == G.shape
    assert torch.allclose(ours, notebook_function("05_gpt_language_model.ipynb", "newton_schulz", {"torch": torch})(G), atol=1e-5)
    sv = torch.linalg.svdvals(ours)
    assert sv.max() < 1.3 and sv.min() > 0.5           # Muon's iteration: every singular value near 1
    with pytest.raises(ValueError, match="G must be a 2-D matrix"):
        newton_schulz(torch.randn(3, 4, 5))


def muon_trajectory(make, steps: int = 5) -> list[torch.Tensor]:
    torch.manual_seed(0)
    weights = [torch.nn.Parameter(torch.randn(16, 24)), torch.nn.Parameter(torch.randn(40, 16))]
    opt = make(weights)
    for step in range(steps):
        for w in weights:
            w.grad = torch.randn(w.shape, generator=torch.Generator().manual_seed(step + w.shape[0]))
        opt.step()
    return [w.detach().clone() for w in weights]


@pytest.mark.skipif(not hasattr(torch.optim, "Muon"), reason="torch.optim.Muon needs PyTorch ≥ 2.9")
def test_course_muon_in_bfloat16_equals_torch_muon_and_float32_stays_close():
    from course_utils.optim import Muon

    reference = muon_trajectory(lambda ps: torch.optim.Muon(ps, lr=0.02, weight_decay=0.1,
                                                            adjust_lr_fn="match_rms_adamw"))
    same = muon_trajectory(lambda ps: Muon(ps, lr=0.02, weight_decay=0.1, ns_dtype=torch.bfloat16))
    assert all(torch.equal(a, b) for a, b in zip(reference, same))
    float32 = muon_trajectory(lambda ps: Muon(ps, lr=0.02, weight_decay=0.1))
    start = muon_trajectory(lambda ps: Muon(ps, lr=0.0), steps=0)
    for a, b, w0 in zip(reference, float32, start):   # bf16 rounding is ≈ 1 % of the distance travelled
        assert (a - b).norm() < 0.05 * (a - w0).norm()


def test_muon_rejects_bad_arguments():
    from course_utils.optim import Muon

    with pytest.raises(ValueError, match="2-D matrices"):
        Muon([torch.nn.Parameter(torch.zeros(3))])
    with pytest.raises(ValueError, match="momentum"):
        Muon([torch.nn.Parameter(torch.zeros(3, 3))], momentum=1.0)
    with pytest.raises(ValueError, match="lr"):
        Muon([torch.nn.Parameter(torch.zeros(3, 3))], lr=-1.0)
