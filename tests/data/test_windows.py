"""Sliding windows against NumPy's sliding_window_view, chronological splits that never train on the
future, and clear errors for series that cannot be cut."""

import numpy as np
import pandas as pd
import pytest
import torch
from numpy.lib.stride_tricks import sliding_window_view

from learnable.data.windows import as_series, chronological_bounds, sliding_windows, split_windows


def _oracle(values: np.ndarray, window: int, horizon: int, step: int, target: int):
    """The same windows from NumPy: every (window + horizon)-long view, every ``step``-th one."""
    values = values[:, None] if values.ndim == 1 else values
    views = sliding_window_view(values, window + horizon, axis=0)[::step]  # (N, F, window + horizon)
    return views[:, :, :window].transpose(0, 2, 1), views[:, target, window:]


@pytest.mark.parametrize(("window", "horizon", "step"), [(1, 1, 1), (5, 1, 1), (4, 3, 1), (6, 2, 3), (3, 5, 4)])
@pytest.mark.parametrize("features", [None, 3])
def test_windows_equal_numpy_sliding_window_view(window, horizon, step, features):
    rng = np.random.default_rng(0)
    values = rng.normal(size=(40,) if features is None else (40, features))
    target = 0 if features is None else 2
    X, y = sliding_windows(values, window, horizon, step=step, target=target)
    expected_X, expected_y = _oracle(values, window, horizon, step, target)
    assert X.dtype == y.dtype == np.float32
    assert X.shape == (len(expected_X), window, 1 if features is None else features)
    assert len(X) == (40 - window - horizon) // step + 1
    np.testing.assert_array_equal(X, expected_X.astype(np.float32))
    np.testing.assert_array_equal(y, expected_y.astype(np.float32))


def test_the_target_follows_the_window_without_a_gap():
    X, y = sliding_windows(np.arange(10), window=3, horizon=2, step=2)
    assert X[:, :, 0].tolist() == [[0, 1, 2], [2, 3, 4], [4, 5, 6]]
    assert y.tolist() == [[3, 4], [5, 6], [7, 8]]
    X64, y64 = sliding_windows(np.arange(10) + 0.1, window=3, dtype=np.float64)
    assert X64.dtype == y64.dtype == np.float64
    assert y64[0, 0] == 3.1  # exact, not rounded to float32


def test_lists_tensors_and_dated_pandas_series_give_the_same_windows():
    values = np.sin(np.arange(30.0))
    dates = pd.date_range("2001-01-01", periods=30, freq="MS")
    expected = sliding_windows(values, 4, 2)
    for series in (values.tolist(), torch.tensor(values), pd.Series(values, index=dates), values[:, None]):
        for got, want in zip(sliding_windows(series, 4, 2), expected, strict=True):
            np.testing.assert_array_equal(got, want)


# ---- chronological splits ------------------------------------------------------------------------
def test_bounds_are_consecutive_blocks_latest_last():
    assert chronological_bounds(100, validation=0.1, test=0.2) == (70, 80)
    assert chronological_bounds(100, validation=0.0, test=0.2) == (80, 80)
    assert chronological_bounds(100, validation=0.0, test=0.0) == (100, 100)
    assert chronological_bounds(7, validation=0.01, test=0.01) == (5, 6)  # a fraction > 0 gets a step


@pytest.mark.parametrize(("window", "horizon", "step"), [(5, 1, 1), (8, 4, 1), (3, 6, 2), (10, 2, 5)])
def test_no_split_trains_on_the_future(window, horizon, step):
    """The series is its own time index, so each window's values say which steps it read."""
    length = 200
    parts = split_windows(np.arange(length), window, horizon, validation=0.15, test=0.25, step=step)
    a, b = parts.bounds
    assert (a, b) == chronological_bounds(length, 0.15, 0.25) == (120, 150)
    X, y = parts.train
    assert X.max() < a and y.max() < a  # training never sees a validation or test value
    for (X, y), (start, end) in ((parts.validation, (a, b)), (parts.test, (b, length))):
        assert y.min() >= start and y.max() < end  # targets stay in their own block
        assert y[0, 0] == start  # the block's first step is a target
        np.testing.assert_array_equal(X[:, -1, 0] + 1, y[:, 0])  # the input is the past just before the target
        assert X.min() >= start - window  # the input reaches back at most `window` steps
        if step == 1:
            assert y[-1, -1] == end - 1  # and with step 1 the block's last step is a target too
    targets = [set(part[1].ravel().tolist()) for part in (parts.train, parts.validation, parts.test)]
    assert not targets[0] & targets[1] and not targets[1] & targets[2] and not targets[0] & targets[2]


def test_split_without_validation_or_test_leaves_them_out():
    parts = split_windows(np.arange(50.0), 5, 1, validation=0.0, test=0.0)
    assert parts.validation is None and parts.test is None
    assert len(parts.train[0]) == 45


# ---- errors ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("series", "kwargs", "error", "message"),
    [
        (np.arange(5.0), {"window": 4, "horizon": 2}, ValueError,
         r"the series has 5 steps, too short for one example of window=4 \+ horizon=2 = 6 steps"),
        ([1.0, np.nan, 3.0, np.nan], {"window": 1}, ValueError,
         r"series has 2 missing or infinite values \(first at steps \[1, 3\]\); fill them first"),
        ([[1.0, 2.0], [np.inf, 0.0], [1.0, 2.0]], {"window": 1}, ValueError, r"1 missing or infinite values"),
        ("12345", {"window": 2}, TypeError, r"series is a string; expected numbers in time order"),
        (["1", "2", "3"], {"window": 2}, TypeError, r"series holds text values \(<U1\), not numbers"),
        (pd.Series(["a", "b", "c"]), {"window": 2}, TypeError, r"series holds object values \(object\), not numbers"),
        (np.zeros((4, 2, 2)), {"window": 2}, ValueError,
         r"shape \(4, 2, 2\); expected \(steps,\) or \(steps, features\)"),
        (np.arange(9.0), {"window": 0}, ValueError, r"window=0 must be a whole number >= 1"),
        (np.arange(9.0), {"window": 2, "horizon": 0}, ValueError, r"horizon=0 must be a whole number >= 1"),
        (np.arange(9.0), {"window": 2.5}, ValueError, r"window=2.5 must be a whole number"),
        (np.arange(9.0), {"window": 2, "step": True}, ValueError, r"step=True must be a whole number"),
        (np.arange(9.0), {"window": 2, "target": 1}, ValueError, r"target=1 must be a column index from 0 to 0"),
        (pd.date_range("2020", periods=9), {"window": 2}, TypeError, r"series holds date values"),
    ],
)
def test_series_that_cannot_be_cut_get_clear_errors(series, kwargs, error, message):
    with pytest.raises(error, match=message):
        sliding_windows(series, **kwargs)


@pytest.mark.parametrize(
    ("length", "kwargs", "message"),
    [
        (100, {"validation": 1.0}, r"validation=1.0 must be a number >= 0 and < 1"),
        (100, {"test": -0.1}, r"test=-0.1 must be a number >= 0 and < 1"),
        (100, {"validation": 0.5, "test": 0.5}, r"validation=0.5 and test=0.5 leave no steps to train on"),
        (100, {"window": 10, "horizon": 8, "test": 0.05},
         r"the test block has 5 steps \(of 100\); it needs at least 8"),
        (40, {"window": 30, "horizon": 1}, r"the train block has 28 steps \(of 40\); it needs at least 31"),
        (5, {"window": 5, "horizon": 1}, r"the series has 5 steps, too short"),
    ],
)
def test_splits_that_leave_a_block_too_short_get_clear_errors(length, kwargs, message):
    settings = {"window": 5, "horizon": 1, "validation": 0.1, "test": 0.2, **kwargs}
    with pytest.raises(ValueError, match=message):
        split_windows(np.arange(float(length)), settings.pop("window"), settings.pop("horizon"), **settings)


def test_as_series_keeps_values_in_time_order_as_float64():
    values = as_series(pd.Series([3, 1, 2], index=pd.date_range("2020", periods=3, freq="D")))
    assert values.dtype == np.float64
    assert values.tolist() == [3.0, 1.0, 2.0]
