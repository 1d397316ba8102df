"""What `learnable cluster` and `learnable reduce` read: a built-in dataset or a CSV/Parquet file as a
numeric table (`--columns` picks the features), and the labels of `--target` to colour and score by.

A text column (other than --target) is refused with the fix, never one-hot encoded behind the user's
back; missing values are named by column and row.

Example:
    >>> table = load_table("iris", None, "sepal length (cm),petal length (cm)", "cluster")
    >>> table.features.shape, table.target, table.labels[0]
    ((150, 2), 'target', 'setosa')
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass
class Table:
    """The data of a command: numeric features (N, F), the labels of --target (or None), and names."""

    features: Any  # pandas DataFrame of numbers
    labels: np.ndarray | None
    target: str | None
    name: str


# ---- reading the data -------------------------------------------------------------------------------
def load_table(data: str, target: str | None, columns: str | None, command: str) -> Table:
    """A built-in dataset (its labels are the target) or a CSV/Parquet file, as numeric features and labels."""
    from learnable.data import datasets, read_frame
    from learnable.data.validate import as_features, check_features

    if data in datasets.names() and not Path(data).exists():
        dataset = datasets.load(data)
        frame, own = as_features(dataset.X), str(dataset.y.name)
        frame[own] = dataset.y.to_numpy()
        target, dropped, name = target or own, {own}, data
    else:
        frame, dropped, name = read_frame(data), set(), Path(data).stem
    if target is not None and target not in frame.columns:
        raise ValueError(f"--target '{target}' is not a column of '{data}'; its columns are "
                         f"{list(frame.columns)[:20]}.")
    features = frame.drop(columns=sorted(dropped | ({target} if target else set())))
    features = _chosen(features, columns, data)
    _check_numeric(features, command, target)
    check_features(features)  # missing values: named by column and row
    labels = None if target is None else _labels(frame[target])
    return Table(features.astype(np.float64), labels, target, name)


def _chosen(features: Any, columns: str | None, data: str) -> Any:
    if columns is None:
        return features
    names = [c.strip() for c in columns.split(",") if c.strip()]
    unknown = [c for c in names if c not in features.columns]
    if unknown or not names:
        raise ValueError(f"--columns names {unknown or 'no column'}, but the feature columns of '{data}' are "
                         f"{list(features.columns)[:20]}; pass some of those, separated by commas.")
    return features[names]


def _check_numeric(features: Any, command: str, target: str | None) -> None:
    import pandas as pd

    text = [c for c in features.columns if not (pd.api.types.is_numeric_dtype(features[c])
                                                or pd.api.types.is_bool_dtype(features[c]))]
    if text:
        hint = "" if target is None else f" (--target '{target}' is already left out)"
        raise ValueError(f"column(s) {text[:10]} hold text, but `learnable {command}` reads numbers only{hint}; "
                         f"drop them from the file, pick the numeric columns with --columns, or pass one as --target.")


def _labels(column: Any) -> np.ndarray:
    """The target as labels: numbers stay numbers (a colour scale), anything else becomes text."""
    import pandas as pd

    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        return column.to_numpy(dtype=np.float64)
    return column.astype(str).to_numpy()


def standardized(X: np.ndarray) -> np.ndarray:
    """Each column minus its mean, over its standard deviation (ddof 0, as StandardScaler; constant: 1)."""
    spread = X.std(0)
    return (X - X.mean(0)) / np.where(spread > 0, spread, 1.0)
