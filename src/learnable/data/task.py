"""Infer the learning task from the target: regression, binary or multiclass classification.

Rules, in order: text, booleans and categoricals are classes; floats with fractional values are a
regression target; whole numbers are classes when there are few distinct values (at most
``MAX_CLASSES``), otherwise a regression target. Pass ``task=`` to override.

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
MAX_CLASSES = 50


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


def _is_regression(y: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(y) or not pd.api.types.is_numeric_dtype(y):
        return False
    values = y.to_numpy(dtype=float)
    if (values != np.round(values)).any():
        return True
    return y.nunique() > MAX_CLASSES
