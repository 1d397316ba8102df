"""Model files: ``model.safetensors`` (weights) + ``model.json`` (architecture and everything else).

Loading reads JSON and raw tensors only: it never unpickles and never runs code from the files.
Saving is atomic: the files are written into a temporary directory beside the target, flushed and
then moved into place, so a crash leaves either the old model or the new one, never half of one.

Example:
    >>> from learnable.models import MLP
    >>> path = save_model("/tmp/example-model", MLP(in_features=4, out_features=2), {"note": "hi"})
    >>> model, info = load_model(path)
    >>> info["note"]
    'hi'
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from learnable.models.base import build, describe

FORMAT = "learnable-model"
FORMAT_VERSION = 1
WEIGHTS, INFO = "model.safetensors", "model.json"


def versions() -> dict[str, str]:
    """The versions of learnable, PyTorch and Python, as recorded with models and runs."""
    from learnable import __version__

    return {"learnable": __version__, "torch": torch.__version__, "python": sys.version.split()[0]}


def save_model(directory: str | Path, model: nn.Module, info: dict[str, Any]) -> Path:
    """Write ``model`` and the JSON-ready ``info`` to ``directory`` atomically; return the path.

    An existing directory is replaced only if it holds a learnable model (or nothing).
    """
    name, config = describe(model)
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    return save_tensors(directory, tensors, {"model": {"name": name, "config": config}, **info})


def save_tensors(directory: str | Path, tensors: dict[str, torch.Tensor], info: dict[str, Any]) -> Path:
    """Write named tensors (model.safetensors) and the JSON-ready ``info`` (model.json) atomically.

    For learned state that is no ``nn.Module`` (k-means centers, PCA components). Everything is
    written to a staging folder first and swapped into place, so a failure leaves nothing behind.
    """
    directory = Path(directory)
    check_replaceable(directory)
    document = {"format": FORMAT, "format_version": FORMAT_VERSION, "versions": versions(), **info}
    text = json.dumps(document, indent=2, allow_nan=True, default=_json_default)
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = directory.parent / f".{directory.name}.{uuid.uuid4().hex}.tmp"
    staging.mkdir()  # like any new folder: permissions follow the umask (mkdtemp would give 0700)
    try:
        save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, staging / WEIGHTS)
        (staging / INFO).write_text(text)
        _fsync_tree(staging)
        _swap_into_place(staging, directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return directory


def load_tensors(directory: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read what :func:`save_tensors` wrote: the named tensors and the JSON info (nothing unpickled)."""
    directory = Path(directory)
    info = read_info(directory)
    try:
        return load_file(directory / WEIGHTS), info
    except (SafetensorError, OSError, ValueError) as error:
        raise ValueError(f"cannot read the tensors in '{directory / WEIGHTS}': {error}") from None


def load_state(directory: str | Path, key: str, what: str,
               required: tuple[str, ...] = ("settings",)) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The tensors and the ``key`` entry of model.json for an estimator saved with :func:`save_tensors`;
    a ValueError naming ``what`` was expected when the entry is missing or lacks a ``required`` field.

    Example:
        >>> save_tensors("/tmp/state-demo", {"w": torch.ones(2)}, {"demo": {"settings": {}}})  # doctest: +ELLIPSIS
        PosixPath(...)
        >>> sorted(load_state("/tmp/state-demo", "demo", "demo model")[0])
        ['w']
    """
    tensors, info = load_tensors(directory)
    state = info.get(key)
    if not isinstance(state, dict) or not set(required) <= set(state) or not isinstance(state.get("settings"), dict):
        raise ValueError(f"'{directory}' holds a learnable model but not {what} (model.json has no complete "
                         f"'{key}' entry).")
    return tensors, state


def load_model(directory: str | Path) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the model saved in ``directory``; return it (in eval mode) and the JSON info."""
    directory = Path(directory)
    info = read_info(directory)
    model_spec = info.get("model")
    if not isinstance(model_spec, dict) or "name" not in model_spec or "config" not in model_spec:
        raise ValueError(f"'{directory / INFO}' has no valid 'model' entry (name and config).")
    try:
        model = build(model_spec["name"], model_spec["config"])
    except TypeError as error:
        raise ValueError(f"'{directory / INFO}' has an invalid model config: {error}") from None
    try:
        weights = load_file(directory / WEIGHTS)
    except (SafetensorError, OSError, ValueError) as error:
        raise ValueError(f"cannot read the weights in '{directory / WEIGHTS}': {error}") from None
    try:
        model.load_state_dict(weights, strict=True)
    except RuntimeError as error:
        details = "; ".join(line.strip() for line in str(error).splitlines()[1:]) or str(error)
        raise ValueError(
            f"the weights in '{directory / WEIGHTS}' do not match the model described in "
            f"'{directory / INFO}': {details}"
        ) from None
    return model.eval(), info


def read_info(directory: Path) -> dict[str, Any]:
    """Read and check ``model.json`` in ``directory``."""
    if not directory.is_dir():
        raise FileNotFoundError(f"no model directory at '{directory}'; expected a folder with {INFO} and {WEIGHTS}.")
    for name in (INFO, WEIGHTS):
        if not (directory / name).is_file():
            raise ValueError(f"'{directory}' is not a learnable model: {name} is missing.")
    try:
        info = json.loads((directory / INFO).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"'{directory / INFO}' is not valid JSON: {error}") from None
    if not isinstance(info, dict) or info.get("format") != FORMAT:
        raise ValueError(f"'{directory / INFO}' is not a learnable model file (no format '{FORMAT}').")
    version = info.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ValueError(f"'{directory / INFO}' has format_version={version!r}; expected a whole number.")
    if version > FORMAT_VERSION:
        raise ValueError(
            f"'{directory}' was saved by a newer learnable (format {info['format_version']}); "
            "upgrade learnable to load it."
        )
    return info


def check_replaceable(directory: str | Path) -> None:
    """Raise unless ``directory`` is absent, empty, or a learnable model (which a save replaces)."""
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise ValueError(f"cannot save a model to '{directory}': it is a file, not a directory.")
    if not directory.is_dir() or not any(directory.iterdir()):
        return
    try:
        read_info(directory)
    except ValueError:
        raise ValueError(
            f"'{directory}' exists and is not a learnable model directory; refusing to replace "
            "its contents. Choose another output directory."
        ) from None


def _swap_into_place(staging: Path, directory: Path) -> None:
    if not directory.exists():
        os.replace(staging, directory)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{directory.name}.old.", dir=directory.parent))
    os.replace(directory, retired / "model")
    try:
        os.replace(staging, directory)
    except BaseException:
        os.replace(retired / "model", directory)  # put the previous model back
        shutil.rmtree(retired, ignore_errors=True)
        raise
    shutil.rmtree(retired, ignore_errors=True)


def _fsync_tree(path: Path) -> None:
    for file in path.iterdir():
        with open(file, "rb") as handle:
            os.fsync(handle.fileno())
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, (tuple, set)):
        return list(value)
    raise TypeError(f"cannot store {type(value).__name__} in model.json")
