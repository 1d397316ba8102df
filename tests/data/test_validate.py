"""Tests for learnable.data.validate: what X and y may be, and the messages for bad data."""

import re

import numpy as np
import pandas as pd
import pytest
import torch

from learnable.data import as_features, as_target, check_pair
from learnable.data.validate import check_features, check_target


def _valid_pair(X, y):
    features, target = as_features(X), as_target(y)
    check_pair(features, target)
    return features, target


# ---- accepted inputs ------------------------------------------------------------------------


def test_numpy_array_becomes_frame_with_positional_names():
    array = np.arange(6.0).reshape(3, 2)
    X, y = _valid_pair(array, np.array([0, 1, 0]))
    assert list(X.columns) == ["x0", "x1"]
    np.testing.assert_array_equal(X.to_numpy(), array)
    assert y.name == "target"
    np.testing.assert_array_equal(y.to_numpy(), [0, 1, 0])


def test_torch_tensors_are_accepted():
    array = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    tensor = torch.from_numpy(array).requires_grad_()
    X, y = _valid_pair(tensor, torch.tensor([1.5, 2.0, 0.5, 3.0]))
    np.testing.assert_array_equal(X.to_numpy(), array)
    np.testing.assert_array_equal(y.to_numpy(), np.array([1.5, 2.0, 0.5, 3.0], dtype=np.float32))


def test_dataframe_and_series_keep_names_and_drop_the_index():
    frame = pd.DataFrame({"size": [1.0, 2.0, 3.0], 7: ["a", "b", "a"]}, index=[10, 20, 30])
    target = pd.Series([5.0, 6.0, 7.0], name="price", index=[10, 20, 30])
    X, y = _valid_pair(frame, target)
    assert list(X.columns) == ["size", "7"]
    assert list(X.index) == [0, 1, 2]
    assert list(X["7"]) == ["a", "b", "a"]
    assert y.name == "price"
    assert list(y.index) == [0, 1, 2]
    assert y.tolist() == [5.0, 6.0, 7.0]


def test_lists_are_accepted():
    X, y = _valid_pair([[1, 2], [3, 4], [5, 6]], ["a", "b", "a"])
    np.testing.assert_array_equal(X.to_numpy(), [[1, 2], [3, 4], [5, 6]])
    assert y.tolist() == ["a", "b", "a"]


def test_dict_of_columns_and_dict_of_scalars():
    columns = as_features({"age": [30, 40], "city": ["Oslo", "Rome"]})
    assert columns.shape == (2, 2)
    assert columns["age"].tolist() == [30, 40]
    one_row = as_features({"age": 30, "city": "Oslo"})
    assert one_row.shape == (1, 2)
    assert one_row.iloc[0].tolist() == [30, "Oslo"]


def test_one_column_target_frame_and_column_vector_become_a_series():
    from_frame = as_target(pd.DataFrame({"label": [1, 0, 1]}))
    assert from_frame.name == "label"
    assert from_frame.tolist() == [1, 0, 1]
    from_column = as_target(np.array([[1.0], [2.0], [3.0]]))
    assert from_column.tolist() == [1.0, 2.0, 3.0]
    assert as_target(torch.tensor([[4], [5]])).tolist() == [4, 5]


def test_images_are_flattened_to_one_row_per_sample():
    images = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)  # (N, H, W)
    X = as_features(images)
    assert X.shape == (2, 12)
    assert list(X.columns) == [f"x{i}" for i in range(12)]
    np.testing.assert_array_equal(X.to_numpy(), images.reshape(2, 12))
    assert as_features(torch.zeros(5, 1, 2, 3)).shape == (5, 6)


# ---- the wrong kind of X or y ---------------------------------------------------------------


def test_one_dimensional_X_is_refused_with_the_reshape_hint():
    with pytest.raises(ValueError, match=r"X is 1-D with shape \(4,\).*reshape\(-1, 1\)"):
        as_features(np.arange(4.0))


def test_scalar_X_is_refused():
    with pytest.raises(ValueError, match=r"X is a single value.*expected a 2-D array"):
        as_features(3.0)


def test_series_as_X_is_refused_with_to_frame_hint():
    with pytest.raises(ValueError, match=r"single pandas Series 'age' \(3 values\).*to_frame\(\)"):
        as_features(pd.Series([1, 2, 3], name="age"))


def test_string_X_is_a_type_error():
    with pytest.raises(TypeError, match=r"X is a string \('data.csv'\); expected a 2-D array"):
        as_features("data.csv")


def test_target_frame_with_two_columns_is_refused():
    with pytest.raises(ValueError, match=r"y is a DataFrame with 2 columns \['a', 'b'\].*one target column"):
        as_target(pd.DataFrame({"a": [1, 2], "b": [3, 4]}))


def test_two_dimensional_target_is_refused():
    with pytest.raises(ValueError, match=r"y has shape \(3, 2\); expected one target value per row"):
        as_target(np.zeros((3, 2)))


def test_duplicated_column_names_are_refused():
    frame = pd.DataFrame([[1, 2, 3]], columns=["a", "b", "a"])
    with pytest.raises(ValueError, match=r"duplicated column names \['a'\].*unique name"):
        as_features(frame)


# ---- empty and mismatched data --------------------------------------------------------------


def test_X_without_rows_is_refused():
    with pytest.raises(ValueError, match="X has no rows"):
        _valid_pair(np.empty((0, 3)), np.empty(0))


def test_X_without_columns_is_refused():
    with pytest.raises(ValueError, match="X has 4 rows but no columns"):
        _valid_pair(np.empty((4, 0)), np.zeros(4))
    with pytest.raises(ValueError, match="X has 2 rows but no columns"):
        _valid_pair(pd.DataFrame(index=[0, 1]), [0, 1])


def test_empty_target_is_refused():
    # Through check_pair an empty y meets an empty X first, so check the target on its own.
    with pytest.raises(ValueError, match="y has no rows"):
        check_target(as_target([]))


def test_empty_target_with_rows_of_X_is_a_length_mismatch():
    with pytest.raises(ValueError, match=r"X has 3 rows but y has 0 values"):
        _valid_pair(np.ones((3, 2)), [])


def test_length_mismatch_is_refused_before_values_are_checked():
    X = np.full((5, 2), np.nan)  # bad values too, but the mismatch is reported first
    with pytest.raises(ValueError, match=r"X has 5 rows but y has 4 values; expected one target per row"):
        _valid_pair(X, [0, 1, 0, 1])


# ---- missing and infinite values ------------------------------------------------------------


def test_nan_and_inf_in_features_name_the_column_and_rows():
    X = np.ones((8, 3))
    X[2, 1] = np.nan
    X[5, 1] = np.inf
    with pytest.raises(ValueError, match=r"column 'x1' has 1 infinite values \(rows 5\).*replace\(\[np.inf"):
        _valid_pair(X, np.zeros(8))
    X[5, 1] = 1.0
    with pytest.raises(ValueError, match=r"column 'x1' has 1 missing values \(rows 2\).*X\['x1'\].fillna\(X\['x1'\]"):
        _valid_pair(X, np.zeros(8))


def test_missing_cells_pass_when_they_are_to_be_imputed_but_infinity_never_does():
    frame = pd.DataFrame({"n": [1.0, np.nan, 3.0], "t": ["a", None, "b"]})
    check_features(frame, missing="impute")
    frame.loc[2, "n"] = -np.inf
    with pytest.raises(ValueError, match=r"column 'n' has 1 infinite values \(rows 2\)"):
        check_features(frame, missing="impute")


def test_the_numeric_fill_advice_runs_on_a_frame_with_text_columns():
    frame = pd.DataFrame({"n": [1.0, np.nan, 3.0], "t": ["a", "b", "c"]})
    with pytest.raises(ValueError, match=r"for example (X\['n'\]\.fillna\(X\['n'\]\.median\(\)\))") as raised:
        check_features(frame)
    X = frame  # the advice, run on the user's frame as it is
    X["n"] = eval(re.search(r"for example (.*)\) or drop", str(raised.value)).group(1))
    check_features(X)


def test_negative_inf_in_a_named_column_is_reported_with_positional_rows():
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "price": [1.0, -np.inf, 2.0]}, index=[7, 8, 9])
    with pytest.raises(ValueError, match=r"column 'price' has 1 infinite values \(rows 1\)"):
        _valid_pair(frame, [0, 1, 0])


def test_many_bad_rows_are_cut_short_and_other_columns_mentioned():
    X = np.ones((10, 3))
    X[:, 0] = np.nan
    X[3, 2] = np.nan
    message = r"column 'x0' has 10 missing .*\(rows 0, 1, 2, 3, 4, \.\.\.\); columns \['x2'\] have them too"
    with pytest.raises(ValueError, match=message):
        _valid_pair(X, np.zeros(10))


def test_missing_value_in_a_text_column_is_reported():
    frame = pd.DataFrame({"size": [1.0, 2.0, 3.0, 4.0], "color": ["red", None, "blue", np.nan]})
    with pytest.raises(ValueError, match=r"column 'color' has 2 missing values \(rows 1, 3\).*fillna\('missing'\)"):
        _valid_pair(frame, [0, 1, 0, 1])


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_inf_in_target_is_refused(bad):
    y = pd.Series([1.0, 2.0, bad, 4.0], name="price")
    with pytest.raises(ValueError, match=r"target 'price' has 1 missing or infinite values \(rows 2\)"):
        _valid_pair(np.ones((4, 1)), y)


def test_missing_text_label_is_refused():
    with pytest.raises(ValueError, match=r"target 'target' has 1 missing .*\(rows 0\).*Drop those rows"):
        _valid_pair(np.ones((3, 1)), [None, "a", "b"])


def test_finite_data_passes_without_error():
    frame = pd.DataFrame({"n": [1, 2], "b": [True, False], "t": ["x", "y"]})
    X, y = _valid_pair(frame, [True, False])
    assert X.shape == (2, 3)
    assert y.tolist() == [True, False]


def test_missing_value_in_a_nullable_integer_column_is_reported():
    frame = pd.DataFrame({"count": pd.array([1, None, 3], dtype="Int64")})
    with pytest.raises(ValueError, match=r"column 'count' has 1 missing values \(rows 1\)"):
        _valid_pair(frame, [0, 1, 0])
