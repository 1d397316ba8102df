"""learnable: train learnable models on your data, and watch them learn.

Three layers: ``learnable.fit(X, y)`` (one line), :class:`Learner` (any ``nn.Module``), and the
building blocks (``learnable.data``, ``learnable.models``, ``learnable.losses``,
``learnable.metrics``, ``learnable.optim``, ``learnable.callbacks``).

Example:
    >>> import learnable
    >>> X, y, _ = learnable.datasets.load("breast-cancer")
    >>> model = learnable.fit(X, y)
    >>> model.save("cancer-model")                      # doctest: +SKIP
    >>> learnable.load("cancer-model").predict(X[:3])   # doctest: +SKIP
"""

__version__ = "0.1.0"

from learnable import callbacks, data, datasets, losses, metrics, models, optim
from learnable.estimator import FittedModel, fit, load, lr_find
from learnable.train import Learner, seed_everything

__all__ = [
    "FittedModel",
    "Learner",
    "__version__",
    "callbacks",
    "data",
    "datasets",
    "fit",
    "load",
    "lr_find",
    "losses",
    "metrics",
    "models",
    "optim",
    "seed_everything",
]
