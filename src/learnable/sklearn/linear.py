"""scikit-learn linear models over ``learnable.classic.linear`` and ``learnable.classic.linear_classifiers``.

The computation is learnable's (PyTorch, float64 by default, on a GPU when present); the names and the
checks are scikit-learn's. ``estimator_`` is the fitted learnable estimator (``estimator_.save(directory)``).

Example:
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(50, 3))
    >>> Ridge(alpha=1.0).fit(X, X @ [1.0, 2.0, 3.0]).coef_.shape
    (3,)
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import MultiOutputMixin, RegressorMixin

from learnable.classic import linear, linear_classifiers
from learnable.sklearn._adapter import ClassicClassifier, ClassicWrapper

REGRESSION_LEARNED = ("coef_", "intercept_", "n_iter_")
CLASSIFIER_LEARNED = ("coef_", "intercept_", "classes_", "n_iter_")


class LinearRegressorWrapper(MultiOutputMixin, RegressorMixin, ClassicWrapper):
    """What the three regressions share: fit on (n_samples,) or (n_samples, n_targets) y, predict."""

    learned = REGRESSION_LEARNED

    def fit(self, X: Any, y: Any) -> LinearRegressorWrapper:
        """Learn ``coef_`` and ``intercept_`` from X (n_samples, n_features) and y; returns self."""
        return self._fit_classic(X, y, y_numeric=True, multi_output=True)

    def predict(self, X: Any) -> np.ndarray:
        """The predicted targets, (n_samples,) or (n_samples, n_targets)."""
        return self._call("predict", X)


class LinearRegression(LinearRegressorWrapper):
    """Ordinary least squares, in closed form (:class:`learnable.classic.LinearRegression` with ``alpha=0``)."""

    classic_class = linear.LinearRegression

    def __init__(self, *, fit_intercept: bool = True, device: str = "auto") -> None:
        self.fit_intercept, self.device = fit_intercept, device


class Ridge(LinearRegressorWrapper):
    """Least squares with an L2 penalty ``alpha ||w||^2`` (scikit-learn's Ridge objective), by
    :class:`learnable.classic.Ridge`: "auto"/"closed-form", or "gradient-descent" (``max_iter``, ``tol``)."""

    classic_class = linear.Ridge
    learned_none = ("n_iter_",)  # None after the closed form, as scikit-learn's Ridge after a direct solver

    def __init__(self, alpha: float = 1.0, *, fit_intercept: bool = True, solver: str = "auto", max_iter: int = 1000,
                 tol: float = 1e-6, device: str = "auto") -> None:
        self.alpha, self.fit_intercept, self.solver = alpha, fit_intercept, solver
        self.max_iter, self.tol, self.device = max_iter, tol, device


class Lasso(LinearRegressorWrapper):
    """Least squares with an L1 penalty (scikit-learn's Lasso objective), by FISTA in
    :class:`learnable.classic.Lasso`."""

    classic_class = linear.Lasso

    def __init__(self, alpha: float = 1.0, *, fit_intercept: bool = True, max_iter: int = 10000, tol: float = 1e-6,
                 device: str = "auto") -> None:
        self.alpha, self.fit_intercept = alpha, fit_intercept
        self.max_iter, self.tol, self.device = max_iter, tol, device


class LinearClassifierWrapper(ClassicClassifier):
    """What the two linear classifiers share: fit on labels, ``decision_function``."""

    learned = CLASSIFIER_LEARNED

    def fit(self, X: Any, y: Any) -> LinearClassifierWrapper:
        """Learn ``coef_``, ``intercept_`` and ``classes_`` from X (n_samples, n_features) and labels y."""
        return self._fit_classic(X, y)

    def decision_function(self, X: Any) -> np.ndarray:
        """Signed scores: (n_samples,) for two classes (> 0 means ``classes_[1]``), else (n_samples, n_classes)."""
        return self._call("decision_function", X)


class LogisticRegression(LinearClassifierWrapper):
    """Logistic regression (binary or multinomial) with scikit-learn's objective, by L-BFGS in
    :class:`learnable.classic.LogisticRegression`."""

    classic_class = linear_classifiers.LogisticRegression

    def __init__(self, C: float = 1.0, *, penalty: str | None = "l2", fit_intercept: bool = True, max_iter: int = 100,
                 tol: float = 1e-4, device: str = "auto") -> None:
        self.C, self.penalty, self.fit_intercept = C, penalty, fit_intercept
        self.max_iter, self.tol, self.device = max_iter, tol, device

    def predict_proba(self, X: Any) -> np.ndarray:
        """The probability of each class (n_samples, n_classes), columns in ``classes_`` order."""
        return self._call("predict_proba", X)

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """The log-probability of each class (n_samples, n_classes)."""
        return self._call("predict_log_proba", X)


class LinearSVC(LinearClassifierWrapper):
    """A linear support vector classifier (one-vs-rest), by L-BFGS in :class:`learnable.classic.LinearSVC`;
    ``penalize_intercept=True`` solves liblinear's exact problem."""

    classic_class = linear_classifiers.LinearSVC

    def __init__(self, C: float = 1.0, *, loss: str = "squared_hinge", fit_intercept: bool = True,
                 penalize_intercept: bool = False, max_iter: int = 1000, tol: float = 1e-4,
                 device: str = "auto") -> None:
        self.C, self.loss, self.fit_intercept, self.penalize_intercept = C, loss, fit_intercept, penalize_intercept
        self.max_iter, self.tol, self.device = max_iter, tol, device
