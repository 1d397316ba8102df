"""The batches the Learner trains and validates on, from whatever it was given, and the check of the
first one before any step.

``(X, y)`` arrays or tensors are moved to the device once and batched by index (a
:class:`~learnable.data.loader.TensorLoader`, shuffled with a seeded generator); a memory-mapped ``X``
and a Dataset of samples are streamed (:func:`~learnable.data.stream.stream`); a loader is used as it
is. A validation fraction is split off (X, y) only, stratified when the targets look like classes.

Example:
    >>> import torch
    >>> train, val = training_loaders((torch.randn(100, 3), torch.randn(100)), 0.2, batch_size=16, seed=0,
    ...                               device=torch.device("cpu"))
    >>> len(train.tensors[0]), len(val.tensors[0])
    (80, 20)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from learnable.data.loader import TensorLoader, long_classes
from learnable.data.split import split_indices
from learnable.data.stream import StreamLoader, stream
from learnable.train.inputs import (
    as_tensor,
    check_elementwise,
    check_loader,
    check_targets,
    check_validation,
    is_pair_or_loader,
    is_sample_dataset,
    looks_like_classes,
)
from learnable.train.speed import set_memory_format
from learnable.utils.validation import is_number

if TYPE_CHECKING:
    from learnable.train.learner import Learner


def training_loaders(data: Any, validation: Any, *, batch_size: int, seed: int,
                     device: torch.device) -> tuple[Any, Any]:
    """The training loader and the validation loader (or None) for the Learner's ``data`` and ``validation``."""
    check_validation(validation)
    if not isinstance(data, (tuple, list)):
        if is_sample_dataset(data):
            data = stream(data, batch_size=batch_size, seed=seed)  # samples, read by workers
        check_loader(data)
        if validation == "auto":
            validation = None
        if validation is not None and not (is_pair_or_loader(validation) or is_sample_dataset(validation)):
            raise ValueError(
                "validation must be an (X, y) pair, a Dataset, a loader or None when data is a loader; "
                "a fraction can only be split off (X, y) arrays."
            )
        return data, validation_loader(validation, batch_size=batch_size, device=device)
    if validation == "auto":
        validation = 0.2
    if len(data) != 2:
        raise ValueError(f"data must be an (X, y) pair or a loader; got a sequence of {len(data)} items.")
    on_disk = isinstance(data[0], np.memmap)  # a memory-mapped X is streamed, not loaded
    X = data[0] if on_disk else as_tensor(data[0], "X")
    y = long_classes(as_tensor(np.array(data[1]) if on_disk else data[1], "y"))
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)}; expected one target per row.")
    if len(X) == 0:
        raise ValueError("the training data has no rows; pass at least one (X, y) example.")
    if is_number(validation):
        validation = float(validation) or None
    rows = held_out = None
    if isinstance(validation, float):
        labels = y.numpy() if looks_like_classes(y) else None
        parts = split_indices(len(X), validation=validation, test=0.0, labels=labels, seed=seed)
        rows, held_out = np.asarray(parts.train), np.asarray(parts.validation)
    if on_disk:
        if held_out is not None:
            size = max(batch_size, 1024)
            validation = stream(X, y, batch_size=size, shuffle=False, rows=held_out, workers=0)
        train = stream(X, y, batch_size=batch_size, seed=seed, rows=rows)
        return train, validation_loader(validation, batch_size=batch_size, device=device)
    if held_out is not None:
        validation = (X[held_out], y[held_out])
        X, y = X[rows], y[rows]
    train = TensorLoader(X.to(device), y.to(device), batch_size=batch_size, seed=seed)
    return train, validation_loader(validation, batch_size=batch_size, device=device)

def validation_loader(validation: Any, *, batch_size: int, device: torch.device) -> Any:
    """``validation`` as a loader: an (X, y) pair or a Dataset batched in order, a loader (or None) as it is."""
    dataset = is_sample_dataset(validation)
    if validation is None or not (isinstance(validation, (tuple, list)) or dataset):
        return validation
    size = max(batch_size, 1024)
    if dataset:
        return stream(validation, batch_size=size, shuffle=False, workers=0)
    if len(validation) != 2:
        raise ValueError(f"validation must be an (X, y) pair; got a sequence of {len(validation)} items.")
    if isinstance(validation[0], np.memmap):
        return stream(validation[0], np.asarray(validation[1]), batch_size=size, shuffle=False, workers=0)
    X, y = (as_tensor(part, name) for part, name in zip(validation, ("validation X", "validation y"), strict=True))
    y = long_classes(y)
    return TensorLoader(X.to(device), y.to(device), batch_size=size, shuffle=False)


def _all_targets(learner: Learner, sample: torch.Tensor) -> torch.Tensor:
    """Every training target when they are in memory, else the sample batch's."""
    if isinstance(learner.train_loader, TensorLoader) and len(learner.train_loader.tensors) > 1:
        return learner.train_loader.tensors[1]
    targets = learner.train_loader.targets() if isinstance(learner.train_loader, StreamLoader) else None
    return sample if targets is None else targets.to(learner.device)


def check_first_batch(learner: Learner) -> None:
    """Run the learner's model and loss once on two rows, turning shape mistakes into clear errors.

    A model that cannot take channels-last images (it ``.view()``s its activations) is set back to
    the default layout here, when the Learner chose channels-last itself."""
    xb, yb = learner.sample_batch()
    output = None
    was_training = learner.model.training
    learner.model.eval()
    try:
        with torch.no_grad():
            try:
                output = learner.forward(xb)
            except RuntimeError:
                if not (learner.channels_last and learner.channels_last_auto):
                    raise
                # e.g. a model that .view()s its activations: it needs the default layout.
                learner.channels_last = False
                set_memory_format(learner.model, torch.contiguous_format)
                output = learner.forward(xb)
            check_targets(output, _all_targets(learner, yb), learner.loss_fn)
            check_elementwise(output, yb, learner.loss_fn)
            learner.loss_fn(output.float(), yb)
    except (RuntimeError, IndexError) as error:
        layout = " With channels_last=True, try channels_last=False." if learner.channels_last else ""
        raise ValueError(
            f"the model and the loss do not fit the data: input {tuple(xb.shape)} gave output "
            f"{tuple(output.shape) if output is not None else '?'} for targets {tuple(yb.shape)} "
            f"({yb.dtype}); PyTorch said: {str(error).splitlines()[0]}.{layout}"
        ) from None
    finally:
        learner.model.train(was_training)
