"""Tests for learnable.data.task: inferring regression, binary or multiclass from the target."""

import numpy as np
import pandas as pd
import pytest

from learnable.data import infer_task
from learnable.data.task import CLASS_CODES, resolve_task, task_note


@pytest.mark.parametrize(
    "values, expected",
    [
        ([0.5, 1.25, 3.0, 2.0], "regression"),
        ([1.0, 2.0, 2.5], "regression"),
        (["cat", "dog", "cat"], "binary"),
        (["a", "b", "c", "a"], "multiclass"),
        ([True, False, True], "binary"),
        ([0, 1, 1, 0], "binary"),
        ([3, 1, 2, 3] * 3, "multiclass"),
        ([0.0, 1.0, 0.0], "binary"),
        ([0.0, 1.0, 2.0, 1.0] * 3, "multiclass"),
        ([3, 1, 2, 3], "regression"),  # a value in one row: no class to learn, a quantity
    ],
)
def test_infer_task(values, expected):
    assert infer_task(pd.Series(values, name="y")) == expected


def test_categorical_target_is_classes():
    y = pd.Series(pd.Categorical([0.5, 1.5, 2.5, 0.5]), name="y")
    assert infer_task(y) == "multiclass"


def test_few_common_whole_numbers_are_class_codes():
    assert infer_task(pd.Series(np.arange(CLASS_CODES).repeat(3), name="digit")) == "multiclass"


def test_many_whole_numbers_are_a_quantity():
    ages = pd.Series(np.random.default_rng(0).integers(18, 61, size=500), name="age")  # 43 values, as in the issue
    assert infer_task(ages) == "regression"
    assert infer_task(pd.Series(np.arange(CLASS_CODES + 1).repeat(3), name="y")) == "regression"
    integral_floats = np.arange(CLASS_CODES + 1, dtype=np.float64).repeat(3) * 10
    assert infer_task(pd.Series(integral_floats, name="y")) == "regression"


def test_whole_numbers_with_a_value_too_rare_to_learn_are_a_quantity():
    counts = pd.Series([1] * 20 + [2] * 20 + [3] * 2, name="rooms")
    assert infer_task(counts) == "regression"


def test_the_note_says_how_a_whole_number_target_was_read_and_how_to_read_it_otherwise():
    stars = pd.Series([1, 2, 3, 4, 5] * 4, name="stars")
    assert task_note(stars, "multiclass") == ("target 'stars' holds 5 whole numbers, read as 5 classes; if it is a "
                                              "quantity (a count, a score, an age), pass task='regression'.")
    assert task_note(stars, "regression").endswith("read as a quantity (regression); if they are class codes, pass "
                                                   "task='multiclass'.")
    assert task_note(pd.Series([0, 1, 1]), "binary") is None  # two values: no doubt
    assert task_note(pd.Series(["a", "b", "c"]), "multiclass") is None
    assert task_note(pd.Series([0.5, 1.5, 2.0]), "regression") is None


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
    few_whole_numbers = pd.Series([1, 2, 3, 1] * 3, name="y")
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
