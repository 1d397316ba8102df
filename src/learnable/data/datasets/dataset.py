"""The :class:`Dataset` every built-in set returns: features, target and where the data comes from."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd


@dataclass
class Dataset:
    """Features, target and a one-paragraph description of where the data comes from."""

    X: Any
    y: pd.Series
    description: str
    name: str = ""
    image_shape: tuple[int, ...] | None = None

    def __iter__(self) -> Iterator[Any]:
        return iter((self.X, self.y, self.description))

    @property
    def images(self) -> np.ndarray:
        """The rows as images, shape (N, C, H, W): for image sets only (``image_shape`` is set)."""
        if self.image_shape is None:
            raise ValueError(f"dataset {self.name!r} is a table, not images; use its X.")
        return np.asarray(self.X).reshape(-1, *self.image_shape)
