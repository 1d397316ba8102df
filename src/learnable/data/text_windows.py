"""Windows over one token stream, for training and validating a language model.

A language model learns to predict each token from the ones before it, so its examples are windows of
``context_length + 1`` consecutive ids: the input ``x = ids[i:i+T]`` and the target
``y = ids[i+1:i+T+1]``. :class:`WindowLoader` cuts training windows at seeded random positions;
:func:`validation_windows` cuts the validation stream into non-overlapping ones.

Example:
    >>> import torch
    >>> X, y = validation_windows(torch.arange(9), context_length=4)
    >>> X.tolist(), y.tolist()
    ([[0, 1, 2, 3], [4, 5, 6, 7]], [[1, 2, 3, 4], [5, 6, 7, 8]])
"""

from __future__ import annotations

import math
from typing import Any

import torch

from learnable.data.loader import check_batch_size


class WindowLoader:
    """Batches of training windows cut from one id stream at seeded random positions.

    A window is ``context_length + 1`` consecutive ids: the input ``x = ids[i:i+T]`` and the target
    ``y = ids[i+1:i+T+1]`` (each input's next id). An epoch is ``len(ids) // T`` windows, so it reads
    about as many characters as the stream holds; the start positions come from a seeded generator.
    ``state_dict`` lets a checkpointed run continue exactly.
    """

    def __init__(self, ids: torch.Tensor, context_length: int, batch_size: int, *, seed: int = 0) -> None:
        check_batch_size(batch_size)
        self.ids, self.context_length, self.batch_size = ids, context_length, int(batch_size)
        self.num_windows = max(1, len(ids) // context_length)
        self.offsets = torch.arange(context_length + 1, device=ids.device)  # (T+1,)
        self.generator = torch.Generator().manual_seed(seed)
        self.epoch_state = self.generator.get_state()
        self.position, self.resume_at = 0, 0

    def __len__(self) -> int:
        return math.ceil(self.num_windows / self.batch_size)

    def _windows(self, starts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        chunk = self.ids[starts[:, None] + self.offsets]  # (B, T+1)
        return chunk[:, :-1], chunk[:, 1:]  # x (B, T), y (B, T)

    def __iter__(self):
        first, self.resume_at = self.resume_at, 0
        if first == 0:
            self.epoch_state = self.generator.get_state()
        last_start = len(self.ids) - self.context_length - 1  # the last window ends with the last id
        starts = torch.randint(0, last_start + 1, (self.num_windows,), generator=self.generator)  # (windows,), CPU
        starts = starts.to(self.ids.device)  # once an epoch, not a copy per batch
        self.position = first
        for batch in range(first, len(self)):
            self.position += 1
            yield self._windows(starts[batch * self.batch_size : (batch + 1) * self.batch_size])
        self.position = 0

    def peek(self, rows: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
        """The first ``rows`` windows of the stream, without drawing from the generator."""
        return self._windows(torch.arange(min(rows, len(self.ids) - self.context_length), device=self.ids.device))

    def state_dict(self) -> dict[str, Any]:
        state = self.epoch_state if self.position else self.generator.get_state()
        return {"generator": state.clone(), "position": self.position}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.generator.set_state(state["generator"])
        self.epoch_state = state["generator"].clone()  # a second checkpoint in the resumed epoch saves it again
        self.resume_at, self.position = int(state["position"]), 0


def validation_windows(ids: torch.Tensor, context_length: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Non-overlapping windows over the validation stream, as (X, y) each (W, L), L <= context_length;
    the few ids after the last whole window are left out (the final bits per character count them)."""
    length = min(context_length, len(ids) - 1)
    count = (len(ids) - 1) // length
    return ids[: count * length].view(count, length), ids[1 : count * length + 1].view(count, length)
