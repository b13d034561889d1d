"""course_utils.preference: the DPO loss equals its formula and a hand computation, answer log-probs count the
answer's tokens only, pairs follow their rules, and a few DPO steps raise the margin of a tiny model."""
import copy
import datetime
import math
import random

import pytest
import torch
import torch.nn.functional as F

from course_utils.bpe import BPETokenizer
from course_utils.instructions import IGNORE, Instruction, add_chat_tokens, conversation
from course_utils.preference import (answer_batch, answer_logprobs, answer_perplexity, corrupt_answer, dpo_loss,
                                     pair_tensors, preference_accuracy, preference_pairs, ramble,
                                     reference_logprobs, reward_accuracy, self_generated_pairs,
                                     sequence_logprobs, train_dpo)
from course_utils.transformer import GPT, GPTConfig

pytestmark = pytest.mark.usefixtures("one_thread")

ITEMS = [Instruction("date_iso", "Write Feb 29, 2000 as YYYY-MM-DD.", "2000-02-29", "s"),
         Instruction("larger", "Which is larger: 23 or 45?", "45", "s"),
         Instruction("larger", "Which is larger: 7 or 3?", "7", "s"),
         Instruction("doc_package", "Which library: Find a root.", "scipy", "s"),
         Instruction("ui_fr", "Translate to French: File", "Fichier", "s"),
         Instruction("ui_fr", "Translate to French: Save", "Enregistrer", "s")]


def test_dpo_loss_equals_a_hand_computation():
    pc, pr = torch.tensor([-1.0, -2.0]), torch.tensor([-3.0, -1.5])
    rc, rr = torch.tensor([-1.5, -2.5]), torch.tensor([-2.0, -1.0])
    beta = 0.5
    # pair 0: margin = 0.5·((−1 + 1.5) − (−3 + 2)) = 0.5·1.5 = 0.75;  pair 1: 0.5·(0.5 − (−0.5)) = 0.5
    by_hand = (-math.log(1 / (1 + math.exp(-0.75))) - math.log(1 / (1 + math.exp(-0.5)))) / 2
    loss, r_w, r_l = dpo_loss(pc, pr, rc, rr, beta)
    assert math.isclose(loss.item(), by_hand, rel_tol=1e-6)
    torch.testing.assert_close(r_w, torch.tensor([0.25, 0.25]))
    torch.testing.assert_close(r_l, torch.tensor([-0.5, -0.25]))


def test_dpo_loss_equals_the_formula_and_is_log2_at_the_reference():
    gen = torch.Generator().manual_seed(0)
    pc, pr, rc, rr = (torch.randn(7, generator=gen) * 20 for _ in range(4))
    beta = 0.1
    formula = -F.logsigmoid(beta * ((pc - rc) - (pr - rr))).mean()
    torch.testing.assert_close(dpo_loss(pc, pr, rc, rr, beta)[0], formula)
    assert math.isclose(dpo_loss(rc, rr, rc, rr, beta)[0].item(), math.log(2), rel_tol=1e-6)
    big = dpo_loss(torch.tensor([0.0]), torch.tensor([1e4]), torch.tensor([0.0]), torch.tensor([0.0]), 1.0)[0]
    assert math.isfinite(big.item()) and math.isclose(big.item(), 1e4, rel_tol=1e-6)


def test_dpo_gradient_raises_chosen_and_lowers_rejected():
    pc, pr = torch.zeros(3, requires_grad=True), torch.zeros(3, requires_grad=True)
    loss, _, _ = dpo_loss(pc, pr, torch.zeros(3), torch.zeros(3), beta=0.2)
    loss.backward()
    assert (pc.grad < 0).all() and (pr.grad > 0).all()                   # descent raises y_w, lowers y_l
    with pytest.raises(ValueError, match="beta"):
        dpo_loss(pc, pr, pc, pr, beta=0)
    with pytest.raises(ValueError, match="one shape"):
        dpo_loss(pc, pr[:2], pc, pr, beta=0.1)


def test_pairs_follow_their_rules():
    pairs = preference_pairs(ITEMS, seed=0)
    assert len(pairs) == 2 * len(ITEMS) and pairs == preference_pairs(ITEMS, seed=0)
    for pair, item in zip(pairs, [x for x in ITEMS for _ in range(2)]):
        assert pair.chosen == item.answer and pair.rejected != item.answer and pair.prompt == item.prompt
        if pair.kind == "rambling":
            assert f"The answer is {item.answer}." in pair.rejected and len(pair.rejected) > len(pair.chosen) + 20
        elif item.task == "date_iso":
            datetime.date.fromisoformat(pair.rejected)                  # still a valid date
        elif item.task == "larger":
            assert pair.rejected == {"45": "23", "7": "3"}[item.answer]
        elif item.task == "doc_package":
            assert pair.rejected in ("numpy", "pandas", "sklearn")
        else:
            assert pair.rejected in ("Fichier", "Enregistrer")
    rng = random.Random(1)
    assert all(corrupt_answer(ITEMS[0], rng) != "2000-02-29" for _ in range(200))
    assert ramble("45", random.Random(0)).count("45") == 1
    with pytest.raises(ValueError, match="kinds must be"):
        preference_pairs(ITEMS, kinds=("nice",))
    with pytest.raises(ValueError, match="needs a pool"):
        corrupt_answer(ITEMS[4], rng, pool=[ITEMS[4]])


def test_self_generated_pairs_keep_only_the_model_mistakes():
    pairs = self_generated_pairs(ITEMS[:3], ["2000-02-29", " 23", "7 "])
    assert [(p.prompt, p.chosen, p.rejected, p.kind) for p in pairs] == [(ITEMS[1].prompt, "45", "23", "self")]
    with pytest.raises(ValueError, match="one model answer per item"):
        self_generated_pairs(ITEMS[:3], ["1"])


@pytest.fixture()
def chat_model():
    torch.manual_seed(0)
    tok = BPETokenizer.train(" ".join(x.prompt + " " + x.answer for x in ITEMS) * 10, vocab_size=300)
    model = GPT(GPTConfig(vocab_size=tok.vocab_size, block_size=96, d_model=16, n_heads=2, n_layers=1))
    return model.eval(), add_chat_tokens(model, tok)


def test_sequence_logprobs_sum_the_answer_tokens_only(chat_model):
    model, template = chat_model
    x, y = answer_batch(template, [ITEMS[1].prompt, ITEMS[0].prompt], [ITEMS[1].answer, "a longer answer"], 96)
    got = sequence_logprobs(model, x, y)
    for row, (prompt, answer) in enumerate([(ITEMS[1].prompt, ITEMS[1].answer), (ITEMS[0].prompt, "a longer answer")]):
        ids, mask = template.encode(conversation(prompt, answer))
        logp = torch.log_softmax(model(torch.tensor([ids[:-1]])), -1)[0]   # (T, V)
        by_hand = sum(logp[t - 1, ids[t]] for t in range(1, len(ids)) if mask[t])
        assert math.isclose(got[row].item(), by_hand.item(), rel_tol=1e-5)
    assert torch.equal((y != IGNORE).sum(1), torch.tensor([len(template.base.encode(" 45")) + 1,
                                                           len(template.base.encode(" a longer answer")) + 1]))
    torch.testing.assert_close(answer_logprobs(model, template, [ITEMS[1].prompt], ["45"]), got[:1].detach())


def test_a_few_dpo_steps_raise_the_margin_and_leave_the_reference_alone(chat_model):
    model, template = chat_model
    reference = copy.deepcopy(model)
    before = {k: v.clone() for k, v in reference.state_dict().items()}
    pairs = preference_pairs(ITEMS, seed=0)
    tensors = pair_tensors(template, pairs, 96)
    assert tensors["chosen_x"].shape == tensors["rejected_x"].shape
    ref_w, ref_l = reference_logprobs(reference, tensors)
    history = train_dpo(model, tensors, ref_w, ref_l, steps=30, beta=0.5, lr=1e-2, batch_size=6)
    assert history.loss[0] == pytest.approx(math.log(2), rel=1e-4)      # π = π_ref at the first step
    assert history.loss[-1] < 0.5 * math.log(2) and history.margin[-1] > 1.0
    assert all(torch.equal(v, before[k]) for k, v in reference.state_dict().items())
    acc_before, acc_after = preference_accuracy(reference, template, pairs), preference_accuracy(model, template, pairs)
    assert acc_after >= acc_before                                      # log π(y_w) > log π(y_l): 11 of 12 here
    held = reward_accuracy(model, reference, template, pairs, beta=0.5)
    assert held["accuracy"] == 1.0 and held["margin"] > 1.0
    assert reward_accuracy(reference, reference, template, pairs) == {"accuracy": 0.0, "margin": 0.0}
    assert answer_perplexity(model, template, ITEMS) < answer_perplexity(reference, template, ITEMS)


def test_nll_weight_adds_the_chosen_answers_per_token_loss(chat_model):
    model, template = chat_model
    pairs = preference_pairs(ITEMS, kinds=("corrupted",), seed=0)
    tensors = pair_tensors(template, pairs, 96)
    ref_w, ref_l = reference_logprobs(model, tensors)
    nll = -ref_w.sum().item() / (tensors["chosen_y"] != IGNORE).sum().item()
    history = train_dpo(copy.deepcopy(model), tensors, ref_w, ref_l, steps=1, batch_size=len(pairs), nll_weight=0.5)
    assert history.loss[0] == pytest.approx(math.log(2) + 0.5 * nll, rel=1e-5)
