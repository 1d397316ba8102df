"""Mini-batches for data that fits in memory: tensors on the device, shuffled by index.

No per-sample collate and no worker processes: the whole dataset lives on the target device, each
epoch draws one permutation from a seeded ``torch.Generator``, and a batch is an index gather. The
last batch holds the remainder (or is dropped with ``drop_last=True``).

Example:
    >>> import torch
    >>> loader = TensorLoader(torch.arange(10.0).reshape(5, 2), torch.arange(5), batch_size=2, seed=0)
    >>> [len(y) for _, y in loader]
    [2, 2, 1]
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch


def check_batch_size(batch_size: Any) -> None:
    """Raise unless ``batch_size`` is a whole number >= 1."""
    if not isinstance(batch_size, (int, np.integer)) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size={batch_size!r} must be a positive whole number, e.g. 64.")

class TensorLoader:
    """Iterate over ``(x_batch, y_batch)`` pairs of device-resident tensors.

    Args:
        X: inputs, shape (N, ...).
        y: targets, shape (N, ...), or None for unlabelled data (batches are then ``(x,)``).
        batch_size: rows per batch.
        shuffle: draw a new seeded permutation every epoch.
        seed: seed of the generator that orders the batches.
        drop_last: skip a final batch smaller than ``batch_size``.
    """

    def __init__(
        self,
        X: torch.Tensor,
        y: torch.Tensor | None = None,
        *,
        batch_size: int = 64,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
    ) -> None:
        check_batch_size(batch_size)
        if y is not None and len(X) != len(y):
            raise ValueError(f"X has {len(X)} rows but y has {len(y)}; expected one target per row.")
        self.tensors = (X,) if y is None else (X, y)
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.generator = torch.Generator().manual_seed(seed)
        self.position = 0  # batches handed out in the epoch under way (0 between epochs)
        self._resume_at = 0
        self._epoch_state = self.generator.get_state()

    @property
    def num_rows(self) -> int:
        return len(self.tensors[0])

    def __len__(self) -> int:
        full, rest = divmod(self.num_rows, self.batch_size)
        return full + (rest > 0 and not self.drop_last)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        device = self.tensors[0].device
        first, self._resume_at = self._resume_at, 0
        if first == 0:
            self._epoch_state = self.generator.get_state()  # so a checkpoint can redraw this epoch's order
        if self.shuffle:
            # The permutation is drawn on the CPU so the order is the same on every device.
            order = torch.randperm(self.num_rows, generator=self.generator).to(device)
        for batch in range(first, len(self)):
            self.position = batch + 1  # batches handed out this epoch, counting this one
            start = batch * self.batch_size
            if self.shuffle:
                index = order[start : start + self.batch_size]
                yield tuple(t.index_select(0, index) for t in self.tensors)
            else:
                yield tuple(t[start : start + self.batch_size] for t in self.tensors)
        self.position = 0

    def peek(self, rows: int = 2) -> tuple[torch.Tensor, ...]:
        """The first ``rows`` rows, without drawing from the generator (the batch order stays put)."""
        return tuple(t[:rows] for t in self.tensors)

    def state_dict(self) -> dict[str, Any]:
        """Where the loader is: mid-epoch, the generator state that drew this epoch's order and the
        batches already handed out; between epochs, the generator state and position 0."""
        mid_epoch = self.position > 0
        generator = self._epoch_state if mid_epoch else self.generator.get_state()
        return {"generator": generator.clone(), "position": self.position}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue exactly where :meth:`state_dict` was taken: the next batch is the one after."""
        self.generator.set_state(state["generator"])
        self._resume_at = int(state.get("position", 0))
        self.position = 0  # nothing handed out of the restored epoch yet
