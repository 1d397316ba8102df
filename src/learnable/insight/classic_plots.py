"""The 2-D pictures of `learnable cluster` and `learnable reduce`: rows in a plane, coloured by cluster
(centers marked) or by a target column.

The caller projects the rows (``learnable cli classic``: the first two principal components, by
``learnable.classic.PCA``); these functions draw the points they are given, so insight needs nothing of
the estimators. :func:`sample_rows` picks the rows to draw when there are more than PLOT_ROWS.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> points, labels = rng.normal(size=(90, 2)), np.repeat([0, 1, 2], 30)
    >>> centers = np.array([points[labels == k].mean(axis=0) for k in range(3)])
    >>> cluster_figure(points, labels, centers).axes[0].get_title()
    'k-means: 3 clusters (first two principal components)'
"""

from __future__ import annotations

from typing import Any

import numpy as np

from learnable.insight.embedding import plot_embedding

PLOT_ROWS = 20_000  # points drawn in a plot at most (a fixed-seed sample beyond)


def sample_rows(rows: int, seed: int) -> np.ndarray:
    """All row indices, or a sorted fixed-seed sample of PLOT_ROWS of them."""
    if rows <= PLOT_ROWS:
        return np.arange(rows)
    return np.sort(np.random.default_rng(seed).choice(rows, PLOT_ROWS, replace=False))


def cluster_figure(points: np.ndarray, labels: np.ndarray, centers: np.ndarray) -> Any:
    """The clustered rows in 2-D, coloured by cluster, the centers marked.

    Args:
        points: the rows to draw, (N, 2) in the plane of the first two principal components, or (N, 1):
            the one feature of data too narrow for that (drawn against nothing).
        labels: the cluster of each point, (N,).
        centers: the cluster centers in the same coordinates, (K, 2) or (K, 1).
    """
    flat = points.shape[1] < 2
    if flat:  # one feature (or one row): the first feature against nothing
        points = np.column_stack([points[:, 0], np.zeros(len(points))])
        centers = np.column_stack([centers[:, 0], np.zeros(len(centers))])
    title = f"k-means: {len(centers)} clusters" + ("" if flat else " (first two principal components)")
    figure = plot_embedding(points, labels=labels, title=title)
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
