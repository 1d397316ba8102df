"""The learning-rate finder: train briefly while the rate grows exponentially, watch the loss.

The loss first barely moves (rate too low), then falls fastest, then explodes (rate too high). The
suggested rate is where the smoothed loss falls fastest, which is a good rate to train with.
The model, optimizer, batch order and random state are restored afterwards, as if nothing ran.

Example:
    >>> import torch
    >>> from torch import nn
    >>> from learnable import Learner
    >>> X, y = torch.randn(512, 4), torch.randint(0, 2, (512,))
    >>> result = Learner(nn.Linear(4, 2), (X, y), validation=None, progress=False).lr_find(num_steps=30)
    >>> 1e-7 <= result.suggestion <= 10
    True
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from learnable.callbacks.checkpoint import rng_state, set_rng_state
from learnable.callbacks.events import Callback, StopTraining
from learnable.utils.validation import check_count

if TYPE_CHECKING:
    from learnable.train.learner import Learner


@dataclass
class LRFinderResult:
    """The rates tried, the smoothed loss at each, and the suggested rate."""

    lrs: list[float]
    losses: list[float]
    suggestion: float

    def plot(self, path: str | Path) -> None:
        """Save the loss-against-rate curve (log scale) as an image (.png, .svg or .pdf), whole or not at all."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from learnable.utils.files import write_atomically

        figure, axes = plt.subplots(figsize=(6, 4))
        axes.plot(self.lrs, self.losses)
        axes.axvline(self.suggestion, color="red", linestyle="--", label=f"suggested {self.suggestion:.2g}")
        axes.set(xscale="log", xlabel="learning rate", ylabel="training loss (smoothed)")
        axes.legend()
        figure.tight_layout()
        try:
            write_atomically(path, lambda handle: figure.savefig(handle, format=Path(path).suffix[1:].lower() or "png"))
        finally:
            plt.close(figure)


class LRFinder(Callback):
    """Set the rate before each batch, record the smoothed loss after it, stop when it explodes."""

    def __init__(self, start_lr: float, end_lr: float, num_steps: int, smoothing: float = 0.98) -> None:
        if not 0 < start_lr < end_lr:
            raise ValueError(f"lr_find needs 0 < start_lr < end_lr, got {start_lr} and {end_lr}.")
        check_count("num_steps", num_steps, 100, least=5, owner="the LR finder")
        self.start_lr, self.end_lr, self.num_steps, self.smoothing = start_lr, end_lr, num_steps, smoothing
        self.lrs: list[float] = []
        self.losses: list[float] = []
        self.average, self.best = 0.0, math.inf

    def before_batch(self, learner: Learner) -> None:
        lr = self.start_lr * (self.end_lr / self.start_lr) ** (len(self.lrs) / (self.num_steps - 1))
        for group in learner.optimizer.param_groups:
            group["lr"] = lr
        self.lrs.append(lr)

    def after_loss(self, learner: Learner) -> None:
        loss = float(learner.loss.detach())  # a sync per step: fine for a short diagnostic run
        self.average = self.smoothing * self.average + (1 - self.smoothing) * loss
        smoothed = self.average / (1 - self.smoothing ** len(self.lrs))  # bias-corrected
        self.losses.append(smoothed)
        self.best = min(self.best, smoothed)
        if not math.isfinite(smoothed) or smoothed > 4 * self.best or len(self.lrs) >= self.num_steps:
            raise StopTraining("learning-rate sweep done")

    def result(self) -> LRFinderResult:
        losses = np.asarray(self.losses[: len(self.lrs)], dtype=float)
        lrs = np.asarray(self.lrs[: len(losses)])
        finite = np.isfinite(losses)
        lrs, losses = lrs[finite], losses[finite]
        if len(losses) < 3:
            raise ValueError("the loss exploded at once; the learning-rate sweep found nothing. Lower start_lr.")
        lowest = int(np.argmin(losses))
        slopes = np.gradient(losses[: lowest + 1], np.log(lrs[: lowest + 1])) if lowest >= 2 else np.zeros(1)
        steepest = int(np.argmin(slopes)) if lowest >= 2 else lowest
        return LRFinderResult(lrs.tolist(), losses.tolist(), float(lrs[steepest]))


def sweep_lr(learner: Learner, start_lr: float = 1e-7, end_lr: float = 10.0, num_steps: int = 100) -> LRFinderResult:
    """Sweep the learning rate on ``learner``'s training data; restore everything afterwards."""
    finder = LRFinder(start_lr, end_lr, num_steps)
    if learner.optimizer is None:
        learner.optimizer = learner.build_optimizer()
    attributes = dict(learner.__dict__)
    weights = copy.deepcopy(learner.model.state_dict())
    optimizer = copy.deepcopy(learner.optimizer.state_dict())
    loader = learner.train_loader.state_dict() if hasattr(learner.train_loader, "state_dict") else None
    rng = rng_state()
    learner.val_loader = None
    learner.set_callbacks([finder])
    try:
        learner.fit(math.ceil(num_steps / max(len(learner.train_loader), 1)) + 1)
    finally:
        learner.__dict__.clear()
        learner.__dict__.update(attributes)
        learner.model.load_state_dict(weights)
        learner.optimizer.load_state_dict(optimizer)
        if loader is not None:
            learner.train_loader.load_state_dict(loader)
        set_rng_state(rng)
    return finder.result()
