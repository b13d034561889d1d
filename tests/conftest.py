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
