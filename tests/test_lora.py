"""course_utils.lora: LoRA adapters on the course GPT — start equal to the base, train only A and B, merge
into the weights without changing outputs, unmerge back, and agree with peft for the same A and B."""
import copy
import math

import pytest
import torch
from torch import nn

from course_utils.lora import (BLOCK_LINEARS, LoRALinear, add_lora, lora_parameters, lora_state_dict, merge_lora,
                               remove_lora, trainable_count, trainable_fraction, unmerge_lora)
from course_utils.transformer import GPT, GPTConfig

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture()
def base():
    torch.manual_seed(0)
    return GPT(GPTConfig(vocab_size=40, block_size=12, d_model=16, n_heads=2, n_layers=2)).eval()


@pytest.fixture()
def ids():
    return torch.randint(0, 40, (3, 12), generator=torch.Generator().manual_seed(1))


def randomise_b(model):
    """Give every B a nonzero value (as after some training), so the adapters change the outputs."""
    gen = torch.Generator().manual_seed(2)
    with torch.no_grad():
        for layer in model.modules():
            if isinstance(layer, LoRALinear):
                layer.lora_B.copy_(torch.randn(layer.lora_B.shape, generator=gen) * 0.2)


def test_zero_b_means_the_wrapped_model_equals_the_base(base, ids):
    adapted = copy.deepcopy(base)
    names = add_lora(adapted, rank=4)
    assert len(names) == 2 * 6 and "blocks.0.attn.w_q" in names and "blocks.1.ff.down" in names
    assert all(torch.count_nonzero(layer.lora_A) > 0 for layer in adapted.modules() if isinstance(layer, LoRALinear))
    assert torch.equal(adapted(ids), base(ids))
    layer = adapted.blocks[0].attn.w_k                                 # what the packed q/k/v matmul reads
    assert torch.equal(layer.weight, layer.base.weight) and layer.out_features == 16


def test_only_the_adapters_train_and_their_count_is_r_times_in_plus_out(base):
    model = copy.deepcopy(base)
    add_lora(model, rank=2)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all(n.endswith(("lora_A", "lora_B")) for n in trainable)
    C, F = 16, 64                                          # per block: q, k, v, o (C→C), up (C→F), down (F→C)
    expected = 2 * (4 * 2 * (C + C) + 2 * (C + F) + 2 * (F + C))
    assert sum(p.numel() for p in lora_parameters(model)) == expected
    total = sum(p.numel() for p in base.parameters()) + expected
    assert math.isclose(trainable_fraction(model), expected / total)
    assert set(lora_state_dict(model)) == {f"{n}" for n in trainable}


def test_a_training_step_changes_only_the_adapters(base, ids):
    model = copy.deepcopy(base).train()
    add_lora(model, rank=2)
    frozen = {n: p.detach().clone() for n, p in model.named_parameters() if not p.requires_grad}
    optimizer = torch.optim.AdamW(lora_parameters(model), lr=1e-2)
    loss = model(ids).logsumexp(-1).mean()
    loss.backward()
    optimizer.step()
    assert all(torch.equal(p, frozen[n]) for n, p in model.named_parameters() if n in frozen)
    assert any(torch.count_nonzero(layer.lora_B) for layer in model.modules() if isinstance(layer, LoRALinear))


def test_new_token_rows_train_and_no_other_row_moves(base, ids):
    """Chat tokens added before LoRA: their rows train with the adapters, every other row stays exactly."""
    model = copy.deepcopy(base).train()
    add_lora(model, rank=2, train_token_ids=[38, 39])
    embedding = model.embed.token.weight
    before = embedding.detach().clone()
    n_adapters = sum(p.numel() for layer in model.modules() if isinstance(layer, LoRALinear)
                     for p in (layer.lora_A, layer.lora_B))
    assert trainable_count(model) == n_adapters + 2 * 16 and any(p is embedding for p in lora_parameters(model))
    optimizer = torch.optim.AdamW(lora_parameters(model), lr=1e-2, weight_decay=0.0)
    for _ in range(2):
        optimizer.zero_grad()
        model(ids).logsumexp(-1).mean().backward()
        optimizer.step()
    assert torch.equal(embedding[:38], before[:38]) and not torch.equal(embedding[38:], before[38:])
    assert model.head.weight is embedding                              # still tied: the head learns the rows too
    state = lora_state_dict(model)
    assert state["embed.token.weight.row_ids"].tolist() == [38, 39]
    torch.testing.assert_close(state["embed.token.weight.rows"], embedding[38:].detach())
    remove_lora(model)
    assert not hasattr(embedding, "lora_rows") and trainable_count(model) == sum(p.numel() for p in base.parameters())
    with pytest.raises(ValueError, match="train_token_ids"):
        add_lora(copy.deepcopy(base), train_token_ids=[40])


def test_merged_weights_give_the_adapted_outputs_and_unmerge_restores(base, ids):
    model = copy.deepcopy(base)
    add_lora(model, rank=3, alpha=6)
    randomise_b(model)
    adapted = model(ids)
    assert not torch.allclose(adapted, base(ids), atol=1e-3)          # the adapters do change the outputs
    merge_lora(model)
    assert all(layer.merged for layer in model.modules() if isinstance(layer, LoRALinear))
    torch.testing.assert_close(model(ids), adapted, atol=1e-5, rtol=1e-5)
    layer = model.blocks[0].attn.w_q
    expected = base.blocks[0].attn.w_q.weight + 2.0 * layer.lora_B @ layer.lora_A   # alpha / rank = 2
    torch.testing.assert_close(layer.base.weight, expected)
    merge_lora(model)                                                  # idempotent
    torch.testing.assert_close(model(ids), adapted, atol=1e-5, rtol=1e-5)
    unmerge_lora(model)
    restored = {k.replace(".base.", "."): v for k, v in model.state_dict().items() if "lora_" not in k}
    for name, value in base.state_dict().items():
        torch.testing.assert_close(restored[name], value, atol=1e-6, rtol=0)
    torch.testing.assert_close(model(ids), adapted, atol=1e-5, rtol=1e-5)   # unmerged: adapters act again


def test_remove_lora_leaves_a_plain_gpt_with_the_adapted_outputs(base, ids):
    model = copy.deepcopy(base)
    add_lora(model, rank=2, targets=("w_q", "w_v"))
    randomise_b(model)
    adapted = model(ids)
    remove_lora(model)
    assert not any(isinstance(m, LoRALinear) for m in model.modules())
    assert isinstance(model.blocks[0].attn.w_q, nn.Linear)
    assert all(p.requires_grad for p in model.parameters())
    plain = GPT(base.config)
    plain.load_state_dict(model.state_dict())                         # the same keys as a base GPT
    torch.testing.assert_close(plain.eval()(ids), adapted, atol=1e-5, rtol=1e-5)


def test_bad_input_is_refused_with_the_argument_named(base):
    with pytest.raises(ValueError, match="rank must be"):
        add_lora(copy.deepcopy(base), rank=0)
    with pytest.raises(ValueError, match="rank must be"):
        LoRALinear(nn.Linear(4, 3), rank=4)
    with pytest.raises(ValueError, match="no nn.Linear named"):
        add_lora(copy.deepcopy(base), targets=("nope",))
    with pytest.raises(ValueError, match="targets must be"):
        add_lora(copy.deepcopy(base), targets="w_q")
    model = copy.deepcopy(base)
    add_lora(model)
    with pytest.raises(ValueError, match="already has LoRA"):
        add_lora(model)
    with pytest.raises(ValueError, match="no LoRA layers"):
        merge_lora(copy.deepcopy(base))
    with pytest.raises(TypeError, match="base must be an nn.Linear"):
        LoRALinear(nn.Embedding(3, 4), rank=1)


def _peft_copy(peft, base, ours, targets):
    """peft's LoRA on a copy of `base`, with our adapters' A and B copied in."""
    config = peft.LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, target_modules=list(targets))
    theirs = peft.get_peft_model(copy.deepcopy(base), config)
    for name, layer in ours.named_modules():
        if isinstance(layer, LoRALinear):
            ref = theirs.base_model.model.get_submodule(name)
            assert ref.scaling["default"] == layer.scaling == 2.0
            bound = 1 / math.sqrt(layer.base.in_features)                 # kaiming_uniform(a=√5), both
            assert ref.lora_A["default"].weight.abs().max() <= bound and layer.lora_A.abs().max() <= bound
            with torch.no_grad():
                ref.lora_A["default"].weight.copy_(layer.lora_A)
                ref.lora_B["default"].weight.copy_(layer.lora_B)
    assert (sum(p.numel() for p in theirs.parameters() if p.requires_grad)
            == sum(p.numel() for p in lora_parameters(ours)))
    return theirs.eval()


@pytest.mark.parametrize("targets", [("w_o", "up", "down"), BLOCK_LINEARS])
def test_same_adapters_give_the_same_outputs_as_peft(base, ids, targets):
    """Our LoRA and peft's on the same tiny GPT with the same A and B: equal outputs, adapted and merged.

    Unmerged, only the layers peft reaches are compared: the course attention packs w_q, w_k, w_v through
    `.weight`, which peft's wrapper answers with the base weight (ours with the adapted one)."""
    import peft                                   # a dev extra: requirements.txt and environment.yml install it
    ours = copy.deepcopy(base)
    add_lora(ours, rank=4, alpha=8, targets=targets)
    randomise_b(ours)
    theirs = _peft_copy(peft, base, ours, targets)
    if "w_q" not in targets:
        torch.testing.assert_close(ours(ids), theirs(ids), atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(merge_lora(ours)(ids), theirs.merge_and_unload()(ids), atol=1e-5, rtol=1e-5)
