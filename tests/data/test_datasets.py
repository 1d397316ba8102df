"""Tests for the built-in datasets: shapes, labels and descriptions, with scikit-learn as the oracle."""

import numpy as np
import pandas as pd
import pytest
import sklearn.datasets

from learnable.data import infer_task
from learnable.data.datasets import Dataset, load, names


@pytest.fixture(scope="module")
def mnist():
    """mnist-sample takes about two seconds to load: load it once for the module."""
    return load("mnist-sample")


def test_names():
    assert names() == ["breast-cancer", "co2", "diabetes", "digits", "iris", "mnist-sample", "reviews", "sunspots",
                       "wine"]


def test_mnist_sample(mnist):
    X, y, description = mnist
    assert isinstance(mnist, Dataset)
    assert mnist.name == "mnist-sample"
    assert mnist.image_shape == (1, 28, 28)
    assert X.shape == (5000, 784)
    assert X.dtype == np.float32
    assert X.min() == 0.0
    assert X.max() == 255.0
    np.testing.assert_array_equal(X, np.round(X))  # whole grey levels
    assert y.name == "digit"
    assert y.value_counts().sort_index().to_dict() == {digit: 500 for digit in range(10)}
    assert "MNIST" in description
    assert infer_task(y) == "multiclass"


def test_digits_matches_sklearn():
    X, y, description = load("digits")
    expected = sklearn.datasets.load_digits()
    assert X.shape == (1797, 64)
    assert X.dtype == np.float32
    np.testing.assert_array_equal(X, expected.data)
    np.testing.assert_array_equal(y.to_numpy(), expected.target)
    assert (X.min(), X.max()) == (0.0, 16.0)
    assert load("digits").image_shape == (1, 8, 8)
    assert "8x8" in description


@pytest.mark.parametrize(
    "name, loader, shape, task",
    [
        ("iris", "load_iris", (150, 4), "multiclass"),
        ("wine", "load_wine", (178, 13), "multiclass"),
        ("breast-cancer", "load_breast_cancer", (569, 30), "binary"),
    ],
)
def test_classification_tables_match_sklearn_with_class_names(name, loader, shape, task):
    dataset = load(name)
    X, y, description = dataset
    expected = getattr(sklearn.datasets, loader)(as_frame=True)
    assert dataset.name == name
    assert isinstance(X, pd.DataFrame)
    assert X.shape == shape
    pd.testing.assert_frame_equal(X, expected.data)
    assert y.tolist() == expected.target_names[expected.target.to_numpy()].tolist()
    assert isinstance(description, str)
    assert description
    assert infer_task(y) == task


def test_iris_class_names_and_counts():
    X, y, _ = load("iris")
    assert list(X.columns) == ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]
    assert y.value_counts().to_dict() == {"setosa": 50, "versicolor": 50, "virginica": 50}
    assert y.iloc[0] == "setosa"
    assert y.iloc[-1] == "virginica"


def test_diabetes_is_a_regression_table():
    X, y, description = load("diabetes")
    expected = sklearn.datasets.load_diabetes(as_frame=True)
    assert X.shape == (442, 10)
    pd.testing.assert_frame_equal(X, expected.data)
    np.testing.assert_array_equal(y.to_numpy(), expected.target.to_numpy())
    assert (y.min(), y.max()) == (25.0, 346.0)
    assert infer_task(y) == "regression"
    assert "disease progression" in description


def test_unknown_name_lists_the_datasets():
    with pytest.raises(ValueError, match=r"unknown dataset 'mnist'; built-in datasets are \['breast-cancer', "):
        load("mnist")
