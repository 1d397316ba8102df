"""Linear classifiers in PyTorch: logistic regression and a linear support vector machine, scikit-learn as the oracle.

Both minimise a mean loss over the rows plus an L2 penalty on the weights (never on the intercept),
with full-batch L-BFGS (``torch.optim.LBFGS`` with a strong-Wolfe line search) and analytic gradients:
one pass over X forward and one back per evaluation, all rows at once, on ``device``.

- :class:`LogisticRegression`: scikit-learn's objective ``C * sum(log-loss) + 0.5 ||W||^2``, here divided
  by ``C n`` (the same minimiser): a sigmoid for two classes, the multinomial softmax for more.
  ``tol`` is scikit-learn's: stop when the largest gradient entry of the mean objective is <= tol.
- :class:`LinearSVC`: ``0.5 ||w||^2 + C sum(loss(y_i (x_i w + b)))``, one-vs-rest for more than two
  classes (the K problems are solved together, one matrix product per evaluation). ``"squared_hinge"``
  is smooth enough for L-BFGS. ``"hinge"`` is not differentiable at the margin, so it is minimised
  approximately: L-BFGS on a Huber-smoothed hinge (quadratic within ``h`` of the margin), with ``h``
  shrunk in stages from ``HINGE_WIDTHS[0]`` to ``HINGE_WIDTHS[-1]``, each stage warm-started; the
  final objective is within ``C n h / 2`` of the hinge objective. Unlike scikit-learn's liblinear, the
  intercept is not penalised by default, so coefficients differ a little from scikit-learn's;
  ``penalize_intercept=True`` penalises it as liblinear does.

Labels can be any sortable values (strings, ints, bools); ``classes_`` is ``np.unique(y)``.

Example:
    >>> from sklearn.datasets import load_iris
    >>> X, y = load_iris(return_X_y=True)
    >>> model = LogisticRegression(max_iter=1000).fit(X, y)
    >>> model.predict_proba(X[:2]).shape, model.coef_.shape
    ((2, 3), (3, 4))
    >>> round(model.score(X, y), 2)
    0.97
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from learnable.classic._linear_base import LinearModel, Objective, check_common, lbfgs
from learnable.classic.targets import as_array, as_labels, check_length
from learnable.data.labels import labels_array
from learnable.data.validate import as_matrix
from learnable.train.inputs import resolve_device
from learnable.utils.validation import check_choice, check_flag, check_positive, whole

HINGE_WIDTHS = (0.5, 0.05, 0.005)  # the smoothing of the hinge, stage by stage (see the module docstring)


# ---- objectives: theta (K, F) or (K, F + 1) with the intercepts last -> (loss, gradient) ----------
# Each evaluation makes one pass over X forward (scores) and one back (gradient), and as few
# elementwise passes over the (N, K) scores as it can: on a large X those passes, not the two
# matrix products, are most of the time. The 1/n of the mean is applied to the small results.
def _scores(theta: torch.Tensor, X: torch.Tensor, fit_intercept: bool) -> torch.Tensor:
    """The decision values (N, K) of rows X (N, F) under theta."""
    W = theta[:, : X.shape[1]]  # (K, F)
    return torch.addmm(theta[:, -1], X, W.T) if fit_intercept else X @ W.T


def _gradient(theta: torch.Tensor, X: torch.Tensor, fit_intercept: bool, d_scores: torch.Tensor,
              scale: float, strength: float, penalised: int) -> torch.Tensor:
    """The gradient (like theta): ``scale`` times d loss / d scores (N, K) carried back through X, plus
    the penalty's ``strength * theta[:, :penalised]``."""
    gradient = d_scores.T @ X  # (K, F)
    if fit_intercept:
        gradient = torch.cat([gradient, d_scores.sum(0)[:, None]], 1)  # (K, F + 1)
    gradient *= scale
    gradient[:, :penalised] += strength * theta[:, :penalised]
    return gradient


def _penalty(theta: torch.Tensor, penalised: int, strength: float) -> torch.Tensor:
    """``strength / 2`` times the squared norm of the first ``penalised`` columns of theta."""
    return 0.5 * strength * theta[:, :penalised].square().sum()


def logistic_objective(X: torch.Tensor, codes: torch.Tensor, n_classes: int, strength: float,
                       fit_intercept: bool) -> Objective:
    """Mean log-loss + ``strength / 2 ||W||^2``: sigmoid for 2 classes (K = 1 row), softmax for more."""
    n, n_features = X.shape
    targets = codes.to(X.dtype)[:, None]  # (N, 1): the 0/1 target of the binary case
    rows, picked = torch.arange(n, device=X.device), codes  # the true class of each row, for the softmax

    def objective(theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        scores = _scores(theta, X, fit_intercept)  # (N, K)
        if n_classes == 2:
            # softplus(z) - y z summed; then d loss / dz = sigmoid(z) - y, computed in place
            loss = F.softplus(scores).sum() - torch.dot(targets[:, 0], scores[:, 0])
            d_scores = torch.sigmoid(scores).sub_(targets)
        else:
            d_scores = scores.log_softmax(1)  # log-probabilities (N, K)
            loss = -d_scores[rows, picked].sum()
            d_scores = d_scores.exp_()
            d_scores[rows, picked] -= 1  # softmax - one_hot(y)
        loss = loss / n + _penalty(theta, n_features, strength)
        return loss, _gradient(theta, X, fit_intercept, d_scores, 1 / n, strength, n_features)

    return objective


def svm_objective(X: torch.Tensor, signs: torch.Tensor, strength: float, fit_intercept: bool,
                  width: float | None, penalize_intercept: bool) -> Objective:
    """One-vs-rest mean squared hinge (``width`` None) or Huber-smoothed hinge + ``strength / 2 ||W||^2``.

    ``signs`` (N, K) is +1 where row i belongs to class k, else -1. With ``penalize_intercept`` the
    intercepts are penalised too (liblinear's synthetic feature with intercept_scaling=1). The smoothed
    hinge of a violation v = 1 - y z is ``q^2 / (2 h) + (max(v, 0) - q)`` with ``q = clamp(v, 0, h)``.
    """
    n = len(X)
    penalised = X.shape[1] + int(fit_intercept and penalize_intercept)
    ones = torch.ones_like(signs)

    def objective(theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        violation = torch.addcmul(ones, signs, _scores(theta, X, fit_intercept), value=-1)  # (N, K): > 0 in the margin
        if width is None:
            slope = violation.clamp_min_(0)
            loss = torch.dot(slope.view(-1), slope.view(-1))  # sum of squared hinges
            scale = -2 / n
        else:
            slope = violation.clamp(0, width)
            loss = torch.dot(slope.view(-1), slope.view(-1)) / (2 * width) + (violation.clamp_min_(0) - slope).sum()
            scale = -1 / (n * width)
        loss = loss / n + _penalty(theta, penalised, strength)
        return loss, _gradient(theta, X, fit_intercept, slope.mul_(signs), scale, strength, penalised)

    return objective


# ---- the shared classifier shell ------------------------------------------------------------------
class LinearClassifier(LinearModel):
    """Class labels, prediction and scoring for a linear classifier; subclasses provide :meth:`_minimise`."""

    def fit(self, X: Any, y: Any) -> LinearClassifier:
        """Learn ``coef_`` and ``intercept_`` from rows X (N, F) and class labels y (N,); returns self."""
        self._check_settings()
        rows = as_matrix(X, self.dtype)
        classes, codes = as_labels(y, len(rows))
        device = resolve_device(self.device)
        rows, codes = rows.to(device), torch.from_numpy(codes).to(device)
        n_rows = 1 if len(classes) == 2 else len(classes)
        theta = torch.zeros(n_rows, rows.shape[1] + bool(self.fit_intercept), dtype=self.dtype, device=device)
        self.n_iter_ = self._minimise(theta, rows, codes, len(classes))
        theta = theta.cpu().numpy()
        self.coef_ = np.ascontiguousarray(theta[:, : rows.shape[1]])  # (1, F) for 2 classes, else (K, F)
        self.intercept_ = theta[:, -1].copy() if self.fit_intercept else np.zeros(n_rows, theta.dtype)
        self.classes_, self.n_features_in_ = classes, rows.shape[1]
        return self

    def _minimise(self, theta: torch.Tensor, X: torch.Tensor, codes: torch.Tensor, n_classes: int) -> int:
        raise NotImplementedError

    def _scores(self, X: Any) -> torch.Tensor:
        """Decision values on the device: (N,) for two classes, else (N, K)."""
        scores = self._linear(X)  # (N, K)
        return scores[:, 0] if len(self.classes_) == 2 else scores

    def decision_function(self, X: Any) -> np.ndarray | torch.Tensor:
        """The signed scores: (N,) for two classes (> 0 means ``classes_[1]``), else (N, K) one per class."""
        return self._output(self._scores(X), X)

    def predict(self, X: Any) -> np.ndarray:
        """The predicted class label of each row (N,), taken from ``classes_``."""
        scores = self._scores(X)
        index = (scores > 0).long() if scores.ndim == 1 else scores.argmax(1)
        return self.classes_[index.cpu().numpy()]

    def score(self, X: Any, y: Any) -> float:
        """The accuracy: the fraction of rows whose predicted label equals y."""
        predicted = self.predict(X)
        truth = as_array(y).reshape(-1)
        check_length(truth, len(predicted), "labels")
        return float(np.mean(predicted == truth))

    def _extra_state(self) -> dict[str, Any]:
        return {"classes": self.classes_.tolist(), "classes_dtype": self.classes_.dtype.str}

    @classmethod
    def _layout(cls, state: dict[str, Any]) -> dict[str, tuple[str, tuple]]:
        """coef (1, features) for 2 classes, else (classes, features), and one intercept per row."""
        classes, features = state["classes"], whole(state["n_features_in"], "n_features_in", 1)
        rows = 1 if len(classes) == 2 else len(classes)
        return {"coef": ("float", (rows, features)), "intercept": ("float", (rows,))}

    def _restore_extra(self, state: dict[str, Any]) -> None:
        self.classes_ = labels_array(state["classes"], state["classes_dtype"])


# ---- the estimators -------------------------------------------------------------------------------
class LogisticRegression(LinearClassifier):
    """Logistic regression with scikit-learn's objective and interface, fitted by L-BFGS in PyTorch.

    Args:
        C: the inverse penalty strength (> 0): smaller C means stronger regularisation.
        penalty: "l2" or None (no penalty; may not converge on separable data).
        fit_intercept: learn an unpenalised intercept per class.
        max_iter: the most L-BFGS iterations (scikit-learn's default 100).
        tol: stop when the largest gradient entry of the mean objective is <= tol (scikit-learn's 1e-4).
        device: where to compute ("auto": CUDA when present, else the CPU).
        dtype: torch.float64 (default, scikit-learn's accuracy) or torch.float32 (faster).

    Attributes (after ``fit``): ``coef_`` (1, F) for two classes or (K, F), ``intercept_`` (1,) or (K,),
    ``classes_``, ``n_iter_``, ``n_features_in_``.

    Example:
        >>> X = [[0.0], [1.0], [2.0], [3.0]]
        >>> model = LogisticRegression().fit(X, ["no", "no", "yes", "yes"])
        >>> model.predict([[0.2], [2.9]]).tolist()
        ['no', 'yes']
    """

    kind = "logistic_regression"
    NAME = "LogisticRegression"

    def __init__(self, *, C: float = 1.0, penalty: str | None = "l2", fit_intercept: bool = True, max_iter: int = 100,
                 tol: float = 1e-4, device: str = "auto", dtype: torch.dtype = torch.float64) -> None:
        self.C, self.penalty, self.fit_intercept, self.max_iter = C, penalty, fit_intercept, max_iter
        self.tol, self.device, self.dtype = tol, device, dtype

    def _minimise(self, theta: torch.Tensor, X: torch.Tensor, codes: torch.Tensor, n_classes: int) -> int:
        strength = 0.0 if self.penalty is None else 1 / (self.C * len(X))
        objective = logistic_objective(X, codes, n_classes, strength, bool(self.fit_intercept))
        return lbfgs(theta, objective, self.max_iter, self.tol)

    def predict_proba(self, X: Any) -> np.ndarray | torch.Tensor:
        """The probability of each class (N, K), columns in the order of ``classes_``."""
        return self._output(self._log_proba(X).exp(), X)

    def predict_log_proba(self, X: Any) -> np.ndarray | torch.Tensor:
        """The log-probability of each class (N, K)."""
        return self._output(self._log_proba(X), X)

    def _log_proba(self, X: Any) -> torch.Tensor:
        scores = self._scores(X)
        if scores.ndim == 1:
            return torch.stack([F.logsigmoid(-scores), F.logsigmoid(scores)], 1)  # (N, 2)
        return scores.log_softmax(1)

    def _check_settings(self) -> None:
        check_choice("penalty", self.penalty, ("l2", None))
        check_positive("C", self.C, "1.0")
        check_common(self)


class LinearSVC(LinearClassifier):
    """A linear support vector classifier (primal, L2-regularised), one-vs-rest for more than two classes.

    Minimises ``0.5 ||w||^2 + C sum(loss)`` per class with L-BFGS; see the module docstring for how the
    non-smooth ``"hinge"`` is handled. The intercept is not penalised unless ``penalize_intercept``.

    Args:
        C: the inverse penalty strength (> 0).
        loss: "squared_hinge" (default, as scikit-learn) or "hinge".
        fit_intercept: learn an intercept per class.
        penalize_intercept: penalise the intercept as the weights, as scikit-learn's liblinear does (its
            synthetic feature with ``intercept_scaling=1``): then "squared_hinge" solves scikit-learn's
            very problem. False (default) leaves the intercept free, as the other estimators here.
        max_iter: the most L-BFGS iterations (per smoothing stage for "hinge").
        tol: stop when the largest gradient entry of the mean objective is <= tol.
        device: where to compute ("auto": CUDA when present, else the CPU).
        dtype: torch.float64 (default) or torch.float32 (faster).

    Attributes (after ``fit``): ``coef_`` (1, F) for two classes or (K, F), ``intercept_``, ``classes_``,
    ``n_iter_`` (L-BFGS iterations, all stages), ``n_features_in_``.

    Example:
        >>> X = [[0.0, 0.0], [0.0, 1.0], [3.0, 3.0], [3.0, 4.0]]
        >>> LinearSVC().fit(X, [0, 0, 1, 1]).predict([[0.5, 0.5], [3.5, 3.5]]).tolist()
        [0, 1]
    """

    kind = "linear_svc"
    NAME = "LinearSVC"

    def __init__(self, *, C: float = 1.0, loss: str = "squared_hinge", fit_intercept: bool = True,
                 penalize_intercept: bool = False, max_iter: int = 1000, tol: float = 1e-4, device: str = "auto",
                 dtype: torch.dtype = torch.float64) -> None:
        self.C, self.loss, self.fit_intercept, self.penalize_intercept = C, loss, fit_intercept, penalize_intercept
        self.max_iter, self.tol, self.device, self.dtype = max_iter, tol, device, dtype

    def _minimise(self, theta: torch.Tensor, X: torch.Tensor, codes: torch.Tensor, n_classes: int) -> int:
        if n_classes == 2:
            signs = (2.0 * codes - 1).to(X.dtype)[:, None]  # (N, 1): +1 for classes_[1]
        else:
            signs = 2.0 * F.one_hot(codes, n_classes).to(X.dtype) - 1  # (N, K)
        strength = 1 / (self.C * len(X))
        widths = (None,) if self.loss == "squared_hinge" else HINGE_WIDTHS
        return sum(lbfgs(theta, svm_objective(X, signs, strength, bool(self.fit_intercept), width,
                                              bool(self.penalize_intercept)), self.max_iter, self.tol)
                   for width in widths)

    def _check_settings(self) -> None:
        check_choice("loss", self.loss, ("squared_hinge", "hinge"))
        check_flag("penalize_intercept", self.penalize_intercept)
        check_positive("C", self.C, "1.0")
        check_common(self)
