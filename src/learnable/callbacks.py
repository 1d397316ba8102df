"""Callbacks (public path): see :mod:`learnable.train.callbacks` and :mod:`learnable.train.events`."""

from learnable.train.augment import Augment, AugmentConfig
from learnable.train.callbacks import (
    EarlyStopping,
    GradientClipping,
    History,
    LRSchedule,
    NonFiniteGuard,
    ProgressBar,
)
from learnable.train.checkpoint import Checkpoint
from learnable.train.events import EVENTS, Callback, NonFiniteError, SkipStep, StopTraining

__all__ = [
    "EVENTS",
    "Augment",
    "AugmentConfig",
    "Callback",
    "Checkpoint",
    "EarlyStopping",
    "GradientClipping",
    "History",
    "LRSchedule",
    "NonFiniteError",
    "NonFiniteGuard",
    "ProgressBar",
    "SkipStep",
    "StopTraining",
]
