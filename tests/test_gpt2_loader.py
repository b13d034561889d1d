"""load_gpt2 puts a Hugging Face GPT-2 checkpoint into the course's own GPT, exactly: a randomly initialised
`transformers.GPT2LMHeadModel` with odd sizes is saved, loaded back into the course GPT, and both give the
same logits. Offline: nothing is downloaded (the Hub is replaced by a stand-in where it is needed)."""
import json
import shutil

import pytest
import torch

from course_utils.pretrained import load_gpt2
from course_utils.transformer import GPT, GPTConfig

pytestmark = pytest.mark.usefixtures("one_thread")

TINY = dict(n_embd=36, n_head=3, n_layer=2, vocab_size=101, n_positions=17, bos_token_id=100, eos_token_id=100)


def make_gpt2(folder, seed=0, **overrides):
    """A random GPT2LMHeadModel saved by save_pretrained into `folder`; returns it in eval mode.
    Every weight, LayerNorm's included, is drawn at a scale where activations are O(1): a mistake in
    the mapping, the GELU or the ε then shows in the logits instead of hiding below 1e-4."""
    from transformers import GPT2Config, GPT2LMHeadModel  # a pinned dependency (requirements.txt)

    torch.manual_seed(seed)
    model = GPT2LMHeadModel(GPT2Config(**{**TINY, **overrides})).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.normal_(1.0 if ".ln_" in name and name.endswith(".weight") else 0.0, 0.3)  # LayerNorm gains ≈ 1
    model.save_pretrained(folder)
    return model


def logits_of(model, ids):
    with torch.no_grad():
        out = model(ids)
    return out if torch.is_tensor(out) else out.logits


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gpt2_tiny")
    return folder, make_gpt2(folder, layer_norm_epsilon=1e-3)   # a non-default ε: it must be carried over


def test_logits_equal_transformers(saved):
    folder, hf = saved
    assert (folder / "model.safetensors").is_file()
    model, tokenizer = load_gpt2(folder)
    assert isinstance(model, GPT) and not model.training and tokenizer is None
    c = model.config
    assert (c.vocab_size, c.block_size, c.d_model, c.n_heads, c.n_layers) == (101, 17, 36, 3, 2)
    assert (c.activation, c.layer_norm_eps, c.tie_weights) == ("gelu_tanh", 1e-3, True)
    assert model.head.weight is model.embed.token.weight
    ids = torch.randint(0, 101, (3, 17), generator=torch.Generator().manual_seed(1))
    expected = logits_of(hf, ids)
    assert expected.abs().max() > 1.0                                   # big enough to show a mistake
    assert (logits_of(model, ids) - expected).abs().max() <= 1e-4
    assert (logits_of(model, ids[:1, :5]) - logits_of(hf, ids[:1, :5])).abs().max() <= 1e-4  # shorter input
    # the test can fail: the exact GELU instead of GPT-2's approximation is already visibly off
    exact = GPT(GPTConfig(**{**c.to_dict(), "activation": "gelu"})).eval()
    exact.load_state_dict(model.state_dict())
    assert (logits_of(exact, ids) - expected).abs().max() > 1e-3


def test_untied_head_exact_gelu_and_weights_only_bin(tmp_path):
    """An untied lm_head, the exact "gelu", and a checkpoint that has only pytorch_model.bin."""
    hf = make_gpt2(tmp_path, seed=2, tie_word_embeddings=False, activation_function="gelu", n_inner=20)
    torch.save(hf.state_dict(), tmp_path / "pytorch_model.bin")
    (tmp_path / "model.safetensors").unlink()
    model, _ = load_gpt2(str(tmp_path))
    assert model.head.weight is not model.embed.token.weight and model.config.d_ff == 20
    ids = torch.arange(17).remainder(101)[None]
    assert (logits_of(model, ids) - logits_of(hf, ids)).abs().max() <= 1e-4


def test_tokenizer_generate_and_score(tmp_path):
    """With tokenizer files beside the weights, the course's own decoding and scoring work on the result."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import GPT2TokenizerFast

    from course_utils.generation import generate
    from course_utils.pretrained import score_text

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(["to be or not to be, that is the question"] * 4, vocab_size=270, min_frequency=1,
                            show_progress=False, special_tokens=["<|endoftext|>"])
    GPT2TokenizerFast(tokenizer_object=bpe._tokenizer, eos_token="<|endoftext|>").save_pretrained(tmp_path)
    vocab = bpe.get_vocab_size()
    make_gpt2(tmp_path, vocab_size=vocab, bos_token_id=0, eos_token_id=0)
    model, tokenizer = load_gpt2(tmp_path)
    assert isinstance(tokenizer, GPT2TokenizerFast)   # in transformers 5 the same class as GPT2Tokenizer
    ids = tokenizer.encode("to be or not")
    assert tokenizer.decode(ids) == "to be or not" and max(ids) < vocab
    out = generate(model, torch.tensor([ids]), 5, strategy="greedy")
    assert out.shape == (1, len(ids) + 5)
    scored = score_text(model, tokenizer, " that is the question", context="to be")
    assert scored["nats_per_char"] > 0 and scored["tokens"] == len(tokenizer.encode(" that is the question"))


def test_hub_name_uses_the_hub_and_offline_says_how(saved, monkeypatch):
    import huggingface_hub
    from huggingface_hub.utils import LocalEntryNotFoundError

    folder, hf = saved
    calls = []

    def cached(repo_id, *, allow_patterns, local_files_only):
        calls.append((repo_id, local_files_only))
        return str(folder)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", cached)
    model, _ = load_gpt2("gpt2", download=False)
    assert calls == [("gpt2", True)]
    ids = torch.tensor([[5, 7, 11]])
    assert (logits_of(model, ids) - logits_of(hf, ids)).abs().max() <= 1e-4

    def offline(repo_id, **kwargs):
        raise LocalEntryNotFoundError("Got: ConnectError: [Errno -2] Name or service not known")
    monkeypatch.setattr(huggingface_hub, "snapshot_download", offline)
    with pytest.raises(ConnectionError, match=r"no network.*save_pretrained\(DIR\).*load_gpt2\(DIR\)"):
        load_gpt2("gpt2")


def test_bad_sources_name_the_problem(saved, tmp_path):
    folder, _ = saved
    with pytest.raises(ValueError, match="source must be"):
        load_gpt2(3)
    with pytest.raises(FileNotFoundError, match="source './no_such_folder' is not a folder"):
        load_gpt2("./no_such_folder")
    with pytest.raises(ValueError, match="is a file"):
        load_gpt2(folder / "config.json")
    config = json.loads((folder / "config.json").read_text())

    def variant(name, **changes):
        target = tmp_path / name
        shutil.copytree(folder, target)
        (target / "config.json").write_text(json.dumps({**config, **changes}))
        return target
    with pytest.raises(ValueError, match="'bert' checkpoint"):
        load_gpt2(variant("bert", model_type="bert"))
    with pytest.raises(ValueError, match="activation_function 'relu'"):
        load_gpt2(variant("relu", activation_function="relu"))
    with pytest.raises(ValueError, match="scale_attn_by_inverse_layer_idx"):
        load_gpt2(variant("scaled", scale_attn_by_inverse_layer_idx=True))
    with pytest.raises(ValueError, match="lack 'h.2.ln_1.weight'"):
        load_gpt2(variant("deeper", n_layer=3))
    with pytest.raises(ValueError, match="do not fit"):
        load_gpt2(variant("wider", n_inner=7))
    empty = variant("no_weights")
    (empty / "model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="has no weights"):
        load_gpt2(empty)


def test_config_options_default_to_the_course_model():
    """The GPT-2 options change nothing unless asked for: exact GELU, PyTorch's ε; bad values are refused."""
    model = GPT(GPTConfig(vocab_size=7, block_size=4, d_model=8, n_heads=2, n_layers=1))
    assert model.blocks[0].ff.act.approximate == "none" and model.ln_f.eps == 1e-5
    assert model.blocks[0].ln_attn.eps == model.blocks[0].ln_ff.eps == 1e-5
    assert GPTConfig(vocab_size=7, layer_norm_eps=1).to_dict()["layer_norm_eps"] == 1.0
    with pytest.raises(ValueError, match="activation must be one of"):
        GPTConfig(vocab_size=7, activation="relu")
    with pytest.raises(ValueError, match="layer_norm_eps must be"):
        GPTConfig(vocab_size=7, layer_norm_eps=0)
