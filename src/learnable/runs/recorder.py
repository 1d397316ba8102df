"""The callback that records a training run in the run store, batched and without host syncs.

Per-step losses are kept as device tensors every ``step_interval`` steps and read once per epoch,
together with the epoch's metrics, in one database transaction: never a commit per step. Before the
first step it stores a summary of the training data (:func:`learnable.insight.summarize_data`) for
the doctor, and the settings the Learner trains with (:func:`learner_settings`: the learning rate and
batch size even where the user left them to a default) for the report. :func:`record_of` gives the same
kind of record for a Learner that trained without recording. It writes through the run's
:class:`~learnable.runs.writer.RunWriter`: a store that stays locked, breaks, or loses the run's row stops
the recording with one line, never the training.

Example:
    >>> from learnable.runs import RunStore
    >>> store = RunStore("/tmp/example-runs")
    >>> recorder = RecordRun(store, store.create("demo"), step_interval=10)
    >>> # Learner(model, data, callbacks=[recorder]).fit(5)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from learnable.callbacks.events import ORDER, Callback
from learnable.runs.store import RunStore
from learnable.utils.validation import check_count

if TYPE_CHECKING:
    from learnable.train.learner import Learner


REGRESSION_LOSSES = ("MSELoss", "MAELoss", "L1Loss", "HuberLoss", "SmoothL1Loss")
BINARY_LOSSES = ("BCEWithLogitsLoss", "BCELoss")  # one 0/1 target per row (or per label)
CLASS_LOSSES = ("CrossEntropyLoss", "NLLLoss", "HingeLoss", "MultiMarginLoss")  # class indices


class RecordRun(Callback):
    """Write each epoch's metrics and the sampled step losses to ``store`` under ``run_id``.

    At the end the run's status becomes the Learner's outcome (finished, failed or interrupted),
    unless ``finish=False`` leaves that to the caller (who may add a summary first).
    """

    order = ORDER["RecordRun"]

    def __init__(self, store: RunStore, run_id: str, *, step_interval: int = 10, finish: bool = True) -> None:
        check_count("step_interval", step_interval, 10, owner="RecordRun")
        self.store, self.run_id, self.writer = store, run_id, store.writer(run_id)
        self.step_interval, self.finish = step_interval, finish
        self.pending: list[tuple[int, torch.Tensor]] = []

    def before_fit(self, learner: Learner) -> None:
        try:
            summary = learner_data_summary(learner)
        except (ValueError, TypeError, RuntimeError, MemoryError) as error:  # odd data must not stop training
            summary = {"error": f"no data summary: {type(error).__name__}: {error}"}
        self.writer.set_detail("data", summary)
        self.writer.set_detail("settings", learner_settings(learner))

    def after_batch(self, learner: Learner) -> None:
        if learner.step % self.step_interval == 0:
            self.pending.append((learner.step, learner.loss.detach()))  # stays on the device

    def after_epoch(self, learner: Learner) -> None:
        pending, self.pending = self.pending, []
        if self.writer.problem is not None:  # no longer recorded: skip the host sync too
            return
        losses = torch.stack([loss for _, loss in pending]).tolist() if pending else []
        steps = [(step, loss) for (step, _), loss in zip(pending, losses, strict=True)]
        self.writer.add_epoch(dict(learner.metrics), steps)

    def after_fit(self, learner: Learner) -> None:
        if self.finish:
            self.writer.finish(learner.outcome, summary=learner_summary(learner), error=learner.error)


def record_of(learner: Learner) -> dict[str, Any]:
    """The run record of a trained :class:`Learner`, as the doctor and the report read one: its history, data
    summary, outcome, error and summary (no step losses: only :class:`RecordRun` samples those).

    Example:
        >>> from learnable.insight import diagnose
        >>> diagnose(record_of(learner))  # doctest: +SKIP
        []
    """
    return {"epochs": learner.history, "steps": [], "data": learner_data_summary(learner),
            "status": learner.outcome, "error": learner.error, "summary": learner_summary(learner)}


def learner_summary(learner: Learner) -> dict[str, Any]:
    """Epochs run, why training stopped, and the epoch whose weights the model holds."""
    from learnable.callbacks.basic import EarlyStopping

    kept = learner.epoch
    for callback in learner.callbacks:
        if isinstance(callback, EarlyStopping) and callback.restore_best and callback.best_state is not None:
            kept = callback.best_epoch
    return {"epochs": learner.epoch, "stop_reason": learner.stop_reason, "kept_epoch": kept}


def learner_settings(learner: Learner) -> dict[str, Any]:
    """The settings ``learner`` trains with, defaults resolved: learning rate, batch size, optimizer, loss.

    Example:
        >>> learner_settings(Learner(torch.nn.Linear(2, 1), (torch.zeros(8, 2), torch.zeros(8, 1))))  # doctest: +SKIP
        {'lr': 0.001, 'batch_size': 64, 'optimizer': 'Adam', 'weight_decay': 0.0, 'loss': 'MSELoss'}
    """
    optimizer = learner.optimizer  # built before before_fit; its defaults hold the rate it was made with
    defaults = getattr(optimizer, "defaults", {})
    return {"lr": defaults.get("lr", learner.lr), "batch_size": getattr(learner.train_loader, "batch_size", None),
            "optimizer": type(optimizer).__name__, "weight_decay": defaults.get("weight_decay"),
            "loss": type(learner.loss_fn).__name__}


def learner_data_summary(learner: Learner) -> dict[str, Any]:
    """``learner.data_summary`` (set by ``learnable.fit``), else a summary of the in-memory training data."""
    from learnable.data.loader import TensorLoader
    from learnable.insight.data_summary import summarize_data

    summary = learner.data_summary
    if summary is None:
        summary = {}
        pairs = [loader.tensors[:2] if isinstance(loader, TensorLoader) and len(loader.tensors) > 1 else None
                 for loader in (learner.train_loader, learner.val_loader)]
        if pairs[0] is not None:
            summary = summarize_data(pairs[0], pairs[1], task=learner_task(learner, pairs[0][1]))
        learner.data_summary = summary
    loss = learner.loss_fn
    plain = getattr(loss, "reduction", "mean") == "mean" and getattr(loss, "weight", None) is None
    return {**summary, "loss": type(loss).__name__ if plain else f"{type(loss).__name__} (weighted or summed)"}


def learner_task(learner: Learner, targets: torch.Tensor) -> str:
    """The task ``learner`` trains for, read from its loss: "regression" for a regression loss, "binary" for a
    binary cross-entropy, "binary" or "multiclass" by the count of labels for a loss on class indices; for any
    other loss, the one rule that reads a task from a target (:func:`learnable.data.task.infer_task`).

    Example:
        >>> from learnable import Learner
        >>> labels = torch.arange(8) % 3
        >>> learner_task(Learner(torch.nn.Linear(2, 3), (torch.zeros(8, 2), labels), loss="cross_entropy"), labels)
        'multiclass'
    """
    import pandas as pd

    from learnable.data.task import infer_task

    name = type(learner.loss_fn).__name__
    if name in REGRESSION_LOSSES:
        return "regression"
    if name in BINARY_LOSSES:
        return "binary"
    column = targets.detach().cpu().reshape(len(targets), -1)[:, 0]  # (N,): the first target of each row
    labels = pd.Series(column.double().numpy() if column.is_floating_point() else column.numpy())
    if name in CLASS_LOSSES:
        return "binary" if labels.nunique() <= 2 else "multiclass"
    return infer_task(labels)
