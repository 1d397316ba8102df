"""The 2-D pictures of `learnable cluster` and `learnable reduce`: rows in the plane of their first two
principal components, coloured by cluster (centers marked) or by a target column.

Example:
    >>> from sklearn.datasets import load_iris
    >>> from learnable.classic import PCA, KMeans
    >>> X = load_iris().data
    >>> figure = cluster_figure(X, KMeans(3).fit(X), seed=0)
    >>> figure.axes[0].get_title()
    'k-means: 3 clusters (first two principal components)'
"""

from __future__ import annotations

from typing import Any

import numpy as np

from learnable.classic import PCA
from learnable.insight.embedding import plot_embedding

PLOT_ROWS = 20_000  # points drawn in a plot at most (a fixed-seed sample beyond)


def sample_rows(rows: int, seed: int) -> np.ndarray:
    """All row indices, or a sorted fixed-seed sample of PLOT_ROWS of them."""
    if rows <= PLOT_ROWS:
        return np.arange(rows)
    return np.sort(np.random.default_rng(seed).choice(rows, PLOT_ROWS, replace=False))


def cluster_figure(X: np.ndarray, model: Any, seed: int) -> Any:
    """The rows in 2-D (PCA of the clustered features), coloured by cluster, the centers marked."""
    rows, flat = sample_rows(len(X), seed), min(X.shape) < 2
    if flat:  # one feature (or one row): the first feature against nothing
        points = np.column_stack([X[rows, 0], np.zeros(len(rows))])
        centers = np.column_stack([model.cluster_centers_[:, 0], np.zeros(model.n_clusters)])
    else:
        pca = PCA(2, seed=seed).fit(X)
        points, centers = pca.transform(X[rows]), pca.transform(model.cluster_centers_.astype(np.float64))
    title = f"k-means: {model.n_clusters} clusters" + ("" if flat else " (first two principal components)")
    figure = plot_embedding(points, labels=model.labels_[rows], title=title)
    axes = figure.axes[0]
    axes.scatter(centers[:, 0], centers[:, 1], marker="X", s=160, c="black", edgecolors="white", label="centers")
    if axes.get_legend() is not None:  # one entry per cluster, and the centers
        axes.legend(fontsize=8, title="cluster")
    axes.set(xlabel="feature 1" if flat else "component 1", ylabel="" if flat else "component 2")
    return figure


def reduce_figure(points: np.ndarray, labels: np.ndarray | None, target: str | None, name: str, seed: int) -> Any:
    """The first two components of every row (a sample beyond PLOT_ROWS), coloured by ``labels`` (the
    column ``target``) if given; ``name`` names the data in the title."""
    rows = sample_rows(len(points), seed)
    labels = None if labels is None else labels[rows]
    coloured = f", coloured by '{target}'" if target else ""
    figure = plot_embedding(points[rows, :2], labels=labels, title=f"PCA of {name}{coloured}")
    figure.axes[0].set(xlabel="component 1", ylabel="component 2")
    if figure.axes[0].get_legend() is not None:
        figure.axes[0].get_legend().set_title(target)
    elif target and len(figure.axes) > 1:  # many numeric labels: a colour bar
        figure.axes[1].set_ylabel(target)
    return figure
