"""course_utils.batching: language-model windows, the one pad_batch, the one epoch batcher."""
import pytest
import torch

from course_utils.batching import epoch_batcher, lm_batch, lm_eval_windows, pad_batch


def test_lm_batch_targets_are_inputs_shifted():
    ids = torch.arange(100)
    x, y = lm_batch(ids, 8, 4, torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (4, 8)
    assert torch.equal(y, x + 1)


def test_lm_batch_bad_inputs():
    with pytest.raises(ValueError, match="need more than block_size=8 tokens, got 8"):
        lm_batch(torch.arange(8), 8, 2)
    with pytest.raises(ValueError, match="1-D tensor"):
        lm_batch(torch.zeros(2, 50, dtype=torch.long), 8, 2)


def test_eval_windows_cover_the_split_once():
    x, y = lm_eval_windows(torch.arange(21), 5)
    assert x.shape == (4, 5) and torch.equal(x.flatten(), torch.arange(20)) and torch.equal(y, x + 1)


def test_pad_batch_pads_right_and_caps_at_max_len():
    batch = pad_batch([[5, 6, 7], [8]], pad_id=0)
    assert batch.tolist() == [[5, 6, 7], [8, 0, 0]] and batch.dtype == torch.long
    assert pad_batch([[5, 6, 7], [8]], pad_id=9, max_len=2).tolist() == [[5, 6], [8, 9]]   # cut, not refused
    assert pad_batch([[5, 6, 7], [8]], max_len=10).shape == (2, 3)     # T is the longest row, not max_len
    assert pad_batch([[]], pad_id=0).shape == (1, 1)                   # an empty row is one <pad>
    assert pad_batch([(1, 2), torch.tensor([3])]).tolist() == [[1, 2], [3, 0]]


def test_pad_batch_bad_input():
    with pytest.raises(ValueError, match="at least one sequence"):
        pad_batch([], 0)
    with pytest.raises(ValueError, match="max_len must be a positive int, got 0"):
        pad_batch([[1]], max_len=0)


def test_epoch_batcher_visits_every_item_once_per_epoch_and_is_seeded():
    seen = []
    get_batch = epoch_batcher(10, 3, lambda idx: idx.tolist(), seed=0)
    for _ in range(3):  # one epoch = 3 batches of 3; the 10th item waits for the next shuffle
        seen += get_batch("train")
    assert len(set(seen)) == 9
    again = epoch_batcher(10, 3, lambda idx: idx.tolist(), seed=0)
    assert again() == seen[:3]
    assert epoch_batcher(10, 3, lambda idx: idx.tolist(), seed=1)() != seen[:3]


def test_epoch_batcher_bad_input():
    with pytest.raises(ValueError, match=r"batch_size must be an int in \[1, 4\], got 5"):
        epoch_batcher(4, 5, list)
    with pytest.raises(ValueError, match="split='train' only"):
        epoch_batcher(4, 2, list)("val")


def test_batching_has_one_home_and_no_module_defines_code_after_its_main_guard():
    """LM batching left the dataset registry; and a module's `if __name__ == "__main__":` block is its last
    statement (functions defined after it exist on import but not when the module runs as a script)."""
    import ast
    from pathlib import Path

    from course_utils import data

    assert not any(hasattr(data, name) for name in ("lm_batch", "lm_batcher", "lm_eval_windows"))
    for path in sorted((Path(__file__).parent.parent / "course_utils").rglob("*.py")):
        body = ast.parse(path.read_text(encoding="utf-8")).body
        guards = [i for i, node in enumerate(body) if isinstance(node, ast.If) and "__main__" in ast.unparse(node.test)]
        assert all(i == len(body) - 1 for i in guards), f"{path.name}: statements after the __main__ block"
