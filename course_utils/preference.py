"""Preference tuning with DPO from scratch (Rafailov et al., 2023): pairs built by rule, the loss written out.

A preference pair is a prompt x, a preferred answer y_w and a worse one y_l. Here y_w is always the exact
answer and y_l comes by rule from the instruction data (`preference_pairs`): a *corrupted* answer (a wrong
date, the smaller number, another library) or a *rambling* one (the right answer wrapped in filler that
exact match counts as wrong) — or it is the model's own wrong answer (`self_generated_pairs`, kind "self").

DPO trains the policy π directly on the pairs, with a frozen copy of the starting model π_ref as anchor:

    r(x, y) = β · [log π(y | x) − log π_ref(y | x)]                   the implicit reward
    loss    = −log σ( r(x, y_w) − r(x, y_l) )                          mean over pairs

The reward margin r(x, y_w) − r(x, y_l) grows as π raises y_w and lowers y_l relative to π_ref; β sets how
far π may move from π_ref for a given margin. log π(y | x) is the sum of the answer's token log-probs
(its words and closing <|end|>), exactly the tokens the SFT loss trained (`sequence_logprobs`).
"""
from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass, field
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from course_utils.env import model_device
from course_utils.instructions import IGNORE, ChatTemplate, Instruction, conversation
from course_utils.validation import require_int, require_real

LIBRARIES = ("numpy", "scipy", "pandas", "sklearn")
RAMBLE_OPENERS = ("Sure! Let me think about this.", "Good question.", "Of course, happy to help.",
                  "Let me see.", "Well, that is an interesting one.")
RAMBLE_CLOSERS = ("I hope this helps!", "Let me know if you need anything else.", "I think that is right.",
                  "Thank you for asking.", "Have a nice day!")
PAIR_KINDS = ("corrupted", "rambling")    # by rule; "self" pairs come from a model's answers (self_generated_pairs)


@dataclass(frozen=True)
class PreferencePair:
    prompt: str
    chosen: str      # y_w: the exact answer
    rejected: str    # y_l: corrupted or rambling
    kind: str        # one of PAIR_KINDS, or "self"
    task: str
    source: str      # the instruction's provenance


# ---------------------------------------------------------------------------------------------------
# 1) pairs by rule
# ---------------------------------------------------------------------------------------------------
def _other_date(iso: str, rng: random.Random) -> str:
    import datetime

    day = datetime.date.fromisoformat(iso)
    if rng.random() < 0.5:                                                # another month, same day if it exists
        for _ in range(24):
            try:
                return day.replace(month=rng.choice([m for m in range(1, 13) if m != day.month])).isoformat()
            except ValueError:
                continue
    shift = rng.choice([-10, -2, -1, 1, 2, 10, 365])                      # a nearby day, or a year off
    return (day + datetime.timedelta(days=shift)).isoformat()


def corrupt_answer(item: Instruction, rng: random.Random, pool: Sequence[Instruction] = ()) -> str:
    """A plausible wrong answer to `item`, by a rule per task: another month or a nearby day (date_iso), the
    smaller number (larger), a sum off by 1 or 10 (add), another library (doc_package); for other tasks
    another answer of the same task drawn from `pool`. Never equal to the right answer."""
    if item.task == "date_iso":
        wrong = _other_date(item.answer, rng)
    elif item.task == "larger":
        numbers = [int(n) for n in item.prompt.rstrip("?").split(":")[1].split(" or ")]
        wrong = str(min(numbers))
    elif item.task == "add":
        wrong = str(max(0, int(item.answer) + rng.choice([-10, -1, 1, 10])))
    elif item.task == "doc_package":
        wrong = rng.choice([lib for lib in LIBRARIES if lib != item.answer])
    else:
        others = sorted({x.answer for x in pool if x.task == item.task and x.answer != item.answer})
        if not others:
            raise ValueError(f"task {item.task!r} needs a pool with other answers of the same task to corrupt")
        wrong = rng.choice(others)
    if wrong == item.answer:
        raise AssertionError(f"corruption of {item.answer!r} gave the same answer")
    return wrong


def ramble(answer: str, rng: random.Random) -> str:
    """The right answer wrapped in filler: 'Good question. The answer is 45. I hope this helps!'."""
    return f"{rng.choice(RAMBLE_OPENERS)} The answer is {answer}. {rng.choice(RAMBLE_CLOSERS)}"


def self_generated_pairs(items: Sequence[Instruction], model_answers: Sequence[str]) -> list[PreferencePair]:
    """exact answer ≻ the model's own answer, for every item the model got wrong (kind "self"): pairs aimed at
    the mistakes this model makes, where rule-corrupted answers may be mistakes it never makes."""
    if isinstance(model_answers, str) or len(model_answers) != len(items):
        raise ValueError(f"need one model answer per item, got {len(model_answers)} for {len(items)} items")
    return [PreferencePair(x.prompt, x.answer, a.strip(), "self", x.task, x.source)
            for x, a in zip(items, model_answers) if a.strip() != x.answer]


def preference_pairs(items: Sequence[Instruction], kinds: Sequence[str] = PAIR_KINDS,
                     seed: int = 0) -> list[PreferencePair]:
    """One pair per instruction and kind: (exact answer ≻ corrupted answer), (exact answer ≻ rambling)."""
    bad = [k for k in kinds if k not in PAIR_KINDS]
    if isinstance(kinds, str) or bad or not kinds:
        raise ValueError(f"kinds must be a non-empty list drawn from {PAIR_KINDS}, got {kinds!r}")
    rng = random.Random(seed)
    pairs = []
    for item in items:
        for kind in kinds:
            rejected = corrupt_answer(item, rng, items) if kind == "corrupted" else ramble(item.answer, rng)
            pairs.append(PreferencePair(item.prompt, item.answer, rejected, kind, item.task, item.source))
    return pairs


# ---------------------------------------------------------------------------------------------------
# 2) log-probabilities of answers, and the DPO loss
# ---------------------------------------------------------------------------------------------------
def answer_batch(template: ChatTemplate, prompts: Sequence[str], answers: Sequence[str],
                 block_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(inputs, targets) (B, T) for prompt → answer conversations, right-padded; targets IGNORE except on
    the answer's tokens and its <|end|>."""
    from course_utils.dialogue import pad_examples

    if len(prompts) != len(answers) or not prompts:
        raise ValueError(f"need as many answers as prompts (> 0), got {len(prompts)} and {len(answers)}")
    examples = [template.training_example(conversation(p, a), block_size) for p, a in zip(prompts, answers)]
    return pad_examples(examples, template.pad_id)


def sequence_logprobs(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Σ log π(target token) over each row's non-ignored targets: (B,). Keeps the graph (for DPO's policy);
    wrap in torch.no_grad() for the reference. Inputs follow the model's device; the result stays there."""
    device = model_device(model)
    inputs, targets = inputs.to(device), targets.to(device)
    logp = torch.log_softmax(model(inputs).float(), dim=-1)                     # (B, T, V)
    keep = targets != IGNORE                                                     # (B, T)
    picked = logp.gather(-1, targets.clamp_min(0).unsqueeze(-1)).squeeze(-1)     # (B, T)
    return (picked * keep).sum(-1)                                               # (B,)


@torch.no_grad()
def answer_logprobs(model: nn.Module, template: ChatTemplate, prompts: Sequence[str], answers: Sequence[str],
                    batch_size: int = 64) -> torch.Tensor:
    """log π(answer | prompt) for each pair, summed over the answer's tokens and <|end|>: (N,) on the CPU."""
    was_training = model.training
    model.eval()
    out = []
    for i in range(0, len(prompts), batch_size):
        x, y = answer_batch(template, prompts[i : i + batch_size], answers[i : i + batch_size], model.config.block_size)
        out.append(sequence_logprobs(model, x, y).cpu())
    model.train(was_training)
    return torch.cat(out)


def dpo_loss(policy_chosen: torch.Tensor, policy_rejected: torch.Tensor, ref_chosen: torch.Tensor,
             ref_rejected: torch.Tensor, beta: float = 0.1) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(loss, chosen_rewards, rejected_rewards) from summed log-probs (B,) of each answer under π and π_ref:

        r_w = β (log π(y_w) − log π_ref(y_w)),  r_l = β (log π(y_l) − log π_ref(y_l))
        loss = mean −log σ(r_w − r_l)

    −log σ(z) is computed as softplus(−z), which stays finite for large |z|."""
    beta = require_real(beta, "beta", above=0)
    shapes = {t.shape for t in (policy_chosen, policy_rejected, ref_chosen, ref_rejected)}
    if len(shapes) != 1:
        raise ValueError(f"all four log-prob tensors must have one shape (B,), got {sorted(map(tuple, shapes))}")
    chosen_rewards = beta * (policy_chosen - ref_chosen)                          # (B,)
    rejected_rewards = beta * (policy_rejected - ref_rejected)                    # (B,)
    loss = F.softplus(-(chosen_rewards - rejected_rewards)).mean()               # −log σ(margin)
    return loss, chosen_rewards.detach(), rejected_rewards.detach()


# ---------------------------------------------------------------------------------------------------
# 3) training and evaluation
# ---------------------------------------------------------------------------------------------------
@dataclass
class DPOHistory:
    """Per step: loss, mean reward margin r_w − r_l and share of pairs with a positive margin (training batch)."""
    loss: list[float] = field(default_factory=list)
    margin: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)


def pair_tensors(template: ChatTemplate, pairs: Sequence[PreferencePair], block_size: int) -> dict[str, torch.Tensor]:
    """Padded (inputs, targets) of the chosen and the rejected answers: {"chosen_x", "chosen_y",
    "rejected_x", "rejected_y"}, each (N, T) with one common T, so a batch of pairs is one slice."""
    prompts = [p.prompt for p in pairs]
    cx, cy = answer_batch(template, prompts, [p.chosen for p in pairs], block_size)
    rx, ry = answer_batch(template, prompts, [p.rejected for p in pairs], block_size)
    T = max(cx.size(1), rx.size(1))
    pad = lambda t, value: F.pad(t, (0, T - t.size(1)), value=value)  # noqa: E731
    return {"chosen_x": pad(cx, template.pad_id), "chosen_y": pad(cy, IGNORE),
            "rejected_x": pad(rx, template.pad_id), "rejected_y": pad(ry, IGNORE)}


@torch.no_grad()
def reference_logprobs(reference: nn.Module, tensors: dict[str, torch.Tensor],
                       batch_size: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """log π_ref of every chosen and rejected answer, computed once before training: ((N,), (N,)) on the CPU."""
    was_training = reference.training
    reference.eval()
    out = {}
    for side in ("chosen", "rejected"):
        x, y = tensors[f"{side}_x"], tensors[f"{side}_y"]
        out[side] = torch.cat([sequence_logprobs(reference, x[i : i + batch_size], y[i : i + batch_size]).cpu()
                               for i in range(0, len(x), batch_size)])
    reference.train(was_training)
    return out["chosen"], out["rejected"]


def train_dpo(policy: nn.Module, tensors: dict[str, torch.Tensor], ref_chosen: torch.Tensor,
              ref_rejected: torch.Tensor, *, steps: int, beta: float = 0.1, lr: float = 1e-4,
              batch_size: int = 32, warmup_steps: int = 0, clip_grad: float = 1.0, seed: int = 0,
              nll_weight: float = 0.0, parameters: Sequence[nn.Parameter] | None = None) -> DPOHistory:
    """DPO with AdamW: each step takes `batch_size` pairs (shuffled epochs), scores the chosen and rejected
    answers under the policy, and minimises `dpo_loss` against the precomputed reference log-probs.

    `nll_weight` > 0 adds that much of the chosen answers' mean per-token negative log-likelihood (the SFT
    loss on y_w; "RPO", Pang et al. 2024): DPO alone may lower log π(y_w) too, as long as log π(y_l)
    falls faster. `parameters` (default: every trainable parameter of the policy) are the ones updated."""
    from course_utils.training import lr_at

    steps = require_int(steps, "steps", minimum=1)
    n = len(ref_chosen)
    batch_size = require_int(batch_size, "batch_size", minimum=1, maximum=n)
    params = list(parameters) if parameters is not None else [p for p in policy.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=require_real(lr, "lr", above=0), weight_decay=0.0)
    generator = torch.Generator().manual_seed(seed)
    order, pos = torch.randperm(n, generator=generator), 0
    history, start = DPOHistory(), time.perf_counter()
    policy.train()
    for step in range(steps):
        if pos + batch_size > n:                                          # new epoch: reshuffle
            order, pos = torch.randperm(n, generator=generator), 0
        idx, pos = order[pos : pos + batch_size], pos + batch_size
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, steps, lr, warmup_steps, 0.1)
        # chosen and rejected in one forward pass: (2B, T)
        x = torch.cat([tensors["chosen_x"][idx], tensors["rejected_x"][idx]])
        y = torch.cat([tensors["chosen_y"][idx], tensors["rejected_y"][idx]])
        logps = sequence_logprobs(policy, x, y)                           # (2B,)
        device = logps.device
        loss, r_w, r_l = dpo_loss(logps[: len(idx)], logps[len(idx) :], ref_chosen[idx].to(device),
                                  ref_rejected[idx].to(device), beta)
        if nll_weight:
            n_tokens = (tensors["chosen_y"][idx] != IGNORE).sum().to(device)
            loss = loss + nll_weight * -logps[: len(idx)].sum() / n_tokens
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(params, clip_grad)
        optimizer.step()
        history.loss.append(loss.item())
        history.margin.append((r_w - r_l).mean().item())
        history.accuracy.append((r_w > r_l).float().mean().item())
        history.seconds.append(time.perf_counter() - start)
    return history


def preference_accuracy(model: nn.Module, template: ChatTemplate, pairs: Sequence[PreferencePair]) -> float:
    """Share of pairs whose preferred answer the model finds more likely: log π(y_w|x) > log π(y_l|x)."""
    if not pairs:
        raise ValueError("pairs must not be empty")
    prompts = [p.prompt for p in pairs]
    chosen = answer_logprobs(model, template, prompts, [p.chosen for p in pairs])
    rejected = answer_logprobs(model, template, prompts, [p.rejected for p in pairs])
    return (chosen > rejected).float().mean().item()


def reward_accuracy(policy: nn.Module, reference: nn.Module, template: ChatTemplate,
                    pairs: Sequence[PreferencePair], beta: float = 0.1) -> dict[str, float]:
    """DPO's own held-out measures: {"accuracy": share of pairs with r(x, y_w) > r(x, y_l), "margin": mean
    r(x, y_w) − r(x, y_l)}, r = β (log π − log π_ref). Before any training π = π_ref: every margin is 0."""
    prompts = [p.prompt for p in pairs]
    chosen, rejected = [p.chosen for p in pairs], [p.rejected for p in pairs]
    logps = [answer_logprobs(model, template, prompts, answers)          # π(y_w), π(y_l), π_ref(y_w), π_ref(y_l)
             for model in (policy, reference) for answers in (chosen, rejected)]
    _, r_w, r_l = dpo_loss(*logps, beta)
    return {"accuracy": (r_w > r_l).float().mean().item(), "margin": (r_w - r_l).mean().item()}


def answer_perplexity(model: nn.Module, template: ChatTemplate, items: Sequence[Instruction]) -> float:
    """exp(mean NLL per answer token) of the reference answers (and their <|end|>) given their prompts."""
    prompts, answers = [x.prompt for x in items], [x.answer for x in items]
    total = -answer_logprobs(model, template, prompts, answers).sum().item()
    x, y = answer_batch(template, prompts, answers, model.config.block_size)
    return math.exp(total / (y != IGNORE).sum().item())
