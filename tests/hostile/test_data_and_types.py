"""Data a new user hands learnable, and what comes back: predictions typed like the training labels
(through fit, save/load, the scikit-learn wrappers and the CLI), and clear errors for data learnable
cannot use (nested cells, bytes labels, a target too large to scale, duplicated CSV columns)."""

import io
import json
import re

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import learnable
from learnable import classic
from learnable import sklearn as ls
from learnable.cli import app

runner = CliRunner()


def _table(rows=120, seed=0):
    X = np.random.default_rng(seed).normal(size=(rows, 3))
    return X, (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 0)  # labels 0, 1, 2


LABELS = {  # name -> (labels from the int codes 0, 1, 2, the dtype kind predictions must have)
    "int64": (lambda codes: codes, "i"),
    "int32": (lambda codes: codes.astype(np.int32), "i"),
    "float": (lambda codes: codes.astype(np.float64), "f"),  # whole numbers: classes
    "str": (lambda codes: np.array(["low", "mid", "high"])[codes], "U"),
    "object-str": (lambda codes: pd.Series(np.array(["low", "mid", "high"])[codes], dtype=object), "U"),
    "bool": (lambda codes: codes > 0, "b"),
    "pandas-Int64": (lambda codes: pd.Series(codes, dtype="Int64"), "i"),
    "category": (lambda codes: pd.Series(np.array(["low", "mid", "high"])[codes], dtype="category"), "U"),
}


@pytest.fixture(scope="module", params=sorted(LABELS))
def fitted(request, tmp_path_factory):
    make, kind = LABELS[request.param]
    X, codes = _table()
    y = make(codes)
    model = learnable.fit(X, y, model="logistic", num_epochs=3, seed=0)
    folder = tmp_path_factory.mktemp("labels") / request.param
    model.save(folder)
    return model, learnable.load(folder), X, y, kind


def _no_pickle_round_trip(array):
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    buffer.seek(0)
    return np.load(buffer, allow_pickle=False)


def test_fit_predicts_an_array_of_the_labels_dtype(fitted):
    model, _, X, y, kind = fitted
    predictions = model.predict(X)
    assert predictions.dtype.kind == kind
    assert set(predictions.tolist()) <= set(pd.Series(y).tolist())
    np.testing.assert_array_equal(_no_pickle_round_trip(predictions), predictions)


def test_a_loaded_model_predicts_the_same_dtype_and_values(fitted):
    model, loaded, X, _, _ = fitted
    before, after = model.predict(X), loaded.predict(X)
    assert after.dtype == before.dtype
    np.testing.assert_array_equal(after, before)


def test_integer_labels_keep_their_width():
    X, codes = _table()
    assert learnable.fit(X, codes.astype(np.int32), model="logistic", num_epochs=2).predict(X).dtype == np.int32


def test_a_model_json_without_the_labels_dtype_predicts_the_kind_of_its_classes(tmp_path):
    X, codes = _table()
    learnable.fit(X, codes, model="logistic", num_epochs=2).save(tmp_path / "model")
    info_path = tmp_path / "model" / "model.json"
    info = json.loads(info_path.read_text())
    del info["fitted_model"]["schema"]["classes_dtype"]  # a model saved before the dtype was recorded
    info_path.write_text(json.dumps(info))
    assert learnable.load(tmp_path / "model").predict(X).dtype == np.int64


@pytest.mark.parametrize("dtype", ["xyz", "|S3", "<M8[ns]"])
def test_a_damaged_labels_dtype_in_model_json_is_a_clear_error(tmp_path, dtype):
    X, codes = _table()
    learnable.fit(X, codes, model="logistic", num_epochs=2).save(tmp_path / "model")
    info_path = tmp_path / "model" / "model.json"
    info = json.loads(info_path.read_text())
    info["fitted_model"]["schema"]["classes_dtype"] = dtype
    info_path.write_text(json.dumps(info))
    damaged = rf"(classes_dtype' is '|class labels of dtype ){re.escape(dtype)}"  # refused at load or predict
    with pytest.raises(ValueError, match=damaged):
        learnable.load(tmp_path / "model").predict(X)


@pytest.mark.parametrize("estimator", [ls.LogisticRegression(), ls.LinearSVC(), ls.DecisionTreeClassifier(),
                                       ls.NeuralNetClassifier(num_epochs=2)], ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("labels", ["int64", "int32", "float", "str", "bool"])
def test_sklearn_wrappers_predict_the_labels_dtype(estimator, labels):
    X, codes = _table(60)
    y = LABELS[labels][0](codes)
    predictions = estimator.fit(X, y).predict(X)
    assert predictions.dtype == np.asarray(y).dtype
    assert predictions.dtype == estimator.classes_.dtype


@pytest.mark.parametrize("cls", [classic.LogisticRegression, classic.LinearSVC, classic.DecisionTreeClassifier])
@pytest.mark.parametrize("labels", ["int32", "float", "str", "bool"])
def test_classic_classifiers_keep_the_labels_dtype_through_save(tmp_path, cls, labels):
    X, codes = _table(60)
    y = np.asarray(LABELS[labels][0](codes))
    cls().fit(X, y).save(tmp_path / "model")
    assert learnable.load(tmp_path / "model").predict(X).dtype == y.dtype


def test_cli_predict_writes_integer_labels_as_integers(tmp_path):
    X, codes = _table()
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(label=codes)
    frame.to_csv(tmp_path / "data.csv", index=False)
    trained = runner.invoke(app, ["train", "--data", str(tmp_path / "data.csv"), "--target", "label", "--epochs", "2",
                                  "--out", str(tmp_path / "model"), "--runs-dir", str(tmp_path / "runs"), "-q"])
    assert trained.exit_code == 0, trained.output
    result = runner.invoke(app, ["predict", str(tmp_path / "model"), str(tmp_path / "data.csv"),
                                 "--out", str(tmp_path / "predictions.csv")])
    assert result.exit_code == 0, result.output
    lines = (tmp_path / "predictions.csv").read_text().splitlines()
    assert lines[0] == "prediction" and set(lines[1:]) <= {"0", "1", "2"}


# ---- labels JSON cannot carry: refused at fit, not at save ---------------------------------------
BYTES_MESSAGE = r"labels are bytes \(for example b'.*decode them to str"


def test_bytes_labels_are_refused_by_fit_before_training():
    X, codes = _table()
    with pytest.raises(TypeError, match=BYTES_MESSAGE):
        learnable.fit(X, np.array([b"no", b"yes", b"maybe"])[codes])


@pytest.mark.parametrize("cls", [classic.LogisticRegression, classic.LinearSVC, classic.DecisionTreeClassifier])
def test_bytes_labels_are_refused_by_the_classic_classifiers(cls):
    X, codes = _table(60)
    with pytest.raises(TypeError, match=BYTES_MESSAGE):
        cls().fit(X, np.array([b"no", b"yes", b"maybe"])[codes])


def test_labels_of_a_type_json_cannot_hold_are_refused_by_fit():
    X, codes = _table()
    days = pd.Series(pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"])[codes], dtype=object)
    with pytest.raises(TypeError, match=r"labels are Timestamp.*convert them to str"):
        learnable.fit(X, days)


# ---- nested cells ----------------------------------------------------------------------------------
def _nested_frame():
    return pd.DataFrame({"size": np.arange(40.0), "pixels": [np.array([1, 2]), np.array([3, 4])] * 20,
                         "label": [0, 1] * 20})


def test_a_nested_parquet_column_is_named_by_fit(tmp_path):
    pytest.importorskip("pyarrow")
    _nested_frame().to_parquet(tmp_path / "nested.parquet")
    with pytest.raises(ValueError, match=r"column 'pixels' holds ndarray values \(row 0\).*one number or category"):
        learnable.fit(tmp_path / "nested.parquet", "label")


def test_a_nested_parquet_column_is_named_by_the_cli(tmp_path):
    pytest.importorskip("pyarrow")
    _nested_frame().to_parquet(tmp_path / "nested.parquet")
    result = runner.invoke(app, ["train", "--data", str(tmp_path / "nested.parquet"), "--target", "label",
                                 "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 1
    assert "column 'pixels' holds ndarray values" in result.output
    assert "unhashable" not in result.output


@pytest.mark.parametrize("cell", [[1, 2], (1, 2), {"a": 1}, {1, 2}], ids=["list", "tuple", "dict", "set"])
def test_nested_feature_cells_are_named(cell):
    X = pd.DataFrame({"ok": np.arange(40.0), "nested": [1.0] * 39 + [cell]})
    with pytest.raises(ValueError, match=rf"column 'nested' holds {type(cell).__name__} values \(row 39\)"):
        learnable.fit(X, [0, 1] * 20)


def test_a_nested_target_is_named():
    X, _ = _table(40)
    with pytest.raises(ValueError, match=r"target 'label' holds list values \(row 0\)"):
        learnable.fit(X, pd.Series([[0], [1]] * 20, name="label"))


# ---- a regression target too large to learn --------------------------------------------------------
@pytest.mark.parametrize("scale", [1e300, 1e200], ids=["overflows", "spread-overflows"])
def test_a_target_too_large_to_scale_is_refused_before_training(scale):
    X, _ = _table()
    y = np.random.default_rng(1).normal(size=len(X)) * scale
    with pytest.raises(ValueError, match=r"target 'target' has values too large to use.*rescale it"):
        learnable.fit(X, y, num_epochs=1)


# ---- duplicated column names -----------------------------------------------------------------------
def test_duplicated_csv_columns_are_refused_not_renamed(tmp_path):
    rows = "".join(f"{i},{2 * i},{i % 2}\n" for i in range(40))
    (tmp_path / "data.csv").write_text("width,width,label\n" + rows)
    with pytest.raises(ValueError, match=r"'.*data.csv' has duplicated column names \['width'\]"):
        learnable.fit(tmp_path / "data.csv", "label")


def test_a_csv_column_that_only_looks_mangled_is_kept(tmp_path):
    rows = "".join(f"{i},{2 * i},{i % 2}\n" for i in range(40))
    (tmp_path / "data.csv").write_text("width,width.1,label\n" + rows)
    X, _ = learnable.data.read_table(tmp_path / "data.csv", target="label")
    assert list(X.columns) == ["width", "width.1"]


# ---- more found by trying tables a user might have ------------------------------------------------
def test_labels_that_mix_strings_and_numbers_are_refused():
    X, codes = _table()
    with pytest.raises(TypeError, match=r"labels mix int and str.*give every label one type.*astype\(str\)"):
        learnable.fit(X, pd.Series(np.array([1, "two", 3], dtype=object)[codes]))


def test_numbers_held_in_an_object_column_are_numbers():
    X, codes = _table()
    y = pd.Series(X[:, 0] * 3 + 1, dtype=object)  # e.g. from JSON records
    frame = pd.DataFrame({"a": pd.Series(X[:, 0], dtype=object), "b": X[:, 1]})
    model = learnable.fit(frame, y, num_epochs=2)
    assert model.task_ == "regression" and model.schema_.numeric == ["a", "b"]
    assert model.predict(frame).dtype == np.float64


def test_a_missing_category_is_a_category_or_with_missing_error_met_with_a_hint_for_text():
    X, codes = _table()
    frame = pd.DataFrame({"size": X[:, 0], "city": np.array(["Oslo", "Rome", "Paris"])[codes].astype(object)})
    frame.loc[7, "city"] = None
    with pytest.raises(ValueError, match=r"column 'city' has 1 missing values \(rows 7\).*fillna\('missing'\)"):
        learnable.fit(frame, codes, missing="error")
    model = learnable.fit(frame, codes, num_epochs=2)
    assert "(missing)" in model.schema_.categories["city"]
    assert len(model.predict(frame.iloc[[7]])) == 1


def test_a_feature_too_large_to_scale_is_not_called_a_target():
    X, codes = _table()
    frame = pd.DataFrame({"huge": X[:, 0] * 1e200, "b": X[:, 1]})
    with pytest.raises(ValueError, match=r"column 'huge' has values too large") as error:
        learnable.fit(frame, codes)
    assert "target" not in str(error.value)


def test_many_duplicated_csv_columns_are_listed_briefly(tmp_path):
    names = [f"c{i}" for i in range(300)] * 2 + ["label"]  # 300 names, each twice
    (tmp_path / "data.csv").write_text(",".join(names) + "\n" + "0," * 600 + "1\n")
    with pytest.raises(ValueError, match=r"duplicated column names \['c0', 'c1', 'c10', 'c100', 'c101'\] and 295 "
                                         r"more in its header") as caught:
        learnable.data.read_table(tmp_path / "data.csv", target="label")
    assert len(str(caught.value)) < 400
