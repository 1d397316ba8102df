"""Losses: how wrong the predictions are, as one number to minimise.

Each loss takes the model's raw output and the target and returns a scalar tensor. Shapes are
matched the way users expect: a single-output model's ``(B, 1)`` output meets a ``(B,)`` target.
:func:`get` turns a name ("mse", "cross_entropy", ...) into a loss module.

Example:
    >>> import torch
    >>> get("hinge")(torch.tensor([[2.0], [-0.5]]), torch.tensor([1, 0])).item()
    0.25
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from learnable.utils.validation import check_number


def single_output(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Drop the output's trailing 1 when the target has one dimension less: (B, 1) -> (B,)."""
    if output.ndim == target.ndim + 1 and output.shape[-1] == 1:
        return output.squeeze(-1)
    return output


class MSELoss(nn.Module):
    """Mean squared error, for regression."""

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(single_output(output, target), target.to(output.dtype))


class MAELoss(nn.Module):
    """Mean absolute error, for regression robust to outliers."""

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.l1_loss(single_output(output, target), target.to(output.dtype))


class HuberLoss(nn.Module):
    """Squared error for small errors, absolute error beyond ``delta``."""

    def __init__(self, delta: float = 1.0) -> None:
        super().__init__()
        self.delta = delta

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.huber_loss(single_output(output, target), target.to(output.dtype), delta=self.delta)


class CrossEntropyLoss(nn.Module):
    """Softmax cross-entropy over class logits (B, C) and class indices (B,).

    Sequence outputs (B, T, C) with targets (B, T), as a language model gives, are scored per
    position: the mean over all B*T positions.
    """

    def __init__(self, label_smoothing: float = 0.0) -> None:
        super().__init__()
        check_number("label_smoothing", label_smoothing, 0, 1, "0.1", high_open=True)
        self.label_smoothing = label_smoothing

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if output.ndim > 2:  # (B, T, C) -> (B*T, C): one prediction per position
            output, target = output.reshape(-1, output.shape[-1]), target.reshape(-1)
        return F.cross_entropy(output, target, label_smoothing=self.label_smoothing)


class BCEWithLogitsLoss(nn.Module):
    """Binary cross-entropy on one logit per row (B, 1) and 0/1 targets (B,)."""

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        output = single_output(output, target)
        return F.binary_cross_entropy_with_logits(output, target.to(output.dtype))


class HingeLoss(nn.Module):
    """The SVM's hinge loss: binary on one margin per row with 0/1 targets, or multiclass margins.

    Binary: ``mean(max(0, 1 - t * m))`` with ``t = 2 * target - 1``. Multiclass: Weston-Watkins
    (``torch.nn.functional.multi_margin_loss``) on (B, C) margins and class indices.
    """

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if output.ndim == target.ndim + 1 and output.shape[-1] > 1:
            return F.multi_margin_loss(output, target)
        margin = single_output(output, target)
        sign = target.to(margin.dtype) * 2 - 1  # {0, 1} -> {-1, +1}
        return torch.clamp(1 - sign * margin, min=0).mean()


CLASSIFICATION_LOSSES = (CrossEntropyLoss, BCEWithLogitsLoss, HingeLoss)  # outputs read as classes or scores

LOSSES: dict[str, Callable[..., nn.Module]] = {
    "mse": MSELoss,
    "mae": MAELoss,
    "huber": HuberLoss,
    "cross_entropy": CrossEntropyLoss,
    "bce_with_logits": BCEWithLogitsLoss,
    "hinge": HingeLoss,
}


def get(loss: Any, **options: Any) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """Return a loss: by name from :data:`LOSSES` (with options), or any callable as it is."""
    if callable(loss):
        return loss
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; choose one of {sorted(LOSSES)} or pass a callable.")
    return LOSSES[loss](**options)
