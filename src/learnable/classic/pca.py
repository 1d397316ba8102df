"""Principal component analysis (PCA) in PyTorch, so it runs on a GPU; scikit-learn's PCA is the oracle.

PCA centres the rows and finds the orthogonal directions of largest variance: the right singular
vectors of the centred data. Two solvers:

- ``"full"``: an exact ``torch.linalg.svd`` of the centred (N, F) matrix.
- ``"randomized"``: Halko, Martinsson and Tropp's randomized range finder. A Gaussian sketch of
  ``n_components + n_oversamples`` columns is multiplied through the data, refined by ``n_iter``
  power iterations (each re-orthonormalised, by Cholesky QR where it is stable, so small singular
  values are not lost to rounding), and the small projected matrix is decomposed exactly. Much faster when only a
  few components of a large matrix are wanted; accurate when the spectrum decays.
- ``"covariance_eigh"``: the eigendecomposition of the (F, F) matrix ``X^T X`` of the centred data;
  one pass over the rows, by far the fastest when there are many more rows than features.
- ``"auto"`` (scikit-learn's rule since 1.5): covariance_eigh when F <= 1000 and N >= 10 F; else
  randomized when the data is larger than 500 in either dimension and ``n_components`` is a whole
  number below 80% of ``min(N, F)``; otherwise full.

Components are sign-fixed as scikit-learn's ``svd_flip(..., u_based_decision=False)`` does: in each
component the entry of largest magnitude is positive, so results are reproducible across solvers,
devices and runs.

The dtype follows the input as in scikit-learn: float32 data is decomposed in float32 (fast, and no
copy), anything else in float64. The explained variances are squared singular values, so float32's
about 7 significant digits leave ratios and small components accurate only to about 1e-4, while
float64 agrees with scikit-learn to about 1e-12. ``dtype=`` forces one.

Example:
    >>> from sklearn.datasets import load_iris
    >>> X = load_iris().data
    >>> pca = PCA(2).fit(X)
    >>> pca.explained_variance_ratio_.round(3).tolist()
    [0.925, 0.053]
    >>> pca.transform(X).shape
    (150, 2)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from learnable.data.validate import as_matrix, output_like
from learnable.model_file import load_state, save_tensors
from learnable.train.inputs import resolve_device
from learnable.utils.params import Params
from learnable.utils.validation import check_choice, check_count, is_number, is_whole, quote

SOLVERS = ("auto", "full", "covariance_eigh", "randomized")
GRAM_ROWS = 16384  # rows centred at a time by centred_gram
LEARNED = ("components_", "explained_variance_", "explained_variance_ratio_", "singular_values_", "mean_")
LAYOUT = {"components_": ("float", ("components", "features")), "mean_": ("float", ("features",)),
          **{name: ("float", ("components",)) for name in LEARNED[1:4]}}  # what a saved PCA's tensors must be


# ---- building blocks ------------------------------------------------------------------------------
def svd_flip(Vt: torch.Tensor) -> torch.Tensor:
    """``Vt`` (K, F) with each row's largest-magnitude entry made positive (scikit-learn's ``svd_flip`` with
    ``u_based_decision=False``), so components are reproducible across solvers, devices and runs."""
    rows = torch.arange(Vt.shape[0], device=Vt.device)
    signs = torch.sign(Vt[rows, Vt.abs().argmax(dim=1)])  # (K,)
    signs[signs == 0] = 1.0
    return Vt * signs[:, None]


def orthonormal_basis(Y: torch.Tensor) -> torch.Tensor:
    """An orthonormal basis (N, W) of the columns of a tall ``Y`` (N, W), by Cholesky QR.

    Two passes of ``Q = Y R^-1`` with ``R`` the Cholesky factor of the small ``Y^T Y`` (CholeskyQR2) cost
    two matrix products instead of a Householder QR, about 3x faster on a tall matrix. When ``Y`` is too
    ill-conditioned for Cholesky (a factorisation fails), the Householder QR is used instead.
    """
    Q = Y
    for _ in range(2):
        R, info = torch.linalg.cholesky_ex(Q.T @ Q, upper=True)  # (W, W)
        if info.item() != 0:
            return torch.linalg.qr(Y).Q
        Q = Q @ torch.linalg.inv(R)  # (N, W)
    return Q


def randomized_svd(X: torch.Tensor, rank: int, *, n_oversamples: int, n_iter: int,
                   generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """The top ``rank`` singular values (rank,) and right singular vectors Vt (rank, F) of ``X`` (N, F), randomized.

    The sketch is drawn on the CPU from ``generator`` and then moved, so a seed gives the same result on any device.
    """
    width = min(rank + n_oversamples, *X.shape)
    sketch = torch.randn(X.shape[1], width, generator=generator, dtype=X.dtype).to(X.device)  # (F, width)
    Q = orthonormal_basis(X @ sketch)  # (N, width): a basis of X's range
    for _ in range(n_iter):  # power iterations sharpen the basis towards the top singular vectors
        Q = torch.linalg.qr(X.T @ Q).Q  # (F, width)
        Q = orthonormal_basis(X @ Q)  # (N, width)
    Q = torch.linalg.qr(Q).Q  # a last Householder pass: orthonormal to working precision
    _, S, Vt = torch.linalg.svd(Q.T @ X, full_matrices=False)  # (width, F) is small
    return S[:rank], Vt[:rank]


def centred_gram(X: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The column means (F,) and the Gram matrix of the centred data ``(X - mean)^T (X - mean)`` (F, F), in
    one pass over X, chunk by chunk, with no centred copy of X.

    The rows are shifted by the mean of the first chunk (close to the true mean), summed and multiplied;
    the small remaining shift ``d`` is removed at the end as ``- N d d^T``. Shifting first avoids the
    cancellation of ``X^T X - N mean mean^T`` when the mean is large against the spread.
    """
    shift = X[:GRAM_ROWS].mean(dim=0)  # (F,)
    gram, total = X.new_zeros(X.shape[1], X.shape[1]), X.new_zeros(X.shape[1])
    for chunk in X.split(GRAM_ROWS):
        shifted = chunk - shift  # (GRAM_ROWS, F)
        gram.addmm_(shifted.T, shifted)
        total += shifted.sum(dim=0)
    offset = total / len(X)  # (F,): mean - shift
    return shift + offset, gram - len(X) * torch.outer(offset, offset)


def covariance_eigh(gram: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Singular values (F,) and right singular vectors Vt (F, F) of the centred data, from the
    eigendecomposition of its small (F, F) Gram matrix: fast when N >> F."""
    eigenvalues, eigenvectors = torch.linalg.eigh(gram)  # ascending
    return eigenvalues.flip(0).clamp_min(0).sqrt(), eigenvectors.flip(1).T


def choose_solver(solver: str, shape: tuple[int, int], n_components: Any) -> str:
    """The solver "auto" picks for data of ``shape``: see the module docstring."""
    if solver != "auto":
        return solver
    rows, features = shape
    if features <= 1000 and rows >= 10 * features:
        return "covariance_eigh"
    if max(shape) > 500 and is_whole(n_components) and n_components < 0.8 * min(shape):
        return "randomized"
    return "full"


# ---- the estimator --------------------------------------------------------------------------------
class PCA(Params):
    """Principal component analysis with scikit-learn's interface, computed with PyTorch.

    Args:
        n_components: None keeps all ``min(N, F)`` components; an int keeps that many; a float in
            (0, 1) keeps the fewest components whose explained variance ratios sum to more than it.
        svd_solver: "full" (exact SVD), "covariance_eigh", "randomized" (range finder) or "auto" (see the
            module docstring).
        whiten: scale the transformed columns to unit variance (divide by sqrt(explained_variance_)).
        n_oversamples: extra sketch columns for "randomized" (more is more accurate, default 10).
        n_iter: power iterations for "randomized" (more helps when the spectrum decays slowly, default 4).
        seed: the seed of the randomized sketch.
        device: where to compute ("auto": CUDA when present, else the CPU).
        dtype: None (default) follows the input: float32 stays float32, anything else is float64 (see the
            module docstring); or torch.float32 / torch.float64 to force one.

    Attributes (after ``fit``, NumPy arrays as in scikit-learn): ``components_`` (K, F),
    ``explained_variance_`` (K,), ``explained_variance_ratio_`` (K,), ``singular_values_`` (K,),
    ``mean_`` (F,), ``noise_variance_``, ``n_components_``, ``n_features_in_``, ``n_samples_``,
    ``solver_`` (the solver used), ``dtype_`` (the torch dtype computed in).

    ``transform`` and ``inverse_transform`` return a tensor on ``device`` for a tensor input, else a NumPy array.

    Example:
        >>> import numpy as np
        >>> X = np.random.default_rng(0).normal(size=(100, 5))
        >>> pca = PCA(whiten=True).fit(X)  # all 5 components
        >>> bool(np.allclose(pca.inverse_transform(pca.transform(X)), X))
        True
    """

    kind = "pca"  # its model.json entry (learnable.model_file.KINDS)

    def __init__(self, n_components: int | float | None = None, *, svd_solver: str = "auto", whiten: bool = False,
                 n_oversamples: int = 10, n_iter: int = 4, seed: int = 0, device: str = "auto",
                 dtype: torch.dtype | None = None) -> None:
        self.n_components, self.svd_solver, self.whiten = n_components, svd_solver, whiten
        self.n_oversamples, self.n_iter, self.seed, self.device, self.dtype = n_oversamples, n_iter, seed, device, dtype

    # ---- fitting ----------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None) -> PCA:
        """Learn the components of ``X`` (N, F); returns self. ``y`` is ignored (scikit-learn's signature)."""
        self._check_settings()
        rows = as_matrix(X, self.dtype)
        self.dtype_ = rows.dtype
        self._check_n_components(rows.shape)
        solver = choose_solver(self.svd_solver, tuple(rows.shape), self.n_components)
        device = resolve_device(self.device)
        rows = rows.to(device)
        if solver == "covariance_eigh":
            mean, gram = centred_gram(rows)  # (F,), (F, F)
            total_variance = gram.trace() / (len(rows) - 1)
            S, Vt = covariance_eigh(gram)
        else:
            mean = rows.mean(dim=0)  # (F,)
            centred = rows - mean  # (N, F)
            total_variance = centred.square().sum() / (len(rows) - 1)
        if solver == "full":
            _, S, Vt = torch.linalg.svd(centred, full_matrices=False)  # S (min(N, F),), Vt (min(N, F), F)
        elif solver == "randomized":
            generator = torch.Generator().manual_seed(self.seed)
            S, Vt = randomized_svd(centred, self.n_components, n_oversamples=self.n_oversamples,
                                   n_iter=self.n_iter, generator=generator)
        Vt = svd_flip(Vt)
        variance = S.square() / (len(rows) - 1)  # (K_all,)
        self._set_learned(rows.shape, solver, mean, Vt, S, variance, total_variance)
        return self

    def fit_transform(self, X: Any, y: Any = None) -> np.ndarray | torch.Tensor:
        """``fit(X)`` then ``transform(X)``."""
        return self.fit(X).transform(X)

    def _set_learned(self, shape: torch.Size, solver: str, mean: torch.Tensor, Vt: torch.Tensor, S: torch.Tensor,
                     variance: torch.Tensor, total_variance: torch.Tensor) -> None:
        ratio = variance / total_variance
        count = self._count(ratio)
        rank = min(shape)
        # The average variance of the discarded directions (probabilistic PCA's noise); 0 when all are kept.
        noise = (total_variance - variance[:count].sum()) / (rank - count) if count < rank else torch.zeros(())
        as_numpy = lambda t: np.ascontiguousarray(t.detach().cpu().numpy())  # noqa: E731 (as load gives them)
        self.components_, self.explained_variance_ = as_numpy(Vt[:count]), as_numpy(variance[:count])
        self.explained_variance_ratio_, self.singular_values_ = as_numpy(ratio[:count]), as_numpy(S[:count])
        self.mean_, self.noise_variance_ = as_numpy(mean), float(noise)
        self.n_components_, self.n_samples_, self.n_features_in_, self.solver_ = count, shape[0], shape[1], solver

    def _count(self, ratio: torch.Tensor) -> int:
        """How many components to keep, given all explained variance ratios (K_all,)."""
        if self.n_components is None:
            return len(ratio)
        if is_whole(self.n_components):
            return int(self.n_components)
        cumulative = np.cumsum(ratio.cpu().double().numpy())  # as scikit-learn: the first count above the fraction
        return int(min(np.searchsorted(cumulative, self.n_components, side="right") + 1, len(ratio)))

    # ---- using the fitted PCA ---------------------------------------------------------------------
    def transform(self, X: Any) -> np.ndarray | torch.Tensor:
        """Project ``X`` (N, F) onto the components: (N, n_components_), whitened if ``whiten``."""
        self._check_fitted()
        rows = self._inputs(X, self.n_features_in_, "features")
        projected = (rows - self._tensor("mean_")) @ self._tensor("components_").T  # (N, K)
        if self.whiten:  # as scikit-learn: a zero-variance component is divided by eps, not by 0
            scale = self._tensor("explained_variance_").sqrt()
            projected = projected / scale.clamp_min(torch.finfo(scale.dtype).eps)
        return self._output(projected, X)

    def inverse_transform(self, X: Any) -> np.ndarray | torch.Tensor:
        """Map component scores ``X`` (N, n_components_) back to the feature space (N, F)."""
        self._check_fitted()
        scores = self._inputs(X, self.n_components_, "components")
        if self.whiten:
            scores = scores * self._tensor("explained_variance_").sqrt()
        return self._output(scores @ self._tensor("components_") + self._tensor("mean_"), X)

    def _check_fitted(self) -> None:
        if not hasattr(self, "components_"):
            raise ValueError("this PCA is not fitted yet; call fit(X) first, or PCA.load(directory).")

    def _inputs(self, X: Any, width: int, what: str) -> torch.Tensor:
        rows = as_matrix(X, self.dtype_)
        if rows.shape[1] != width:
            raise ValueError(f"X has {rows.shape[1]} columns, but this PCA expects {width} {what} (as fitted); pass "
                             f"rows with the same {what} as the data given to fit.")
        return rows.to(resolve_device(self.device))

    def _tensor(self, name: str) -> torch.Tensor:
        return torch.as_tensor(getattr(self, name), dtype=self.dtype_, device=resolve_device(self.device))

    _output = staticmethod(output_like)

    # ---- checks -----------------------------------------------------------------------------------
    def _check_settings(self) -> None:
        check_choice("svd_solver", self.svd_solver, SOLVERS)
        if self.dtype not in (None, torch.float32, torch.float64):
            raise TypeError(f"dtype={self.dtype!r} is not supported; use None (follow the input), torch.float64 or "
                            "torch.float32.")
        check_count("n_oversamples", self.n_oversamples, 10, least=0)
        check_count("n_iter", self.n_iter, 4, least=0)
        count = self.n_components
        if count is None:
            return
        if not is_number(count):
            raise TypeError(f"n_components={count!r} must be None, a whole number or a fraction in (0, 1).")
        if is_whole(count) and count < 1:
            raise ValueError(f"n_components={count!r} keeps no components; pass a whole number >= 1, for example 2.")
        if not is_whole(count) and not 0 < count < 1:
            raise ValueError(f"n_components={count!r} is a float outside (0, 1); pass a fraction of variance to keep "
                             "such as 0.95, or a whole number of components such as 2.")

    def _check_n_components(self, shape: torch.Size) -> None:
        if shape[0] < 2:
            raise ValueError(f"X has {shape[0]} row; PCA needs at least 2 rows to measure variance.")
        count, rank = self.n_components, min(shape)
        if is_whole(count) and count > rank:
            raise ValueError(f"n_components={count} is more than min(n_samples, n_features) = min{tuple(shape)} = "
                             f"{rank}; pass n_components <= {rank}.")
        if self.svd_solver == "randomized" and not is_whole(count):
            raise ValueError(f"svd_solver='randomized' needs a whole number n_components, got {count!r}; pass one, "
                             "or use svd_solver='full'.")

    # ---- saving -----------------------------------------------------------------------------------
    def save(self, directory: str | Path) -> Path:
        """Write the learned arrays (model.safetensors) and the settings (model.json) atomically; no pickle."""
        if not hasattr(self, "components_"):
            raise ValueError("this PCA is not fitted yet, so there is nothing to save; call fit first.")
        settings = {**self.get_params(), "dtype": _dtype_name(self.dtype)}
        state = {"settings": settings, "noise_variance": self.noise_variance_, "n_samples": self.n_samples_,
                 "solver": self.solver_, "dtype": _dtype_name(self.dtype_)}
        tensors = {name: torch.from_numpy(np.ascontiguousarray(getattr(self, name))) for name in LEARNED}
        return save_tensors(directory, tensors, {self.kind: state})

    @classmethod
    def load(cls, directory: str | Path) -> PCA:
        """Load a PCA written by :meth:`save` (JSON and raw tensors only; nothing is unpickled)."""
        tensors, state = load_state(directory, cls.kind, "a PCA", ("settings", "noise_variance", "n_samples", "solver"),
                                    expect=lambda state: LAYOUT)
        try:
            arrays = {name: tensor.numpy() for name, tensor in tensors.items()}
            settings = {**state["settings"], "dtype": _dtype(state["settings"]["dtype"])}
            learned_dtype = _dtype(state.get("dtype", state["settings"]["dtype"]))
            pca = cls(**settings)
        except (TypeError, AttributeError, KeyError) as error:
            raise ValueError(f"'{directory}' holds a damaged PCA: {quote(str(error))}") from None
        if set(arrays) != set(LEARNED):
            raise ValueError(f"'{directory}' holds tensors {sorted(arrays)}, expected {sorted(LEARNED)}.")
        for name in LEARNED:
            setattr(pca, name, arrays[name])
        pca.noise_variance_, pca.n_samples_ = float(state["noise_variance"]), state["n_samples"]
        pca.solver_, pca.dtype_ = state["solver"], learned_dtype
        pca.n_components_, pca.n_features_in_ = pca.components_.shape
        return pca


def _dtype_name(dtype: torch.dtype | None) -> str | None:
    return None if dtype is None else str(dtype).removeprefix("torch.")


def _dtype(name: str | None) -> torch.dtype | None:
    if name not in (None, "float32", "float64"):
        raise TypeError(f"dtype {name!r} is not float32 or float64")
    return None if name is None else getattr(torch, name)
