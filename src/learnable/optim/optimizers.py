"""Optimizers and learning-rate schedules: how each step changes the weights.

:class:`OptimizerConfig` names an optimizer (SGD with momentum or Nesterov, Adam, AdamW, RMSprop)
and its settings, including an L1 penalty, and builds the PyTorch optimizer with its fastest
implementation: the fused kernel (one call updates every tensor) where PyTorch has one for the
optimizer and device, else the multi-tensor (``foreach``) one. :class:`ScheduleConfig` names a
schedule (constant, step, cosine, one-cycle), with an optional linear warm-up, stepped once per batch.

Example:
    >>> from torch import nn
    >>> model = nn.Linear(3, 1)
    >>> optimizer = OptimizerConfig("sgd", lr=0.1, momentum=0.9, nesterov=True).build(model.parameters())
    >>> schedule = ScheduleConfig("cosine", warmup=0.1).build(optimizer, total_steps=100)
    >>> round(optimizer.param_groups[0]["lr"], 4)   # warm-up starts near zero
    0.001
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch

from learnable.utils.validation import check_number, check_positive

OPTIMIZERS = {
    "sgd": torch.optim.SGD,
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "rmsprop": torch.optim.RMSprop,
}
SCHEDULES = ("constant", "step", "cosine", "one_cycle")
FUSED = ("sgd", "adam", "adamw")  # optimizers with a fused kernel in PyTorch (CPU and CUDA)
FUSED_DEVICES = ("cpu", "cuda")


@dataclass
class OptimizerConfig:
    """An optimizer by name with its settings.

    Args:
        name: "sgd", "adam", "adamw" or "rmsprop".
        lr: the learning rate.
        weight_decay: L2 penalty (decoupled for AdamW).
        momentum: for SGD and RMSprop.
        nesterov: Nesterov momentum for SGD (needs momentum > 0).
        l1: L1 penalty strength on weight matrices (not biases): adds ``l1 * sign(w)`` to each
            gradient before the step, pushing small weights to zero.
    """

    name: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    momentum: float = 0.0
    nesterov: bool = False
    l1: float = 0.0

    def build(self, params: Iterable[torch.nn.Parameter], fused: bool | None = None) -> torch.optim.Optimizer:
        """Create the PyTorch optimizer over ``params``.

        ``fused=None`` picks the fused kernel when :func:`can_fuse` says it applies; ``False``
        forces the multi-tensor one (e.g. for sparse gradients, which fused kernels refuse).
        """
        self.check()
        params = list(params)
        if fused is None:
            fused = can_fuse(self.name, params)
        implementation = {"fused": True} if fused else {"foreach": True}
        options = {"lr": self.lr, "weight_decay": self.weight_decay, **implementation}
        if self.name == "sgd":
            options.update(momentum=self.momentum, nesterov=self.nesterov)
        elif self.name == "rmsprop":
            options.update(momentum=self.momentum)
        optimizer = OPTIMIZERS[self.name](params, **options)
        if self.l1 > 0:
            optimizer.register_step_pre_hook(_l1_hook(self.l1))
        return optimizer

    def check(self) -> None:
        """Raise a ValueError naming the first setting that is out of range."""
        if self.name not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.name!r}; choose one of {sorted(OPTIMIZERS)}.")
        for field, example in (("lr", "1e-3"), ("weight_decay", "0.01"), ("momentum", "0.9"), ("l1", "1e-5")):
            check_positive(field, getattr(self, field), example, allow_zero=True, owner="optimizer")
        if self.lr == 0:
            raise ValueError("lr=0 would never change the weights; use a rate such as 1e-3.")
        if self.nesterov and (self.name != "sgd" or self.momentum <= 0):
            raise ValueError("nesterov=True needs name='sgd' and momentum > 0, e.g. momentum=0.9.")
        if self.momentum and self.name in ("adam", "adamw"):
            raise ValueError(f"{self.name} has no momentum setting (it uses betas); drop momentum.")


def can_fuse(name: str, params: Sequence[torch.Tensor]) -> bool:
    """Whether PyTorch's fused kernel can update ``params`` for the optimizer ``name``.

    It needs real floating-point tensors on a CPU or CUDA device; on this CPU it made a 784-256-128-10
    MLP's Adam epoch 1.3-1.5x faster than the multi-tensor update (benchmarks/learner_vs_loop.py).
    """
    return (
        name in FUSED
        and bool(params)
        and all(p.is_floating_point() and p.device.type in FUSED_DEVICES for p in params)
        and len({p.device for p in params}) == 1
    )


def _l1_hook(strength: float):
    def add_l1(optimizer: torch.optim.Optimizer, args, kwargs) -> None:
        weights = [p for g in optimizer.param_groups for p in g["params"] if p.grad is not None and p.ndim > 1]
        if weights:
            torch._foreach_add_([p.grad for p in weights], torch._foreach_sign(weights), alpha=strength)

    return add_l1


@dataclass
class ScheduleConfig:
    """A learning-rate schedule, stepped after every batch.

    Args:
        name: "constant", "step" (multiply by ``gamma`` every ``step_fraction`` of training),
            "cosine" (anneal to ``min_factor * lr``) or "one_cycle" (PyTorch's OneCycleLR, which
            warms up on its own).
        warmup: fraction of all steps spent rising linearly from ``lr / 100`` (not for one_cycle).
    """

    name: str = "constant"
    warmup: float = 0.0
    step_fraction: float = 0.3
    gamma: float = 0.1
    min_factor: float = 0.0

    def build(self, optimizer: torch.optim.Optimizer, total_steps: int) -> torch.optim.lr_scheduler.LRScheduler:
        """Create the PyTorch scheduler for a run of ``total_steps`` optimizer steps."""
        if self.name not in SCHEDULES:
            raise ValueError(f"unknown schedule {self.name!r}; choose one of {list(SCHEDULES)}.")
        check_number("warmup", self.warmup, 0, 1, "0.1 (the first tenth of training)", high_open=True)
        total_steps = max(total_steps, 1)
        if self.name == "one_cycle":
            max_lr = [g.get("max_lr", g["lr"]) for g in optimizer.param_groups]
            # Cycle momentum only where the optimizer has some: it must not switch momentum on for plain SGD.
            cycles = all(g.get("momentum", 0) > 0 or "betas" in g for g in optimizer.param_groups)
            return torch.optim.lr_scheduler.OneCycleLR(
                optimizer, max_lr=max_lr, total_steps=total_steps + 1, cycle_momentum=cycles
            )
        return torch.optim.lr_scheduler.LambdaLR(optimizer, self._factor(total_steps))

    def _factor(self, total_steps: int):
        warmup_steps = int(self.warmup * total_steps)
        step_size = max(1, int(self.step_fraction * total_steps))

        def factor(step: int) -> float:
            if step < warmup_steps:
                return 0.01 + 0.99 * step / warmup_steps
            if self.name == "step":
                return self.gamma ** (step // step_size)
            if self.name == "cosine":
                progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
                cosine = 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
                return self.min_factor + (1 - self.min_factor) * cosine
            return 1.0

        return factor
