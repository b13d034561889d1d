"""benchmarks/char_gpt.py: its recipes, and the BPE recipe's loss is nats per held-out *character*."""
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from course_utils.pretrained import shakespeare_held_out
from course_utils.transformer import GPT, GPTConfig

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import char_gpt  # noqa: E402


def test_recipes_set_their_defaults_and_explicit_flags_win():
    char = char_gpt.parse_args([])
    assert (char.tokenizer, char.positional, char.out.name) == ("char", "learned", "char_gpt.json")
    bpe = char_gpt.parse_args(["--recipe", "bpe"])
    assert (bpe.tokenizer, bpe.vocab_size, bpe.positional, bpe.norm, bpe.feed_forward, bpe.n_kv_heads,
            bpe.out.name) == ("bpe", 1024, "rope", "rmsnorm", "swiglu", 2, "char_gpt_bpe.json")
    assert char_gpt.parse_args(["--recipe", "bpe", "--steps", "7", "--positional", "learned"]).positional == "learned"
    assert char_gpt.parse_args(["--recipe", "bpe", "--steps", "7"]).steps == 7


def test_bpe_loss_is_total_token_loss_over_held_out_characters():
    block = 64
    args = char_gpt.parse_args(["--recipe", "bpe", "--vocab-size", "300", "--block", str(block)])
    tokenizer, train_ids, val_ids, val_loss = char_gpt.corpus(args)
    train_text, held_out = shakespeare_held_out()
    assert tokenizer.decode(val_ids.tolist()) == held_out and len(train_ids) < len(train_text)
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=tokenizer.vocab_size, block_size=block, d_model=16, n_heads=2, n_layers=1))
    # independently: one token of context from the training text, then plain windows of `block` targets
    ids = torch.tensor(tokenizer.encode(train_text[-8 * block :])[-1:] + val_ids.tolist())
    total = 0.0
    model.eval()
    with torch.no_grad():
        for start in range(0, len(ids) - 1, block):
            y = ids[start + 1 : start + 1 + block]
            x = ids[start : start + len(y)]
            total += F.cross_entropy(model(x[None])[0], y, reduction="sum").item()
    model.train()
    assert val_loss(model) == pytest.approx(total / len(held_out), rel=1e-5)
    assert model.training  # val_loss scores in eval mode and hands the model back in training mode


def test_the_validation_slice_is_carved_from_the_training_text_and_never_reads_the_held_out_split():
    args = char_gpt.parse_args(["--recipe", "bpe", "--vocab-size", "300", "--validation-slice"])
    tokenizer, train_ids, val_ids, _ = char_gpt.corpus(args)
    train_text, held_out = shakespeare_held_out()
    fit_text, scored_text = tokenizer.decode(train_ids.tolist()), tokenizer.decode(val_ids.tolist())
    assert fit_text + scored_text == train_text                     # both halves of the training text, in order
    assert len(scored_text) == len(train_text) - int(0.9 * len(train_text))
    assert held_out not in scored_text and held_out[:200] not in fit_text + scored_text
    with pytest.raises(SystemExit, match="bpe only"):
        char_gpt.corpus(char_gpt.parse_args(["--validation-slice"]))
