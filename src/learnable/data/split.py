"""Seeded train / validation / test splits, stratified for classification.

The test split is carved off first and never seen by training; the validation split comes out of
what is left. Splits are returned as row indices, so any table or array can be cut with them.

Example:
    >>> import numpy as np
    >>> parts = split_indices(100, validation=0.1, test=0.2, seed=0)
    >>> len(parts.train), len(parts.validation), len(parts.test)
    (70, 10, 20)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.model_selection import train_test_split

from learnable.data.validate import plain
from learnable.utils.validation import check_number


@dataclass(frozen=True)
class Split:
    """Row indices of the train, validation and test parts (validation or test may be empty)."""

    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray


def split_indices(
    num_rows: int,
    *,
    validation: float = 0.1,
    test: float = 0.1,
    labels: Any = None,
    seed: int = 0,
) -> Split:
    """Split ``range(num_rows)`` into seeded train/validation/test indices.

    Args:
        num_rows: number of samples.
        validation: fraction of all rows for validation (0 for none).
        test: fraction of all rows held out for the final test (0 for none).
        labels: class labels per row; when given, every part keeps the class proportions.
        seed: the random seed; the same seed gives the same split.
    """
    for name, value in (("validation", validation), ("test", test)):
        check_number(name, value, 0, 1, "0.1", high_open=True)
    if validation + test >= 1:
        raise ValueError(
            f"validation={validation} and test={test} leave no rows for training; "
            "keep their sum below 1 (for example 0.1 and 0.1)."
        )
    rows = np.arange(num_rows)
    labels = None if labels is None else np.asarray(labels)
    _check_enough_rows(num_rows, validation, test, labels)
    rest, test_rows = _cut(rows, _count(num_rows, test), labels, seed)
    rest_labels = None if labels is None else labels[rest]
    train_rows, val_rows = _cut(rest, _count(num_rows, validation), rest_labels, seed + 1)
    return Split(train=train_rows, validation=val_rows, test=test_rows)


def _count(num_rows: int, fraction: float) -> int:
    """Whole rows for a fraction of all rows (rounded first, so 0.1 * 150 is 15, not 16)."""
    return math.ceil(round(num_rows * fraction, 9))


def _cut(rows: np.ndarray, size: int, labels: np.ndarray | None, seed: int):
    if size == 0:
        return rows, rows[:0]
    if labels is not None:
        size = max(size, len(np.unique(labels)))
    try:
        return train_test_split(rows, test_size=size, random_state=seed, stratify=labels)
    except ValueError as error:
        raise ValueError(
            f"too few rows of some class for a stratified split of {len(rows)} rows ({error}). "
            "Pass more data, or smaller validation/test fractions."
        ) from None


def _check_enough_rows(num_rows: int, validation: float, test: float, labels: Any) -> None:
    parts = 1 + (validation > 0) + (test > 0)
    if labels is None:
        needed = parts
    else:
        classes, counts = np.unique(labels, return_counts=True)
        rare = classes[counts < parts]
        if len(rare):
            raise ValueError(
                f"class {plain(rare[0])!r} has only {counts[counts < parts][0]} row(s); a stratified "
                f"train/validation/test split needs at least {parts} rows of every class. "
                "Collect more examples of it, drop it, use validation=0 / test=0, or pass "
                "task='regression' if the target is a number rather than a class."
            )
        needed = parts * len(classes)
    needed = max(needed, math.ceil(parts / (1 - validation - test)))
    if num_rows < needed or math.ceil(num_rows * (1 - validation - test)) < 1:
        raise ValueError(
            f"too few rows for the split: got {num_rows}, but a train/validation/test split of "
            f"{1 - validation - test:.2f}/{validation:.2f}/{test:.2f} needs at least {needed}. "
            "Pass more data, or smaller validation/test fractions."
        )
