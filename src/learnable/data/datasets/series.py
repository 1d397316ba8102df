"""Built-in time series from statsmodels' bundled data (the ``timeseries`` extra): sunspots and co2.

For a series, ``y`` holds the values as a pandas Series with a DatetimeIndex (forecast it with
:class:`learnable.tasks.forecast.Forecaster`) and ``X`` the same time stamps as number columns (year,
month), so ``learnable.fit(X, y)`` regresses on time and never sees the values it predicts.

Example:
    >>> LOADERS["co2"]().y.index.freqstr                     # doctest: +SKIP
    'MS'
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from learnable.data.datasets.dataset import Dataset


def _statsmodels_datasets() -> Any:
    try:
        import statsmodels.datasets
    except ImportError:
        raise ImportError(
            'the time-series datasets come from statsmodels, which is not installed; '
            'pip install "learnable[timeseries]" (or pip install statsmodels).'
        ) from None
    return statsmodels.datasets


def _sunspots() -> Dataset:
    frame = _statsmodels_datasets().sunspots.load_pandas().data
    years = frame["YEAR"].to_numpy().astype(int)
    dates = pd.DatetimeIndex(pd.to_datetime([str(year) for year in years], format="%Y"), name="date")
    return Dataset(
        X=pd.DataFrame({"year": years}, index=dates),
        y=pd.Series(frame["SUNACTIVITY"].to_numpy(np.float64), index=dates, name="sunspots"),
        description="Yearly mean sunspot numbers, 1700-2008 (309 years; an irregular cycle of about 11 "
        "years), from the National Geophysical Data Center as bundled with statsmodels.",
    )


def _co2() -> Dataset:
    weekly = _statsmodels_datasets().co2.load_pandas().data["co2"]
    monthly = weekly.resample("MS").mean()  # weeks without a measurement are skipped by the mean
    gaps = int(monthly.isna().sum())
    monthly = monthly.interpolate()  # months without any measurement (5 of 526): linear between neighbours
    dates = pd.DatetimeIndex(monthly.index, name="date")
    return Dataset(
        X=pd.DataFrame({"year": dates.year, "month": dates.month}, index=dates),
        y=pd.Series(monthly.to_numpy(np.float64), index=dates, name="co2"),
        description=f"Monthly mean atmospheric CO2 at Mauna Loa, Hawaii, in ppm, March 1958 - December 2001 "
        f"({len(monthly)} months: a rising trend and a yearly cycle); the means of statsmodels' weekly "
        f"samples, {gaps} months without any sample filled by linear interpolation.",
    )


LOADERS: dict[str, Callable[[], Dataset]] = {"sunspots": _sunspots, "co2": _co2}
