"""Notebooks quote committed benchmark results through one loader."""
import pytest

from course_utils.reference_results import load_benchmark


def test_load_benchmark_reads_a_committed_result_and_names_the_known_ones():
    assert load_benchmark("rnn_lm")["ngram_order"] == 6
    with pytest.raises(ValueError, match="rnn_lm"):
        load_benchmark("no_such_benchmark")
