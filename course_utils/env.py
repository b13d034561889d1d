"""Reproducibility and environment: seeds, device choice, and a report that warns instead of failing."""
from __future__ import annotations

import importlib.metadata
import os
import platform
import random
import sys
import warnings
from contextlib import contextmanager
from typing import Iterator

import numpy as np
import torch

from course_utils.validation import require_int

DEVICE_ENV_VAR = "COURSE_DEVICE"
_DEVICES = ("cpu", "cuda", "mps")


def set_seed(seed: int = 0) -> None:
    """Seed Python, NumPy and torch so a notebook gives the same numbers on every run."""
    seed = require_int(seed, "seed", minimum=0)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Run the block on `threads` CPU threads (None: torch's current setting) and restore torch's setting after,
    even when the block fails — timings that pin their threads must not change the notebook's."""
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(require_int(threads, "threads", minimum=1))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def get_device(prefer: str | None = None) -> torch.device:
    """The one place that chooses a device. Precedence: the explicit `prefer` argument (what the
    notebook asks for) > the COURSE_DEVICE env var (cpu | cuda | mps, or cuda:N) > cuda → mps → cpu.

    Only a model the learner moves with `model.to(get_device())` leaves the CPU: the committed notebooks
    never do, so their outputs are CPU outputs whatever this returns. Every course helper that runs a
    model moves its inputs to `model_device(model)`, so a moved model works with the same calls."""
    choice = prefer or os.environ.get(DEVICE_ENV_VAR)
    if choice:
        kind = choice.split(":")[0]
        if kind not in _DEVICES:
            source = "prefer" if prefer else DEVICE_ENV_VAR
            raise ValueError(f"{source} must be one of {_DEVICES} (optionally 'cuda:N'), got {choice!r}")
        return torch.device(choice)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def model_device(model) -> torch.device:
    """The device of a model's first parameter (or buffer); CPU for a model without tensors.

    Helpers call `x.to(model_device(model))` at their entry point, so the caller's CPU tensors follow a
    model that was moved to cuda/mps (a no-op when both are already on the same device)."""
    for tensors in (getattr(model, "parameters", None), getattr(model, "buffers", None)):
        if tensors is not None:
            for t in tensors():
                return t.device
    return torch.device("cpu")


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


REPORTED_PACKAGES = ("torch", "numpy", "matplotlib", "nltk", "spacy", "jieba", "tiktoken")


def environment_report() -> dict[str, str]:
    """Print (and return) what this machine offers; warn about problems rather than fail."""
    info = {
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "device": str(get_device()),
        "torch threads": str(torch.get_num_threads()),
    }
    info.update({name: _version(name) for name in REPORTED_PACKAGES})
    width = max(map(len, info))
    for key, value in info.items():
        print(f"{key:<{width}} : {value}")
    if sys.version_info < (3, 11):
        warnings.warn("Python ≥ 3.11 is expected (the pinned packages need it); some cells may fail.", stacklevel=2)
    missing = [name for name in REPORTED_PACKAGES if info[name] == "not installed"]
    if missing:
        warnings.warn(f"missing packages {missing}: run the README setup command", stacklevel=2)
    return info


def _figure_caption(fig, printer, cycle) -> None:
    """Text shown for a figure: its titles (a readable alt text) instead of '<Figure size ...>'."""
    titles = [fig._suptitle.get_text()] if getattr(fig, "_suptitle", None) else []
    titles += [ax.get_title() for ax in fig.axes if ax.get_title()]
    printer.text(f"[figure: {' | '.join(titles) or 'untitled'}]")


def setup_notebook(seed: int = 0) -> None:
    """One call at the top of every notebook: seed, plot style, readable figure captions."""
    set_seed(seed)
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    # Load the (inline) backend now: loading it later, at the first plot, would reset the formatter below.
    plt.switch_backend(plt.get_backend())

    plt.rcParams.update({"figure.figsize": (6.4, 3.6), "figure.dpi": 80, "axes.grid": True,
                         "grid.alpha": 0.3, "axes.spines.top": False, "axes.spines.right": False})
    try:
        from IPython import get_ipython
    except ImportError:  # plain Python: nothing to configure
        return
    shell = get_ipython()
    if shell is not None:
        shell.display_formatter.formatters["text/plain"].for_type(Figure, _figure_caption)
