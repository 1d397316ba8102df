"""The Forecaster: beats the naive forecasts on a synthetic and on real series, measures itself exactly
as NumPy / scikit-learn would, saves and loads without pickle, and refuses bad input before training."""

import json

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import mean_absolute_error, mean_squared_error

import learnable
from learnable.data.windows import sliding_windows
from learnable.tasks.forecast import Forecaster, seasonal_naive


def seasonal_series(steps: int = 480, seed: int = 0) -> np.ndarray:
    """A sine of period 24 on a rising trend, with noise of sd 0.3 (the best possible MAE is about 0.24)."""
    t = np.arange(steps)
    return 10 + 3 * np.sin(2 * np.pi * t / 24) + 0.02 * t + np.random.default_rng(seed).normal(0, 0.3, steps)


@pytest.fixture(scope="module")
def fitted():
    """An LSTM forecaster of the seasonal series, 6 steps ahead (a few seconds)."""
    series = seasonal_series()
    forecaster = Forecaster(window=24, horizon=6, season=24, hidden_size=32, num_epochs=40, patience=10)
    return forecaster.fit(series), series


def test_beats_naive_and_seasonal_naive_on_a_seasonal_series(fitted):
    forecaster, _ = fitted
    m = forecaster.metrics_
    assert m["mae"] / m["naive_mae"] < 0.3  # measured 0.17
    assert m["mae"] / m["seasonal_naive_mae"] < 0.8  # measured 0.5: the trend moves a season's values
    assert m["mae"] < 0.35  # near the noise floor of about 0.24
    assert m["windows"] == 96 - 6 + 1  # the test block is the last 96 steps; each is a target once
    assert forecaster.training_["test_start"] == 384


def test_metrics_equal_sklearn_on_every_test_window(fitted):
    forecaster, series = fitted
    history = series[forecaster.training_["test_start"] - 24:]  # the test block and the 24 steps before it
    X, y = sliding_windows(history, 24, 6, dtype=np.float64)
    windows = X[:, :, 0]
    forecasts = np.stack([forecaster.predict(window) for window in windows])  # one window at a time
    m = forecaster.metrics_
    # The network runs in float32, and a batch of windows may take other CPU kernels than one window
    # (on some hosts the sums round differently, about 1e-8 apart): agreement to float32's precision.
    assert m["mae"] == pytest.approx(mean_absolute_error(y, forecasts), rel=1e-6)
    assert m["rmse"] == pytest.approx(np.sqrt(mean_squared_error(y, forecasts)), rel=1e-6)
    assert m["naive_mae"] == pytest.approx(np.abs(y - windows[:, -1:]).mean(), rel=1e-12)
    assert m["seasonal_naive_mae"] == pytest.approx(np.abs(y - windows[:, -24:-18]).mean(), rel=1e-12)
    assert forecaster.evaluate(history) == m


def test_predict_reads_the_last_window_and_answers_in_series_units(fitted):
    forecaster, series = fitted
    forecast = forecaster.predict(series)  # the whole history: only its last 24 values count
    assert forecast.shape == (6,) and forecast.dtype == np.float64
    np.testing.assert_array_equal(forecast, forecaster.predict(series[-24:].tolist()))
    dated = pd.Series(series[-30:], index=pd.date_range("2020-01-01", periods=30, freq="h"))
    np.testing.assert_array_equal(forecaster.predict(dated), forecast)
    assert np.abs(forecast - series[-24:-18] - 0.48).max() < 1.5  # about a season later, plus the trend


def test_a_zero_network_output_is_the_naive_forecast_when_relative(fitted):
    """relative=True: the network predicts the change from the window's last value."""
    forecaster, series = fitted
    copy = Forecaster.__new__(Forecaster)
    copy.__dict__.update(forecaster.__dict__)
    copy.network_ = learnable.models.RNN(in_features=1, out_features=6, hidden_size=32).eval()
    torch.nn.init.zeros_(copy.network_.head.weight)
    torch.nn.init.zeros_(copy.network_.head.bias)
    metrics = copy.evaluate(series[-150:])
    assert metrics["mae"] == pytest.approx(metrics["naive_mae"], rel=1e-9)
    copy.relative = False  # absolute: a zero output is the training block's mean
    np.testing.assert_allclose(copy.predict(series), np.full(6, forecaster.scaling_["mean"]))


def test_save_and_load_give_identical_forecasts_without_pickle(fitted, tmp_path):
    forecaster, series = fitted
    path = forecaster.save(tmp_path / "forecaster")
    info = json.loads((path / "model.json").read_text())
    assert info["model"]["name"] == "rnn"
    assert info["forecaster"]["settings"]["window"] == 24
    assert info["forecaster"]["scaling"] == forecaster.scaling_
    loaded = Forecaster.load(path)
    np.testing.assert_array_equal(loaded.predict(series), forecaster.predict(series))
    assert loaded.metrics_ == forecaster.metrics_
    assert loaded.get_params() == forecaster.get_params()
    assert loaded.evaluate(series[-120:]) == forecaster.evaluate(series[-120:])
    assert len(loaded.history_) == len(forecaster.history_) == forecaster.training_["epochs"]


def test_load_refuses_a_model_that_is_not_a_forecaster(tmp_path, iris_model):
    iris_model.save(tmp_path / "iris")
    with pytest.raises(ValueError, match=r"holds a learnable model but not a Forecaster"):
        Forecaster.load(tmp_path / "iris")


def test_save_refuses_to_replace_a_model_json_of_another_program(fitted, tmp_path):
    forecaster, _ = fitted
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "model.json").write_text('{"keep": "me"}')
    with pytest.raises(ValueError, match=r"holds a 'model.json' that learnable did not write"):
        forecaster.save(tmp_path / "notes")
    assert [p.name for p in (tmp_path / "notes").iterdir()] == ["model.json"]  # nothing half-written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes"]


def test_without_validation_or_test_it_trains_every_epoch_and_measures_nothing():
    forecaster = Forecaster(window=8, validation=0.0, test=0.0, num_epochs=3, hidden_size=8)
    forecaster.fit(pd.Series(np.sin(np.arange(120) / 4)).tolist())
    assert forecaster.training_["epochs"] == 3
    assert forecaster.metrics_ == {}
    assert forecaster.scaling_["mean"] == pytest.approx(np.sin(np.arange(120) / 4).mean())


def test_seasonal_naive_repeats_the_latest_value_of_the_same_phase():
    windows = np.arange(10.0)[None, :]  # (1, 10)
    for horizon, season in ((5, 3), (2, 1), (4, 4)):
        expected = [windows[0, 10 + h - season * int(np.ceil((h + 1) / season))] for h in range(horizon)]
        assert seasonal_naive(windows, horizon, season)[0].tolist() == expected


# ---- real series shipped by statsmodels --------------------------------------------------------------
def test_series_datasets_are_statsmodels_data_with_dates():
    sm_datasets = pytest.importorskip("statsmodels.datasets")
    X, y, description = learnable.data.datasets.load("sunspots")
    source = sm_datasets.sunspots.load_pandas().data
    np.testing.assert_array_equal(y.to_numpy(), source["SUNACTIVITY"].to_numpy())
    assert isinstance(y.index, pd.DatetimeIndex) and y.index.year.tolist() == X["year"].tolist()
    assert (y.index[0].year, y.index[-1].year, y.name) == (1700, 2008, "sunspots")
    assert "sunspot" in description
    X, y, _ = learnable.data.datasets.load("co2")
    weekly = sm_datasets.co2.load_pandas().data["co2"]
    assert len(y) == 526 and not y.isna().any() and y.index.is_monotonic_increasing
    assert y.iloc[0] == pytest.approx(weekly["1958-03"].mean())  # a month is the mean of its weeks
    assert list(X.columns) == ["year", "month"] and X.iloc[-1].tolist() == [2001, 12]
    assert "co2" not in X.columns  # learnable.fit(X, y) regresses on time, never on the values themselves


def test_beats_naive_on_yearly_sunspots():
    pytest.importorskip("statsmodels")
    series = learnable.data.datasets.load("sunspots").y  # a pandas Series with a DatetimeIndex
    forecaster = Forecaster(window=22, horizon=1, season=11, hidden_size=32, patience=20).fit(series)
    m = forecaster.metrics_
    assert m["windows"] == 62  # the last 20% of 309 years
    assert m["mae"] / m["naive_mae"] < 0.8  # measured 0.57 to 0.61 for lstm, gru and rnn
    assert m["mae"] < m["seasonal_naive_mae"]  # the ~11-year cycle is too irregular to repeat


@pytest.mark.slow
@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_beats_naive_and_seasonal_naive_on_monthly_co2_a_year_ahead(cell):
    pytest.importorskip("statsmodels")
    series = learnable.data.datasets.load("co2").y
    forecaster = Forecaster(window=24, horizon=12, season=12, cell=cell, hidden_size=32, patience=20).fit(series)
    m = forecaster.metrics_
    assert m["mae"] / m["naive_mae"] < 0.4  # measured 0.17 to 0.19
    assert m["mae"] / m["seasonal_naive_mae"] < 0.6  # measured 0.27 to 0.30: the trend, which a season repeats


# ---- bad input, refused before any training --------------------------------------------------------
@pytest.fixture
def no_training(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr("learnable.tasks.forecast.Learner", refuse)


@pytest.mark.parametrize(
    ("settings", "series", "error", "message"),
    [
        ({"window": 30, "horizon": 5}, np.arange(30.0), ValueError,
         r"the series has 30 steps, too short for one example of window=30 \+ horizon=5"),
        ({"window": 36}, np.arange(50.0), ValueError, r"the train block has 35 steps \(of 50\); it needs at least 37"),
        ({"window": 4}, [1.0, 2.0, np.nan] * 20, ValueError, r"series has 20 missing or infinite values"),
        ({"window": 4}, np.zeros((60, 2)), ValueError,
         r"series has shape \(60, 2\); a Forecaster forecasts one series"),
        ({"window": 4}, ["1.5"] * 60, TypeError, r"series holds text values"),
        ({"window": 4}, "1,2,3", TypeError, r"series is a string"),
        ({"horizon": 0}, np.arange(99.0), ValueError, r"horizon=0 must be a whole number >= 1"),
        ({"window": 8, "season": 12}, np.arange(99.0), ValueError, r"season=12 is longer than window=8"),
        ({"season": 0}, np.arange(99.0), ValueError, r"season=0 must be None or a whole number >= 1, for example 12"),
        ({"cell": "transformer"}, np.arange(99.0), ValueError, r"cell='transformer' is not known"),
        ({"hidden_size": -1}, np.arange(99.0), ValueError, r"RNN hidden_size=-1 must be a whole number >= 1"),
        ({"num_epochs": 0}, np.arange(99.0), ValueError, r"num_epochs=0 must be a whole number >= 1"),
        ({"validation": 0.5, "test": 0.5}, np.arange(99.0), ValueError, r"leave no steps to train on"),
        ({"patience": 0}, np.arange(99.0), ValueError, r"patience=0 must be a whole number >= 1"),
        ({"patience": True}, np.arange(99.0), ValueError, r"patience=True must be a whole number >= 1"),
        ({"relative": "yes"}, np.arange(99.0), ValueError, r"relative='yes' must be True or False"),
        ({"lr": -1.0}, np.arange(99.0), ValueError, r"lr"),
    ],
)
def test_bad_input_gets_a_clear_error_before_training(no_training, settings, series, error, message):
    with pytest.raises(error, match=message):
        Forecaster(**settings).fit(series)


def test_patience_may_be_a_numpy_integer():
    forecaster = Forecaster(window=4, patience=np.int64(1), num_epochs=3).fit(np.sin(np.arange(99.0) / 4))
    assert forecaster.patience == 1 and forecaster.training_["epochs"] >= 2


def test_predict_needs_a_fitted_forecaster_and_a_full_window(fitted):
    with pytest.raises(ValueError, match=r"not fitted yet; call .fit\(series\) or Forecaster.load"):
        Forecaster().predict(np.zeros(24))
    forecaster, _ = fitted
    with pytest.raises(ValueError, match=r"recent has 10 values; the forecaster reads the last window=24"):
        forecaster.predict(np.zeros(10))
    with pytest.raises(ValueError, match=r"recent has 1 missing or infinite values"):
        forecaster.predict(np.r_[np.zeros(23), np.nan])
    with pytest.raises(ValueError, match=r"series_part has 20 steps; evaluate needs at least window \+ horizon = 30"):
        forecaster.evaluate(np.zeros(20))


def test_a_failed_refit_leaves_the_fitted_forecaster_as_it_was():
    from learnable.callbacks.events import Callback

    class Fail(Callback):
        def before_fit(self, learner):
            raise RuntimeError("stop")

    series = np.sin(np.arange(200) / 4.0)
    forecaster = Forecaster(window=8, num_epochs=2, hidden_size=4).fit(series)
    before = forecaster.predict(series[-8:])
    with pytest.raises(RuntimeError, match="stop"):
        forecaster.fit(series * 1000 + 5000, callbacks=[Fail()])
    np.testing.assert_array_equal(forecaster.predict(series[-8:]), before)
