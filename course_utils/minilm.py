"""all-MiniLM-L6-v2 rebuilt from the course's own pieces: a WordPiece tokenizer and a post-LN BERT encoder.

    from course_utils.pretrained import load_minilm
    encoder = load_minilm()                                   # offline, sha256-checked, real weights
    vectors = encoder.encode(["a cat sat", "a dog ran"])      # (2, 384) float, each row of length 1
    similarity = vectors @ vectors.T                          # cosine similarities

The pipeline, exactly as sentence-transformers runs the published model:

    text → WordPiece ids [CLS] … [SEP] (≤ 256)                                 (B, T)
      → word + position + token-type embeddings → LayerNorm                   (B, T, C)   C = 384
      → 6 × post-LN block:  x = LN(x + Attention(x));  x = LN(x + FFN(x))     (B, T, C)
      → mean over the non-padding positions → divide by the L2 norm           (B, C)

BERT puts LayerNorm *after* each residual sum (post-LN, as in "Attention Is All You Need"); the course
GPT puts it before each sublayer (pre-LN). `PostLNBlock` is the course's `TransformerBlock` — the same
`MultiHeadAttention`, `FeedForward` and `nn.LayerNorm` modules — with only the order of operations changed.
"""
from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from course_utils.attention import padding_mask
from course_utils.transformer import TransformerBlock
from course_utils.validation import require_int, require_str

# ---------------------------------------------------------------------------------------------------
# 1) WordPiece tokenization, as BERT does it (uncased)
# ---------------------------------------------------------------------------------------------------
SPECIAL_TOKENS = {"pad": "[PAD]", "unk": "[UNK]", "cls": "[CLS]", "sep": "[SEP]"}
# Unicode White_Space (what the reference tokenizer maps to a space); \t \n \r count as whitespace too
_WHITESPACE = frozenset("\t\n\v\f\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000") | \
    frozenset(map(chr, range(0x2000, 0x200B)))
_ASCII_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
# CJK ideograph blocks whose characters are split one per token (CJK text has no spaces between words).
# The ranges are those of the reference (Rust) tokenizer, which differ from BERT's paper code in one block.
_CJK_RANGES = ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F), (0x2B740, 0x2B81F),
               (0x2B920, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F))


def _is_control(char: str) -> bool:
    """Control, format, surrogate and private-use characters (Cc, Cf, Cs, Co), except \\t \\n \\r, which count
    as whitespace. Unassigned code points (Cn) are kept, as the reference tokenizer keeps them (→ [UNK])."""
    return char not in "\t\n\r" and unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co")


def _is_punctuation(char: str) -> bool:
    """ASCII punctuation (including $ + < = > ^ ` | ~, which Unicode calls symbols) or any Unicode P* category."""
    return char in _ASCII_PUNCTUATION or unicodedata.category(char).startswith("P")


def _is_cjk(char: str) -> bool:
    code = ord(char)
    return any(low <= code <= high for low, high in _CJK_RANGES)


def bert_normalize(text: str, lowercase: bool = True) -> str:
    """BERT's normalizer: 1) drop NUL, U+FFFD and control characters, turn any whitespace into a space;
    2) put spaces around each CJK ideograph; 3) (uncased) strip accents: NFD, drop non-spacing marks;
    4) (uncased) lowercase. "Crème  Brûlée 日本" → "creme brulee  日  本 "."""
    text = require_str(text, "text")
    chars = []
    for char in text:
        if char in "\x00\ufffd" or _is_control(char):                                      # 1) clean
            continue
        char = " " if char in _WHITESPACE else char
        chars.append(f" {char} " if _is_cjk(char) else char)                               # 2) CJK
    text = "".join(chars)
    if lowercase:
        text = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")  # 3)
        text = text.lower()                                                                 # 4)
    return text


def bert_pre_tokenize(text: str) -> list[str]:
    """Split normalized text into words: on whitespace (dropped) and around every punctuation character
    (kept as a word of its own). "don't stop!" → ["don", "'", "t", "stop", "!"]."""
    words, current = [], []
    for char in text:
        if char in _WHITESPACE or _is_punctuation(char):
            if current:
                words.append("".join(current))
                current = []
            if char not in _WHITESPACE:
                words.append(char)
        else:
            current.append(char)
    if current:
        words.append("".join(current))
    return words


class WordPieceTokenizer:
    """BERT's uncased WordPiece tokenizer, written out: normalize → split into words → greedy longest-match
    subwords from `vocab.txt` ("##" marks a piece that continues a word) → [CLS] … [SEP], ≤ `max_length`.

    Unlike BPE, which *merges* learned pairs bottom-up, WordPiece *looks up* the longest vocabulary
    entry at each position, left to right; a word it cannot cover (or longer than `max_word_chars`
    characters) becomes one [UNK].

    Equal to `transformers`' BertTokenizerFast (tests/test_minilm.py). Measured over every code point, each
    between two letters: identical for all but 503 of 1,112,064 (Python 3.11, Unicode 14), all characters
    that Unicode assigned after the reference's own (older) character tables — e.g. Arabic Quranic marks
    U+0898–U+089F: Python calls them accents or punctuation, the reference treats them as letters ([UNK])."""

    def __init__(self, vocab: Sequence[str], max_length: int = 256, lowercase: bool = True,
                 max_word_chars: int = 100):
        self.id_to_token = list(vocab)
        self.token_to_id = {token: i for i, token in enumerate(self.id_to_token)}
        missing = [t for t in SPECIAL_TOKENS.values() if t not in self.token_to_id]
        if missing:
            raise ValueError(f"vocab lacks the special tokens {missing}")
        self.max_length = require_int(max_length, "max_length", minimum=2)
        self.max_word_chars = require_int(max_word_chars, "max_word_chars", minimum=1)
        self.lowercase = bool(lowercase)
        self.pad_id, self.unk_id, self.cls_id, self.sep_id = (self.token_to_id[SPECIAL_TOKENS[k]]
                                                              for k in ("pad", "unk", "cls", "sep"))

    @classmethod
    def from_vocab_file(cls, path: str | Path, **kwargs) -> "WordPieceTokenizer":
        """A tokenizer from a BERT `vocab.txt`: one token per line, its id = its line number."""
        lines = Path(path).read_text(encoding="utf-8").split("\n")
        return cls(lines[:-1] if lines and lines[-1] == "" else lines, **kwargs)

    @property
    def vocab_size(self) -> int:
        return len(self.id_to_token)

    def wordpiece(self, word: str) -> list[str]:
        """Greedy longest-match-first: "unaffable" → ["una", "##ffa", "##ble"] (if those are in the vocab)."""
        if len(word) > self.max_word_chars:
            return [SPECIAL_TOKENS["unk"]]
        pieces, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start:                                   # shrink until the piece is in the vocab
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.token_to_id:
                    break
                end -= 1
            if end == start:                                     # nothing matches: the whole word is unknown
                return [SPECIAL_TOKENS["unk"]]
            pieces.append(piece)
            start = end
        return pieces

    def tokenize(self, text: str) -> list[str]:
        """Word pieces of `text`, without [CLS]/[SEP] and without truncation."""
        return [piece for word in bert_pre_tokenize(bert_normalize(text, self.lowercase))
                for piece in self.wordpiece(word)]

    def encode(self, text: str, max_length: int | None = None) -> list[int]:
        """[CLS] + the first (max_length − 2) pieces + [SEP], as ids. "" → [CLS, SEP]."""
        max_length = self.max_length if max_length is None else require_int(max_length, "max_length", minimum=2)
        ids = [self.token_to_id[piece] for piece in self.tokenize(text)][: max_length - 2]
        return [self.cls_id, *ids, self.sep_id]

    def convert_ids_to_tokens(self, ids: Iterable[int]) -> list[str]:
        return [self.id_to_token[int(i)] for i in ids]

    def pad(self, sequences: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        """(ids, keep): a (B, T) batch right-padded with [PAD] to its longest sequence, and the (B, T)
        bool mask of real tokens."""
        width = max(len(s) for s in sequences)
        ids = torch.full((len(sequences), width), self.pad_id, dtype=torch.long)   # (B, T)
        keep = torch.zeros(len(sequences), width, dtype=torch.bool)                 # (B, T)
        for row, seq in enumerate(sequences):
            ids[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
            keep[row, : len(seq)] = True
        return ids, keep


# ---------------------------------------------------------------------------------------------------
# 2) the encoder: BERT embeddings → N post-LN blocks
# ---------------------------------------------------------------------------------------------------
@dataclass
class BertConfig:
    """Sizes of a BERT encoder (defaults: all-MiniLM-L6-v2, 22.6 M parameters without BERT's unused pooler)."""
    vocab_size: int = 30522
    max_positions: int = 512
    type_vocab_size: int = 2
    d_model: int = 384
    n_heads: int = 12
    n_layers: int = 6
    d_ff: int = 1536
    layer_norm_eps: float = 1e-12
    dropout: float = 0.1

    @classmethod
    def from_hf(cls, hf: dict) -> "BertConfig":
        """From a Hugging Face BERT config.json (exact-GELU, absolute-position BERTs only)."""
        if hf.get("hidden_act", "gelu") != "gelu" or hf.get("position_embedding_type", "absolute") != "absolute":
            raise ValueError(f"only hidden_act='gelu' with absolute positions is supported, got "
                             f"{hf.get('hidden_act')!r}, {hf.get('position_embedding_type')!r}")
        return cls(vocab_size=hf["vocab_size"], max_positions=hf["max_position_embeddings"],
                   type_vocab_size=hf["type_vocab_size"], d_model=hf["hidden_size"],
                   n_heads=hf["num_attention_heads"], n_layers=hf["num_hidden_layers"],
                   d_ff=hf["intermediate_size"], layer_norm_eps=hf["layer_norm_eps"],
                   dropout=hf.get("hidden_dropout_prob", 0.1))


class BertEmbeddings(nn.Module):
    """x = LayerNorm(Word[ids] + Position[0 … T-1] + TokenType[types]): (B, T) ids → (B, T, C).
    Token types mark sentence A / B of a pair; a single sentence is all type 0."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.word = nn.Embedding(config.vocab_size, config.d_model)
        self.position = nn.Embedding(config.max_positions, config.d_model)
        self.token_type = nn.Embedding(config.type_vocab_size, config.d_model)
        self.ln = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, ids: torch.Tensor, token_types: torch.Tensor | None = None) -> torch.Tensor:
        T = ids.size(1)
        positions = torch.arange(T, device=ids.device)                       # (T,)
        types = torch.zeros_like(ids) if token_types is None else token_types
        x = self.word(ids) + self.position(positions) + self.token_type(types)  # (B, T, C)
        return self.dropout(self.ln(x))


class PostLNBlock(TransformerBlock):
    """The course's `TransformerBlock` (bidirectional: causal=False) with LayerNorm *after* each residual
    sum, as BERT and the original Transformer do:

        x = LN₁(x + Dropout(SelfAttention(x)))
        x = LN₂(x + FeedForward(x))

    Same modules, same names (`attn`, `ln_attn`, `ff`, `ln_ff`); only the order differs from pre-LN."""

    def __init__(self, d_model: int, n_heads: int, d_ff: int, dropout: float = 0.0, layer_norm_eps: float = 1e-12):
        super().__init__(d_model, n_heads, d_ff, dropout, causal=False, activation="gelu",
                         layer_norm_eps=layer_norm_eps)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None,
                need_weights: bool = False) -> torch.Tensor:
        """x (B, T, C) → (B, T, C). `mask` (B, 1, 1, T) keeps real tokens; need_weights=True keeps the
        attention weights in `self.attn.attn` (B, h, T, T) (explicit formula, slower than the fused kernel)."""
        x = self.ln_attn(x + self.dropout(self.attn(x, x, x, mask, need_weights=need_weights)))  # 1) attend
        return self.ln_ff(x + self.ff(x))                                                        # 2) think


class BertEncoder(nn.Module):
    """Embeddings → N post-LN blocks: (B, T) ids → (B, T, C) contextual token vectors."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.config = config
        self.embeddings = BertEmbeddings(config)
        self.blocks = nn.ModuleList(PostLNBlock(config.d_model, config.n_heads, config.d_ff, config.dropout,
                                                config.layer_norm_eps) for _ in range(config.n_layers))

    def forward(self, ids: torch.Tensor, keep: torch.Tensor | None = None,
                need_weights: bool = False) -> torch.Tensor:
        """`keep` (B, T) marks real tokens (True) vs padding; padding keys get no attention."""
        mask = None if keep is None else padding_mask(keep.long(), 0)       # (B, 1, 1, T)
        x = self.embeddings(ids)                                            # (B, T, C)
        for block in self.blocks:
            x = block(x, mask, need_weights=need_weights)
        return x


def mean_pool(hidden: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """Average of each sequence's real-token vectors ([CLS] and [SEP] included, padding excluded):
    (B, T, C), (B, T) → (B, C)."""
    weights = keep.to(hidden.dtype).unsqueeze(-1)                            # (B, T, 1)
    return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)        # (B, C)


def bert_state_dict(hf_state: dict[str, torch.Tensor], n_layers: int) -> dict[str, torch.Tensor]:
    """Rename a Hugging Face BertModel checkpoint to `BertEncoder`'s names (the pooler, unused by mean
    pooling, and the `position_ids` buffer are dropped)."""
    names = {"embeddings.word.weight": "embeddings.word_embeddings.weight",
             "embeddings.position.weight": "embeddings.position_embeddings.weight",
             "embeddings.token_type.weight": "embeddings.token_type_embeddings.weight",
             "embeddings.ln.weight": "embeddings.LayerNorm.weight", "embeddings.ln.bias": "embeddings.LayerNorm.bias"}
    per_layer = {"attn.w_q": "attention.self.query", "attn.w_k": "attention.self.key",
                 "attn.w_v": "attention.self.value", "attn.w_o": "attention.output.dense",
                 "ln_attn": "attention.output.LayerNorm", "ff.up": "intermediate.dense",
                 "ff.down": "output.dense", "ln_ff": "output.LayerNorm"}
    for i in range(n_layers):
        for ours, theirs in per_layer.items():
            for kind in ("weight", "bias"):
                names[f"blocks.{i}.{ours}.{kind}"] = f"encoder.layer.{i}.{theirs}.{kind}"
    prefix = "bert." if any(k.startswith("bert.") for k in hf_state) else ""
    missing = [theirs for theirs in names.values() if prefix + theirs not in hf_state]
    if missing:
        raise KeyError(f"checkpoint lacks {len(missing)} BERT tensors, e.g. {missing[:3]}")
    return {ours: hf_state[prefix + theirs] for ours, theirs in names.items()}


# ---------------------------------------------------------------------------------------------------
# 3) sentence embeddings: tokenize → encode → mean-pool → L2-normalise
# ---------------------------------------------------------------------------------------------------
class SentenceEncoder(nn.Module):
    """A tokenizer and a `BertEncoder` that turn sentences into unit-length vectors (mean pooling, then L2
    normalisation): the sentence-transformers recipe of all-MiniLM-L6-v2."""

    def __init__(self, encoder: BertEncoder, tokenizer: WordPieceTokenizer):
        super().__init__()
        if tokenizer.vocab_size != encoder.config.vocab_size:
            raise ValueError(f"tokenizer has {tokenizer.vocab_size} tokens, encoder expects "
                             f"{encoder.config.vocab_size}")
        if tokenizer.max_length > encoder.config.max_positions:
            raise ValueError(f"tokenizer.max_length={tokenizer.max_length} exceeds the encoder's "
                             f"{encoder.config.max_positions} positions")
        self.encoder, self.tokenizer = encoder, tokenizer

    @property
    def dim(self) -> int:
        return self.encoder.config.d_model

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def forward(self, ids: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        """(B, T) ids and keep-mask → (B, C) unit-length sentence vectors."""
        hidden = self.encoder(ids, keep)                                    # (B, T, C)
        return F.normalize(mean_pool(hidden, keep), p=2, dim=-1)            # (B, C)

    @torch.no_grad()
    def encode(self, texts: Sequence[str], batch_size: int = 64) -> torch.Tensor:
        """(N, C) float32 CPU tensor of sentence embeddings, rows in the order of `texts`.
        Batches are formed from texts sorted by token count (little padding, so it runs faster)."""
        if isinstance(texts, str):
            raise TypeError("texts must be a list of str, got a single str; wrap it: encode([text])")
        texts = [require_str(t, f"texts[{i}]") for i, t in enumerate(texts)]
        batch_size = require_int(batch_size, "batch_size", minimum=1)
        if not texts:
            return torch.zeros(0, self.dim)
        was_training = self.training
        self.eval()
        sequences = [self.tokenizer.encode(t) for t in texts]
        order = sorted(range(len(texts)), key=lambda i: -len(sequences[i]))
        out = torch.empty(len(texts), self.dim)
        device = self.device
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            ids, keep = self.tokenizer.pad([sequences[i] for i in rows])   # (B, T)
            out[rows] = self(ids.to(device), keep.to(device)).float().cpu()
        self.train(was_training)
        return out

    @torch.no_grad()
    def attention_maps(self, text: str) -> tuple[list[str], torch.Tensor]:
        """(tokens, weights): the text's word pieces ([CLS] … [SEP]) and every head's attention weights,
        (n_layers, n_heads, T, T); row t says how much token t draws from each token."""
        ids = torch.tensor([self.tokenizer.encode(text)], device=self.device)  # (1, T)
        was_training = self.training
        self.eval()
        self.encoder(ids, need_weights=True)
        self.train(was_training)
        weights = torch.stack([block.attn.attn[0] for block in self.encoder.blocks]).cpu()  # (L, h, T, T)
        return self.tokenizer.convert_ids_to_tokens(ids[0].tolist()), weights


def sentence_encoder_from_folder(folder: str | Path, device: str | torch.device = "cpu") -> SentenceEncoder:
    """A `SentenceEncoder` from a sentence-transformers BERT folder (config.json, model.safetensors,
    vocab.txt, sentence_bert_config.json, 1_Pooling/config.json), in eval mode on `device`. No checksum
    check here: `course_utils.pretrained.load_minilm` checks the files first."""
    from safetensors.torch import load_file

    folder = Path(folder)
    pooling = json.loads((folder / "1_Pooling" / "config.json").read_text(encoding="utf-8"))
    if not pooling.get("pooling_mode_mean_tokens") or any(
            pooling.get(k) for k in ("pooling_mode_cls_token", "pooling_mode_max_tokens",
                                     "pooling_mode_mean_sqrt_len_tokens")):
        raise ValueError(f"{folder}: only mean pooling is supported, got {pooling}")
    st_config = json.loads((folder / "sentence_bert_config.json").read_text(encoding="utf-8"))
    tok_config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    config = BertConfig.from_hf(json.loads((folder / "config.json").read_text(encoding="utf-8")))
    tokenizer = WordPieceTokenizer.from_vocab_file(folder / "vocab.txt", max_length=st_config["max_seq_length"],
                                                   lowercase=tok_config.get("do_lower_case", True))
    encoder = BertEncoder(config)
    encoder.load_state_dict(bert_state_dict(load_file(str(folder / "model.safetensors")), config.n_layers))
    return SentenceEncoder(encoder, tokenizer).to(device).eval()
