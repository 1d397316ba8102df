"""A fitted decision tree as plain NumPy arrays (scikit-learn's ``tree_`` layout), and prediction from them.

:class:`TreeArrays` is what :mod:`learnable.classic.tree` keeps after scikit-learn grows a tree: one
entry per node. Rows walk down it together, one level per step, so a tree loaded from safetensors
predicts without scikit-learn and without pickle.

Example:
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> arrays = TreeArrays.from_sklearn(DecisionTreeClassifier(max_depth=2).fit(X, y).tree_)
    >>> arrays.node_count, arrays.apply(X[:3].astype("float32")).tolist()
    (5, [1, 1, 1])
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

LEAF = -1  # scikit-learn's child index of a leaf


@dataclass
class TreeArrays:
    """A fitted binary tree, one entry per node (scikit-learn's ``tree_`` layout, node 0 the root).

    ``children_left``/``children_right`` (nodes,) hold child indices (-1 at leaves); an inner node sends a
    row left when ``X[row, feature] <= threshold`` (or, for NaN, when ``missing_go_to_left``). ``value``
    (nodes, 1, classes) holds class fractions (classifier) or the mean target (regressor, classes = 1).
    """

    children_left: np.ndarray
    children_right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    value: np.ndarray
    impurity: np.ndarray
    n_node_samples: np.ndarray
    weighted_n_node_samples: np.ndarray
    missing_go_to_left: np.ndarray

    @classmethod
    def from_sklearn(cls, tree: Any) -> TreeArrays:
        """Copy scikit-learn's ``Tree`` object into plain arrays."""
        return cls(**{field.name: np.array(getattr(tree, field.name)) for field in fields(cls)})

    @property
    def node_count(self) -> int:
        return len(self.children_left)

    def walk(self, X: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Move all rows of X (N, F) float32 down together, one level per step; after each step yield the
        rows that moved and the nodes they reached. The loop runs over depth, never over rows."""
        node = np.zeros(len(X), dtype=np.int64)  # (N,) every row starts at the root
        moving = np.arange(len(X))
        while moving.size:
            at = node[moving]
            inner = self.children_left[at] != LEAF
            moving, at = moving[inner], at[inner]
            values = X[moving, self.feature[at]]  # float32, compared in float64 like scikit-learn's C code
            left = (values <= self.threshold[at]) | (np.isnan(values) & self.missing_go_to_left[at].astype(bool))
            node[moving] = np.where(left, self.children_left[at], self.children_right[at])
            yield moving, node[moving]

    def apply(self, X: np.ndarray) -> np.ndarray:
        """The leaf each row of X (N, F) lands in, shape (N,) int64."""
        leaves = np.zeros(len(X), dtype=np.int64)
        for rows, nodes in self.walk(X):
            leaves[rows] = nodes
        return leaves

    def levels(self, top: int = 0) -> Iterator[np.ndarray]:
        """The nodes of the subtree under ``top``, one level (array of node indices) at a time."""
        level = np.array([top])
        while level.size:
            yield level
            level = level[self.children_left[level] != LEAF]
            level = np.concatenate([self.children_left[level], self.children_right[level]])

    def depths(self) -> np.ndarray:
        """The depth of every node (root 0)."""
        depth = np.zeros(self.node_count, dtype=np.int64)
        for step, level in enumerate(self.levels()):
            depth[level] = step
        return depth

    def feature_importances(self, n_features: int) -> np.ndarray:
        """Mean decrease in impurity per feature, normalised to sum 1 (scikit-learn's sums, in its order)."""
        inner = np.flatnonzero(self.children_left != LEAF)
        left, right = self.children_left[inner], self.children_right[inner]
        weight, impurity = self.weighted_n_node_samples, self.impurity
        decrease = weight[inner] * impurity[inner] - weight[left] * impurity[left] - weight[right] * impurity[right]
        importances = np.zeros(n_features)
        np.add.at(importances, self.feature[inner], decrease)  # node by node, as scikit-learn adds them
        importances /= weight[0]
        total = np.sum(importances)
        return importances / total if total > 0 else importances

    def check(self, n_features: int, n_values: int) -> None:
        """Raise ValueError unless these arrays form a tree over ``n_features`` features, with ``n_values``
        values (classes, or 1 for regression) per node: a damaged file."""
        count, left, right = self.node_count, self.children_left, self.children_right
        if any(len(getattr(self, field.name)) != count for field in fields(self)) or count == 0:
            raise ValueError("the tree arrays have different lengths")
        if self.value.shape != (count, 1, n_values):
            raise ValueError(f"value has shape {tuple(self.value.shape)}, expected ({count}, 1, {n_values})")
        inner = np.flatnonzero(left != LEAF)
        if ((right[left == LEAF] != LEAF).any() or (left[inner] <= inner).any() or (right[inner] <= inner).any()
                or (left[inner] >= count).any() or (right[inner] >= count).any()):
            raise ValueError("a child index points outside the tree or back up it")
        if ((self.feature[inner] < 0) | (self.feature[inner] >= n_features)).any():
            raise ValueError(f"a split uses a feature outside 0..{n_features - 1}")
