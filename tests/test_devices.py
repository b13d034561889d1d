"""Every helper that runs a model follows the model's device (issue 10 §3).

Two kinds of test:
* `test_*_on_device`: each helper with the model on every device present (CPU always; cuda/mps when the
  machine has them, skipped otherwise) and the caller's tensors on the CPU, compared with the CPU result;
* `test_inputs_reach_the_models_device`: the model is moved to torch's `meta` device (a real second
  device on any machine, holding no data) and guarded: the first module or model method it runs checks
  that every tensor argument is on the parameters' device and then stops the helper. A helper that forgets
  `.to(model_device(model))` fails here on a CPU-only machine.
Plus the pieces chosen by hardware: the DDP device fallback and the mixed-precision dtype.
"""
import functools

import numpy as np
import pytest
import torch

from course_utils import distributed_training, env, pretrain
from course_utils.bias import word_log_prob
from course_utils.classifier import (BagOfWordsClassifier, TransformerClassifier, occlusion_importance, predict,
                                     predict_proba, token_relevance)
from course_utils.dialogue import ChatTokenizer, generate_reply, score_candidates, token_nll
from course_utils.generation import choose_next_token, generate, next_token_logits
from course_utils.pretrained import score_text
from course_utils.privacy import candidate_log_perplexities, sequence_log_perplexity
from course_utils.rnn import RNNLanguageModel, input_gradient_norms
from course_utils.seq2seq import (EncoderDecoder, Seq2SeqConfig, TextCodec, beam_search, cross_attention_weights,
                                  greedy_decode, translate)
from course_utils.tokenizers import CharTokenizer, Vocab
from course_utils.training import evaluate, train_model
from course_utils.transformer import GPT, GPTConfig

pytestmark = pytest.mark.usefixtures("one_thread")

DEVICES = ["cpu",
           pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")),
           pytest.param("mps", marks=pytest.mark.skipif(not torch.backends.mps.is_available(), reason="no MPS device"))]

TEXT = "abcdefghijklmnopqrstuvwxyz .?"


# ---------------------------------------------------------------------------------------------------
# tiny models (fixed seeds) and the caller's CPU inputs
# ---------------------------------------------------------------------------------------------------
def gpt(vocab_size: int = 40) -> GPT:
    torch.manual_seed(0)
    return GPT(GPTConfig(vocab_size, block_size=16, d_model=16, n_heads=2, n_layers=1))


def chat() -> tuple[GPT, ChatTokenizer]:
    tok = ChatTokenizer(CharTokenizer.from_text(TEXT))
    return gpt(tok.vocab_size), tok


def codec() -> TextCodec:
    return TextCodec.build([TEXT])


def seq2seq() -> EncoderDecoder:
    torch.manual_seed(0)
    n = len(codec())
    return EncoderDecoder(Seq2SeqConfig(n, n, max_src_len=16, max_tgt_len=16, d_model=16, n_heads=2,
                                        n_encoder_layers=1, n_decoder_layers=1))


def transformer_classifier() -> TransformerClassifier:
    torch.manual_seed(0)
    return TransformerClassifier(30, d_model=16, n_heads=2, n_layers=1, dropout=0.0, max_len=16)


def rnn(kind: str) -> RNNLanguageModel:
    torch.manual_seed(0)
    return RNNLanguageModel(30, 8, 12, n_layers=1, kind=kind)


class CharLM:
    """The smallest tokenizer privacy/bias helpers accept: one id per character."""

    def __init__(self, text: str = TEXT):
        self.itos = sorted(set(text))
        self.stoi = {c: i for i, c in enumerate(self.itos)}
        self.vocab_size = len(self.itos)

    def encode(self, text: str) -> list[int]:
        return [self.stoi[c] for c in text]

    def decode(self, ids) -> str:
        return "".join(self.itos[int(i)] for i in ids)


IDS = torch.tensor([[5, 6, 7, 8], [9, 10, 0, 0]])          # padded (B, T), on the CPU
LM_X = torch.tensor([[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]])
LM_Y = torch.tensor([[2, 3, 4, 5, 6], [7, 8, 9, 10, 11]])


def cases():
    """name → (model factory, helper(model) → a result to compare across devices)."""
    char = CharLM()
    c = codec()
    src = torch.tensor([[5, 6, 7, 3], [8, 9, 3, 0]])
    tgt_in = torch.tensor([[2, 5, 6], [2, 8, 9]])
    return {
        "generate greedy": (gpt, lambda m: generate(m, LM_X, 4, strategy="greedy")),
        "generate sample, CPU generator": (gpt, lambda m: generate(m, LM_X, 4, generator=torch.Generator().manual_seed(0))),
        "next_token_logits": (gpt, lambda m: next_token_logits(m, LM_X)),
        "evaluate": (gpt, lambda m: evaluate(m, (LM_X, LM_Y))),
        "token_nll": (lambda: chat()[0], lambda m: token_nll(m, LM_X, LM_Y)),
        "score_candidates": (lambda: chat()[0], lambda m: score_candidates(m, chat()[1], ["hi"], ["yes", "no."], 16)),
        "generate_reply": (lambda: chat()[0], lambda m: generate_reply(m, chat()[1], ["hello?"], 16, max_new_tokens=5)),
        "predict_proba": (transformer_classifier, lambda m: predict_proba(m, IDS)),
        "predict": (transformer_classifier, lambda m: predict(m, IDS)),
        "attention_maps": (transformer_classifier, lambda m: m.attention_maps(IDS)),
        "token_relevance": (transformer_classifier, lambda m: token_relevance(m, IDS)),
        "occlusion_importance": (transformer_classifier, lambda m: occlusion_importance(m, IDS[:1], replace_id=1)),
        "bag of words predict_proba": (lambda: BagOfWordsClassifier(Vocab.build([list(TEXT)])),
                                       lambda m: predict_proba(m, IDS)),
        "greedy_decode": (seq2seq, lambda m: greedy_decode(m, src, max_len=5)),
        "beam_search": (seq2seq, lambda m: beam_search(m, src, beam_size=2, max_len=5)),
        "cross_attention_weights": (seq2seq, lambda m: cross_attention_weights(m, src, tgt_in)),
        "translate": (seq2seq, lambda m: translate(m, ["abc", "de"], c, c, max_len=5)),
        "translate beam": (seq2seq, lambda m: translate(m, ["abc"], c, c, beam_size=2, max_len=5)),
        "input_gradient_norms lstm": (lambda: rnn("lstm"), lambda m: input_gradient_norms(m, LM_X, LM_Y)),
        "input_gradient_norms gru": (lambda: rnn("gru"), lambda m: input_gradient_norms(m, LM_X)),
        "input_gradient_norms rnn": (lambda: rnn("rnn"), lambda m: input_gradient_norms(m, LM_X, LM_Y)),
        "rnn sample": (lambda: rnn("gru"), lambda m: m.sample(torch.tensor([1, 2]), 4,
                                                              generator=torch.Generator().manual_seed(0))),
        "sequence_log_perplexity": (lambda: gpt(char.vocab_size),
                                    lambda m: sequence_log_perplexity(m, char, "my pin is", " ab")),
        "candidate_log_perplexities": (lambda: gpt(char.vocab_size),
                                       lambda m: candidate_log_perplexities(m, char, "my pin is", [" ab", " ba"])),
        "word_log_prob": (lambda: gpt(char.vocab_size), lambda m: word_log_prob(m, char, "the cat", "sat")),
        "score_text": (lambda: gpt(char.vocab_size),
                       lambda m: score_text(m, char, "the cat sat on the mat. " * 2, context="a", batch_size=2)),
        "train_model": (gpt, lambda m: train_model(m, lambda split: (LM_X, LM_Y), steps=2, val_data=(LM_X, LM_Y),
                                                   progress=False).val_loss),
    }


CASES = cases()


def same(a, b) -> None:
    """Results equal up to float noise between devices; tensors must come back on the CPU."""
    if isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            same(x, y)
    elif torch.is_tensor(a):
        assert a.device.type == "cpu", "a helper must return the caller's tensors on the caller's device"
        if a.is_floating_point():
            torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-4)
        else:
            assert torch.equal(a, b)
    elif isinstance(a, (float, np.ndarray)):
        assert a == pytest.approx(b, rel=1e-3, abs=1e-4)
    else:
        assert a == b


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", list(CASES))
def test_helper_on_device(name, device):
    make, helper = CASES[name]
    expected = helper(make())                        # CPU model, CPU inputs
    if name.startswith("generate sample") and device != "cpu":
        got = helper(make().to(device))              # same generator, other device's float noise: ids may differ
        assert got.shape == expected.shape and got.device.type == "cpu"
        return
    same(helper(make().to(device)), expected)


# ---------------------------------------------------------------------------------------------------
# a helper that forgets to move its inputs fails, even on a CPU-only machine
# ---------------------------------------------------------------------------------------------------
class Reached(Exception):
    """Raised by the guard once the model received its inputs on its own device."""


def _tensors(args, kwargs):
    for value in [*args, *kwargs.values()]:
        if torch.is_tensor(value):
            yield value
        elif isinstance(value, (list, tuple)):
            yield from _tensors(value, {})


def _check(where: str, device: torch.device, args, kwargs) -> None:
    wrong = [t.device for t in _tensors(args, kwargs) if t.device != device]
    assert not wrong, f"{where} got inputs on {wrong[0]}, but the model is on {device}"
    raise Reached(where)


def guard(model: torch.nn.Module) -> torch.nn.Module:
    """Move the model to `meta` and stop it at the first call that reaches a module or a model method."""
    model.to("meta")
    device = torch.device("meta")
    for name in ("forward", "encode", "decode", "forward_with_state"):
        method = getattr(model, name, None)
        if method is not None:
            def wrapper(*args, _name=name, _method=method, **kwargs):
                _check(f"model.{_name}", device, args, kwargs)
            setattr(model, name, functools.wraps(method)(wrapper))
    for mod_name, module in model.named_modules():
        if any(True for _ in module.parameters(recurse=False)):
            module.register_forward_pre_hook(
                lambda mod, args, kwargs, _n=mod_name: _check(f"module {_n!r}", device, args, kwargs),
                with_kwargs=True)
    return model


@pytest.mark.parametrize("name", list(CASES))
def test_inputs_reach_the_models_device(name):
    make, helper = CASES[name]
    with pytest.raises(Reached):
        helper(guard(make()))


def test_the_guard_catches_a_helper_that_forgets():
    def forgetful(model, ids):  # the pre-fix predict_proba
        return model(ids).softmax(-1)

    with pytest.raises(AssertionError, match="inputs on cpu, but the model is on meta"):
        forgetful(guard(transformer_classifier()), IDS)


# ---------------------------------------------------------------------------------------------------
# sampling with a generator on another device; CPU sampling unchanged
# ---------------------------------------------------------------------------------------------------
def test_cpu_sampling_consumes_the_generator_as_before():
    logits = torch.randn(3, 11, generator=torch.Generator().manual_seed(1))
    got = choose_next_token(logits, generator=torch.Generator().manual_seed(7))
    want = torch.multinomial(logits.softmax(-1), 1, generator=torch.Generator().manual_seed(7)).squeeze(-1)
    assert torch.equal(got, want)


@pytest.mark.parametrize("device", DEVICES[1:])
def test_a_cpu_generator_samples_for_a_gpu_model(device):
    logits = torch.randn(3, 11, generator=torch.Generator().manual_seed(1))
    got = choose_next_token(logits.to(device), generator=torch.Generator().manual_seed(7))
    want = choose_next_token(logits, generator=torch.Generator().manual_seed(7))
    assert got.device.type == device and torch.equal(got.cpu(), want)


# ---------------------------------------------------------------------------------------------------
# the device helpers, DDP fallback, precision by hardware
# ---------------------------------------------------------------------------------------------------
def test_get_device_precedence(monkeypatch):
    monkeypatch.setenv(env.DEVICE_ENV_VAR, "cpu")
    assert env.get_device() == torch.device("cpu")                 # COURSE_DEVICE over the automatic choice
    monkeypatch.setenv(env.DEVICE_ENV_VAR, "cuda")
    assert env.get_device("cpu") == torch.device("cpu")           # the notebook's explicit ask wins
    assert env.get_device() == torch.device("cuda")
    monkeypatch.delenv(env.DEVICE_ENV_VAR)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert env.get_device() == torch.device("cpu")


def test_model_device():
    assert env.model_device(gpt()) == torch.device("cpu")
    assert env.model_device(gpt().to("meta")) == torch.device("meta")
    assert env.model_device(torch.nn.ReLU()) == torch.device("cpu")  # no tensors: CPU


def test_two_ranks_on_one_gpu_fall_back_to_cpu(monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert distributed_training.pick_device(0, 2) == torch.device("cpu")
    assert distributed_training.pick_device(1, 2) == torch.device("cpu")   # never cuda:1
    assert capsys.readouterr().out.count("\n") == 1                        # one line, from local rank 0
    assert distributed_training.pick_device(0, 1) == torch.device("cuda", 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert distributed_training.pick_device(1, 2) == torch.device("cuda", 1)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert distributed_training.pick_device(0, 2) == torch.device("cpu")
    assert capsys.readouterr().out == ""


def test_precision_follows_the_hardware(monkeypatch):
    assert distributed_training.autocast_dtype(torch.device("cpu")) is None       # fp32 on the CPU
    assert distributed_training.autocast_dtype(torch.device("mps")) is None
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (7, 5))   # T4
    assert distributed_training.autocast_dtype(torch.device("cuda", 0)) == torch.float16
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (9, 0))   # H100
    assert distributed_training.autocast_dtype(torch.device("cuda", 0)) == torch.bfloat16


def test_pretrain_precision_defaults_to_fp32_on_cpu(monkeypatch):
    assert pretrain.parse_args(["--device", "cpu"]).precision == "fp32"
    assert pretrain.parse_args(["--precision", "bf16"]).precision == "bf16"   # the shipped recipe, explicitly
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (7, 5))
    assert pretrain.parse_args(["--device", "cuda"]).precision == "fp32"
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (8, 0))
    assert pretrain.parse_args(["--device", "cuda"]).precision == "bf16"
