"""A short, stable fingerprint of a dataset, so a run records exactly which data it learned from.

Example:
    >>> import numpy as np
    >>> fingerprint(np.eye(3), [0, 1, 2]) == fingerprint(np.eye(3), [0, 1, 2])
    True
"""

from __future__ import annotations

import hashlib
from typing import Any

import pandas as pd

from learnable.data.validate import as_features, as_target


def fingerprint(X: Any, y: Any = None) -> str:
    """SHA-256 (first 16 hex digits) over the column names and every value of ``X`` and ``y``."""
    digest = hashlib.sha256()
    frame = as_features(X)
    digest.update(repr(list(frame.columns)).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    if y is not None:
        digest.update(pd.util.hash_pandas_object(as_target(y), index=False).to_numpy().tobytes())
    return digest.hexdigest()[:16]
