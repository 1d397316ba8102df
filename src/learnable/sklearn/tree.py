"""scikit-learn decision trees over ``learnable.classic.tree``: scikit-learn grows the tree, learnable keeps it
as plain arrays (``tree_``) and predicts from them, so ``estimator_.save(directory)`` needs no pickle.

Missing values (NaN) in X are accepted, as scikit-learn's trees accept them.

Example:
    >>> from sklearn.datasets import load_iris
    >>> X, y = load_iris(return_X_y=True)
    >>> DecisionTreeClassifier(max_depth=2, random_state=0).fit(X, y).get_depth()
    2
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.utils import Tags
from sklearn.utils.validation import check_is_fitted

from learnable.classic import tree
from learnable.sklearn._adapter import ClassicClassifier, ClassicWrapper

LEARNED = ("tree_", "feature_importances_", "depth_", "n_leaves_")
WITH_NAN = {"ensure_all_finite": "allow-nan"}  # validate_data's option: NaN passes, infinity does not


class DecisionTree(ClassicWrapper):
    """What the two trees share: the settings, ``fit`` with ``sample_weight``, and the tree's own methods."""

    learned = LEARNED

    def __init__(self, *, criterion: str, splitter: str = "best", max_depth: int | None = None,
                 min_samples_split: int | float = 2, min_samples_leaf: int | float = 1,
                 min_weight_fraction_leaf: float = 0.0, max_features: int | float | str | None = None,
                 random_state: Any = None, max_leaf_nodes: int | None = None, min_impurity_decrease: float = 0.0,
                 ccp_alpha: float = 0.0) -> None:
        self.criterion, self.splitter, self.max_depth = criterion, splitter, max_depth
        self.min_samples_split, self.min_samples_leaf = min_samples_split, min_samples_leaf
        self.min_weight_fraction_leaf, self.max_features = min_weight_fraction_leaf, max_features
        self.random_state, self.max_leaf_nodes = random_state, max_leaf_nodes
        self.min_impurity_decrease, self.ccp_alpha = min_impurity_decrease, ccp_alpha

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> DecisionTree:
        """Grow the tree on X (n_samples, n_features) and y (n_samples,); returns self."""
        return self._fit_classic(X, y, sample_weight=sample_weight, **WITH_NAN)

    def apply(self, X: Any) -> np.ndarray:
        """The index of the leaf each row lands in, shape (n_samples,)."""
        return self._call("apply", X, **WITH_NAN)

    def decision_path(self, X: Any) -> Any:
        """A sparse (n_samples, n_nodes) indicator of the nodes each row passes through."""
        return self._call("decision_path", X, **WITH_NAN)

    def get_depth(self) -> int:
        """The depth of the tree."""
        check_is_fitted(self)
        return self.depth_

    def get_n_leaves(self) -> int:
        """The number of leaves."""
        check_is_fitted(self)
        return self.n_leaves_

    def export_text(self, feature_names: list[str] | None = None, **options: Any) -> str:
        """The tree as indented rules, as ``sklearn.tree.export_text`` writes them."""
        check_is_fitted(self)
        return self.estimator_.export_text(feature_names, **options)

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


class DecisionTreeClassifier(ClassicClassifier, DecisionTree):
    """A CART classification tree (:class:`learnable.classic.DecisionTreeClassifier`), scikit-learn's
    parameters (``random_state`` is learnable's ``seed``)."""

    classic_class = tree.DecisionTreeClassifier
    learned = (*LEARNED, "classes_", "n_classes_")

    def __init__(self, *, criterion: str = "gini", splitter: str = "best", max_depth: int | None = None,
                 min_samples_split: int | float = 2, min_samples_leaf: int | float = 1,
                 min_weight_fraction_leaf: float = 0.0, max_features: int | float | str | None = None,
                 random_state: Any = None, max_leaf_nodes: int | None = None, min_impurity_decrease: float = 0.0,
                 class_weight: Any = None, ccp_alpha: float = 0.0) -> None:
        super().__init__(criterion=criterion, splitter=splitter, max_depth=max_depth,
                         min_samples_split=min_samples_split, min_samples_leaf=min_samples_leaf,
                         min_weight_fraction_leaf=min_weight_fraction_leaf, max_features=max_features,
                         random_state=random_state, max_leaf_nodes=max_leaf_nodes,
                         min_impurity_decrease=min_impurity_decrease, ccp_alpha=ccp_alpha)
        self.class_weight = class_weight

    def predict(self, X: Any) -> np.ndarray:
        """The most frequent class in each row's leaf, shape (n_samples,)."""
        return self._call("predict", X, **WITH_NAN)

    def predict_proba(self, X: Any) -> np.ndarray:
        """The class fractions in each row's leaf, shape (n_samples, n_classes)."""
        return self._call("predict_proba", X, **WITH_NAN)


class DecisionTreeRegressor(RegressorMixin, DecisionTree):
    """A CART regression tree (:class:`learnable.classic.DecisionTreeRegressor`), scikit-learn's
    parameters (``random_state`` is learnable's ``seed``)."""

    classic_class = tree.DecisionTreeRegressor

    def __init__(self, *, criterion: str = "squared_error", splitter: str = "best", max_depth: int | None = None,
                 min_samples_split: int | float = 2, min_samples_leaf: int | float = 1,
                 min_weight_fraction_leaf: float = 0.0, max_features: int | float | str | None = None,
                 random_state: Any = None, max_leaf_nodes: int | None = None, min_impurity_decrease: float = 0.0,
                 ccp_alpha: float = 0.0) -> None:
        super().__init__(criterion=criterion, splitter=splitter, max_depth=max_depth,
                         min_samples_split=min_samples_split, min_samples_leaf=min_samples_leaf,
                         min_weight_fraction_leaf=min_weight_fraction_leaf, max_features=max_features,
                         random_state=random_state, max_leaf_nodes=max_leaf_nodes,
                         min_impurity_decrease=min_impurity_decrease, ccp_alpha=ccp_alpha)

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> DecisionTreeRegressor:
        """Grow the tree on X (n_samples, n_features) and real targets y (n_samples,); returns self."""
        return self._fit_classic(X, y, sample_weight=sample_weight, y_numeric=True, **WITH_NAN)

    def predict(self, X: Any) -> np.ndarray:
        """The mean training target of each row's leaf, shape (n_samples,)."""
        return self._call("predict", X, **WITH_NAN)
