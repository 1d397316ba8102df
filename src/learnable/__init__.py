"""learnable: train learnable models on your data, and watch them learn.

Three layers: ``learnable.fit(X, y)`` (one line), :class:`Learner` (any ``nn.Module``), and the
building blocks (``learnable.data``, ``learnable.models``, ``learnable.losses``,
``learnable.metrics``, ``learnable.optim``, ``learnable.callbacks``).

Example:
    >>> import learnable
    >>> X, y, _ = learnable.data.datasets.load("breast-cancer")
    >>> model = learnable.fit(X, y)
    >>> model.save("cancer-model")                      # doctest: +SKIP
    >>> learnable.load("cancer-model").predict(X[:3])   # doctest: +SKIP
"""

from learnable import callbacks, classic, data, losses, metrics, models, optim, tasks
from learnable._version import __version__
from learnable.tasks import (
    AnomalyDetector,
    FittedModel,
    Forecaster,
    LanguageModel,
    fit,
    load,
    lr_find,
    train_language_model,
)
from learnable.train import Learner, seed_everything

__all__ = [
    "AnomalyDetector",
    "FittedModel",
    "Forecaster",
    "LanguageModel",
    "Learner",
    "__version__",
    "callbacks",
    "classic",
    "data",
    "fit",
    "load",
    "lr_find",
    "losses",
    "metrics",
    "models",
    "optim",
    "seed_everything",
    "tasks",
    "train_language_model",
]
