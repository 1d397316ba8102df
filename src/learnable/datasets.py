"""Built-in datasets: ``learnable.datasets.load(name)``; see :mod:`learnable.data.datasets`."""

from learnable.data.datasets import Dataset, load, names

__all__ = ["Dataset", "load", "names"]
