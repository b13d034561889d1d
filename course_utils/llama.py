"""A Llama checkpoint in the course's own GPT: proof that the modern block options are exactly Llama's.

    from course_utils.llama import load_llama
    model = load_llama("path/to/folder")   # a folder written by transformers' LlamaForCausalLM.save_pretrained

A Llama decoder is the course GPT with four options switched on (course_utils/transformer.py):
RMSNorm, a SwiGLU feed-forward, RoPE instead of learned positions, grouped-query attention — and no biases,
an untied output head. The weights map name by name:

    model.embed_tokens                          → embed.token
    model.layers.i.input_layernorm              → blocks.i.ln_attn          (RMSNorm gain)
    model.layers.i.self_attn.{q,k,v,o}_proj     → blocks.i.attn.w_{q,k,v,o}
    model.layers.i.post_attention_layernorm     → blocks.i.ln_ff            (RMSNorm gain)
    model.layers.i.mlp.{gate,up,down}_proj      → blocks.i.ff.{gate,up,down}
    model.norm                                  → ln_f
    lm_head (or embed_tokens when tied)         → head

and the logits then equal `transformers.LlamaForCausalLM`'s (tests/test_llama_block.py). Offline only: nothing
is downloaded; weights are read from safetensors (never unpickled).
"""
from __future__ import annotations

from pathlib import Path

import torch

from course_utils.pretrained import read_saved_config, read_saved_weights
from course_utils.transformer import GPT, GPTConfig

BLOCK_NAMES = {"input_layernorm.weight": "ln_attn.weight", "post_attention_layernorm.weight": "ln_ff.weight",
               "self_attn.q_proj": "attn.w_q", "self_attn.k_proj": "attn.w_k", "self_attn.v_proj": "attn.w_v",
               "self_attn.o_proj": "attn.w_o", "mlp.gate_proj": "ff.gate", "mlp.up_proj": "ff.up",
               "mlp.down_proj": "ff.down"}


def llama_config(hf_config: dict, source: object = "config") -> GPTConfig:
    """The course `GPTConfig` equivalent to a Llama config.json (a dict); ValueError for what the course GPT
    does not implement (RoPE scaling, a head size other than hidden_size / heads, another activation, …)."""
    if not isinstance(hf_config, dict):
        raise ValueError(f"source {source}: config.json must hold a JSON object, got {type(hf_config).__name__}")
    if hf_config.get("model_type", "llama") != "llama":
        raise ValueError(f"source {source} is a {hf_config['model_type']!r} checkpoint; load_llama reads "
                         f"model_type 'llama' only")
    required = ("hidden_size", "num_attention_heads", "num_hidden_layers", "intermediate_size", "vocab_size")
    missing = [k for k in required if k not in hf_config]
    if missing:
        raise ValueError(f"source {source}: config.json lacks {missing}")
    d_model, n_heads = hf_config["hidden_size"], hf_config["num_attention_heads"]
    rope = hf_config.get("rope_parameters") or hf_config.get("rope_scaling") or {}
    rope_type = rope.get("rope_type", rope.get("type", "default"))
    problems = {k: v for k, v, ok in (
        ("hidden_act", hf_config.get("hidden_act", "silu"), lambda v: v == "silu"),
        ("head_dim", hf_config.get("head_dim"), lambda v: v in (None, d_model // n_heads)),
        ("rope_type", rope_type, lambda v: v == "default"),
        ("pretraining_tp", hf_config.get("pretraining_tp", 1), lambda v: v == 1),
        ("attention_bias vs mlp_bias", (hf_config.get("attention_bias", False), hf_config.get("mlp_bias", False)),
         lambda v: v[0] == v[1])) if not ok(v)}
    if problems:
        raise ValueError(f"source {source}: config.json sets {problems}, which the course GPT does not implement "
                         f"(it needs hidden_act='silu', head_dim = hidden_size / num_attention_heads, default "
                         f"RoPE without scaling, pretraining_tp=1, attention_bias == mlp_bias)")
    rope_theta = rope.get("rope_theta", hf_config.get("rope_theta", 10000.0))
    return GPTConfig(vocab_size=hf_config["vocab_size"], block_size=hf_config.get("max_position_embeddings", 2048),
                     d_model=d_model, n_heads=n_heads, n_layers=hf_config["num_hidden_layers"], dropout=0.0,
                     positional="rope", tie_weights=bool(hf_config.get("tie_word_embeddings", False)),
                     d_ff=hf_config["intermediate_size"], layer_norm_eps=float(hf_config.get("rms_norm_eps", 1e-6)),
                     norm="rmsnorm", feed_forward="swiglu",
                     n_kv_heads=hf_config.get("num_key_value_heads") or n_heads, rope_theta=float(rope_theta),
                     bias=bool(hf_config.get("attention_bias", False)))


def llama_state_dict(hf_state: dict, config: GPTConfig, source: object = "checkpoint") -> dict:
    """Llama's tensors renamed into the course GPT's state_dict (see the table in the module docstring).
    Every Llama tensor must find a place; the course model's strict load_state_dict checks the rest."""
    state, unused = {}, []
    for name, tensor in hf_state.items():
        key = name.removeprefix("model.")
        if key == "embed_tokens.weight":
            state["embed.token.weight"] = tensor
        elif key == "norm.weight":
            state["ln_f.weight"] = tensor
        elif name == "lm_head.weight":
            if not config.tie_weights:
                state["head.weight"] = tensor
        elif key.startswith("layers."):
            _, i, rest = key.split(".", 2)
            stem, _, leaf = rest.rpartition(".")
            target = BLOCK_NAMES.get(rest) or (f"{BLOCK_NAMES[stem]}.{leaf}" if stem in BLOCK_NAMES else None)
            if target is None:
                unused.append(name)
            else:
                state[f"blocks.{i}.{target}"] = tensor
        elif not key.endswith("rotary_emb.inv_freq"):  # older checkpoints stored RoPE's frequencies: recomputed here
            unused.append(name)
    if unused:
        raise ValueError(f"source {source}: tensors the course GPT has no place for: {unused[:5]}"
                         f"{' …' if len(unused) > 5 else ''}")
    if config.tie_weights:
        state["head.weight"] = state.get("embed.token.weight")
    return state


def load_llama(source: str | Path, device: str | torch.device = "cpu") -> GPT:
    """A Llama checkpoint — a local folder written by `LlamaForCausalLM.save_pretrained` (config.json +
    model.safetensors, or safetensors shards) — as a course `GPT` in eval mode on `device`, with logits equal
    to `transformers.LlamaForCausalLM`'s. Offline: a Hub name raises FileNotFoundError saying how to get a folder."""
    folder = Path(source).expanduser() if isinstance(source, (str, Path)) and str(source).strip() else None
    if folder is None or not folder.is_dir():
        raise FileNotFoundError(f"source must be a local folder written by save_pretrained (config.json + "
                                f"model.safetensors), got {source!r}; load_llama downloads nothing: on a machine "
                                f"with internet run LlamaForCausalLM.from_pretrained(NAME).save_pretrained(DIR)")
    label = repr(str(source))
    config = llama_config(read_saved_config(folder, label), label)
    model = GPT(config)
    try:
        model.load_state_dict(llama_state_dict(read_saved_weights(folder, label), config, label), strict=True)
    except RuntimeError as err:
        raise ValueError(f"source {label}: the weights do not fit its config.json: {err}") from None
    return model.to(device).eval()
