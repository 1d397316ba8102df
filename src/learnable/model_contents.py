"""What a model folder holds, checked before anything is built or allocated.

A model folder may come from anyone, so loading trusts neither file: model.json is read with a size
cap, the safetensors header (names, dtypes, shapes) is read without touching the data, and a network
is first built on PyTorch's ``meta`` device (shapes only, no memory) and compared with that header.
Only a folder whose config and tensors agree is read for real, so a 5 KB model.json cannot make
loading allocate gigabytes or spend minutes building layers. Errors are one short line: text quoted
from a file is cut to a few hundred characters (:func:`learnable.utils.validation.quote`).

Example:
    >>> from safetensors.torch import save_file
    >>> save_file({"w": torch.zeros(3, 4)}, "/tmp/contents-demo.safetensors")
    >>> header = read_header(Path("/tmp/contents-demo.safetensors"))
    >>> header
    {'w': ('F32', (3, 4))}
    >>> check_tensors(header, {"w": ("float", ("rows", 4))}, "demo")
    {'rows': 3}
"""

from __future__ import annotations

import json
import math
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file
from torch import nn
from torch.nn.modules.module import (
    register_module_buffer_registration_hook,
    register_module_parameter_registration_hook,
)

from learnable.models.base import build
from learnable.utils.validation import brief, quote

MAX_JSON_BYTES = 16 * 2**20  # model.json with a 20,000-word vocabulary and a long history is under 2 MB
MAX_HEADER_BYTES = 4 * 2**20  # the names, dtypes and shapes of MAX_TENSORS tensors take well under 1 MB
MAX_TENSORS = 4096  # a GPT of 300 blocks has about 3,700; building more on meta alone takes seconds
MAX_CONFIG_LIST = 1024  # the longest list a model config may hold (layer widths, channels)
MAX_PROBE = 2**24  # values in the one example input a loaded network is tried on (64 MB of float32)

def read_json(path: Path) -> Any:
    """The JSON document in ``path``, read only up to MAX_JSON_BYTES; a ValueError says what is wrong.

    Example:
        >>> _ = Path("/tmp/demo.json").write_text('{"a": [1, 2]}')
        >>> read_json(Path("/tmp/demo.json"))
        {'a': [1, 2]}
    """
    with open(path, "rb") as handle:
        data = handle.read(MAX_JSON_BYTES + 1)  # never more, however big the file
    if len(data) > MAX_JSON_BYTES:
        raise ValueError(f"'{path}' is over {MAX_JSON_BYTES >> 20} MB; learnable's model.json files are far smaller, "
                         "so this is not one. Check that the folder holds a model saved by learnable.")
    try:
        return json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"'{path}' is not valid JSON: {quote(str(error))}") from None
    except ValueError as error:  # a number of more digits than Python converts (4,300)
        raise ValueError(f"'{path}' cannot be read: {quote(str(error))}; learnable's model.json holds no such "
                         "number, so the file is damaged. Save the model again.") from None
    except RecursionError:
        raise ValueError(f"'{path}' nests lists or objects too deeply to read (thousands of levels); learnable's "
                         "model.json is a few levels deep, so the file is damaged. Save the model again.") from None


# ---- the safetensors header ---------------------------------------------------------------------


def read_header(path: Path, what: str = "weights") -> dict[str, tuple[str, tuple[int, ...]]]:
    """``{name: (dtype, shape)}`` of the tensors in a safetensors file, read without their data.

    safetensors checks that the offsets tile the file exactly, so the shapes are what the file holds.
    A header over MAX_HEADER_BYTES or with more than MAX_TENSORS tensors is refused before it is parsed.
    ``what`` ("weights" or "tensors") names the file in errors: "cannot read the weights in ...".
    """
    try:
        _check_header_length(path)
        with safe_open(str(path), framework="pt") as file:
            names = list(file.keys())
            if len(names) > MAX_TENSORS:
                raise ValueError(f"it holds {len(names):,} tensors; learnable's models hold at most {MAX_TENSORS:,}")
            return {name: _dtype_and_shape(file.get_slice(name)) for name in names}
    except (SafetensorError, OSError, ValueError) as error:
        raise ValueError(f"cannot read the {what} in '{path}': {quote(str(error))}") from None


def _check_header_length(path: Path) -> None:
    with open(path, "rb") as handle:
        start = handle.read(8)
    length = struct.unpack("<Q", start)[0] if len(start) == 8 else None
    if length is not None and length > MAX_HEADER_BYTES:
        raise ValueError(f"its header claims {length:,} bytes; a learnable model's header is under "
                         f"{MAX_HEADER_BYTES >> 20} MB, so the file is damaged or not safetensors")


def _dtype_and_shape(tensor_slice: Any) -> tuple[str, tuple[int, ...]]:
    return tensor_slice.get_dtype(), tuple(tensor_slice.get_shape())


def read_tensors(path: Path, what: str = "weights") -> dict[str, torch.Tensor]:
    """All tensors of a safetensors file (call :func:`read_header` and check it first); never unpickles."""
    try:
        return load_file(path)
    except (SafetensorError, OSError, ValueError) as error:
        raise ValueError(f"cannot read the {what} in '{path}': {quote(str(error))}") from None


# ---- comparing tensors with what model.json says --------------------------------------------------


def dtype_kind(dtype: str | torch.dtype) -> str:
    """"float", "int", "bool" or "complex": the kind of a torch dtype or a safetensors dtype name ("F32")."""
    if isinstance(dtype, torch.dtype):
        return ("bool" if dtype == torch.bool else "float" if dtype.is_floating_point
                else "complex" if dtype.is_complex else "int")
    return "bool" if dtype == "BOOL" else {"F": "float", "B": "float", "I": "int", "U": "int", "C": "complex"}.get(
        dtype[:1], dtype)


def check_tensors(header: dict[str, tuple[str, tuple[int, ...]]], expected: dict[str, tuple[str, tuple]],
                  context: str, known: dict[str, int] | None = None) -> dict[str, int]:
    """Raise a ValueError starting with ``context`` unless ``header`` holds exactly the ``expected`` tensors.

    ``expected`` maps each name to ``(kind, shape)``: the :func:`dtype_kind` and a shape whose entries
    are sizes or names ("features"); a named size must be the same wherever it appears (and equal its
    value in ``known``); a shape of None takes any. Returns the named sizes as found.
    """
    missing, extra = [n for n in expected if n not in header], [n for n in header if n not in expected]
    if missing or extra:
        parts = [f"{label} {quote(names[:5])}{' ...' if len(names) > 5 else ''} ({len(names):,} in all)"
                 for label, names in (("missing tensors", missing), ("unexpected tensors", extra)) if names]
        raise ValueError(f"{context}: {'; '.join(parts)}.")
    sizes = dict(known or {})
    for name, (kind, pattern) in expected.items():
        dtype, shape = header[name]
        if dtype_kind(dtype) != kind:
            raise ValueError(f"{context}: tensor {brief(name, 80)} holds {dtype} values, expected {kind} numbers.")
        if not _fits(shape, pattern, sizes):
            raise ValueError(f"{context}: size mismatch for {brief(name, 80)}: the file holds {_shape(shape, {})}, "
                             f"expected {_shape(pattern, sizes)}.")
    return sizes


def _fits(shape: tuple[int, ...], pattern: tuple | None, sizes: dict[str, int]) -> bool:
    if pattern is None:  # any shape: the loader checks it
        return True
    if len(shape) != len(pattern):
        return False
    for size, wanted in zip(shape, pattern, strict=True):
        if isinstance(wanted, str):
            wanted = sizes.setdefault(wanted, size)  # a named size: the first tensor that has it fixes it
        if size != wanted:
            return False
    return True


def _shape(pattern: tuple, sizes: dict[str, int]) -> str:
    if all(isinstance(size, int) for size in pattern):
        return quote(f"torch.Size({list(pattern)})", 80)
    return quote("(" + ", ".join(f"{s}={sizes[s]}" if s in sizes else str(s) for s in pattern) + ")", 80)


def expected_tensors(model: nn.Module) -> dict[str, tuple[str, tuple[int, ...]]]:
    """What :func:`check_tensors` expects of a file holding ``model``'s state_dict (built on meta or not)."""
    return {name: (dtype_kind(value.dtype), tuple(value.shape)) for name, value in model.state_dict().items()}


# ---- building a network from its config -------------------------------------------------------


class _OverBudget(Exception):
    """A build registered more tensors than its budget allows."""


def build_on_meta(name: Any, config: Any, tensor_count: int) -> nn.Module:
    """The registered model ``name`` built from ``config`` on the meta device: shapes and dtypes, no memory.

    Before building, a config that is no object or holds a list longer than MAX_CONFIG_LIST is
    refused; the build itself is stopped as soon as it makes more tensors than the file holds
    (``tensor_count``), so no config can take minutes to build. Errors are ValueErrors.

    Example:
        >>> build_on_meta("mlp", {"in_features": 4, "out_features": 2, "hidden_sizes": [8]}, 4).layers[0].weight.shape
        torch.Size([8, 4])
    """
    if not isinstance(name, str) or not isinstance(config, dict):
        raise ValueError(f"the model needs a name (text) and a config (an object), got {quote(name, 60)} and "
                         f"{type(config).__name__}")
    for key, value in config.items():
        if isinstance(value, list) and len(value) > MAX_CONFIG_LIST:
            raise ValueError(f"setting {quote(key, 60)} lists {len(value):,} values; learnable's models take at most "
                             f"{MAX_CONFIG_LIST:,}")
    limit = tensor_count + 16  # slack for a config that registers a tensor twice
    try:
        with torch.device("meta"), _tensor_budget(limit):
            return build(name, config)
    except _OverBudget:
        raise ValueError(f"it builds more than {limit:,} tensors, but the weights file holds {tensor_count:,}; "
                         "the config is damaged or belongs to other weights") from None
    except (TypeError, ValueError, RuntimeError, OverflowError, IndexError, KeyError) as error:
        raise ValueError(quote(str(error), 300)) from None


@contextmanager
def _tensor_budget(limit: int) -> Iterator[None]:
    """Raise _OverBudget in this thread as soon as modules register more than ``limit`` tensors."""
    count, thread = 0, threading.get_ident()

    def hook(module: nn.Module, name: str, value: Any) -> None:
        nonlocal count
        if value is not None and threading.get_ident() == thread:
            count += 1
            if count > limit:
                raise _OverBudget

    handles = [register_module_parameter_registration_hook(hook), register_module_buffer_registration_hook(hook)]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def probe(network: nn.Module, shape: tuple[int, ...], what: str, value: float = 0.0,
          dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """``network``'s output for one input of ``shape`` (filled with ``value``) that model.json describes.

    Run once on load, so a network that cannot read what the JSON says it reads is refused then, not at
    predict time. ``what`` starts the error ("the schema encodes each row as 4 columns").

    Example:
        >>> probe(nn.Linear(3, 2), (1, 3), "rows of 3 columns").shape
        torch.Size([1, 2])
    """
    if math.prod(shape) > MAX_PROBE:
        raise ValueError(f"{what}: {math.prod(shape):,} values per example, more than learnable's models read "
                         f"({MAX_PROBE:,})")
    try:
        with torch.no_grad():
            return network(torch.full(shape, value, dtype=dtype))
    except (RuntimeError, IndexError, ValueError, TypeError) as error:
        raise ValueError(f"{what}, which the {type(network).__name__} network cannot read "
                         f"({quote(str(error), 150)})") from None


def fill(model: nn.Module, weights: dict[str, torch.Tensor], name: str, config: dict[str, Any]) -> nn.Module:
    """Put ``weights`` (checked with :func:`check_tensors`) into the meta-built ``model``, each tensor in the
    model's own dtype. A model that keeps a tensor outside its state_dict is built for real instead."""
    dtypes = {key: value.dtype for key, value in model.state_dict().items()}
    # clone: a tensor of its own, allocated as any parameter is (safetensors' may sit unaligned in one buffer,
    # which sends some CPU kernels down another path and changes the last bits of the outputs)
    model.load_state_dict({key: value.to(dtypes[key]).clone() for key, value in weights.items()}, strict=True,
                          assign=True)
    if any(tensor.is_meta for tensor in (*model.parameters(), *model.buffers())):
        model = build(name, config)  # a non-persistent buffer would stay on meta: build it for real
        model.load_state_dict(weights, strict=True)
    return model
