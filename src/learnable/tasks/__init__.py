"""Tasks: recipes on the Learner, each from raw data to a model that predicts from raw data.

- :mod:`~learnable.tasks.fitting`: :func:`fit` (tables, images, texts; the task inferred from the target) and
  :func:`lr_find` (the learning-rate sweep for the model ``fit`` would train);
- :mod:`~learnable.tasks.fitted_model`: :class:`FittedModel`, what ``fit`` returns;
- :mod:`~learnable.tasks.evaluation`: what a ``FittedModel`` gets wrong on the test split, as a plain dict;
- :mod:`~learnable.tasks.forecast`: :class:`Forecaster` (a recurrent network on a time series);
- :mod:`~learnable.tasks.anomaly`: :class:`AnomalyDetector` (an autoencoder's reconstruction error);
- :mod:`~learnable.tasks.language_model`: :func:`train_language_model` and :class:`LanguageModel`;
- :mod:`~learnable.tasks.load`: :func:`load`, any saved model back as what it was.

Example:
    >>> from learnable.tasks import fit
    >>> from learnable.data.datasets import load
    >>> X, y, _ = load("iris")
    >>> round(fit(X, y, seed=0).metrics_["accuracy"], 1) >= 0.8      # doctest: +SKIP
    True
"""

from learnable.tasks.anomaly import AnomalyDetector
from learnable.tasks.fitted_model import FittedModel
from learnable.tasks.fitting import fit, lr_find
from learnable.tasks.forecast import Forecaster
from learnable.tasks.language_model import LanguageModel, train_language_model
from learnable.tasks.load import load

__all__ = ["AnomalyDetector", "FittedModel", "Forecaster", "LanguageModel", "fit", "load", "lr_find",
           "train_language_model"]
