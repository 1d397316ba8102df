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

from learnable.utils.validation import check_count


def check_batch_size(batch_size: Any) -> None:
    """Raise unless ``batch_size`` is a whole number >= 1."""
    check_count("batch_size", batch_size, 64)

def numeric_tensor(data: Any) -> torch.Tensor:
    """An array or tensor as the Learner trains on it: float64 and bool become float32, and a
    read-only array (a memory map's rows) is copied. numpy's TypeError or ValueError passes through."""
    if not isinstance(data, torch.Tensor):
        array = np.asarray(data)
        data = torch.from_numpy(array if array.flags.writeable else array.copy())
    return data.float() if data.dtype in (torch.float64, torch.bool) else data


def long_classes(y: torch.Tensor) -> torch.Tensor:
    """Integer class labels as int64, the dtype PyTorch's classification losses index with."""
    return y if y.is_floating_point() or y.dtype == torch.long else y.long()


class BatchOrder:
    """The rows each batch of an epoch takes, for :class:`TensorLoader` and the streaming loader.

    Every epoch draws a permutation from a seeded ``torch.Generator`` on the CPU (the same order on
    every device), moved once to ``device``; batches are its consecutive slices, or plain slices of
    the rows in order when not shuffling. :meth:`state_dict` and :meth:`load_state_dict` restart an
    epoch part-way: the loaders count the batches they hand out and pass that count in.
    """

    def __init__(self, rows: int, batch_size: int, *, shuffle: bool, seed: int, drop_last: bool,
                 device: torch.device | str = "cpu") -> None:
        check_batch_size(batch_size)
        self.rows, self.batch_size, self.shuffle, self.drop_last = rows, int(batch_size), shuffle, drop_last
        self.device = device
        self.generator = torch.Generator().manual_seed(seed)
        self.epoch_state = self.generator.get_state()  # the state that drew the epoch under way
        self.resume_at = 0  # batches of the next epoch to skip (a restored, part-done epoch)

    def __len__(self) -> int:
        full, rest = divmod(self.rows, self.batch_size)
        return full + (rest > 0 and not self.drop_last)

    def __iter__(self) -> Iterator[torch.Tensor | slice]:
        first, self.resume_at = self.resume_at, 0
        if first == 0:
            self.epoch_state = self.generator.get_state()  # so a checkpoint can redraw this epoch's order
        order = torch.randperm(self.rows, generator=self.generator).to(self.device) if self.shuffle else None
        for batch in range(first, len(self)):
            start = batch * self.batch_size
            yield slice(start, start + self.batch_size) if order is None else order[start : start + self.batch_size]

    def state_dict(self, position: int) -> dict[str, Any]:
        """Mid-epoch (``position`` batches handed out), the generator state that drew this epoch's
        order; between epochs (``position`` 0), the generator state now."""
        generator = self.epoch_state if position else self.generator.get_state()
        return {"generator": generator.clone(), "position": position}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """The next epoch is the one :meth:`state_dict` described, from the batch after ``position``."""
        self.generator.set_state(state["generator"])
        self.epoch_state = state["generator"].clone()  # a second checkpoint in the resumed epoch saves it again
        self.resume_at = int(state.get("position", 0))


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
        self.order = BatchOrder(len(X), batch_size, shuffle=shuffle, seed=seed, drop_last=drop_last, device=X.device)
        self.position = 0  # batches handed out in the epoch under way (0 between epochs)

    @property
    def batch_size(self) -> int:
        return self.order.batch_size

    @property
    def num_rows(self) -> int:
        return len(self.tensors[0])

    def __len__(self) -> int:
        return len(self.order)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        self.position = self.order.resume_at
        for rows in self.order:
            self.position += 1  # batches handed out this epoch, counting this one
            if isinstance(rows, slice):
                yield tuple(t[rows] for t in self.tensors)
            else:
                yield tuple(t.index_select(0, rows) for t in self.tensors)
        self.position = 0

    def peek(self, rows: int = 2) -> tuple[torch.Tensor, ...]:
        """The first ``rows`` rows, without drawing from the generator (the batch order stays put)."""
        return tuple(t[:rows] for t in self.tensors)

    def state_dict(self) -> dict[str, Any]:
        """Where the loader is: the batch order's state and the batches handed out this epoch."""
        return self.order.state_dict(self.position)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue exactly where :meth:`state_dict` was taken: the next batch is the one after."""
        self.order.load_state_dict(state)
        self.position = 0  # nothing handed out of the restored epoch yet
