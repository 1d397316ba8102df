"""What a decision tree reads: rows as scikit-learn's trees read them (NaN a missing value, infinity
refused), and the rules each of its settings follows.

Example:
    >>> tree_rows([[1.0, float("nan")], [2.0, 3.0]]).tolist()
    [[1.0, nan], [2.0, 3.0]]
    >>> RULES["max_depth"][0](0), RULES["max_depth"][1]
    (False, 'None or a whole number >= 1')
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from learnable.classic.targets import as_array
from learnable.data.validate import as_rows
from learnable.utils.validation import is_number, is_whole


def tree_rows(X: Any) -> np.ndarray:
    """X as float32 rows (N, features), as scikit-learn's trees read it: NaN is kept (a missing value),
    infinity and non-numbers are refused. Images (N, C, H, W) are flattened to (N, C*H*W)."""
    array = as_array(X)
    missing = np.isnan(array) if array.dtype.kind == "f" else np.zeros(array.shape, dtype=bool)
    if array.dtype.kind == "f" and np.isinf(array).any():
        rows = np.flatnonzero(np.isinf(array).reshape(len(array), -1).any(1))
        raise ValueError(f"X has infinite values in {len(rows)} row(s) (first: {rows[0]}); trees take NaN as a "
                         "missing value but not infinity. Replace them with NaN or a large finite number.")
    rows = as_rows(np.where(missing, 0, array) if missing.any() else array)  # checks all but NaN
    rows = rows.reshape(len(rows), -1)
    if missing.any():  # rows is a fresh array then (np.where made it); otherwise it may be the caller's, read-only
        rows[missing.reshape(rows.shape)] = np.nan
    return rows


def _fraction_or_count(low: int, top_included: bool) -> Callable[[Any], bool]:
    def accepts(value: Any) -> bool:
        if is_whole(value):
            return value >= low
        return isinstance(value, float) and value > 0.0 and (value <= 1.0 if top_included else value < 1.0)
    return accepts


# setting -> (accepts, what it must be, an example)
RULES: dict[str, tuple[Callable[[Any], bool], str, str]] = {
    "splitter": (lambda v: v in ("best", "random"), "'best' or 'random'", "'best'"),
    "max_depth": (lambda v: v is None or (is_whole(v) and v >= 1), "None or a whole number >= 1", "5"),
    "min_samples_split": (_fraction_or_count(2, True), "a whole number >= 2 or a fraction in (0, 1]", "2"),
    "min_samples_leaf": (_fraction_or_count(1, False), "a whole number >= 1 or a fraction in (0, 1)", "1"),
    "min_weight_fraction_leaf": (lambda v: is_number(v) and 0 <= v <= 0.5, "a number in [0, 0.5]", "0.0"),
    "max_features": (lambda v: v in (None, "sqrt", "log2") or _fraction_or_count(1, True)(v),
                     "None, 'sqrt', 'log2', a whole number >= 1 or a fraction in (0, 1]", "'sqrt'"),
    "max_leaf_nodes": (lambda v: v is None or (is_whole(v) and v >= 2), "None or a whole number >= 2", "20"),
    "min_impurity_decrease": (lambda v: is_number(v) and v >= 0, "a number >= 0", "0.0"),
    "ccp_alpha": (lambda v: is_number(v) and v >= 0, "a number >= 0", "0.01"),
    "seed": (lambda v: is_whole(v) and 0 <= v < 2**32, "a whole number in [0, 2**32)", "0"),
}
