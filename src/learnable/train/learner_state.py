"""A Learner's whole state for a checkpoint, and its exact restoration: what ``fit(resume=...)`` needs
to finish a fit as if it had never stopped (weights, optimizer, epoch and step, the epoch's step
losses, the loader's position, every callback's state and every random generator).

Example:
    >>> import torch
    >>> from torch import nn
    >>> from learnable.train import Learner
    >>> learner = Learner(nn.Linear(2, 1), (torch.randn(32, 2), torch.randn(32)), progress=False).fit(1)
    >>> state = learner_state(learner)
    >>> state["epoch"], state["step"]
    (1, 1)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from learnable.callbacks.checkpoint import UnusableCheckpoint, rng_state, set_rng_state
from learnable.utils.validation import quote

if TYPE_CHECKING:
    from learnable.train.learner import Learner


def learner_state(learner: Learner) -> dict[str, Any]:
    """Everything needed to continue the learner's fit exactly: weights, optimizer, position, RNGs, callbacks.

    Only tensors and plain Python values, so it loads with ``torch.load(weights_only=True)``.
    """
    loader = learner.train_loader.state_dict() if hasattr(learner.train_loader, "state_dict") else {}
    return {
        "format": "learnable-checkpoint", "format_version": 1,
        "model": learner.model.state_dict(), "optimizer": learner.optimizer.state_dict(),
        "epoch": learner.epoch, "step": learner.step, "fit_start_epoch": learner.fit_start_epoch,
        "num_epochs_planned": learner.num_epochs_planned, "epoch_batches": learner.epoch_batches,
        "epoch_losses": learner.epoch_losses.state_dict(), "metrics": dict(learner.metrics),
        "skipped_steps": learner.skipped_steps, "epoch_skipped": learner.epoch_skipped,
        "loader": loader, "rng": rng_state(),
        "callbacks": {f"{i}:{type(c).__name__}": c.state_dict() for i, c in enumerate(learner.callbacks)},
    }


def restore_learner(learner: Learner, state: dict[str, Any], num_epochs: int | None = None) -> None:
    """Restore :func:`learner_state` output into ``learner`` (``fit(resume=...)``, after initializing)."""
    planned = state["num_epochs_planned"] - state["fit_start_epoch"]
    if num_epochs is not None and num_epochs != planned:
        raise ValueError(
            f"the checkpoint was saved during fit({planned}); resume it with the same number of "
            f"epochs, not {num_epochs}."
        )
    try:
        learner.model.load_state_dict(state["model"])
        learner.optimizer.load_state_dict(state["optimizer"])
    except (RuntimeError, ValueError, KeyError) as error:
        raise ValueError(
            f"the checkpoint does not fit this Learner's model or optimizer ({str(error).splitlines()[0]}); "
            "resume with the same model, data and settings the run was started with."
        ) from None
    learner.epoch, learner.step = state["epoch"], state["step"]
    learner.fit_start_epoch, learner.num_epochs_planned = state["fit_start_epoch"], state["num_epochs_planned"]
    learner.epoch_batches, learner.metrics = state["epoch_batches"], dict(state["metrics"])
    if learner.epoch_batches and not hasattr(learner.train_loader, "load_state_dict"):
        raise ValueError(
            "the checkpoint was taken mid-epoch, but this loader cannot restart mid-epoch (it has no "
            "load_state_dict); resume from an epoch-end checkpoint, or train from (X, y) arrays."
        )
    try:
        _restore_position(learner, state)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, RuntimeError) as error:
        raise UnusableCheckpoint(
            "the checkpoint is damaged: its loader, RNG or callback state cannot be restored "
            f"({type(error).__name__}: {quote(str(error))}); resume from an older checkpoint."
        ) from None


def _restore_position(learner: Learner, state: dict[str, Any]) -> None:
    """The step losses, loader position, callback state and RNGs of a checkpoint."""
    learner.epoch_losses.load_state_dict(state["epoch_losses"], learner.device)
    learner.skipped_steps, learner.epoch_skipped = state["skipped_steps"], state["epoch_skipped"]
    if hasattr(learner.train_loader, "load_state_dict"):
        learner.train_loader.load_state_dict(state["loader"])
    for i, callback in enumerate(learner.callbacks):
        saved = state["callbacks"].get(f"{i}:{type(callback).__name__}")
        if saved is not None:
            callback.load_state_dict(saved)
    set_rng_state(state["rng"])
