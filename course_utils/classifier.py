"""Text classifiers for sentiment analysis (notebook 08): two models on the same padded token ids.

    token ids (B, T), padded with <pad>
      BagOfWordsClassifier:   counts(x) ∈ ℝ^V  → W·counts + b                    (B, K)   order-blind
      TransformerClassifier:  Embeddings → N × TransformerBlock(causal=False)     (B, T, C)
                              → pool (mean over real tokens, or the first <cls>)  (B, C)
                              → linear head                                       (B, K)

B = batch, T = padded length, V = vocabulary size, C = d_model, K = number of classes.

Helpers: `encode_texts` (text → ids), `classification_batcher` (random mini-batches for `train_model`,
padded by `course_utils.batching.pad_batch`; `bucket=True` groups rows of similar length), `predict`
(argmax labels of a padded tensor) and `predict_sequences` (of ragged id lists, batched by length — cheap
for a large model); `attention_rollout` /
`token_relevance` (which words the pooled vector drew on) and `occlusion_importance` (which words changed
the decision).
"""
from __future__ import annotations

from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from course_utils.attention import padding_mask
from course_utils.batching import epoch_batcher, pad_batch
from course_utils.env import model_device
from course_utils.tokenizers import Vocab, word_tokenize
from course_utils.transformer import Embeddings, TransformerBlock, init_weights
from course_utils.validation import check_token_ids, require_int

POOLINGS = ("mean", "first")


# ---------------------------------------------------------------------------------------------------
# 1) text → ids → padded batches
# ---------------------------------------------------------------------------------------------------
def sentiment_tokenize(text: str) -> list[str]:
    """Lower-cased NLTK word tokens: "Not bad!" → ['not', 'bad', '!'] (the course's default here)."""
    return word_tokenize(text.lower(), backend="nltk")


def encode_texts(texts: Sequence[str], vocab: Vocab, tokenize: Callable[[str], list[str]] = sentiment_tokenize,
                 add_cls: bool = False) -> list[list[int]]:
    """Each text → a list of ids (unknown words → <unk>); `add_cls` puts <bos> first, used as the
    [CLS] position whose final vector summarises the sentence for first-token pooling."""
    if isinstance(texts, str):
        raise TypeError("texts must be a list of str, got one str; wrap it: [text]")
    if not isinstance(vocab, Vocab):
        raise TypeError(f"vocab must be a course_utils.tokenizers.Vocab, got {type(vocab).__name__}")
    prefix = [vocab.bos_id] if add_cls else []
    return [prefix + vocab.encode(tokenize(text)) for text in texts]


BUCKET_POOL = 16   # batches per pool that `classification_batcher(bucket=True)` sorts by length


def classification_batcher(sequences: Sequence[Sequence[int]], labels: Sequence[int], batch_size: int = 32,
                           pad_id: int = 0, max_len: int | None = None, seed: int = 0, bucket: bool = False):
    """`get_batch(split)` for `train_model`: a random mini-batch (ids (B, T), labels (B,)), padded only
    to its own longest row (cut at max_len). Every epoch visits each example once, in a seeded random order.

    `bucket=True` puts rows of similar length together: each epoch's random order is cut into pools of
    BUCKET_POOL batches, each pool is sorted by length and cut into batches, and the batches are served in
    random order. Every example is still seen once per epoch, but a batch is padded far less — for a
    model whose cost grows with T, the same step gets much cheaper."""
    if len(sequences) != len(labels):
        raise ValueError(f"sequences and labels must have the same length, got {len(sequences)} and {len(labels)}")
    labels = torch.as_tensor(list(labels), dtype=torch.long)

    def make_batch(idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return pad_batch([sequences[i] for i in idx], pad_id, max_len), labels[idx]  # (B, T), (B,)

    if not bucket:
        return epoch_batcher(len(sequences), batch_size, make_batch, seed)
    batch_size = require_int(batch_size, "batch_size", minimum=1, maximum=len(sequences))
    generator = torch.Generator().manual_seed(seed)
    lengths = torch.tensor([len(s) for s in sequences])
    state = {"batches": [], "pos": 0}

    def get_batch(split: str = "train") -> tuple[torch.Tensor, torch.Tensor]:
        if split != "train":
            raise ValueError(f"this batcher serves split='train' only, got {split!r}; evaluate on fixed tensors")
        if state["pos"] == len(state["batches"]):                       # new epoch: shuffle, sort pools, cut
            order = torch.randperm(len(sequences), generator=generator)
            order = order[: len(order) - len(order) % batch_size]         # leftovers wait for the next epoch
            batches = []
            for pool in order.split(batch_size * BUCKET_POOL):
                pool = pool[lengths[pool].argsort(stable=True)]            # shortest first within the pool
                batches += list(pool.split(batch_size))
            serve = torch.randperm(len(batches), generator=generator).tolist()
            state["batches"], state["pos"] = [batches[i] for i in serve], 0
        idx = state["batches"][state["pos"]]
        state["pos"] += 1
        return make_batch(idx)

    return get_batch


@torch.no_grad()
def predict_proba(model: nn.Module, ids: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Class probabilities softmax(model(ids)) for a padded (N, T) tensor, in eval mode: (N, K).
    `ids` are moved to the model's device; the probabilities come back on `ids`' device."""
    was_training = model.training
    model.eval()
    device = model_device(model)
    probs = torch.cat([model(ids[i : i + batch_size].to(device)).softmax(-1) for i in range(0, len(ids), batch_size)])
    model.train(was_training)
    return probs.to(ids.device)


def predict(model: nn.Module, ids: torch.Tensor, batch_size: int = 256) -> list[int]:
    """The most probable class of each row of a padded (N, T) id tensor."""
    return predict_proba(model, ids, batch_size).argmax(-1).tolist()


def predict_sequences(model: nn.Module, sequences: Sequence[Sequence[int]], pad_id: int,
                      max_len: int | None = None, batch_size: int = 128) -> list[int]:
    """`predict` for ragged id lists: sorted by length, padded batch by batch (cut at max_len), labels
    returned in the input order. Padding every row to the longest one would cost a large model up to
    several times more; the labels are the same, since the models here ignore <pad>."""
    if isinstance(sequences, torch.Tensor) or len(sequences) == 0:
        raise ValueError("sequences must be a non-empty list of id lists (for a padded tensor use predict)")
    batch_size = require_int(batch_size, "batch_size", minimum=1)
    order = sorted(range(len(sequences)), key=lambda i: len(sequences[i]))
    labels = [0] * len(sequences)
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        ids = pad_batch([sequences[i] for i in chunk], pad_id, max_len)      # (b, T) similar lengths
        for i, label in zip(chunk, predict(model, ids, batch_size)):
            labels[i] = label
    return labels


# ---------------------------------------------------------------------------------------------------
# 2) the count-based model: logistic regression over a bag of words
# ---------------------------------------------------------------------------------------------------
class BagOfWordsClassifier(nn.Module):
    """Multinomial logistic regression on word counts: p(y | x) = softmax(W·counts(x) + b).

    Word order is thrown away: "not good, bad" and "not bad, good" get the same features. With
    `binary=True` a word counts once per text (presence), which usually suits short reviews better.
    """

    def __init__(self, vocab: Vocab, n_classes: int = 2, binary: bool = True):
        super().__init__()
        if not isinstance(vocab, Vocab):
            raise TypeError(f"vocab must be a course_utils.tokenizers.Vocab, got {type(vocab).__name__}")
        n_classes = require_int(n_classes, "n_classes", minimum=2)
        self.vocab, self.binary = vocab, binary
        self.linear = nn.Linear(len(vocab), n_classes)  # W (K, V) and b (K,)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def features(self, ids: torch.Tensor) -> torch.Tensor:
        """(B, T) ids → (B, V) counts (or 0/1 presence), with <pad> not counted."""
        counts = torch.zeros(ids.size(0), len(self.vocab), device=ids.device)
        counts.scatter_add_(1, ids, torch.ones_like(ids, dtype=counts.dtype))  # counts[b, ids[b, t]] += 1
        if self.vocab.pad_id is not None:
            counts[:, self.vocab.pad_id] = 0
        return counts.clamp_(max=1) if self.binary else counts

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        check_token_ids(ids, "ids", len(self.vocab))
        return self.linear(self.features(ids))  # (B, K)

    def top_words(self, k: int = 10, positive_class: int = 1) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
        """The k words that push hardest towards `positive_class` and the k that push hardest away
        (weight of that class minus the mean over classes), as (word, weight) pairs."""
        w = self.linear.weight.detach()
        score = w[positive_class] - w.mean(0)                                   # (V,)
        order = score.argsort(descending=True).tolist()
        words = [(self.vocab.itos[i], round(score[i].item(), 3)) for i in order
                 if self.vocab.itos[i] not in self.vocab.specials]
        return words[:k], words[::-1][:k]


# ---------------------------------------------------------------------------------------------------
# 3) the neural model: a Transformer encoder (non-causal blocks) + pooling + linear head
# ---------------------------------------------------------------------------------------------------
class TransformerClassifier(nn.Module):
    """Every token attends to every real token of the sentence (causal=False, <pad> keys masked out);
    the N blocks' output vectors are pooled into one sentence vector and a linear head scores classes.

    pooling="mean": average over real (non-pad) tokens; pooling="first": the vector at position 0
    (encode with add_cls=True so position 0 is a <bos>/[CLS] token that has no word of its own).
    """

    def __init__(self, vocab_size: int, n_classes: int = 2, d_model: int = 64, n_heads: int = 4,
                 n_layers: int = 2, d_ff: int | None = None, dropout: float = 0.1, max_len: int = 128,
                 pad_id: int = 0, pooling: str = "mean", positional: str = "learned"):
        super().__init__()
        vocab_size, n_classes, n_layers, max_len = (require_int(value, name, minimum=1) for name, value in (
            ("vocab_size", vocab_size), ("n_classes", n_classes), ("n_layers", n_layers), ("max_len", max_len)))
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        self.pad_id, self.pooling, self.max_len, self.vocab_size = pad_id, pooling, max_len, vocab_size
        self.embed = Embeddings(vocab_size, max_len, d_model, positional, dropout)
        self.blocks = nn.ModuleList(TransformerBlock(d_model, n_heads, d_ff, dropout, causal=False)
                                    for _ in range(n_layers))
        self.ln = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, n_classes)
        self.apply(init_weights)

    def encode(self, ids: torch.Tensor) -> torch.Tensor:
        """(B, T) ids → (B, T, C) contextual vectors (every token has seen the whole sentence)."""
        check_token_ids(ids, "ids", self.vocab_size)
        if ids.size(1) > self.max_len:
            raise ValueError(f"sequence length {ids.size(1)} is longer than max_len={self.max_len}; "
                             f"pad_batch(..., max_len={self.max_len}) truncates")
        mask = padding_mask(ids, self.pad_id)  # (B, 1, 1, T): True = a real token that may be attended to
        x = self.embed(ids)                    # (B, T, C)
        for block in self.blocks:
            x = block(x, mask)                 # (B, T, C)
        return self.ln(x)

    def pool(self, x: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        """(B, T, C) → (B, C): the mean over real tokens, or the first position."""
        if self.pooling == "first":
            return x[:, 0]
        keep = (ids != self.pad_id).unsqueeze(-1).to(x.dtype)          # (B, T, 1)
        return (x * keep).sum(1) / keep.sum(1).clamp_min(1.0)          # (B, C)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.head(self.pool(self.encode(ids), ids))  # (B, K)

    @torch.no_grad()
    def attention_maps(self, ids: torch.Tensor) -> list[torch.Tensor]:
        """Run in eval mode and return each layer's attention weights, a list of n_layers tensors
        (B, h, T, T): row = query token, column = the key token it looked at. `ids` are moved to the
        model's device; the maps come back on `ids`' device."""
        was_training = self.training
        self.eval()
        self(ids.to(model_device(self)))
        self.train(was_training)
        return [block.attn.attn.detach().clone().to(ids.device) for block in self.blocks]


# ---------------------------------------------------------------------------------------------------
# 4) which tokens did the prediction draw on? attention rollout
# ---------------------------------------------------------------------------------------------------
def attention_rollout(maps: Sequence[torch.Tensor], residual: float = 0.5) -> torch.Tensor:
    """Attention rollout (Abnar & Zuidema, 2020): how much each input token flows into each output
    position through all layers, (B, T, T).

        Ã_l = residual·I + (1 − residual)·mean_heads(A_l)     (the skip connection carries x itself)
        R   = Ã_L · … · Ã_2 · Ã_1                             (row-stochastic: rows sum to 1)
    """
    if len(maps) == 0:
        raise ValueError("maps must hold at least one layer's attention (B, h, T, T)")
    if not 0.0 <= residual < 1.0:
        raise ValueError(f"residual must be in [0, 1), got {residual}")
    rollout = None
    for a in maps:
        if a.dim() != 4 or a.size(-1) != a.size(-2):
            raise ValueError(f"each map must have shape (B, h, T, T), got {tuple(a.shape)}")
        eye = torch.eye(a.size(-1), dtype=a.dtype, device=a.device)
        layer = residual * eye + (1 - residual) * a.mean(1)      # (B, T, T)
        layer = layer / layer.sum(-1, keepdim=True)              # padding rows of A are 0: renormalise
        rollout = layer if rollout is None else layer @ rollout  # later layers act on earlier mixes
    return rollout


def token_relevance(model: TransformerClassifier, ids: torch.Tensor, residual: float = 0.5) -> torch.Tensor:
    """(B, T) share of the pooled sentence vector that came from each input token (rows sum to 1;
    <pad> gets 0): the rollout row of the first position, or the rollout averaged over real tokens."""
    rollout = attention_rollout(model.attention_maps(ids), residual)  # (B, T, T)
    keep = (ids != model.pad_id).to(rollout.dtype)                     # (B, T)
    if model.pooling == "first":
        rel = rollout[:, 0]
    else:
        rel = (rollout * keep.unsqueeze(-1)).sum(1) / keep.sum(1, keepdim=True).clamp_min(1.0)
    rel = rel * keep
    return rel / rel.sum(-1, keepdim=True).clamp_min(1e-12)


@torch.no_grad()
def occlusion_importance(model: nn.Module, ids: torch.Tensor, replace_id: int, pad_id: int = 0,
                         target: int | None = None) -> torch.Tensor:
    """Leave-one-token-out: for one sentence (T,) or (1, T), how much the log-odds of `target`,
    ln p / (1 − p), fall when token t is replaced by `replace_id` (e.g. <unk>): (T,) in nats,
    > 0 = the token supported the target. Log-odds, not p: at p = 0.97 a decisive word may move p by
    only 0.01 but the log-odds by a whole nat.

    Works for any classifier (it only calls the model) — a check on pictures of attention, which show
    where information *could* flow, not what changed the decision. `target` defaults to the predicted class.
    """
    ids = ids.reshape(1, -1) if ids.dim() == 1 else ids
    if ids.dim() != 2 or ids.size(0) != 1:
        raise ValueError(f"ids must be one sentence, shape (T,) or (1, T), got {tuple(ids.shape)}")
    caller_device, ids = ids.device, ids.to(model_device(model))          # follow a moved model
    was_training = model.training
    model.eval()
    T = ids.size(1)
    variants = torch.cat([ids, ids.repeat(T, 1)])                         # (1 + T, T): row 1 + t loses token t
    rows = torch.arange(T, device=ids.device)
    variants[1 + rows, rows] = replace_id
    log_p = model(variants).log_softmax(-1)                               # (1 + T, K)
    target = int(log_p[0].argmax()) if target is None else target
    log_odds = log_p[:, target] - torch.log1p(-log_p[:, target].exp().clamp(max=1 - 1e-7))  # (1 + T,)
    model.train(was_training)
    return (log_odds[0] - log_odds[1:]).masked_fill(ids[0] == pad_id, 0.0).to(caller_device)


def cross_entropy_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """loss_fn for `train_model` on classification batches: logits (B, K), targets (B,)."""
    return F.cross_entropy(logits, targets)
