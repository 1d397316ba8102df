"""Classic machine learning in PyTorch (so it runs on a GPU): k-means and PCA, with scikit-learn's
estimator interface and safe save/load (safetensors + JSON, no pickle).

Example:
    >>> from learnable.classic import KMeans, PCA
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(100, 5))
    >>> PCA(2).fit_transform(X).shape
    (100, 2)
    >>> KMeans(3, n_init=1).fit(X).cluster_centers_.shape
    (3, 5)
"""

from learnable.classic.kmeans import KMeans
from learnable.classic.pca import PCA

__all__ = ["PCA", "KMeans"]
