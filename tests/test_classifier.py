"""Sentiment classifiers: padding, batching, the bag-of-words model equals W·counts + b, the Transformer
classifier ignores padding and learns a toy task, attention rollout is a proper distribution."""
import pytest
import torch

from course_utils.batching import pad_batch
from course_utils.classifier import (BagOfWordsClassifier, TransformerClassifier, attention_rollout,
                                     classification_batcher, cross_entropy_loss, encode_texts,
                                     occlusion_importance, predict, predict_proba, predict_sequences,
                                     sentiment_tokenize, token_relevance)
from course_utils.tokenizers import Vocab
from course_utils.training import train_model

TEXTS = ["a good film", "a bad film", "good good fun", "bad and dull", "not bad", "great fun"]


@pytest.fixture
def vocab():
    return Vocab.build([sentiment_tokenize(t) for t in TEXTS])


def test_encode_and_pad(vocab):
    ids = encode_texts(["A good film!", "zzz"], vocab)
    assert ids[0][:3] == [vocab["a"], vocab["good"], vocab["film"]]
    assert ids[1] == [vocab.unk_id]
    assert encode_texts(["good"], vocab, add_cls=True)[0] == [vocab.bos_id, vocab["good"]]
    batch = pad_batch([[5, 6, 7], [8]], pad_id=0)
    assert batch.tolist() == [[5, 6, 7], [8, 0, 0]] and batch.dtype == torch.long
    assert pad_batch([[5, 6, 7], [8]], pad_id=0, max_len=2).tolist() == [[5, 6], [8, 0]]
    assert pad_batch([[]], pad_id=0).shape == (1, 1)


def test_bad_input_is_explained(vocab):
    with pytest.raises(TypeError, match="got one str"):
        encode_texts("a good film", vocab)
    with pytest.raises(ValueError, match="max_len must be a positive int"):
        pad_batch([[1]], max_len=0)
    with pytest.raises(ValueError, match="same length, got 2 and 1"):
        classification_batcher([[1], [2]], [0])
    with pytest.raises(ValueError, match="pooling must be one of"):
        TransformerClassifier(10, pooling="max")
    model = TransformerClassifier(10, d_model=8, n_heads=2, n_layers=1, max_len=4)
    with pytest.raises(ValueError, match="longer than max_len=4"):
        model(torch.zeros(1, 5, dtype=torch.long))
    with pytest.raises(ValueError, match=r"ids must be in \[0, 10\)"):
        model(torch.full((1, 3), 12))
    with pytest.raises(ValueError, match="torch.long"):
        model(torch.zeros(1, 3))


def test_batcher_covers_every_example_once_per_epoch():
    seqs = [[i + 1] * (i % 3 + 1) for i in range(10)]
    get_batch = classification_batcher(seqs, list(range(10)), batch_size=5, seed=0)
    seen = []
    for _ in range(2):
        ids, labels = get_batch("train")
        assert ids.shape[0] == 5 and ids.shape[1] == max(len(seqs[i]) for i in labels.tolist())
        seen += labels.tolist()
    assert sorted(seen) == list(range(10))
    again = classification_batcher(seqs, list(range(10)), batch_size=5, seed=0)("train")[1]
    assert again.tolist() == seen[:5]                                # seeded: same order every run


def test_bucketed_batcher_pads_less_and_still_covers_every_example():
    seqs = [[i + 1] * (i % 7 + 1) for i in range(70)]                  # lengths 1…7, mixed
    plain = classification_batcher(seqs, list(range(70)), batch_size=7, seed=0)
    bucketed = classification_batcher(seqs, list(range(70)), batch_size=7, seed=0, bucket=True)
    seen, padded_plain, padded_bucketed = [], 0, 0
    for _ in range(10):                                                # one epoch
        ids, labels = bucketed("train")
        assert ids.shape[1] == max(len(seqs[i]) for i in labels.tolist())
        seen += labels.tolist()
        padded_bucketed += ids.numel()
        padded_plain += plain("train")[0].numel()
    assert sorted(seen) == list(range(70))                             # each example once per epoch
    assert padded_bucketed < padded_plain                              # similar lengths share a batch
    again = classification_batcher(seqs, list(range(70)), batch_size=7, seed=0, bucket=True)("train")[1]
    assert again.tolist() == seen[:7]                                  # seeded
    with pytest.raises(ValueError, match="batch_size must be"):
        classification_batcher(seqs, list(range(70)), batch_size=71, bucket=True)
    with pytest.raises(ValueError, match="split='train' only"):
        bucketed("val")


def test_predict_sequences_equals_predict_on_one_padded_tensor():
    torch.manual_seed(0)
    model = TransformerClassifier(20, d_model=16, n_heads=2, n_layers=1, dropout=0.0)
    seqs = [[5, 6, 7, 8, 9], [3], [4, 4], [10, 11, 12], [13] * 8, [7, 6]]
    assert predict_sequences(model, seqs, pad_id=0, batch_size=2) == predict(model, pad_batch(seqs, 0))
    assert predict_sequences(model, seqs, pad_id=0, max_len=2) == predict(model, pad_batch(seqs, 0, max_len=2))
    with pytest.raises(ValueError, match="for a padded tensor use predict"):
        predict_sequences(model, pad_batch(seqs, 0), pad_id=0)
    with pytest.raises(ValueError, match="non-empty list"):
        predict_sequences(model, [], pad_id=0)


def test_bag_of_words_is_logistic_regression_on_counts(vocab):
    model = BagOfWordsClassifier(vocab, binary=False)
    torch.nn.init.normal_(model.linear.weight)
    ids = pad_batch(encode_texts(["good good fun", "bad"], vocab), vocab.pad_id)
    counts = torch.zeros(2, len(vocab))
    counts[0, vocab["good"]], counts[0, vocab["fun"]], counts[1, vocab["bad"]] = 2, 1, 1
    assert torch.allclose(model.features(ids), counts)               # <pad> is not counted
    assert torch.allclose(model(ids), counts @ model.linear.weight.T + model.linear.bias)
    assert BagOfWordsClassifier(vocab, binary=True).features(ids)[0, vocab["good"]] == 1


def test_bag_of_words_learns_and_names_its_words(vocab):
    labels = [1, 0, 1, 0, 1, 1]
    seqs = encode_texts(TEXTS, vocab)
    model = BagOfWordsClassifier(vocab)
    train_model(model, classification_batcher(seqs, labels, 6), steps=100, lr=0.1, loss_fn=cross_entropy_loss,
                progress=False)
    assert predict(model, pad_batch(seqs, vocab.pad_id)) == labels
    positive, negative = model.top_words(2)
    assert {"good", "fun"} & {w for w, _ in positive} and "bad" in {w for w, _ in negative}


def test_transformer_classifier_ignores_padding():
    torch.manual_seed(0)
    for pooling in ("mean", "first"):
        model = TransformerClassifier(20, d_model=16, n_heads=2, n_layers=2, pooling=pooling).eval()
        ids = torch.tensor([[5, 6, 7]])
        padded = torch.tensor([[5, 6, 7, 0, 0]])
        assert torch.allclose(model(ids), model(padded), atol=1e-5), pooling


def test_transformer_classifier_learns_a_word_order_task():
    """Label = does token 3 come before token 4? Bag-of-words cannot tell; attention + positions can."""
    g = torch.Generator().manual_seed(0)
    seqs, labels = [], []
    for _ in range(256):
        row = torch.randint(5, 12, (6,), generator=g).tolist()
        i, j = torch.randperm(6, generator=g)[:2].tolist()
        row[i], row[j] = 3, 4
        seqs.append(row)
        labels.append(int(i < j))
    torch.manual_seed(0)
    model = TransformerClassifier(12, d_model=32, n_heads=2, n_layers=2, dropout=0.0)
    train_model(model, classification_batcher(seqs, labels, 32), steps=300, lr=3e-3, loss_fn=cross_entropy_loss,
                progress=False)
    acc = sum(p == y for p, y in zip(predict(model, pad_batch(seqs)), labels)) / len(labels)
    assert acc > 0.9
    assert torch.allclose(predict_proba(model, pad_batch(seqs[:4])).sum(-1), torch.ones(4))


def test_attention_maps_and_rollout():
    torch.manual_seed(0)
    model = TransformerClassifier(20, d_model=16, n_heads=2, n_layers=3)
    ids = torch.tensor([[5, 6, 7, 0], [8, 9, 0, 0]])
    maps = model.attention_maps(ids)
    assert model.training                                            # restored after the eval-mode pass
    assert len(maps) == 3 and maps[0].shape == (2, 2, 4, 4)
    assert torch.all(maps[0][1, :, :, 2:] == 0)                      # nobody attends to <pad> keys
    rollout = attention_rollout(maps)
    assert rollout.shape == (2, 4, 4)
    assert torch.allclose(rollout.sum(-1), torch.ones(2, 4), atol=1e-5)
    one = attention_rollout(maps[:1], residual=0.5)
    assert torch.allclose(one, 0.5 * torch.eye(4) + 0.5 * maps[0].mean(1), atol=1e-6)
    rel = token_relevance(model, ids)
    assert torch.allclose(rel.sum(-1), torch.ones(2), atol=1e-5) and torch.all(rel[1, 2:] == 0)
    with pytest.raises(ValueError, match="at least one layer"):
        attention_rollout([])


def test_occlusion_finds_the_deciding_word(vocab):
    model = BagOfWordsClassifier(vocab)
    with torch.no_grad():
        model.linear.weight[1, vocab["good"]] = 3.0                    # only "good" votes positive
    ids = torch.tensor(encode_texts(["a good film"], vocab)[0] + [vocab.pad_id])
    drop = occlusion_importance(model, ids, replace_id=vocab.unk_id, pad_id=vocab.pad_id)
    assert drop.shape == (4,) and drop.argmax() == 1
    assert drop[1].item() == pytest.approx(3.0, abs=1e-4)               # log-odds fall by exactly w_good
    assert torch.allclose(drop[[0, 2, 3]], torch.zeros(3), atol=1e-6)   # other words and <pad>: no effect
    assert occlusion_importance(model, ids, vocab.unk_id, vocab.pad_id, target=0)[1] < 0
    with pytest.raises(ValueError, match="one sentence"):
        occlusion_importance(model, torch.zeros(2, 3, dtype=torch.long), vocab.unk_id)
