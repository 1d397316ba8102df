"""Built-in callbacks: History, EarlyStopping, ProgressBar, GradientClipping, LRSchedule and the
guard against non-finite losses. Each hangs on events from :data:`learnable.callbacks.events.EVENTS`.

Example:
    >>> stopper = EarlyStopping(monitor="val_loss", patience=5, restore_best=True)
"""

from __future__ import annotations

import math
import sys
import time
from typing import TYPE_CHECKING, Any

import torch

from learnable.callbacks.events import ORDER, Callback, NonFiniteError, SkipStep, StopTraining
from learnable.metrics import METRICS
from learnable.optim.optimizers import ScheduleConfig
from learnable.utils.validation import check_choice, check_count, check_positive

if TYPE_CHECKING:
    from learnable.train.learner import Learner


class History(Callback):
    """Keeps one dict of metrics per epoch in ``records`` (always installed by the Learner)."""

    order = ORDER["History"]

    def __init__(self) -> None:
        self.records: list[dict[str, float]] = []

    def after_epoch(self, learner: Learner) -> None:
        self.records.append(dict(learner.metrics))

    def state_dict(self) -> dict:
        return {"records": self.records}

    def load_state_dict(self, state: dict) -> None:
        self.records = list(state["records"])


class NonFiniteGuard(Callback):
    """Watch for a NaN or infinite loss (always installed; policy "raise" unless you add your own).

    - "raise": at each epoch's end, the epoch's step losses (kept on the device, see
      :class:`~learnable.train.step_losses.StepLosses`) are checked, and a NaN or infinite one ends
      training with :class:`NonFiniteError` naming the epoch and the first bad step. Nothing is
      done per step, so the check costs the loop nothing.
      A Checkpoint never saves non-finite weights, so the last good checkpoint is kept.
    - "skip": a step whose loss or gradients are not finite is skipped (weights unchanged) and
      counted in ``learner.skipped_steps``; this reads one flag per step (a host sync on a GPU).
    """

    order = ORDER["NonFiniteGuard"]

    def __init__(self, policy: str = "raise") -> None:
        check_choice("policy", policy, ("raise", "skip"), owner="NonFiniteGuard")
        self.policy = policy

    def after_backward(self, learner: Learner) -> None:
        if self.policy == "skip" and not _all_finite(learner):
            raise SkipStep

    def after_epoch(self, learner: Learner) -> None:
        loss = learner.metrics.get("train_loss", 0.0)
        if not math.isfinite(loss):  # a NaN or infinite step loss makes the sum so
            step = learner.epoch_losses.first_non_finite_step()
            where = f"step {step}" if step is not None else "this epoch"
            raise NonFiniteError(
                f"the training loss became NaN or infinite at {where} (epoch {learner.epoch}): training "
                f"diverged. Lower the learning rate (it is {learner.optimizer.param_groups[0]['lr']:g}), "
                "standardise the inputs, or add GradientClipping; a Checkpoint keeps the last good weights."
            )


def _all_finite(learner: Learner) -> bool:
    grads = [p.grad for p in learner.model.parameters() if p.grad is not None]
    norms = torch._foreach_norm(grads) if grads else []
    return bool(torch.isfinite(torch.stack([learner.loss.detach(), *norms])).all())


def _lower_is_better(monitor: str) -> bool:
    name = monitor.removeprefix("val_").removeprefix("train_")
    if name == "loss":
        return True
    return name in METRICS and not METRICS[name].higher_is_better


class EarlyStopping(Callback):
    """Stop when the monitored metric has not improved for ``patience`` epochs.

    Args:
        monitor: a key of ``learner.metrics``, e.g. "val_loss" or "val_accuracy".
        patience: epochs without improvement before stopping.
        min_delta: the smallest change that counts as an improvement.
        mode: "min", "max" or "auto" (losses and errors go down, scores go up).
        restore_best: put the best epoch's weights back when training ends.
    """

    order = ORDER["EarlyStopping"]

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 10,
        min_delta: float = 0.0,
        mode: str = "auto",
        restore_best: bool = True,
    ) -> None:
        check_choice("mode", mode, ("auto", "min", "max"), owner="EarlyStopping")
        check_count("patience", patience, "10 epochs", owner="EarlyStopping")
        self.monitor, self.patience, self.min_delta = monitor, patience, abs(min_delta)
        self.minimize = _lower_is_better(monitor) if mode == "auto" else mode == "min"
        self.restore_best = restore_best
        self.best: float = math.inf if self.minimize else -math.inf
        self.best_epoch = 0  # 1-based; 0 until an epoch has been measured
        self.wait = 0
        self.best_state: dict[str, torch.Tensor] | None = None

    def _improved(self, value: float) -> bool:
        if self.minimize:
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def before_fit(self, learner: Learner) -> None:
        if self.monitor.startswith("val_") and learner.val_loader is None:
            raise ValueError(
                f"EarlyStopping monitors '{self.monitor}', but the Learner has no validation data. "
                "Pass validation= (a fraction or an (X, y) pair), or monitor='train_loss'."
            )

    def after_epoch(self, learner: Learner) -> None:
        if self.monitor not in learner.metrics:
            raise ValueError(
                f"EarlyStopping monitors '{self.monitor}', which this run does not measure; "
                f"it has {sorted(learner.metrics)}. Pass validation data or monitor='train_loss'."
            )
        value = learner.metrics[self.monitor]
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, learner.epoch, 0
            if self.restore_best:
                self.best_state = {k: v.detach().clone() for k, v in learner.model.state_dict().items()}
            return
        self.wait += 1
        if self.wait >= self.patience:
            raise StopTraining(
                f"{self.monitor} has not improved for {self.patience} epochs "
                f"(best {self.best:.4g} in epoch {self.best_epoch})"
            )

    def after_fit(self, learner: Learner) -> None:
        if self.restore_best and self.best_state is not None:
            learner.model.load_state_dict(self.best_state)

    def state_dict(self) -> dict:
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait, "best_state": self.best_state}

    def load_state_dict(self, state: dict) -> None:
        self.best, self.best_epoch, self.wait = state["best"], state["best_epoch"], state["wait"]
        self.best_state = state.get("best_state")


class GradientClipping(Callback):
    """Rescale the gradients so their global L2 norm is at most ``max_norm``."""

    def __init__(self, max_norm: float = 1.0) -> None:
        check_positive("max_norm", max_norm, "1.0", owner="GradientClipping")
        self.max_norm = max_norm

    def after_backward(self, learner: Learner) -> None:
        torch.nn.utils.clip_grad_norm_(learner.model.parameters(), self.max_norm, foreach=True)


class LRSchedule(Callback):
    """Change the learning rate after every step, following a :class:`ScheduleConfig`.

    Example: ``Learner(..., callbacks=[LRSchedule("cosine", warmup=0.05)])``.
    """

    order = ORDER["LRSchedule"]

    def __init__(self, name: str | ScheduleConfig = "constant", **settings: Any) -> None:
        self.config = name if isinstance(name, ScheduleConfig) else ScheduleConfig(name, **settings)
        self.scheduler: torch.optim.lr_scheduler.LRScheduler | None = None
        self.total_steps = 0
        self._resumed: dict | None = None

    def before_fit(self, learner: Learner) -> None:
        if self._resumed is not None:  # a resumed fit: the same schedule, at the step it had reached
            groups = [dict(g) for g in learner.optimizer.param_groups]  # as the checkpoint left them
            self.total_steps = self._resumed["total_steps"]
            self.scheduler = self.config.build(learner.optimizer, self.total_steps)
            self.scheduler.load_state_dict(self._resumed["scheduler"])
            for group, saved in zip(learner.optimizer.param_groups, groups, strict=True):
                group.update(saved)  # building the scheduler stepped it once: undo that
            self._resumed = None
            return
        self.total_steps = (learner.num_epochs_planned - learner.epoch) * len(learner.train_loader)  # this fit
        self.scheduler = self.config.build(learner.optimizer, self.total_steps)

    def state_dict(self) -> dict:
        return {"total_steps": self.total_steps, "scheduler": self.scheduler.state_dict() if self.scheduler else {}}

    def load_state_dict(self, state: dict) -> None:
        self._resumed = state

    def after_step(self, learner: Learner) -> None:
        self.scheduler.step()
        learner.metrics["lr"] = learner.optimizer.param_groups[0]["lr"]  # before History copies it


class ProgressBar(Callback):
    """A rich progress bar per epoch in a terminal; one line per epoch with the losses and the
    first two metrics. It runs before EarlyStopping so the last epoch is printed too."""

    order = ORDER["ProgressBar"]

    def __init__(self, file: Any = None) -> None:
        self.file = file
        self.progress = None

    def before_fit(self, learner: Learner) -> None:
        from rich.console import Console

        self.console = Console(file=self.file or sys.stdout, highlight=False)
        self.start = time.perf_counter()
        if self.console.is_terminal:
            from rich.progress import Progress

            self.progress = Progress(console=self.console, transient=True)
            self.progress.start()

    def before_epoch(self, learner: Learner) -> None:
        self.epoch_start = time.perf_counter()
        if self.progress is not None:
            label = f"epoch {learner.epoch + 1}/{learner.num_epochs_planned}"
            total = len(learner.train_loader)  # a resumed epoch starts where its checkpoint left it
            self.task = self.progress.add_task(label, total=total, completed=min(learner.epoch_batches, total))

    def after_batch(self, learner: Learner) -> None:
        if self.progress is not None:
            self.progress.advance(self.task)

    def after_epoch(self, learner: Learner) -> None:
        if self.progress is not None:
            self.progress.remove_task(self.task)
        shown = [k for k in learner.metrics if k.endswith("loss") and not k.endswith("log_loss")]
        shown += [k for k in learner.metrics if k.startswith("val_") and k not in shown][:2]
        values = "  ".join(f"{k} {learner.metrics[k]:.4f}" for k in shown)
        seconds = time.perf_counter() - self.epoch_start
        line = f"epoch {learner.epoch}/{learner.num_epochs_planned}  {values}  {seconds:.1f}s"
        self.console.print(line, soft_wrap=True, markup=False)

    def after_fit(self, learner: Learner) -> None:
        if self.progress is not None:
            self.progress.stop()
        if learner.stop_reason:
            self.console.print(f"stopped: {learner.stop_reason}", soft_wrap=True, markup=False)
