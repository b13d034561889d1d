"""Encoder–decoder Transformer: shapes, masks, padding invariance, decoding (greedy = beam 1), errors."""
import math

import pytest
import torch

from course_utils.batching import pad_batch
from course_utils.seq2seq import (EncoderDecoder, Seq2SeqConfig, Seq2SeqData, TextCodec, beam_search, collate,
                                  cross_attention_weights, exact_match, greedy_decode, length_normalised,
                                  seq2seq_loss, translate)
from course_utils.tokenizers import Vocab
from course_utils.training import train_model

PAD, BOS, EOS = 0, 2, 3


def tiny_model(seed=0, **overrides) -> EncoderDecoder:
    torch.manual_seed(seed)
    cfg = {"src_vocab_size": 12, "tgt_vocab_size": 10, "max_src_len": 16, "max_tgt_len": 12, "d_model": 32,
           "n_heads": 4, "n_encoder_layers": 2, "n_decoder_layers": 2, **overrides}
    return EncoderDecoder(Seq2SeqConfig(**cfg)).eval()


# ---- text ⇄ ids ------------------------------------------------------------------------------------
def test_codec_round_trip_unknown_and_eos():
    codec = TextCodec.build(["abc", "cab"])
    assert len(codec) == 4 + 3 and (codec.pad_id, codec.unk_id, codec.bos_id, codec.eos_id) == (0, 1, 2, 3)
    assert codec.decode(codec.encode("cab")) == "cab"
    assert codec.encode("az") == [codec.encode("a")[0], codec.unk_id]      # unknown → <unk>
    assert codec.decode([*codec.encode("ab"), EOS, *codec.encode("c")]) == "ab"  # stops at <eos>
    assert codec.encode("") == []
    words = TextCodec.build(["hello world"], tokenize=str.split, detokenize=" ".join)
    assert words.decode(words.encode("world hello")) == "world hello"


def test_codec_bad_input():
    with pytest.raises(ValueError, match="special tokens"):
        TextCodec(Vocab(["a"], specials=("<unk>",)))
    with pytest.raises(TypeError, match="vocab must be"):
        TextCodec({"a": 0})
    with pytest.raises(TypeError, match="text must be str, got int"):
        TextCodec.build(["a"]).encode(3)
    with pytest.raises(TypeError, match="index 1"):
        TextCodec.build(["a", None])


# ---- batching --------------------------------------------------------------------------------------
def test_pad_batch_and_collate():
    assert pad_batch([[5, 6, 7], [8]], pad_id=0).tolist() == [[5, 6, 7], [8, 0, 0]]
    src, tgt_in, tgt_out = collate([([5, 6], [7]), ([8], [9, 4])], PAD, BOS, EOS)
    assert src.tolist() == [[5, 6, EOS], [8, EOS, PAD]]
    assert tgt_in.tolist() == [[BOS, 7, PAD], [BOS, 9, 4]]
    assert tgt_out.tolist() == [[7, EOS, PAD], [9, 4, EOS]]               # labels = inputs shifted by one
    empty_src, _, _ = collate([([], [7])], PAD, BOS, EOS)
    assert empty_src.tolist() == [[EOS]]                                  # an empty sentence is just <eos>
    with pytest.raises(ValueError, match="at least one sequence"):
        pad_batch([], 0)


def test_seq2seq_data_is_deterministic():
    pairs = [("ab", "x"), ("ba", "yy"), ("aab", "xyx")]
    src, tgt = TextCodec.build(s for s, _ in pairs), TextCodec.build(t for _, t in pairs)
    data = Seq2SeqData(pairs, src, tgt)
    assert (data.max_src_len, data.max_tgt_len) == (4, 4) and len(data) == 3
    a, b = data.batcher(5, seed=1), data.batcher(5, seed=1)
    for _ in range(3):
        assert all(torch.equal(x, y) for x, y in zip(a("train"), b("train")))
    assert [t.shape for t in data.tensors()] == [(3, 4), (3, 4), (3, 4)]
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        data.batcher(0)
    with pytest.raises(ValueError, match="at least one"):
        Seq2SeqData([], src, tgt)


# ---- the model -------------------------------------------------------------------------------------
def test_forward_shape_tied_head_and_config_errors():
    model = tiny_model()
    src, tgt = torch.randint(4, 12, (3, 7)), torch.randint(4, 10, (3, 5))
    assert model(src, tgt).shape == (3, 5, 10)
    assert model.head.weight is model.tgt_embed.token.weight
    assert model.config.to_dict()["d_model"] == 32
    with pytest.raises(ValueError, match="divisible"):
        Seq2SeqConfig(10, 10, d_model=30, n_heads=4)
    with pytest.raises(ValueError, match="positional"):
        Seq2SeqConfig(10, 10, positional="rotary")
    with pytest.raises(TypeError, match="Seq2SeqConfig"):
        EncoderDecoder({"src_vocab_size": 10})


def test_decoder_is_causal():
    model = tiny_model()
    src, tgt = torch.randint(4, 12, (2, 6)), torch.randint(4, 10, (2, 5))
    changed = tgt.clone()
    changed[:, 3] = (changed[:, 3] + 1 - 4) % 6 + 4
    a, b = model(src, tgt), model(src, changed)
    assert torch.allclose(a[:, :3], b[:, :3], atol=1e-6)                 # positions before 3 cannot see it
    assert not torch.allclose(a[:, 3:], b[:, 3:])


@pytest.mark.parametrize("training", [False, True])
def test_source_padding_does_not_change_the_output(training):
    model = tiny_model().train(training)                                 # train mode = fused attention path
    src = torch.tensor([[5, 6, 7, EOS]])
    padded = torch.tensor([[5, 6, 7, EOS, PAD, PAD, PAD]])
    tgt = torch.tensor([[BOS, 4, 5]])
    assert torch.allclose(model(src, tgt), model(padded, tgt), atol=1e-5)
    batch = pad_batch([[5, 6, 7, EOS], [8, 9, 10, 11, 5, 6, EOS]], PAD)   # row 0 padded inside a batch
    assert torch.allclose(model(batch, tgt.expand(2, -1))[0], model(src, tgt)[0], atol=1e-5)


def test_decoding_is_padding_invariant():
    model = tiny_model(seed=3)
    src = torch.tensor([[5, 6, 7, EOS]])
    padded = torch.tensor([[5, 6, 7, EOS, PAD, PAD]])
    assert greedy_decode(model, src, 8) == greedy_decode(model, padded, 8)
    assert beam_search(model, src, 3, 8) == beam_search(model, padded, 3, 8)


def test_bad_inputs_give_clear_errors():
    model = tiny_model()
    tgt = torch.tensor([[BOS]])
    with pytest.raises(ValueError, match="longer than max_src_len=16"):
        model(torch.full((1, 17), 5), tgt)
    with pytest.raises(ValueError, match="longer than max_tgt_len=12"):
        model(torch.tensor([[5, EOS]]), torch.full((1, 13), 4))
    with pytest.raises(ValueError, match="only of padding"):
        model(torch.tensor([[5, EOS], [PAD, PAD]]), tgt.expand(2, -1))
    with pytest.raises(ValueError, match=r"ids must be in \[0, 12\)"):
        model(torch.tensor([[15, EOS]]), tgt)
    with pytest.raises(ValueError, match="torch.long"):
        model(torch.ones(1, 3), tgt)
    with pytest.raises(ValueError, match="same batch size"):
        model(torch.tensor([[5, EOS]]), tgt.expand(2, -1))
    with pytest.raises(ValueError, match="max_tgt_len is 12"):
        greedy_decode(model, torch.tensor([[5, EOS]]), max_len=20)
    with pytest.raises(ValueError, match="beam_size must be a positive int"):
        beam_search(model, torch.tensor([[5, EOS]]), beam_size=0)


def test_empty_and_unknown_source_translate():
    src_codec, tgt_codec = TextCodec.build(["abc"]), TextCodec.build(["xyz"])
    model = tiny_model(src_vocab_size=len(src_codec), tgt_vocab_size=len(tgt_codec))
    out = translate(model, ["", "a?c", "abc"], src_codec, tgt_codec, max_len=5)   # '' → [<eos>], '?' → <unk>
    assert len(out) == 3 and all(isinstance(s, str) and len(s) <= 5 for s in out)
    with pytest.raises(TypeError, match="list of str"):
        translate(model, "abc", src_codec, tgt_codec)


# ---- decoding --------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(5))
def test_beam_of_one_is_greedy(seed):
    model = tiny_model(seed=seed)
    src = pad_batch([[5, 6, 7, EOS], [8, 9, EOS], [11, EOS]], PAD)
    assert beam_search(model, src, beam_size=1, max_len=10) == greedy_decode(model, src, max_len=10)


class TableModel(EncoderDecoder):
    """A decoder whose next-token distribution depends only on the last token — greedy is a trap:
    after <bos>: A 0.6, B 0.4; after A: C 0.5 or D 0.5, then <eos>; after B: <eos> with probability 1."""
    A, B, C, D = 4, 5, 6, 7

    def __init__(self):
        super().__init__(Seq2SeqConfig(8, 8, 8, 8, d_model=8, n_heads=1, n_encoder_layers=1, n_decoder_layers=1))
        p = torch.full((8, 8), 1e-9)
        p[BOS, self.A], p[BOS, self.B] = 0.6, 0.4
        p[self.A, self.C], p[self.A, self.D] = 0.5, 0.5
        p[self.B, EOS] = p[self.C, EOS] = p[self.D, EOS] = 1.0
        self.table = (p / p.sum(-1, keepdim=True)).log()

    def decode(self, tgt_in, memory, src_mask):
        return self.table[tgt_in]                                       # (B, T, V)


def test_beam_search_finds_the_more_probable_sequence():
    model, src = TableModel(), torch.tensor([[5, EOS]])
    assert greedy_decode(model, src, 5) == [[TableModel.A, TableModel.C]]     # P = 0.6 · 0.5 = 0.30
    assert beam_search(model, src, 2, 5, alpha=0.0) == [[TableModel.B]]       # P = 0.4 > 0.30


def test_length_normalisation():
    assert length_normalised(-6.0, 3, alpha=0.0) == -6.0
    assert length_normalised(-6.0, 3, alpha=1.0) == -2.0
    assert length_normalised(-6.0, 4, alpha=0.5) == pytest.approx(-3.0)
    with pytest.raises(ValueError, match="alpha must be ≥ 0"):
        beam_search(tiny_model(), torch.tensor([[5, EOS]]), 2, alpha=-1.0)


def test_cross_attention_weights_rows_sum_to_one_and_skip_padding():
    model = tiny_model()
    src = pad_batch([[5, 6, 7, EOS], [8, EOS]], PAD)
    tgt = torch.tensor([[BOS, 4, 5], [BOS, 6, 7]])
    weights = cross_attention_weights(model, src, tgt)
    assert len(weights) == 2 and weights[0].shape == (2, 4, 3, 4)       # (B, h, T_tgt, S) per layer
    assert torch.allclose(weights[1].sum(-1), torch.ones(2, 4, 3), atol=1e-5)
    assert weights[0][1, :, :, 2:].abs().max() == 0                     # padding gets no attention


def test_encoder_decoder_overfits_a_tiny_set():
    """Reversing 3-letter strings: a few hundred steps must reach zero training errors."""
    pairs = [("abc", "cba"), ("bca", "acb"), ("cab", "bac"), ("aab", "baa"), ("bcc", "ccb"), ("cca", "acc")]
    codec = TextCodec.build(["abc"])
    data = Seq2SeqData(pairs, codec, codec)
    torch.manual_seed(0)
    model = EncoderDecoder(Seq2SeqConfig(len(codec), len(codec), 8, 8, d_model=32, n_heads=2,
                                         n_encoder_layers=1, n_decoder_layers=1))
    history = train_model(model, data.batcher(16, seed=0), steps=200, lr=3e-3, warmup_steps=10,
                          eval_every=50, val_data=data.tensors(), loss_fn=seq2seq_loss(codec.pad_id), progress=False)
    assert history.val_loss[-1] < 0.05                                  # (the training pairs themselves)
    out = translate(model, [s for s, _ in pairs], codec, codec, max_len=6)
    assert exact_match(out, [t for _, t in pairs]) == 1.0
    assert translate(model, [s for s, _ in pairs], codec, codec, beam_size=3, max_len=6) == out


def test_exact_match():
    assert exact_match(["a", "b"], ["a", "c"]) == 0.5
    with pytest.raises(ValueError, match="same length, got 1 and 2"):
        exact_match(["a"], ["a", "b"])
    with pytest.raises(ValueError, match="empty"):
        exact_match([], [])


def test_seq2seq_loss_ignores_padding():
    logits = torch.randn(1, 3, 5)
    loss = seq2seq_loss(0)(logits, torch.tensor([[2, 0, 0]]))
    assert loss.item() == pytest.approx(-logits[0, 0].log_softmax(-1)[2].item(), rel=1e-5)
    assert math.isfinite(loss.item())
