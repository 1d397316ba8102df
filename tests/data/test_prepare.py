"""Tests for learnable.data.prepare: validate, infer the task, split, learn the schema, encode."""

import numpy as np
import pandas as pd
import pytest

from learnable.data import prepare, split_indices
from learnable.data.datasets import load


@pytest.fixture(scope="module")
def iris_xy():
    X, y, _ = load("iris")
    return X, y


@pytest.fixture(scope="module")
def prepared(iris_xy):
    return prepare(*iris_xy, seed=0)


@pytest.fixture(scope="module")
def parts(iris_xy):
    """The split prepare makes: the same seeded, stratified row indices."""
    _, y = iris_xy
    return split_indices(len(y), validation=0.1, test=0.1, labels=y.astype(str).to_numpy(), seed=0)


def test_iris_is_multiclass_with_named_classes(prepared):
    schema = prepared.schema
    assert schema.task == "multiclass"
    assert schema.classes == ["setosa", "versicolor", "virginica"]
    assert schema.num_outputs == 3
    assert schema.num_features == 4
    assert schema.target_name == "target"


def test_split_sizes_follow_the_split(prepared, parts):
    assert prepared.train[0].shape == (len(parts.train), 4)
    assert prepared.validation[0].shape == (len(parts.validation), 4)
    assert prepared.test[0].shape == (len(parts.test), 4)
    assert len(parts.train) + len(parts.validation) + len(parts.test) == 150
    for inputs, targets in (prepared.train, prepared.validation, prepared.test):
        assert len(inputs) == len(targets)


def test_iris_splits_120_15_15(prepared):
    assert (len(prepared.train[0]), len(prepared.validation[0]), len(prepared.test[0])) == (120, 15, 15)


def test_encoded_inputs_are_float32_and_targets_class_indices(prepared, iris_xy, parts):
    X, y = iris_xy
    splits = (prepared.train, prepared.validation, prepared.test)
    for (inputs, targets), rows in zip(splits, (parts.train, parts.validation, parts.test), strict=True):
        assert inputs.dtype == np.float32
        assert targets.dtype == np.int64
        assert prepared.schema.decode_target(targets).tolist() == y.iloc[rows].tolist()
        np.testing.assert_allclose(inputs, prepared.schema.transform(X.iloc[rows]))


def test_raw_test_rows_are_kept(prepared, iris_xy, parts):
    X, y = iris_xy
    raw_X, raw_y = prepared.raw_test
    pd.testing.assert_frame_equal(raw_X.reset_index(drop=True), X.iloc[parts.test].reset_index(drop=True))
    assert raw_y.tolist() == y.iloc[parts.test].tolist()
    np.testing.assert_array_equal(prepared.schema.transform(raw_X), prepared.test[0])
    np.testing.assert_array_equal(prepared.schema.encode_target(raw_y), prepared.test[1])


def test_schema_is_learned_on_the_training_split_only(prepared, iris_xy, parts):
    X, _ = iris_xy
    train = X.iloc[parts.train]
    np.testing.assert_allclose(prepared.schema.mean, train.mean().to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(prepared.schema.std, train.std(ddof=0).to_numpy(), rtol=1e-12)
    assert not np.allclose(prepared.schema.mean, X.mean().to_numpy(), rtol=1e-6)
    # So the training inputs, and only they, are standardised exactly.
    np.testing.assert_allclose(prepared.train[0].mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(prepared.train[0].std(axis=0), 1.0, atol=1e-5)
    assert np.abs(prepared.test[0].mean(axis=0)).max() > 1e-3


def test_same_seed_gives_the_same_data_and_another_seed_another(iris_xy, prepared):
    again = prepare(*iris_xy, seed=0)
    other = prepare(*iris_xy, seed=1)
    np.testing.assert_array_equal(again.test[0], prepared.test[0])
    np.testing.assert_array_equal(again.train[1], prepared.train[1])
    assert not np.array_equal(other.test[0], prepared.test[0])


def test_regression_target_is_standardised_on_the_training_split():
    X, y, _ = load("diabetes")
    data = prepare(X, y, validation=0.2, test=0.0, seed=0)
    parts = split_indices(len(y), validation=0.2, test=0.0, seed=0)
    assert data.schema.task == "regression"
    assert data.schema.target_mean == pytest.approx(y.iloc[parts.train].mean())
    assert data.train[1].dtype == np.float32
    assert data.train[1].mean() == pytest.approx(0.0, abs=1e-5)
    assert data.train[1].std() == pytest.approx(1.0, abs=1e-5)
    assert data.test is None
    assert data.raw_test is None
    assert len(data.validation[0]) == len(parts.validation)


def test_without_validation_the_split_is_none():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = np.arange(40) % 2
    data = prepare(X, y, validation=0.0, test=0.25, seed=0)
    assert data.schema.task == "binary"
    assert data.validation is None
    assert (len(data.train[0]), len(data.test[0])) == (30, 10)
    assert data.schema.feature_names == ["x0", "x1", "x2"]


def test_images_get_one_scale_for_all_pixels():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(30, 4, 4)).astype(np.float32)  # (N, H, W)
    labels = np.arange(30) % 3
    data = prepare(images, labels, validation=0.0, test=0.0, seed=0)
    assert data.schema.image_shape == [4, 4]
    np.testing.assert_allclose(data.schema.mean, np.full(16, images.mean()), rtol=1e-6)
    np.testing.assert_allclose(data.schema.std, np.full(16, images.std()), rtol=1e-6)
    assert data.train[0].shape == (30, 16)


def test_bad_data_is_refused_before_splitting(iris_xy):
    X, y = iris_xy
    with pytest.raises(ValueError, match="X has 150 rows but y has 149 values"):
        prepare(X, y.iloc[:149])
    with pytest.raises(ValueError, match="task='binary' needs exactly 2 classes"):
        prepare(X, y, task="binary")
    broken = X.copy()
    broken.iloc[[3, 8], 2] = np.nan
    with pytest.raises(ValueError, match=r"column 'petal length \(cm\)' has 2 missing .*\(rows 3, 8\)"):
        prepare(broken, y, missing="error")


def test_missing_cells_are_filled_in_every_split_by_the_training_schema(iris_xy):
    X, y = iris_xy
    gappy = X.copy()
    gappy.iloc[::10, 2] = np.nan  # 15 gaps, in every split
    data = prepare(gappy, y, seed=0)
    schema = data.schema
    assert schema.missing_flags == ["petal length (cm)"]
    assert data.train[0].shape[1] == 5  # 4 numbers + 1 "is missing" input
    for part in (data.train, data.validation, data.test):
        assert np.isfinite(part[0]).all()
