"""Optimizers and learning-rate schedules, as plain configs the Learner builds from.

- :mod:`~learnable.optim.optimizers`: :class:`OptimizerConfig` (SGD, momentum, Adam, AdamW, RMSprop;
  L1/L2 weight decay; fused kernels where PyTorch has them) and :class:`ScheduleConfig`;
- :mod:`~learnable.optim.lean_step`: the optimizer step without its per-step Python overhead.

Example:
    >>> from learnable.optim import OptimizerConfig
    >>> OptimizerConfig(name="adam", lr=1e-3).name
    'adam'
"""

from learnable.optim.optimizers import OPTIMIZERS, SCHEDULES, OptimizerConfig, ScheduleConfig

__all__ = ["OPTIMIZERS", "SCHEDULES", "OptimizerConfig", "ScheduleConfig"]
