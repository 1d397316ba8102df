"""k-means clustering in PyTorch: k-means++ seeding, Lloyd iterations, restarts and a mini-batch variant.

:class:`KMeans` follows scikit-learn's ``KMeans`` (and, with ``batch_size``, ``MiniBatchKMeans``) but
computes everything with torch on ``device``, so large problems run on a GPU. Distances use the
expansion ``||x||^2 - 2 x.c + ||c||^2`` over chunks of rows, so memory stays bounded for big X.

Example:
    >>> from sklearn.datasets import make_blobs
    >>> X, _ = make_blobs(n_samples=300, centers=3, random_state=0)
    >>> model = KMeans(n_clusters=3, seed=0).fit(X)
    >>> model.cluster_centers_.shape
    (3, 2)
    >>> bool((model.predict(X) == model.labels_).all())
    True
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from learnable.data.validate import as_rows
from learnable.model_file import load_state, save_tensors
from learnable.train.inputs import resolve_device
from learnable.utils.params import Params
from learnable.utils.validation import check_count, check_positive, quote, whole

INITS = ("k-means++", "random")
CHUNK_VALUES = 2**24  # distances computed at once: rows per chunk = CHUNK_VALUES // n_clusters
MAX_NO_IMPROVEMENT = 10  # mini-batch: steps without a better smoothed batch inertia before stopping


# ---- distances ----------------------------------------------------------------------------------
def squared_distances(X: torch.Tensor, centers: torch.Tensor, row_norms: torch.Tensor | None = None) -> torch.Tensor:
    """Squared Euclidean distances (N, K) between rows X (N, D) and centers (K, D), never negative.
    ``row_norms`` (N,), the rows' squared norms, saves a pass over X when it is known already."""
    row_norms = X.square().sum(1) if row_norms is None else row_norms
    partial = torch.addmm(centers.square().sum(1), X, centers.T, alpha=-2)  # (N, K): ||c||^2 - 2 x.c
    return partial.add_(row_norms[:, None]).clamp_min_(0)


def assign(X: torch.Tensor, centers: torch.Tensor, row_norms: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The nearest center of each row (N,) and its squared distance (N,), over chunks of rows.

    The nearest center minimises ``||c||^2 - 2 x.c`` (one fused matrix product per chunk); the row's own
    squared norm ``row_norms`` (N,) is added only to the winning value."""
    rows = max(1, CHUNK_VALUES // len(centers))
    center_norms = centers.square().sum(1)  # (K,)
    labels, nearest = [], []
    for chunk, norms in zip(X.split(rows), row_norms.split(rows), strict=True):
        best = torch.addmm(center_norms, chunk, centers.T, alpha=-2).min(1)
        labels.append(best.indices)
        nearest.append(best.values.add_(norms).clamp_min_(0))
    return torch.cat(labels), torch.cat(nearest)


# ---- seeding ------------------------------------------------------------------------------------
def kmeans_plus_plus(X: torch.Tensor, n_clusters: int, generator: torch.Generator,
                     row_norms: torch.Tensor) -> torch.Tensor:
    """Greedy k-means++ (as scikit-learn): each new center is the best of ``2 + log(k)`` candidates
    drawn with probability proportional to the squared distance to the nearest chosen center.
    Candidates are drawn by inverse transform sampling: uniform draws searched in the running sum
    of the distances (float64, so a million small distances add up exactly enough)."""
    trials = 2 + int(math.log(n_clusters))
    first = torch.randint(len(X), (1,), generator=generator, device=X.device)
    centers = [X[first]]  # (1, D) each
    closest = squared_distances(X, X[first], row_norms)[:, 0]  # (N,)
    for _ in range(1, n_clusters):
        cumulative = closest.double().cumsum(0)  # (N,)
        draws = torch.rand(trials, generator=generator, device=X.device, dtype=torch.float64) * cumulative[-1]
        candidates = torch.searchsorted(cumulative, draws).clamp_max_(len(X) - 1)  # (T,)
        if cumulative[-1] == 0:  # every row sits on a center already: any rows will do
            candidates = torch.randint(len(X), (trials,), generator=generator, device=X.device)
        distances = squared_distances(X, X[candidates], row_norms)  # (N, T)
        with_candidate = torch.minimum(closest[:, None], distances)  # (N, T)
        best = with_candidate.sum(0).argmin()
        closest = with_candidate[:, best]
        centers.append(X[candidates[best]][None])
    return torch.cat(centers)


def random_rows(X: torch.Tensor, n_clusters: int, generator: torch.Generator) -> torch.Tensor:
    """``n_clusters`` distinct rows of X, chosen uniformly."""
    return X[torch.randperm(len(X), generator=generator, device=X.device)[:n_clusters]].clone()


# ---- one run ------------------------------------------------------------------------------------
def lloyd(X: torch.Tensor, centers: torch.Tensor, max_iter: int, tol: float,
          row_norms: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Full-batch Lloyd iterations from ``centers``; stop when the squared center shift is <= tol."""
    for iteration in range(1, max_iter + 1):
        labels, nearest = assign(X, centers, row_norms)
        new = _means(X, labels, len(centers), nearest)
        shift = (new - centers).square().sum().item()
        centers = new
        if shift <= tol:
            return centers, iteration
    return centers, max_iter


def _means(X: torch.Tensor, labels: torch.Tensor, n_clusters: int, nearest: torch.Tensor) -> torch.Tensor:
    """The mean of each cluster's rows (K, D); an empty cluster is re-seeded at the farthest rows."""
    sums = torch.zeros(n_clusters, X.shape[1], dtype=X.dtype, device=X.device).index_add_(0, labels, X)
    counts = torch.bincount(labels, minlength=n_clusters)  # (K,)
    empty = (counts == 0).nonzero()[:, 0]
    if len(empty):
        farthest = nearest.topk(len(empty)).indices  # the rows worst served by their center
        sums[empty], counts[empty] = X[farthest], 1
    return sums / counts[:, None].to(X.dtype)


def mini_batch(X: torch.Tensor, centers: torch.Tensor, batch_size: int, max_iter: int, tol: float,
               generator: torch.Generator) -> tuple[torch.Tensor, int]:
    """Mini-batch k-means (Sculley 2010): each center moves towards its batch rows with learning rate
    1 / (rows it has seen). ``max_iter`` counts epochs; stops early when the centers barely move or the
    smoothed batch inertia has not improved for MAX_NO_IMPROVEMENT steps. Returns centers and steps."""
    steps = max(1, max_iter * len(X) // batch_size)
    counts = torch.zeros(len(centers), dtype=X.dtype, device=X.device)  # (K,)
    smoothed, best, stale = None, math.inf, 0
    alpha = min(1.0, batch_size * 2.0 / (len(X) + 1))
    for step in range(1, steps + 1):
        picked = torch.randint(len(X), (batch_size,), generator=generator, device=X.device)  # (B,)
        batch = X[picked]  # (B, D)
        labels, nearest = assign(batch, centers, batch.square().sum(1))
        sums = torch.zeros_like(centers).index_add_(0, labels, batch)  # (K, D)
        seen = torch.bincount(labels, minlength=len(centers)).to(X.dtype)  # (K,)
        counts += seen
        rate = torch.where(counts > 0, 1 / counts.clamp_min(1), 0)[:, None]  # (K, 1)
        new = centers + rate * (sums - seen[:, None] * centers)
        shift = (new - centers).square().sum().item()
        centers = new
        inertia = nearest.sum().item() / batch_size
        smoothed = inertia if smoothed is None else smoothed * (1 - alpha) + inertia * alpha
        best, stale = (smoothed, 0) if smoothed < best else (best, stale + 1)
        if (tol > 0 and shift <= tol) or stale >= MAX_NO_IMPROVEMENT:
            return centers, step
    return centers, steps


# ---- the estimator ------------------------------------------------------------------------------
class KMeans(Params):
    """Partition rows into ``n_clusters`` groups around their means (centers), minimising the inertia:
    the sum of squared distances from each row to its nearest center.

    Args:
        n_clusters: the number of clusters, from 1 to the number of rows.
        init: "k-means++" (greedy k-means++, as scikit-learn), "random" (distinct rows chosen at random)
            or an array (n_clusters, features) of starting centers (then one run).
        n_init: the number of runs from different seeds; the run with the lowest inertia is kept.
            "auto" means 1 for "k-means++" or an array and 10 for "random" (scikit-learn's "auto").
            The default 10 matches scikit-learn's classic default and gives the most stable result.
        max_iter: the most Lloyd iterations per run (with ``batch_size``: the most epochs).
        tol: stop when the squared movement of the centers is <= tol times the mean variance of the
            features (scikit-learn's relative tolerance).
        batch_size: None for full-batch Lloyd; a whole number for mini-batch k-means (Sculley 2010,
            as scikit-learn's ``MiniBatchKMeans``; no reassignment of small clusters).
        seed: seeds the torch.Generator behind seeding and batches: the same seed gives the same result.
        device: where to compute ("auto": CUDA if present, else the CPU). Computed in float32.

    Attributes (after ``fit``): ``cluster_centers_`` (K, D) float32 array, ``labels_`` (N,),
    ``inertia_`` (float), ``n_iter_`` (iterations, or mini-batch steps, of the kept run),
    ``n_features_in_``.

    Example:
        >>> X = [[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0]]
        >>> model = KMeans(n_clusters=2).fit(X)
        >>> sorted(model.predict([[0.0, 0.1], [5.0, 5.1]]).tolist()) == [0, 1]
        True
    """

    kind = "kmeans"  # its model.json entry (learnable.model_file.KINDS)

    def __init__(self, n_clusters: int = 8, *, init: str | Any = "k-means++", n_init: int | str = 10,
                 max_iter: int = 300, tol: float = 1e-4, batch_size: int | None = None, seed: int = 0,
                 device: str = "auto") -> None:
        self.n_clusters, self.init, self.n_init, self.max_iter = n_clusters, init, n_init, max_iter
        self.tol, self.batch_size, self.seed, self.device = tol, batch_size, seed, device

    # ---- fitting ----------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None) -> KMeans:
        """Find the centers of rows X (N, features); returns self. ``y`` is ignored (scikit-learn's API)."""
        self._check_settings()
        rows = _flat(as_rows(X))
        if self.n_clusters > len(rows):
            raise ValueError(f"n_clusters={self.n_clusters} is more than the {len(rows)} rows of X; "
                             f"pass at most {len(rows)} clusters, or more rows.")
        start = self._start_centers(rows.shape[1])
        device = resolve_device(self.device)
        data = torch.from_numpy(rows).to(device)
        tol = self.tol * data.var(0, unbiased=False).mean().item()  # relative to the data's spread
        generator = torch.Generator(device=device).manual_seed(self.seed)
        row_norms = data.square().sum(1)  # (N,): computed once, used by every distance
        best = None
        for _ in range(self._runs()):
            centers = self._seed_centers(data, start, generator, row_norms)
            centers, n_iter = self._run(data, centers, tol, generator, row_norms)
            labels, nearest = assign(data, centers, row_norms)
            inertia = nearest.double().sum().item()
            if best is None or inertia < best[0]:
                best = (inertia, centers, labels, n_iter)
        inertia, centers, labels, n_iter = best
        self.cluster_centers_ = centers.cpu().numpy()
        self.labels_, self.inertia_, self.n_iter_ = labels.cpu().numpy(), inertia, n_iter
        self.n_features_in_ = rows.shape[1]
        return self

    def _run(self, data: torch.Tensor, centers: torch.Tensor, tol: float, generator: torch.Generator,
             row_norms: torch.Tensor) -> tuple[torch.Tensor, int]:
        if self.batch_size is None:
            return lloyd(data, centers, self.max_iter, tol, row_norms)
        return mini_batch(data, centers, min(self.batch_size, len(data)), self.max_iter, tol, generator)

    def _runs(self) -> int:
        if self.n_init == "auto":
            return 10 if isinstance(self.init, str) and self.init == "random" else 1
        return 1 if not isinstance(self.init, str) else self.n_init

    def _seed_centers(self, data: torch.Tensor, start: np.ndarray | None, generator: torch.Generator,
                      row_norms: torch.Tensor) -> torch.Tensor:
        if start is not None:
            return torch.from_numpy(start).to(data.device)
        if self.init == "random":
            return random_rows(data, self.n_clusters, generator)
        return kmeans_plus_plus(data, self.n_clusters, generator, row_norms)

    def _start_centers(self, features: int) -> np.ndarray | None:
        """The user's starting centers as float32 (K, features), or None for "k-means++" / "random"."""
        if isinstance(self.init, str):
            return None
        centers = _flat(as_rows(self.init, name="init"))
        if centers.shape != (self.n_clusters, features):
            raise ValueError(f"init has shape {centers.shape}, but n_clusters={self.n_clusters} centers of "
                             f"{features} features need shape ({self.n_clusters}, {features}); pass one row per "
                             "center, with the features of X.")
        return centers

    # ---- using the fitted model -------------------------------------------------------------------
    def predict(self, X: Any) -> np.ndarray:
        """The index of the nearest center for each row, shape (N,), int64."""
        return self._nearest(X)[0].cpu().numpy()

    def fit_predict(self, X: Any, y: Any = None) -> np.ndarray:
        """Fit on X and return ``labels_``."""
        return self.fit(X).labels_

    def transform(self, X: Any) -> np.ndarray:
        """The Euclidean distance from each row to each center, shape (N, n_clusters), float32."""
        data, centers = self._inputs(X)
        rows = max(1, CHUNK_VALUES // len(centers))
        return torch.cat([squared_distances(chunk, centers).sqrt() for chunk in data.split(rows)]).cpu().numpy()

    def score(self, X: Any, y: Any = None) -> float:
        """Minus the inertia of X under the fitted centers (higher is better, as scikit-learn)."""
        return -self._nearest(X)[1].double().sum().item()

    def _nearest(self, X: Any) -> tuple[torch.Tensor, torch.Tensor]:
        data, centers = self._inputs(X)
        return assign(data, centers, data.square().sum(1))

    def _inputs(self, X: Any) -> tuple[torch.Tensor, torch.Tensor]:
        if not hasattr(self, "cluster_centers_"):
            raise ValueError("this KMeans is not fitted yet; call fit(X) first, or KMeans.load(directory).")
        rows = _flat(as_rows(X))
        if rows.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {rows.shape[1]} features, but this KMeans was fitted on {self.n_features_in_}; "
                             "pass rows with the same features as the training data.")
        device = resolve_device(self.device)
        return torch.from_numpy(rows).to(device), torch.from_numpy(self.cluster_centers_).to(device)

    # ---- saving -----------------------------------------------------------------------------------
    def save(self, directory: str | Path) -> Path:
        """Write the centers (model.safetensors) and settings (model.json) atomically; nothing is pickled."""
        if not hasattr(self, "cluster_centers_"):
            raise ValueError("this KMeans is not fitted yet, so there is nothing to save; call fit first.")
        settings = {**self.get_params(), "init": self.init if isinstance(self.init, str) else "array"}
        state = {"settings": settings, "inertia": self.inertia_, "n_iter": self.n_iter_}
        return save_tensors(directory, {"cluster_centers": torch.from_numpy(self.cluster_centers_)}, {self.kind: state})

    @classmethod
    def load(cls, directory: str | Path) -> KMeans:
        """Load a KMeans written by :meth:`save` (JSON and raw tensors only; nothing is unpickled)."""
        tensors, state = load_state(directory, cls.kind, "a KMeans", expect=_layout)
        try:
            centers = tensors["cluster_centers"].float().numpy()
            model = cls(**state["settings"])
        except (KeyError, TypeError) as error:
            raise ValueError(f"'{directory}' has a damaged KMeans: {quote(str(error))}") from None
        model.cluster_centers_, model.n_features_in_ = centers, centers.shape[1]
        model.inertia_, model.n_iter_ = float(state.get("inertia", math.nan)), int(state.get("n_iter", 0))
        return model

    # ---- checks before fitting --------------------------------------------------------------------
    def _check_settings(self) -> None:
        check_count("n_clusters", self.n_clusters, 8)
        if isinstance(self.init, str) and self.init not in INITS:
            raise ValueError(f"init={self.init!r} is not known; choose one of {list(INITS)} or pass an array "
                             "(n_clusters, features) of starting centers.")
        if self.n_init != "auto":
            check_count("n_init", self.n_init, "10, or 'auto'")
        check_count("max_iter", self.max_iter, 300)
        check_positive("tol", self.tol, "1e-4", allow_zero=True)
        check_count("batch_size", self.batch_size, "1024 (None: the full batch)", allow_none=True)



def _layout(state: dict[str, Any]) -> dict[str, tuple[str, tuple]]:
    """The tensor a saved KMeans holds: its centers, one row per cluster of model.json's settings."""
    return {"cluster_centers": ("float", (whole(state["settings"]["n_clusters"], "n_clusters", 1), "features"))}


def _flat(rows: np.ndarray) -> np.ndarray:
    """Rows (N, features); images (N, C, H, W) are flattened to (N, C*H*W)."""
    return rows.reshape(len(rows), -1)
