"""Decision trees against scikit-learn: the same predictions from plain arrays, before and after save/load."""

import json
import sys

import numpy as np
import pytest
import torch
from sklearn import datasets
from sklearn import tree as sklearn_tree

from learnable.classic.tree import DecisionTree, DecisionTreeClassifier, DecisionTreeRegressor, TreeArrays

SETTINGS = [{}, {"max_depth": 3}, {"criterion": "entropy", "min_samples_leaf": 3}, {"max_features": "sqrt"},
            {"splitter": "random"}, {"ccp_alpha": 0.01}, {"max_leaf_nodes": 10, "class_weight": "balanced"}]


def _load(name):
    return getattr(datasets, f"load_{name}")(return_X_y=True)


def _same_tree(ours, reference, X):
    """Our tree, walked from its arrays, gives exactly scikit-learn's answers."""
    np.testing.assert_array_equal(ours.predict(X), reference.predict(X))
    np.testing.assert_array_equal(ours.apply(X), reference.apply(X))
    np.testing.assert_array_equal(ours.feature_importances_, reference.feature_importances_)
    assert (ours.get_depth(), ours.get_n_leaves()) == (reference.get_depth(), reference.get_n_leaves())
    if hasattr(reference, "predict_proba"):
        np.testing.assert_array_equal(ours.predict_proba(X), reference.predict_proba(X))
        np.testing.assert_array_equal(ours.classes_, reference.classes_)


@pytest.mark.parametrize("name", ["iris", "wine", "breast_cancer", "digits"])
def test_classifier_equals_sklearn_before_and_after_save(name, tmp_path):
    X, y = _load(name)
    for index, settings in enumerate(SETTINGS):
        reference = sklearn_tree.DecisionTreeClassifier(random_state=0, **settings).fit(X, y)
        ours = DecisionTreeClassifier(seed=0, **settings).fit(X, y)
        _same_tree(ours, reference, X)
        loaded = DecisionTreeClassifier.load(ours.save(tmp_path / f"tree{index}"))
        _same_tree(loaded, reference, X)
        assert loaded.get_params() == ours.get_params()


@pytest.mark.parametrize("settings", [{}, {"max_depth": 4}, {"criterion": "absolute_error", "max_depth": 3},
                                      {"criterion": "poisson", "min_samples_leaf": 5}, {"splitter": "random"}])
def test_regressor_equals_sklearn_on_diabetes(settings, tmp_path):
    X, y = _load("diabetes")
    reference = sklearn_tree.DecisionTreeRegressor(random_state=0, **settings).fit(X, y)
    ours = DecisionTreeRegressor(**settings).fit(X, y)
    _same_tree(ours, reference, X)
    assert ours.score(X, y) == reference.score(X, y)
    loaded = DecisionTree.load(ours.save(tmp_path / "tree"))
    assert isinstance(loaded, DecisionTreeRegressor)
    _same_tree(loaded, reference, X)


def test_max_depth_3_on_iris_has_sklearns_accuracy():
    X, y = _load("iris")
    reference = sklearn_tree.DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, y)
    ours = DecisionTreeClassifier(max_depth=3).fit(X, y)
    assert ours.score(X, y) == reference.score(X, y) == pytest.approx(0.9733, abs=1e-4)
    assert ours.get_depth() == 3


def test_seed_is_random_state():
    X, y = _load("wine")
    for seed in (1, 7):
        reference = sklearn_tree.DecisionTreeClassifier(max_features=2, random_state=seed).fit(X, y)
        np.testing.assert_array_equal(DecisionTreeClassifier(max_features=2, seed=seed).fit(X, y).apply(X),
                                      reference.apply(X))


def test_decision_path_equals_sklearn():
    X, y = _load("wine")
    reference = sklearn_tree.DecisionTreeClassifier(random_state=0).fit(X, y)
    ours = DecisionTreeClassifier().fit(X, y).decision_path(X)
    np.testing.assert_array_equal(ours.toarray(), reference.decision_path(X).toarray())


def test_labels_keep_their_type_through_save(tmp_path):
    X, y = _load("iris")
    for labels in (np.array(["setosa", "versicolor", "virginica"])[y], y + 10, y == 2):
        weights = {labels[0]: 2.0, labels[-1]: 0.5}
        reference = sklearn_tree.DecisionTreeClassifier(random_state=0, class_weight=weights).fit(X, labels)
        ours = DecisionTreeClassifier(class_weight=weights).fit(X, labels)
        loaded = DecisionTree.load(ours.save(tmp_path / "tree"))
        assert loaded.classes_.dtype == reference.classes_.dtype
        assert loaded.class_weight == weights
        np.testing.assert_array_equal(loaded.predict(X), reference.predict(X))


def test_missing_values_follow_sklearn():
    X, y = _load("breast_cancer")
    X = X.copy()
    X[np.random.default_rng(0).random(X.shape) < 0.1] = np.nan  # missing in training
    test = X.copy()
    test[:, 0] = np.nan  # and at prediction
    for splitter in ("best", "random"):
        reference = sklearn_tree.DecisionTreeClassifier(splitter=splitter, random_state=0).fit(X, y)
        ours = DecisionTreeClassifier(splitter=splitter).fit(X, y)
        np.testing.assert_array_equal(ours.predict_proba(test), reference.predict_proba(test))
        assert ours.tree_.missing_go_to_left.any()


def test_missing_values_only_at_prediction():
    X, y = _load("iris")
    test = X.copy()
    test[::3, 2], test[1::3, 3] = np.nan, np.nan
    reference = sklearn_tree.DecisionTreeClassifier(random_state=0).fit(X, y)
    np.testing.assert_array_equal(DecisionTreeClassifier().fit(X, y).predict_proba(test), reference.predict_proba(test))


@pytest.mark.parametrize("show_weights", [False, True])
def test_export_text_equals_sklearn(show_weights):
    X, y = _load("iris")
    names = list(datasets.load_iris().feature_names)
    reference = sklearn_tree.DecisionTreeClassifier(random_state=0).fit(X, y)
    ours = DecisionTreeClassifier().fit(X, y)
    for depth in (1, 3, 10):
        expected = sklearn_tree.export_text(reference, feature_names=names, max_depth=depth, show_weights=show_weights)
        assert ours.export_text(names, max_depth=depth, show_weights=show_weights) == expected
    X, y = _load("diabetes")
    regressor = sklearn_tree.DecisionTreeRegressor(max_depth=4, random_state=0).fit(X, y)
    ours = DecisionTreeRegressor(max_depth=4).fit(X, y)
    assert ours.export_text(max_depth=2, decimals=3) == sklearn_tree.export_text(regressor, max_depth=2, decimals=3)


def test_inputs_as_tensor_and_dataframe():
    import pandas as pd

    X, y = _load("wine")
    reference = sklearn_tree.DecisionTreeClassifier(random_state=0).fit(X, y).predict(X)
    ours = DecisionTreeClassifier().fit(pd.DataFrame(X), pd.Series(y))
    np.testing.assert_array_equal(ours.predict(torch.from_numpy(X)), reference)


def test_tree_arrays_are_plain_numpy():
    X, y = _load("iris")
    tree = DecisionTreeClassifier(max_depth=2).fit(X, y).tree_
    assert isinstance(tree, TreeArrays) and tree.node_count == 5
    assert tree.value.shape == (5, 1, 3) and tree.children_left.tolist() == [1, -1, 3, -1, -1]


# ---- user mistakes ------------------------------------------------------------------------------
@pytest.mark.parametrize(("settings", "message"), [
    ({"max_depth": 0}, "max_depth=0 must be None or a whole number >= 1"),
    ({"criterion": "gain"}, "criterion='gain' is not known"),
    ({"criterion": "squared_error"}, "criterion='squared_error' is not known for a DecisionTreeClassifier"),
    ({"min_samples_split": 1}, "min_samples_split=1 must be"),
    ({"min_samples_leaf": 1.5}, "min_samples_leaf=1.5 must be"),
    ({"max_features": "all"}, "max_features='all' must be"),
    ({"max_leaf_nodes": 1}, "max_leaf_nodes=1 must be"),
    ({"ccp_alpha": -1.0}, "ccp_alpha=-1.0 must be a number >= 0"),
    ({"class_weight": "even"}, "class_weight='even' must be"),
    ({"seed": -1}, "seed=-1 must be"),
])
def test_bad_settings_name_the_argument(settings, message):
    with pytest.raises(ValueError, match=message):
        DecisionTreeClassifier(**settings).fit([[0.0], [1.0]], [0, 1])


def test_bad_input():
    X, y = _load("iris")
    with pytest.raises(ValueError, match="not fitted yet"):
        DecisionTreeClassifier().predict(X)
    with pytest.raises(ValueError, match="not fitted yet, so there is nothing to save"):
        DecisionTreeRegressor().save("unused")
    tree = DecisionTreeClassifier().fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features, but this DecisionTreeClassifier was fitted on 4"):
        tree.predict(X[:, :3])
    with pytest.raises(ValueError, match=r"X has infinite values in 150 row\(s\) \(first: 0\); trees take NaN"):
        tree.predict(np.where(X > 0, np.inf, X))
    with pytest.raises(ValueError, match="y has 149 values but X has 150 rows"):
        DecisionTreeClassifier().fit(X, y[1:])
    with pytest.raises(ValueError, match="y must hold finite numbers"):
        DecisionTreeRegressor().fit(X, np.where(y == 1, np.nan, y))
    with pytest.raises(ValueError, match="feature_names has 2 names"):
        tree.export_text(["a", "b"])


def test_load_refuses_other_and_damaged_files(tmp_path):
    X, y = _load("iris")
    path = DecisionTreeClassifier().fit(X, y).save(tmp_path / "tree")
    with pytest.raises(ValueError, match="holds a classification tree, not a DecisionTreeRegressor"):
        DecisionTreeRegressor.load(path)
    info = json.loads((path / "model.json").read_text())
    info["decision_tree"]["n_features_in"] = 2  # the splits use features 2 and 3
    (path / "model.json").write_text(json.dumps(info))
    with pytest.raises(ValueError, match="damaged DecisionTreeClassifier: a split uses a feature outside 0..1"):
        DecisionTree.load(path)
    info["decision_tree"]["n_features_in"], info["decision_tree"]["classes"] = 4, [0, 1]
    (path / "model.json").write_text(json.dumps(info))
    with pytest.raises(ValueError, match=r"does not hold a decision tree as .* it: size mismatch for 'value'"):
        DecisionTree.load(path)
    del info["decision_tree"]
    (path / "model.json").write_text(json.dumps(info))
    with pytest.raises(ValueError, match="not a decision tree"):
        DecisionTree.load(path)


def test_a_loaded_tree_needs_no_sklearn(tmp_path, monkeypatch):
    X, y = _load("diabetes")
    reference = sklearn_tree.DecisionTreeRegressor(max_depth=5, random_state=0).fit(X, y)
    predicted, score = reference.predict(X), reference.score(X, y)
    path = DecisionTreeRegressor(max_depth=5).fit(X, y).save(tmp_path / "tree")
    for name in [name for name in sys.modules if name == "sklearn" or name.startswith("sklearn.")]:
        monkeypatch.setitem(sys.modules, name, None)  # importing any of them now fails
    loaded = DecisionTree.load(path)
    np.testing.assert_array_equal(loaded.predict(X), predicted)
    assert loaded.score(X, y) == score
    assert loaded.export_text(max_depth=1).startswith("|--- feature_")
    with pytest.raises(ImportError):
        DecisionTreeRegressor().fit(X, y)


def test_score_of_a_constant_target():
    X = [[0.0], [1.0], [2.0]]
    tree = DecisionTreeRegressor().fit(X, [3.0, 3.0, 3.0])
    assert tree.score(X, [3.0, 3.0, 3.0]) == 1.0 and tree.score(X, [4.0, 4.0, 4.0]) == 0.0
