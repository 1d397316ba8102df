"""Decision trees (CART) for classification and regression: scikit-learn grows them, plain arrays keep them.

:class:`DecisionTreeClassifier` and :class:`DecisionTreeRegressor` take scikit-learn's settings (with
``seed`` for ``random_state``) and let scikit-learn grow the tree. The fitted tree is then copied into
:class:`TreeArrays`, a few NumPy arrays with one entry per node, and everything after ``fit`` is
computed from those arrays: all rows walk down the tree together, one level per step, so a tree
loaded from disk needs neither scikit-learn nor pickle. Predictions equal scikit-learn's bit for bit.

Missing values (NaN) are supported as scikit-learn supports them: the splitter learns, at each node,
whether rows missing that feature go left or right (``missing_go_to_left``), and prediction follows
it. Infinite values are refused.

Example:
    >>> from sklearn.datasets import load_iris
    >>> X, y = load_iris(return_X_y=True)
    >>> tree = DecisionTreeClassifier(max_depth=2).fit(X, y)
    >>> tree.get_depth(), tree.get_n_leaves()
    (2, 3)
    >>> print(tree.export_text(["sepal length", "sepal width", "petal length", "petal width"]))
    |--- petal width <= 0.80
    |   |--- class: 0
    |--- petal width >  0.80
    |   |--- petal width <= 1.75
    |   |   |--- class: 1
    |   |--- petal width >  1.75
    |   |   |--- class: 2
    <BLANKLINE>
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.sparse import csr_matrix

from learnable.classic.targets import as_array, r2_score
from learnable.classic.tree_arrays import LEAF, TreeArrays
from learnable.classic.tree_inputs import RULES, tree_rows
from learnable.data.labels import labels_array, labels_dtype
from learnable.model_file import load_state, save_tensors
from learnable.utils.params import Params
from learnable.utils.validation import quote


# ---- the estimators -----------------------------------------------------------------------------
class DecisionTree(Params):
    """What the classifier and the regressor share: settings, fitting, walking the arrays, saving.

    ``DecisionTree.load(directory)`` returns whichever of the two was saved there.
    """

    kind = "decision_tree"  # its model.json entry (learnable.model_file.KINDS); "task" says which tree
    TASK = ""
    CRITERIA: tuple[str, ...] = ()

    def __init__(self, *, criterion: str, splitter: str = "best", max_depth: int | None = None,
                 min_samples_split: int | float = 2, min_samples_leaf: int | float = 1,
                 min_weight_fraction_leaf: float = 0.0, max_features: int | float | str | None = None,
                 max_leaf_nodes: int | None = None, min_impurity_decrease: float = 0.0, ccp_alpha: float = 0.0,
                 seed: int = 0) -> None:
        self.criterion, self.splitter, self.max_depth = criterion, splitter, max_depth
        self.min_samples_split, self.min_samples_leaf = min_samples_split, min_samples_leaf
        self.min_weight_fraction_leaf, self.max_features = min_weight_fraction_leaf, max_features
        self.max_leaf_nodes, self.min_impurity_decrease = max_leaf_nodes, min_impurity_decrease
        self.ccp_alpha, self.seed = ccp_alpha, seed

    # ---- fitting ----------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> DecisionTree:
        """Grow the tree on rows X (N, features) and targets y (N,) with scikit-learn; keep it as arrays."""
        self._check_settings()
        rows = tree_rows(X)
        target = self._target(y, len(rows))
        grown = self._sklearn_tree().fit(rows, target, sample_weight=sample_weight)
        self._learn(TreeArrays.from_sklearn(grown.tree_), grown.n_features_in_, getattr(grown, "classes_", None))
        return self

    def _sklearn_tree(self) -> Any:
        raise NotImplementedError

    def _sklearn_settings(self) -> dict[str, Any]:
        settings = self.get_params()
        seed = settings.pop("seed")
        return {**settings, "random_state": seed}

    def _target(self, y: Any, n_rows: int) -> np.ndarray:
        target = as_array(y)
        target = target[:, 0] if target.ndim == 2 and target.shape[1] == 1 else target
        if target.ndim != 1:
            raise ValueError(f"y has shape {target.shape}; expected one target per row, shape ({n_rows},). "
                             "These trees predict a single target column.")
        if len(target) != n_rows:
            raise ValueError(f"y has {len(target)} values but X has {n_rows} rows; pass one target per row.")
        return target

    def _learn(self, tree: TreeArrays, n_features: int, classes: np.ndarray | None) -> None:
        self.tree_, self.n_features_in_ = tree, int(n_features)
        if classes is not None:
            self.classes_, self.n_classes_ = classes, len(classes)
        self.feature_importances_ = tree.feature_importances(self.n_features_in_)
        self.depth_ = int(tree.depths().max())
        self.n_leaves_ = int((tree.children_left == LEAF).sum())

    # ---- using the fitted tree --------------------------------------------------------------------
    def apply(self, X: Any) -> np.ndarray:
        """The index of the leaf each row lands in, shape (N,) int64."""
        rows = self._inputs(X)  # (N, F), after checking the tree is fitted
        return self.tree_.apply(rows)

    def decision_path(self, X: Any) -> csr_matrix:
        """A sparse (N, nodes) indicator: entry (i, j) is 1 when row i passes through node j."""
        rows = self._inputs(X)
        steps = [(np.arange(len(rows)), np.zeros(len(rows), dtype=np.int64)), *self.tree_.walk(rows)]
        row_ids, node_ids = (np.concatenate(parts) for parts in zip(*steps, strict=True))
        ones = np.ones(len(row_ids), dtype=np.int64)
        return csr_matrix((ones, (row_ids, node_ids)), shape=(len(rows), self.tree_.node_count))

    def get_depth(self) -> int:
        """The depth of the tree: the most splits from the root to a leaf."""
        self._check_fitted()
        return self.depth_

    def get_n_leaves(self) -> int:
        """The number of leaves."""
        self._check_fitted()
        return self.n_leaves_

    def _leaf_values(self, X: Any) -> np.ndarray:
        leaves = self.apply(X)  # (N,)
        return self.tree_.value[leaves, 0]  # (N, classes)

    def _check_fitted(self) -> None:
        if not hasattr(self, "tree_"):
            name = type(self).__name__
            raise ValueError(f"this {name} is not fitted yet; call fit(X, y) first, or {name}.load(directory).")

    def _inputs(self, X: Any) -> np.ndarray:
        self._check_fitted()
        rows = tree_rows(X)
        if rows.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {rows.shape[1]} features, but this {type(self).__name__} was fitted on "
                             f"{self.n_features_in_}; pass rows with the same features as the training data.")
        return rows

    # ---- a text view ------------------------------------------------------------------------------
    def export_text(self, feature_names: list[str] | None = None, *, max_depth: int = 10, decimals: int = 2,
                    show_weights: bool = False) -> str:
        """The tree as indented rules, exactly as ``sklearn.tree.export_text`` writes it (spacing 3)."""
        self._check_fitted()
        if feature_names is not None and len(feature_names) != self.n_features_in_:
            raise ValueError(f"feature_names has {len(feature_names)} names, but the tree has "
                             f"{self.n_features_in_} features; pass one name per feature, or None.")
        names = list(feature_names) if feature_names is not None else [f"feature_{i}" for i in
                                                                        range(self.n_features_in_)]
        lines: list[str] = []
        self._write_node(lines, 0, 1, names, (max_depth, decimals, show_weights))
        return "".join(lines)

    def _write_node(self, lines: list[str], node: int, depth: int, names: list[str],
                    options: tuple[int, int, bool]) -> None:
        max_depth, decimals, _ = options
        indent = ("|   " * depth)[:-3] + "---"
        tree = self.tree_
        if depth > max_depth + 1:
            below = sum(1 for _ in tree.levels(node))  # levels under node, node included (as scikit-learn)
            if below > 1:
                lines.append(f"{indent} truncated branch of depth {below}\n")
                return
        if tree.children_left[node] == LEAF:
            lines.append(indent + self._leaf_text(node, decimals, options[2]) + "\n")
            return
        name, threshold = names[tree.feature[node]], f"{tree.threshold[node]:.{decimals}f}"
        lines.append(f"{indent} {name} <= {threshold}\n")
        self._write_node(lines, int(tree.children_left[node]), depth + 1, names, options)
        lines.append(f"{indent} {name} >  {threshold}\n")
        self._write_node(lines, int(tree.children_right[node]), depth + 1, names, options)

    def _leaf_text(self, node: int, decimals: int, show_weights: bool) -> str:
        raise NotImplementedError

    # ---- saving -----------------------------------------------------------------------------------
    def save(self, directory: str | Path) -> Path:
        """Write the tree arrays (model.safetensors) and settings (model.json) atomically; nothing is pickled."""
        if not hasattr(self, "tree_"):
            raise ValueError(f"this {type(self).__name__} is not fitted yet, so there is nothing to save; "
                             "call fit first.")
        tensors = {field.name: torch.from_numpy(np.ascontiguousarray(getattr(self.tree_, field.name)))
                   for field in fields(TreeArrays)}
        return save_tensors(directory, tensors, {self.kind: self._state()})

    def _state(self) -> dict[str, Any]:
        """What model.json keeps besides the arrays."""
        return {"task": self.TASK, "settings": self.get_params(), "n_features_in": self.n_features_in_}

    @classmethod
    def load(cls, directory: str | Path) -> DecisionTree:
        """Load a tree written by :meth:`save` (JSON and raw arrays; nothing is unpickled). On
        ``DecisionTree`` itself, returns the classifier or regressor that was saved."""
        tensors, state = load_state(directory, cls.kind, "a decision tree", expect=_layout)
        saved = {c.TASK: c for c in (DecisionTreeClassifier, DecisionTreeRegressor)}.get(state.get("task"))
        if saved is None or not issubclass(saved, cls):
            raise ValueError(f"'{directory}' holds a {state.get('task')} tree, not a {cls.__name__}; load it with "
                             "DecisionTree.load(directory), which returns whichever tree was saved.")
        try:
            model = saved._from_json(state)
            tree = TreeArrays(**{f.name: tensors[f.name].numpy() for f in fields(TreeArrays)})
            classes = getattr(model, "classes_", None)
            tree.check(model.n_features_in_, 1 if classes is None else len(classes))
            model._learn(tree, model.n_features_in_, classes)
        except (KeyError, TypeError, ValueError, IndexError) as error:
            raise ValueError(f"'{directory}' has a damaged {saved.__name__}: {quote(str(error))}") from None
        return model

    @classmethod
    def _from_json(cls, state: dict[str, Any]) -> DecisionTree:
        model = cls(**state["settings"])
        model.n_features_in_ = int(state["n_features_in"])
        return model

    # ---- checks before fitting --------------------------------------------------------------------
    def _check_settings(self) -> None:
        if self.criterion not in self.CRITERIA:
            raise ValueError(f"criterion={self.criterion!r} is not known for a {type(self).__name__}; choose one of "
                             f"{list(self.CRITERIA)}.")
        for name, (accepts, expected, example) in RULES.items():
            value = getattr(self, name)
            if not accepts(value):
                raise ValueError(f"{name}={value!r} must be {expected}, for example {name}={example}.")



def _layout(state: dict[str, Any]) -> dict[str, tuple[str, tuple]]:
    """The arrays a saved tree holds, one entry per node; ``value`` has one column per class (1 for regression)."""
    values = len(state["classes"]) if state.get("task") == "classification" else 1
    floats = ("threshold", "impurity", "weighted_n_node_samples")
    layout = {f.name: ("float" if f.name in floats else "int", ("nodes",)) for f in fields(TreeArrays)}
    return {**layout, "value": ("float", ("nodes", 1, values))}


class DecisionTreeClassifier(DecisionTree):
    """A CART classification tree: scikit-learn's ``DecisionTreeClassifier``, kept as arrays.

    Args:
        criterion: the impurity a split lowers: "gini", "entropy" or "log_loss" (the same as "entropy").
        splitter: "best" (the best split of each feature tried) or "random" (the best of random thresholds).
        max_depth: None (grow until leaves are pure or too small) or the most splits from root to leaf.
        min_samples_split, min_samples_leaf: the fewest rows (a count, or a fraction of all rows) a node
            needs to be split, and each leaf must keep.
        min_weight_fraction_leaf: the smallest fraction of the total sample weight in a leaf.
        max_features: the features tried at each split: None (all), "sqrt", "log2", a count or a fraction.
        max_leaf_nodes: None or the most leaves (then grown best-first).
        min_impurity_decrease: split only when the weighted impurity falls by at least this.
        ccp_alpha: minimal cost-complexity pruning strength (0: no pruning).
        class_weight: None, "balanced", or {label: weight}.
        seed: scikit-learn's ``random_state``; the same seed grows the same tree.

    Attributes (after ``fit``): ``tree_`` (:class:`TreeArrays`), ``classes_``, ``n_classes_``,
    ``n_features_in_``, ``feature_importances_``, ``depth_``, ``n_leaves_``.

    Example:
        >>> X, y = [[0.0], [1.0], [2.0], [3.0]], ["no", "no", "yes", "yes"]
        >>> DecisionTreeClassifier().fit(X, y).predict([[0.5], [2.5]]).tolist()
        ['no', 'yes']
    """

    TASK = "classification"
    CRITERIA = ("gini", "entropy", "log_loss")

    def __init__(self, *, criterion: str = "gini", splitter: str = "best", max_depth: int | None = None,
                 min_samples_split: int | float = 2, min_samples_leaf: int | float = 1,
                 min_weight_fraction_leaf: float = 0.0, max_features: int | float | str | None = None,
                 max_leaf_nodes: int | None = None, min_impurity_decrease: float = 0.0, ccp_alpha: float = 0.0,
                 class_weight: dict[Any, float] | str | None = None, seed: int = 0) -> None:
        super().__init__(criterion=criterion, splitter=splitter, max_depth=max_depth,
                         min_samples_split=min_samples_split, min_samples_leaf=min_samples_leaf,
                         min_weight_fraction_leaf=min_weight_fraction_leaf, max_features=max_features,
                         max_leaf_nodes=max_leaf_nodes, min_impurity_decrease=min_impurity_decrease,
                         ccp_alpha=ccp_alpha, seed=seed)
        self.class_weight = class_weight

    def _sklearn_tree(self) -> Any:
        from sklearn.tree import DecisionTreeClassifier as SklearnTree

        return SklearnTree(**self._sklearn_settings())

    def _target(self, y: Any, n_rows: int) -> np.ndarray:
        target = super()._target(y, n_rows)
        labels_dtype(target)  # refuses labels a saved tree could not hold (bytes, dates), before it grows
        return target

    def predict_proba(self, X: Any) -> np.ndarray:
        """The fraction of training rows of each class in each row's leaf, shape (N, n_classes)."""
        return self._leaf_values(X)

    def predict(self, X: Any) -> np.ndarray:
        """The most frequent class in each row's leaf, shape (N,), with the labels of ``classes_``."""
        proba = self.predict_proba(X)  # (N, n_classes)
        return self.classes_.take(np.argmax(proba, axis=1))

    def score(self, X: Any, y: Any) -> float:
        """The accuracy on X, y (as scikit-learn's ``score``)."""
        predicted = self.predict(X)
        return float(np.mean(predicted == self._target(y, len(predicted))))

    def _leaf_text(self, node: int, decimals: int, show_weights: bool) -> str:
        value = self.tree_.value[node, 0]
        text = f" class: {self.classes_[np.argmax(value)]}"
        if not show_weights:
            return text
        weights = ", ".join(f"{v * self.tree_.weighted_n_node_samples[node]:.{decimals}f}" for v in value)
        return f" weights: [{weights}]" + text

    def _check_settings(self) -> None:
        super()._check_settings()
        if not (self.class_weight in (None, "balanced") or isinstance(self.class_weight, dict)):
            raise ValueError(f"class_weight={self.class_weight!r} must be None, 'balanced' or a dict "
                             "{label: weight}, for example class_weight='balanced'.")

    def _state(self) -> dict[str, Any]:
        state = super()._state()
        if isinstance(self.class_weight, dict):  # JSON keys are strings: keep the labels' types in pairs
            state["settings"]["class_weight"] = {"pairs": [list(pair) for pair in self.class_weight.items()]}
        return {**state, "classes": self.classes_.tolist(), "classes_dtype": self.classes_.dtype.str}

    @classmethod
    def _from_json(cls, state: dict[str, Any]) -> DecisionTree:
        settings = dict(state["settings"])
        classes = labels_array(state["classes"], state["classes_dtype"])
        if isinstance(settings.get("class_weight"), dict):
            settings["class_weight"] = {_hashable(label): weight for label, weight in settings["class_weight"]["pairs"]}
        model = cls(**settings)
        model.n_features_in_ = int(state["n_features_in"])
        model.classes_ = classes
        return model


class DecisionTreeRegressor(DecisionTree):
    """A CART regression tree: scikit-learn's ``DecisionTreeRegressor``, kept as arrays.

    Args: as :class:`DecisionTreeClassifier` (without ``class_weight``); ``criterion`` is one of
    "squared_error" (the default), "absolute_error" or "poisson" (scikit-learn
    deprecates "friedman_mse", the same as "squared_error").

    Attributes (after ``fit``): ``tree_`` (:class:`TreeArrays`, ``value`` holding each node's mean target),
    ``n_features_in_``, ``feature_importances_``, ``depth_``, ``n_leaves_``.

    Example:
        >>> X, y = [[0.0], [1.0], [2.0], [3.0]], [1.0, 1.0, 5.0, 5.0]
        >>> DecisionTreeRegressor(max_depth=1).fit(X, y).predict([[0.2], [2.7]]).tolist()
        [1.0, 5.0]
    """

    TASK = "regression"
    CRITERIA = ("squared_error", "absolute_error", "poisson")

    def __init__(self, *, criterion: str = "squared_error", splitter: str = "best", max_depth: int | None = None,
                 min_samples_split: int | float = 2, min_samples_leaf: int | float = 1,
                 min_weight_fraction_leaf: float = 0.0, max_features: int | float | str | None = None,
                 max_leaf_nodes: int | None = None, min_impurity_decrease: float = 0.0, ccp_alpha: float = 0.0,
                 seed: int = 0) -> None:
        super().__init__(criterion=criterion, splitter=splitter, max_depth=max_depth,
                         min_samples_split=min_samples_split, min_samples_leaf=min_samples_leaf,
                         min_weight_fraction_leaf=min_weight_fraction_leaf, max_features=max_features,
                         max_leaf_nodes=max_leaf_nodes, min_impurity_decrease=min_impurity_decrease,
                         ccp_alpha=ccp_alpha, seed=seed)

    def _sklearn_tree(self) -> Any:
        from sklearn.tree import DecisionTreeRegressor as SklearnTree

        return SklearnTree(**self._sklearn_settings())

    def _target(self, y: Any, n_rows: int) -> np.ndarray:
        target = super()._target(y, n_rows)
        if target.dtype.kind not in "biuf" or not np.isfinite(target.astype(np.float64)).all():
            raise ValueError("y must hold finite numbers for a DecisionTreeRegressor (no NaN, infinity or text); "
                             "drop those rows, or use DecisionTreeClassifier for labels.")
        return target.astype(np.float64)

    def predict(self, X: Any) -> np.ndarray:
        """The mean training target of each row's leaf, shape (N,) float64."""
        return self._leaf_values(X)[:, 0]

    def score(self, X: Any, y: Any) -> float:
        """The coefficient of determination R2 on X, y (as scikit-learn's ``score``: 1.0 for a perfect fit,
        0.0 when y is constant and the fit is not perfect)."""
        predicted = self.predict(X)
        return r2_score(self._target(y, len(predicted)), predicted)

    def _leaf_text(self, node: int, decimals: int, show_weights: bool) -> str:
        return f" value: [{self.tree_.value[node, 0, 0]:.{decimals}f}]"


def _hashable(label: Any) -> Any:
    """A label read back from JSON, usable as a dict key (JSON has no tuples)."""
    return tuple(label) if isinstance(label, list) else label
