"""Linear regression in PyTorch: ordinary least squares, ridge (L2) and lasso (L1), with scikit-learn as the oracle.

One estimator, :class:`LinearRegression`, covers the three; :class:`Ridge` and :class:`Lasso` fix the
penalty and default ``alpha=1.0``, with scikit-learn's objectives:

- ordinary least squares (``alpha=0``): ``||y - Xw - b||^2``;
- ridge (``penalty="l2"``): ``||y - Xw - b||^2 + alpha ||w||^2``;
- lasso (``penalty="l1"``): ``(1 / (2n)) ||y - Xw - b||^2 + alpha ||w||_1``.

The intercept is never penalised: X and y are centred (their means removed), w is found on the centred
data, and ``b = mean(y) - mean(X) @ w``. All solvers work on the centred Gram matrix ``Xc^T Xc`` (F, F)
and ``Xc^T yc`` (F, T), built in one pass over chunks of rows; every later step costs O(F^2), not O(N F).
(With more than ``GRAM_MAX_FEATURES`` features the iterative solvers multiply by X instead.) Solvers:

- ``"closed-form"``: the normal equations, by a Cholesky factorisation of ``Xc^T Xc + alpha I``; with
  ``alpha=0`` by an eigendecomposition that drops null directions, which gives the minimum-norm
  least-squares solution (as ``lstsq``) even when X is rank-deficient (repeated or constant columns).
- ``"gradient-descent"``: full-batch gradient descent on ``(1 / (2n)) (||yc - Xc w||^2 + alpha ||w||^2)``
  with step ``lr`` (default ``1 / L``, L the largest eigenvalue of the Hessian); stops when the largest
  gradient entry falls below ``tol`` times its value at w = 0.
- ``"proximal"`` (lasso): FISTA, accelerated proximal gradient with soft-thresholding and adaptive
  restart (O'Donoghue and Candes), step ``1 / L``; stops when the duality gap is at most ``tol * ||yc||^2``
  (scikit-learn's Lasso criterion).
- ``"auto"``: closed-form for ``"l2"``, proximal for ``"l1"``.

A 2-D y (N, T) fits T targets at once: ``coef_`` is then (T, F) and ``intercept_`` (T,), as scikit-learn.

Example:
    >>> from sklearn.datasets import load_diabetes
    >>> X, y = load_diabetes(return_X_y=True)
    >>> model = Lasso(alpha=0.5).fit(X, y)
    >>> int((model.coef_ != 0).sum())  # the L1 penalty zeroes 6 of the 10 coefficients
    4
    >>> round(Ridge(alpha=1.0).fit(X, y).score(X, y), 3)
    0.451
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from learnable.classic._linear_base import LinearModel, check_common
from learnable.classic.targets import as_values, r2_score
from learnable.data.validate import as_matrix
from learnable.model_file import read_info
from learnable.train.inputs import resolve_device
from learnable.utils.validation import check_choice, check_positive

PENALTIES = ("l2", "l1")
SOLVERS = {"l2": ("auto", "closed-form", "gradient-descent"), "l1": ("auto", "proximal")}
GRAM_MAX_FEATURES = 4096  # above this, iterative solvers multiply by X rather than hold an (F, F) Gram matrix
CHUNK_VALUES_CPU = 2**16  # values of X centred at once while building the Gram matrix on a CPU (cache-sized)
CHUNK_VALUES_DEVICE = 2**26  # ... and on a GPU, where fewer, larger products are faster
CHECK_EVERY = 10  # iterations between convergence checks (each check waits for the device)
POWER_ITERATIONS = 50  # for the step size when there is no Gram matrix


# ---- the centred problem --------------------------------------------------------------------------
class CentredData:
    """X (N, F) and Y (N, T) with their column means removed, exposing only ``Xc^T Xc`` products.

    X is never copied whole: the Gram matrix is built over chunks of rows, and without it a product
    ``Xc^T Xc W`` is ``X^T (X W)`` corrected by the means.

    Example (y = 2x + 1; the solvers below all take one, and return the weights W and the iterations):
        >>> X = torch.tensor([[0.0], [1.0], [2.0], [3.0]], dtype=torch.float64)
        >>> data = CentredData(X, 2 * X + 1, fit_intercept=True, need_gram=True)
        >>> data.gram.item(), data.cross.item(), data.largest_eigenvalue()
        (5.0, 10.0, 5.0)
        >>> closed_form(data, alpha=0.0)[0].item(), gradient_descent(data, 0.0, 1000, 1e-10, None)[0].item()
        (2.0, 2.0)
        >>> W, iterations = fista(data, 0.1, 1000, 1e-10, None)  # L1 shrinks the slope by n alpha / ||Xc||^2
        >>> round(W.item(), 6), lasso_duality_gap(data, W, 0.1).abs().item() < 1e-12
        (1.92, True)
    """

    def __init__(self, X: torch.Tensor, Y: torch.Tensor, fit_intercept: bool, need_gram: bool) -> None:
        self.X, self.n = X, len(X)
        self.x_mean = X.mean(0) if fit_intercept else X.new_zeros(X.shape[1])  # (F,)
        self.y_mean = Y.mean(0) if fit_intercept else Y.new_zeros(Y.shape[1])  # (T,)
        self.Yc = Y - self.y_mean  # (N, T)
        if need_gram:
            self.gram, self.cross = self._gram_and_cross()  # Xc^T Xc (F, F), Xc^T Yc (F, T)
        else:
            self.gram, self.cross = None, self._times_transpose(self.Yc)

    def _gram_and_cross(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Both products in one pass over X, centring a chunk of rows at a time into one reused buffer
        (on a CPU, small chunks that stay in cache are about twice as fast as one large product)."""
        F = self.X.shape[1]
        rows = max(1, (CHUNK_VALUES_CPU if self.X.device.type == "cpu" else CHUNK_VALUES_DEVICE) // F)
        gram, cross = self.X.new_zeros(F, F), self.X.new_zeros(F, self.Yc.shape[1])
        buffer = self.X.new_empty(min(rows, self.n), F)
        for chunk, targets in zip(self.X.split(rows), self.Yc.split(rows), strict=True):
            centred = torch.sub(chunk, self.x_mean, out=buffer[: len(chunk)])  # (rows, F)
            gram.addmm_(centred.T, centred)
            cross.addmm_(centred.T, targets)
        return (gram + gram.T) / 2, cross  # the Gram matrix exactly symmetric

    def _times_transpose(self, V: torch.Tensor) -> torch.Tensor:
        """``Xc^T V`` (F, T) for V (N, T)."""
        return self.X.T @ V - self.x_mean[:, None] * V.sum(0)

    def hessian_times(self, W: torch.Tensor) -> torch.Tensor:
        """``Xc^T Xc W`` (F, T) for W (F, T)."""
        if self.gram is not None:
            return self.gram @ W
        return self._times_transpose(self.X @ W - self.x_mean @ W)

    def largest_eigenvalue(self) -> float:
        """The largest eigenvalue of ``Xc^T Xc`` (exact with the Gram matrix, else by power iteration)."""
        if self.gram is not None:
            return float(torch.linalg.eigvalsh(self.gram)[-1])
        v = torch.ones(self.X.shape[1], 1, dtype=self.X.dtype, device=self.X.device)
        for _ in range(POWER_ITERATIONS):
            v = self.hessian_times(v)
            v = v / v.norm()
        return float(v.T @ self.hessian_times(v)) * 1.01  # a small margin: power iteration approaches from below


# ---- solvers: each returns the weights W (F, T) and the iterations run -----------------------------
def _step(data: CentredData, alpha: float, lr: float | None) -> float:
    """The user's ``lr``, else 1 / L for the mean objective (L: the largest Hessian eigenvalue)."""
    if lr is not None:
        return lr
    curvature = data.largest_eigenvalue() + alpha
    return data.n / curvature if curvature > 0 else 0.0  # every column constant: w = 0 is already optimal


def closed_form(data: CentredData, alpha: float) -> tuple[torch.Tensor, int | None]:
    """Solve ``(Xc^T Xc + alpha I) W = Xc^T Yc``; minimum-norm least squares when alpha is 0.
    (Example: :class:`CentredData`.)"""
    if alpha > 0:
        regularised = data.gram + alpha * torch.eye(len(data.gram), dtype=data.gram.dtype, device=data.gram.device)
        factor, info = torch.linalg.cholesky_ex(regularised)
        if int(info) == 0:
            return torch.cholesky_solve(data.cross, factor), None
    return least_norm_solve(data.gram, data.cross, alpha), None


def least_norm_solve(gram: torch.Tensor, cross: torch.Tensor, alpha: float) -> torch.Tensor:
    """``(gram + alpha I)^+ cross`` by an eigendecomposition, dropping eigenvalues lost in rounding.

    Example (a singular Gram matrix: the minimum-norm solution splits the weight evenly):
        >>> least_norm_solve(torch.ones(2, 2, dtype=torch.float64), torch.ones(2, 1, dtype=torch.float64), 0.0).T
        tensor([[0.5000, 0.5000]], dtype=torch.float64)
    """
    values, vectors = torch.linalg.eigh(gram)  # ascending (F,), (F, F)
    values = values + alpha
    cutoff = values[-1].clamp_min(0) * len(values) * torch.finfo(gram.dtype).eps
    inverse = torch.where(values > cutoff, 1 / values, torch.zeros_like(values))
    return vectors @ (inverse[:, None] * (vectors.T @ cross))


def gradient_descent(data: CentredData, alpha: float, max_iter: int, tol: float,
                     lr: float | None) -> tuple[torch.Tensor, int]:
    """Full-batch gradient descent on ``(1/(2n)) (||Yc - Xc W||^2 + alpha ||W||^2)``.
    (Example: :class:`CentredData`.)"""
    step = _step(data, alpha, lr)
    W = torch.zeros_like(data.cross)  # (F, T)
    scale = (data.cross.abs().max() / data.n).item()  # the largest gradient entry at W = 0
    for iteration in range(1, max_iter + 1):
        gradient = (data.hessian_times(W) - data.cross + alpha * W) / data.n  # (F, T)
        W = W - step * gradient
        if iteration % CHECK_EVERY == 0 or iteration == max_iter:
            largest = gradient.abs().max().item()
            _check_finite(largest, "gradient-descent")
            if largest <= tol * scale:
                return W, iteration
    _warn_not_converged("gradient-descent", max_iter)
    return W, max_iter


def fista(data: CentredData, alpha: float, max_iter: int, tol: float, lr: float | None) -> tuple[torch.Tensor, int]:
    """FISTA with adaptive restart on the lasso objective ``(1/(2n)) ||Yc - Xc W||^2 + alpha ||W||_1``.
    (Example: :class:`CentredData`.)"""
    step = _step(data, 0.0, lr)
    W = torch.zeros_like(data.cross)  # (F, T)
    Z, momentum = W.clone(), torch.ones((), dtype=W.dtype, device=W.device)
    target = (tol * data.Yc.square().sum(0)).cpu()  # (T,): scikit-learn's tolerance on the duality gap
    for iteration in range(1, max_iter + 1):
        moved = Z - step * (data.hessian_times(Z) - data.cross) / data.n
        W_new = moved.sign() * (moved.abs() - step * alpha).clamp_min(0)  # soft-thresholding
        # Restart the momentum when it points uphill (the step from Z and the last move disagree): no
        # host sync, the choice is made on the device with torch.where.
        uphill = ((Z - W_new) * (W_new - W)).sum() > 0
        next_momentum = torch.where(uphill, 1.0, (1 + torch.sqrt(1 + 4 * momentum**2)) / 2)
        beta = torch.where(uphill, 0.0, (momentum - 1) / next_momentum)
        Z, W, momentum = W_new + beta * (W_new - W), W_new, next_momentum
        if iteration % CHECK_EVERY == 0 or iteration == max_iter:
            gap = lasso_duality_gap(data, W, alpha).cpu()  # (T,): the one wait for the device per check
            _check_finite(gap.max().item(), "proximal")
            if bool((gap <= target).all()):
                return W, iteration
    _warn_not_converged("proximal", max_iter)
    return W, max_iter


def lasso_duality_gap(data: CentredData, W: torch.Tensor, alpha: float) -> torch.Tensor:
    """The duality gap (T,) of the lasso at W (F, T), in scikit-learn's units (n times the objective).
    (Example: :class:`CentredData`.)"""
    product = data.hessian_times(W)  # (F, T)
    correlation = data.cross - product  # Xc^T R (F, T), R the residuals
    residual_y = data.Yc.square().sum(0) - (W * data.cross).sum(0)  # R^T Yc (T,)
    residual_norm2 = residual_y - (W * data.cross).sum(0) + (W * product).sum(0)  # ||R||^2 (T,)
    bound = data.n * alpha
    dual_norm = correlation.abs().amax(0)  # (T,)
    const = torch.where(dual_norm > bound, bound / dual_norm.clamp_min(torch.finfo(W.dtype).tiny), 1.0)
    gap = torch.where(dual_norm > bound, 0.5 * residual_norm2 * (1 + const**2), residual_norm2)
    return gap + bound * W.abs().sum(0) - const * residual_y


def _check_finite(value: float, solver: str) -> None:
    if not np.isfinite(value):
        raise ValueError(f"solver={solver!r} diverged (the gradient became {value}); the step lr is too large. "
                         "Pass lr=None for the safe step 1/L, or a smaller lr.")


def _warn_not_converged(solver: str, max_iter: int) -> None:
    # stacklevel 5: the user's call to fit (fit -> _solve -> the solver -> here -> warn)
    warnings.warn(f"solver={solver!r} stopped at max_iter={max_iter} before reaching tol; the coefficients may be "
                  "inaccurate. Raise max_iter, loosen tol, or standardise X.", RuntimeWarning, stacklevel=5)


# ---- the estimators -------------------------------------------------------------------------------
class LinearRegression(LinearModel):
    """Least squares with an optional L2 (ridge) or L1 (lasso) penalty, computed with PyTorch.

    Args:
        alpha: the penalty strength, >= 0; 0 is ordinary least squares. Its scale follows scikit-learn:
            ``Ridge``'s for ``"l2"``, ``Lasso``'s for ``"l1"`` (see the module docstring).
        penalty: "l2" (ridge) or "l1" (lasso).
        fit_intercept: learn an unpenalised intercept (X and y are centred); False fits through the origin.
        solver: "auto", "closed-form", "gradient-descent" (for "l2") or "proximal" (FISTA, for "l1").
        max_iter: the most iterations of an iterative solver.
        tol: the stopping tolerance of an iterative solver (see the module docstring).
        lr: the step of an iterative solver; None uses 1 / L, which always converges.
        device: where to compute ("auto": CUDA when present, else the CPU).
        dtype: torch.float64 (default, scikit-learn's accuracy) or torch.float32 (faster on a GPU).

    Attributes (after ``fit``): ``coef_`` (F,) or (T, F) for a 2-D y, ``intercept_`` (float or (T,)),
    ``n_features_in_``, ``n_iter_`` (None for the closed form).

    ``predict`` returns a tensor on ``device`` for a tensor input, else a NumPy array.

    Example:
        >>> import numpy as np
        >>> X = np.random.default_rng(0).normal(size=(50, 3))
        >>> model = LinearRegression().fit(X, X @ [1.0, 2.0, 3.0] + 4.0)
        >>> model.coef_.round(6).tolist(), round(model.intercept_, 6)
        ([1.0, 2.0, 3.0], 4.0)
    """

    kind = "linear_regression"  # also Ridge's and Lasso's, with the class in "estimator"
    NAME = "LinearRegression"

    def __init__(self, *, alpha: float = 0.0, penalty: str = "l2", fit_intercept: bool = True, solver: str = "auto",
                 max_iter: int = 10_000, tol: float = 1e-6, lr: float | None = None, device: str = "auto",
                 dtype: torch.dtype = torch.float64) -> None:
        self.alpha, self.penalty, self.fit_intercept, self.solver = alpha, penalty, fit_intercept, solver
        self.max_iter, self.tol, self.lr, self.device, self.dtype = max_iter, tol, lr, device, dtype

    # ---- fitting ----------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any) -> LinearRegression:
        """Learn ``coef_`` and ``intercept_`` from rows X (N, F) and targets y (N,) or (N, T); returns self."""
        self._check_settings()
        rows = as_matrix(X, self.dtype)
        values = as_values(y, len(rows), self.dtype)
        device = resolve_device(self.device)
        Y = values.reshape(len(values), -1).to(device)  # (N, T)
        solver = self._solver()
        need_gram = solver == "closed-form" or rows.shape[1] <= GRAM_MAX_FEATURES
        data = CentredData(rows.to(device), Y, bool(self.fit_intercept), need_gram)
        W, self.n_iter_ = self._solve(solver, data)
        intercept = data.y_mean - data.x_mean @ W  # (T,)
        one_target = values.ndim == 1
        self.coef_ = W.T[0].cpu().numpy() if one_target else W.T.cpu().numpy()  # (F,) or (T, F)
        self.intercept_ = float(intercept[0]) if one_target else intercept.cpu().numpy()
        self.n_features_in_ = rows.shape[1]
        return self

    def _solver(self) -> str:
        if self.solver != "auto":
            return self.solver
        return "closed-form" if self.penalty == "l2" else "proximal"

    def _solve(self, solver: str, data: CentredData) -> tuple[torch.Tensor, int | None]:
        alpha = float(self.alpha)
        if solver == "closed-form":
            return closed_form(data, alpha)
        if solver == "gradient-descent":
            return gradient_descent(data, alpha, self.max_iter, self.tol, self.lr)
        return fista(data, alpha, self.max_iter, self.tol, self.lr)

    # ---- using the fitted model -------------------------------------------------------------------
    def predict(self, X: Any) -> np.ndarray | torch.Tensor:
        """The predicted targets: (N,), or (N, T) when fitted on a 2-D y."""
        return self._output(self._linear(X), X)

    def score(self, X: Any, y: Any) -> float:
        """The coefficient of determination R^2 of the predictions (averaged over targets, as scikit-learn)."""
        predicted = np.asarray(self._linear(X).cpu().numpy(), dtype=np.float64)
        truth = as_values(y, len(predicted), torch.float64).numpy()
        return r2_score(truth, predicted)

    # ---- checks and loading -----------------------------------------------------------------------
    def _check_settings(self) -> None:
        check_choice("penalty", self.penalty, PENALTIES)
        if self.solver not in SOLVERS[self.penalty]:
            raise ValueError(f"solver={self.solver!r} does not work with penalty={self.penalty!r}; choose one of "
                             f"{list(SOLVERS[self.penalty])}.")
        check_positive("alpha", self.alpha, "1.0", allow_zero=True)
        check_positive("lr", self.lr, "0.01", allow_none=True)
        check_common(self)

    def _extra_state(self) -> dict[str, Any]:
        return {"estimator": self.NAME}

    @classmethod
    def load(cls, directory: str | Path) -> LinearRegression:
        """Load a LinearRegression, Ridge or Lasso written by :meth:`save` (nothing is unpickled).

        ``LinearRegression.load`` returns whichever of the three was saved; ``Ridge.load`` and
        ``Lasso.load`` accept only their own.
        """
        state = read_info(Path(directory)).get(cls.kind)
        saved = state.get("estimator") if isinstance(state, dict) else None
        estimators = {estimator.NAME: estimator for estimator in (LinearRegression, Ridge, Lasso)}
        if saved in estimators and (cls is LinearRegression or estimators[saved] is cls):
            return estimators[saved].from_folder(directory)
        if saved in estimators:
            raise ValueError(f"'{directory}' holds a {saved}, not a {cls.NAME}; load it with {saved}.load or "
                             "LinearRegression.load.")
        return cls.from_folder(directory)  # reports what is missing


class _FixedPenalty(LinearRegression):
    """A LinearRegression whose class fixes the penalty (``PENALTY``), with ``alpha`` first and 1.0 by default."""

    PENALTY = ""

    def __init__(self, alpha: float = 1.0, *, fit_intercept: bool = True, solver: str = "auto", max_iter: int = 10_000,
                 tol: float = 1e-6, lr: float | None = None, device: str = "auto",
                 dtype: torch.dtype = torch.float64) -> None:
        super().__init__(alpha=alpha, penalty=self.PENALTY, fit_intercept=fit_intercept, solver=solver,
                         max_iter=max_iter, tol=tol, lr=lr, device=device, dtype=dtype)


class Ridge(_FixedPenalty):
    """Least squares with an L2 penalty: minimises ``||y - Xw - b||^2 + alpha ||w||^2`` (scikit-learn's Ridge).

    The same as ``LinearRegression(penalty="l2", alpha=alpha)``; see :class:`LinearRegression` for the arguments.

    Example:
        >>> import numpy as np
        >>> X = np.random.default_rng(0).normal(size=(50, 3))
        >>> Ridge(alpha=10.0).fit(X, X @ [1.0, 2.0, 3.0]).coef_.shape
        (3,)
    """

    PENALTY = "l2"
    NAME = "Ridge"


class Lasso(_FixedPenalty):
    """Least squares with an L1 penalty: minimises ``(1/(2n)) ||y - Xw - b||^2 + alpha ||w||_1``
    (scikit-learn's Lasso), by FISTA. Many coefficients come out exactly 0.

    The same as ``LinearRegression(penalty="l1", alpha=alpha)``; see :class:`LinearRegression` for the arguments.

    Example:
        >>> import numpy as np
        >>> X = np.random.default_rng(0).normal(size=(50, 3))
        >>> Lasso(alpha=0.5).fit(X, X @ [0.0, 0.1, 3.0]).coef_[:2].tolist()
        [0.0, 0.0]
    """

    PENALTY = "l1"
    NAME = "Lasso"
