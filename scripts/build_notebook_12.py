"""Build notebooks/12_post_training.ipynb from the cells below (then execute it with notebook_tools.py run)."""
from __future__ import annotations

import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from notebook_tools import code, md, new_notebook, sync  # noqa: E402

NAME = "12_post_training.ipynb"
IGNORE = ["nbval-ignore-output"]

CELLS = [
md("""# 12 · From base model to assistant: inference and post-training

Notebook 05 trained a GPT that continues Shakespeare; the course's **base model** (`load_base_model()`, 2.2 M
parameters, pretrained on the course's texts) continues any of them. Neither answers a question. Turning a base
model into an assistant takes a few more steps, and running it cheaply takes a few tricks. This notebook does
each of them from scratch on the base model, small enough to run on a laptop CPU, and measures what each buys.

**What you will learn**
- generate with a **KV cache** — the same tokens, several times faster — and compute its memory per token;
- switch the course GPT to a **modern decoder block** (RoPE, RMSNorm, SwiGLU, grouped-query attention) and prove
  it is exactly Llama's by loading a `transformers` Llama into it;
- **instruction-tune** (SFT) with a chat template, special tokens and a loss on the assistant's tokens only, on
  instructions built offline from the course's own data, and compare with the base model prompted few-shot;
- write **LoRA** from scratch: train a fraction of the numbers, merge them back, compare with full fine-tuning;
- write **DPO** from scratch: preference pairs, the loss, the reward margin, and what it costs;
- evaluate beyond the loss: **bits per byte** for every model of the course on one scale, **multiple choice by
  log-likelihood**, and what a **contaminated** test set does to a score.

**Prerequisites:** 05 (the GPT, sampling), 06–09 (fine-tuning the base model, masked losses), 11 (compute).
**Time:** about 2 minutes to run on a laptop CPU (most of it fine-tuning), 90 minutes to study. Runs longer than
the notebook can afford come from scripts in `benchmarks/` whose results are committed; each is named where used."""),
code("""import copy
import json
import random
import tempfile
import time

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F

from course_utils import set_seed
from course_utils.checks import expect, expect_true
from course_utils.evaluation import bits_per_byte, choose_by_likelihood
from course_utils.generation import generate
from course_utils.instructions import (DEFAULT_TASKS, TASKS, TextOnly, add_chat_tokens, chat_answers, check_disjoint,
                                       conversation, exact_match_by_task, few_shot_answers, few_shot_prompt,
                                       instruction_splits)
from course_utils.kv_cache import kv_cache_bytes_per_token
from course_utils.llama import load_llama
from course_utils.lora import add_lora, lora_parameters, merge_lora, trainable_count, trainable_fraction
from course_utils.mt_baselines import length_bucket_batcher
from course_utils.preference import (answer_perplexity, corrupt_answer, dpo_loss, pair_tensors, preference_accuracy,
                                     preference_pairs, reference_logprobs, self_generated_pairs, train_dpo)
from course_utils.pretrained import load_base_model, score_text, shakespeare_held_out
from course_utils.reference_results import load_benchmark
from course_utils.training import train_model
from course_utils.transformer import GPTConfig


def expect_band(name: str, value: float, low: float, high: float) -> None:
    # expect() for trained results: print the band, not the value (it varies slightly between machines)
    expect_true(f"{name} within {low:.2f}–{high:.2f}", low <= value <= high, hint=f"got {value:.3f}")


def committed(name: str) -> dict | None:
    # a benchmark's committed result, or None (with the command that writes it) if it has not been run yet
    try:
        return load_benchmark(name)
    except ValueError:
        print(f"benchmarks/results/{name}.json is not committed yet: run python benchmarks/{name}.py")
        return None


base, tokenizer = load_base_model()
n_params = sum(p.numel() for p in base.parameters())
print(f"base model: {n_params:,} parameters ({n_params / 1e6:.1f} M), {base.config.n_layers} blocks × "
      f"{base.config.d_model} wide, {base.config.n_heads} heads, context {base.config.block_size} tokens, "
      f"vocabulary {tokenizer.vocab_size:,} BPE tokens")"""),

# ------------------------------------------------------------------------------------------------ §1
md("""## 1 · The KV cache: stop recomputing the past

`generate` (notebook 05) runs the *whole* sequence through the model for every new token: step $t$ processes $t$
positions, so $n$ new tokens cost about $n^2/2$ positions. But a decoder's key and value vectors of earlier
positions never change — causal attention means position $i$ only ever looks at positions $\\le i$. So keep
them: run the prompt once (*prefill*), then feed only the newest token, append its key and value to each
layer's cache, and let its query attend over everything stored (*decode*). Memory per cached token:

$$\\text{bytes per token} = 2 \\cdot n_\\text{layers} \\cdot n_\\text{kv heads} \\cdot d_\\text{head} \\cdot \\text{bytes per number}$$

(the 2 is K and V). `generate(..., use_cache=True)` does this with `course_utils/kv_cache.py`. The promise to
check first: **the same tokens** as without the cache — greedy, and sampled with the same seed."""),
code("""prompt = torch.tensor([tokenizer.encode("\\nROMEO.\\nWhat light")])        # (1, T)
greedy = {cache: generate(base, prompt, 60, strategy="greedy", use_cache=cache) for cache in (False, True)}
sampled = {cache: generate(base, prompt.repeat(4, 1), 60, temperature=0.8, top_k=50, use_cache=cache,
                           generator=torch.Generator().manual_seed(1)) for cache in (False, True)}  # (4, T + 60)
print(tokenizer.decode(greedy[True][0].tolist()))
expect_true("greedy: the same 60 tokens with and without the cache", torch.equal(greedy[False], greedy[True]))
expect_true("sampled (4 rows, seed 1): the same tokens with and without the cache",
            torch.equal(sampled[False], sampled[True]))"""),
md("""Now the speed, generating until the 128-token window is full (the notebook's budget; longer runs below come
from the benchmark). The two runs alternate, so a busy machine slows both alike."""),
code("""def tokens_per_second(use_cache: bool, n_new: int = base.block_size - prompt.size(1), repeats: int = 1) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        generate(base, prompt, n_new, strategy="greedy", use_cache=use_cache)
        best = min(best, time.perf_counter() - start)
    return n_new / best

speed = {}
for _ in range(2):                                   # interleaved: without, with, without, with
    for cache in (False, True):
        speed[cache] = max(speed.get(cache, 0.0), tokens_per_second(cache))
print(f"{base.block_size - prompt.size(1)} new tokens: {speed[False]:.0f} tokens/s without the cache, {speed[True]:.0f} with it "
      f"→ {speed[True] / speed[False]:.1f}× ({torch.get_num_threads()} threads)")""", IGNORE),
code("""expect_true("the cache makes generation at least 1.3× faster (a loose bound: timings vary)", speed[True] >= 1.3 * speed[False])"""),
md("""The speed-up grows with the length: without the cache step $t$ costs $t$ positions, with it one. The
committed benchmark (`benchmarks/kv_cache_speed.py`: the base model's shape, a window long enough that the cache
is never dropped, 2 threads) measures 128, 512 and 1,024 new tokens. For scale, Raschka's *LLMs from scratch*
(ch04/03_kv-cache) reports GPT-2 124 M on a laptop CPU going from 27 to 166 tokens/s with its cache."""),
code("""kv = committed("kv_cache_speed")
if kv:
    print(f"{'new tokens':>10} {'without cache':>14} {'with cache':>11} {'speed-up':>9} {'same tokens':>12}")
    for row in kv["rows"]:
        print(f"{row['new_tokens']:10,} {row['tokens_per_s_without_cache']:10.0f} t/s {row['tokens_per_s_with_cache']:7.0f} t/s "
              f"{row['speedup']:8.1f}× {str(row['same_tokens']):>12}")
    print(f"({kv['threads']} threads, load average {kv['load_average_1min_at_end']} at the end; "
          f"anchor: {kv['anchor']['model']} {kv['anchor']['tokens_per_s_without_cache']} → "
          f"{kv['anchor']['tokens_per_s_with_cache']} tokens/s, {kv['anchor']['source']})")"""),
md("""And the memory. The formula against the bytes the cache's buffers really hold, for the base model, for a
grouped-query version of it (2 key/value heads shared by its 6 query heads, §2) and for GPT-2 124 M's shape:"""),
code("""shapes = {"base model": base.config,
          "base model, 2 KV heads (GQA)": GPTConfig(**{**base.config.to_dict(), "n_kv_heads": 2}),
          "GPT-2 124 M shape": GPTConfig(vocab_size=50257, block_size=1024, d_model=768, n_heads=12, n_layers=12)}
for name, config in shapes.items():
    cache = base.new_kv_cache(1) if name == "base model" else None
    formula = kv_cache_bytes_per_token(config)
    line = f"{name:30} formula {formula:7,} bytes/token = {formula * config.block_size / 2**20:5.1f} MiB per full window"
    if cache is not None:
        line += f" · buffers measured {cache.bytes_per_token():,.0f} bytes/token"
        expect_true("measured = formula", cache.bytes_per_token() == formula)
    print(line)
if kv:
    m = kv["memory"]
    print(f"benchmark, base model: {m['formula_bytes_per_token']:,} bytes/token by the formula, "
          f"{m['resident_growth_bytes_per_token']:,.0f} by the growth of the process's memory ({m['measured_with']})")"""),
md("""A full window of GPT-2's shape takes 72 MiB per sequence; at 4,096 tokens and 32 sequences in a batch that
is gigabytes — which is why large models share key/value heads (grouped-query attention) and why serving
systems manage the cache in pages. For our 2.2 M-parameter model the cache is tiny and the saving is all time."""),

# ------------------------------------------------------------------------------------------------ §2
md("""## 2 · A modern decoder block

The course GPT is GPT-2's design (2019). Llama-style models change four things, each an option of `GPTConfig`:

| option | what it does | formula |
|---|---|---|
| `norm="rmsnorm"` | normalise by the root mean square only: no centring, no bias | $g \\odot x / \\sqrt{\\text{mean}(x^2) + \\epsilon}$ |
| `feed_forward="swiglu"` | a gated feed-forward: one branch decides how much of the other passes | $W_\\text{down}(\\text{SiLU}(W_\\text{gate}x) \\odot W_\\text{up}x)$ |
| `positional="rope"` | no position vectors; queries and keys are *rotated* by an angle proportional to their position, so $q \\cdot k$ depends only on the offset | pairs of dimensions rotated by $m\\theta_i$ |
| `n_kv_heads=g` | grouped-query attention: $g$ key/value heads shared by all query heads | cache ÷ $n_\\text{heads}/g$ |

Written from the papers, are they *exactly* Llama's? The test that settles it: build a random Llama with
`transformers` (odd sizes, so no dimension lines up by luck; 1 key/value head for 3 query heads), save it, load it
into the course GPT with `load_llama`, and compare the logits. Nothing is downloaded."""),
code("""from transformers import LlamaConfig, LlamaForCausalLM
from transformers.utils import logging as hf_logging

hf_logging.disable_progress_bar()        # save_pretrained's "Writing model shards" bar: nothing to watch here

torch.manual_seed(0)
llama = LlamaForCausalLM(LlamaConfig(hidden_size=36, num_attention_heads=3, num_key_value_heads=1,
                                     intermediate_size=50, vocab_size=97, num_hidden_layers=2,
                                     max_position_embeddings=40)).eval()
with torch.no_grad():                    # larger random weights than the default init: a mapping error would show
    for name, p in llama.named_parameters():
        p.normal_(1.0 if "norm" in name else 0.0, 0.3)
folder = tempfile.TemporaryDirectory(prefix="nb12_llama_")
llama.save_pretrained(folder.name)
ours = load_llama(folder.name)          # the course GPT with rmsnorm, swiglu, rope, n_kv_heads=1, bias=False
ids = torch.randint(0, 97, (2, 40), generator=torch.Generator().manual_seed(1))     # (B, T)
with torch.no_grad():
    theirs, mine = llama(ids).logits, ours(ids)                                      # (B, T, V) each
print({k: getattr(ours.config, k) for k in ("norm", "feed_forward", "positional", "n_heads", "n_kv_heads", "d_ff")})
print(f"logits up to {theirs.abs().max():.1f} in size; largest difference {(theirs - mine).abs().max():.1e}")
expect_true("the course GPT's logits equal transformers' Llama (to 1e-4)", torch.allclose(theirs, mine, atol=1e-4))
same = torch.equal(generate(ours, ids[:, :5], 20, strategy="greedy", use_cache=True),
                   generate(ours, ids[:, :5], 20, strategy="greedy"))
expect_true("… and with RoPE and GQA the KV cache still gives the same tokens", same)""", IGNORE),   # last digits vary by CPU
md("""Exact, so every option is what the papers and Llama mean. Which of them *helps* a model of our size? That
takes training each variant, which the notebook cannot afford: `benchmarks/modern_block_ablation.py` trains
notebook 05's character-level GPT with one change at a time, and all four, for the **same training time** (a
variant with slower steps gets fewer), and scores them on validation text carved from the training split."""),
code("""ablation = committed("modern_block_ablation")
if ablation:
    print(f"equal time: {ablation['budget_seconds']} s per run, seeds {ablation['recipe']['seeds']}")
    print(f"{'variant':10} {'parameters':>10} {'steps':>6} {'val nats/char':>13} {'Δ vs classic':>13}  Δ by seed")
    for row in ablation["rows"]:
        print(f"{row['variant']:10} {row['parameters']:10,} {row['steps']:6} {row['mean_val_loss']:13.4f} "
              f"{row['mean_delta_vs_classic']:+13.4f}  {', '.join(f'{d:+.3f}' for d in row['delta_vs_classic_by_seed'])}")"""),
md("""The two seeds agree to a few hundredths, so the differences are real *for this budget*: a few hundred
steps, early in training (notebook 05's model trains three times longer). **RoPE** is most of the gain: rotating
queries and keys gives every layer the offset between two characters for free, where learned position vectors
must first be learned. **SwiGLU** and **GQA** help a little (GQA by freeing parameters and time, since the steps
are equal in time, not number); **RMSNorm** alone is slightly *worse* here, with a learning rate tuned for
LayerNorm. All four together are best. Larger models adopted these changes for reasons this test cannot show —
stability at scale, longer contexts, a smaller KV cache — so read the table as what they do for a small model
trained briefly, not as a verdict on the designs."""),

# ------------------------------------------------------------------------------------------------ §3
md("""## 3 · Instruction tuning (SFT)

**The data.** No download and no model-written data: instructions are built by rule from the course's own
datasets, so every answer is exactly right and can be scored by **exact match**. Three tasks, each with its
source and what the base model saw of it in pretraining; the *test* items come from data it never saw:"""),
code("""for name in DEFAULT_TASKS:
    task = TASKS[name]
    print(f"{name:12} e.g. {task.example}\\n{'':12} source: {task.source}\\n{'':12} base model saw: {task.base_model_saw}\\n")

splits = instruction_splits(DEFAULT_TASKS, n_train=600, n_val=50, n_test=100)   # per task; the same seed as the benchmark
check_disjoint(splits)                                    # raises if any prompt is in two splits
def first_per_task(items, n, skip=0):                     # items [skip, skip + n) of each task
    seen = {t: 0 for t in DEFAULT_TASKS}
    keep = []
    for x in items:
        seen[x.task] += 1
        if skip < seen[x.task] <= skip + n:
            keep.append(x)
    return keep
sft_train, dpo_train = first_per_task(splits["train"], 400), first_per_task(splits["train"], 200, skip=400)
test = splits["test"]
print(f"SFT {len(sft_train)} · DPO {len(dpo_train)} (other prompts) · validation {len(splits['val'])} · test {len(test)}")
print("provenance of a test item:", test[0])"""),
md("""**The base model, prompted few-shot.** A base model can sometimes follow a pattern shown in its prompt:
three solved examples of the same task, then the question (`Q: … A: …`). `benchmarks/post_training.py` tried four
plain-text layouts on validation; all scored the same, so here is the simplest:"""),
code("""rng = random.Random(0)
demos = {t: rng.sample([x for x in sft_train if x.task == t], 3) for t in DEFAULT_TASKS}
print(few_shot_prompt(demos["larger"], test[0].prompt if test[0].task == "larger" else "Which is larger: 17 or 71?"))
few_shot = [None] * len(test)
for t in DEFAULT_TASKS:
    rows = [i for i, x in enumerate(test) if x.task == t]
    for i, a in zip(rows, few_shot_answers(base, tokenizer, demos[t], [test[i].prompt for i in rows])):
        few_shot[i] = a
few_shot_em = exact_match_by_task(test, few_shot)
print({k: round(v, 2) for k, v in few_shot_em.items()})
for x, a in list(zip(test, few_shot))[:3]:
    print(f"  {x.prompt!r} → {a!r} (right: {x.answer!r})")"""),
code("""_ = expect("few-shot base model, test exact match", few_shot_em["all"], high=0.05)"""),
md("""Zero. At 2.2 M parameters the base model continues the *style* of the examples but does not pick up the
task from them — in-context learning appears only in much larger models (GPT-3's paper showed it growing with
size). So we teach the task with gradient steps.

**The chat template.** Four special tokens after the base vocabulary — `<|user|>`, `<|assistant|>`, `<|end|>`,
`<|pad|>` — frame each turn. No text can produce them, so a user cannot forge an assistant turn. The loss is
computed **only on the assistant's tokens** (its words and its closing `<|end|>`): the model learns to answer,
not to predict questions."""),
code("""set_seed(0)
sft_model, _ = load_base_model()
template = add_chat_tokens(sft_model, tokenizer)          # 4 new embedding rows (at the mean embedding)
example = conversation(test[0].prompt, test[0].answer)
print(template.render(example))
chat_ids, mask = template.encode(example)
names = {i: name for name, i in template.special_ids.items()}
print(" ".join((f"«{piece}»" if trained else piece)
               for i, trained in zip(chat_ids, mask) for piece in [names.get(i) or repr(tokenizer.decode([i]))]))
print("«…» = the tokens the loss is computed on")"""),
md("""Fine-tune all the weights for `SFT_STEPS` steps of 16 conversations. The learning rate and the number of
steps were chosen on validation exact match by `benchmarks/post_training.py` among those the notebook can afford."""),
code("""SFT_STEPS, SFT_LR, BATCH = 500, 2e-3, 16
examples = [template.training_example(conversation(x.prompt, x.answer), sft_model.config.block_size) for x in sft_train]
batches = length_bucket_batcher(examples, BATCH, template.pad_id, seed=0)   # similar lengths together: little padding
sft_history = train_model(sft_model, batches, steps=SFT_STEPS, lr=SFT_LR, warmup_steps=SFT_STEPS // 10,
                          eval_every=SFT_STEPS // 5)
sft_answers = chat_answers(sft_model, template, [x.prompt for x in test])
sft_em = exact_match_by_task(test, sft_answers)
print("test exact match:", {k: round(v, 2) for k, v in sft_em.items()})
for x, a in list(zip(test, sft_answers))[:6]:
    print(f"  {'✓' if a == x.answer else '✗'} {x.prompt!r} → {a!r}" + ("" if a == x.answer else f" (right: {x.answer!r})"))""", IGNORE),
code("""expect_band("training loss per assistant token, last fifth of the steps", sft_history.train_loss[-1], 0.0, 0.4)
expect_band("SFT assistant, test exact match (all tasks)", sft_em["all"], 0.45, 0.85)
expect_true("SFT beats the few-shot base model by more than 0.4", sft_em["all"] > few_shot_em["all"] + 0.4)"""),
md("""From nothing to a working assistant for three tasks. What did it cost? The fine-tuned model read as a plain
language model (chat tokens out of the softmax) on held-out Shakespeare: notebook 05's measure."""),
code("""_, held_out = shakespeare_held_out()
text = held_out[:20_000]
cost = {"base model": score_text(base, tokenizer, text)["nats_per_char"],
        "SFT assistant": score_text(TextOnly(sft_model, template), tokenizer, text)["nats_per_char"]}
print({k: round(v, 2) for k, v in cost.items()}, "nats/char on 20,000 held-out Shakespeare characters")""", IGNORE),
code("""expect_band("base model on held-out Shakespeare, nats/char", cost["base model"], 1.35, 1.45)
expect_true("SFT made the model much worse at Shakespeare (> 2 nats/char)", cost["SFT assistant"] > 2.0)"""),
md("""**Catastrophic forgetting:** `SFT_STEPS` steps on short answers, every weight free to move, and the model's
Shakespeare got several times less likely. Real post-training mixes pretraining-like data into SFT to keep what
the base model knew; LoRA (next) limits the damage by changing few numbers.

The committed benchmark chose this recipe on validation, and its other seeds show how fragile it is: the date task
is learned between 300 and 500 steps (validation exact match 0.02 at 300), and with one unlucky seed not yet at 500:"""),
code("""post = committed("post_training")
if post:
    chosen = post["sft"]["chosen"]
    print(f"benchmark: SFT lr {chosen['lr']:g}, {chosen['steps']} steps × {post['batch_size']} (chosen on validation) "
          f"→ test exact match {post['sft']['test_em']['all']:.2f} "
          f"{ {k: v for k, v in post['sft']['test_em'].items() if k in DEFAULT_TASKS} }")
    print("other seeds:", [s["test_em"]["all"] for s in post["sft"]["other_seeds"]],
          "· few-shot base model:", post["few_shot_base"]["test"]["all"])
    for run in post["sft"]["grid"]:
        print(f"  grid: lr {run['lr']:g}, {run['steps']} steps → validation exact match {run['val_em']['all']:.2f}")"""),

# ------------------------------------------------------------------------------------------------ §4
md("""## 4 · LoRA: fine-tune a few low-rank numbers

LoRA (Hu et al., 2021) freezes every weight $W$ and learns a low-rank update beside it:

$$y = W x + \\frac{\\alpha}{r} B A x, \\qquad A \\in \\mathbb{R}^{r \\times d_\\text{in}},\\; B \\in \\mathbb{R}^{d_\\text{out} \\times r},\\; r \\ll d .$$

$B$ starts at zero, so training starts from exactly the base model. After training the update folds into the
weight, $W' = W + \\frac{\\alpha}{r} BA$, and the merged model is a plain GPT with no extra cost. `add_lora` wraps
every linear layer of the blocks (attention and feed-forward) and freezes everything else, except the four new
chat-token embedding rows, which must learn (they start as one identical vector)."""),
code("""LORA_RANK, LORA_LR, LORA_STEPS = 64, 3e-3, 150
set_seed(0)
lora_model, _ = load_base_model()
lora_template = add_chat_tokens(lora_model, tokenizer)
wrapped = add_lora(lora_model, rank=LORA_RANK, alpha=LORA_RANK, train_token_ids=list(lora_template.special_ids.values()))
print(f"{len(wrapped)} layers wrapped, e.g. {wrapped[:3]}")
print(f"trainable: {trainable_count(lora_model):,} of {sum(p.numel() for p in lora_model.parameters()):,} numbers "
      f"= {trainable_fraction(lora_model):.1%}")
with torch.no_grad():                                  # `prompt`: §1's Shakespeare prompt, base-vocabulary ids
    expect_true("B = 0: the adapted model starts equal to the base model (to 1e-5)",
                torch.allclose(lora_model(prompt)[..., :tokenizer.vocab_size], base(prompt), atol=1e-5))"""),
md("""Rank 64 of a 192-wide model is not small; the benchmark below also tries 4 and 16. Train it on the same
batches, for `LORA_STEPS` steps: fewer than full fine-tuning had, to fit the notebook's time. So this run shows the
mechanics and the cost in forgetting; the fair comparison, at equal training time, is the benchmark's below.
(Here a LoRA step takes about as long as a full one: the model is so small that the frozen weights' gradients
are not what costs the time.)"""),
code("""optimizer = torch.optim.AdamW(lora_parameters(lora_model), lr=LORA_LR, weight_decay=0.0)
lora_batches = length_bucket_batcher(examples, BATCH, lora_template.pad_id, seed=0)
lora_history = train_model(lora_model, lora_batches, steps=LORA_STEPS, lr=LORA_LR, warmup_steps=LORA_STEPS // 10,
                           optimizer=optimizer)
lora_answers = chat_answers(lora_model, lora_template, [x.prompt for x in test])
lora_em = exact_match_by_task(test, lora_answers)
cost["LoRA assistant"] = score_text(TextOnly(lora_model, lora_template), tokenizer, text)["nats_per_char"]
print(f"seconds: full {sft_history.seconds[-1]:.0f}, LoRA {lora_history.seconds[-1]:.0f}")
print("LoRA test exact match:", {k: round(v, 2) for k, v in lora_em.items()}, "· full:", round(sft_em["all"], 2))
print(f"Shakespeare nats/char: base {cost['base model']:.2f}, full {cost['SFT assistant']:.2f}, LoRA {cost['LoRA assistant']:.2f}")""", IGNORE),
code("""expect_band("LoRA r64, test exact match", lora_em["all"], 0.08, 0.80)
expect_true("LoRA forgot less Shakespeare than full fine-tuning (it also trained fewer steps)",
            cost["LoRA assistant"] < cost["SFT assistant"])"""),
md("""Now merge: fold $\\frac{\\alpha}{r}BA$ into every weight. The outputs must not change:"""),
code("""probe = torch.tensor([lora_template.prompt_ids(x.prompt) for x in test[:1]])            # (1, T)
with torch.no_grad():
    before = lora_model(probe)                                                           # (1, T, V)
    merge_lora(lora_model)
    after = lora_model(probe)
print(f"largest logit change from merging: {(before - after).abs().max():.1e}")
expect_true("merged weights give the adapted model's outputs (to 1e-4)", torch.allclose(before, after, atol=1e-4))"""),
code("""if post:
    lv = post["lora_vs_full"]
    print(f"benchmark, equal time ({lv['full']['steps']} full steps): full fine-tuning 100 % trainable → test exact match "
          f"{lv['test_em']['full']['all']:.2f}; Shakespeare {lv['held_out_shakespeare_nats_per_char']['full']:.2f} nats/char")
    for run in lv["grid"]:
        print(f"  LoRA r{run['rank']:<3} lr {run['lr']:g}: {run['trainable_fraction']:6.1%} trainable, {run['steps']} steps "
              f"→ validation exact match {run['val_em']['all']:.2f}")
    c = lv["chosen"]
    print(f"chosen on validation: r{c['rank']} lr {c['lr']:g} → test {lv['test_em']['lora']['all']:.2f}, "
          f"Shakespeare {lv['held_out_shakespeare_nats_per_char']['lora']:.2f}; LoRA − full "
          f"{lv['test_em_difference_lora_minus_full']['difference']:+.2f} "
          f"(95 % interval {lv['test_em_difference_lora_minus_full']['interval_95']})")"""),
md("""At equal time LoRA does not beat full fine-tuning here: the benchmark's best LoRA (rank 64, chosen on
validation) trails full fine-tuning by −0.12 in exact match, an interval that excludes zero. With a model this small a LoRA step
costs about as much as a full step, and fewer free numbers learn less per step. It does forget less Shakespeare
(2.07 against 2.70 nats/char; the base model 1.40). Its other wins show at scale: with rank 8 on a 7B model the
optimizer state and gradients shrink to a fraction of a per cent of full fine-tuning's (notebook 11's 16 bytes per
parameter apply only to the trainable numbers), and one base model can serve many small adapters."""),

# ------------------------------------------------------------------------------------------------ §5
md("""## 5 · Preference tuning with DPO

SFT shows the model right answers. Preference tuning shows it *pairs* — a prompt $x$, a preferred answer $y_w$
and a worse one $y_l$ — and pushes the first up relative to the second. DPO (Rafailov et al., 2023) does it
without a separate reward model: with a frozen copy $\\pi_\\text{ref}$ of the starting model,

$$r(x, y) = \\beta\\,[\\log \\pi(y\\mid x) - \\log \\pi_\\text{ref}(y\\mid x)], \\qquad
\\mathcal{L} = -\\log \\sigma\\big(r(x, y_w) - r(x, y_l)\\big).$$

$\\log\\pi(y\\mid x)$ is the sum of the answer's token log-probabilities. Pairs by rule come in two kinds —
*corrupted* (a plausible wrong answer) and *rambling* (the right answer wrapped in filler) — and a third kind
aims at this model's own mistakes: the exact answer ≻ **what the SFT model itself answered wrongly**."""),
code("""rule_pairs = preference_pairs(test[:150], seed=2)          # half the test prompts: time
for p in rule_pairs[:2]:
    print(f"{p.kind:9} {p.prompt!r}: {p.chosen!r} ≻ {p.rejected!r}")
dpo_prompts = [x.prompt for x in dpo_train]
own = chat_answers(sft_model, template, dpo_prompts)                     # the SFT model on prompts it never trained on
self_pairs = self_generated_pairs(dpo_train, own)
test_self_pairs = self_generated_pairs(test, sft_answers)
p = self_pairs[0]
print(f"{p.kind:9} {p.prompt!r}: {p.chosen!r} ≻ {p.rejected!r}")
print(f"{len(self_pairs)} self pairs for training (the SFT model's errors on {len(dpo_train)} new prompts), "
      f"{len(test_self_pairs)} on test")"""),
md("""The loss, written out, against the package's `dpo_loss` on made-up log-probabilities:"""),
code("""g = torch.Generator().manual_seed(0)
pi_w, pi_l, ref_w, ref_l = (torch.randn(8, generator=g) * 5 - 20 for _ in range(4))   # summed log-probs (B,)
beta = 0.1
margin = beta * ((pi_w - ref_w) - (pi_l - ref_l))                                     # r_w − r_l
by_hand = -F.logsigmoid(margin).mean()
expect_true("DPO loss by hand = course_utils.preference.dpo_loss",
            torch.allclose(by_hand, dpo_loss(pi_w, pi_l, ref_w, ref_l, beta)[0]))"""),
md("""Train from the SFT model on the self pairs; the frozen reference is the SFT model itself. β, the learning rate
and the weight of an added SFT loss on $y_w$ (which keeps DPO from lowering the right answers too, as long as it
lowers the wrong ones faster) are the benchmark's choice on validation; the benchmark trains 100 steps, the
notebook `DPO_STEPS`."""),
code("""DPO_STEPS, DPO_BETA, DPO_LR, NLL_WEIGHT = 30, 0.5, 3e-5, 1.0
reference = copy.deepcopy(sft_model).eval()
dpo_model = copy.deepcopy(sft_model)
tensors = pair_tensors(template, self_pairs, dpo_model.config.block_size)
ref_w, ref_l = reference_logprobs(reference, tensors)                  # computed once: π_ref never changes
set_seed(0)
dpo_history = train_dpo(dpo_model, tensors, ref_w, ref_l, steps=DPO_STEPS, beta=DPO_BETA, lr=DPO_LR, batch_size=16,
                        warmup_steps=DPO_STEPS // 10, nll_weight=NLL_WEIGHT)
print(f"{DPO_STEPS} DPO steps in {dpo_history.seconds[-1]:.0f} s; last training margins "
      f"{sum(dpo_history.margin[-10:]) / 10:.2f}")""", IGNORE),
code("""window = 10
smooth = [sum(dpo_history.margin[max(0, i - window + 1): i + 1]) / len(dpo_history.margin[max(0, i - window + 1): i + 1])
          for i in range(len(dpo_history.margin))]
plt.figure(figsize=(6, 3))
plt.plot(dpo_history.margin, alpha=0.3, label="per batch")
plt.plot(smooth, label=f"mean of {window}")
plt.axhline(0, color="grey", lw=0.8)
plt.xlabel("DPO step"); plt.ylabel("reward margin r(y_w) − r(y_l)")
plt.title("DPO reward margin on training pairs")
plt.legend()
plt.show()
expect_true("the reward margin grew: mean of the last 10 steps > 0", smooth[-1] > 0)"""),
md("""The margin grows: the policy raised the right answers relative to its own wrong ones. Did that carry to
held-out prompts, and what did it cost?"""),
code("""def stage(model, tmpl):
    answers = chat_answers(model, tmpl, [x.prompt for x in test])
    return {"exact match": exact_match_by_task(test, answers)["all"],
            "preference accuracy, self pairs": preference_accuracy(model, tmpl, test_self_pairs),
            "preference accuracy, rule pairs": preference_accuracy(model, tmpl, rule_pairs),
            "answer perplexity": answer_perplexity(model, tmpl, test),
            "Shakespeare nats/char": score_text(TextOnly(model, tmpl), tokenizer, text)["nats_per_char"]}

before, after = stage(sft_model, template), stage(dpo_model, template)
for k in before:
    print(f"{k:34} SFT {before[k]:6.3f} → DPO {after[k]:6.3f}")""", IGNORE),
code("""expect_true("DPO raised held-out preference accuracy on the model's own kind of mistakes",
            after["preference accuracy, self pairs"] > before["preference accuracy, self pairs"])
expect_band("exact match change from DPO", after["exact match"] - before["exact match"], -0.08, 0.08)"""),
md("""Held-out preference accuracy on the model's own kind of mistakes rose (0.027 → 0.147), and nothing else
improved: exact match fell a little (0.750 → 0.730), the answers' perplexity and Shakespeare barely moved. The
pairs taught the model to *score* its old wrong answers lower, which does not make its greedy answer right — the
probability can move to another wrong answer. On rule pairs the SFT model was already near-perfect (0.947: it
never rambles), so there was nothing to fix. The benchmark ran 100 steps for each β, learning rate and weight of an added SFT loss on $y_w$,
chose on validation exact match, and then trained on each kind of pair:"""),
code("""if post:
    d = post["dpo"]
    print("chosen on validation:", d["chosen"])
    for kind, a in d["after_dpo"].items():
        diff = a["test_em_difference_dpo_minus_sft"]
        print(f"  {kind} pairs: exact match {d['before_sft']['test_em']['all']:.3f} → {a['test_em']['all']:.3f} "
              f"({diff['difference']:+.3f}, 95 % interval {diff['interval_95']}); Shakespeare "
              f"{d['before_sft']['held_out_shakespeare_nats_per_char']:.2f} → {a['held_out_shakespeare_nats_per_char']:.2f}")"""),

md("""At the benchmark's 100 steps the cost is clear: with self pairs exact match *falls*, by an interval that
excludes zero, and rule pairs change nothing measurable. DPO is made for preferences no rule can score — tone,
helpfulness, safety — judged by people; for answers that can be checked exactly, more SFT data or training
against the checker itself is the better tool."""),

# ------------------------------------------------------------------------------------------------ §6
md("""## 6 · Evaluation beyond the loss

**Bits per byte.** Notebook 02's n-gram and LSTM, notebook 05's GPT read *characters*; the base model reads BPE
tokens of about 2.7 characters. Their losses per token are not comparable — a token that holds more text is
harder to predict. Per character (or per byte, the unit every text has) they are: total loss in bits ÷ bytes.

$$\\text{bits/byte} = \\frac{\\text{nats per character}}{\\ln 2} \\cdot \\frac{\\text{characters}}{\\text{bytes}}$$

All on the course's shared held-out Shakespeare (the base model scored live, the others from their committed
benchmarks):"""),
code("""full = score_text(base, tokenizer, held_out, stride=64)
print(f"base model: {full['tokens']:,} tokens for {full['chars']:,} characters ({full['chars'] / full['tokens']:.1f} per token); "
      f"{full['nats'] / full['tokens']:.2f} nats/token")
rnn, char_gpt = load_benchmark("rnn_lm"), load_benchmark("char_gpt")
models = {f"Kneser–Ney {rnn['ngram_order']}-gram (02)": rnn["ngram_val_loss"], "LSTM (02)": rnn["val_loss"],
          "char GPT (05)": char_gpt["val_loss"], "base model (BPE)": full["nats_per_char"]}
for name, nats in models.items():                 # character-level models: loss per token = nats per character
    print(f"{name:28} {nats:.3f} nats/char = {bits_per_byte(nats, held_out):.3f} bits/byte")"""),
code("""expect_true("bits_per_byte agrees with score_text's own count",
            abs(bits_per_byte(full["nats_per_char"], held_out) - full["bits_per_byte"]) < 1e-9)
_ = expect("base model, bits per byte of held-out Shakespeare", full["bits_per_byte"], low=1.80, high=1.90)"""),
md("""Per token the base model looks worst (several nats per token); per byte it is the best model of the course.

**Multiple choice by log-likelihood.** Exact match needs the model to *generate* the answer. Benchmarks such as
HellaSwag or MMLU instead score each option as a continuation and take the likeliest, so they can measure a
model that cannot yet follow an instruction. Does ours know more than it can say? Options per test item: for *larger* the two numbers, for
*doc_package* the four libraries, for *date_iso* the right date and three corrupted ones."""),
code("""rng = random.Random(0)
def options_for(x):
    if x.task == "larger":
        return x.prompt.rstrip("?").split(": ")[1].split(" or ")
    if x.task == "doc_package":
        return ["numpy", "scipy", "pandas", "sklearn"]
    wrong = set()
    while len(wrong) < 3:
        wrong.add(corrupt_answer(x, rng))
    return [x.answer, *sorted(wrong)]

mc_items = test[:150]                                      # half the test items: time
options = [options_for(x) for x in mc_items]
newline = tokenizer.encode("\\n")
mc = {"chance": sum(1 / len(o) for o in options) / len(mc_items)}
# the base model: the few-shot prompt as context, each option + newline as the continuation
contexts = [tokenizer.encode(few_shot_prompt(demos[x.task], x.prompt)) for x in mc_items]
picks = choose_by_likelihood(base, contexts, [[tokenizer.encode(" " + o) + newline for o in opts] for opts in options])
mc["base model, few-shot"] = sum(o[k] == x.answer for x, o, k in zip(mc_items, options, picks)) / len(mc_items)
# the SFT assistant: the chat prompt as context, each option + <|end|>
picks = choose_by_likelihood(sft_model, [template.prompt_ids(x.prompt) for x in mc_items],
                             [[tokenizer.encode(" " + o) + [template.end_id] for o in opts] for opts in options])
mc["SFT assistant"] = sum(o[k] == x.answer for x, o, k in zip(mc_items, options, picks)) / len(mc_items)
generated = {"base model, few-shot": few_shot, "SFT assistant": sft_answers}
for name, acc in mc.items():
    line = f"{name:22} multiple choice {acc:.3f}"
    if name in generated:
        line += f" · generated exact match on the same items {exact_match_by_task(mc_items, generated[name][:150])['all']:.3f}"
    print(line)""", IGNORE),
code("""expect_band("SFT assistant, multiple-choice accuracy", mc["SFT assistant"], 0.50, 1.00)
expect_true("the SFT assistant ranks options better than chance", mc["SFT assistant"] > mc["chance"] + 0.1)"""),
md("""The base model ranks the options slightly *below* chance (0.313 against 0.335): it knows nothing of these
tasks, and the likeliest option is simply the more common string. The SFT assistant picks the right option more
often than it generates it (0.827 against 0.767 on the same items): shown the answer, it recognises some it cannot
produce. Multiple-choice scores measure recognition, exact match production — know which one a benchmark reports.

**Contamination.** A test item that leaked into training is answered from memory, and the score stops measuring
what it claims to. Leak 60 test items (20 per task) into a little more fine-tuning of the SFT model — mixed with
training items, as a scraped web page would be mixed into a corpus — and compare leaked and clean items:"""),
code("""leaked = first_per_task(test, 20)
clean = [x for x in test if x not in set(leaked)]
try:
    check_disjoint({"train": sft_train + leaked, "test": test})
except ValueError as err:
    print("check_disjoint catches it:", err)
set_seed(0)
contaminated = copy.deepcopy(sft_model)
mixed = leaked + random.Random(0).sample(sft_train, 3 * len(leaked))       # 1 leaked item in 4
mixed_examples = [template.training_example(conversation(x.prompt, x.answer), contaminated.config.block_size) for x in mixed]
_ = train_model(contaminated, length_bucket_batcher(mixed_examples, BATCH, template.pad_id, seed=0), steps=30, lr=1e-3,
                progress=False)
answer_before = dict(zip(test, sft_answers))
answer_after = dict(zip(test, chat_answers(contaminated, template, [x.prompt for x in test])))
contamination = {}
for name, items in (("leaked", leaked), ("clean", clean)):
    wrong = [x for x in items if answer_before[x] != x.answer]                   # what the SFT model got wrong
    fixed = sum(answer_after[x] == x.answer for x in wrong)
    contamination[name] = {"before": sum(answer_before[x] == x.answer for x in items) / len(items),
                           "after": sum(answer_after[x] == x.answer for x in items) / len(items), "fixed": fixed / len(wrong)}
    print(f"{name:6} ({len(items):3} items): exact match {contamination[name]['before']:.2f} → "
          f"{contamination[name]['after']:.2f}; of the {len(wrong)} it got wrong, {fixed} are now right")""", IGNORE),
code("""expect_band("exact match on leaked test items after training on them", contamination["leaked"]["after"], 0.85, 1.00)
expect_true("a leaked item the model got wrong is far more often fixed than a clean one",
            contamination["leaked"]["fixed"] > contamination["clean"]["fixed"] + 0.25)"""),
md("""Of the leaked items the SFT model had got wrong, 9 of 10 are now right; of the clean ones, 12 of 65 — and
the clean score *fell* (0.73 → 0.65): 30 steps on a mix rich in 60 items mostly taught those 60 items. A score on a
contaminated test set is a memory test. Guard the splits in code (`check_disjoint`), and when a model was
trained on a web crawl you cannot inspect, search its training data (or ask its makers) for the benchmark's
items before trusting a score.

## Summary

- **KV cache:** keep every layer's keys and values; each new token then costs one position instead of the whole
  prefix. Same tokens (checked greedy and sampled), several times faster, at
  $2 \\cdot n_\\text{layers} \\cdot n_\\text{kv} \\cdot d_\\text{head} \\cdot 4$ bytes per token.
- **Modern block:** RMSNorm, SwiGLU, RoPE and grouped-query attention are options of the course GPT, proven
  exactly Llama's by loading a `transformers` Llama and matching its logits. For a small model trained briefly,
  RoPE is most of the gain at equal training time; RMSNorm alone does not help.
- **SFT:** a chat template with special tokens and a loss on the assistant's tokens only turns the base model
  (few-shot exact match 0.00) into an assistant for three tasks, at a large cost in what it knew (forgetting).
- **LoRA:** a low-rank update beside frozen weights; merged, it is a plain GPT with the same outputs. It trains a
  fraction of the numbers and forgets less; at equal time on this small model it does not beat full fine-tuning.
- **DPO:** preference pairs, a frozen reference and $-\\log\\sigma$ of the reward margin. The margin and the
  held-out preference accuracy rise; exact match does not — over the benchmark's 100 steps it falls.
- **Evaluation:** bits per byte put every model of the course on one scale; multiple choice by likelihood asks
  whether a model *knows* an answer; a leaked test item measures memory, not skill.

## Key terms

| English | 中文 | meaning |
|---|---|---|
| KV cache | KV 缓存 | the keys and values of earlier positions, kept so each new token costs one position |
| grouped-query attention | 分组查询注意力 | several query heads share one key/value head: a smaller KV cache |
| RMSNorm | RMS 归一化 | normalisation by the root mean square, without centring or bias |
| SwiGLU | SwiGLU 门控前馈 | a gated feed-forward layer: SiLU(W_gate x) ⊙ W_up x, then W_down |
| rotary position embedding | 旋转位置编码 | RoPE: queries and keys rotated by position, so attention sees offsets |
| instruction tuning | 指令微调 | supervised fine-tuning on (instruction, answer) conversations (SFT) |
| chat template | 对话模板 | the special tokens and layout that frame each turn of a conversation |
| LoRA | 低秩适配 | low-rank adapters trained beside frozen weights, mergeable into them |
| preference tuning | 偏好微调 | training on pairs of a preferred and a worse answer (e.g. DPO) |
| DPO | 直接偏好优化 | direct preference optimisation: −log σ of β times the policy-vs-reference margin |
| catastrophic forgetting | 灾难性遗忘 | fine-tuning erases what the model knew before |
| bits per byte | 每字节比特数 | total loss in bits ÷ bytes of text: comparable across tokenizers |
| data contamination | 数据污染 | test items present in the training data, inflating the score |

## Exercises

Each exercise ends with a check that prints `✓` when your code is right and `✗ not yet: …` with a hint until
then — Run All leaves every check at "not yet". Stuck? `show_solution(12, k)` prints a reference answer."""),
code("""from course_utils.exercises import experiment_ready, show_solution
from course_utils.exercises.nb12 import check_exercise_1, check_exercise_2, check_exercise_3"""),
md("""### Exercise 1 — How big is the cache?

Write `cache_bytes_per_token(n_layers, n_heads, n_kv_heads, d_model, bytes_per_number)`: the bytes one token
occupies in the KV cache of one sequence.

*Hint:* each layer stores a key *and* a value for every key/value head; a head is `d_model / n_heads` wide."""),
code("""# Exercise 1 — stuck? show_solution(12, 1) prints a reference answer.
def cache_bytes_per_token(n_layers: int, n_heads: int, n_kv_heads: int, d_model: int, bytes_per_number: int) -> int:
    # YOUR CODE HERE
    return None""", ["exercise"]),
code("""check_exercise_1(cache_bytes_per_token)"""),
md("""### Exercise 2 — The DPO loss

Write `my_dpo_loss(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta)`: the mean DPO loss over a
batch of summed log-probabilities (each a tensor of shape `(B,)`).

*Hint:* first the two rewards, each β times how much the policy moved from the reference on that answer; the loss
wants the chosen reward above the rejected one (`F.logsigmoid` is a stable $\\log\\sigma$)."""),
code("""# Exercise 2 — stuck? show_solution(12, 2) prints a reference answer.
def my_dpo_loss(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta: float):
    # YOUR CODE HERE
    return None""", ["exercise"]),
code("""check_exercise_2(my_dpo_loss)"""),
md("""### Exercise 3 — Merge an adapter by hand (experiment)

Write `merged_weight(W, A, B, alpha, rank)`: the weight that makes a plain linear layer behave like the LoRA layer
with frozen weight `W` (`(out, in)`), `A` (`(rank, in)`) and `B` (`(out, rank)`). The experiment then merges the
first trained adapter of a fresh LoRA model by hand and measures how far its outputs move.

*Hint:* the update is scaled by α / r, and `B @ A` has the shape of `W`."""),
code("""# Exercise 3 — stuck? show_solution(12, 3) prints a reference answer.
def merged_weight(W, A, B, alpha: float, rank: int):
    # YOUR CODE HERE
    return None""", ["exercise"]),
code("""check_exercise_3(merged_weight)"""),
code("""if experiment_ready(check_exercise_3, merged_weight):
    set_seed(1)
    model, _ = load_base_model()
    add_lora(model, rank=8)
    layer = model.blocks[0].ff.up                       # a LoRALinear: base weight W, adapters A and B
    with torch.no_grad():
        layer.lora_B.normal_(0, 0.05)                   # as after some training
        x = torch.randn(4, model.config.d_model)
        adapted = layer(x)
        plain = F.linear(x, merged_weight(layer.base.weight, layer.lora_A, layer.lora_B, layer.alpha, layer.rank),
                         layer.base.bias)
    print(f"largest difference between the adapted layer and your merged weight: {(adapted - plain).abs().max():.1e}")"""),
md("""**The end of the main path.** Where to go from here: train the assistant longer with
`python benchmarks/post_training.py` (its candidate tasks show what else fits in the budget), swap
`load_llama` onto a real Llama checkpoint saved with `save_pretrained`, and compare your numbers with the
[results in the README](../README.md). Back to the start: [00 · Welcome](00_welcome_and_setup.ipynb)."""),
]


def main() -> None:
    nb = new_notebook(CELLS, seed=0)
    path = Path(__file__).resolve().parent.parent / "notebooks" / NAME
    nbformat.write(nb, path)
    sync(path)                                  # the Colab badge and the canonical metadata
    print(f"wrote {path} ({len(nb.cells)} cells)")


if __name__ == "__main__":
    main()
