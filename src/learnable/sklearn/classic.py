"""scikit-learn estimators over ``learnable.classic``: the same computation in PyTorch, scikit-learn's names.

Each class here is a thin :class:`~learnable.sklearn._adapter.ClassicWrapper`: ``fit`` checks the input
as scikit-learn does, builds the learnable.classic estimator (``random_state`` becomes its ``seed``) and
copies its learned attributes; the other methods delegate to it.

Example:
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(100, 5))
    >>> PCA(n_components=2).fit_transform(X).shape
    (100, 2)
    >>> KMeans(n_clusters=3, random_state=0).fit(X).cluster_centers_.shape
    (3, 5)
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import ClassNamePrefixFeaturesOutMixin, ClusterMixin, TransformerMixin
from sklearn.utils import Tags
from sklearn.utils.validation import check_array, check_is_fitted

from learnable.classic import hierarchical, kmeans, pca
from learnable.sklearn._adapter import FLOATS, ClassicWrapper
from learnable.utils.validation import is_whole


class KMeans(ClassNamePrefixFeaturesOutMixin, TransformerMixin, ClusterMixin, ClassicWrapper):
    """k-means clustering (:class:`learnable.classic.KMeans`, computed with PyTorch in float32) with
    scikit-learn's ``KMeans`` parameters; ``batch_size`` switches to mini-batch k-means.

    Args:
        n_clusters, init, n_init, max_iter, tol: as scikit-learn's ``KMeans`` (``n_init="auto"``: one
            k-means++ run, ten "random" runs).
        batch_size: None (full-batch Lloyd) or the rows per mini-batch step.
        random_state: None, a whole number or a ``RandomState``: seeds the k-means++ draws.
        device: "auto" (CUDA when present), "cpu" or "cuda".

    Attributes: ``cluster_centers_`` (n_clusters, n_features), ``labels_``, ``inertia_``, ``n_iter_``,
    ``n_features_in_``, ``estimator_`` (the fitted learnable KMeans).

    Example:
        >>> X = [[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0]]
        >>> model = KMeans(n_clusters=2, random_state=0).fit(X)
        >>> bool(model.labels_[0] != model.labels_[2])
        True
    """

    classic_class = kmeans.KMeans
    learned = ("cluster_centers_", "labels_", "inertia_", "n_iter_")

    def __init__(self, n_clusters: int = 8, *, init: Any = "k-means++", n_init: int | str = "auto",
                 max_iter: int = 300, tol: float = 1e-4, batch_size: int | None = None, random_state: Any = None,
                 device: str = "auto") -> None:
        self.n_clusters, self.init, self.n_init, self.max_iter, self.tol = n_clusters, init, n_init, max_iter, tol
        self.batch_size, self.random_state, self.device = batch_size, random_state, device

    def fit(self, X: Any, y: Any = None) -> KMeans:
        """Find the cluster centers of X (n_samples, n_features); ``y`` is ignored. Returns self."""
        return self._fit_classic(X)

    def _check_fit_data(self, X: np.ndarray, y: Any) -> None:
        if is_whole(self.n_clusters) and len(X) < self.n_clusters:  # in the words scikit-learn's checks expect
            raise ValueError(f"n_samples={len(X)} should be >= n_clusters={self.n_clusters}: k-means needs at "
                             "least one row per cluster; pass fewer clusters or more rows.")

    def predict(self, X: Any) -> np.ndarray:
        """The index of the nearest center for each row, shape (n_samples,)."""
        return self._call("predict", X)

    def transform(self, X: Any) -> np.ndarray:
        """The distance from each row to each center, shape (n_samples, n_clusters), float32."""
        return self._call("transform", X)

    def score(self, X: Any, y: Any = None) -> float:
        """Minus the inertia of X under the fitted centers (higher is better)."""
        return self._call("score", X)

    @property
    def _n_features_out(self) -> int:
        return self.cluster_centers_.shape[0]

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]  # distances are computed (and returned) in float32
        return tags


class PCA(ClassNamePrefixFeaturesOutMixin, TransformerMixin, ClassicWrapper):
    """Principal component analysis (:class:`learnable.classic.PCA`, computed with PyTorch in the input's
    dtype as scikit-learn does: float32 stays float32, else float64) with scikit-learn's ``PCA`` parameters.

    Args:
        n_components: None (all), a whole number, or a fraction in (0, 1) of the variance to keep.
        whiten: scale the transformed columns to unit variance.
        svd_solver: "auto", "full", "covariance_eigh" or "randomized" (scikit-learn's "arpack" is not offered).
        iterated_power, n_oversamples: the power iterations and extra sketch columns of "randomized".
        random_state: None, a whole number or a ``RandomState``: seeds the randomized sketch.
        device: "auto" (CUDA when present), "cpu" or "cuda".

    Attributes: ``components_``, ``explained_variance_``, ``explained_variance_ratio_``,
    ``singular_values_``, ``mean_``, ``noise_variance_``, ``n_components_``, ``n_samples_``,
    ``n_features_in_``, ``estimator_`` (the fitted learnable PCA).

    Example:
        >>> from sklearn.datasets import load_iris
        >>> PCA(n_components=2).fit(load_iris().data).explained_variance_ratio_.round(3).tolist()
        [0.925, 0.053]
    """

    classic_class = pca.PCA
    renamed = {"random_state": "seed", "iterated_power": "n_iter"}
    learned = ("components_", "explained_variance_", "explained_variance_ratio_", "singular_values_", "mean_",
               "noise_variance_", "n_components_", "n_samples_")

    def __init__(self, n_components: int | float | None = None, *, whiten: bool = False, svd_solver: str = "auto",
                 iterated_power: int = 4, n_oversamples: int = 10, random_state: Any = None,
                 device: str = "auto") -> None:
        self.n_components, self.whiten, self.svd_solver = n_components, whiten, svd_solver
        self.iterated_power, self.n_oversamples, self.random_state, self.device = (iterated_power, n_oversamples,
                                                                                   random_state, device)

    def fit(self, X: Any, y: Any = None) -> PCA:
        """Learn the components of X (n_samples, n_features); ``y`` is ignored. Returns self."""
        return self._fit_classic(X, ensure_min_samples=2)

    def transform(self, X: Any) -> np.ndarray:
        """Project X onto the components: (n_samples, n_components_), whitened if ``whiten``."""
        return self._call("transform", X)

    def inverse_transform(self, X: Any) -> np.ndarray:
        """Map component scores (n_samples, n_components_) back to the feature space."""
        check_is_fitted(self)
        return self.estimator_.inverse_transform(check_array(X, dtype=FLOATS))

    @property
    def _n_features_out(self) -> int:
        return self.components_.shape[0]


class AgglomerativeClustering(ClusterMixin, ClassicWrapper):
    """Bottom-up clustering (:class:`learnable.classic.AgglomerativeClustering`: SciPy's linkage, cut as
    scikit-learn cuts it) with scikit-learn's parameters; ``estimator_.dendrogram()`` draws the merge tree.

    Attributes: ``labels_``, ``n_clusters_``, ``children_``, ``distances_``, ``n_leaves_``,
    ``linkage_matrix_`` (SciPy's Z), ``n_features_in_``, ``estimator_``.

    Example:
        >>> X = [[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0]]
        >>> AgglomerativeClustering(n_clusters=2).fit_predict(X).tolist()
        [0, 0, 1, 1]
    """

    classic_class = hierarchical.AgglomerativeClustering
    learned = ("labels_", "n_clusters_", "children_", "distances_", "n_leaves_", "linkage_matrix_")

    def __init__(self, n_clusters: int | None = 2, *, metric: str = "euclidean", linkage: str = "ward",
                 distance_threshold: float | None = None, compute_distances: bool = False) -> None:
        self.n_clusters, self.metric, self.linkage = n_clusters, metric, linkage
        self.distance_threshold, self.compute_distances = distance_threshold, compute_distances

    def fit(self, X: Any, y: Any = None) -> AgglomerativeClustering:
        """Build the merge tree of X (n_samples, n_features) and cut it; ``y`` is ignored. Returns self."""
        return self._fit_classic(X, ensure_min_samples=2)
