"""Callbacks (public path): see :mod:`learnable.train.callbacks` and :mod:`learnable.train.events`."""

from learnable.train.callbacks import (
    EarlyStopping,
    GradientClipping,
    History,
    LRSchedule,
    NonFiniteGuard,
    ProgressBar,
)
from learnable.train.events import EVENTS, Callback, StopTraining

__all__ = [
    "EVENTS",
    "Callback",
    "EarlyStopping",
    "GradientClipping",
    "History",
    "LRSchedule",
    "NonFiniteGuard",
    "ProgressBar",
    "StopTraining",
]
