"""More user mistakes, each met with a clear error (found by review): through fit, the Learner and the CLI."""

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from typer.testing import CliRunner

import learnable
from learnable import Learner
from learnable.cli import app


def test_a_rare_class_through_fit_names_the_class_and_the_ways_out():
    X = [[float(i)] for i in range(20)]
    with pytest.raises(ValueError, match=r"class 'b' has only 1 row\(s\).*task='regression'"):
        learnable.fit(X, ["a"] * 18 + ["b", "c"])


@pytest.mark.parametrize(
    ("setting", "message"),
    [({"num_epochs": 0}, r"num_epochs=0 must be"), ({"lr": 0}, r"lr=0 would never change"),
     ({"batch_size": 0}, r"batch_size=0 must be")],
)
def test_zero_settings_are_refused_not_replaced_by_defaults(iris, setting, message):
    with pytest.raises(ValueError, match=message):
        learnable.fit(*iris, **setting)


def test_large_offset_values_keep_their_differences():
    stamps = 1.7e9 + np.arange(200, dtype=np.float64)  # timestamps: float32 would merge them
    X = pd.DataFrame({"time": stamps})
    schema = learnable.data.Schema.learn(X, pd.Series(np.arange(200.0)), "regression")
    assert len(np.unique(schema.transform(X))) == 200


def test_values_too_large_to_scale_are_a_clear_error():
    X = pd.DataFrame({"huge": [1e300, -1e300, 0.0, 1.0] * 10})
    with pytest.raises(ValueError, match=r"column .huge. has values too large"):
        learnable.fit(X, [0.5, 1.5, 2.5, 3.5] * 10)


def _xy(rows=64):
    return torch.randn(rows, 4), torch.randint(0, 2, (rows,))


def test_a_dataloader_needs_no_validation_argument():
    loader = DataLoader(TensorDataset(*_xy()), batch_size=16)
    learner = Learner(nn.Linear(4, 2), loader, progress=False)
    assert learner.val_loader is None
    assert learner.fit(2).history[-1]["epoch"] == 2


def test_a_generator_read_twice_is_a_clear_error():
    X, y = _xy()
    batches = ((X[i : i + 16], y[i : i + 16]) for i in range(0, 64, 16))
    with pytest.raises(ValueError, match=r"yielded no batches in epoch 2; a generator can be read only once"):
        Learner(nn.Linear(4, 2), batches, progress=False).fit(2)


@pytest.mark.parametrize(
    ("data", "options", "error", "message"),
    [
        (TensorDataset(*_xy()), {"validation": 0.2}, ValueError, r"a fraction can only be split off \(X, y\) arrays"),
        (42, {}, TypeError, r"data must be an \(X, y\) pair or an iterable"),
        (_xy(), {"validation": True}, TypeError, r"validation=True: pass a fraction"),
        (_xy(), {"validation": "half"}, TypeError, r"validation='half'"),
        (_xy(), {"device": "tpu"}, ValueError, r"device='tpu' is not a device"),
    ],
)
def test_learner_input_mistakes(data, options, error, message):
    with pytest.raises(error, match=message):
        Learner(nn.Linear(4, 2), data, progress=False, **options)


def test_predict_on_the_wrong_width_is_a_clear_error():
    learner = Learner(nn.Linear(4, 2), _xy(), validation=None, progress=False).fit(1)
    with pytest.raises(ValueError, match=r"the model cannot take this input"):
        learner.predict(torch.randn(3, 5))


@pytest.fixture(scope="module")
def model_and_csv(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mistakes")
    X, y, _ = learnable.data.datasets.load("iris")
    y = y.rename("species")
    learnable.fit(X, y, model="logistic", num_epochs=5).save(folder / "model")
    X.assign(species=y).to_csv(folder / "iris.csv", index=False)
    return folder


@pytest.mark.parametrize(("out", "message"), [("missing/p.csv", r"does not exist"), (".", r"is a directory")])
def test_predict_out_mistakes_fail_before_writing(model_and_csv, out, message):
    folder = model_and_csv
    target = folder / out if out != "." else folder / "as-dir.csv"
    if out == ".":
        target.mkdir(exist_ok=True)
    result = CliRunner().invoke(app, ["predict", str(folder / "model"), str(folder / "iris.csv"), "--out", str(target)])
    assert result.exit_code == 1 and result.stderr.startswith("error: ") and message.split("\\")[0] in result.stderr
    assert not list(folder.glob(".*.tmp"))


def test_predict_with_unseen_labels_still_predicts(model_and_csv):
    folder = model_and_csv
    frame = pd.read_csv(folder / "iris.csv")
    frame.loc[0, "species"] = "orchid"
    frame.to_csv(folder / "odd.csv", index=False)
    result = CliRunner().invoke(app, ["predict", str(folder / "model"), str(folder / "odd.csv")])
    assert result.exit_code == 0
    assert "warning: no score" in result.stderr and "orchid" in result.stderr
    assert result.stdout.count("\n") == 151  # header + one line per row
