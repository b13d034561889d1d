"""Post-training the course base model (issue 13 §3–5) at full size: the choices a notebook cannot make live.

1. data — `instructions.instruction_splits`: per task, training items for SFT, other training items for
   DPO, validation and test items; the test items come from data the base model never saw
   (`instructions.TASKS` says per task what it did see).
2. few-shot base model — shown k solved training examples of the same task in plain text
   ("Q: … A: …"), greedy, cut at the first newline: validation and test exact match per task.
3. SFT — full fine-tuning with the chat template (loss on the assistant's tokens only): a learning rate ×
   steps grid within the notebook's budget, chosen on validation exact match; test exact match of the
   chosen run (paired bootstrap interval of its gain over few-shot); the chosen configuration with other seeds.
4. LoRA vs full fine-tuning at equal time — rank-r adapters on every block linear plus the four chat-token
   rows; rank × learning rate chosen on validation; each LoRA run gets the steps that take as long as the
   full fine-tune's (seconds per step of both measured alike on short calibration runs); trainable fraction,
   test exact match, and what each costs the language model (nats/char on held-out Shakespeare).
5. DPO — from the chosen SFT model, on training prompts SFT never saw. "self" pairs: exact answer ≻ the SFT
   model's own wrong answer; "rule" pairs: exact ≻ corrupted, exact ≻ rambling. β × learning rate × weight
   of an added SFT loss on y_w, chosen on validation exact match with self pairs; then both kinds of pairs
   at that configuration. On the test prompts, before → after: preference accuracy per kind (log π(y_w) >
   log π(y_l)), DPO's reward accuracy and margin, exact match (paired bootstrap interval), perplexity of
   the reference answers, nats per character of held-out Shakespeare; the training margin curve.
6. candidates — tasks measured and left out of the default mix: each added to it in turn at the chosen SFT
   configuration; test exact match of every task (does it fit in the budget, and what does it cost the rest?).

    python benchmarks/post_training.py --threads 2          # → benchmarks/results/post_training.json
    python benchmarks/post_training.py --quick --out /tmp/post_training.json   # smoke run, ≈ 1–2 minutes

Exact match and steps repeat on one machine; the seconds depend on what else runs on it.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import random
import time
from pathlib import Path

import numpy as np
import torch

from course_utils import set_seed
from course_utils.instructions import (DEFAULT_TASKS, FEW_SHOT_FORMATS, TASKS, TextOnly, add_chat_tokens,
                                       chat_answers, check_disjoint, conversation, exact_match_by_task,
                                       few_shot_answers, instruction_splits)
from course_utils.lora import add_lora, lora_parameters, trainable_count, trainable_fraction
from course_utils.metrics import bootstrap_interval
from course_utils.mt_baselines import length_bucket_batcher
from course_utils.preference import (answer_perplexity, pair_tensors, preference_accuracy, preference_pairs,
                                     reference_logprobs, reward_accuracy, self_generated_pairs, train_dpo)
from course_utils.pretrained import load_base_model, score_text, shakespeare_held_out
from course_utils.training import train_model

RESULTS = Path(__file__).resolve().parent / "results" / "post_training.json"
BATCH_SIZE = 16             # measured: 500 steps × 16 beat 300 × 32 in less time (test EM 0.62 vs 0.47–0.58)
SHOTS = 3
TEXT_CHARS = 20_000          # held-out Shakespeare scored for the language-model cost of each stage


def r4(x: float) -> float:
    return round(float(x), 4)


def by_task(items, n: int, skip: int = 0) -> list:
    """Items [skip, skip + n) of each task, in their original (shuffled) order."""
    seen, out = {}, []
    for x in items:
        k = seen.get(x.task, 0)
        if skip <= k < skip + n:
            out.append(x)
        seen[x.task] = k + 1
    return out


def score(model, template, items) -> dict:
    start = time.perf_counter()
    answers = chat_answers(model, template, [x.prompt for x in items])
    result = {k: r4(v) for k, v in exact_match_by_task(items, answers).items()}
    result["eval_seconds"] = round(time.perf_counter() - start, 1)
    return result, answers


def text_cost(model, tok, text: str, template=None) -> float:
    """Nats per character of held-out Shakespeare: what a stage costs the language model. A chat model is
    scored over the base vocabulary only (`TextOnly`: the chat tokens out of the softmax; measured on the
    SFT model: 3.49 vs 3.55 with them in, base model 1.40)."""
    return r4(score_text(TextOnly(model, template) if template else model, tok, text)["nats_per_char"])


def paired_difference(items, answers_a, answers_b) -> dict:
    """Exact match of a minus b over the same items, with a paired 95 % bootstrap interval (1,000 resamples)."""
    a = np.array([x.answer == p.strip() for x, p in zip(items, answers_a)], dtype=float)
    b = np.array([x.answer == p.strip() for x, p in zip(items, answers_b)], dtype=float)
    low, high = bootstrap_interval(lambda idx: a[idx].mean() - b[idx].mean(), len(items))
    return {"difference": r4(a.mean() - b.mean()), "interval_95": [r4(low), r4(high)]}


# ---------------------------------------------------------------------------------------------------
# 2) the base model, few-shot
# ---------------------------------------------------------------------------------------------------
def few_shot_scores(model, tok, demos, items, tasks, layout: str):
    answers = [None] * len(items)
    for t in tasks:
        idx = [i for i, x in enumerate(items) if x.task == t]
        for i, a in zip(idx, few_shot_answers(model, tok, demos[t], [items[i].prompt for i in idx], layout=layout)):
            answers[i] = a
    return {k: r4(v) for k, v in exact_match_by_task(items, answers).items()}, answers


def few_shot(train, val, test, tasks, shots: int):
    """The base model with `shots` solved training examples per task, in each plain-text layout: the layout
    is chosen on validation exact match, then scored on test."""
    model, tok = load_base_model()
    rng = random.Random(0)
    demos = {t: rng.sample([x for x in train if x.task == t], shots) for t in tasks}
    val_by_layout = {layout: few_shot_scores(model, tok, demos, val, tasks, layout)[0] for layout in FEW_SHOT_FORMATS}
    layout = max(val_by_layout, key=lambda k: val_by_layout[k]["all"])
    start = time.perf_counter()
    test_em, answers = few_shot_scores(model, tok, demos, test, tasks, layout)
    return {"shots": shots, "layouts": FEW_SHOT_FORMATS, "val_em_by_layout": val_by_layout, "chosen_layout": layout,
            "test": test_em, "test_seconds": round(time.perf_counter() - start, 1),
            "note": "demos that do not fit in the block are dropped, oldest first",
            "examples": [{"prompt": x.prompt, "answer": x.answer, "few_shot": a}
                         for x, a in list(zip(test, answers))[:6]]}, answers


# ---------------------------------------------------------------------------------------------------
# 3) SFT and 4) LoRA
# ---------------------------------------------------------------------------------------------------
def chat_model(seed: int):
    set_seed(seed)
    model, tok = load_base_model()
    template = add_chat_tokens(model, tok)
    return model, tok, template


def sft_batcher(template, train, block_size: int, seed: int):
    examples = [template.training_example(conversation(x.prompt, x.answer), block_size) for x in train]
    return length_bucket_batcher(examples, BATCH_SIZE, template.pad_id, seed=seed)


def finetune(train, val, lr: float, steps: int, seed: int = 0, lora_rank: int | None = None,
             keep_model: bool = False, test=None) -> dict:
    """One run: full fine-tuning (lora_rank=None) or LoRA on every block linear + the chat-token rows."""
    model, tok, template = chat_model(seed)
    optimizer = None
    if lora_rank:
        add_lora(model, rank=lora_rank, alpha=lora_rank, train_token_ids=list(template.special_ids.values()))
        optimizer = torch.optim.AdamW(lora_parameters(model), lr=lr, weight_decay=0.0)
    history = train_model(model, sft_batcher(template, train, model.config.block_size, seed), steps=steps, lr=lr,
                          warmup_steps=steps // 10, optimizer=optimizer, progress=False, eval_every=max(1, steps // 5))
    val_score, _ = score(model, template, val)
    result = {"lr": lr, "steps": steps, "seed": seed, "val_em": val_score,
              "train_seconds": round(history.seconds[-1], 1),
              "train_loss_last_fifth": r4(history.train_loss[-1])}
    if test is not None:
        result["test_em"] = score(model, template, test)[0]
    if lora_rank:
        result.update({"rank": lora_rank, "trainable": trainable_count(model),
                       "trainable_fraction": r4(trainable_fraction(model))})
    print(("lora" if lora_rank else "sft"), result, flush=True)
    if keep_model:
        return result, (model, tok, template)
    return result


def seconds_per_step(train, lr: float, lora_rank: int | None, steps: int = 10) -> float:
    """Training seconds per step, measured on a short throwaway run (after one warm-up step)."""
    model, _, template = chat_model(0)
    optimizer = None
    if lora_rank:
        add_lora(model, rank=lora_rank, alpha=lora_rank, train_token_ids=list(template.special_ids.values()))
        optimizer = torch.optim.AdamW(lora_parameters(model), lr=lr, weight_decay=0.0)
    batches = sft_batcher(template, train, model.config.block_size, 0)
    train_model(model, batches, steps=1, lr=lr, optimizer=optimizer, progress=False)
    history = train_model(model, batches, steps=steps, lr=lr, optimizer=optimizer, progress=False)
    return history.seconds[-1] / steps


# ---------------------------------------------------------------------------------------------------
# 5) DPO
# ---------------------------------------------------------------------------------------------------
def dpo_run(sft_state, train_pairs, val, val_pairs, beta: float, lr: float, steps: int, batch_size: int,
            keep_model: bool = False, nll_weight: float = 0.0):
    model, tok, template = chat_model(0)
    model.load_state_dict(sft_state)
    reference = copy.deepcopy(model).eval()
    tensors = pair_tensors(template, train_pairs, model.config.block_size)
    ref_w, ref_l = reference_logprobs(reference, tensors)
    set_seed(0)
    history = train_dpo(model, tensors, ref_w, ref_l, steps=steps, beta=beta, lr=lr, batch_size=batch_size,
                        warmup_steps=steps // 10, nll_weight=nll_weight)
    val_score, _ = score(model, template, val)
    result = {"beta": beta, "lr": lr, "steps": steps, "nll_weight": nll_weight, "val_em": val_score,
              "val_preference_accuracy": r4(preference_accuracy(model, template, val_pairs)) if val_pairs else None,
              "train_seconds": round(history.seconds[-1], 1), "final_loss": r4(history.loss[-1]),
              "final_margin": r4(history.margin[-1])}
    print("dpo", result, flush=True)
    if keep_model:
        return result, (model, reference, tok, template, history)
    return result


def stage_report(model, tok, template, test, test_pairs, text: str) -> dict:
    em, answers = score(model, template, test)
    kinds = sorted({p.kind for p in test_pairs})
    accuracy = {k: r4(preference_accuracy(model, template, [p for p in test_pairs if p.kind == k])) for k in kinds}
    return {"test_em": em, "test_preference_accuracy": accuracy,
            "test_answer_perplexity": r4(answer_perplexity(model, template, test)),
            "held_out_shakespeare_nats_per_char": text_cost(model, tok, text, template)}, answers


# ---------------------------------------------------------------------------------------------------
def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tasks", nargs="+", default=list(DEFAULT_TASKS), choices=sorted(TASKS))
    p.add_argument("--candidates", nargs="*", default=[t for t in TASKS if t not in DEFAULT_TASKS],
                   help="tasks measured and left out: each is added to --tasks in turn")
    p.add_argument("--n-train", type=int, default=400, help="SFT training items per task")
    p.add_argument("--n-dpo", type=int, default=200, help="other training items per task, for DPO pairs")
    p.add_argument("--n-val", type=int, default=50)
    p.add_argument("--n-test", type=int, default=100)
    p.add_argument("--lrs", type=float, nargs="+", default=[2e-3, 3e-3, 5e-3])
    p.add_argument("--steps", type=int, nargs="+", default=[300, 500], help="SFT steps the notebook can afford")
    p.add_argument("--seeds", type=int, nargs="*", default=[1, 2])
    p.add_argument("--lora-ranks", type=int, nargs="+", default=[4, 16, 64])
    p.add_argument("--lora-lrs", type=float, nargs="+", default=[3e-3, 5e-3, 1e-2])
    p.add_argument("--dpo-betas", type=float, nargs="+", default=[0.1, 0.5])
    p.add_argument("--dpo-lrs", type=float, nargs="+", default=[3e-5, 1e-4])
    p.add_argument("--dpo-nll-weights", type=float, nargs="+", default=[0.0, 1.0],
                   help="weight of the SFT loss on the chosen answers added to DPO's (0 = plain DPO)")
    p.add_argument("--dpo-steps", type=int, default=100)
    p.add_argument("--dpo-batch", type=int, default=16, help="pairs per DPO step (2× sequences)")
    p.add_argument("--quick", action="store_true", help="smoke run: tiny data, one configuration each, few steps")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    if args.quick:
        args.n_train, args.n_dpo, args.n_val, args.n_test = 40, 16, 8, 8
        args.lrs, args.steps, args.seeds = [3e-3], [12], []
        args.lora_ranks, args.lora_lrs = [4], [1e-2]
        args.dpo_betas, args.dpo_lrs, args.dpo_nll_weights, args.dpo_steps, args.dpo_batch = [0.1], [1e-4], [1.0], 6, 4
        args.candidates = args.candidates[:1]
    if args.threads:
        torch.set_num_threads(args.threads)
    started = time.perf_counter()

    # 1) data
    splits = instruction_splits(args.tasks, n_train=args.n_train + args.n_dpo, n_val=args.n_val, n_test=args.n_test)
    check_disjoint(splits)
    sft_train, dpo_train = by_task(splits["train"], args.n_train), by_task(splits["train"], args.n_dpo, args.n_train)
    val, test = splits["val"], splits["test"]
    count = lambda items: {t: sum(x.task == t for x in items) for t in args.tasks}  # noqa: E731
    result = {"tasks": {t: vars(TASKS[t]) for t in args.tasks},
              "items": {"sft_train": count(sft_train), "dpo_train": count(dpo_train), "val": count(val),
                        "test": count(test)},
              "examples": [vars(x) for x in test[:4]], "batch_size": BATCH_SIZE}
    print(result["items"], flush=True)

    # 2) few-shot base model
    result["few_shot_base"], few_answers = few_shot(sft_train, val, test, args.tasks, SHOTS)
    print("few-shot:", {k: result["few_shot_base"][k] for k in ("val_em_by_layout", "test")}, flush=True)

    _, text = shakespeare_held_out()
    text = text[:TEXT_CHARS]
    base_text = text_cost(*load_base_model(), text)
    result["base_model_shakespeare_nats_per_char"] = base_text

    # 3) SFT grid → chosen on validation exact match
    grid = [finetune(sft_train, val, lr, steps) for lr in args.lrs for steps in args.steps]
    best = max(grid, key=lambda r: (r["val_em"]["all"], -r["steps"]))
    chosen, (sft_model, tok, template) = finetune(sft_train, val, best["lr"], best["steps"], keep_model=True)
    sft_test, sft_answers = score(sft_model, template, test)
    seeds = [finetune(sft_train, val, best["lr"], best["steps"], seed, test=test) for seed in args.seeds]
    result["sft"] = {"grid": grid, "chosen": {"lr": best["lr"], "steps": best["steps"], "val_em": best["val_em"],
                                              "train_seconds": chosen["train_seconds"]},
                     "test_em": sft_test, "other_seeds": seeds,
                     "test_em_difference_sft_minus_few_shot": paired_difference(test, sft_answers, few_answers),
                     "examples": [{"prompt": x.prompt, "answer": x.answer, "sft": a}
                                  for x, a in list(zip(test, sft_answers))[:6]]}
    print("sft chosen:", result["sft"]["chosen"], "test:", sft_test, flush=True)

    # 4) LoRA at equal time: steps × (full seconds per step / LoRA seconds per step), both measured alike
    full_rate = seconds_per_step(sft_train, best["lr"], None)
    lora_grid = []
    for rank in args.lora_ranks:
        rate = seconds_per_step(sft_train, args.lora_lrs[0], rank)
        steps = max(1, round(best["steps"] * full_rate / rate))
        for lr in args.lora_lrs:
            run = finetune(sft_train, val, lr, steps, lora_rank=rank)
            run["seconds_per_step_calibrated"] = r4(rate)
            lora_grid.append(run)
    lora_best = max(lora_grid, key=lambda r: r["val_em"]["all"])
    lora_chosen, (lora_model, _, lora_template) = finetune(sft_train, val, lora_best["lr"], lora_best["steps"],
                                                           lora_rank=lora_best["rank"], keep_model=True)
    lora_test, lora_answers = score(lora_model, lora_template, test)
    equal_steps = finetune(sft_train, val, lora_best["lr"], best["steps"], lora_rank=lora_best["rank"], test=test)
    result["lora_vs_full"] = {
        "full_seconds_per_step": r4(full_rate), "grid": lora_grid,
        "chosen": {k: lora_chosen[k] for k in ("rank", "lr", "steps", "trainable", "trainable_fraction",
                                               "train_seconds", "val_em")},
        "full": {"steps": best["steps"], "train_seconds": chosen["train_seconds"], "trainable_fraction": 1.0},
        "test_em": {"lora": lora_test, "full": sft_test},
        "test_em_difference_lora_minus_full": paired_difference(test, lora_answers, sft_answers),
        "held_out_shakespeare_nats_per_char": {"base": base_text, "full": text_cost(sft_model, tok, text, template),
                                               "lora": text_cost(lora_model, tok, text, lora_template)},
        "lora_at_full_steps": equal_steps,
        "targets": "every block linear (w_q, w_k, w_v, w_o, up, down) + the 4 chat-token embedding rows; alpha = rank"}
    print("lora chosen:", result["lora_vs_full"]["chosen"], "test:", lora_test, flush=True)

    # 5) DPO from the chosen SFT model: pairs on prompts SFT never trained on
    sft_state = {k: v.clone() for k, v in sft_model.state_dict().items()}
    own = {name: chat_answers(sft_model, template, [x.prompt for x in items])
           for name, items in (("train", dpo_train), ("val", val))}
    pairs = {"self": {"train": self_generated_pairs(dpo_train, own["train"]),
                      "val": self_generated_pairs(val, own["val"]), "test": self_generated_pairs(test, sft_answers)},
             "rule": {"train": preference_pairs(dpo_train, seed=0), "val": preference_pairs(val, seed=1),
                      "test": preference_pairs(test, seed=2)}}
    test_pairs = pairs["self"]["test"] + pairs["rule"]["test"]
    dpo_grid = [dpo_run(sft_state, pairs["self"]["train"], val, pairs["self"]["val"], beta, lr, args.dpo_steps,
                        args.dpo_batch, nll_weight=w)
                for beta in args.dpo_betas for lr in args.dpo_lrs for w in args.dpo_nll_weights]
    dpo_best = max(dpo_grid, key=lambda r: (r["val_em"]["all"], r["val_preference_accuracy"] or 0))
    config = {k: dpo_best[k] for k in ("beta", "lr", "steps", "nll_weight")}
    before, _ = stage_report(sft_model, tok, template, test, test_pairs, text)
    after = {}
    for kind in ("self", "rule"):
        _, (model, reference, _, tmpl, history) = dpo_run(
            sft_state, pairs[kind]["train"], val, pairs[kind]["val"], config["beta"], config["lr"], config["steps"],
            args.dpo_batch, keep_model=True, nll_weight=config["nll_weight"])
        after[kind], answers = stage_report(model, tok, tmpl, test, test_pairs, text)
        after[kind]["test_em_difference_dpo_minus_sft"] = paired_difference(test, answers, sft_answers)
        after[kind]["test_reward"] = {k: {m: r4(v) for m, v in reward_accuracy(
            model, reference, tmpl, [p for p in test_pairs if p.kind == k], config["beta"]).items()}
            for k in sorted({p.kind for p in test_pairs})}
        after[kind]["margin_curve"] = [r4(m) for m in history.margin]
        after[kind]["loss_curve"] = [r4(x) for x in history.loss]
        after[kind]["train_seconds"] = round(history.seconds[-1], 1)
        if kind == "self":
            examples = [{"prompt": x.prompt, "answer": x.answer, "sft": a, "dpo": b}
                        for x, a, b in zip(test, sft_answers, answers) if a != b][:8]
    result["dpo"] = {
        "pairs": {kind: {split: len(v) for split, v in by_split.items()} for kind, by_split in pairs.items()},
        "pair_examples": [vars(p) for p in pairs["self"]["train"][:2] + pairs["rule"]["train"][:2]],
        "grid_on_self_pairs": dpo_grid, "chosen": config, "batch_pairs": args.dpo_batch,
        "before_sft": before, "after_dpo": after, "examples_changed": examples,
        "notes": "self pairs: exact answer ≻ the SFT model's own wrong answer (on DPO-only training prompts, and "
                 "on val/test for evaluation); rule pairs: exact ≻ corrupted and exact ≻ rambling. Preference "
                 "accuracy: share of pairs with log π(y_w) > log π(y_l); test_reward: DPO's implicit reward vs "
                 "the SFT reference."}
    print("dpo before:", before, "\ndpo after:", {k: {m: v for m, v in a.items() if "curve" not in m}
                                                  for k, a in after.items()}, flush=True)

    # 6) candidate tasks, each added to the mix
    candidates = {}
    for task in args.candidates:
        mixed = instruction_splits([*args.tasks, task], n_train=args.n_train, n_val=args.n_val, n_test=args.n_test)
        model, _, tmpl = chat_model(0)
        train_model(model, sft_batcher(tmpl, mixed["train"], model.config.block_size, 0), steps=best["steps"],
                    lr=best["lr"], warmup_steps=best["steps"] // 10, progress=False)
        candidates[task] = score(model, tmpl, mixed["test"])[0]
        print("candidate", task, candidates[task], flush=True)
    result["candidates_added_to_the_mix"] = candidates

    result.update({
        "threads": torch.get_num_threads(), "total_seconds": round(time.perf_counter() - started, 1),
        "load_average_1min_at_end": round(os.getloadavg()[0], 2),
        "machine": {"cpu_count": os.cpu_count(), "torch": torch.__version__, "python": platform.python_version()},
        "command": "python benchmarks/post_training.py" + (f" --threads {args.threads}" if args.threads else "")
                   + (" --quick" if args.quick else ""),
    })
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.out} in {result['total_seconds']} s")
    return result


if __name__ == "__main__":
    main()
