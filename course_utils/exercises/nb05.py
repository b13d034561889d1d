"""Checkers for notebook 05 (a GPT language model): min-p filtering, a GPT parameter-count formula,
greedy decoding by hand, and a post-LayerNorm block."""
from __future__ import annotations

from typing import Callable

import torch

from course_utils.exercises import _fail, _pass, exercise_check
from course_utils.generation import generate
from course_utils.training import count_parameters
from course_utils.transformer import GPT, GPTConfig, TransformerBlock


def _as_tensor(got, name: str, shape: tuple[int, ...]) -> torch.Tensor:
    if got is None:
        _fail(f"{name} returned None — return a tensor of shape {shape}")
    if not isinstance(got, torch.Tensor):
        _fail(f"{name} should return a torch.Tensor, got {type(got).__name__}")
    if tuple(got.shape) != shape:
        _fail(f"{name} should return shape {shape}, got {tuple(got.shape)}")
    return got


# ---- exercise 1: min-p filtering ------------------------------------------------------------------
def reference_min_p(logits: torch.Tensor, min_p: float) -> torch.Tensor:
    probs = logits.softmax(dim=-1)
    keep = probs >= min_p * probs.max(dim=-1, keepdim=True).values
    return logits.masked_fill(~keep, float("-inf"))


MIN_P_CASES = (
    (torch.tensor([0.1, 0.5, 0.25, 0.15]).log(), 0.3),      # keeps 0.5, 0.25, 0.15 (≥ 0.15)
    (torch.tensor([0.1, 0.5, 0.25, 0.15]).log(), 0.31),     # 0.15 < 0.155: dropped
    (torch.tensor([[2.0, 1.0, 0.0, -1.0], [0.0, 0.0, 3.0, 1.0]]), 0.2),   # rows are independent
    (torch.tensor([[5.0, 5.0, 1.0]]), 1.0),                 # a tie at the top: both survive
    (torch.tensor([[0.0, 0.0, 0.0, 0.0], [5.0, 0.0, 0.0, 0.0]]), 0.3),   # a flat row keeps all 4
    (torch.linspace(-3, 3, 30).view(3, 10), 0.05),
)


@exercise_check
def check_exercise_1(apply_min_p: Callable[[torch.Tensor, float], torch.Tensor]) -> None:
    """`apply_min_p(logits, min_p)` keeps tokens whose probability is ≥ min_p × the row's largest
    probability (logits unchanged) and sets the rest to -inf."""
    for logits, min_p in MIN_P_CASES:
        got = _as_tensor(apply_min_p(logits.clone(), min_p), "apply_min_p", tuple(logits.shape))
        want = reference_min_p(logits, min_p)
        kept_got, kept_want = torch.isfinite(got), torch.isfinite(want)
        if not torch.equal(kept_got, kept_want):
            probs = logits.softmax(-1)
            _fail(f"apply_min_p(probabilities {probs.double().numpy().round(3).tolist()}, min_p={min_p}) kept "
                  f"{kept_got.int().tolist()}, expected {kept_want.int().tolist()} — compare each probability "
                  "with min_p × the LARGEST probability of its row (max over dim=-1, keepdim=True)")
        if not torch.allclose(got[kept_got], logits[kept_got]):
            _fail("the kept logits changed — leave them as they are and only set the others to -inf "
                  "(sampling applies the softmax afterwards)")
    _pass(f"apply_min_p keeps exactly the right tokens on {len(MIN_P_CASES)} cases")


# ---- exercise 2: counting parameters ----------------------------------------------------------------
GPT2_SMALL = {"V": 50257, "T": 1024, "C": 768, "N": 12, "tie_weights": True, "positional": "learned"}
GPT2_SMALL_PARAMETERS = 124_439_808  # Hugging Face's GPT2LMHeadModel (tied head), also nanoGPT's count


def _small_configs():
    yield dict(V=80, T=64, C=128, N=4, tie_weights=True, positional="learned")
    yield dict(V=80, T=64, C=128, N=4, tie_weights=False, positional="learned")
    yield dict(V=80, T=64, C=128, N=4, tie_weights=True, positional="sinusoidal")
    yield dict(V=37, T=16, C=24, N=3, tie_weights=False, positional="sinusoidal")
    yield dict(V=11, T=5, C=8, N=1, tie_weights=True, positional="learned")


@exercise_check
def check_exercise_2(gpt_parameter_count: Callable[..., int]) -> None:
    """`gpt_parameter_count(V, T, C, N, tie_weights, positional)` must equal count_parameters(GPT(...))
    for small configs, and give GPT-2 small's 124,439,808."""
    for cfg in _small_configs():
        model = GPT(GPTConfig(vocab_size=cfg["V"], block_size=cfg["T"], d_model=cfg["C"], n_heads=1,
                              n_layers=cfg["N"], tie_weights=cfg["tie_weights"], positional=cfg["positional"]))
        want = count_parameters(model)
        got = gpt_parameter_count(**cfg)
        if got is None:
            _fail("gpt_parameter_count returned None — return an int")
        if got != want:
            diff = got - want
            hints = []
            if abs(diff) == cfg["V"] * cfg["C"]:
                hints.append("off by V·C: the head shares the embedding matrix only when tie_weights=True")
            if abs(diff) == cfg["T"] * cfg["C"]:
                hints.append("off by T·C: only learned positions have parameters (sinusoidal ones are a fixed buffer)")
            if abs(diff) % cfg["N"] == 0 and not hints:
                hints.append(f"off by {diff // cfg['N']:+,} per block — a block has 12·C² + 13·C parameters "
                             "(attention 4C² + 4C, feed-forward 8C² + 5C, two LayerNorms 4C)")
            _fail(f"gpt_parameter_count({cfg}) = {got:,}, but the model has {want:,} ({diff:+,}) — "
                  + ("; ".join(hints) or "list every module: embeddings, N blocks, final LayerNorm, head"))
    got = gpt_parameter_count(**GPT2_SMALL)
    if got != GPT2_SMALL_PARAMETERS:
        _fail(f"for GPT-2 small {GPT2_SMALL} you get {got:,}, expected {GPT2_SMALL_PARAMETERS:,}")
    _pass(f"the formula matches {len(list(_small_configs()))} models and GPT-2 small's "
          f"{GPT2_SMALL_PARAMETERS:,} parameters")


# ---- exercise 3: greedy decoding by hand -------------------------------------------------------------
@exercise_check
def check_exercise_3(greedy_decode: Callable[[torch.nn.Module, torch.Tensor, int], torch.Tensor]) -> None:
    """`greedy_decode(model, idx, max_new_tokens)` must equal generate(..., strategy="greedy"), including
    prompts that grow past the model's block_size (the context must be cropped)."""
    torch.manual_seed(5)
    model = GPT(GPTConfig(vocab_size=13, block_size=8, d_model=16, n_heads=2, n_layers=2)).eval()
    prompt = torch.randint(13, (2, 3), generator=torch.Generator().manual_seed(0))
    want = generate(model, prompt, 12, strategy="greedy")
    try:
        got = greedy_decode(model, prompt.clone(), 12)
    except ValueError as err:
        if "block_size" in str(err):
            _fail(f"the model refused a context longer than its block_size ({err}) — feed it only the last "
                  "block_size tokens: idx[:, -model.block_size:]")
        raise
    got = _as_tensor(got, "greedy_decode", tuple(want.shape))
    if not torch.equal(got[:, :3], prompt):
        _fail("the result must start with the prompt itself (return prompt + new tokens)")
    if not torch.equal(got, want):
        first = int((got != want).any(dim=0).nonzero()[0])
        _fail(f"token {first} differs: got {got[:, first].tolist()}, expected {want[:, first].tolist()} — "
              "take the argmax of the logits at the LAST position, logits[:, -1, :]")
    _pass("greedy_decode equals generate(strategy='greedy'), cropping the context to block_size")


# ---- exercise 4: a post-LayerNorm block --------------------------------------------------------------
def reference_post_ln_block(block: TransformerBlock, x: torch.Tensor) -> torch.Tensor:
    x = block.ln_attn(x + block.attn(x, x, x, is_causal=block.causal))
    return block.ln_ff(x + block.ff(x))


@exercise_check
def check_exercise_4(post_ln_block: Callable[[TransformerBlock, torch.Tensor], torch.Tensor]) -> None:
    """`post_ln_block(block, x)` is the original Transformer's order: x = LN(x + Sublayer(x)), with
    self-attention (causal) then feed-forward, reusing the block's modules."""
    torch.manual_seed(3)
    block = TransformerBlock(16, 2, causal=True).eval()
    for p in block.parameters():  # move LayerNorm gains/biases off 1/0 so every term matters
        torch.nn.init.normal_(p, std=0.3)
    x = torch.randn(2, 6, 16, generator=torch.Generator().manual_seed(1))
    got = _as_tensor(post_ln_block(block, x.clone()), "post_ln_block", (2, 6, 16))
    want = reference_post_ln_block(block, x)
    if torch.allclose(got, block(x), atol=1e-5):
        _fail("this is the pre-LN block (block(x)) — in post-LN the LayerNorm comes AFTER the residual sum")
    if not torch.allclose(got, want, atol=1e-5):
        _fail(f"post_ln_block differs from x = LN(x + Sublayer(x)) by up to {(got - want).abs().max():.3g} — "
              "order: x = block.ln_attn(x + block.attn(x, x, x, is_causal=True)); then "
              "x = block.ln_ff(x + block.ff(x))")
    _pass("post_ln_block computes LN(x + Attention(x)), then LN(x + FFN(x))")
