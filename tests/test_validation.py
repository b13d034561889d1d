"""course_utils.validation: NumPy and torch scalars count as numbers, bools do not, and every error names
the argument, what was expected and what was received."""
import numpy as np
import pytest
import torch

from course_utils.validation import check_token_ids, require_int, require_real, require_str


@pytest.mark.parametrize("value", [3, np.int64(3), np.int32(3), torch.tensor(3)])
def test_require_int_accepts_python_numpy_and_torch_integers(value):
    out = require_int(value, "n", minimum=1)
    assert out == 3 and type(out) is int


@pytest.mark.parametrize("value, message", [
    (0, "n must be a positive int, got 0"),
    (True, "n must be a positive int, got True"),
    (np.bool_(True), "n must be a positive int"),
    (2.0, "n must be a positive int, got 2.0"),
    (torch.tensor(2.0), "n must be a positive int"),
    ("2", "n must be a positive int, got '2'"),
])
def test_require_int_refuses_with_a_clear_message(value, message):
    with pytest.raises(ValueError, match=message):
        require_int(value, "n", minimum=1)


def test_require_int_bounds_in_the_message():
    assert require_int(4, "k", minimum=1, maximum=4) == 4
    with pytest.raises(ValueError, match=r"k must be an int in \[1, 4\], got 5"):
        require_int(5, "k", minimum=1, maximum=4)
    with pytest.raises(ValueError, match="budget must be an int ≥ 0, got -1"):
        require_int(-1, "budget", minimum=0)


@pytest.mark.parametrize("value", [0.7, np.float32(0.7), np.float64(0.7), torch.tensor(0.7), 1, np.int64(1)])
def test_require_real_accepts_numbers_of_any_library(value):
    out = require_real(value, "temperature", above=0)
    assert type(out) is float and out == pytest.approx(float(value))


@pytest.mark.parametrize("value, message", [
    (0, r"temperature must be a number > 0, got 0"),
    (float("nan"), r"temperature must be a number > 0, got nan"),
    (True, r"temperature must be a number > 0, got True"),
    ("0.7", r"temperature must be a number > 0, got '0.7'"),
    (torch.tensor([0.7, 0.8]), r"temperature must be a number > 0"),
])
def test_require_real_refuses_with_a_clear_message(value, message):
    with pytest.raises(ValueError, match=message):
        require_real(value, "temperature", above=0)


def test_require_real_interval_wording():
    with pytest.raises(ValueError, match=r"top_p must be a number in \(0, 1\], got 1.5"):
        require_real(1.5, "top_p", above=0, at_most=1)
    with pytest.raises(ValueError, match=r"dropout must be a number in \[0, 1\), got 1.0"):
        require_real(1.0, "dropout", at_least=0, below=1)


def test_require_str():
    assert require_str("hi", "text") == "hi"
    with pytest.raises(TypeError, match="context must be str, got int"):
        require_str(3, "context")
    with pytest.raises(TypeError, match="text must be str, got bytes; decode it first"):
        require_str(b"hi")


def test_check_token_ids_names_argument_range_and_actual_values():
    check_token_ids(torch.tensor([[0, 4]]), "idx", 5)
    with pytest.raises(ValueError, match=r"idx: token ids must be in \[0, 5\), got values from 0 to 7"):
        check_token_ids(torch.tensor([[0, 7]]), "idx", 5)
    with pytest.raises(ValueError, match=r"idx: token ids must be in \[0, 5\), got values from -1 to 2"):
        check_token_ids(torch.tensor([[-1, 2]]), "idx", 5)
    with pytest.raises(ValueError, match=r"src has length 3, longer than max_src_len=2"):
        check_token_ids(torch.tensor([[0, 1, 2]]), "src", 5, 2, "max_src_len")
    with pytest.raises(ValueError, match=r"idx must be a \(B, T\) tensor of token ids \(torch.long\), got list"):
        check_token_ids([[1, 2]], "idx", 5)
