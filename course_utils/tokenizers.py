"""Text → tokens → integer ids, and back.

* `Vocab` — the article's "vocabulary: a map from each word to a unique integer", with the special
  tokens every model needs: <pad> (fill short sequences), <unk> (unknown words), <bos>/<eos>
  (begin/end of sequence).
* `char_tokenize`, `word_tokenize` (NLTK, spaCy, jieba backends — all work offline, no downloads).
* `BPETokenizer` (byte-level BPE from scratch, see `course_utils.bpe`) and `gpt2_encoding()`, GPT-2's
  real tokenizer loaded from the shipped ranks file.
"""
from __future__ import annotations

import functools
import logging
from collections import Counter
from typing import Iterable, Sequence

from course_utils.bpe import BPETokenizer, GPT2_SPLIT_PATTERN  # noqa: F401  (re-exported)
from course_utils.validation import require_str

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
SPECIAL_TOKENS = (PAD, UNK, BOS, EOS)


class Vocab:
    """A two-way map token ⇄ id. Specials come first (<pad>=0, <unk>=1, <bos>=2, <eos>=3), then
    tokens by descending frequency (ties alphabetical) so the same corpus always gives the same ids."""

    def __init__(self, tokens: Iterable[str] = (), specials: Sequence[str] = SPECIAL_TOKENS):
        if UNK not in specials:
            raise ValueError(f"specials must include {UNK!r} (used for unknown tokens), got {list(specials)}")
        self.itos: list[str] = []
        self.stoi: dict[str, int] = {}
        for token in [*specials, *tokens]:
            if not isinstance(token, str):
                raise TypeError(f"tokens must be str, got {type(token).__name__}: {token!r}")
            if token not in self.stoi:
                self.stoi[token] = len(self.itos)
                self.itos.append(token)
        self.specials = tuple(specials)

    @classmethod
    def build(cls, token_lists: Iterable[Iterable[str]], min_freq: int = 1, max_size: int | None = None,
              specials: Sequence[str] = SPECIAL_TOKENS) -> "Vocab":
        """Count tokens over many sequences; keep those seen ≥ min_freq times (at most max_size)."""
        if isinstance(token_lists, str):
            raise TypeError("token_lists must be an iterable of token lists, got one str; "
                            "wrap it: Vocab.build([tokens])")
        if min_freq < 1:
            raise ValueError(f"min_freq must be ≥ 1, got {min_freq}")
        counts = Counter(token for tokens in token_lists for token in tokens)
        ranked = sorted((t for t, c in counts.items() if c >= min_freq and t not in specials),
                        key=lambda t: (-counts[t], t))
        if max_size is not None:
            ranked = ranked[: max(0, max_size - len(specials))]
        return cls(ranked, specials)

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: str) -> bool:
        return token in self.stoi

    def __getitem__(self, token: str) -> int:
        return self.stoi.get(token, self.unk_id)

    def __repr__(self) -> str:
        return f"Vocab(size={len(self)}, first={self.itos[:8]})"

    pad_id = property(lambda self: self.stoi.get(PAD))
    unk_id = property(lambda self: self.stoi[UNK])
    bos_id = property(lambda self: self.stoi.get(BOS))
    eos_id = property(lambda self: self.stoi.get(EOS))

    def encode(self, tokens: Sequence[str], add_bos_eos: bool = False) -> list[int]:
        """Tokens → ids; unknown tokens map to <unk>."""
        if isinstance(tokens, str):
            raise TypeError("tokens must be a list of str, got one str; tokenize it first")
        ids = [self[t] for t in tokens]
        return [self.bos_id, *ids, self.eos_id] if add_bos_eos else ids

    def decode(self, ids: Iterable[int], skip_specials: bool = True) -> list[str]:
        """Ids → tokens (specials dropped unless skip_specials=False)."""
        out = []
        for i in ids:
            i = int(i)
            if not 0 <= i < len(self):
                raise ValueError(f"ids must be in [0, {len(self)}), got {i}")
            if not (skip_specials and self.itos[i] in self.specials):
                out.append(self.itos[i])
        return out


def char_tokenize(text: str) -> list[str]:
    """One token per Unicode character."""
    require_str(text)
    return list(text)


@functools.lru_cache(maxsize=None)
def _spacy_blank(lang: str):
    import spacy

    return spacy.blank(lang)


@functools.lru_cache(maxsize=1)
def _jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)  # silence "Building prefix dict…" timing messages
    return jieba


WORD_BACKENDS = ("nltk", "spacy", "jieba", "whitespace")


def word_tokenize(text: str, backend: str = "nltk", lang: str = "en") -> list[str]:
    """Split text into words and punctuation with a data-free tokenizer.

    nltk: NLTK's improved Treebank rules; spacy: spaCy's rule-based tokenizer (`spacy.blank(lang)`);
    jieba: Chinese word segmentation; whitespace: `str.split()`.
    """
    require_str(text)
    if backend == "nltk":
        from nltk.tokenize import NLTKWordTokenizer

        return NLTKWordTokenizer().tokenize(text)
    if backend == "spacy":
        return [t.text for t in _spacy_blank(lang)(text) if not t.is_space]
    if backend == "jieba":
        return [w for w in _jieba().lcut(text) if w.strip()]
    if backend == "whitespace":
        return text.split()
    raise ValueError(f"backend must be one of {WORD_BACKENDS}, got {backend!r}")


@functools.lru_cache(maxsize=1)
def gpt2_encoding():
    """GPT-2's real BPE (tiktoken's r50k_base), built from the shipped ranks file — no download."""
    import tiktoken
    from tiktoken.load import load_tiktoken_bpe

    from course_utils.data import path_of

    ranks = load_tiktoken_bpe(str(path_of("gpt2_bpe")))
    return tiktoken.Encoding(name="gpt2-offline", pat_str=GPT2_SPLIT_PATTERN, mergeable_ranks=ranks,
                             special_tokens={"<|endoftext|>": 50256})


class CharTokenizer:
    """Character-level tokenizer for language models: one id per distinct character of a corpus."""

    def __init__(self, chars: Sequence[str]):
        if len(set(chars)) != len(chars) or not all(isinstance(c, str) and len(c) == 1 for c in chars):
            raise ValueError("chars must be distinct single characters")
        self.itos = list(chars)
        self.stoi = {c: i for i, c in enumerate(self.itos)}

    @classmethod
    def from_text(cls, text: str) -> "CharTokenizer":
        """The sorted set of characters in `text` becomes the vocabulary."""
        require_str(text)
        return cls(sorted(set(text)))

    @property
    def vocab_size(self) -> int:
        return len(self.itos)

    def encode(self, text: str) -> list[int]:
        require_str(text)
        unknown = sorted(set(text) - self.stoi.keys())
        if unknown:
            raise ValueError(f"text has characters outside the vocabulary: {unknown[:10]}")
        return [self.stoi[c] for c in text]

    def decode(self, ids: Iterable[int]) -> str:
        ids = [int(i) for i in ids]
        bad = [i for i in ids if not 0 <= i < len(self.itos)]
        if bad:
            raise ValueError(f"ids must be in [0, {len(self.itos)}), got {bad[:5]}")
        return "".join(self.itos[i] for i in ids)
