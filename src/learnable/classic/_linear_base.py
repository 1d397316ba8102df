"""What the linear estimators share: checking settings, L-BFGS, save and load (reading y and scoring are
:mod:`learnable.classic.targets`'s).

:mod:`learnable.classic.linear` (regression) and :mod:`learnable.classic.linear_classifiers` build on
:class:`LinearModel`, which holds the scikit-learn contract (``get_params``, ``coef_`` / ``intercept_``
as NumPy arrays, ``n_features_in_``, ``n_iter_``) and safe save/load (safetensors + JSON, no pickle).

Example (minimise ``(theta - 3)^2``):
    >>> theta = torch.zeros(1, dtype=torch.float64)
    >>> lbfgs(theta, lambda t: (((t - 3) ** 2).sum(), 2 * (t - 3)), max_iter=50, tol=1e-8) > 0
    True
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from learnable.classic.targets import DTYPES
from learnable.data.validate import as_matrix, output_like
from learnable.model_file import load_state, save_tensors
from learnable.train.inputs import resolve_device
from learnable.utils.params import Params
from learnable.utils.validation import check_count, check_flag, check_positive, quote, whole

Objective = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]  # theta -> (loss, gradient like theta)
LBFGS_HISTORY = 20  # curvature pairs kept by L-BFGS (scipy keeps 10; more costs little next to a pass over X)


# ---- checking settings ----------------------------------------------------------------------------
def check_common(model: Any) -> None:
    """The settings every linear estimator has: fit_intercept, max_iter, tol, dtype, device."""
    check_flag("fit_intercept", model.fit_intercept)
    check_count("max_iter", model.max_iter, 1000)
    check_positive("tol", model.tol, "1e-4")
    if model.dtype not in DTYPES:
        raise TypeError(f"dtype={model.dtype!r} is not supported; use torch.float64 (default) or torch.float32.")
    resolve_device(model.device)  # raises for a name that is no device


# ---- solving --------------------------------------------------------------------------------------
def lbfgs(theta: torch.Tensor, objective: Objective, max_iter: int, tol: float) -> int:
    """Minimise a smooth ``objective(theta) -> (loss, gradient)`` in place with full-batch L-BFGS and a
    strong-Wolfe line search; stop when max |gradient| <= tol (scipy's ``gtol``). Returns the iterations.

    The gradient is given analytically, so no autograd graph over X is built. It also stops when the loss
    or the parameters change by less than the dtype's epsilon: float32 cannot resolve smaller changes.

    Example (minimise ``(theta - 3)^2``):
        >>> theta = torch.zeros(1, dtype=torch.float64)
        >>> iterations = lbfgs(theta, lambda t: (((t - 3) ** 2).sum(), 2 * (t - 3)), max_iter=50, tol=1e-8)
        >>> theta.item()
        3.0
    """
    theta.requires_grad_(False)
    optimizer = torch.optim.LBFGS([theta], lr=1, max_iter=max_iter, max_eval=max_iter * 2, tolerance_grad=tol,
                                  tolerance_change=torch.finfo(theta.dtype).eps, history_size=LBFGS_HISTORY,
                                  line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        loss, gradient = objective(theta)
        theta.grad = gradient
        return loss

    optimizer.step(closure)
    return int(optimizer.state[theta].get("n_iter", 0))


class LinearModel(Params):
    """A fitted linear map ``X @ coef_.T + intercept_``: parameters, checks, prediction input, save/load.

    Subclasses set ``kind`` (their model.json entry) and ``NAME``, provide
    ``_check_settings`` (raises for a bad setting), and may extend :meth:`_extra_state` /
    :meth:`_restore_extra` to save more than the coefficients.
    """

    kind = ""  # the model.json entry (learnable.model_file.KINDS)
    NAME = ""

    def _check_settings(self) -> None:
        raise NotImplementedError

    def _check_fitted(self) -> None:
        if not hasattr(self, "coef_"):
            raise ValueError(f"this {self.NAME} is not fitted yet; call fit(X, y) first, or "
                             f"{self.NAME}.load(directory).")

    def _inputs(self, X: Any) -> torch.Tensor:
        """Rows to predict for, checked against the fitted features, on the device (N, F)."""
        self._check_fitted()
        rows = as_matrix(X, self.dtype)
        if rows.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {rows.shape[1]} features, but this {self.NAME} was fitted on "
                             f"{self.n_features_in_}; pass rows with the same features as the training data.")
        return rows.to(resolve_device(self.device))

    def _linear(self, X: Any) -> torch.Tensor:
        """``X @ coef_.T + intercept_`` on the device: (N,) for a 1-D ``coef_``, else (N, K)."""
        rows = self._inputs(X)
        device = rows.device
        coef = torch.as_tensor(self.coef_, dtype=self.dtype, device=device)
        intercept = torch.as_tensor(self.intercept_, dtype=self.dtype, device=device)
        return (rows @ coef.T if coef.ndim == 2 else rows @ coef) + intercept

    _output = staticmethod(output_like)

    # ---- saving -----------------------------------------------------------------------------------
    def _extra_state(self) -> dict[str, Any]:
        return {}

    def _restore_extra(self, state: dict[str, Any]) -> None:
        pass

    @classmethod
    def _layout(cls, state: dict[str, Any]) -> dict[str, tuple[str, tuple | None]]:
        """The tensors a saved model holds (checked before they are read): a regressor's coef is
        (features,) or (targets, features), so only :func:`_check_coefficients` checks its shape."""
        return {"coef": ("float", None), "intercept": ("float", None)}

    def save(self, directory: str | Path) -> Path:
        """Write the coefficients (model.safetensors) and the settings (model.json) atomically; no pickle."""
        if not hasattr(self, "coef_"):
            raise ValueError(f"this {self.NAME} is not fitted yet, so there is nothing to save; call fit first.")
        settings = {**self.get_params(), "dtype": str(self.dtype).removeprefix("torch.")}
        state = {"settings": settings, "n_iter": self.n_iter_, "n_features_in": self.n_features_in_,
                 **self._extra_state()}
        # in the fitted dtype (a Python float intercept is float64), so a float32 model loads as float32
        tensors = {name: torch.from_numpy(np.ascontiguousarray(getattr(self, f"{name}_")))
                   for name in ("coef", "intercept")}
        return save_tensors(directory, tensors, {self.kind: state})

    @classmethod
    def load(cls, directory: str | Path) -> LinearModel:
        """Load a model written by :meth:`save` (JSON and raw tensors only; nothing is unpickled)."""
        return cls.from_folder(directory)

    @classmethod
    def from_folder(cls, directory: str | Path) -> LinearModel:
        """This class read from a folder :meth:`save` wrote, as saved (``load`` may pick a subclass first)."""
        tensors, state = load_state(directory, cls.kind, f"a {cls.NAME}", ("settings", "n_iter", "n_features_in"),
                                    expect=cls._layout)
        try:
            settings = {**state["settings"], "dtype": getattr(torch, state["settings"]["dtype"])}
            model = cls(**settings)
            model._check_settings()  # a hand-edited model.json is refused here, not at some later fit
            coef, intercept = tensors["coef"].numpy(), tensors["intercept"].numpy()
            _check_coefficients(coef, intercept, state["n_features_in"])
            model._restore_extra(state)
        except (TypeError, AttributeError, KeyError, ValueError) as error:
            raise ValueError(f"'{directory}' holds a damaged {cls.NAME}: {quote(str(error))}") from None
        model.coef_, model.n_iter_, model.n_features_in_ = coef, state["n_iter"], int(state["n_features_in"])
        model.intercept_ = float(intercept) if intercept.ndim == 0 else intercept
        return model


def _check_coefficients(coef: np.ndarray, intercept: np.ndarray, n_features_in: Any) -> None:
    """Raise a ValueError unless coef is (features,) or (rows, features) with an intercept that fits it."""
    features = whole(n_features_in, "n_features_in", 1)
    if coef.ndim not in (1, 2) or coef.shape[-1] != features or intercept.shape not in (coef.shape[:-1], (1,), ()):
        raise ValueError(f"coef of shape {tuple(coef.shape)} and intercept of shape {tuple(intercept.shape)} do not "
                         f"fit n_features_in={features}")
