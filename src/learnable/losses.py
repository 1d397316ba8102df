"""Losses (public path): see :mod:`learnable.train.losses`."""

from learnable.train.losses import (
    LOSSES,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HingeLoss,
    HuberLoss,
    MAELoss,
    MSELoss,
    get,
)

__all__ = [
    "LOSSES",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "HingeLoss",
    "HuberLoss",
    "MAELoss",
    "MSELoss",
    "get",
]
