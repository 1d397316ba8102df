"""Forecast three series with an LSTM, a GRU and a plain RNN, against the naive and seasonal-naive forecasts.

- synthetic: a seeded sine (period 24) on a rising trend with noise (sd 0.3), 600 steps, 6 steps ahead;
- sunspots: yearly sunspot numbers 1700-2008 (statsmodels), one year ahead;
- co2: monthly Mauna Loa CO2 1958-2001 (statsmodels), twelve months ahead.

Each model trains on the first 70% of its series (early stopping on the next 10%) and is tested on
the last 20%, which it never saw. Run: ``python examples/forecast_series.py`` (about a minute on a CPU;
the real series need ``pip install "learnable[timeseries]"``).
"""

from __future__ import annotations

import time

import numpy as np

from learnable import Forecaster
from learnable.data.datasets import load


def synthetic(steps: int = 600, seed: int = 0) -> np.ndarray:
    t = np.arange(steps)
    noise = np.random.default_rng(seed).normal(0.0, 0.3, steps)
    return 10 + 3 * np.sin(2 * np.pi * t / 24) + 0.02 * t + noise


SERIES = {
    "synthetic": (synthetic, {"window": 24, "horizon": 6, "season": 24}),
    "sunspots": (lambda: load("sunspots").y, {"window": 22, "horizon": 1, "season": 11}),
    "co2": (lambda: load("co2").y, {"window": 24, "horizon": 12, "season": 12}),
}
COMMON = {"hidden_size": 32, "num_epochs": 200, "patience": 20, "lr": 3e-3, "batch_size": 32, "seed": 0}


def main() -> None:
    print(f"common settings: {COMMON}, validation 0.1, test 0.2 (the latest steps)")
    for name, (get_series, settings) in SERIES.items():
        series = get_series()
        print(f"\n{name}: {len(series)} steps, {settings}")
        print(f"  {'model':<16}{'test MAE':>10}{'test RMSE':>11}{'epochs':>8}{'best':>6}{'seconds':>9}")
        for cell in ("lstm", "gru", "rnn"):
            start = time.perf_counter()
            forecaster = Forecaster(cell=cell, **settings, **COMMON).fit(series)
            m, t = forecaster.metrics_, forecaster.training_
            print(f"  {cell:<16}{m['mae']:>10.3f}{m['rmse']:>11.3f}{t['epochs']:>8}{t['best_epoch']:>6}"
                  f"{time.perf_counter() - start:>9.1f}")
        print(f"  {'naive':<16}{m['naive_mae']:>10.3f}{m['naive_rmse']:>11.3f}")
        print(f"  {'seasonal naive':<16}{m['seasonal_naive_mae']:>10.3f}{m['seasonal_naive_rmse']:>11.3f}")
        print(f"  ({m['windows']} test windows; last forecast from the latest {settings['window']} steps: "
              f"{np.round(forecaster.predict(series[-settings['window']:]), 2).tolist()})")


if __name__ == "__main__":
    main()
