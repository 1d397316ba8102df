"""`learnable forecast`: an RNN forecaster on a series, tested against the naive forecasts.

    learnable forecast --data co2 --horizon 12 --season 12
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from learnable.cli.app import RUNS_DIR, SEED, app, end_recorded_run, ending_recorded, user_errors
from learnable.utils.terminal import say


@app.command()
@user_errors
def forecast(
    data: str = typer.Option("sunspots", help="A built-in series (sunspots, co2) or a CSV/Parquet file in time order."),
    column: str = typer.Option(None, help="The column holding the series (required for files)."),
    window: int = typer.Option(24, help="Past values each forecast reads."),
    horizon: int = typer.Option(1, help="Future values each forecast gives."),
    cell: str = typer.Option("lstm", help="lstm, gru or rnn."),
    season: int = typer.Option(None, help="The season length for the seasonal-naive baseline (e.g. 12 for months)."),
    epochs: int = typer.Option(200, help="Most epochs (early stopping on the validation block may end sooner)."),
    seed: int = SEED,
    out: Path = typer.Option(None, help="Where to save the forecaster (default: models/<data name>-forecast)."),
    runs_dir: Path = RUNS_DIR,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No per-epoch lines."),
) -> None:
    """Train an RNN forecaster on a series, test it on the last 20% against the naive forecasts, save it."""
    from learnable import Forecaster
    from learnable.data import fingerprint
    from learnable.data.windows import as_series
    from learnable.model_file import check_replaceable
    from learnable.runs import RecordRun, RunStore
    from learnable.utils.validation import check_output_path

    series, name = _load_series(data, column)
    as_series(series)  # a column of text or with gaps: refused before a run is recorded
    forecaster = Forecaster(window, horizon, cell=cell, season=season, num_epochs=epochs, seed=seed,
                            progress=not quiet)
    forecaster.check_settings()  # before a run is recorded
    out = Path(out or Path("models") / f"{name}-forecast")
    check_output_path(out, inputs=[data])
    check_replaceable(out)
    store = RunStore(runs_dir)
    settings = {"data": data, "column": column, **forecaster.get_params(), "out": str(out)}
    run_id = store.create(f"{name}-forecast", config=settings, seed=seed, dataset=fingerprint(series.to_frame()))
    say(f"run {run_id}: {name}, {len(series)} steps; the last 20% is the test block, 10% before it validation")
    with ending_recorded(store, run_id):
        forecaster.fit(series, callbacks=[RecordRun(store, run_id, finish=False)])
        path = forecaster.save(out)
    m = forecaster.metrics_
    say(f"test MAE: {m['mae']:.4g} ({cell}), naive last value {m['naive_mae']:.4g}"
        + (f", seasonal naive {m['seasonal_naive_mae']:.4g}" if "seasonal_naive_mae" in m else ""))
    say(f"model saved to {path}")
    end_recorded_run(store, run_id, {"test": m, **forecaster.training_}, {"model": path})


def _load_series(data: str, column: str | None) -> tuple[Any, str]:
    """A built-in series by name, or one column of a CSV/Parquet file, as a pandas Series."""
    import pandas as pd

    from learnable.data import datasets, read_frame

    if data in datasets.names() and not Path(data).exists():
        dataset = datasets.load(data)
        if not isinstance(dataset.y.index, pd.DatetimeIndex):
            raise ValueError(f"'{data}' is not a series; the built-in series are sunspots and co2.")
        return dataset.y, data
    frame = read_frame(data)
    if column is None or column not in frame.columns:
        given = "--column is required with a file" if column is None else f"there is no column {column!r}"
        raise ValueError(f"{given}: name the column holding the series, one of {list(frame.columns)[:20]}.")
    return frame[column], Path(data).stem
