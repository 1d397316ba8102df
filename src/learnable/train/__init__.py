"""Training: the Learner (the seven steps), events and callbacks, losses, metrics and optimizers."""

from learnable.train import callbacks, losses, metrics, optim
from learnable.train.augment import Augment, AugmentConfig, tta_predict
from learnable.train.callbacks import (
    EarlyStopping,
    GradientClipping,
    History,
    LRSchedule,
    ProgressBar,
)
from learnable.train.events import EVENTS, Callback, StopTraining
from learnable.train.learner import Learner
from learnable.train.optim import OptimizerConfig, ScheduleConfig
from learnable.train.seed import seed_everything

__all__ = [
    "EVENTS",
    "Augment",
    "AugmentConfig",
    "Callback",
    "EarlyStopping",
    "GradientClipping",
    "History",
    "LRSchedule",
    "Learner",
    "OptimizerConfig",
    "ProgressBar",
    "ScheduleConfig",
    "StopTraining",
    "callbacks",
    "losses",
    "metrics",
    "optim",
    "seed_everything",
    "tta_predict",
]
