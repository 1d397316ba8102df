"""Tests for learnable.data.task: inferring regression, binary or multiclass from the target."""

import numpy as np
import pandas as pd
import pytest

from learnable.data import infer_task
from learnable.data.task import MAX_CLASSES, resolve_task


@pytest.mark.parametrize(
    "values, expected",
    [
        ([0.5, 1.25, 3.0, 2.0], "regression"),
        ([1.0, 2.0, 2.5], "regression"),
        (["cat", "dog", "cat"], "binary"),
        (["a", "b", "c", "a"], "multiclass"),
        ([True, False, True], "binary"),
        ([0, 1, 1, 0], "binary"),
        ([3, 1, 2, 3], "multiclass"),
        ([0.0, 1.0, 0.0], "binary"),
        ([0.0, 1.0, 2.0, 1.0], "multiclass"),
    ],
)
def test_infer_task(values, expected):
    assert infer_task(pd.Series(values, name="y")) == expected


def test_categorical_target_is_classes():
    y = pd.Series(pd.Categorical([0.5, 1.5, 2.5, 0.5]), name="y")
    assert infer_task(y) == "multiclass"


def test_whole_numbers_are_classes_up_to_max_classes():
    assert infer_task(pd.Series(np.arange(MAX_CLASSES).repeat(2), name="y")) == "multiclass"


def test_whole_numbers_with_more_than_max_classes_values_are_regression():
    assert infer_task(pd.Series(np.arange(MAX_CLASSES + 1), name="y")) == "regression"
    integral_floats = np.arange(MAX_CLASSES + 1, dtype=np.float64) * 10
    assert infer_task(pd.Series(integral_floats, name="y")) == "regression"


def test_single_class_is_refused():
    y = pd.Series(["spam"] * 4, name="label")
    with pytest.raises(ValueError, match=r"target 'label' has a single class \('spam'\) in all 4 rows"):
        infer_task(y)


def test_single_integer_class_is_refused():
    with pytest.raises(ValueError, match=r"single class .* in all 3 rows; a classifier needs at least two"):
        infer_task(pd.Series([7, 7, 7], name="y"))


# ---- an explicit task -------------------------------------------------------------------------


def test_resolve_auto_infers():
    assert resolve_task(pd.Series([0.5, 1.5], name="y")) == "regression"
    assert resolve_task(pd.Series(["a", "b"], name="y"), "auto") == "binary"


def test_resolve_explicit_task_overrides_inference():
    few_whole_numbers = pd.Series([1, 2, 3, 1], name="y")
    assert infer_task(few_whole_numbers) == "multiclass"
    assert resolve_task(few_whole_numbers, "regression") == "regression"
    assert resolve_task(pd.Series([0, 1, 0], name="y"), "binary") == "binary"
    assert resolve_task(pd.Series(["a", "b", "c"], name="y"), "multiclass") == "multiclass"


def test_regression_on_strings_is_refused():
    y = pd.Series(["low", "high"], name="grade")
    with pytest.raises(ValueError, match=r"task='regression' needs a numeric target, but 'grade'.*'low'"):
        resolve_task(y, "regression")


def test_regression_on_booleans_is_refused():
    with pytest.raises(ValueError, match="task='regression' needs a numeric target"):
        resolve_task(pd.Series([True, False], name="y"), "regression")


def test_binary_with_three_classes_is_refused():
    y = pd.Series(["a", "b", "c"], name="label")
    with pytest.raises(ValueError, match=r"task='binary' needs exactly 2 classes, but 'label' has 3.*multiclass"):
        resolve_task(y, "binary")


def test_explicit_classification_with_one_class_is_refused():
    with pytest.raises(ValueError, match="single class"):
        resolve_task(pd.Series([1, 1], name="y"), "binary")


def test_unknown_task_name_is_refused():
    with pytest.raises(ValueError, match=r"task='clustering' is not a known task; choose one of .*'regression'"):
        resolve_task(pd.Series([0, 1], name="y"), "clustering")
