"""summarize_data against numpy oracles: duplicates, repeats, constant features, classes, scales, perfect predictors."""

import numpy as np
import pytest
import torch

from learnable.insight import summarize_data
from learnable.insight.data_summary import MIN_PERFECT_ROWS


def _rng(seed=0):
    return np.random.default_rng(seed)


def _separable(x, y):
    """The oracle: thresholds on x separate every class iff the classes' [min, max] intervals do not touch."""
    intervals = sorted((x[y == c].min(), x[y == c].max()) for c in np.unique(y))
    return all(high < next_low for (_, high), (next_low, _) in zip(intervals, intervals[1:], strict=False))


def _found(summary):
    return [p["feature"] for p in summary["perfect_predictors"]]


# ---- rows and duplicates -------------------------------------------------------------------------
@pytest.mark.parametrize("copies", [0, 1, 7, 30])
def test_held_out_rows_copied_from_training_are_counted_exactly(copies):
    rng = _rng(copies)
    X = rng.normal(size=(200, 5))
    y = rng.integers(0, 2, 200)
    fresh = rng.normal(size=(30, 5))
    validation = np.concatenate([fresh, X[rng.choice(200, copies, replace=False)]])
    test = np.concatenate([X[:3], fresh[:5], X[:1]])  # the same training row twice counts twice
    summary = summarize_data((X, y), (validation, np.zeros(len(validation))), (test, np.zeros(len(test))),
                             task="binary")
    assert summary["rows"] == {"train": 200, "validation": 30 + copies, "test": 9}
    assert summary["duplicates"] == {"train_repeats": 0, "validation": copies, "test": 4}


def test_duplicates_match_a_numpy_oracle_on_small_integer_rows():
    rng = _rng(1)
    X = rng.integers(0, 3, size=(300, 3)).astype(np.float32)  # 27 possible rows: many repeats
    validation = rng.integers(0, 4, size=(100, 3)).astype(np.float64)  # some rows hold a 3: never in training
    summary = summarize_data((X, rng.integers(0, 2, 300)), (validation, np.zeros(100)), task="binary")
    seen = {tuple(row) for row in X.tolist()}
    assert summary["duplicates"]["train_repeats"] == len(X) - len(np.unique(X, axis=0))
    assert summary["duplicates"]["validation"] == sum(tuple(row) in seen for row in validation.tolist())
    assert 0 < summary["duplicates"]["validation"] < 100
    assert "test" not in summary["duplicates"] and summary["rows"]["test"] == 0


def test_repeats_within_training():
    rng = _rng(2)
    X = rng.normal(size=(50, 4))
    X = np.concatenate([X, X[[0, 0, 0, 5, 9]]])  # row 0 three more times, rows 5 and 9 once more
    summary = summarize_data((X, rng.normal(size=len(X))), task="regression")
    assert summary["duplicates"] == {"train_repeats": 5}


def test_tensors_are_read_like_arrays():
    X = torch.arange(60.0).reshape(20, 3)
    y = torch.arange(20) % 2
    summary = summarize_data((X, y), (X[:4].clone(), y[:4]), task="binary")
    assert summary["rows"]["validation"] == 4 and summary["duplicates"]["validation"] == 4
    assert summary["task"] == "binary" and summary["classes"] == {"0": 10, "1": 10}


# ---- features ------------------------------------------------------------------------------------
def test_constant_features_by_name():
    rng = _rng(3)
    X = rng.normal(size=(100, 6))
    X[:, 1] = 3.5
    X[:, 4] = 0.0
    names = ["a", "b", "c", "d", "e", "f"]
    summary = summarize_data((X, rng.normal(size=100)), task="regression", feature_names=names)
    assert summary["constant_features"] == [names[i] for i in np.flatnonzero(X.std(axis=0) == 0)] == ["b", "e"]
    assert summarize_data((X, rng.normal(size=100)), task="regression")["constant_features"] == ["x1", "x4"]


def test_scales_name_the_feature_far_from_the_others():
    rng = _rng(4)
    X = rng.normal(size=(500, 5))
    X[:, 3] *= 1e4
    X[:, 0] += 50.0
    scale = summarize_data((X, rng.normal(size=500)), task="regression")["scale"]
    std = X.std(axis=0)
    assert scale["median_std"] == pytest.approx(np.median(std))
    assert [f["feature"] for f in scale["largest"][:2]] == ["x3", "x0"]
    assert scale["largest"][0]["std"] == pytest.approx(std[3])
    assert scale["largest"][1]["mean"] == pytest.approx(X[:, 0].mean())
    assert summarize_data((X, rng.normal(size=500)), task="regression", standardized=True)["standardized"] is True


# ---- the target ----------------------------------------------------------------------------------
def test_class_counts_with_class_names():
    rng = _rng(5)
    y = rng.choice(3, size=250, p=[0.6, 0.3, 0.1])
    summary = summarize_data((rng.normal(size=(250, 2)), y), task="multiclass", classes=["cat", "dog", "eel"])
    assert summary["task"] == "multiclass"
    assert summary["classes"] == dict(zip(["cat", "dog", "eel"], np.bincount(y).tolist(), strict=True))
    assert "target" not in summary


def test_a_regression_target_is_summarized():
    rng = _rng(6)
    y = rng.normal(3.0, 2.0, size=300)
    summary = summarize_data((rng.normal(size=(300, 2)), y), task="regression")
    assert summary["task"] == "regression" and "classes" not in summary
    assert summary["target"] == {"mean": pytest.approx(y.mean()), "std": pytest.approx(y.std()), "columns": 1}


def test_the_task_is_the_callers_and_an_unknown_one_is_refused():
    X, y = _rng(7).normal(size=(30, 2)), np.arange(30) % 2
    assert summarize_data((X, y), task="regression")["task"] == "regression"  # never guessed from y
    assert "classes" not in summarize_data((X, y), task="regression")
    with pytest.raises(ValueError, match=r"task='auto' is not known; choose one of \['regression', "):
        summarize_data((X, y), task="auto")


# ---- images --------------------------------------------------------------------------------------
def test_images_skip_the_per_feature_checks():
    rng = _rng(8)
    X = rng.normal(size=(40, 3, 8, 8))
    X[:, 0, 0, 0] = 0.0  # a constant pixel, and a pixel equal to the label: neither is reported
    y = rng.integers(0, 2, 40)
    X[:, 1, 2, 2] = y
    summary = summarize_data((X, y), (X[:5], y[:5]), task="binary")
    assert summary["features"] == 3 * 8 * 8 and summary["image_shape"] == [3, 8, 8]
    assert not {"scale", "constant_features", "perfect_predictors"} & set(summary)
    assert summary["duplicates"]["validation"] == 5  # duplicates are still counted
    assert summary["classes"] == {"0": int((y == 0).sum()), "1": int((y == 1).sum())}


def test_flattened_images_are_images_too():
    X = _rng(9).normal(size=(40, 64))
    summary = summarize_data((X, np.arange(40) % 2), task="binary", image_shape=(8, 8))
    assert summary["image_shape"] == [8, 8] and "scale" not in summary


def test_plain_tables_have_no_image_shape():
    summary = summarize_data((_rng(10).normal(size=(40, 3)), np.arange(40) % 2), task="binary")
    assert summary["image_shape"] is None and summary["features"] == 3


# ---- perfect predictors --------------------------------------------------------------------------
def test_a_threshold_separable_feature_is_found_and_a_random_one_is_not():
    rng = _rng(11)
    y = rng.integers(0, 3, 300)
    X = rng.normal(size=(300, 4))
    X[:, 2] = y * 2.0 + rng.uniform(-0.9, 0.9, 300)  # three separated bands
    X[:, 3] = -X[:, 2]  # separable the other way round
    summary = summarize_data((X, y), task="multiclass")
    assert summary["perfect_predictors"] == [{"feature": "x2", "how": "2 threshold(s) on it separate every class"},
                                             {"feature": "x3", "how": "2 threshold(s) on it separate every class"}]
    assert [_separable(X[:, i], y) for i in range(4)] == [False, False, True, True]


def test_perfect_predictors_match_the_oracle_on_tied_features():
    rng = _rng(12)
    for trial in range(20):
        y = rng.integers(0, 2 + trial % 3, 60)
        X = rng.integers(0, 6, size=(60, 8)).astype(np.float64)  # few values: ties everywhere
        X[:, 0] = y * 2 + rng.integers(0, 2, 60)  # separable with ties inside each class
        X[:, 1] = y + (rng.random(60) < 0.05)  # a few rows pushed onto the next class's value
        names = [f"f{i}" for i in range(8)]
        found = _found(summarize_data((X, y), task="multiclass", feature_names=names))
        assert found == [names[i] for i in range(8) if _separable(X[:, i], y)], trial
        assert "f0" in found


def test_a_tie_straddling_two_classes_is_not_a_perfect_split():
    y = np.array([0] * 15 + [1] * 15)
    x = y.astype(np.float64) * 10 + np.arange(30) / 100
    x[14] = x[15] = 5.0  # the last class-0 row and the first class-1 row share a value
    assert _found(summarize_data((x[:, None], y), task="binary")) == []
    x[14] = 4.9  # move it apart: separable again
    assert _found(summarize_data((x[:, None], y), task="binary")) == ["x0"]


def test_too_few_rows_find_no_perfect_predictor():
    rng = _rng(13)
    y = np.arange(MIN_PERFECT_ROWS) % 2
    X = np.column_stack([y + 0.1 * rng.random(MIN_PERFECT_ROWS), rng.normal(size=MIN_PERFECT_ROWS)])
    assert _found(summarize_data((X, y), task="binary")) == ["x0"]
    # 19 rows: one column splits them by chance too often
    assert _found(summarize_data((X[:-1], y[:-1]), task="binary")) == []


def test_one_class_has_no_perfect_predictor():
    X = _rng(14).normal(size=(50, 3))
    assert _found(summarize_data((X, np.zeros(50, dtype=int)), task="binary")) == []


def test_a_regression_target_leak_is_found_by_correlation():
    rng = _rng(15)
    y = rng.normal(size=200)
    X = np.column_stack([rng.normal(size=200), 2 * y + 1, -y, y + 0.5 * rng.normal(size=200), np.ones(200)])
    summary = summarize_data((X, y), task="regression")
    corr = [np.corrcoef(X[:, i], y)[0, 1] for i in range(4)]
    assert _found(summary) == [f"x{i}" for i in range(4) if abs(corr[i]) >= 0.999] == ["x1", "x2"]
    assert [p["how"] for p in summary["perfect_predictors"]] == ["correlation +1.0000 with the target",
                                                                 "correlation -1.0000 with the target"]
    assert summary["constant_features"] == ["x4"]  # a constant column is no leak (and no division by zero)


def test_a_constant_regression_target_has_no_leak():
    X = _rng(16).normal(size=(50, 3))
    summary = summarize_data((X, np.full(50, 2.5)), task="regression")
    assert summary["perfect_predictors"] == [] and summary["target"]["std"] == 0.0


def test_string_labels_are_classes():
    X = np.random.default_rng(0).normal(size=(30, 2))
    summary = summarize_data((X, np.array(["a", "b"] * 15)), task="binary")
    assert summary["task"] == "binary" and summary["classes"] == {"a": 15, "b": 15}


def test_negative_zero_and_dtype_do_not_hide_or_invent_duplicates():
    train = np.array([[0.0, 1.0], [2.0, 3.0]], dtype=np.float32)
    validation = np.array([[-0.0, 1.0], [2.0, 3.0 + 1e-9]], dtype=np.float64)  # the second differs in float64
    summary = summarize_data((train, np.array([0, 1])), validation=(validation, np.array([0, 1])), task="binary")
    assert summary["duplicates"]["validation"] == 1


def test_bfloat16_tensors_many_classes_and_several_targets():
    X = torch.randn(300, 3).bfloat16()
    y = torch.arange(300) % 150  # 150 classes: the 100 largest are kept, the rest summed
    summary = summarize_data((X, y), task="multiclass")
    assert len(summary["classes"]) == 101 and sum(summary["classes"].values()) == 300
    multi = summarize_data((np.zeros((40, 2)), np.random.default_rng(0).integers(0, 2, (40, 3)).astype(float)),
                           task="binary")
    assert multi["task"] == "multilabel" and "classes" not in multi
    regression = summarize_data((np.zeros((40, 2)), np.ones((40, 2)) * 0.5), task="regression")
    assert regression["target"]["columns"] == 2
