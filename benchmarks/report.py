"""Collect benchmarks/results/*.json into results.json, a plot (results.png) and the README's table.

    python benchmarks/report.py

The README section between `<!-- results:start -->` and `<!-- results:end -->` is rewritten from the
measured files; nothing in it is typed by hand.
"""
from __future__ import annotations

import json
from pathlib import Path

from course_utils.speed import BUDGET_SECONDS

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
START, END = "<!-- results:start -->", "<!-- results:end -->"


def load(name: str) -> dict | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def summary(data: dict) -> dict:
    """A result without its per-sentence lists (translations kept for the notebook's paired intervals)."""
    return {key: summary(value) if isinstance(value, dict) else value for key, value in data.items()
            if key not in ("sources", "outputs")}


# the results collected into results.json and the README table (benchmarks/results/<name>.json)
NAMES = ["notebooks", "char_gpt", "char_gpt_bpe", "char_gpt_bpe_short", "char_gpt_vocab", "char_gpt_ablation",
         "gpt05_recipe", "compile_speed",
         "mha_speed", "bpe_speed", "ddp_throughput", "rnn_lm", "base_model", "gpt_optimizer", "mt_finetune",
         "mt_equal_time", "summarize_finetune", "summarize_equal_time", "sentiment_finetune", "kv_cache_speed",
         "modern_block_ablation", "post_training", "distributed_engines"]


def rows(results: dict) -> list[str]:
    out = ["| what | measured | target | source |", "|---|---|---|---|"]
    if nbs := results.get("notebooks"):
        slowest = max(nbs["notebooks"].items(), key=lambda kv: kv[1]["seconds"])
        ok = all(t["passed"] for t in nbs["notebooks"].values())
        out.append(f"| whole course under nbval ({len(nbs['notebooks'])} notebooks) | {nbs['total_seconds'] / 60:.1f} min"
                   f"{'' if ok else ' (some FAILED)'} | ≤ 10 min | `run_all.py --only notebooks` |")
        out.append(f"| slowest notebook | {slowest[0][:2]}: {slowest[1]['seconds']:.0f} s | ≤ 120 s | same |")
        if cost := nbs.get("total_reference_steps"):            # the same times, free of the machine's speed
            rates = [t["reference_steps_per_s"] for t in nbs["notebooks"].values() if "reference_steps_per_s" in t]
            heavy = max(nbs["notebooks"].items(), key=lambda kv: kv[1].get("reference_steps", 0))
            out.append(f"| the course's cost in reference steps (05's GPT training steps on one core; this machine ran "
                       f"{min(rates):.1f}–{max(rates):.1f} per second) | {cost:,} (slowest notebook {heavy[0][:2]}: "
                       f"{heavy[1]['reference_steps']:,}) | – | same |")
            out.append(f"| reference speed a machine needs for the course in ≤ 10 min (and for "
                       f"{heavy[0][:2]} in ≤ 2 min) | ≥ {nbs['reference_steps_per_s_for_budget']:.1f} steps/s "
                       f"(≥ {heavy[1]['reference_steps'] / BUDGET_SECONDS['notebook']:.1f}) "
                       f"| – | `course_utils.speed`, notebook 00 measures yours |")
    if g := results.get("char_gpt"):
        best = g.get("final_val_loss", g.get("val_loss"))
        secs = g.get("train_seconds", g.get("seconds"))
        if best is not None:
            out.append(f"| char-GPT held-out loss (shared Shakespeare split) | {best:.3f} nats/char in "
                       f"{secs:.0f} s | ≤ 1.60 in ≤ 120 s | `char_gpt.py` |")
    if g := results.get("char_gpt_bpe"):
        out.append(f"| GPT on byte-level BPE tokens (1,024; RoPE, RMSNorm, SwiGLU), held-out loss per character "
                   f"(same split) | {g['val_loss']:.3f} nats/char in {g['train_seconds']:.0f} s "
                   f"({g['machine'].get('cpu_model', 'CPU')}) | ≤ 1.45 in ≤ 120 s | "
                   f"`char_gpt.py --recipe bpe` |")
    if g := results.get("char_gpt_bpe_short"):
        out.append(f"| the same BPE GPT for {g['recipe']['steps']} steps (notebook 05's LSTM trains as long), held-out "
                   f"loss per character | {g['val_loss']:.3f} nats/char in {g['train_seconds']:.0f} s | – | "
                   f"`char_gpt.py --recipe bpe-short` |")
    if v := results.get("char_gpt_vocab"):
        cells = " · ".join(f"{r['vocab_size']:,}: {r['validation_loss']:.3f}" for r in v["rows"])
        out.append(f"| the BPE recipe's vocabulary, chosen on a validation slice of the training text (1,000 steps "
                   f"each, nats/char) | {cells} → {v['chosen_vocab_size']:,} | – | `char_gpt_vocab.py` |")
    if a := results.get("char_gpt_ablation"):
        cells = " · ".join(f"{r['variant']} {r['val_loss']:.3f} ({r['train_seconds']:.0f} s)" for r in a["rows"])
        out.append(f"| which change bought how much: the same GPT, {a['steps']:,} steps each, nats per held-out "
                   f"character | {cells} | – | `char_gpt_ablation.py` |")
    if r := results.get("gpt05_recipe"):
        cells = " → ".join(f"{row['change'].split(':')[0]} {row['validation_loss']:.3f}" for row in r["rows"])
        out.append(f"| notebook 05's winning GPT, one change at a time, {r['seconds_per_row']:.0f} s of training each, "
                   f"nats/char on a validation slice of the training text ({r['machine']['cpu_model']}) | {cells}; "
                   f"chosen: up to \"{r['chosen']}\" (seeds 0–2 spread {r['recipe_seed_spread']:.3f}); LSTM "
                   f"{r['lstm']['validation_loss']:.3f}, 6-gram {r['ngram_order_6_validation_loss']:.3f} | beats both "
                   f"at equal time | `gpt05_recipe.py` |")
    if c := results.get("compile_speed"):
        even = f"{c['break_even_steps']:,} steps" if c["break_even_steps"] else "never"
        out.append(f"| `torch.compile` on 2 CPU cores, 05's winning GPT: compiled ÷ eager steps/s, cold compile time "
                   f"| {c['speedup']:.2f}× after {c['compile_seconds']:.0f} s of compiling (break-even: {even}) | – | "
                   f"`compile_speed.py` |")
    if m := results.get("mha_speed"):
        out.append(f"| `MultiHeadAttention` fwd+bwd time ÷ `torch.nn.MultiheadAttention` (B8, T256, d256, h8) | "
                   f"{m['ratio_fast_path_to_torch']['median_ms']:.2f}× | ≤ 1.0× | `mha_speed.py` |")
    if b := results.get("bpe_speed"):
        out.append(f"| BPE training to vocab 1,000 on 0.98 MB | {b['train']['median_s']:.1f} s | ≤ 10 s | `bpe_speed.py` |")
        enc = next(iter(b["encode"].values()))
        out.append(f"| BPE encoding (pure Python, first call) | {enc['chars_per_cpu_s'] / 1e6:.2f} M chars per CPU-second | – | same |")
    if d := results.get("ddp_throughput"):
        out.append(f"| DDP 2 processes ÷ 1 process (tokens/s, same global batch, CPU gloo) | "
                   f"{d['ratio_ddp2_to_1proc_1thread']:.2f}× | – (2 cores: see notebook 11) | `ddp_throughput.py` |")
    if r := results.get("rnn_lm"):
        out.append(f"| LSTM held-out loss after a long run (same split) | {r['val_loss']:.3f} nats/char in "
                   f"{r['train_seconds']:.0f} s (6-gram {r['ngram_val_loss']:.3f}) | – | `rnn_lm.py` |")
    if b := results.get("base_model"):
        out.append(f"| course base model, held-out Shakespeare | {b['shakespeare_nats_per_char']:.3f} nats/char "
                   f"(pretrained {b['train_seconds'] / 60:.0f} min) | ≤ 1.35 | `base_model.py` |")
    if o := results.get("gpt_optimizer"):
        held = o["held_out"]
        out.append(f"| 05's GPT, 600 steps: AdamW (peak lr {o['chosen_adamw_lr']:g}, chosen on validation) vs Muon, "
                   f"held-out | AdamW {held['adamw']['held_out_loss']:.3f} · Muon {held['muon']['held_out_loss']:.3f} "
                   f"nats/char | – | `gpt_optimizer.py` |")
    if m := results.get("mt_finetune"):
        out.append(f"| 06: base model fine-tuned EN→FR, recipe on validation | lr {m['chosen']['lr']:g}, "
                   f"{m['chosen']['steps']} steps: validation BLEU {m['chosen']['val_bleu']:.1f} "
                   f"(zero-shot {m['zero_shot']['val_bleu']:.1f}) | – | `mt_finetune.py` |")
    if m := results.get("mt_equal_time"):
        out.append(f"| 06: base model fine-tuned EN→FR at the from-scratch network's training time "
                   f"({m['scratch_seconds']:.0f} s), steps on validation | {m['chosen']['steps']} steps: validation BLEU "
                   f"{m['chosen']['val_bleu']:.1f}, test BLEU {m['test']['bleu']:.1f} | – | `mt_equal_time.py` |")
    if m := results.get("summarize_finetune"):
        out.append(f"| 07: base model fine-tuned to summarize, recipe on validation | lr {m['chosen']['lr']:g}, "
                   f"{m['chosen']['steps']} steps: validation ROUGE-1 {m['chosen']['val_rouge1']:.1f} | – | "
                   f"`summarize_finetune.py` |")
    if m := results.get("summarize_equal_time"):
        out.append(f"| 07: base model fine-tuned to summarize at the from-scratch network's training time "
                   f"({m['scratch_seconds']:.0f} s), steps on validation | {m['chosen']['steps']} steps: validation "
                   f"ROUGE-1 {m['chosen']['val_rouge1']:.1f}, test ROUGE-1 {m['test']['rouge1']:.1f} | – | "
                   f"`summarize_equal_time.py` |")
    if m := results.get("sentiment_finetune"):
        out.append(f"| 08: base model fine-tuned for sentiment, recipe on validation | lr {m['chosen']['lr']:g}, "
                   f"{m['chosen']['steps']} steps: validation accuracy {m['chosen']['val_accuracy']:.3f} "
                   f"(from scratch {m['from_scratch']['val_accuracy']:.3f}) | – | `sentiment_finetune.py` |")
    if k := results.get("kv_cache_speed"):
        longest = k["rows"][-1]
        out.append(f"| KV cache, base-model shape, {longest['new_tokens']:,} new tokens (12) | "
                   f"{longest['tokens_per_s_without_cache']:.0f} → {longest['tokens_per_s_with_cache']:.0f} tokens/s "
                   f"(same tokens: {all(r['same_tokens'] for r in k['rows'])}; load {k['load_average_1min_at_end']}) | – | "
                   f"`kv_cache_speed.py` |")
    if a := results.get("modern_block_ablation"):
        classic = next(row for row in a["rows"] if row["variant"] == "classic")
        best = min(a["rows"], key=lambda row: row["mean_val_loss"])
        out.append(f"| modern block ablation, {a['budget_seconds']:.0f} s of training each (12): best vs classic | "
                   f"{best['variant']} {best['mean_val_loss']:.3f} vs {classic['mean_val_loss']:.3f} nats/char on "
                   f"validation | – | `modern_block_ablation.py` |")
    if e := results.get("distributed_engines"):
        runs, ac = e["engines"]["runs"], e["ac"]
        out.append(f"| FSDP2 ÷ DDP training state per rank, 2 processes (11) | "
                   f"{e['engines']['fsdp_over_ddp_per_rank']['parameters']:.2f}× (largest loss gap to 1 process "
                   f"{runs['FSDP2']['max_abs_loss_diff_vs_1_process']:.1e}); activation checkpointing: "
                   f"{ac['memory_saved_fraction']:.0%} less saved for backward, {ac['time_added_fraction']:+.0%} time | – | "
                   f"`distributed_engines.py` |")
    if t := results.get("post_training"):
        out.append(f"| post-training (12): held-out exact match | few-shot base {t['few_shot_base']['test']['all']:.2f} → "
                   f"SFT {t['sft']['test_em']['all']:.2f}; LoRA at equal time "
                   f"{t['lora_vs_full']['test_em']['lora']['all']:.2f} | – | `post_training.py` |")
    return out


def plot(results: dict) -> None:
    nbs = results.get("notebooks")
    if not nbs:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [n[:2] for n in nbs["notebooks"]]
    secs = [t["seconds"] for t in nbs["notebooks"].values()]
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.bar(names, secs, color="tab:blue")
    ax.axhline(120, color="gray", linestyle="--", linewidth=1, label="training-notebook budget (120 s)")
    ax.set_xlabel("notebook")
    ax.set_ylabel("seconds under nbval")
    ax.set_title(f"Run time per notebook (total {nbs['total_seconds'] / 60:.1f} min on {nbs['machine']['cpus']} cores)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(RESULTS / "results.png", dpi=100)


def main() -> None:
    results = {name: summary(data) for name in NAMES if (data := load(name)) is not None}
    (RESULTS / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    plot(results)
    machine = results.get("notebooks", {}).get("machine", {})
    cpu = f" ({machine['cpu_model']})" if machine.get("cpu_model") else ""
    where = (f"Measured by `./course.sh python benchmarks/run_all.py`, each part on 2 CPU cores. The notebook rows: "
             f"{machine.get('cpus', 2)} cores{cpu}, Python {machine.get('python', '3.11')}, torch "
             f"{machine.get('torch', '2.13')} (CPU), {machine.get('date', '')}. The other parts ran on other days and "
             f"machines (the processor is named where its JSON in `benchmarks/results/` records one).")
    figure = ["", "![run time per notebook](benchmarks/results/results.png)"] if "notebooks" in results else []
    table = "\n".join([where, "", *rows(results), *figure])
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    if START in readme and END in readme:
        head, rest = readme.split(START, 1)
        readme = head + START + "\n" + table + "\n" + END + rest.split(END, 1)[1]
        (ROOT / "README.md").write_text(readme, encoding="utf-8")
    print(table)


if __name__ == "__main__":
    main()
