"""Reading the target of a classic estimator, and scoring against it: real values for regression,
class labels for classification (any values: strings, ints), each checked against the rows of X.

Example:
    >>> classes, codes = as_labels(["b", "a", "b"], 3)
    >>> classes.tolist(), codes.tolist()
    (['a', 'b'], [1, 0, 1])
    >>> r2_score(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0]))
    1.0
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch

from learnable.data.labels import labels_dtype
from learnable.data.validate import rows_text

DTYPES = {torch.float32: np.float32, torch.float64: np.float64}  # the dtypes the estimators compute in


def as_array(y: Any) -> np.ndarray:
    """y (list, array, pandas object, tensor on any device) as a NumPy array, without a copy where it can
    (labels keep their dtype).

    Example:
        >>> as_array(torch.tensor([1, 2])).tolist()
        [1, 2]
    """
    if isinstance(y, torch.Tensor):
        return y.detach().cpu().numpy()
    return np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y)  # pandas: its own conversion


def check_length(y: Any, n_rows: int, what: str = "values") -> None:
    """Raise unless y has one entry per row of X.

    Example:
        >>> check_length([1, 2], 3)
        Traceback (most recent call last):
        ValueError: X has 3 rows but y has 2 values; expected one target per row. ...
    """
    if len(y) != n_rows:
        raise ValueError(f"X has {n_rows} rows but y has {len(y)} {what}; expected one target per row. Check that "
                         "X and y come from the same table and were filtered the same way.")


def as_values(y: Any, n_rows: int, dtype: torch.dtype) -> torch.Tensor:
    """A numeric regression target (N,) or (N, T) as a CPU tensor of ``dtype``, checked against X's rows.

    Example:
        >>> as_values([1, 2, 3], 3, torch.float64)
        tensor([1., 2., 3.], dtype=torch.float64)
    """
    array = as_array(y)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"y must hold numbers for regression, got dtype {array.dtype}; for class labels use a "
                        "classifier such as LogisticRegression.")
    if array.ndim not in (1, 2) or array.size == 0:
        raise ValueError(f"y has shape {array.shape}; expected one value per row (N,) or several targets (N, T). "
                         "Pass a 1-D target, or one column per target.")
    check_length(array, n_rows)
    array = array.astype(DTYPES[dtype], copy=False)
    with np.errstate(over="ignore"):  # one fast pass; row by row only when something is wrong (or the sum overflowed)
        finite = np.isfinite(array.sum())
    rows = [] if finite else np.flatnonzero(~np.isfinite(array.reshape(len(array), -1)).all(1))
    if len(rows):
        raise ValueError(f"y has {len(rows)} NaN or infinite value(s) (rows [{rows_text(rows)}]); every row needs "
                         "a finite target. Drop those rows from X and y first.")
    return torch.from_numpy(np.ascontiguousarray(array))


def as_labels(y: Any, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Class labels (any values: strings, ints) as (classes (K,) sorted as ``np.unique``, codes (N,) int64).

    Example:
        >>> classes, codes = as_labels(["b", "a", "b"], 3)
        >>> classes.tolist(), codes.tolist()
        (['a', 'b'], [1, 0, 1])
    """
    array = as_array(y)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise ValueError(f"y has shape {array.shape}; expected one class label per row, shape (N,). For one-hot "
                         "labels pass y.argmax(1).")
    check_length(array, n_rows)
    missing = pd.isna(array)
    if missing.any():
        rows = np.flatnonzero(missing)
        raise ValueError(f"y has {len(rows)} missing label(s) (rows [{rows_text(rows)}]); every row needs a "
                         "class. Drop those rows from X and y first.")
    try:
        classes, codes = np.unique(array, return_inverse=True)
    except TypeError:
        raise TypeError("y mixes labels that cannot be sorted together (for example numbers and strings); "
                        "give every label the same type, e.g. y.astype(str).") from None
    labels_dtype(classes)  # refuses labels a saved model could not hold (bytes, dates)
    if len(classes) < 2:
        raise ValueError(f"y has only one class ({classes[0].item()!r}); a classifier needs at least 2 classes to tell "
                         "apart.")
    return classes, codes.reshape(-1).astype(np.int64)


def r2_score(truth: np.ndarray, predicted: np.ndarray) -> float:
    """The coefficient of determination, averaged over targets (scikit-learn's ``r2_score``).

    Example:
        >>> r2_score(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 4.0]))
        0.5
    """
    truth, predicted = truth.reshape(len(truth), -1), predicted.reshape(len(predicted), -1)
    residual = ((truth - predicted) ** 2).sum(0)
    total = ((truth - truth.mean(0)) ** 2).sum(0)
    perfect = np.where(residual == 0, 1.0, 0.0)  # a constant target: 1 when predicted exactly, else 0
    scores = np.where(total > 0, 1 - residual / np.where(total > 0, total, 1), perfect)
    return float(scores.mean())


# ---- the shared estimator shell -------------------------------------------------------------------
