"""How the Learner runs a step fast on its device: precision, memory format and compilation.

- ``precision``: "float32"; "bf16" for bfloat16 autocast of the forward pass and the loss (the
  weights, gradients and optimizer stay float32; bfloat16 has float32's range, so no loss scaling);
  "tf32", float32 whose matrix products and convolutions may use TensorFloat-32 on a CUDA GPU (set
  for the fit, restored after; plain float32 on a CPU). "auto" is "bf16" on a CUDA GPU that
  supports it natively, for classification, and "float32" elsewhere; validation and predictions
  always run in float32.
- ``channels_last``: convolution networks keep their images and kernels channels-last (NHWC), the
  layout the fast convolution kernels want. "auto" turns it on for models with a ``Conv2d``: on this
  project's 2-core CPU it made a CNN step 1.4x faster (``docs/benchmarks.md``).
- ``compile``: ``torch.compile`` the model for the training steps. Off by default: on a CPU it took
  18 s to compile logistic regression and was no faster after; it pays on long GPU runs.

Example:
    >>> import torch
    >>> resolve_precision("auto", torch.device("cpu"))
    'float32'
    >>> uses_channels_last("auto", torch.nn.Conv2d(1, 4, 3))
    True
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

PRECISIONS = ("auto", "float32", "tf32", "bf16")


def resolve_precision(precision: Any, device: torch.device, loss_fn: Any = None) -> str:
    """"float32", "tf32" or "bf16": ``precision`` with "auto" resolved for ``device`` and ``loss_fn``.

    "auto" is "bf16" only on a CUDA GPU with native bfloat16 (compute capability 8.0 or later) and
    for a classification loss (cross-entropy, binary cross-entropy, hinge): regression outputs keep
    float32's precision (bfloat16 has 8 bits of mantissa: a prediction near 2000 would move by 8).
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision={precision!r}; choose one of {list(PRECISIONS)}.")
    if precision != "auto":
        return precision
    from learnable import losses

    classifying = isinstance(loss_fn, losses.CLASSIFICATION_LOSSES)
    native = device.type == "cuda" and torch.cuda.is_available() and torch.cuda.get_device_capability(device) >= (8, 0)
    return "bf16" if classifying and native else "float32"


def autocast(precision: str, device: torch.device) -> contextlib.AbstractContextManager:
    """The context a forward pass runs in: bfloat16 autocast for "bf16", nothing for "float32"."""
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def uses_channels_last(option: Any, model: nn.Module) -> bool:
    """Whether to train ``model`` channels-last: ``option`` True/False, or "auto" (a Conv2d inside)."""
    if option == "auto":
        return any(isinstance(m, nn.Conv2d) for m in model.modules())
    if not isinstance(option, bool):
        raise ValueError(f"channels_last={option!r}; use True, False or 'auto'.")
    return option


def set_memory_format(model: nn.Module, memory_format: torch.memory_format) -> None:
    """Put the kernels of every ``Conv2d`` in ``model`` in ``memory_format`` (other weights keep theirs)."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            module.to(memory_format=memory_format)


def to_channels_last(x: torch.Tensor) -> torch.Tensor:
    """A 4-D floating-point batch in the channels-last layout (anything else as it is)."""
    if x.ndim == 4 and x.is_floating_point():
        return x.contiguous(memory_format=torch.channels_last)
    return x


@contextlib.contextmanager
def tensor_float_32(device: torch.device, precision: str) -> Iterator[None]:
    """Under "tf32" on CUDA, let float32 matrix products and convolutions use TF32; restore after."""
    if device.type != "cuda" or precision != "tf32":
        yield
        return
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved
