"""Agglomerative (hierarchical) clustering: SciPy builds the merge tree, the tree is cut as scikit-learn cuts it.

Every row starts as its own cluster; the two closest clusters are merged, again and again, until one is
left. ``linkage`` says what "closest" means: "ward" (the merge that least increases the total
within-cluster variance), "complete" (the largest distance between their rows), "average" (the mean
distance) or "single" (the smallest distance). SciPy's ``linkage`` records the N - 1 merges as its
matrix Z; cutting the last ``n_clusters - 1`` merges (or every merge at a distance >= ``distance_threshold``)
leaves the clusters. Labels are numbered as scikit-learn's ``AgglomerativeClustering`` numbers them.

SciPy keeps all N (N - 1) / 2 pairwise distances in memory, so more than MAX_ROWS rows are refused:
use :class:`learnable.classic.KMeans` for big data.

Example:
    >>> from sklearn.datasets import make_blobs
    >>> X, _ = make_blobs(n_samples=60, centers=3, random_state=0)
    >>> model = AgglomerativeClustering(n_clusters=3).fit(X)
    >>> model.labels_.shape, model.children_.shape, model.n_clusters_
    ((60,), (59, 2), 3)
"""

from __future__ import annotations

from heapq import heappush, heappushpop
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.cluster import hierarchy
from scipy.spatial.distance import pdist

from learnable.data.validate import as_rows
from learnable.model_file import load_state, save_tensors
from learnable.utils.params import Params
from learnable.utils.validation import check_choice, check_count, check_positive, quote

LAYOUT = {"linkage_matrix": ("float", ("merges", 4)), "labels": ("int", ("rows",))}  # the tensors of a saved model
LINKAGES = ("ward", "complete", "average", "single")
MAX_ROWS = 20_000  # the condensed distance matrix of 20,000 rows takes 1.6 GB of float64
# scikit-learn's metric names -> SciPy's
ALIASES = {"l2": "euclidean", "l1": "cityblock", "manhattan": "cityblock"}
METRICS = ("euclidean", "sqeuclidean", "cityblock", "chebyshev", "minkowski", "cosine", "correlation", "canberra",
           "braycurtis", "seuclidean", "mahalanobis", "hamming", "jaccard", "jensenshannon", *ALIASES)


# ---- building blocks ----------------------------------------------------------------------------
def cut_tree(children: np.ndarray, n_leaves: int, n_clusters: int) -> np.ndarray:
    """Labels (n_leaves,) from undoing the last ``n_clusters - 1`` merges of ``children`` (N - 1, 2), numbered
    as scikit-learn's ``_hc_cut`` numbers them (the order of its heap of cluster roots)."""
    roots = [-(int(children[-1].max()) + 1)]  # the top of the tree, negated: heapq pops the smallest
    for _ in range(n_clusters - 1):
        left, right = children[-roots[0] - n_leaves]  # split the most recent merge still standing
        heappush(roots, -int(left))
        heappushpop(roots, -int(right))
    cluster_roots = -np.array(roots)
    up = np.arange(2 * n_leaves - 1)  # (nodes,) each node's parent; cluster roots stop at themselves
    up[children.ravel()] = np.repeat(np.arange(n_leaves, 2 * n_leaves - 1), 2)
    up[cluster_roots] = cluster_roots
    while not np.array_equal(up, up[up]):  # pointer doubling: about log2(depth) steps
        up = up[up]
    position = np.zeros(2 * n_leaves - 1, dtype=np.int64)
    position[cluster_roots] = np.arange(len(cluster_roots))
    return position[up[:n_leaves]]


def clusters_below(distances: np.ndarray, threshold: float) -> int:
    """How many clusters are left after undoing every merge at a distance >= ``threshold`` (as scikit-learn)."""
    return int(np.count_nonzero(distances >= threshold)) + 1


# ---- the estimator ------------------------------------------------------------------------------
class AgglomerativeClustering(Params):
    """Cluster rows bottom-up by merging the closest clusters; scikit-learn's ``AgglomerativeClustering``.

    Args:
        n_clusters: how many clusters to keep, or None when ``distance_threshold`` decides.
        linkage: "ward" (default), "complete", "average" or "single".
        metric: the distance between rows, a SciPy ``pdist`` name ("euclidean", "cityblock", "cosine", ...;
            scikit-learn's "l1", "l2" and "manhattan" also work). "ward" needs "euclidean".
        distance_threshold: None, or undo every merge at this linkage distance or more (then
            ``n_clusters`` must be None).
        compute_distances: accepted for scikit-learn's signature; ``distances_`` is always computed, as
            SciPy returns it with the merges.

    Attributes (after ``fit``): ``labels_`` (N,), ``n_clusters_``, ``children_`` (N - 1, 2) (merge i joins
    these two nodes into node N + i; nodes below N are rows), ``distances_`` (N - 1,), ``linkage_matrix_``
    (SciPy's Z, (N - 1, 4)), ``n_leaves_``, ``n_features_in_``.

    Example:
        >>> X = [[0.0, 0.0], [0.0, 0.1], [5.0, 5.0], [5.0, 5.1]]
        >>> AgglomerativeClustering(n_clusters=2).fit_predict(X).tolist()
        [0, 0, 1, 1]
    """

    kind = "agglomerative"  # its model.json entry (learnable.model_file.KINDS)

    def __init__(self, n_clusters: int | None = 2, *, linkage: str = "ward", metric: str = "euclidean",
                 distance_threshold: float | None = None, compute_distances: bool = False) -> None:
        self.n_clusters, self.linkage, self.metric = n_clusters, linkage, metric
        self.distance_threshold, self.compute_distances = distance_threshold, compute_distances

    # ---- fitting ----------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None) -> AgglomerativeClustering:
        """Build the merge tree of rows X (N, features) and cut it; returns self. ``y`` is ignored."""
        self._check_settings()
        rows = as_rows(X, dtype=np.float64)
        rows = rows.reshape(len(rows), -1)  # images (N, C, H, W) -> (N, C*H*W)
        self._check_rows(len(rows))
        condensed = pdist(rows, metric=ALIASES.get(self.metric, self.metric))  # (N * (N - 1) / 2,)
        if not np.isfinite(condensed).all():
            raise ValueError(f"metric={self.metric!r} gave NaN distances on X (for example 'cosine' on an all-zero "
                             "row, or 'correlation' on a constant row); choose another metric or drop those rows.")
        Z = hierarchy.linkage(condensed, method=self.linkage)  # (N - 1, 4): merged nodes, distance, size
        n_clusters = self.n_clusters
        if n_clusters is None:
            n_clusters = clusters_below(Z[:, 2], self.distance_threshold)
        children = Z[:, :2].astype(np.int64)  # (N - 1, 2): the two nodes each merge joins
        self._learn(Z, children, cut_tree(children, len(rows), n_clusters), rows.shape[1])
        return self

    def fit_predict(self, X: Any, y: Any = None) -> np.ndarray:
        """Fit on X and return ``labels_`` (N,)."""
        return self.fit(X).labels_

    def _learn(self, Z: np.ndarray, children: np.ndarray, labels: np.ndarray, n_features: int) -> None:
        self.linkage_matrix_, self.labels_ = Z, labels
        self.children_, self.distances_ = children, Z[:, 2].copy()
        self.n_leaves_, self.n_features_in_ = len(Z) + 1, int(n_features)
        self.n_clusters_ = int(labels.max()) + 1

    # ---- looking at the tree ----------------------------------------------------------------------
    def dendrogram(self, ax: Any = None, truncate: int | None = 30) -> Any:
        """Draw the merge tree with SciPy's ``dendrogram``; returns the matplotlib Figure.

        Args:
            ax: a matplotlib Axes to draw on; None draws on a new Figure (no pyplot, safe without a display).
            truncate: show only the last ``truncate`` merges (SciPy's truncate_mode="lastp"); None shows all.
        """
        self._check_fitted()
        check_count("truncate", truncate, "30 (None: the whole tree)", least=2, allow_none=True)
        if ax is None:
            from matplotlib.figure import Figure

            ax = Figure(figsize=(7.5, 4.0)).add_subplot()
        lastp = {"truncate_mode": "lastp", "p": truncate} if truncate is not None else {}
        hierarchy.dendrogram(self.linkage_matrix_, ax=ax, **lastp)
        ax.set(title=f"{self.linkage} linkage, {self.n_leaves_} rows", ylabel=f"{self.metric} linkage distance")
        return ax.figure

    # ---- saving -----------------------------------------------------------------------------------
    def save(self, directory: str | Path) -> Path:
        """Write Z and the labels (model.safetensors) and settings (model.json) atomically; nothing is pickled."""
        self._check_fitted("so there is nothing to save")
        tensors = {"linkage_matrix": torch.from_numpy(self.linkage_matrix_), "labels": torch.from_numpy(self.labels_)}
        state = {"settings": self.get_params(), "n_features_in": self.n_features_in_}
        return save_tensors(directory, tensors, {self.kind: state})

    @classmethod
    def load(cls, directory: str | Path) -> AgglomerativeClustering:
        """Load a clustering written by :meth:`save` (JSON and raw tensors only; nothing is unpickled)."""
        tensors, state = load_state(directory, cls.kind, "an AgglomerativeClustering", expect=lambda state: LAYOUT)
        try:
            model = cls(**state["settings"])
            Z, labels = tensors["linkage_matrix"].double().numpy(), tensors["labels"].long().numpy()
            if Z.ndim != 2 or Z.shape[1] != 4 or labels.shape != (len(Z) + 1,) or labels.min() < 0:
                raise ValueError(f"linkage_matrix {tuple(Z.shape)} and labels {tuple(labels.shape)} do not fit")
            model._learn(Z, Z[:, :2].astype(np.int64), labels, int(state["n_features_in"]))
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"'{directory}' has a damaged AgglomerativeClustering: {quote(str(error))}") from None
        return model

    # ---- checks -----------------------------------------------------------------------------------
    def _check_fitted(self, why: str = "") -> None:
        if not hasattr(self, "labels_"):
            raise ValueError(f"this AgglomerativeClustering is not fitted yet{', ' + why if why else ''}; call "
                             "fit(X) first, or AgglomerativeClustering.load(directory).")

    def _check_rows(self, n_rows: int) -> None:
        if n_rows > MAX_ROWS:
            gigabytes = n_rows * (n_rows - 1) / 2 * 8 / 1e9
            raise ValueError(f"X has {n_rows:,} rows; agglomerative clustering keeps all N*(N-1)/2 pairwise "
                             f"distances in memory ({gigabytes:.1f} GB here) and takes O(N^2) time, so learnable "
                             f"refuses more than {MAX_ROWS:,} rows. Use KMeans (learnable.classic.KMeans) for big "
                             "data, or cluster a sample of the rows.")
        if n_rows < 2:
            raise ValueError(f"X has {n_rows} row; agglomerative clustering needs at least 2 rows to merge.")
        if self.n_clusters is not None and self.n_clusters > n_rows:
            raise ValueError(f"n_clusters={self.n_clusters} is more than the {n_rows} rows of X; pass at most "
                             f"{n_rows} clusters, or more rows.")

    def _check_settings(self) -> None:
        if (self.n_clusters is None) == (self.distance_threshold is None):
            raise ValueError(f"n_clusters={self.n_clusters!r} and distance_threshold={self.distance_threshold!r}: "
                             "set exactly one of them, for example n_clusters=3, or n_clusters=None with "
                             "distance_threshold=10.0.")
        check_count("n_clusters", self.n_clusters, 3, allow_none=True)
        check_positive("distance_threshold", self.distance_threshold, "10.0", allow_zero=True, allow_none=True)
        check_choice("linkage", self.linkage, LINKAGES)
        check_choice("metric", self.metric, METRICS)
        if self.linkage == "ward" and self.metric != "euclidean":
            raise ValueError(f"linkage='ward' needs metric='euclidean', got metric={self.metric!r}: Ward's merge cost "
                             "is a change in squared Euclidean variance. Use linkage='average' or 'complete' with "
                             "other metrics.")
