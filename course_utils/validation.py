"""Argument checks shared by every module: one place that decides what counts as an int, a number or a
string, and one wording for the error ("<argument> must be <expected>, got <actual>").

NumPy and torch scalars are accepted wherever a Python number is (`np.int64(2)`, `np.float32(0.7)`,
`torch.tensor(1)`), and converted to a plain `int` / `float`, so a value read from an array or a tensor
works as an argument and a config stays plain data (safe in a `weights_only` checkpoint). `bool` is
refused as a number: `top_k=True` is a mistake, not 1.
"""
from __future__ import annotations

import numbers
import operator


def _is_bool(value: object) -> bool:
    """Python, NumPy or torch booleans (NumPy's and torch's are told apart by their dtype)."""
    if isinstance(value, bool):
        return True
    dtype = getattr(value, "dtype", None)
    return dtype is not None and str(dtype) in ("bool", "torch.bool")


def _is_scalar_tensor(value: object) -> bool:
    """A 0-d torch tensor (checked without importing torch)."""
    return type(value).__module__.startswith("torch") and getattr(value, "ndim", None) == 0


def _int_expectation(minimum: int | None, maximum: int | None) -> str:
    if minimum is not None and maximum is not None:
        return f"an int in [{minimum}, {maximum}]"
    if minimum == 1:
        return "a positive int"
    if minimum is not None:
        return f"an int ≥ {minimum}"
    if maximum is not None:
        return f"an int ≤ {maximum}"
    return "an int"


def require_int(value: object, name: str, minimum: int | None = None, maximum: int | None = None) -> int:
    """`value` as a plain int (Python, NumPy or 0-d torch integer) within [minimum, maximum], else ValueError.

    >>> require_int(numpy.int64(3), "n_layers", minimum=1)   # a plain int comes back
    3
    """
    expected = _int_expectation(minimum, maximum)
    if _is_bool(value):
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    if isinstance(value, numbers.Integral) or _is_scalar_tensor(value):
        try:
            number = operator.index(value)
        except TypeError:  # a float tensor
            number = None
    else:
        number = None
    if number is None or (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    return number


def _real_expectation(above, at_least, at_most, below) -> str:
    low = f"({above}" if above is not None else f"[{at_least}" if at_least is not None else None
    high = f"{at_most}]" if at_most is not None else f"{below})" if below is not None else None
    if low and high:
        return f"a number in {low}, {high}"
    if above is not None:
        return f"a number > {above}"
    if at_least is not None:
        return f"a number ≥ {at_least}"
    if at_most is not None:
        return f"a number ≤ {at_most}"
    if below is not None:
        return f"a number < {below}"
    return "a number"


def require_real(value: object, name: str, *, above: float | None = None, at_least: float | None = None,
                 at_most: float | None = None, below: float | None = None) -> float:
    """`value` as a plain float (Python, NumPy or 0-d torch real) within the given bounds, else ValueError.

    `above`/`below` are strict bounds, `at_least`/`at_most` inclusive; NaN is always refused.

    >>> require_real(numpy.float32(0.5), "top_p", above=0, at_most=1)
    0.5
    """
    expected = _real_expectation(above, at_least, at_most, below)
    if _is_bool(value) or not (isinstance(value, numbers.Real) or _is_scalar_tensor(value)):
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):  # e.g. a complex tensor
        raise ValueError(f"{name} must be {expected}, got {value!r}") from None
    out_of_range = (number != number or (above is not None and not number > above)
                    or (at_least is not None and not number >= at_least)
                    or (at_most is not None and not number <= at_most)
                    or (below is not None and not number < below))
    if out_of_range:
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    return number


def require_str(value: object, name: str = "text") -> str:
    """`value` itself if it is a str, else TypeError naming the argument and the type received."""
    if isinstance(value, (bytes, bytearray)):
        raise TypeError(f"{name} must be str, got bytes; decode it first, e.g. data.decode('utf-8')")
    if not isinstance(value, str):
        raise TypeError(f"{name} must be str, got {type(value).__name__}")
    return value


def check_token_ids(ids: object, name: str, vocab_size: int, max_len: int | None = None,
                    max_name: str = "max_len") -> None:
    """Check a (B, T) torch.long tensor of ids: ValueError naming `name`, the expected range [0, vocab_size)
    and the actual min/max, so a bad id fails here and not as an IndexError (CPU) or a device-side assert
    (CUDA) inside an embedding."""
    import torch

    if not torch.is_tensor(ids) or ids.dim() != 2 or ids.dtype != torch.long:
        desc = f"{ids.dtype} tensor of shape {tuple(ids.shape)}" if torch.is_tensor(ids) else type(ids).__name__
        raise ValueError(f"{name} must be a (B, T) tensor of token ids (torch.long), got {desc}")
    if max_len is not None and ids.size(1) > max_len:
        raise ValueError(f"{name} has length {ids.size(1)}, longer than {max_name}={max_len}: shorten the "
                         f"input or build the model with a larger {max_name}")
    if ids.numel():
        low, high = ids.min().item(), ids.max().item()  # one pass each; cheap next to the model itself
        if low < 0 or high >= vocab_size:
            raise ValueError(f"{name}: token ids must be in [0, {vocab_size}), got values from {low} to {high}")
