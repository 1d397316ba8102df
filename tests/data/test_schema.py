"""Tests for learnable.data.schema: the encoding learned on the training split and applied later."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from learnable.data import Schema, as_features
from learnable.data.columns import MAX_CATEGORIES


@pytest.fixture
def table():
    """Eight rows: two number columns, a boolean and a text column; rows 0-5 are the training split."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {
            "size": rng.normal(10.0, 3.0, size=8),
            "rooms": rng.integers(1, 6, size=8),
            "garden": [True, False, True, True, False, False, True, False],
            "city": ["Oslo", "Rome", "Oslo", "Lima", "Rome", "Oslo", "Paris", "Lima"],
        }
    )
    y = pd.Series(["buy", "rent", "buy", "rent", "rent", "buy", "buy", "rent"], name="decision")
    return X, y


def _json_round_trip(schema):
    return Schema.from_dict(json.loads(json.dumps(schema.to_dict())))


def _learn(X, y, task="binary", **kwargs):
    return Schema.learn(X, y, task, **kwargs)


# ---- features ---------------------------------------------------------------------------------


def test_numbers_are_standardised_like_sklearn_on_the_training_rows(table):
    X, y = table
    train, other = X.iloc[:6], X.iloc[6:]
    schema = _learn(train, y.iloc[:6])
    numeric = ["size", "rooms", "garden"]
    assert schema.numeric == numeric
    scaler = StandardScaler().fit(train[numeric].to_numpy(dtype=float))
    np.testing.assert_allclose(schema.mean, scaler.mean_, rtol=1e-12)
    np.testing.assert_allclose(schema.std, scaler.scale_, rtol=1e-12)
    for rows in (train, other):  # other rows use the training mean and std, not their own
        encoded = schema.transform(rows)
        assert encoded.dtype == np.float32
        expected = scaler.transform(rows[numeric].to_numpy(dtype=float))
        np.testing.assert_allclose(encoded[:, :3], expected, rtol=1e-5, atol=1e-6)


def test_standardised_training_numbers_have_mean_0_and_std_1(table):
    X, y = table
    encoded = _learn(X, y).transform(X)[:, :3]
    np.testing.assert_allclose(encoded.mean(axis=0), 0.0, atol=1e-6)
    np.testing.assert_allclose(encoded.std(axis=0), 1.0, atol=1e-6)


def test_constant_column_gets_std_1_instead_of_dividing_by_zero():
    X = pd.DataFrame({"a": [5.0, 5.0, 5.0], "b": [1.0, 2.0, 3.0]})
    schema = _learn(X, pd.Series([0, 1, 0]))
    assert schema.std[0] == 1.0
    np.testing.assert_array_equal(schema.transform(pd.DataFrame({"a": [5.0, 7.0], "b": [2.0, 2.0]}))[:, 0], [0, 2])


def test_text_is_one_hot_encoded_like_sklearn_and_unseen_values_are_all_zeros(table):
    X, y = table
    train, other = X.iloc[:6], X.iloc[6:]  # 'Paris' appears only outside the training rows
    schema = _learn(train, y.iloc[:6])
    assert schema.categories == {"city": ["Lima", "Oslo", "Rome"]}
    assert schema.num_features == 3 + 3
    encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False).fit(train[["city"]])
    for rows in (train, other):
        np.testing.assert_array_equal(schema.transform(rows)[:, 3:], encoder.transform(rows[["city"]]))
    np.testing.assert_array_equal(schema.transform(other)[0, 3:], [0, 0, 0])  # Paris


def test_unseen_text_value_is_encoded_without_deprecated_pandas_behaviour(table):
    X, y = table
    schema = _learn(X.iloc[:6], y.iloc[:6])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        encoded = schema.transform(X.iloc[6:])  # 'Paris' was never seen
    np.testing.assert_array_equal(encoded[0, 3:], [0, 0, 0])


def test_columns_in_another_order_give_identical_output(table):
    X, y = table
    schema = _learn(X, y)
    reordered = X[["city", "garden", "size", "rooms"]]
    np.testing.assert_array_equal(schema.transform(reordered), schema.transform(X))


def test_extra_columns_are_ignored(table):
    X, y = table
    schema = _learn(X, y)
    np.testing.assert_array_equal(schema.transform(X.assign(extra=1.0)), schema.transform(X))


def test_missing_column_is_named(table):
    X, y = table
    schema = _learn(X, y)
    with pytest.raises(ValueError, match=r"lacks 1 column\(s\) the model was trained on: \['rooms'\]"):
        schema.transform(X.drop(columns=["rooms"]))


def test_plain_array_with_the_right_width_maps_by_position():
    X = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [10.0, 0.0, 20.0]})
    schema = _learn(X, pd.Series([0, 1, 0]))
    np.testing.assert_array_equal(schema.transform(X.to_numpy()), schema.transform(X))
    with pytest.raises(ValueError, match=r"lacks 2 column\(s\).*\['a', 'b'\]"):
        schema.transform(np.ones((2, 3)))


def test_missing_value_at_predict_time_is_refused_when_asked(table):
    X, y = table
    schema = _learn(X, y, missing="error")
    rows = X.copy()
    rows.loc[2, "size"] = np.nan
    with pytest.raises(ValueError, match=r"column 'size' has 1 missing values \(rows 2\)"):
        schema.transform(rows)
    with pytest.raises(ValueError, match=r"missing='skip' is not known; choose one of \['impute', 'error'\]"):
        _learn(X, y, missing="skip")


# ---- missing cells are data --------------------------------------------------------------------
def test_a_missing_number_takes_its_training_median_and_is_marked_where_training_had_gaps():
    X = pd.DataFrame({"a": [1.0, np.nan, 3.0, 10.0], "b": [5.0, 6.0, 7.0, 8.0]})
    schema = Schema.learn(X, pd.Series([0, 1, 0, 1]), "binary")
    assert schema.fill == [3.0, 6.5] and schema.missing_flags == ["a"]
    assert schema.encoded_names() == ["a", "b", "a is missing"]
    filled = pd.DataFrame({"a": [1.0, 3.0, 3.0, 10.0], "b": [5.0, 6.0, 7.0, 8.0]})
    expected = StandardScaler().fit_transform(filled)  # the oracle: median imputation, then scaling
    encoded = schema.transform(X)
    np.testing.assert_allclose(encoded[:, :2], expected, rtol=1e-6)
    np.testing.assert_array_equal(encoded[:, 2], [0, 1, 0, 0])
    later = schema.transform(pd.DataFrame({"a": [np.nan], "b": [None]}))  # b had no gap: filled, not marked
    np.testing.assert_allclose(later[0], [expected[1, 0], (6.5 - 6.5) / np.std([5, 6, 7, 8]), 1.0], atol=1e-6)


def test_a_missing_category_is_a_category_of_its_own():
    X = pd.DataFrame({"color": ["red", None, "blue", np.nan, "red"], "n": pd.array([1, None, 3, 4, 5], dtype="Int64")})
    schema = Schema.learn(X, pd.Series([0, 1, 0, 1, 0]), "binary")
    assert schema.categories == {"color": ["(missing)", "blue", "red"]} and schema.missing_flags == ["n"]
    encoded = schema.transform(X)
    np.testing.assert_array_equal(encoded[:, -3:], [[0, 0, 1], [1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 0, 1]])
    assert np.isfinite(encoded).all()


def test_the_missing_treatment_survives_json_and_a_damaged_one_is_refused():
    X = pd.DataFrame({"a": [1.0, np.nan, 3.0], "t": ["x", None, "y"]})
    schema = Schema.learn(X, pd.Series([0.5, 1.0, 2.0]), "regression")
    again = Schema.from_dict(json.loads(json.dumps(schema.to_dict())))
    np.testing.assert_array_equal(again.transform(X), schema.transform(X))
    damaged = {**schema.to_dict(), "fill": [1.0, 2.0]}
    with pytest.raises(ValueError, match=r"schema field 'fill' is \[1.0, 2.0\]; expected one value per numeric column"):
        Schema.from_dict(damaged)
    with pytest.raises(ValueError, match=r"schema field 'missing_flags' \['t'\] names columns that are not numeric"):
        Schema.from_dict({**schema.to_dict(), "missing_flags": ["t"]})


def test_text_in_a_numeric_column_at_predict_time_names_the_column(table):
    X, y = table
    schema = _learn(X, y)
    rows = X.astype({"size": object})
    rows.loc[1, "size"] = "big"
    with pytest.raises(ValueError, match="column 'size'"):
        schema.transform(rows)


# ---- columns that cannot be encoded ----------------------------------------------------------


# ---- dates ------------------------------------------------------------------------------------------
def test_a_date_column_becomes_its_parts_learned_like_numbers():
    when = pd.to_datetime(["2020-01-01", "2021-06-15", "2022-12-31", "2020-03-03"])
    X = pd.DataFrame({"when": when, "a": [1.0, 2.0, 3.0, 4.0]})
    schema = _learn(X, pd.Series([0, 1, 0, 1]))
    assert schema.dates == {"when": ["year", "month", "day", "day of week", "time"]}  # no hour: all at midnight
    assert schema.encoded_names()[:5] == ["when (year)", "when (month)", "when (day)", "when (day of week)",
                                          "when (time)"]
    encoded = schema.transform(X)
    years = np.array([2020, 2021, 2022, 2020], dtype=float)
    np.testing.assert_allclose(encoded[:, 0], (years - years.mean()) / years.std(), rtol=1e-5)
    days = (when - pd.Timestamp("1970-01-01")).days.to_numpy(dtype=float)
    np.testing.assert_allclose(encoded[:, 4], (days - days.mean()) / days.std(), rtol=1e-5)


def test_dates_read_from_a_csv_as_text_are_dates_and_a_missing_one_is_a_gap(tmp_path):
    frame = pd.DataFrame({"signup": ["2024-01-05", "2024-02-11 08:30", None, "2024-03-01", "2024-04-20"],
                          "n": [1.0, 2.0, 3.0, 4.0, 5.0]})
    frame.to_csv(tmp_path / "t.csv", index=False)
    X = pd.read_csv(tmp_path / "t.csv")  # the dates arrive as text
    schema = _learn(X, pd.Series([0, 1, 0, 1, 0]))
    assert "signup" in schema.dates and "hour" in schema.dates["signup"]
    assert "signup (year)" not in schema.numeric  # every date of 2024: the year tells nothing
    assert set(schema.missing_flags) == {f"signup ({part})" for part in schema.dates["signup"]}
    again = Schema.from_dict(json.loads(json.dumps(schema.to_dict())))
    np.testing.assert_array_equal(again.transform(X), schema.transform(X))
    assert np.isfinite(schema.transform(X)).all()


def test_text_that_only_sometimes_reads_as_dates_stays_a_category():
    X = pd.DataFrame({"code": ["2024-01-05", "A-12", "B-7", "2024-01-05", "A-12", "B-7"]})
    assert _learn(X, pd.Series([0, 1, 0, 1, 0, 1])).categories == {"code": ["2024-01-05", "A-12", "B-7"]}


def test_durations_are_refused_with_a_conversion_that_runs():
    X = pd.DataFrame({"took": pd.to_timedelta(["1 day", "2 days"]), "a": [1.0, 2.0]})
    with pytest.raises(ValueError, match=r"column 'took' holds durations.*dt.total_seconds\(\) / 86400"):
        _learn(X, pd.Series([0, 1]))
    X["took"] = X["took"].dt.total_seconds() / 86400
    _learn(X, pd.Series([0, 1]))


def test_list_valued_cells_are_refused():
    X = pd.DataFrame({"tags": [["a"], ["b", "c"], ["a"]]})
    with pytest.raises(ValueError, match=r"column 'tags' holds list values \(row 0\).*Expand or drop"):
        _learn(X, pd.Series([0, 1, 0]))


def test_an_identifier_column_is_left_out_with_a_warning_naming_it():
    ids = [f"id{i}" for i in range(MAX_CATEGORIES + 1)]
    y = pd.Series(np.arange(len(ids)) % 2)
    with pytest.warns(UserWarning, match=r"left out column\(s\) \['user'\]: a different value in nearly every row"):
        schema = _learn(pd.DataFrame({"user": ids, "n": np.arange(len(ids), dtype=float)}), y)
    assert schema.dropped == ["user"] and schema.feature_names == ["n"]
    assert schema.transform(pd.DataFrame({"n": [1.0]})).shape == (1, 1)  # predict needs no identifier
    at_limit = _learn(pd.DataFrame({"user": ids[:MAX_CATEGORIES]}), y[:MAX_CATEGORIES])
    assert at_limit.num_features == MAX_CATEGORIES


def test_a_category_of_many_values_keeps_the_frequent_ones_and_pools_the_rest():
    rng = np.random.default_rng(0)
    cities = pd.Series([f"city{i}" for i in rng.zipf(1.5, size=3000) % 1000], name="city")  # ~300 values, skewed
    assert cities.nunique() > MAX_CATEGORIES
    schema = _learn(pd.DataFrame({"city": cities}), pd.Series(np.arange(3000) % 2))
    kept = schema.categories["city"]
    assert len(kept) == MAX_CATEGORIES and kept[-1] == "(other)"
    top = cities.value_counts().index[:10]
    assert set(top) <= set(kept)
    encoded = schema.transform(pd.DataFrame({"city": [top[0], "never seen"]}))
    assert encoded[0, kept.index(top[0])] == 1 and encoded[1, -1] == 1 and encoded.sum() == 2


# ---- persistence ------------------------------------------------------------------------------


def test_json_round_trip_gives_identical_transform_and_classes(table):
    X, y = table
    schema = _learn(X.iloc[:6], y.iloc[:6])
    loaded = _json_round_trip(schema)
    assert loaded == schema
    assert loaded.classes == ["buy", "rent"]
    np.testing.assert_array_equal(loaded.transform(X), schema.transform(X))
    np.testing.assert_array_equal(loaded.encode_target(y), schema.encode_target(y))


def test_json_round_trip_keeps_integer_classes_usable():
    X = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0]})
    y = pd.Series(np.array([30, 10, 20, 10]), name="grade")
    loaded = _json_round_trip(_learn(X, y, "multiclass"))
    assert loaded.classes == [10, 20, 30]
    np.testing.assert_array_equal(loaded.encode_target(y), [2, 0, 1, 0])
    assert loaded.decode_target(np.array([2, 0])).tolist() == [30, 10]


# ---- the target -------------------------------------------------------------------------------


def test_string_classes_round_trip(table):
    X, y = table
    schema = _learn(X, y)
    codes = schema.encode_target(y)
    assert codes.dtype == np.int64
    np.testing.assert_array_equal(codes, (y == "rent").astype(int))
    assert schema.decode_target(codes).tolist() == y.tolist()
    assert schema.num_outputs == 1


def test_int_classes_round_trip_and_are_sorted():
    X = pd.DataFrame({"a": np.arange(6.0)})
    y = pd.Series([5, 3, 9, 3, 5, 9], name="digit")
    schema = _learn(X, y, "multiclass")
    assert schema.classes == [3, 5, 9]
    assert schema.num_outputs == 3
    codes = schema.encode_target(y)
    np.testing.assert_array_equal(codes, [1, 0, 2, 0, 1, 2])
    assert schema.decode_target(codes).tolist() == y.tolist()


def test_regression_target_is_standardised_on_the_training_rows():
    X = pd.DataFrame({"a": np.arange(5.0)})
    y = pd.Series([100.0, 150.0, 300.0, 120.0, 80.0], name="price")
    schema = _learn(X.iloc[:4], y.iloc[:4], "regression")
    assert schema.classes is None
    assert schema.num_outputs == 1
    assert schema.target_mean == pytest.approx(y.iloc[:4].mean())
    assert schema.target_std == pytest.approx(y.iloc[:4].std(ddof=0))
    encoded = schema.encode_target(y.iloc[:4])
    assert encoded.dtype == np.float32
    assert encoded.mean() == pytest.approx(0.0, abs=1e-6)
    assert encoded.std() == pytest.approx(1.0, abs=1e-6)
    assert schema.encode_target(y.iloc[4:])[0] == pytest.approx((80.0 - 167.5) / y.iloc[:4].std(ddof=0))
    np.testing.assert_allclose(schema.decode_target(schema.encode_target(y)), y.to_numpy(), rtol=1e-6)
    loaded = _json_round_trip(schema)
    np.testing.assert_array_equal(loaded.encode_target(y), schema.encode_target(y))


def test_constant_regression_target_gets_std_1():
    schema = _learn(pd.DataFrame({"a": [1.0, 2.0]}), pd.Series([4.0, 4.0]), "regression")
    assert schema.target_std == 1.0
    np.testing.assert_array_equal(schema.encode_target([4.0, 6.0]), [0.0, 2.0])


def test_unknown_label_is_refused(table):
    X, y = table
    schema = _learn(X, y)
    message = r"labels the model never saw, for example 'sell' \(row 1\).*\['buy', 'rent'\]"
    with pytest.raises(ValueError, match=message):
        schema.encode_target(["buy", "sell"])


# ---- images -----------------------------------------------------------------------------------


def test_images_share_one_mean_and_std_for_all_pixels():
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(10, 4, 3)).astype(np.float32)  # (N, H, W)
    images[:, 0, 0] = 0.0  # a never-inked pixel must not get its own scale
    X = as_features(images)
    schema = _learn(X, pd.Series(np.arange(10) % 2), image_shape=(4, 3))
    assert schema.image_shape == [4, 3]
    np.testing.assert_allclose(schema.mean, np.full(12, images.mean()), rtol=1e-6)
    np.testing.assert_allclose(schema.std, np.full(12, images.std()), rtol=1e-6)
    expected = (images.reshape(10, 12) - images.mean()) / images.std()
    np.testing.assert_allclose(schema.transform(X), expected, rtol=1e-5, atol=1e-5)
    assert _json_round_trip(schema).image_shape == [4, 3]
