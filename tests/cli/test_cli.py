"""The ``learnable`` command: train and predict on files, help, and one-line errors for user mistakes.

Most tests call the Typer app in-process with CliRunner; a few run the installed console script.
"""

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import learnable
from cli_checks import assert_user_error
from learnable.cli import app

LEARNABLE = Path(sys.executable).parent / "learnable"  # the console script of this virtualenv
runner = CliRunner()


@pytest.fixture(scope="module")
def files(tmp_path_factory, iris):
    """An iris CSV with its 'species' target, the same rows without it, and a model trained on it."""
    folder = tmp_path_factory.mktemp("cli")
    X, y = iris
    X.assign(species=y).to_csv(folder / "iris.csv", index=False)
    X.to_csv(folder / "features.csv", index=False)
    result = runner.invoke(app, ["train", "--data", str(folder / "iris.csv"), "--target", "species",
                                 "--out", str(folder / "model"), "--quiet"])
    return folder, result


# ---- train ---------------------------------------------------------------------------------------


def test_train_on_a_csv_reports_and_saves(files):
    folder, result = files
    assert result.exit_code == 0, result.output
    accuracy = float(re.search(r"^test accuracy: ([0-9.]+)$", result.stdout, re.MULTILINE).group(1))
    assert accuracy >= 0.8  # 15 test rows: measured 0.867
    assert f"model saved to {folder / 'model'}" in result.stdout
    assert "task: multiclass (3 classes); model: mlp" in result.stdout
    model = learnable.load(folder / "model")
    assert model.schema_.target_name == "species"
    assert f"{model.metrics_['accuracy']:.4f}" == f"{accuracy:.4f}"


# ---- predict -------------------------------------------------------------------------------------


def test_predict_prints_csv(files, iris):
    folder, _ = files
    result = runner.invoke(app, ["predict", str(folder / "model"), str(folder / "features.csv")])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(io.StringIO(result.stdout))
    assert list(table.columns) == ["prediction"]
    expected = learnable.load(folder / "model").predict(iris[0])
    assert table["prediction"].tolist() == expected.tolist()
    assert "score on" not in result.stderr  # no target column in this file


def test_predict_with_proba_adds_a_column_per_class(files):
    folder, _ = files
    result = runner.invoke(app, ["predict", str(folder / "model"), str(folder / "features.csv"), "--proba"])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(io.StringIO(result.stdout))
    proba = ["proba_setosa", "proba_versicolor", "proba_virginica"]
    assert list(table.columns) == ["prediction", *proba]
    np.testing.assert_allclose(table[proba].sum(axis=1), 1.0, atol=1e-9)
    assert (table[proba].idxmax(axis=1).str.removeprefix("proba_") == table["prediction"]).all()


def test_predict_reports_the_score_when_the_target_is_present(files, iris):
    folder, _ = files
    result = runner.invoke(app, ["predict", str(folder / "model"), str(folder / "iris.csv")])
    assert result.exit_code == 0, result.output
    score = learnable.load(folder / "model").score(*iris)
    assert f"score on the 'species' column: {score:.4f}" in result.stderr
    assert list(pd.read_csv(io.StringIO(result.stdout)).columns) == ["prediction"]


def test_predict_writes_json_records(files, tmp_path):
    folder, _ = files
    out = tmp_path / "predictions.json"
    result = runner.invoke(app, ["predict", str(folder / "model"), str(folder / "features.csv"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    records = json.loads(out.read_text())
    assert len(records) == 150 and set(records[0]) == {"prediction"}
    assert records[0]["prediction"] == "setosa"
    assert f"150 predictions written to {out}" in result.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["predictions.json"]  # no temporary file left


def test_predict_refuses_other_output_types(files, tmp_path):
    folder, _ = files
    out = tmp_path / "predictions.txt"
    result = runner.invoke(app, ["predict", str(folder / "model"), str(folder / "features.csv"), "--out", str(out)])
    assert_user_error(result, "must end in .csv or .json")
    assert not out.exists()


def test_predict_with_a_directory_that_is_not_a_model(files):
    folder, _ = files
    result = runner.invoke(app, ["predict", str(folder), str(folder / "features.csv")])
    assert_user_error(result, "is not a learnable model: model.json is missing")


# ---- user errors in train ------------------------------------------------------------------------


def test_train_on_a_file_needs_a_target(files):
    folder, _ = files
    result = runner.invoke(app, ["train", "--data", str(folder / "iris.csv")])
    assert_user_error(result, "--target is required with --data FILE", "'species'")


def test_train_on_a_missing_file(tmp_path):
    result = runner.invoke(app, ["train", "--data", str(tmp_path / "nope.csv"), "--target", "y"])
    assert_user_error(result, "no such file:", "nope.csv")


def test_train_with_an_unknown_model(files, tmp_path):
    folder, _ = files
    result = runner.invoke(app, ["train", "--data", str(folder / "iris.csv"), "--target", "species",
                                 "--model", "forest", "--out", str(tmp_path / "m")])
    assert_user_error(result, "unknown model 'forest'")
    assert not (tmp_path / "m").exists()


def test_train_with_a_target_that_is_not_a_column(files):
    folder, _ = files
    result = runner.invoke(app, ["train", "--data", str(folder / "iris.csv"), "--target", "colour"])
    assert_user_error(result, "has no column 'colour'", "'species'")


def test_a_table_with_empty_cells_trains_and_predicts_as_it_is(tmp_path, iris):
    X, y = iris
    table = X.assign(species=y, site=np.where(np.arange(len(y)) % 3 == 0, "north", "south").astype(object))
    table.loc[[7, 40, 90], "petal width (cm)"] = np.nan
    table.loc[[5, 60], "site"] = None
    table.to_csv(tmp_path / "holes.csv", index=False)  # empty cells, as a spreadsheet writes them
    result = runner.invoke(app, ["train", "--data", str(tmp_path / "holes.csv"), "--target", "species", "--quiet",
                                 "--out", str(tmp_path / "m"), "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    accuracy = float(result.stdout.split("test accuracy: ")[1].split()[0])
    assert accuracy >= 0.8  # 15 test rows: measured 0.867
    result = runner.invoke(app, ["predict", str(tmp_path / "m"), str(tmp_path / "holes.csv")])
    assert result.exit_code == 0, result.output
    predictions = pd.read_csv(io.StringIO(result.stdout))["prediction"]
    assert len(predictions) == 150 and set(predictions) <= set(y)


def test_missing_error_refuses_a_table_with_empty_cells_naming_the_column(tmp_path, iris):
    X, y = iris
    table = X.assign(species=y)
    table.loc[7, "petal width (cm)"] = np.nan
    table.to_csv(tmp_path / "holes.csv", index=False)
    result = runner.invoke(app, ["train", "--data", str(tmp_path / "holes.csv"), "--target", "species",
                                 "--missing", "error", "--out", str(tmp_path / "m")])
    assert_user_error(result, "column 'petal width (cm)' has 1 missing values (rows 7)")
    result = runner.invoke(app, ["train", "--data", "iris", "--missing", "drop"])
    assert_user_error(result, "missing='drop' is not known; choose one of ['impute', 'error']")


# ---- help ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "expected"), [
    ([], ["train", "predict"]),
    (["train"], ["--data", "--target", "--model", "--out"]),
    (["predict"], ["model_dir", "data_file", "--proba", "--out"]),
], ids=["app", "train", "predict"])
def test_help(args, expected):
    result = runner.invoke(app, [*args, "--help"])
    assert result.exit_code == 0, result.output
    for word in expected:
        assert word in result.stdout.lower()


# ---- the installed console script ----------------------------------------------------------------


def _run(*args: str, cwd: Path | None = None, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run([str(LEARNABLE), *args], capture_output=True, text=True, cwd=cwd, timeout=timeout)


def test_console_script_predicts(files):
    folder, _ = files
    result = _run("predict", str(folder / "model"), str(folder / "iris.csv"))
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(io.StringIO(result.stdout))
    assert len(table) == 150 and set(table["prediction"]) <= {"setosa", "versicolor", "virginica"}
    assert "score on the 'species' column:" in result.stderr


def test_console_script_reports_a_user_error_in_one_line(tmp_path):
    result = _run("predict", str(tmp_path / "nowhere"), str(tmp_path / "rows.csv"))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: no model directory at '{tmp_path / 'nowhere'}'; expected a folder with model.json and "
        "model.safetensors."
    ]
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.slow
def test_console_script_trains_the_default_digit_classifier(tmp_path):
    result = _run("train", cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr
    accuracy = float(re.search(r"^test accuracy: ([0-9.]+)$", result.stdout, re.MULTILINE).group(1))
    assert accuracy >= 0.97
    assert (tmp_path / "models" / "mnist-sample" / "model.json").is_file()
    assert learnable.load(tmp_path / "models" / "mnist-sample").training_["model"] == "cnn"
    report = Path(re.search(r"^report: (\S+)", result.stdout, re.MULTILINE).group(1))
    assert report.is_file() and report.stat().st_size > 100_000  # the plots are embedded
    doctor = _run("doctor", "last", cwd=tmp_path, timeout=120)
    assert doctor.returncode == 0 and "Nothing found" in doctor.stdout, doctor.stdout  # a healthy run


@pytest.mark.parametrize("option, message", [(["--lr", "-1"], "optimizer lr=-1.0 must be a finite number >= 0"),
                                             (["--epochs", "0"], "num_epochs=0 must be a whole number >= 1"),
                                             (["--batch-size", "0"], "batch_size=0 must be a whole number >= 1")])
def test_bad_settings_are_refused_before_a_run_is_recorded(tmp_path, option, message):
    result = runner.invoke(app, ["train", "--data", "wine", "--quiet", "--runs-dir", str(tmp_path / "runs"),
                                 "--out", str(tmp_path / "model"), *option])
    assert_user_error(result, message)
    assert not (tmp_path / "runs").exists() and not (tmp_path / "model").exists()


def test_images_train_augmented_unless_told_not_to(tmp_path):
    for flag, augmented in (("--augment", True), ("--no-augment", False)):
        out = tmp_path / flag
        result = runner.invoke(app, ["train", "--data", "digits", "--epochs", "1", flag, "--out", str(out),
                                     "--runs-dir", str(tmp_path / "runs"), "--quiet"])
        assert result.exit_code == 0, result.output
        training = json.loads((out / "model.json").read_text())["fitted_model"]["training"]
        assert training["model"] == "cnn" and training["augment"] is augmented


def test_a_missing_extra_is_one_error_line(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "statsmodels", None)  # as if statsmodels were not installed
    monkeypatch.setitem(sys.modules, "statsmodels.datasets", None)
    result = runner.invoke(app, ["train", "--data", "sunspots", "--runs-dir", str(tmp_path / "runs")])
    assert_user_error(result, 'pip install "learnable[timeseries]"')


def test_forecast_trains_saves_and_records_a_series_forecaster(tmp_path):
    t = np.arange(240)
    pd.DataFrame({"t": t, "level": np.sin(2 * np.pi * t / 12) + 0.02 * t}).to_csv(tmp_path / "s.csv", index=False)
    result = runner.invoke(app, ["forecast", "--data", str(tmp_path / "s.csv"), "--column", "level", "--window", "12",
                                 "--season", "12", "--epochs", "30", "--out", str(tmp_path / "f"),
                                 "--runs-dir", str(tmp_path / "runs"), "--quiet"])
    assert result.exit_code == 0, result.output
    forecaster = learnable.load(tmp_path / "f")
    line = next(x for x in result.output.splitlines() if x.startswith("test MAE"))
    assert f"{forecaster.metrics_['mae']:.4g} (lstm), naive last value {forecaster.metrics_['naive_mae']:.4g}" in line
    assert forecaster.metrics_["mae"] < forecaster.metrics_["naive_mae"]
    assert (tmp_path / "runs").is_dir() and "report:" in result.output


@pytest.mark.parametrize("args, message", [
    (["--data", "iris"], "'iris' is not a series; the built-in series are sunspots and co2"),
    (["--data", "FILE"], "--column is required with a file: name the column holding the series, one of ['a']"),
    (["--data", "FILE", "--column", "b"], "there is no column 'b'"),
    (["--cell", "transformer"], "cell='transformer' is not known"),
    (["--window", "0"], "window"),
])
def test_forecast_mistakes_are_one_error_line(tmp_path, args, message):
    (tmp_path / "f.csv").write_text("a\n1\n2\n3\n")
    args = [str(tmp_path / "f.csv") if a == "FILE" else a for a in args]
    result = runner.invoke(app, ["forecast", *args, "--runs-dir", str(tmp_path / "runs")])
    assert_user_error(result, message)
    assert not (tmp_path / "runs").exists()  # refused before a run was recorded


def test_forecast_refuses_a_text_column_before_recording_a_run(tmp_path):
    (tmp_path / "f.csv").write_text("a\nx\ny\nz\n")
    result = runner.invoke(app, ["forecast", "--data", str(tmp_path / "f.csv"), "--column", "a",
                                 "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 1 and result.stderr.startswith("error: ")
    assert not (tmp_path / "runs").exists()


def test_a_raw_orders_table_trains_as_it_is_and_warnings_are_one_line(tmp_path):
    rng = np.random.default_rng(0)
    rows = 400
    table = pd.DataFrame({"order_id": [f"ord-{i:05d}" for i in range(rows)], "amount": rng.normal(50, 10, rows),
                          "day": pd.date_range("2023-01-01", periods=rows, freq="D").astype(str)})
    table.loc[::17, "amount"] = np.nan
    table["big"] = np.where(table["amount"].fillna(50) > 50, "yes", "no")
    table.to_csv(tmp_path / "orders.csv", index=False)  # an id, dates as text, gaps: a table as users have it
    result = subprocess.run(  # a fresh process, as a user runs it: Python's warnings as they print there
        [sys.executable, "-m", "learnable.cli", "train", "--data", str(tmp_path / "orders.csv"), "--target", "big",
         "--quiet", "--out", str(tmp_path / "m"), "--runs-dir", str(tmp_path / "runs")],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("warning: left out column(s) ['order_id']: a different value in nearly every row")
    assert len(result.stderr.strip().splitlines()) == 1  # one line, without the file and line of learnable's code
    assert float(result.stdout.split("test accuracy: ")[1].split()[0]) >= 0.9
