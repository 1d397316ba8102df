"""Mini-batches streamed from data that does not fit in memory, through PyTorch's DataLoader.

:func:`stream` reads arrays that stay on disk (``np.load(path, mmap_mode="r")``, ``np.memmap``, or
anything indexable by an array of rows, such as an h5py dataset) a whole batch at a time: worker
processes each gather one batch with a single sorted fancy-index read, so the disk is read in
order and nothing is collated sample by sample. A ``torch.utils.data.Dataset`` of single samples is
streamed through the DataLoader's usual sampling and collation. Either way:

- the batch order is drawn from a seeded generator, the same for any number of workers;
- batches arrive in pinned memory when training on a CUDA GPU, so the copy to the device overlaps
  the step (the Learner copies with ``non_blocking=True``);
- the loader remembers how far into the epoch it is (:meth:`StreamLoader.state_dict`), so a
  checkpoint taken mid-epoch resumes at the next batch, as with in-memory data.

Example:
    >>> import numpy as np
    >>> X, y = np.arange(20.0, dtype=np.float32).reshape(10, 2), np.arange(10) % 2
    >>> loader = stream(X, y, batch_size=4, workers=0, seed=0)
    >>> [len(yb) for _, yb in loader]
    [4, 4, 2]
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from learnable.data.loader import BatchOrder, check_batch_size, long_classes, numeric_tensor
from learnable.utils.validation import check_count


class RowBatches(Dataset):
    """A dataset whose items are whole batches: ``dataset[rows]`` reads those rows of X (and y)."""

    def __init__(self, X: Any, y: Any = None, rows: np.ndarray | None = None) -> None:
        if y is not None and len(X) != len(y):
            raise ValueError(f"X has {len(X)} rows but y has {len(y)}; expected one target per row.")
        self.X, self.y = X, y
        self.rows = np.arange(len(X)) if rows is None else np.asarray(rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __getstate__(self) -> dict[str, Any]:
        """Pickled for a worker process (spawn, forkserver): memory maps travel as their file, not their bytes."""
        return {**self.__dict__, "X": _portable(self.X), "y": _portable(self.y)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, X=_reopen(state["X"]), y=_reopen(state["y"]))

    def __getitem__(self, positions: Sequence[int]) -> tuple[torch.Tensor, ...]:
        rows = np.sort(self.rows[np.asarray(positions)])  # in file order: sequential reads
        x = numeric_tensor(self.X[rows])
        return (x,) if self.y is None else (x, long_classes(numeric_tensor(self.y[rows])))


def _portable(array: Any) -> Any:
    if isinstance(array, np.memmap) and array.filename is not None and array.base is not None:
        order = "F" if array.flags.f_contiguous and not array.flags.c_contiguous else "C"
        return ("memmap", array.filename, array.dtype.str, array.shape, array.offset, order)
    return array


def _reopen(value: Any) -> Any:
    if isinstance(value, tuple) and len(value) == 6 and value[0] == "memmap":
        _, filename, dtype, shape, offset, order = value
        return np.memmap(filename, dtype=np.dtype(dtype), mode="r", shape=shape, offset=offset, order=order)
    return value


class _RowLists(Sampler):
    """A :class:`BatchOrder`'s batches as lists of row positions, the form a DataLoader's sampler gives."""

    def __init__(self, order: BatchOrder) -> None:
        self.order = order

    def __len__(self) -> int:
        return len(self.order)

    def __iter__(self) -> Iterator[list[int]]:
        for rows in self.order:
            yield list(range(rows.start, min(rows.stop, self.order.rows))) if isinstance(rows, slice) else rows.tolist()


class StreamLoader:
    """Iterate over ``(x_batch, y_batch)`` from a DataLoader, counting the batches handed out.

    Build it with :func:`stream`. ``loader`` is the underlying ``torch.utils.data.DataLoader``.
    """

    def __init__(self, loader: DataLoader, order: BatchOrder) -> None:
        self.loader, self.order = loader, order
        self.position = 0  # batches handed out in the epoch under way (the workers may have read ahead)

    def __len__(self) -> int:
        return len(self.order)

    def __iter__(self) -> Iterator[Any]:
        self.position = self.order.resume_at
        for batch in self.loader:
            self.position += 1
            yield batch
        self.position = 0

    def targets(self) -> torch.Tensor | None:
        """Every target, for array data whose targets are in memory (a Dataset's are not: None)."""
        dataset = self.loader.dataset
        if isinstance(dataset, RowBatches) and dataset.y is not None and not isinstance(dataset.y, np.memmap):
            return long_classes(numeric_tensor(np.asarray(dataset.y)[dataset.rows]))
        return None

    def peek(self, rows: int = 2) -> tuple[torch.Tensor, ...]:
        """The first ``rows`` rows as a batch, read without drawing from the generator or starting workers."""
        dataset = self.loader.dataset
        if isinstance(dataset, RowBatches):
            return dataset[list(range(min(rows, len(dataset))))]
        samples = [dataset[i] for i in range(min(rows, len(dataset)))]
        return tuple(self.loader.collate_fn(samples))

    def state_dict(self) -> dict[str, Any]:
        """Where the loader is: the batch order's state and the batches handed out this epoch."""
        return self.order.state_dict(self.position)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue where :meth:`state_dict` was taken: the next batch is the one after."""
        self.order.load_state_dict(state)
        self.position = 0  # nothing handed out of the restored epoch yet


def _flat(sample: Any) -> list[Any]:
    return [t for part in sample for t in _flat(part)] if isinstance(sample, (tuple, list)) else [sample]


def default_workers() -> int:
    """Worker processes for :func:`stream` with ``workers="auto"``: the CPUs less one, at most 8."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(0, min(8, cpus - 1))


def stream(
    data: Any,
    y: Any = None,
    *,
    batch_size: int = 64,
    shuffle: bool = True,
    seed: int = 0,
    workers: int | str = "auto",
    pin_memory: bool | str = "auto",
    drop_last: bool = False,
    rows: np.ndarray | None = None,
) -> StreamLoader:
    """A loader that streams ``data`` in batches: arrays (``X`` and ``y``) or a ``Dataset``.

    Args:
        data: an array-like indexable by an array of rows (a memory-mapped ``.npy`` is the usual
            case), or a ``torch.utils.data.Dataset`` whose items are ``(x, y)`` samples.
        y: the targets, for array-like ``data`` (None for unlabelled data).
        batch_size: rows per batch.
        shuffle: draw a new seeded order every epoch.
        seed: seeds the batch order.
        workers: worker processes reading batches ahead ("auto": :func:`default_workers`; 0 reads
            in the training process).
        pin_memory: put batches in page-locked memory for fast copies to a GPU ("auto": when CUDA
            is available).
        drop_last: skip a final short batch.
        rows: for array-like ``data``, the rows to use (e.g. a training split), default all.
    """
    check_batch_size(batch_size)
    if workers == "auto":
        workers = default_workers()
    check_count("workers", workers, "2, or 'auto'", least=0)
    if pin_memory == "auto":
        pin_memory = torch.cuda.is_available()
    options: dict[str, Any] = {"num_workers": workers, "pin_memory": bool(pin_memory)}
    if workers:
        options.update(persistent_workers=True, prefetch_factor=4)
    if isinstance(data, Dataset) and not isinstance(data, RowBatches):
        if y is not None:
            raise ValueError("y must be None when data is a Dataset; its items hold the targets.")
        if len(data) and any(isinstance(t, torch.Tensor) and t.is_cuda for t in _flat(data[0])):
            options.update(num_workers=0, pin_memory=False)  # already on the GPU: no workers, nothing to pin
            options.pop("persistent_workers", None), options.pop("prefetch_factor", None)
        order = BatchOrder(len(data), batch_size, shuffle=shuffle, seed=seed, drop_last=drop_last)
        return StreamLoader(DataLoader(data, batch_sampler=_RowLists(order), **options), order)
    if not hasattr(data, "__getitem__") or not hasattr(data, "__len__"):
        raise TypeError(
            f"stream() needs arrays indexable by rows (e.g. np.load(path, mmap_mode='r')) or a Dataset, "
            f"got {type(data).__name__}."
        )
    dataset = RowBatches(data, y, rows)
    order = BatchOrder(len(dataset), batch_size, shuffle=shuffle, seed=seed, drop_last=drop_last)
    # Each item is a whole batch (batch_size=None: no collation), read by one worker.
    return StreamLoader(DataLoader(dataset, sampler=_RowLists(order), batch_size=None, **options), order)
