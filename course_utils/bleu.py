"""Corpus BLEU (Papineni et al., 2002), written to agree with sacrebleu's default settings.

BLEU = BP · exp( (1/4) Σₙ log pₙ ),  pₙ = clipped n-gram matches / hypothesis n-grams (n = 1..4),
BP = 1 if c ≥ r else exp(1 − r/c), with c the total hypothesis length and r the total length of the
reference closest in length to each hypothesis. Counts are summed over the whole corpus before dividing
(corpus BLEU is *not* the mean of sentence BLEUs). A zero precision is smoothed as in mteval-v13a
("exp" smoothing): the k-th zero becomes 1 / (2ᵏ · total).

Tokenizers: "13a" (the default, for languages written with spaces), "zh" (Chinese: one token per
character), "char", "none" — each gives the same tokens as sacrebleu's tokenizer of that name.
Import it through the one metrics door: `from course_utils.metrics import bleu`.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from typing import Sequence

MAX_ORDER = 4
_13A_RULES = [
    (re.compile(r"([\{-\~\[-\` -\&\(-\+\:-\@\/])"), r" \1 "),  # punctuation and symbols
    (re.compile(r"([^0-9])([\.,])"), r"\1 \2 "),  # period/comma unless preceded by a digit
    (re.compile(r"([\.,])([^0-9])"), r" \1 \2"),  # period/comma unless followed by a digit
    (re.compile(r"([0-9])(-)"), r"\1 \2 "),  # dash after a digit
]


def _apply_13a_rules(line: str) -> str:
    for pattern, repl in _13A_RULES:
        line = pattern.sub(repl, line)
    return line


def tokenize_13a(line: str) -> list[str]:
    """The WMT "13a" tokenization: split off punctuation, keep numbers like 3.14 and 1,000 whole."""
    line = line.replace("<skipped>", "").replace("-\n", "").replace("\n", " ")
    if "&" in line:
        line = line.replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    return _apply_13a_rules(f" {line} ").split()


# Code-point ranges that sacrebleu's "zh" tokenizer treats as Chinese characters, copied as it has them.
# Two bounds are typos there ("\u20000" and "\u2a6d6" are two characters each, meant as U+20000 and
# U+2A6D6); compared as strings they make U+2001–U+2A6D (general punctuation, arrows, …) count as
# Chinese too. We keep them: the point is to score exactly as sacrebleu does.
_ZH_RANGES = (
    ("\u3400", "\u4db5"), ("\u4e00", "\u9fa5"), ("\u9fa6", "\u9fbb"), ("\uf900", "\ufa2d"),
    ("\ufa30", "\ufa6a"), ("\ufa70", "\ufad9"), ("\u20000", "\u2a6d6"), ("\u2f800", "\u2fa1d"),
    ("\uff00", "\uffef"), ("\u2e80", "\u2eff"), ("\u3000", "\u303f"), ("\u31c0", "\u31ef"),
    ("\u2f00", "\u2fdf"), ("\u2ff0", "\u2fff"), ("\u3100", "\u312f"), ("\u31a0", "\u31bf"),
    ("\ufe10", "\ufe1f"), ("\ufe30", "\ufe4f"), ("\u2600", "\u26ff"), ("\u2700", "\u27bf"),
    ("\u3200", "\u32ff"), ("\u3300", "\u33ff"),
)


def _is_chinese_char(char: str) -> bool:
    return any(start <= char <= end for start, end in _ZH_RANGES)


def tokenize_zh(line: str) -> list[str]:
    """sacrebleu's "zh" tokenization: every Chinese character is its own token (Chinese has no spaces,
    so 13a would see a whole sentence as one word), the rest is split by the 13a punctuation rules.

    "我爱NLP。" → ['我', '爱', 'NLP', '。']
    """
    spaced = "".join(f" {c} " if _is_chinese_char(c) else c for c in line.strip())
    return _apply_13a_rules(spaced).split()


TOKENIZERS = {"13a": tokenize_13a, "zh": tokenize_zh, "char": lambda s: [c for c in s if not c.isspace()],
              "none": str.split}


def ngram_counts(tokens: Sequence[str], max_order: int = MAX_ORDER) -> Counter:
    """All n-grams of order 1..max_order with their counts."""
    return Counter(tuple(tokens[i:i + n]) for n in range(1, max_order + 1) for i in range(len(tokens) - n + 1))


def _normalise_references(hypotheses, references) -> list[list[str]]:
    if isinstance(hypotheses, str) or not all(isinstance(h, str) for h in hypotheses):
        raise TypeError("hypotheses must be a list of str")
    if isinstance(references, str):
        raise TypeError("references must be a list (one reference, or a list of references, per hypothesis)")
    if len(hypotheses) != len(references):
        raise ValueError(f"hypotheses and references must have the same length, got {len(hypotheses)} "
                         f"hypotheses and {len(references)} references")
    refs = [[r] if isinstance(r, str) else list(r) for r in references]
    if any(not r or not all(isinstance(x, str) for x in r) for r in refs):
        raise TypeError("each reference must be a str or a non-empty list of str")
    return refs


def bleu_statistics(hypotheses: list[str], references, tokenize: str = "13a") -> dict:
    """Corpus sufficient statistics: matches and totals per order, hypothesis and reference lengths."""
    if tokenize not in TOKENIZERS:
        raise ValueError(f"tokenize must be one of {sorted(TOKENIZERS)}, got {tokenize!r}")
    split = TOKENIZERS[tokenize]
    refs = _normalise_references(hypotheses, references)
    correct, total = [0] * MAX_ORDER, [0] * MAX_ORDER
    sys_len = ref_len = 0
    for hyp, hyp_refs in zip(hypotheses, refs):
        hyp_tokens = split(hyp.rstrip())
        ref_tokens = [split(r.rstrip()) for r in hyp_refs]
        max_ref = Counter()
        for tokens in ref_tokens:
            max_ref |= ngram_counts(tokens)  # clip by the most generous reference
        for gram, count in ngram_counts(hyp_tokens).items():
            total[len(gram) - 1] += count
            correct[len(gram) - 1] += min(count, max_ref[gram])
        sys_len += len(hyp_tokens)
        ref_len += min((len(t) for t in ref_tokens), key=lambda n: (abs(n - len(hyp_tokens)), n))
    return {"correct": correct, "total": total, "sys_len": sys_len, "ref_len": ref_len}


def bleu(hypotheses: list[str], references: list[str] | list[list[str]], tokenize: str = "13a") -> float:
    """Corpus BLEU in 0–100. `references[i]` is the reference (or list of references) for hypotheses[i]."""
    s = bleu_statistics(hypotheses, references, tokenize)
    if not any(s["correct"]):
        return 0.0
    bp = 1.0 if s["sys_len"] >= s["ref_len"] else (math.exp(1 - s["ref_len"] / s["sys_len"]) if s["sys_len"] else 0.0)
    log_p, zeros = [], 0
    for correct, total in zip(s["correct"], s["total"]):
        if total == 0:  # hypotheses too short for this order: precision counts as 0
            log_p.append(-9999999999)
        elif correct == 0:
            zeros += 1
            log_p.append(math.log(1 / (2 ** zeros * total)))
        else:
            log_p.append(math.log(correct / total))
    return 100 * bp * math.exp(sum(log_p) / MAX_ORDER)
