"""Optimizers and schedules (public path): see :mod:`learnable.train.optim`."""

from learnable.train.optim import OPTIMIZERS, SCHEDULES, OptimizerConfig, ScheduleConfig

__all__ = ["OPTIMIZERS", "SCHEDULES", "OptimizerConfig", "ScheduleConfig"]
