"""An encoder–decoder Transformer for sequence-to-sequence tasks (translation, summarization), built
from the same `TransformerBlock` as the GPT — plus batching with padding, greedy decoding and beam search.

    source ids (B, S) ─ Embeddings ─ N × encoder block (causal=False, padding mask) ─ LN ─→ memory (B, S, C)
    target ids (B, T) ─ Embeddings ─ N × decoder block (causal=True, cross-attention over memory) ─ LN ─ head
                                                                                       → logits (B, T, V_tgt)

The encoder reads the whole source in both directions; the decoder is a GPT over the target that, in
every block, also *looks back at the source* through cross-attention: queries from the target, keys and
values from the encoder's memory. Those cross-attention weights are the model's soft alignment between
target and source positions (`cross_attention_weights`).

Conventions: ids 0–3 are <pad>, <unk>, <bos>, <eos> (as in `course_utils.tokenizers.Vocab`). A source is
its tokens followed by <eos>; the decoder input is <bos> + target, and the labels are target + <eos>.
"""
from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from typing import Callable, Iterable, Sequence

import torch
from torch import nn

from course_utils.attention import padding_mask
from course_utils.batching import pad_batch
from course_utils.env import model_device
from course_utils.tokenizers import SPECIAL_TOKENS, Vocab
from course_utils.transformer import Embeddings, TransformerBlock, check_config, init_weights
from course_utils.validation import check_token_ids, require_int


# ---------------------------------------------------------------------------------------------------
# 1) text ⇄ ids: a tokenizer function + a Vocab with the four special tokens
# ---------------------------------------------------------------------------------------------------
class TextCodec:
    """str ⇄ ids for one side of a seq2seq task: `tokenize` splits a string into tokens (characters
    by default), a `Vocab` numbers them (<pad>=0, <unk>=1, <bos>=2, <eos>=3), `detokenize` turns a token
    list back into a string (default: concatenate, right for characters).

    Unknown tokens encode to <unk>, so any text can be encoded; `decode` stops at the first <eos>.
    """

    def __init__(self, vocab: Vocab, tokenize: Callable[[str], list[str]] = list,
                 detokenize: Callable[[list[str]], str] = "".join):
        if not isinstance(vocab, Vocab):
            raise TypeError(f"vocab must be a course_utils.tokenizers.Vocab, got {type(vocab).__name__}")
        missing = [s for s in SPECIAL_TOKENS if s not in vocab]
        if missing:
            raise ValueError(f"vocab must contain the special tokens {list(SPECIAL_TOKENS)}, missing {missing}")
        self.vocab, self.tokenize, self.detokenize = vocab, tokenize, detokenize

    @classmethod
    def build(cls, texts: Iterable[str], tokenize: Callable[[str], list[str]] = list,
              detokenize: Callable[[list[str]], str] = "".join, min_freq: int = 1) -> "TextCodec":
        """A codec whose vocabulary is every token seen ≥ min_freq times in `texts`."""
        texts = list(texts)
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"texts must be str, got {type(text).__name__} at index {i}")
        return cls(Vocab.build((tokenize(t) for t in texts), min_freq=min_freq), tokenize, detokenize)

    def __len__(self) -> int:
        return len(self.vocab)

    pad_id = property(lambda self: self.vocab.pad_id)
    unk_id = property(lambda self: self.vocab.unk_id)
    bos_id = property(lambda self: self.vocab.bos_id)
    eos_id = property(lambda self: self.vocab.eos_id)

    def encode(self, text: str) -> list[int]:
        """Token ids of `text`, without special tokens (unknown tokens → <unk>)."""
        if not isinstance(text, str):
            raise TypeError(f"text must be str, got {type(text).__name__}")
        return self.vocab.encode(self.tokenize(text))

    def decode(self, ids: Iterable[int]) -> str:
        """Text of `ids`, cut at the first <eos>, special tokens dropped."""
        ids = [int(i) for i in ids]
        if self.eos_id in ids:
            ids = ids[: ids.index(self.eos_id)]
        return self.detokenize(self.vocab.decode(ids))


# ---------------------------------------------------------------------------------------------------
# 2) batching: pad variable-length sequences into rectangles (course_utils.batching.pad_batch); the loss
#    ignores the padding
# ---------------------------------------------------------------------------------------------------
def collate(pairs: Sequence[tuple[Sequence[int], Sequence[int]]], pad_id: int = 0, bos_id: int = 2,
            eos_id: int = 3) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(source ids, target ids) pairs → the three padded tensors of teacher forcing:

        src     (B, S)  source + <eos>                      what the encoder reads
        tgt_in  (B, T)  <bos> + target                      what the decoder sees
        tgt_out (B, T)  target + <eos>                      what it must predict (the labels), shifted by one
    """
    src = pad_batch([[*s, eos_id] for s, _ in pairs], pad_id)
    tgt_in = pad_batch([[bos_id, *t] for _, t in pairs], pad_id)
    tgt_out = pad_batch([[*t, eos_id] for _, t in pairs], pad_id)
    return src, tgt_in, tgt_out


class Seq2SeqData:
    """Encoded (source, target) pairs with a seeded batch sampler for `train_model` and a fixed padded
    evaluation set. A batch is `(src, tgt_in, tgt_out)`, so the loop calls `model(src, tgt_in)`."""

    def __init__(self, pairs: Sequence[tuple[str, str]], src_codec: TextCodec, tgt_codec: TextCodec):
        if len(pairs) == 0:
            raise ValueError("pairs must contain at least one (source, target) pair, got none")
        self.pairs = [(s, t) for s, t in pairs]
        self.src_codec, self.tgt_codec = src_codec, tgt_codec
        self.ids = [(src_codec.encode(s), tgt_codec.encode(t)) for s, t in self.pairs]

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def max_src_len(self) -> int:
        """Longest encoded source, counting its <eos>."""
        return max(len(s) for s, _ in self.ids) + 1

    @property
    def max_tgt_len(self) -> int:
        """Longest decoder input/label row, counting <bos> (or <eos>)."""
        return max(len(t) for _, t in self.ids) + 1

    def tensors(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """All pairs as one padded (src, tgt_in, tgt_out) triple — `val_data` for `train_model`."""
        return collate(self.ids, self.tgt_codec.pad_id, self.tgt_codec.bos_id, self.tgt_codec.eos_id)

    def batcher(self, batch_size: int, seed: int = 0) -> Callable[[str], tuple[torch.Tensor, ...]]:
        """`get_batch("train")`: `batch_size` pairs drawn at random (seeded), padded to the batch's longest.

        Pairs are drawn *with* replacement, independently for every batch (unlike the shuffled epochs of
        `course_utils.batching.epoch_batcher`): a batch may repeat a pair. With thousands of pairs and a
        few hundred steps this hardly matters, and notebooks 06–07's committed results were trained so."""
        batch_size = require_int(batch_size, "batch_size", minimum=1)
        rng = random.Random(seed)
        codec = self.tgt_codec

        def get_batch(split: str = "train"):
            chosen = [self.ids[rng.randrange(len(self.ids))] for _ in range(batch_size)]
            return collate(chosen, codec.pad_id, codec.bos_id, codec.eos_id)

        return get_batch


# ---------------------------------------------------------------------------------------------------
# 3) the model
# ---------------------------------------------------------------------------------------------------
@dataclass
class Seq2SeqConfig:
    src_vocab_size: int              # V_src
    tgt_vocab_size: int              # V_tgt
    max_src_len: int = 64            # longest source (with <eos>) the model accepts
    max_tgt_len: int = 64            # longest decoder input (with <bos>) the model accepts
    d_model: int = 128               # C: width of every token vector
    n_heads: int = 4                 # attention heads per sublayer
    n_encoder_layers: int = 2
    n_decoder_layers: int = 2
    d_ff: int | None = None          # feed-forward width; None = 4 * d_model
    dropout: float = 0.0
    positional: str = "learned"      # "learned" or "sinusoidal" (see the note on the embedding scale)
    pad_id: int = 0                  # ids of the special tokens (course_utils.tokenizers.Vocab's order)
    bos_id: int = 2
    eos_id: int = 3

    def __post_init__(self):
        check_config(self, ("src_vocab_size", "tgt_vocab_size", "max_src_len", "max_tgt_len", "d_model", "n_heads",
                            "n_encoder_layers", "n_decoder_layers"))

    def to_dict(self) -> dict:
        """Plain values only: safe to store in a weights_only checkpoint."""
        return asdict(self)


class EncoderDecoder(nn.Module):
    """The Transformer of "Attention Is All You Need" (pre-LayerNorm): `forward(src, tgt_in)` → logits."""

    def __init__(self, config: Seq2SeqConfig):
        super().__init__()
        if not isinstance(config, Seq2SeqConfig):
            raise TypeError(f"config must be a Seq2SeqConfig, got {type(config).__name__}")
        self.config = c = config
        self.src_embed = Embeddings(c.src_vocab_size, c.max_src_len, c.d_model, c.positional, c.dropout)
        self.tgt_embed = Embeddings(c.tgt_vocab_size, c.max_tgt_len, c.d_model, c.positional, c.dropout)
        self.encoder = nn.ModuleList(TransformerBlock(c.d_model, c.n_heads, c.d_ff, c.dropout, causal=False)
                                     for _ in range(c.n_encoder_layers))
        self.decoder = nn.ModuleList(TransformerBlock(c.d_model, c.n_heads, c.d_ff, c.dropout, causal=True,
                                                      cross_attention=True)
                                     for _ in range(c.n_decoder_layers))
        self.ln_memory = nn.LayerNorm(c.d_model)   # pre-LN stacks end with a LayerNorm
        self.ln_out = nn.LayerNorm(c.d_model)
        self.head = nn.Linear(c.d_model, c.tgt_vocab_size, bias=False)
        self.apply(init_weights)
        self.head.weight = self.tgt_embed.token.weight  # tied: one V_tgt × C matrix reads and scores targets

    def source_mask(self, src: torch.Tensor) -> torch.Tensor:
        """(B, 1, 1, S) keep-mask: no query may attend to a padding position of the source."""
        return padding_mask(src, self.config.pad_id)

    def encode(self, src: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Source ids (B, S) → (memory (B, S, C), source mask (B, 1, 1, S))."""
        c = self.config
        check_token_ids(src, "src", c.src_vocab_size, c.max_src_len, "max_src_len")
        src_mask = self.source_mask(src)
        if not src_mask.any(dim=-1).all():
            raise ValueError("src has a row made only of padding: every source needs at least one token "
                             "(encode an empty sentence as just <eos>)")
        x = self.src_embed(src)                       # (B, S, C)
        for block in self.encoder:
            x = block(x, mask=src_mask)               # (B, S, C): every source token sees all real tokens
        return self.ln_memory(x), src_mask

    def decode(self, tgt_in: torch.Tensor, memory: torch.Tensor, src_mask: torch.Tensor) -> torch.Tensor:
        """Decoder input ids (B, T) attending over memory (B, S, C) → next-token logits (B, T, V_tgt)."""
        c = self.config
        check_token_ids(tgt_in, "tgt_in", c.tgt_vocab_size, c.max_tgt_len, "max_tgt_len")
        y = self.tgt_embed(tgt_in)                    # (B, T, C)
        for block in self.decoder:
            y = block(y, memory=memory, memory_mask=src_mask)  # causal self-attn, then cross-attn to source
        return self.head(self.ln_out(y))              # (B, T, V_tgt)

    def forward(self, src: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: logits (B, T, V_tgt) for every position of `tgt_in` given the whole source."""
        if src.size(0) != tgt_in.size(0):
            raise ValueError(f"src and tgt_in must have the same batch size, got {src.size(0)} and "
                             f"{tgt_in.size(0)}")
        memory, src_mask = self.encode(src)
        return self.decode(tgt_in, memory, src_mask)


def seq2seq_loss(pad_id: int = 0) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """Cross-entropy over the real target positions only (labels equal to `pad_id` are ignored)."""
    from course_utils.training import lm_loss

    def loss_fn(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return lm_loss(logits, targets, ignore_index=pad_id)

    return loss_fn


# ---------------------------------------------------------------------------------------------------
# 4) decoding: greedy and beam search (re-running the decoder on the growing prefix; no KV cache)
# ---------------------------------------------------------------------------------------------------
def _decode_limit(model: EncoderDecoder, max_len: int | None) -> int:
    limit = model.config.max_tgt_len - 1 if max_len is None else require_int(max_len, "max_len", minimum=1)
    if limit > model.config.max_tgt_len - 1:
        raise ValueError(f"max_len={limit} needs a decoder input of {limit + 1} tokens, but the model's "
                         f"max_tgt_len is {model.config.max_tgt_len}; use max_len ≤ {model.config.max_tgt_len - 1}")
    return limit


def _strip(ids: list[int], eos_id: int) -> list[int]:
    return ids[: ids.index(eos_id)] if eos_id in ids else ids


@torch.no_grad()
def greedy_decode(model: EncoderDecoder, src: torch.Tensor, max_len: int | None = None) -> list[list[int]]:
    """For each source row (B, S), append the single most likely token until <eos> (or max_len tokens).

    Returns B lists of target ids without <bos>/<eos>.
    """
    c = model.config
    limit = _decode_limit(model, max_len)
    src = src.to(model_device(model))                                 # follow a moved model
    was_training = model.training
    model.eval()
    try:
        memory, src_mask = model.encode(src)                          # (B, S, C), (B, 1, 1, S)
        out = torch.full((src.size(0), 1), c.bos_id, dtype=torch.long, device=src.device)  # (B, 1)
        done = torch.zeros(src.size(0), dtype=torch.bool, device=src.device)
        for _ in range(limit):
            nxt = model.decode(out, memory, src_mask)[:, -1].argmax(-1)  # (B,)
            nxt = nxt.masked_fill(done, c.pad_id)                      # finished rows just pad
            out = torch.cat([out, nxt[:, None]], dim=1)                # (B, t + 1)
            done |= nxt == c.eos_id
            if done.all():
                break
    finally:
        model.train(was_training)
    return [_strip(row[1:].tolist(), c.eos_id) for row in out]


def length_normalised(log_prob: float, length: int, alpha: float) -> float:
    """Beam score = log P(y | x) / |y|^α (|y| counts <eos>): α = 0 is the raw log-probability, which
    favours short outputs (every token multiplies in a probability < 1); α = 1 is the mean per token."""
    return log_prob / max(1, length) ** alpha


@torch.no_grad()
def beam_search(model: EncoderDecoder, src: torch.Tensor, beam_size: int = 4, max_len: int | None = None,
                alpha: float = 1.0) -> list[list[int]]:
    """Keep the `beam_size` most probable partial translations of each source row instead of one.

    At every step each live hypothesis is extended by every token; the best `beam_size` extensions
    that do not end in <eos> stay alive, those that end in <eos> are set aside as finished. A source is
    done when `beam_size` hypotheses have finished (or after max_len tokens); the winner is the finished
    hypothesis with the highest length-normalised score `length_normalised(log P, |y|, alpha)`.
    beam_size=1 is exactly greedy decoding. Returns B lists of target ids without <bos>/<eos>.
    """
    beam_size = require_int(beam_size, "beam_size", minimum=1)
    if alpha < 0:
        raise ValueError(f"alpha must be ≥ 0, got {alpha}")
    c, k = model.config, beam_size
    limit = _decode_limit(model, max_len)
    src = src.to(model_device(model))                                        # follow a moved model
    was_training = model.training
    model.eval()
    try:
        memory, src_mask = model.encode(src)                                 # (B, S, C)
        B = src.size(0)
        memory = memory.repeat_interleave(k, dim=0)                          # (B·k, S, C)
        src_mask = src_mask.repeat_interleave(k, dim=0)                      # (B·k, 1, 1, S)
        hyps = torch.full((B * k, 1), c.bos_id, dtype=torch.long, device=src.device)  # (B·k, 1)
        scores = torch.full((B, k), float("-inf"), device=src.device)
        scores[:, 0] = 0.0                    # start from one hypothesis, not k copies of it
        finished: list[list[tuple[float, list[int]]]] = [[] for _ in range(B)]
        for step in range(1, limit + 1):
            log_p = model.decode(hyps, memory, src_mask)[:, -1].log_softmax(-1)   # (B·k, V)
            V = log_p.size(-1)
            cand = (scores[:, :, None] + log_p.view(B, k, V)).view(B, k * V)      # (B, k·V)
            top_scores, top_idx = cand.topk(min(2 * k, k * V), dim=-1)           # (B, 2k): enough to refill
            new_rows, new_tokens = [], []
            new_scores = torch.full((B, k), float("-inf"), device=src.device)
            for b in range(B):
                alive = 0
                for score, idx in zip(top_scores[b].tolist(), top_idx[b].tolist()):
                    if alive == k or score == float("-inf"):
                        break
                    beam, token = divmod(idx, V)
                    if token == c.eos_id:
                        if len(finished[b]) < k:
                            prefix = hyps[b * k + beam, 1:].tolist()
                            finished[b].append((length_normalised(score, step, alpha), prefix))
                        continue
                    new_rows.append(b * k + beam)
                    new_tokens.append(token)
                    new_scores[b, alive] = score
                    alive += 1
                if len(finished[b]) >= k:                  # done: its live beams no longer matter
                    new_scores[b] = float("-inf")
                while alive < k:                           # keep the (B·k) shape with dead filler rows
                    new_rows.append(b * k)
                    new_tokens.append(c.pad_id)
                    alive += 1
            rows = torch.tensor(new_rows, device=src.device)
            hyps = torch.cat([hyps[rows], torch.tensor(new_tokens, device=src.device)[:, None]], dim=1)
            scores = new_scores
            if all(len(f) >= k for f in finished) or bool(torch.isinf(scores).all()):
                break
        # sources still unfinished at max_len: their live hypotheses compete, unterminated
        for b in range(B):
            if len(finished[b]) < k:
                for j in range(k):
                    if scores[b, j] > float("-inf"):
                        finished[b].append((length_normalised(scores[b, j].item(), hyps.size(1) - 1, alpha),
                                            hyps[b * k + j, 1:].tolist()))
    finally:
        model.train(was_training)
    return [max(f, key=lambda pair: pair[0])[1] if f else [] for f in finished]


@torch.no_grad()
def cross_attention_weights(model: EncoderDecoder, src: torch.Tensor, tgt_in: torch.Tensor) -> list[torch.Tensor]:
    """One (B, h, T, S) tensor per decoder layer: how much each target position attends to each source
    position (rows sum to 1 over the real source tokens). Average over heads for a heatmap.
    `src`/`tgt_in` are moved to the model's device; the weights come back on `src`'s device."""
    device = model_device(model)
    was_training = model.training
    model.eval()  # eval mode: MultiHeadAttention computes and keeps `.attn` with the explicit formula
    try:
        model(src.to(device), tgt_in.to(device))
        weights = [block.cross_attn.attn.to(src.device) for block in model.decoder]
    finally:
        model.train(was_training)
    return weights


def translate(model: EncoderDecoder, texts: Sequence[str], src_codec: TextCodec, tgt_codec: TextCodec,
              beam_size: int = 1, batch_size: int = 64, max_len: int | None = None, alpha: float = 1.0) -> list[str]:
    """Texts in → texts out: encode (+ <eos>), decode greedily (beam_size=1) or by beam search, detokenize."""
    if isinstance(texts, str):
        raise TypeError("texts must be a list of str, got one str; wrap it: translate(model, [text], …)")
    device = model_device(model)
    outputs: list[str] = []
    for i in range(0, len(texts), batch_size):
        chunk = texts[i : i + batch_size]
        src = pad_batch([[*src_codec.encode(t), src_codec.eos_id] for t in chunk], src_codec.pad_id).to(device)
        ids = (greedy_decode(model, src, max_len) if beam_size == 1
               else beam_search(model, src, beam_size, max_len, alpha))
        outputs += [tgt_codec.decode(row) for row in ids]
    return outputs


def exact_match(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """Fraction of hypotheses identical to their reference (0–1)."""
    if len(hypotheses) != len(references):
        raise ValueError(f"hypotheses and references must have the same length, got {len(hypotheses)} "
                         f"and {len(references)}")
    if not hypotheses:
        raise ValueError("hypotheses must not be empty")
    return sum(h == r for h, r in zip(hypotheses, references)) / len(hypotheses)


__all__ = ["TextCodec", "collate", "Seq2SeqData", "Seq2SeqConfig", "EncoderDecoder", "seq2seq_loss",
           "greedy_decode", "beam_search", "length_normalised", "cross_attention_weights", "translate",
           "exact_match"]
