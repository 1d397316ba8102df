"""The losses of an epoch's steps, kept on the device and read once at the epoch's end.

Appending a step's loss costs no device work at all (the tensor is kept as it is, detached), so the
training loop never waits for the device; every 1,024 steps the kept tensors are stacked into one,
so a long epoch holds a few vectors rather than many tiny tensors. At the epoch's end one ``sum``
gives the training loss, and the NonFiniteGuard finds the first NaN or infinite step from the same
tensor.

Example:
    >>> import torch
    >>> losses = StepLosses()
    >>> for step, value in enumerate([0.5, 0.25, float("nan")], start=1):
    ...     losses.append(torch.tensor(value), step)
    >>> losses.first_non_finite_step()
    3
"""

from __future__ import annotations

from typing import Any

import torch

CHUNK = 1024


class StepLosses:
    """Per-step losses of the epoch under way, with the step number each was taken at."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.chunks: list[torch.Tensor] = []  # 1-D stacks of earlier steps' losses
        self.pending: list[torch.Tensor] = []  # 0-d losses not stacked yet
        self.steps: list[int] = []

    def __len__(self) -> int:
        return len(self.steps)

    def append(self, loss: torch.Tensor, step: int) -> None:
        """Keep ``loss`` (a 0-d tensor, detached here) as the loss of step number ``step``."""
        self.pending.append(loss.detach())
        self.steps.append(step)
        if len(self.pending) == CHUNK:
            self.chunks.append(torch.stack(self.pending))
            self.pending = []

    def values(self) -> torch.Tensor | None:
        """All the losses as one vector on their device, or None when there are none."""
        parts = self.chunks + ([torch.stack(self.pending)] if self.pending else [])
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else torch.cat(parts)

    def total(self) -> float:
        """The sum of the losses (one read from the device)."""
        values = self.values()
        return 0.0 if values is None else values.double().sum().item()

    def first_non_finite_step(self) -> int | None:
        """The step number of the first NaN or infinite loss, or None when all are finite."""
        values = self.values()
        if values is None:
            return None
        bad = (~torch.isfinite(values)).nonzero()
        return self.steps[int(bad[0])] if len(bad) else None

    def state_dict(self) -> dict[str, Any]:
        values = self.values()
        return {"values": values.detach().cpu() if values is not None else torch.zeros(0), "steps": list(self.steps)}

    def load_state_dict(self, state: dict[str, Any], device: torch.device) -> None:
        self.clear()
        values = state["values"].to(device)
        if len(values):
            self.chunks = [values]
        self.steps = list(state["steps"])
