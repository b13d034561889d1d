import pytest
import sacrebleu
from hypothesis import given, settings, strategies as st
from rouge_score import rouge_scorer

from course_utils.metrics import bleu, rouge, tokenize_13a, tokenize_zh

CASES = [
    (["the cat sat on the mat", "a quick brown fox"], ["the cat is on the mat", "the quick brown fox jumps"]),
    (["hello"], ["hello world"]),                                  # single word
    (["", "the cat"], ["the cat sat", "the cat"]),                 # empty hypothesis
    (["It costs $3.50, or 1,000 yen - really!"], ["It costs $3.50, or 1,000 yen - really?"]),
    (["a b c d e f"], ["x y z"]),                                  # no match at all
    (["Saturday, 15 February 2019"], ["samedi 15 février 2019"]),
]


def sacre(hyps, refs, tokenize="13a"):
    streams = [list(r) for r in zip(*[[x] if isinstance(x, str) else x for x in refs])]
    return sacrebleu.corpus_bleu(hyps, streams, tokenize=tokenize).score


@pytest.mark.parametrize("hyps, refs", CASES)
def test_bleu_equals_sacrebleu(hyps, refs):
    assert bleu(hyps, refs) == pytest.approx(sacre(hyps, refs), abs=0.01)


def test_bleu_multiple_references():
    hyps = ["the cat is on the mat", "there is a cat"]
    refs = [["the cat sat on the mat", "there is a cat on the mat"], ["a cat is there", "there is a cat here"]]
    assert bleu(hyps, refs) == pytest.approx(sacre(hyps, refs), abs=0.01)


def test_bleu_chinese_with_char_tokenizer():
    hyps, refs = ["我爱自然语言处理", "今天天气很好"], ["我喜欢自然语言处理", "今天的天气很好"]
    assert bleu(hyps, refs, tokenize="char") == pytest.approx(sacre(hyps, refs, "char"), abs=0.01)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.text("abc ,.", max_size=20), st.text("abc ,.", max_size=20)), min_size=1, max_size=5))
def test_bleu_equals_sacrebleu_on_random_text(pairs):
    hyps, refs = map(list, zip(*pairs))
    assert bleu(hyps, refs) == pytest.approx(sacre(hyps, refs), abs=0.01)


def test_bleu_perfect_and_bad_inputs():
    assert bleu(["the same sentence here"], ["the same sentence here"]) == pytest.approx(100)
    with pytest.raises(ValueError, match="same length, got 2 hypotheses and 1 references"):
        bleu(["a", "b"], ["a"])
    with pytest.raises(TypeError, match="hypotheses must be a list of str"):
        bleu("a b", ["a b"])
    with pytest.raises(ValueError, match="tokenize must be one of"):
        bleu(["a"], ["a"], tokenize="zh-fancy")


def test_13a_keeps_numbers_whole():
    assert tokenize_13a("Pay 1,000.50 now, ok?") == ["Pay", "1,000.50", "now", ",", "ok", "?"]


ROUGE_CASES = [
    (["the cat sat on the mat", "police killed the gunman"], ["the cat was on the mat", "the gunman was shot by police"]),
    (["", "Hello, World!"], ["something", "hello world"]),
    (["a b a b a"], ["b a b"]),
]


@pytest.mark.parametrize("hyps, refs", ROUGE_CASES)
def test_rouge_equals_rouge_score(hyps, refs):
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"])
    expected = {k: sum(scorer.score(r, h)[k].fmeasure for h, r in zip(hyps, refs)) / len(hyps)
                for k in ("rouge1", "rouge2", "rougeL")}
    assert rouge(hyps, refs) == pytest.approx(expected, abs=1e-9)


def test_rouge_bad_inputs():
    with pytest.raises(ValueError, match="same length, got 1 hypotheses and 2 references"):
        rouge(["a"], ["a", "b"])
    with pytest.raises(ValueError, match="at least one"):
        rouge([], [])
    with pytest.raises(TypeError, match="not a single str"):
        rouge("a", "a")


ZH_CASES = [
    (["我爱自然语言处理"], ["我喜欢自然语言处理"]),                       # 13a sees one "word" each: BLEU 0
    (["今天天气很好。", "他说：“你好！”"], ["今天的天气很好。", "他说：“您好！”"]),  # full-width punctuation
    (["我在2019年学了Python 3.10，很有意思"], ["我2019年开始学Python 3.10，非常有意思"]),  # mixed scripts, numbers
    (["价格是$3.50——太贵了…"], ["价格是 $3.50 —— 太贵了 …"]),                # punctuation sacrebleu counts as CJK
    (["", "北京"], ["北京欢迎你", "北京"]),                                   # empty hypothesis
]


@pytest.mark.parametrize("hyps, refs", ZH_CASES)
def test_bleu_zh_equals_sacrebleu(hyps, refs):
    from sacrebleu.tokenizers.tokenizer_zh import TokenizerZh

    sacre_zh = TokenizerZh()
    for line in hyps + refs:
        assert tokenize_zh(line) == sacre_zh(line).split(), line
    assert bleu(hyps, refs, tokenize="zh") == pytest.approx(sacre(hyps, refs, "zh"), abs=1e-9)


def test_chinese_needs_the_zh_tokenizer():
    hyp, ref = ["我爱自然语言处理"], ["我喜欢自然语言处理"]
    assert bleu(hyp, ref) == 0.0                                  # 13a: no shared "word"
    assert bleu(hyp, ref, tokenize="zh") == pytest.approx(62.40195441936915, abs=1e-9)

