"""What the model was given: a summary of the training data that the doctor can check.

:func:`summarize_data` looks at the data as the model sees it (after any encoding) and records,
in plain JSON, the facts behind the data findings: rows per split, feature scales, constant
features, class counts, rows of the validation and test splits that also appear in training, and
single features that predict the target perfectly. :func:`learnable.fit` and the run recorder
store it with the run. The task comes from the caller, who trained for it (``learnable.fit`` from its
schema, the recorder from the Learner's loss): the one rule that infers a task from a target is
:mod:`learnable.data.task`'s.

Example:
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(100, 3))
    >>> y = (X[:, 0] > 0).astype(int)
    >>> summary = summarize_data((X, y), validation=(X[:10], y[:10]), task="binary")
    >>> summary["duplicates"]["validation"], summary["perfect_predictors"][0]["feature"]
    (10, 'x0')
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from learnable.utils.validation import check_choice

MAX_CHECK_CELLS = 20_000_000  # the per-feature checks look at a seeded sample of rows: at most rows x features cells
MAX_CHECK_FEATURES = 2_000
MAX_CLASSES_KEPT = 100  # class counts beyond the largest 100 are summed as "(other)"
MIN_PERFECT_ROWS = 20  # fewer training rows than this can be split by one feature by chance
TASKS = ("regression", "binary", "multiclass")


def summarize_data(
    train: tuple[Any, Any],
    validation: tuple[Any, Any] | None = None,
    test: tuple[Any, Any] | None = None,
    *,
    task: str,
    feature_names: Sequence[str] | None = None,
    standardized: bool = False,
    classes: Sequence[Any] | None = None,
    image_shape: Sequence[int] | None = None,
) -> dict[str, Any]:
    """Summarize training data (and the held-out splits) as the model sees it.

    Args:
        train, validation, test: ``(X, y)`` pairs of arrays or tensors; X is (rows, features) or
            images (rows, [channels,] height, width).
        task: "regression", "binary" or "multiclass": what the model is trained for (a class target
            with several 0/1 columns is summarized as "multilabel").
        feature_names: names of X's columns (default x0, x1, ...).
        standardized: True when learnable scaled the inputs itself (scales are then not checked).
        classes: class names for the class indices in ``y``.
        image_shape: the shape of one image when X holds flattened images (per-pixel checks are skipped).
    """
    check_choice("task", task, TASKS)
    X, y = _numpy(train[0]), _numpy(train[1])
    image = X.ndim > 2 or image_shape is not None
    flat = X.reshape(len(X), -1)
    names = list(feature_names) if feature_names is not None else [f"x{i}" for i in range(flat.shape[1])]
    summary: dict[str, Any] = {
        "rows": {"train": len(X), "validation": _rows(validation), "test": _rows(test)},
        "features": int(flat.shape[1]), "image_shape": list(image_shape or X.shape[1:]) if image else None,
        "task": task, "standardized": standardized,
        "duplicates": _duplicates(flat, validation, test),
    }
    columns = int(np.prod(y.shape[1:])) if y.ndim > 1 else 1
    if task == "regression":
        target = y.astype(np.float64).reshape(len(y), -1)[:, 0]
        summary["target"] = {"mean": float(target.mean()), "std": float(target.std()), "columns": columns}
    elif columns == 1:
        summary["classes"] = _class_counts(y, classes)
    else:
        summary["task"] = "multilabel"  # several 0/1 targets per row: no single class distribution
    if not image and flat.shape[1] <= MAX_CHECK_FEATURES:
        sample = _sample(flat, y)
        summary["scale"] = _scales(sample[0], names)
        summary["constant_features"] = [names[i] for i in np.flatnonzero(sample[0].std(axis=0) == 0)]
        summary["perfect_predictors"] = _perfect_predictors(*sample, names, task)
    return summary


def _numpy(values: Any) -> np.ndarray:
    if hasattr(values, "detach"):
        values = values.detach().cpu()
        if values.dtype in (torch.bfloat16, torch.float16):  # no NumPy bfloat16
            values = values.float()
        return values.numpy()
    return np.asarray(values)


def _rows(split: tuple[Any, Any] | None) -> int:
    return 0 if split is None else len(split[0])


def _sample(flat: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    limit = max(MIN_PERFECT_ROWS, MAX_CHECK_CELLS // max(flat.shape[1], 1))
    if len(flat) <= limit:
        return flat.astype(np.float64), y
    rows = np.sort(np.random.default_rng(0).choice(len(flat), limit, replace=False))
    return flat[rows].astype(np.float64), y[rows]


def _duplicates(train: np.ndarray, validation: Any, test: Any) -> dict[str, int]:
    """Rows of each held-out split identical to some training row (and repeats within training)."""
    seen = set(_row_hashes(train))
    counts = {"train_repeats": len(train) - len(seen)}
    for name, split in (("validation", validation), ("test", test)):
        if split is not None:
            counts[name] = sum(h in seen for h in _row_hashes(_numpy(split[0]).reshape(len(split[0]), -1)))
    return counts


def _row_hashes(rows: np.ndarray, chunk: int = 4096) -> list[int]:
    """A 128-bit hash of each row, in one dtype (float64) and with -0.0 as 0.0; chunked to bound memory."""
    hashes = []
    for start in range(0, len(rows), chunk):
        part = np.ascontiguousarray(rows[start : start + chunk].astype(np.float64) + 0.0)
        hashes += [int.from_bytes(hashlib.blake2b(row.tobytes(), digest_size=16).digest()) for row in part]
    return hashes


def _class_counts(y: np.ndarray, classes: Sequence[Any] | None) -> dict[str, int]:
    labels, counts = np.unique(y.reshape(len(y), -1)[:, 0], return_counts=True)
    shown = [str(classes[int(i)]) if classes is not None else str(i) for i in labels]
    found = dict(zip(shown, counts.tolist(), strict=True))
    if len(found) <= MAX_CLASSES_KEPT:
        return found
    largest = dict(sorted(found.items(), key=lambda item: -item[1])[:MAX_CLASSES_KEPT])
    return {**largest, "(other)": int(counts.sum()) - sum(largest.values())}


def _scales(X: np.ndarray, names: list[str]) -> dict[str, Any]:
    """The median feature standard deviation and the features far from it (or far from zero)."""
    std, mean = X.std(axis=0), X.mean(axis=0)
    median = float(np.median(std[std > 0])) if (std > 0).any() else 0.0
    order = np.argsort(-np.maximum(std, np.abs(mean)))[:10]
    largest = [{"feature": names[i], "std": float(std[i]), "mean": float(mean[i])} for i in order]
    return {"median_std": median, "largest": largest}


def _perfect_predictors(X: np.ndarray, y: np.ndarray, names: list[str], task: str) -> list[dict[str, Any]]:
    """Features that alone predict the training target exactly (thresholds, or a near-1 correlation)."""
    if len(X) < MIN_PERFECT_ROWS or X.shape[1] == 0:
        return []
    found = []
    if task == "regression":
        target = y.astype(np.float64).reshape(len(y), -1)[:, 0]
        centred, t = X - X.mean(axis=0), target - target.mean()
        denominator = np.sqrt((centred**2).sum(axis=0) * (t**2).sum())
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = np.where(denominator > 0, centred.T @ t / denominator, 0.0)
        for i in np.flatnonzero(np.abs(corr) >= 0.999):
            found.append({"feature": names[i], "how": f"correlation {corr[i]:+.4f} with the target"})
        return found
    labels = y.reshape(len(y), -1)[:, 0]
    num_classes = len(np.unique(labels))
    if num_classes < 2:
        return []
    order = np.argsort(X, axis=0, kind="stable")  # (rows, features)
    values = np.take_along_axis(X, order, axis=0)
    sorted_labels = labels[order]
    changes = sorted_labels[1:] != sorted_labels[:-1]
    ties = values[1:] == values[:-1]
    clean = ~(changes & ties).any(axis=0)  # no tie straddles two classes
    for i in np.flatnonzero(clean & (changes.sum(axis=0) == num_classes - 1)):
        found.append({"feature": names[i], "how": f"{num_classes - 1} threshold(s) on it separate every class"})
    return found
