import math

import pytest
import torch

from course_utils import checks, env


def test_expect_passes_and_prints(capsys):
    assert checks.expect("validation loss", 1.62, high=1.80) == 1.62
    assert capsys.readouterr().out == "✓ validation loss 1.62 (expected ≤ 1.80)\n"


@pytest.mark.parametrize("value, kw", [(1.9, {"high": 1.8}), (0.5, {"low": 0.9}),
                                       (math.nan, {"low": 0, "high": 1}), (2, {"low": 0, "high": 1})])
def test_expect_fails_outside_band(value, kw, capsys):
    with pytest.raises(checks.ExpectationError, match="✗"):
        checks.expect("x", value, **kw)
    assert capsys.readouterr().out.startswith("✗ x")


def test_expect_bad_arguments():
    with pytest.raises(ValueError, match="at least one of low= or high="):
        checks.expect("x", 1)
    with pytest.raises(ValueError, match="low must be ≤ high"):
        checks.expect("x", 1, low=2, high=1)
    with pytest.raises(TypeError, match="value must be a number"):
        checks.expect("x", "fast", low=1)


def test_expect_true():
    checks.expect_true("ok", True)
    with pytest.raises(checks.ExpectationError, match="look here"):
        checks.expect_true("bad", False, hint="look here")


def test_set_seed_reproducible():
    env.set_seed(3)
    a = torch.rand(3)
    env.set_seed(3)
    assert torch.equal(a, torch.rand(3))
    with pytest.raises(ValueError, match="seed must be an int ≥ 0, got -1"):
        env.set_seed(-1)


def test_torch_threads_sets_and_restores_the_thread_count_even_on_error():
    before = torch.get_num_threads()
    with env.torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with env.torch_threads(None):                            # None: keep torch's setting
        assert torch.get_num_threads() == before
    with pytest.raises(ZeroDivisionError), env.torch_threads(1):
        1 / 0
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="threads must be a positive int, got 0"):
        with env.torch_threads(0):
            pass
    assert torch.get_num_threads() == before


def test_get_device_override(monkeypatch):
    monkeypatch.setenv(env.DEVICE_ENV_VAR, "cpu")
    assert env.get_device() == torch.device("cpu")
    monkeypatch.setenv(env.DEVICE_ENV_VAR, "tpu")
    with pytest.raises(ValueError, match="COURSE_DEVICE must be one of"):
        env.get_device()
    monkeypatch.delenv(env.DEVICE_ENV_VAR)
    assert env.get_device().type in ("cpu", "cuda", "mps")


def test_environment_report_warns_not_fails(monkeypatch, capsys):
    monkeypatch.setattr(env, "REPORTED_PACKAGES", env.REPORTED_PACKAGES + ("no-such-package-xyz",))
    with pytest.warns(UserWarning, match="no-such-package-xyz"):
        info = env.environment_report()
    assert info["no-such-package-xyz"] == "not installed"
    assert "torch" in capsys.readouterr().out

