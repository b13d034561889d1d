"""Fixtures shared by the unit tests."""
import os

import pytest
import torch

import course_utils.exercises

# In the tests a wrong answer must raise (in a notebook it only prints "✗ not yet"): a checker that
# cannot fail, or a reference solution that no longer passes, then fails the suite.
course_utils.exercises.RAISE_ON_FAIL = True

# `./course.sh test` runs the unit tests on two xdist workers, one per core: each worker then uses one thread
# (two workers × two threads on two cores would oversubscribe them and make OpenMP spin).
if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)


@pytest.fixture
def one_thread():
    """Tiny models gain nothing from threads, and on a busy machine OpenMP spin-waits make them crawl.
    Modules of tiny-model tests opt in with `pytestmark = pytest.mark.usefixtures("one_thread")`."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# Tests that launch processes (torchrun, a fresh venv, SIGKILL) take seconds each; they run first, so that on two
# workers they overlap with the many quick tests instead of finishing last, alone.
# (`./course.sh test` runs them with `--dist worksteal`: an idle worker takes over the other's queued tests.)
SLOW_FIRST = ("test_train_script.py::test_torchrun", "test_colab_setup_cell.py::",
              "test_distributed_engines.py::test_fsdp", "test_train_resume.py::test_sigkill",
              "test_pretrain.py::test_resume_after_sigkill")


def pytest_collection_modifyitems(items):
    rank = lambda item: next((i for i, key in enumerate(SLOW_FIRST) if key in item.nodeid), len(SLOW_FIRST))
    items.sort(key=rank)          # stable: every other test keeps its order
