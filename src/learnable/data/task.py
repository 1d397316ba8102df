"""Infer the learning task from the target: regression, binary or multiclass classification.

Rules, in order: text, booleans and categoricals are classes; floats with fractional values are a
regression target; whole numbers are class codes when they are few (at most ``CLASS_CODES`` distinct
values) and each is common (``MIN_CLASS_ROWS`` rows or more), otherwise a quantity (an age, a count):
regression. A whole-number target could be read either way, so :func:`task_note` says which reading
was taken and how to pick the other. Pass ``task=`` to override.

Example:
    >>> import pandas as pd
    >>> infer_task(pd.Series(["cat", "dog", "cat"]))
    'binary'
    >>> infer_task(pd.Series([0.5, 1.25, 3.0]))
    'regression'
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from learnable.data.validate import plain

TASKS = ("regression", "binary", "multiclass")
MAX_CLASSES = 50  # the Learner stratifies its split of integer targets with at most this many values
CLASS_CODES = 10  # whole numbers with more distinct values are a quantity: an age, a count, a price in cents
MIN_CLASS_ROWS = 3  # ... and so are whole numbers one of whose values is rarer: a class of 2 rows cannot be learned


def infer_task(y: pd.Series) -> str:
    """Return "regression", "binary" or "multiclass" for the target ``y``."""
    if _is_regression(y):
        return "regression"
    return classification_task(y)


def classification_task(y: pd.Series) -> str:
    """Return "binary" or "multiclass", refusing a target with a single class."""
    classes = pd.unique(y)
    if len(classes) < 2:
        raise ValueError(
            f"target '{y.name}' has a single class ({plain(classes[0])!r}) in all {len(y)} rows; "
            "a classifier needs at least two classes. Check the target column, or collect "
            "examples of the other classes."
        )
    return "binary" if len(classes) == 2 else "multiclass"


def check_task_name(task: str) -> None:
    """Raise unless ``task`` is "auto" or one of :data:`TASKS`."""
    if task not in TASKS + ("auto",):
        raise ValueError(f"task={task!r} is not a known task; choose one of {TASKS + ('auto',)}.")


def resolve_task(y: pd.Series, task: str = "auto") -> str:
    """Return the task for ``y``: inferred for "auto", else ``task`` checked against the target."""
    check_task_name(task)
    if task == "auto":
        return infer_task(y)
    if task == "regression":
        if pd.api.types.is_bool_dtype(y) or not pd.api.types.is_numeric_dtype(y):
            raise ValueError(
                f"task='regression' needs a numeric target, but '{y.name}' holds {y.dtype} values "
                f"such as {y.iloc[0]!r}. Convert it to numbers, or use task='auto'."
            )
        return task
    found = classification_task(y)
    if task == "binary" and found != "binary":
        raise ValueError(
            f"task='binary' needs exactly 2 classes, but '{y.name}' has {y.nunique()}; "
            "use task='multiclass'."
        )
    return task


def task_note(y: pd.Series, task: str) -> str | None:
    """For a target of whole numbers that could be classes or a quantity, which reading ``task`` is and how
    to take the other; None where the target leaves no doubt (labels, fractions, two values).

    Example:
        >>> print(task_note(pd.Series([1, 2, 3, 4] * 10, name="stars"), "multiclass"))
        target 'stars' holds 4 whole numbers, read as 4 classes; if it is a quantity ... pass task='regression'.
    """
    if not _is_whole_numbers(y) or y.nunique() <= 2:
        return None
    values = f"target '{y.name}' holds {y.nunique()} whole numbers"
    if task == "regression":
        return f"{values}, read as a quantity (regression); if they are class codes, pass task='multiclass'."
    return (f"{values}, read as {y.nunique()} classes; if it is a quantity (a count, a score, an age), pass "
            "task='regression'.")


def _is_whole_numbers(y: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(y) or not pd.api.types.is_numeric_dtype(y):
        return False
    values = y.to_numpy(dtype=float)
    return bool((values == np.round(values)).all())


def _is_regression(y: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(y) or not pd.api.types.is_numeric_dtype(y):
        return False
    if not _is_whole_numbers(y):
        return True  # fractions: a quantity
    counts = y.value_counts()
    return len(counts) > CLASS_CODES or (len(counts) > 2 and int(counts.min()) < MIN_CLASS_ROWS)
