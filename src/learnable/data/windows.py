"""Sliding windows over a time series, and chronological splits that never train on the future.

A forecaster learns from examples cut out of one long series: each example is ``window``
consecutive values (the input) followed by the next ``horizon`` values (the target).
:func:`sliding_windows` cuts them; :func:`split_windows` first cuts the series into consecutive
time blocks (train, then validation, then test) and cuts the windows of each block apart.

What the split guarantees, with ``a`` and ``b`` the first time steps of the validation and test
blocks (:func:`chronological_bounds`):

- every training window, input and target, lies in ``series[:a]``;
- every validation target lies in ``series[a:b]`` and every test target in ``series[b:]``, so no
  value is a target in two splits, and no training window ever sees a validation or test value;
- a validation or test window's input may reach back into the earlier blocks (up to ``window``
  steps before ``a`` or ``b``): that is the known past a forecast is made from, not leakage.

Example:
    >>> import numpy as np

    >>> X, y = sliding_windows(np.arange(6.0), window=3, horizon=2)
    >>> X[:, :, 0].tolist(), y.tolist()
    ([[0.0, 1.0, 2.0], [1.0, 2.0, 3.0]], [[3.0, 4.0], [4.0, 5.0]])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from learnable.utils.validation import check_count, check_number, is_whole


def as_series(series: Any, name: str = "series") -> np.ndarray:
    """A numeric series as float64: (T,) or (T, F). Lists, arrays, tensors and pandas objects are
    accepted (a pandas index, dates included, is dropped: the values are in time order)."""
    if hasattr(series, "to_numpy"):  # pandas Series or DataFrame
        series = series.to_numpy()
    elif hasattr(series, "detach"):  # a torch tensor
        series = series.detach().cpu().numpy()
    if isinstance(series, (str, bytes)):
        raise TypeError(f"{name} is a string; expected numbers in time order, e.g. a list or a 1-D array.")
    values = np.asarray(series)
    if values.dtype.kind not in "iufb":
        kind = {"U": "text", "S": "text", "O": "object", "M": "date", "m": "time span"}.get(values.dtype.kind, "")
        raise TypeError(
            f"{name} holds {kind} values ({values.dtype}), not numbers; pass numbers in time order "
            "(convert text with pd.to_numeric, drop date columns)."
        )
    if values.ndim not in (1, 2):
        raise ValueError(f"{name} has shape {values.shape}; expected (steps,) or (steps, features).")
    values = values.astype(np.float64)
    missing = np.flatnonzero(~np.isfinite(values).reshape(len(values), -1).all(axis=1))
    if len(missing):
        raise ValueError(
            f"{name} has {len(missing)} missing or infinite values (first at steps {missing[:5].tolist()}); "
            "fill them first, e.g. pd.Series(x).interpolate(), or drop that part of the series."
        )
    return values


def check_window(window: Any, horizon: Any, step: Any = 1) -> None:
    """Raise unless ``window``, ``horizon`` and ``step`` are whole numbers >= 1."""
    for name, value, example in (("window", window, 24), ("horizon", horizon, 1), ("step", step, 1)):
        check_count(name, value, f"{example} (steps of the series)")


def sliding_windows(series: Any, window: int, horizon: int = 1, step: int = 1, target: int = 0,
                    dtype: Any = np.float32) -> tuple[np.ndarray, np.ndarray]:
    """Cut a series into (input window, following values) examples.

    Example ``i`` reads ``series[i*step : i*step + window]`` and its target is the next ``horizon``
    values of column ``target``.

    Args:
        series: (T,) or (T, F) numbers in time order (list, array, tensor, pandas).
        window: input steps per example.
        horizon: future steps to predict per example.
        step: steps between the starts of consecutive examples.
        target: the column whose future values are the target (for a (T, F) series).
        dtype: the arrays' dtype (float32, what a network takes; float64 to measure errors exactly).

    Returns:
        ``X`` (N, window, F) and ``y`` (N, horizon), float32 by default, N = (T - window - horizon) // step + 1.

    Example:
        >>> X, y = sliding_windows([1, 2, 3, 4, 5], window=2)
        >>> X.shape, y[:, 0].tolist()
        ((3, 2, 1), [3.0, 4.0, 5.0])
    """
    check_window(window, horizon, step)
    values = as_series(series)
    values = values[:, None] if values.ndim == 1 else values  # (T, F)
    if not is_whole(target) or not 0 <= target < values.shape[1]:
        raise ValueError(f"target={target!r} must be a column index from 0 to {values.shape[1] - 1}.")
    if len(values) < window + horizon:
        raise ValueError(
            f"the series has {len(values)} steps, too short for one example of window={window} + "
            f"horizon={horizon} = {window + horizon} steps; use a longer series or a smaller window."
        )
    count = (len(values) - window - horizon) // step + 1
    starts = np.arange(count) * step  # (N,)
    X = values[starts[:, None] + np.arange(window)]  # (N, window, F)
    y = values[starts[:, None] + window + np.arange(horizon), target]  # (N, horizon)
    return X.astype(dtype), y.astype(dtype)


def chronological_bounds(length: int, validation: float = 0.1, test: float = 0.2) -> tuple[int, int]:
    """The first steps ``(a, b)`` of the validation and test blocks of a series of ``length`` steps.

    Train is ``[0, a)``, validation ``[a, b)`` and test ``[b, length)``: consecutive blocks, the
    latest last. A fraction > 0 gets at least one step.

    Example:
        >>> chronological_bounds(100, validation=0.1, test=0.2)
        (70, 80)
    """
    for name, value in (("validation", validation), ("test", test)):
        check_number(name, value, 0, 1, "0.2", high_open=True)
    if validation + test >= 1:
        raise ValueError(f"validation={validation} and test={test} leave no steps to train on; keep their sum below 1.")
    test_steps = max(round(length * test), 1) if test else 0
    validation_steps = max(round(length * validation), 1) if validation else 0
    return length - test_steps - validation_steps, length - test_steps


@dataclass(frozen=True)
class WindowSplit:
    """Windows of the train, validation and test blocks as ``(X, y)`` pairs (None for an empty block),
    and the blocks' first steps ``bounds = (a, b)``."""

    train: tuple[np.ndarray, np.ndarray]
    validation: tuple[np.ndarray, np.ndarray] | None
    test: tuple[np.ndarray, np.ndarray] | None
    bounds: tuple[int, int]


def split_windows(series: Any, window: int, horizon: int = 1, *, validation: float = 0.1, test: float = 0.2,
                  step: int = 1, target: int = 0) -> WindowSplit:
    """Split a series into train / validation / test time blocks and cut each block's windows.

    A validation or test window takes its input from the ``window`` steps before its target (which may
    lie in an earlier block) and its target from its own block; see the module's guarantees.

    Example:
        >>> parts = split_windows(np.arange(100.0), window=5, horizon=2, validation=0.1, test=0.2)
        >>> parts.bounds, len(parts.train[0]), len(parts.validation[0]), len(parts.test[0])
        ((70, 80), 64, 9, 19)
        >>> float(parts.test[0][0, -1, 0]), float(parts.test[1][0, 0])   # the first test target is step 80
        (79.0, 80.0)
    """
    check_window(window, horizon, step)
    values = as_series(series)
    if len(values) < window + horizon:
        sliding_windows(values, window, horizon, step, target)  # raises its "too short" error
    a, b = chronological_bounds(len(values), validation, test)
    blocks = {"train": (0, a), "validation": (a, b), "test": (b, len(values))}
    for name, (start, end) in blocks.items():
        needed = window + horizon if name == "train" else horizon
        if end > start and end - start < needed or name == "train" and end < needed:
            raise ValueError(
                f"the {name} block has {max(end - start, 0)} steps (of {len(values)}); it needs at least {needed} "
                f"for window={window}, horizon={horizon}. Use a longer series, a smaller window or horizon, or "
                "smaller validation/test fractions."
            )
    cut = {}
    for name, (start, end) in blocks.items():
        context = 0 if name == "train" else start - window  # the known past before the block's first target
        cut[name] = sliding_windows(values[context:end], window, horizon, step, target) if end > start else None
    return WindowSplit(cut["train"], cut["validation"], cut["test"], (a, b))
