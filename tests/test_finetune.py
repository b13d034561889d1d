"""course_utils.finetune: special tokens, prompt examples, batched greedy completion, the classifier head."""
import pytest
import torch

from course_utils.bpe import BPETokenizer
from course_utils.finetune import IGNORE, GPTClassifier, add_special_tokens, complete, prompt_example
from course_utils.transformer import GPT, GPTConfig


@pytest.fixture()
def tiny():
    torch.manual_seed(0)
    tok = BPETokenizer.train("open the file and save the file " * 20, vocab_size=270)
    model = GPT(GPTConfig(vocab_size=tok.vocab_size, block_size=24, d_model=16, n_heads=2, n_layers=1))
    return model, tok


def test_add_special_tokens_keeps_old_rows_and_ties_the_head(tiny):
    model, tok = tiny
    before = model.embed.token.weight.detach().clone()
    ids = add_special_tokens(model, 2)
    assert ids == [tok.vocab_size, tok.vocab_size + 1] and model.config.vocab_size == tok.vocab_size + 2
    assert torch.equal(model.embed.token.weight[: tok.vocab_size], before)
    assert torch.allclose(model.embed.token.weight[-1], before.mean(0))
    assert model.head.weight is model.embed.token.weight
    assert model(torch.tensor([[ids[1], 3]])).shape == (1, 2, tok.vocab_size + 2)


def test_add_special_tokens_rejects_bad_input(tiny):
    model, _ = tiny
    with pytest.raises(ValueError, match="n_new"):
        add_special_tokens(model, 0)
    with pytest.raises(TypeError, match="model must be a course GPT"):
        add_special_tokens(torch.nn.Linear(2, 2), 1)


def test_prompt_example_masks_the_prompt_and_ends_the_answer(tiny):
    model, tok = tiny
    end = add_special_tokens(model, 1)[0]
    inputs, targets = prompt_example(tok, "open the file", "save", "\t", end, block_size=24)
    sequence = tok.encode("open the file") + tok.encode("\t") + tok.encode("save") + [end]
    assert inputs == sequence[:-1]
    answer = [t for t in targets if t != IGNORE]
    assert answer == tok.encode("save") + [end]
    assert targets[: len(targets) - len(answer)] == [IGNORE] * (len(targets) - len(answer))


def test_prompt_example_cuts_a_long_source_but_keeps_the_cue(tiny):
    model, tok = tiny
    end = add_special_tokens(model, 1)[0]
    inputs, targets = prompt_example(tok, "open the file and save the file " * 10, "save", "\t", end, block_size=24)
    assert len(inputs) == len(targets) <= 24
    assert tok.encode("\t")[0] in inputs
    with pytest.raises(ValueError, match="block_size=4 leaves no room"):
        prompt_example(tok, "open", "save the file and open the file", "\t", end, block_size=4, max_answer=10)


def test_complete_batched_equals_one_at_a_time(tiny):
    model, tok = tiny
    end = add_special_tokens(model, 1)[0]
    sources = ["open", "open the file and save", "the file"]
    together = complete(model, tok, sources, "\t", end, max_new_tokens=5, batch_size=3)
    alone = [complete(model, tok, [s], "\t", end, max_new_tokens=5)[0] for s in sources]
    assert together == alone
    with pytest.raises(TypeError, match="list of strings"):
        complete(model, tok, "open", "\t", end)


def test_classifier_ignores_right_padding(tiny):
    model, tok = tiny
    pad = add_special_tokens(model, 1)[0]
    clf = GPTClassifier(model, n_classes=2, pad_id=pad).eval()
    ids = torch.tensor(tok.encode("open the file"))
    padded = torch.cat([ids, torch.full((5,), pad)])
    assert torch.allclose(clf(ids[None]), clf(padded[None]), atol=1e-5)
    assert clf(padded[None]).shape == (1, 2)


def test_greedy_batch_bans_tokens_and_checks_prompt_length(tiny):
    from course_utils.finetune import greedy_batch

    model, tok = tiny
    end = add_special_tokens(model, 1)[0]
    banned = list(range(0, 200))
    out = greedy_batch(model, [tok.encode("open the")], end, max_new_tokens=4, banned_ids=banned)
    assert all(t not in banned for t in out[0])
    with pytest.raises(ValueError, match="prompt 0 has 30"):
        greedy_batch(model, [[1] * 30], end, max_new_tokens=4)
