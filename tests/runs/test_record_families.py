"""A Forecaster's and an AnomalyDetector's training is recorded in the run store and reported like any run."""

import numpy as np

from learnable import AnomalyDetector, Forecaster
from learnable.insight import write_report
from learnable.runs import RecordRun, RunStore


def _record(tmp_path, name, train):
    store = RunStore(tmp_path / "runs")
    run_id = store.create(name, config={}, seed=0)
    train([RecordRun(store, run_id)])
    record = store.load_record(run_id)
    page = write_report(record, tmp_path / f"{name}.html").read_text()
    return record, page


def test_a_forecaster_run_is_recorded_and_reported(tmp_path):
    series = np.sin(np.arange(300) / 4.0)
    forecaster = Forecaster(window=8, num_epochs=3, hidden_size=8)
    record, page = _record(tmp_path, "forecast", lambda callbacks: forecaster.fit(series, callbacks=callbacks))
    assert record["status"] == "finished" and len(record["epochs"]) == len(forecaster.history_) == 3
    assert [e["val_loss"] for e in record["epochs"]] == [e["val_loss"] for e in forecaster.history_]
    assert "recurrent" in record["epochs"][-1]["stats"]["activations"]  # the LSTM was watched
    assert "forecast" in page


def test_an_anomaly_detector_run_is_recorded(tmp_path):
    rows = np.random.default_rng(0).normal(size=(120, 6))
    detector = AnomalyDetector("dense", num_epochs=2, latent_size=2)
    record, page = _record(tmp_path, "anomaly", lambda callbacks: detector.fit(rows, callbacks=callbacks))
    assert record["status"] == "finished" and len(record["epochs"]) == 2
    assert record["epochs"][-1]["val_loss"] == detector.history_[-1]["val_loss"]
    assert "anomaly" in page
