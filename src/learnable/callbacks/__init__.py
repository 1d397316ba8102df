"""Callbacks: the named events of the training loop and what hangs on them.

The loop (:class:`~learnable.train.Learner`) is the seven steps; every feature is a :class:`Callback`
on an event of :data:`EVENTS`, run in the order of its ``order``, that stops training by raising
:class:`StopTraining`.

- :mod:`~learnable.callbacks.events`: the event list, :class:`Callback` and the typed exceptions;
- :mod:`~learnable.callbacks.basic`: history, the non-finite guard, early stopping, gradient clipping,
  the learning-rate schedule and the progress bar;
- :mod:`~learnable.callbacks.checkpoint`: atomic, resumable checkpoints;
- :mod:`~learnable.callbacks.augment`: image augmentation on the device, and test-time augmentation;
- :mod:`~learnable.callbacks.statistics`: activation, parameter, gradient and update statistics;
- :mod:`~learnable.callbacks.lr_finder`: the learning-rate range test.

Example:
    >>> from learnable.callbacks import EarlyStopping
    >>> EarlyStopping(patience=3).monitor
    'val_loss'
"""

from learnable.callbacks.augment import Augment, AugmentConfig, tta_predict
from learnable.callbacks.basic import EarlyStopping, GradientClipping, History, LRSchedule, NonFiniteGuard, ProgressBar
from learnable.callbacks.checkpoint import Checkpoint
from learnable.callbacks.events import EVENTS, ORDER, Callback, NonFiniteError, SkipStep, StopTraining
from learnable.callbacks.lr_finder import LRFinder, LRFinderResult
from learnable.callbacks.statistics import Statistics

__all__ = [
    "EVENTS",
    "Augment",
    "AugmentConfig",
    "Callback",
    "Checkpoint",
    "EarlyStopping",
    "GradientClipping",
    "History",
    "LRFinder",
    "LRFinderResult",
    "LRSchedule",
    "NonFiniteError",
    "NonFiniteGuard",
    "ORDER",
    "ProgressBar",
    "SkipStep",
    "Statistics",
    "StopTraining",
    "tta_predict",
]
