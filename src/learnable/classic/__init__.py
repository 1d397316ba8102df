"""Classic machine learning with scikit-learn's estimator interface and safe save/load (safetensors +
JSON, no pickle). In PyTorch, so they run on a GPU: k-means, PCA, linear and ridge/lasso regression,
logistic regression and the linear SVM. Grown by scikit-learn / SciPy and kept as plain arrays:
decision trees (CART) and agglomerative (hierarchical) clustering.

Example:
    >>> from learnable.classic import KMeans, PCA
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(100, 5))
    >>> PCA(2).fit_transform(X).shape
    (100, 2)
    >>> KMeans(3, n_init=1).fit(X).cluster_centers_.shape
    (3, 5)
"""

from learnable.classic.hierarchical import AgglomerativeClustering
from learnable.classic.kmeans import KMeans
from learnable.classic.linear import Lasso, LinearRegression, Ridge
from learnable.classic.linear_classifiers import LinearSVC, LogisticRegression
from learnable.classic.pca import PCA
from learnable.classic.tree import DecisionTree, DecisionTreeClassifier, DecisionTreeRegressor
from learnable.classic.tree_arrays import TreeArrays

__all__ = [
    "PCA",
    "AgglomerativeClustering",
    "DecisionTree",
    "DecisionTreeClassifier",
    "DecisionTreeRegressor",
    "KMeans",
    "Lasso",
    "LinearRegression",
    "LinearSVC",
    "LogisticRegression",
    "Ridge",
    "TreeArrays",
]
