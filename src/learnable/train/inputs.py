"""What the Learner is handed, checked and turned into tensors: data, targets, devices, loaders.

Every check here runs before the first training step and turns a user mistake into a clear
``ValueError`` or ``TypeError``.

Example:
    >>> as_tensor([[1.0, 2.0]], "X").dtype
    torch.float32
"""

from __future__ import annotations

from typing import Any

import torch

from learnable import losses
from learnable.data.loader import numeric_tensor
from learnable.data.task import MAX_CLASSES


def default_device() -> torch.device:
    """CUDA when a GPU is present, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def as_tensor(data: Any, name: str) -> torch.Tensor:
    """Convert arrays, lists, Series and DataFrames to a tensor (float64 becomes float32)."""
    if hasattr(data, "to_numpy"):  # pandas
        data = data.to_numpy()
    try:
        return numeric_tensor(data)
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"{name} cannot be turned into a tensor ({error}); the Learner needs numbers. "
            "Use learnable.fit for tables with text columns, or encode them first."
        ) from None


def check_targets(output: torch.Tensor, target: torch.Tensor, loss_fn: Any) -> None:
    if isinstance(loss_fn, losses.CrossEntropyLoss):
        if output.ndim < 2 or output.shape[-1] < 2:
            raise ValueError(
                f"cross_entropy needs one output per class, but the model gives shape {tuple(output.shape)}; "
                "use loss='bce_with_logits' for a single logit, or widen the last layer."
            )
        if target.is_floating_point():
            raise ValueError("cross_entropy needs integer class indices as targets, got floats; use y.long().")
        low, high = int(target.min()), int(target.max())
        if low < 0 or high >= output.shape[-1]:
            raise ValueError(
                f"the targets hold class indices from {low} to {high}, but the model has "
                f"{output.shape[-1]} outputs (classes 0 to {output.shape[-1] - 1}); make the last "
                "layer as wide as the number of classes, and number the classes from 0."
            )


def looks_like_classes(y: torch.Tensor) -> bool:
    return not y.is_floating_point() and y.ndim == 1 and len(torch.unique(y)) <= MAX_CLASSES


def resolve_device(device: Any) -> torch.device:
    if device == "auto":
        return default_device()
    try:
        return torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ValueError(f"device={device!r} is not a device ({error}); use 'auto', 'cpu' or 'cuda'.") from None


def check_validation(validation: Any) -> None:
    if isinstance(validation, bool) or (isinstance(validation, str) and validation != "auto"):
        raise TypeError(
            f"validation={validation!r}: pass a fraction such as 0.2, an (X, y) pair, a loader, None or 'auto'."
        )


def is_sample_dataset(value: Any) -> bool:
    """A map-style ``Dataset`` (items by index, no iteration of its own): the Learner streams it."""
    return isinstance(value, torch.utils.data.Dataset) and not hasattr(value, "__iter__")


def check_loader(data: Any) -> None:
    if is_sample_dataset(data):
        raise TypeError(
            f"data is a {type(data).__name__} (a Dataset); wrap it in torch.utils.data.DataLoader(dataset, "
            "batch_size=64, shuffle=True), or pass (X, y) arrays."
        )
    if not hasattr(data, "__iter__"):
        raise TypeError(
            f"data must be an (X, y) pair or an iterable of (x_batch, y_batch), got {type(data).__name__}."
        )


def is_pair_or_loader(value: Any) -> bool:
    return isinstance(value, (tuple, list)) or hasattr(value, "__iter__")


def check_elementwise(output: torch.Tensor, target: torch.Tensor, loss_fn: Any) -> None:
    """Regression and binary losses compare output and target row by row: their shapes must match."""
    elementwise = (losses.MSELoss, losses.MAELoss, losses.HuberLoss, losses.BCEWithLogitsLoss)
    if isinstance(loss_fn, elementwise) and losses.single_output(output, target).shape != target.shape:
        raise RuntimeError(f"output shape {tuple(output.shape)} does not match target shape {tuple(target.shape)}")
