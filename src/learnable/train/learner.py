"""The Learner: any ``torch.nn.Module`` fitted to data by the seven steps of gradient descent.

``Learner.fit`` reads as the textbook: (1) initialize, (2) predict, (3) loss, (4) gradient,
(5) step, (6) repeat over batches and epochs, (7) stop. Everything else (progress, early stopping,
schedules, clipping, logging) is a callback on the named events of
:data:`learnable.callbacks.events.EVENTS`, never code inside the loop.

Example:
    >>> import torch
    >>> from torch import nn
    >>> X, y = torch.randn(256, 3), torch.randint(0, 2, (256,))
    >>> learner = Learner(nn.Linear(3, 2), (X, y), loss="cross_entropy", lr=1e-2,
    ...                   metrics=["accuracy"], progress=False)
    >>> learner.fit(2).history[-1]["epoch"]
    2
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from learnable import losses
from learnable import metrics as metric_lib
from learnable.callbacks.basic import History, NonFiniteGuard, ProgressBar
from learnable.callbacks.events import EVENTS, Callback, SkipStep, StopTraining
from learnable.callbacks.statistics import Statistics
from learnable.data.loader import TensorLoader
from learnable.data.stream import stream
from learnable.model_file import save_model
from learnable.optim.lean_step import LeanStep
from learnable.optim.optimizers import OptimizerConfig
from learnable.train.batches import check_first_batch, training_loaders, validation_loader
from learnable.train.closed_form import closed_form_gradient
from learnable.train.inputs import (
    as_tensor,
    resolve_device,
)
from learnable.train.learner_state import learner_state, restore_learner
from learnable.train.speed import (
    autocast,
    resolve_precision,
    set_memory_format,
    tensor_float_32,
    to_channels_last,
    uses_channels_last,
)
from learnable.train.step_losses import StepLosses
from learnable.utils.validation import check_count


def check_num_epochs(num_epochs: Any) -> None:
    """Raise unless ``num_epochs`` is a whole number >= 1."""
    check_count("num_epochs", num_epochs, 20)


class Learner:
    """Train a model on data with the seven steps.

    Args:
        model: any ``torch.nn.Module``.
        data: ``(X, y)`` arrays or tensors (they are moved to the device once), or an iterable
            of ``(x_batch, y_batch)`` such as a :class:`TensorLoader` or a ``DataLoader``.
        loss: a name from :data:`learnable.losses.LOSSES`, a callable ``(output, target)``,
            or "auto" (cross-entropy for integer targets, MSE for real ones).
        optimizer: a name ("adam", "sgd", ...), an :class:`OptimizerConfig`, or a callable
            ``params -> torch.optim.Optimizer``.
        lr: the learning rate (overrides the OptimizerConfig's).
        batch_size: rows per batch when ``data`` is arrays.
        validation: a fraction of ``data`` to hold out, an ``(X, y)`` pair or loader, or None;
            "auto" holds out 0.2 of arrays and nothing from a loader.
        metrics: metric names or :class:`Metric` objects measured on the validation data.
        callbacks: :class:`Callback` objects; History and a ``NonFiniteGuard`` (policy "raise") are
            added unless you pass your own NonFiniteGuard (e.g. ``NonFiniteGuard("skip")``).
        device: "auto", "cpu", "cuda", or a ``torch.device``.
        seed: seeds the batch order and the validation split.
        progress: show a progress bar (terminal) or one line per epoch.
        statistics: per-layer statistics (:class:`learnable.callbacks.Statistics`) sampled every
            N steps: "auto" (about two samples per epoch), a number of steps, or None for none.
            Ignored when ``callbacks`` holds a Statistics of its own.
        precision: "auto" (bfloat16 autocast on a CUDA GPU that has it, float32 elsewhere),
            "float32", "tf32" or "bf16"; see :mod:`learnable.train.speed`.
        channels_last: keep a convolution network's images and kernels channels-last (NHWC):
            "auto" (for models with a Conv2d), True or False. The model's 4-D weights stay so.
        compile: ``torch.compile`` the model for the training steps (off: it pays only on long
            GPU runs; statistics samples still run the model as it is).
    """

    def __init__(
        self,
        model: nn.Module,
        data: Any,
        *,
        loss: Any = "auto",
        optimizer: Any = "adam",
        lr: float | None = None,
        batch_size: int = 64,
        validation: Any = "auto",
        metrics: Sequence[Any] = (),
        callbacks: Iterable[Callback] = (),
        device: Any = "auto",
        seed: int = 0,
        progress: bool = True,
        statistics: int | str | None = "auto",
        precision: str = "auto",
        channels_last: bool | str = "auto",
        compile: bool = False,
    ) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(
                f"model must be a torch.nn.Module, got {type(model).__name__}; wrap your function in an "
                "nn.Module, or use a model from learnable.models."
            )
        self.device = resolve_device(device)
        self.channels_last = uses_channels_last(channels_last, model)
        self.channels_last_auto = channels_last == "auto"  # "auto" steps back if the model needs NCHW
        if not isinstance(compile, bool):
            raise ValueError(f"compile={compile!r}; use True or False.")
        self.model = model.to(self.device)
        if self.channels_last:
            set_memory_format(self.model, torch.channels_last)
        self.compiled_model = torch.compile(self.model) if compile else None
        self.batch_size = batch_size
        self.seed = seed
        self.train_loader, self.val_loader = training_loaders(data, validation, batch_size=batch_size, seed=seed,
                                                               device=self.device)
        self.loss_fn = losses.get(self._auto_loss() if loss == "auto" else loss)
        self.precision = resolve_precision(precision, self.device, self.loss_fn)
        self.optimizer_spec = optimizer
        self.lr = lr
        self.optimizer: torch.optim.Optimizer | None = None
        self.optimizer_step: LeanStep | None = None  # steps self.optimizer (built with it, in fit)
        self.closed_form = None  # set by fit where the model is one affine map (train/closed_form.py)
        self.metric_objects = [metric_lib.get(m) for m in metrics]
        self.history_callback = History()
        extra = [ProgressBar()] if progress else []
        callbacks = list(callbacks)
        guard = [] if any(isinstance(c, NonFiniteGuard) for c in callbacks) else [NonFiniteGuard()]
        if statistics is not None and not any(isinstance(c, Statistics) for c in callbacks):
            extra.append(Statistics(statistics))
        self.set_callbacks([self.history_callback, *guard, *callbacks, *extra])
        self.statistics = next((c for c in self.callbacks if isinstance(c, Statistics)), None)
        self.epoch = 0  # epochs completed
        self.step = 0  # optimizer steps taken
        self.epoch_batches = 0  # batches done in the epoch under way
        self.epoch_losses = StepLosses()  # this epoch's step losses, on the device until its end
        self.skipped_steps = 0  # steps vetoed by SkipStep (e.g. a non-finite loss under policy "skip")
        self.epoch_skipped = 0
        self.metrics: dict[str, float] = {}
        self.stop_reason = ""
        self.outcome = "new"  # then running, and finished, failed or interrupted when fit ends
        self.error = ""
        self.data_summary: dict[str, Any] | None = None  # for the doctor: set by fit, else computed when recorded

    # ---- data ---------------------------------------------------------------------------------
    def _auto_loss(self) -> str:
        target = self.sample_batch()[1]
        return "mse" if target.is_floating_point() else "cross_entropy"

    def sample_batch(self) -> list[torch.Tensor]:
        """Two rows of training data on the device; a TensorLoader's batch order is left untouched."""
        if hasattr(self.train_loader, "peek"):  # a TensorLoader or a StreamLoader
            return self._to_device(self.train_loader.peek(2))
        batch = next(iter(self.train_loader), None)
        if batch is None:
            raise ValueError("the training data yields no batches; it has no rows.")
        return [t[:2] for t in self._to_device(batch)]

    def _to_device(self, batch: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        return [t.to(self.device, non_blocking=True) for t in batch]

    def forward(self, xb: torch.Tensor, compiled: bool = False, precise: bool = False) -> torch.Tensor:
        """The model's output for a batch, in the Learner's layout and precision (float32 when
        ``precise``: validation and predictions are never rounded to bfloat16)."""
        if self.channels_last:
            xb = to_channels_last(xb)
        model = self.compiled_model if compiled and self.compiled_model is not None else self.model
        with autocast("float32" if precise else self.precision, self.device):
            return model(xb)

    # ---- the seven steps ------------------------------------------------------------------------
    def fit(self, num_epochs: int, resume: Any = None) -> Learner:
        """Train for ``num_epochs`` more epochs (or until a callback stops it); returns self.

        ``resume`` (a checkpoint file or directory, see :mod:`learnable.callbacks.checkpoint`) restores
        a run saved during an identical ``fit(num_epochs)`` call and finishes that call exactly.
        """
        check_num_epochs(num_epochs)
        self._initialize(num_epochs)  # 1. initialize
        if resume is not None:
            from learnable.callbacks.checkpoint import Checkpoint, load_checkpoint

            run_id = next((c.run_id for c in self.callbacks if isinstance(c, Checkpoint)), None)
            # this run's newest checkpoint that restores whole (a damaged one falls back to the one before)
            load_checkpoint(resume, run_id=run_id, restore=lambda state: self.load_state_dict(state, num_epochs))
        self.outcome, self.error = "running", ""
        try:
            self._event("before_fit")
            # After before_fit, whose callbacks may add hooks or prune (the closed form must see them).
            self.closed_form = closed_form_gradient(self.model, self.loss_fn, self.callbacks)
            with tensor_float_32(self.device, self.precision):
                while self.epoch < self.num_epochs_planned:  # 6. repeat
                    self._train_epoch()
            self.outcome = "finished"
        except StopTraining as reason:  # 7. stop
            self.stop_reason, self.outcome = str(reason), "finished"
        except KeyboardInterrupt:
            self.outcome, self.error = "interrupted", "interrupted by the user"
            raise
        except BaseException as error:
            self.outcome, self.error = "failed", f"{type(error).__name__}: {error}"
            raise
        finally:
            self._event("after_fit")
            self.model.eval()
        return self

    def _initialize(self, num_epochs: int) -> None:
        check_first_batch(self)  # before the optimizer: it may set the model back to NCHW
        if self.optimizer is None:
            self.optimizer = self.build_optimizer()
        if self.optimizer_step is None or self.optimizer_step.optimizer is not self.optimizer:
            self.optimizer_step = LeanStep(self.optimizer)  # optimizer.step() with less Python per call
        self.fit_start_epoch = self.epoch
        self.num_epochs_planned = self.epoch + num_epochs
        self.epoch_batches = 0  # an epoch cut short by an error is started afresh
        self.stop_reason = ""

    def _train_epoch(self) -> None:
        self.model.train()
        start = time.perf_counter()
        if self.epoch_batches == 0:  # a fresh epoch (a resumed one keeps what it had)
            self.metrics = {"epoch": self.epoch + 1}
            self.epoch_losses.clear()
            self.epoch_skipped = 0
        self._event("before_epoch")  # a resumed epoch too: learner.epoch_batches says how far it had got
        move = not isinstance(self.train_loader, TensorLoader)
        for batch in self.train_loader:
            xb, yb = self._to_device(batch) if move else batch
            self._train_batch(xb, yb)
        batches, self.epoch_batches = self.epoch_batches, 0
        if batches == 0:
            raise ValueError(
                f"the training data yielded no batches in epoch {self.epoch + 1}; a generator can be read only "
                "once: pass (X, y) arrays, a TensorLoader or a DataLoader, which can be read every epoch."
            )
        self.metrics["train_loss"] = self.epoch_losses.total() / max(batches - self.epoch_skipped, 1)  # one sync
        if self.skipped_steps:
            self.metrics["skipped_steps"] = self.skipped_steps
        if self.val_loader is not None:
            self.metrics.update(self.validate())
        self.metrics["seconds"] = time.perf_counter() - start
        self.epoch += 1  # epochs completed; callbacks in after_epoch see this one counted
        self._event("after_epoch")

    def _train_batch(self, xb: torch.Tensor, yb: torch.Tensor) -> None:
        self.xb, self.yb = xb, yb
        self._event("before_batch")
        xb, yb = self.xb, self.yb  # a before_batch callback may replace the batch (augmentation)
        closed_form = self.closed_form is not None and self.precision != "bf16" and self.closed_form.applies(xb, yb)
        sampled = self.statistics is not None and self.statistics.sampling  # hooks need the model as it is
        with torch.set_grad_enabled(not closed_form):  # an affine model needs no autograd graph
            self.output = self.forward(xb, compiled=not sampled)  # 2. predict
            self._event("after_predict")
            with autocast(self.precision, self.device):
                self.loss = (self.closed_form.loss if closed_form else self.loss_fn)(self.output, yb)  # 3. loss
            self._event("after_loss")
        if closed_form:
            self.closed_form(xb, self.output, yb)  # 4. gradient, written out (train/closed_form.py)
        else:
            self.loss.backward()  # 4. gradient, by autograd
        try:
            self._event("after_backward")
            self.optimizer_step()  # 5. step
            self.epoch_losses.append(self.loss, self.step + 1)  # kept on the device: no sync
        except SkipStep:  # a callback vetoed this step: the weights stay as they are
            self.skipped_steps += 1
            self.epoch_skipped += 1
        self.optimizer_step.zero_grad()  # set_to_none
        self._event("after_step")
        self.step += 1
        self.epoch_batches += 1
        self._event("after_batch")

    def set_callbacks(self, callbacks: Iterable[Callback]) -> None:
        """Train with ``callbacks`` (these and no others), called in the order of their ``order``."""
        self.callbacks = sorted(callbacks, key=lambda c: c.order)
        self._handlers = {e: [getattr(c, e) for c in self.callbacks if hasattr(c, e)] for e in EVENTS}

    def _event(self, name: str) -> None:
        for handler in self._handlers[name]:
            handler(self)

    # ---- measuring and using the model ------------------------------------------------------------
    def validate(self, data: Any = None) -> dict[str, float]:
        """Loss and metrics on the validation data (or on ``data``: an (X, y) pair or a loader)."""
        loader = self.val_loader if data is None else validation_loader(data, batch_size=self.batch_size,
                                                                         device=self.device)
        if loader is None:
            raise ValueError("there is no validation data; pass validation= to the Learner or data here.")
        self._event("before_validate")
        for metric in self.metric_objects:
            metric.reset()
        loss_sum, rows = torch.zeros((), device=self.device), 0
        was_training = self.model.training
        self.model.eval()
        with torch.no_grad():
            for batch in loader:
                xb, yb = self._to_device(batch)
                output = self.forward(xb, precise=True)
                loss_sum += self.loss_fn(output, yb) * len(yb)
                rows += len(yb)
                for metric in self.metric_objects:
                    metric.update(output, yb)
        self.model.train(was_training)
        results = {"val_loss": loss_sum.item() / max(rows, 1)}
        results.update({f"val_{m.name}": m.compute() for m in self.metric_objects})
        self.metrics.update(results)
        self._event("after_validate")
        return results

    def predict(self, X: Any, batch_size: int = 1024) -> torch.Tensor:
        """The model's raw outputs for ``X`` (arrays, tensor or loader), on the CPU, in eval mode."""
        if isinstance(X, np.memmap):  # on disk: read it a batch at a time
            X = stream(X, batch_size=batch_size, shuffle=False, workers=0)
        elif isinstance(X, (torch.Tensor, np.ndarray, list)) or hasattr(X, "to_numpy"):
            X = TensorLoader(as_tensor(X, "X"), batch_size=batch_size, shuffle=False)
        self.model.eval()
        with torch.no_grad():
            try:
                outputs = [self.forward(batch[0].to(self.device), precise=True).float().cpu() for batch in X]
            except RuntimeError as error:
                raise ValueError(
                    f"the model cannot take this input ({str(error).splitlines()[0]}); pass rows shaped and "
                    "typed like the training inputs."
                ) from None
        return torch.cat(outputs)

    def lr_find(self, start_lr: float = 1e-7, end_lr: float = 10.0, num_steps: int = 100):
        """Sweep the learning rate exponentially and suggest one; the model and optimizer are restored.

        Returns an :class:`~learnable.callbacks.lr_finder.LRFinderResult` (``lrs``, ``losses``,
        ``suggestion``, ``plot(path)``).
        """
        from learnable.callbacks.lr_finder import sweep_lr

        return sweep_lr(self, start_lr, end_lr, num_steps)

    @property
    def history(self) -> list[dict[str, float]]:
        """One dict of metrics per epoch trained so far."""
        return self.history_callback.records

    def save(self, directory: str | Path) -> Path:
        """Save the model (a registered learnable model) as safetensors + JSON in ``directory``."""
        return save_model(directory, self.model, {"history": self.history})

    # ---- checkpoints ------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue this fit exactly (see :func:`~learnable.train.learner_state.learner_state`)."""
        return learner_state(self)

    def load_state_dict(self, state: dict[str, Any], num_epochs: int | None = None) -> None:
        """Restore :meth:`state_dict` output (called by ``fit(resume=...)`` after initializing)."""
        restore_learner(self, state, num_epochs)

    def build_optimizer(self) -> torch.optim.Optimizer:
        """The optimizer ``fit`` trains with, built from the ``optimizer`` and ``lr`` the Learner was given."""
        spec = self.optimizer_spec
        if isinstance(spec, str):
            spec = OptimizerConfig(spec)
        if isinstance(spec, OptimizerConfig):
            if self.lr is not None:
                spec = OptimizerConfig(**{**spec.__dict__, "lr": self.lr})
            sparse = any(getattr(m, "sparse", False) is True for m in self.model.modules())
            return spec.build(self.model.parameters(), fused=False if sparse else None)
        if callable(spec):
            return spec(self.model.parameters())
        raise TypeError(f"optimizer must be a name, an OptimizerConfig or a callable, got {spec!r}.")
