"""``learnable.load``: read any saved learnable model back as what it was saved as.

The kind comes from ``model.json`` through the one registry, :data:`learnable.model_file.KINDS`; the
class that reads it is imported only then, so loading a k-means model never imports PyTorch's RL glue.

Example:
    >>> import learnable
    >>> from learnable.classic import KMeans
    >>> path = KMeans(n_clusters=2, seed=0).fit([[0.0], [0.1], [5.0], [5.1]]).save("km-example")
    >>> type(learnable.load(path)).__name__
    'KMeans'
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from learnable.model_file import KINDS, kind_of, read_info
from learnable.tasks.fitted_model import FittedModel


def load(directory: str | Path) -> Any:
    """Load any saved learnable model (safetensors + JSON, no pickle), by what ``model.json`` says it is.

    A model from ``fit`` comes back as a :class:`FittedModel`; a ``Forecaster``, an
    ``AnomalyDetector``, a ``LanguageModel`` or any estimator of :mod:`learnable.classic` (``KMeans``,
    ``PCA``, ``LinearRegression``/``Ridge``/``Lasso``, ``LogisticRegression``, ``LinearSVC``, a decision
    tree, ``AgglomerativeClustering``) as itself, and a reinforcement-learning agent as its ``learnable.rl``
    class (with the ``rl`` extra).
    """
    kind = kind_of(read_info(Path(directory)))
    if kind is None:
        return FittedModel.load(directory)  # says that the folder holds a bare network, and how to load it
    module, name = KINDS[kind].split(":")
    return getattr(importlib.import_module(module), name).load(directory)
