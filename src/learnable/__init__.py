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

from learnable import anomaly, callbacks, classic, data, datasets, language_model, losses, metrics, models, optim
from learnable.anomaly import AnomalyDetector
from learnable.estimator import fit, lr_find
from learnable.fitted_model import FittedModel, load
from learnable.forecast import Forecaster
from learnable.language_model import LanguageModel, train_language_model
from learnable.train import Learner, seed_everything

__all__ = [
    "AnomalyDetector",
    "FittedModel",
    "Forecaster",
    "LanguageModel",
    "Learner",
    "__version__",
    "anomaly",
    "callbacks",
    "classic",
    "data",
    "datasets",
    "fit",
    "forecast",
    "language_model",
    "load",
    "lr_find",
    "losses",
    "metrics",
    "models",
    "optim",
    "seed_everything",
    "train_language_model",
]
