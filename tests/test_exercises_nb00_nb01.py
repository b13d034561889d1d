"""Exercise checkers of notebooks 00 and 01: right answers pass, wrong ones raise a helpful error."""
import torch
import torch.nn.functional as F

from course_utils.bpe import BPETokenizer, merge_pair
from course_utils.env import set_seed
from course_utils.exercises import nb00, nb01
from course_utils.tokenizers import Vocab
from checker_assertions import fails_with


# ---- notebook 00 -------------------------------------------------------------------------------
def test_nb00_perplexity():
    nb00.check_exercise_1(lambda p: torch.exp(-p.log().mean()))
    fails_with(nb00.check_exercise_1, lambda p: None, "returned None")
    fails_with(nb00.check_exercise_1, lambda p: 1 / p.mean(), "average the *log*-probabilities")
    fails_with(nb00.check_exercise_1, lambda p: torch.exp(p.log().mean()), "signs")
    fails_with(nb00.check_exercise_1, lambda p: "65", "not yet")


def softmax_t(logits, temperature):
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    return torch.softmax(logits / temperature, dim=-1)


def test_nb00_temperature():
    nb00.check_exercise_2(softmax_t)
    fails_with(nb00.check_exercise_2, lambda x, t: None, "returned None")
    fails_with(nb00.check_exercise_2, lambda x, t: torch.softmax(x * t, -1), "divide the logits by the temperature")
    fails_with(nb00.check_exercise_2, lambda x, t: torch.softmax(x / t, 0), "last dimension")
    fails_with(nb00.check_exercise_2, lambda x, t: torch.softmax(x / max(t, 1e-9), -1), "was accepted")
    fails_with(nb00.check_exercise_2, lambda x, t: torch.softmax(x / t, -1) if t > 0 else 1 / 0, "ZeroDivisionError")

    def vague(x, t):
        if t <= 0:
            raise ValueError("bad")
        return torch.softmax(x / t, -1)
    fails_with(nb00.check_exercise_2, vague, "name the argument")


def stable_softmax(x):
    e = torch.exp(x - x.max())
    return e / e.sum()


def test_nb00_softmax():
    nb00.check_exercise_3(stable_softmax)
    fails_with(nb00.check_exercise_3, lambda x: None, "returned None")
    fails_with(nb00.check_exercise_3, lambda x: torch.exp(x) / torch.exp(x).sum(), "overflow", "x.max()")
    fails_with(nb00.check_exercise_3, lambda x: torch.exp(x - x.max()), "expected", "sum")
    fails_with(nb00.check_exercise_3, lambda x: x.tolist(), "tensor of shape")


def test_nb00_seeds_and_random_state_is_restored():
    def two_draws(seed):
        set_seed(seed)
        first = torch.rand(3)
        set_seed(seed)
        return first, torch.rand(3)

    set_seed(7)
    expected_next = torch.rand(2)
    set_seed(7)
    nb00.check_exercise_4(two_draws)
    assert torch.equal(torch.rand(2), expected_next), "the checker must not disturb the caller's RNG"

    def seeded_once(seed):
        set_seed(seed)
        return torch.rand(3), torch.rand(3)

    fails_with(nb00.check_exercise_4, seeded_once, "before *each* draw")
    fails_with(nb00.check_exercise_4, lambda seed: (torch.zeros(3), torch.zeros(3)), "two_draws(1)")
    fails_with(nb00.check_exercise_4, lambda seed: None, "returned None")
    fails_with(nb00.check_exercise_4, lambda seed: torch.zeros(3), "pair of tensors")


# ---- notebook 01 -------------------------------------------------------------------------------
def test_nb01_build_itos():
    def right(token_lists, min_freq=1, max_size=None):
        return Vocab.build(token_lists, min_freq=min_freq, max_size=max_size).itos

    def no_tie_break(token_lists, min_freq=1, max_size=None):
        from collections import Counter
        counts = Counter(t for ts in token_lists for t in ts)
        kept = [t for t, c in counts.most_common() if c >= min_freq]  # ties in first-seen order
        itos = ["<pad>", "<unk>", "<bos>", "<eos>", *kept]
        return itos[:max_size] if max_size else itos

    def ignores_min_freq(token_lists, min_freq=1, max_size=None):
        return right(token_lists, 1, max_size)

    nb01.check_exercise_1(right)
    fails_with(nb01.check_exercise_1, no_tie_break, "position 4", "(-count, token)")
    fails_with(nb01.check_exercise_1, ignores_min_freq, "min_freq=2")
    fails_with(nb01.check_exercise_1, lambda *a, **k: None, "returned None")


def test_nb01_one_hot():
    nb01.check_exercise_2(lambda ids, v: F.one_hot(ids, v).float())
    fails_with(nb01.check_exercise_2, lambda ids, v: F.one_hot(ids, v), "floats")
    fails_with(nb01.check_exercise_2, lambda ids, v: torch.zeros(len(ids), v), "row 0", "expected")
    fails_with(nb01.check_exercise_2, lambda ids, v: F.one_hot(ids, v + 1).float(), "shape (5, 7)")
    fails_with(nb01.check_exercise_2, lambda ids, v: None, "returned None")


def test_nb01_encode_chunk():
    def right(chunk, merges):
        ids = list(chunk.encode("utf-8"))
        for i, pair in enumerate(merges):
            ids = merge_pair(ids, pair, 256 + i)
        return ids

    def by_rank(chunk, merges):  # the lowest-rank-first loop gives the same ids
        return BPETokenizer(merges)._encode_chunk(chunk)

    def reversed_order(chunk, merges):
        ids = list(chunk.encode("utf-8"))
        for i, pair in reversed(list(enumerate(merges))):
            ids = merge_pair(ids, pair, 256 + i)
        return ids

    nb01.check_exercise_3(right)
    nb01.check_exercise_3(by_rank)
    fails_with(nb01.check_exercise_3, reversed_order, "expected", "in the order they were learned")
    fails_with(nb01.check_exercise_3, lambda chunk, merges: list(chunk.encode()), "'lowest'", "expected")
    fails_with(nb01.check_exercise_3, lambda chunk, merges: [9999], "(unknown ids)")
    fails_with(nb01.check_exercise_3, lambda chunk, merges: None, "returned None")


def test_nb01_decode_from_merges():
    def right(ids, merges):
        vocab = {i: bytes([i]) for i in range(256)}
        for i, (a, b) in enumerate(merges):
            vocab[256 + i] = vocab[a] + vocab[b]
        return b"".join(vocab[i] for i in ids).decode("utf-8", errors="replace")

    def bytes_only(ids, merges):  # forgets the merged tokens
        return bytes(i for i in ids if i < 256).decode("utf-8", errors="replace")

    nb01.check_exercise_4(right)
    fails_with(nb01.check_exercise_4, bytes_only, "expected 'low lower lowest'", "vocab[256 + i]")
    fails_with(nb01.check_exercise_4, lambda ids, merges: None, "returned None")


def test_course_map_draws_every_notebook_once():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from course_utils.viz import COURSE_EDGES, COURSE_STAGES, course_map

    numbers = [n for _, nbs in COURSE_STAGES for n, _ in nbs]
    assert numbers == [f"{i:02d}" for i in range(13)]
    ax = course_map()
    labels = [t.get_text() for t in ax.texts]
    assert all(sum(label.startswith(n + "\n") for label in labels) == 1 for n in numbers)
    assert len(ax.patches) == 13 and ax.get_title().startswith("Course map")
    assert {a for a, _ in COURSE_EDGES} <= set(numbers) | {stage for stage, _ in COURSE_STAGES}
    plt.close(ax.figure)
