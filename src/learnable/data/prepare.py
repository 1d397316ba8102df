"""From raw input to encoded splits: validate, infer the task, split, learn the schema, encode.

This is the data half of ``learnable.fit``: nothing is trained on data that did not pass here.

Example:
    >>> from learnable.data.datasets import load
    >>> X, y, _ = load("iris")
    >>> data = prepare(X, y, seed=0)
    >>> data.schema.task, data.train[0].shape
    ('multiclass', (120, 4))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from learnable.data.columns import check_texts
from learnable.data.schema import Schema
from learnable.data.split import split_indices
from learnable.data.task import resolve_task, task_note
from learnable.data.validate import as_features, as_target, check_features, check_pair, is_text_sequence


@dataclass
class Prepared:
    """Encoded splits (float32 inputs, or int64 token ids for text; encoded targets), the raw test rows,
    and the schema."""

    schema: Schema
    train: tuple[np.ndarray, np.ndarray]
    validation: tuple[np.ndarray, np.ndarray] | None
    test: tuple[np.ndarray, np.ndarray] | None
    raw_test: tuple[pd.DataFrame, pd.Series] | None
    task_note: str | None = None  # how an inferred task could be read otherwise (see learnable.data.task)


def prepare(
    X: Any,
    y: Any,
    *,
    task: str = "auto",
    validation: float = 0.1,
    test: float = 0.1,
    seed: int = 0,
    text: bool | None = None,
    missing: str = "impute",
) -> Prepared:
    """Validate ``X`` and ``y``, split them and encode every split with the training schema.

    ``text``: None finds out whether X is text (a list of strings, or one column of free text),
    True requires text (for a text model), False reads X as a table; see :meth:`Schema.learn`.
    ``missing``: "impute" (missing cells are filled and marked by the schema) or "error" (refused).
    """
    if text is None and is_text_sequence(X):
        text = True  # a plain list of strings can only be texts
    shape = np.shape(X) if isinstance(X, np.ndarray) or hasattr(X, "dim") else ()
    image_shape = tuple(shape[1:]) if len(shape) > 2 else None
    features, target = as_features(X), as_target(y)
    check_pair(features, target, missing)
    inferred = task == "auto"
    task = resolve_task(target, task)
    # images' whole-number labels are classes beyond doubt; a table's or a text's could be a quantity
    note = task_note(target, task) if inferred and image_shape is None else None
    labels = None if task == "regression" else target.astype(str).to_numpy()
    parts = split_indices(len(target), validation=validation, test=test, labels=labels, seed=seed)
    schema = Schema.learn(features.iloc[parts.train], target.iloc[parts.train], task, image_shape, text=text,
                          missing=missing)
    if schema.missing != missing:  # images and texts are strict: every split, so an error names the row as given
        check_features(features, "error")
    if schema.text is not None:
        check_texts(features[schema.text])

    def encode(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        if len(rows) == 0:
            return None
        return schema.transform(features.iloc[rows]), schema.encode_target(target.iloc[rows])

    raw_test = (features.iloc[parts.test], target.iloc[parts.test]) if len(parts.test) else None
    return Prepared(schema, encode(parts.train), encode(parts.validation), encode(parts.test), raw_test, note)
