"""The small adapter that puts a ``learnable.classic`` estimator behind scikit-learn's estimator contract.

A learnable estimator already has ``fit``/``predict``, but scikit-learn's tools (``Pipeline``,
``GridSearchCV``, ``cross_val_score``, ``clone``) also need: ``get_params``/``set_params`` from
``BaseEstimator``, input checked by ``validate_data`` (``n_features_in_``, ``feature_names_in_``, the
exact error messages scikit-learn's checks expect), ``NotFittedError`` before ``fit``, and
scikit-learn's parameter names (``random_state``, not learnable's ``seed``).

:class:`ClassicWrapper` does that once. A wrapper for one more learnable.classic class is a subclass
that names the class, the renamed parameters and the learned attributes to copy, writes an
``__init__`` that stores its arguments (scikit-learn reads the parameter names from its signature),
and one-line methods that call :meth:`ClassicWrapper._fit_classic` and :meth:`ClassicWrapper._call`.

Example (a wrapper for a learnable.classic ``Ridge(alpha, *, seed)`` with ``predict``):
    >>> from sklearn.base import RegressorMixin
    >>> class Ridge(RegressorMixin, ClassicWrapper):                      # doctest: +SKIP
    ...     classic_class = learnable.classic.Ridge
    ...     learned = ("coef_", "intercept_")
    ...     def __init__(self, alpha=1.0, *, random_state=None):
    ...         self.alpha, self.random_state = alpha, random_state
    ...     def fit(self, X, y):
    ...         return self._fit_classic(X, y, y_numeric=True, multi_output=True)
    ...     def predict(self, X):
    ...         return self._call("predict", X)
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state, get_tags
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from learnable.utils.validation import is_whole

FLOATS = (np.float64, np.float32)  # validate_data's dtype: keep float32 as it is, convert the rest to float64


def as_seed(random_state: Any) -> int:
    """learnable's ``seed`` (a whole number >= 0) for scikit-learn's ``random_state``.

    A whole number is used as it is, so ``random_state=0`` here gives what ``seed=0`` gives in learnable;
    None (fresh randomness each fit, as scikit-learn) or a ``RandomState`` draws a seed from it.

    Example:
        >>> as_seed(3), as_seed(np.random.RandomState(0))
        (3, 209652396)
    """
    if is_whole(random_state) and random_state >= 0:
        return int(random_state)
    if random_state is not None and not isinstance(random_state, np.random.RandomState):
        raise ValueError(f"random_state={random_state!r} is not a seed; pass None (fresh randomness each fit), a whole "
                         "number >= 0 such as 0 (repeatable fits) or a numpy RandomState.")
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


class ClassicWrapper(BaseEstimator):
    """Base class of the scikit-learn wrappers around ``learnable.classic`` estimators.

    Subclasses set:
        classic_class: the learnable.classic class to build in ``fit``.
        renamed: scikit-learn parameter name -> learnable argument name (``random_state`` -> ``seed``
            by default); every other parameter is passed under its own name.
        learned: the fitted attributes copied from the learnable estimator (besides ``n_features_in_``,
            which ``validate_data`` sets); one the learnable estimator leaves None is not set, unless
            it is also in ``learned_none``.
        learned_none: the learned attributes scikit-learn's counterpart sets even to None (Ridge's
            ``n_iter_`` after a direct solve), so the attribute is there as in scikit-learn.

    After ``fit``, ``estimator_`` is the fitted learnable estimator (``estimator_.save(directory)``
    writes it without pickle).
    """

    classic_class: ClassVar[type]
    renamed: ClassVar[dict[str, str]] = {"random_state": "seed"}
    learned: ClassVar[tuple[str, ...]] = ()
    learned_none: ClassVar[tuple[str, ...]] = ()

    def _classic_estimator(self) -> Any:
        """A new, unfitted learnable estimator with this wrapper's parameters."""
        arguments = {self.renamed.get(name, name): value for name, value in self.get_params(deep=False).items()}
        if "seed" in arguments:
            arguments["seed"] = as_seed(arguments["seed"])
        return self.classic_class(**arguments)

    def _fit_classic(self, X: Any, y: Any = None, *, sample_weight: Any = None, **check: Any) -> ClassicWrapper:
        """Check X (and y) with ``validate_data`` (``check``: its options), fit the learnable estimator
        (with ``sample_weight`` when given), copy its learned attributes; returns self."""
        check.setdefault("dtype", FLOATS)
        if y is None and not get_tags(self).target_tags.required:  # unsupervised: y is ignored
            X = validate_data(self, X, **check)
        else:
            X, y = validate_data(self, X, y, **check)
        self._check_fit_data(X, y)
        weights = {} if sample_weight is None else {"sample_weight": _check_sample_weight(sample_weight, X)}
        self.estimator_ = self._classic_estimator().fit(X, y, **weights)
        for name in self.learned:
            value = getattr(self.estimator_, name)
            if value is not None or name in self.learned_none:  # e.g. LinearRegression has no n_iter_
                setattr(self, name, value)
        return self

    def _check_fit_data(self, X: np.ndarray, y: Any) -> None:
        """A subclass's own check of the validated data before fitting (none by default)."""

    def _call(self, method: str, X: Any, **check: Any) -> Any:
        """``estimator_.method(X)`` after the fitted check and ``validate_data`` (the features of fit)."""
        check_is_fitted(self)
        check.setdefault("dtype", FLOATS)
        return getattr(self.estimator_, method)(validate_data(self, X, reset=False, **check))


class ClassicClassifier(ClassifierMixin, ClassicWrapper):
    """A :class:`ClassicWrapper` for classifiers: refuses real-valued targets in scikit-learn's words, and
    delegates ``predict`` (labels from the learnable estimator's ``classes_``)."""

    def _check_fit_data(self, X: np.ndarray, y: Any) -> None:
        check_classification_targets(y)

    def predict(self, X: Any) -> np.ndarray:
        """The predicted class label of each row, shape (n_samples,)."""
        return self._call("predict", X)
