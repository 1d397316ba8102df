"""Model files: ``model.safetensors`` (weights) + ``model.json`` (architecture and everything else).

Loading reads JSON and raw tensors only: it never unpickles and never runs code from the files.

A save replaces only the two files a model owns and leaves everything else in the folder alone (a
model folder may hold notes, predictions, data; ``--out .`` may be a project folder). Each file is
written whole beside its target and moved into place (:func:`learnable.utils.files.write_atomically`'s
temporary files); model.json records the weights' SHA-256 and size, and loading checks them, so new
JSON is never silently paired with old weights or the other way round (see :func:`save_tensors`).

Example:
    >>> from learnable.models import MLP
    >>> path = save_model("/tmp/example-model", MLP(in_features=4, out_features=2), {"note": "hi"})
    >>> model, info = load_model(path)
    >>> info["note"]
    'hi'
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save as serialize
from torch import nn

from learnable._version import __version__
from learnable.model_contents import (
    build_on_meta,
    check_tensors,
    expected_tensors,
    fill,
    read_header,
    read_json,
    read_tensors,
)
from learnable.models.base import describe
from learnable.utils.files import fsync_directory, move_into_place, sha256_file, staged_file, write_atomically
from learnable.utils.validation import brief, quote, whole

FORMAT = "learnable-model"
FORMAT_VERSION = 1
WEIGHTS, INFO = "model.safetensors", "model.json"
# model.json (or its entry) -> the tensors it describes, {name: (kind, shape)}: see model_contents.check_tensors
Expectation = Callable[[dict[str, Any]], dict[str, tuple[str, tuple]]]
# The one registry of saveable kinds: the model.json entry that names a kind -> "module:Class" whose
# ``load(directory)`` reads it back (each class saves its state under that entry, its class attribute
# ``kind``). A folder with none of these entries holds a bare network (Learner.save).
KINDS = {
    "fitted_model": "learnable.tasks.fitted_model:FittedModel",
    "forecaster": "learnable.tasks.forecast:Forecaster",
    "anomaly_detector": "learnable.tasks.anomaly:AnomalyDetector",
    "language_model": "learnable.tasks.language_model:LanguageModel",
    "kmeans": "learnable.classic.kmeans:KMeans",
    "pca": "learnable.classic.pca:PCA",
    "linear_regression": "learnable.classic.linear:LinearRegression",
    "logistic_regression": "learnable.classic.linear_classifiers:LogisticRegression",
    "linear_svc": "learnable.classic.linear_classifiers:LinearSVC",
    "decision_tree": "learnable.classic.tree:DecisionTree",
    "agglomerative": "learnable.classic.hierarchical:AgglomerativeClustering",
    "rl_agent": "learnable.rl.agent:Agent",  # Q-learning, SARSA or DQN (needs the rl extra)
}


def kind_of(info: dict[str, Any]) -> str | None:
    """The saveable kind a model.json names (a key of :data:`KINDS`), or None for a bare network."""
    return next((key for key in KINDS if key in info), None)


def versions() -> dict[str, str]:
    """The versions of learnable, PyTorch and Python, as recorded with models and runs."""
    return {"learnable": __version__, "torch": torch.__version__, "python": sys.version.split()[0]}


def save_model(directory: str | Path, model: nn.Module, info: dict[str, Any]) -> Path:
    """Write ``model`` and the JSON-ready ``info`` to ``directory``; return the path.

    Only model.json and model.safetensors are replaced; other files in the folder stay (see :func:`save_tensors`).
    """
    name, config = describe(model)
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    return save_tensors(directory, tensors, {"model": {"name": name, "config": config}, **info})


def save_tensors(directory: str | Path, tensors: dict[str, torch.Tensor], info: dict[str, Any]) -> Path:
    """Write named tensors (model.safetensors) and the JSON-ready ``info`` (model.json) into ``directory``.

    For learned state that is no ``nn.Module`` (k-means centers, PCA components). Only those two files
    are replaced: the folder's other files and folders stay, and it is never swapped out whole (that
    would take them with it). Which folders are refused: :func:`check_replaceable`.

    How a save stays sound without a folder swap: both files are first written whole beside their
    targets under temporary names and fsynced; then model.json and model.safetensors are each moved
    into place with ``os.replace``. model.json records the SHA-256 and size of the weights it
    describes, and loading checks them, so a reader can never pair new JSON with old weights (or old
    JSON with new weights) without noticing. A failure while writing leaves the old model as it was;
    an exception between the two moves puts the old model.json back; a power cut or SIGKILL in the
    instant between them leaves the new model.json and the new weights still staged beside the old
    ones, and loading finds the staged file by its recorded SHA-256 (:func:`weights_path`): the new
    model loads, whole.

    Example:
        >>> save_tensors("/tmp/tensors-demo", {"w": torch.ones(2)}, {"note": "hi"}).name
        'tensors-demo'
    """
    directory = Path(directory)
    check_replaceable(directory)
    weights = serialize({k: v.detach().cpu().contiguous() for k, v in tensors.items()})
    files = {WEIGHTS: {"sha256": hashlib.sha256(weights).hexdigest(), "size": len(weights)}}
    document = {"format": FORMAT, "format_version": FORMAT_VERSION, "versions": versions(), **info, "files": files}
    text = json.dumps(document, indent=2, allow_nan=True, default=_json_default)
    directory.mkdir(parents=True, exist_ok=True)  # like any new folder: permissions follow the umask
    _move_both_into_place(directory, text, weights)
    return directory


def _move_both_into_place(directory: Path, text: str, weights: bytes) -> None:
    """Stage both files, then move model.json and the weights into place; an exception between the moves
    puts the previous model.json back (or removes the new one when there was none)."""
    info_path = directory / INFO
    previous = info_path.read_bytes() if info_path.is_file() else None
    with staged_file(directory / WEIGHTS, weights) as staged_weights, staged_file(info_path, text) as staged_info:
        move_into_place(staged_info, info_path)
        try:
            move_into_place(staged_weights, directory / WEIGHTS)
        except BaseException:
            if previous is None:
                info_path.unlink(missing_ok=True)
            else:
                write_atomically(info_path, previous)
            raise
    fsync_directory(directory)


def load_tensors(directory: str | Path, expect: Expectation | None = None
                 ) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read what :func:`save_tensors` wrote: the named tensors and the JSON info (nothing unpickled).

    The safetensors header is checked before any tensor is read and, given ``expect`` (model.json ->
    ``{name: (kind, shape)}``, as :func:`~learnable.model_contents.check_tensors` takes it), compared
    with what model.json describes, so a damaged or hostile folder costs no memory.
    """
    directory = Path(directory)
    info = read_info(directory)
    return _checked_tensors(directory, info, None if expect is None else lambda: expect(info)), info


def _checked_tensors(directory: Path, info: dict[str, Any], expected: Callable[[], dict] | None,
                     what: str = "the tensors") -> dict[str, torch.Tensor]:
    """The tensors in ``directory``, read only once their header (and ``expected()``, if given) checks out;
    ``what`` the file should hold names it in errors ("a KMeans")."""
    weights = weights_path(directory, info)
    header = read_header(weights or directory / WEIGHTS, "tensors")
    if expected is not None:
        try:
            spec = expected()
        except (KeyError, TypeError, AttributeError, IndexError, ValueError) as error:
            raise ValueError(f"'{directory / INFO}' is damaged: {quote(str(error))}") from None
        check_tensors(header, spec, f"'{directory / WEIGHTS}' does not hold {what} as {INFO} describes it")
    tensors = read_tensors(weights or directory / WEIGHTS, "tensors")
    if weights is None:
        raise _mismatch(directory, info)
    return tensors


def load_state(directory: str | Path, key: str, what: str, required: tuple[str, ...] = ("settings",),
               expect: Expectation | None = None) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The tensors and the ``key`` entry of model.json for an estimator saved with :func:`save_tensors`;
    a ValueError naming ``what`` was expected when the entry is missing or lacks a ``required`` field.
    ``expect`` maps the entry to the tensors it describes (see :func:`load_tensors`), checked before
    any is read.

    Example:
        >>> save_tensors("/tmp/state-demo", {"w": torch.ones(2)}, {"demo": {"settings": {}}})  # doctest: +ELLIPSIS
        PosixPath(...)
        >>> sorted(load_state("/tmp/state-demo", "demo", "demo model")[0])
        ['w']
    """
    directory = Path(directory)
    info = read_info(directory)
    state = info.get(key)
    if not isinstance(state, dict) or not set(required) <= set(state) or not isinstance(state.get("settings"), dict):
        raise ValueError(f"'{directory}' holds a learnable model but not {what} (model.json has no complete "
                         f"'{key}' entry).")
    return _checked_tensors(directory, info, None if expect is None else lambda: expect(state), what), state


def load_model(directory: str | Path) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the model saved in ``directory``; return it (in eval mode) and the JSON info.

    The network is first built on the meta device and compared with the weights' header, so a
    model.json that does not fit its weights is refused before any memory is allocated.
    """
    directory = Path(directory)
    info = read_info(directory)
    model_spec = info.get("model")
    if not isinstance(model_spec, dict) or "name" not in model_spec or "config" not in model_spec:
        raise ValueError(f"'{directory / INFO}' has no valid 'model' entry (name and config).")
    weights_file = weights_path(directory, info)
    header = read_header(weights_file or directory / WEIGHTS)
    try:
        model = build_on_meta(model_spec["name"], model_spec["config"], len(header))
    except ValueError as error:
        raise ValueError(f"'{directory / INFO}' has an invalid model config: {error}") from None
    check_tensors(header, expected_tensors(model),
                  f"the weights in '{directory / WEIGHTS}' do not match the model described in '{directory / INFO}'")
    weights = read_tensors(weights_file or directory / WEIGHTS)
    if weights_file is None:
        raise _mismatch(directory, info)
    return fill(model, weights, model_spec["name"], model_spec["config"]).eval(), info


def read_info(directory: Path) -> dict[str, Any]:
    """Read and check ``model.json`` in ``directory``."""
    if not directory.is_dir():
        raise FileNotFoundError(f"no model directory at '{directory}'; expected a folder with {INFO} and {WEIGHTS}.")
    for name in (INFO, WEIGHTS):
        if not (directory / name).is_file():
            raise ValueError(f"'{directory}' is not a learnable model: {name} is missing.")
    info = read_json(directory / INFO)  # at most a few MB; deep nesting is a ValueError, too
    if not isinstance(info, dict) or info.get("format") != FORMAT:
        raise ValueError(f"'{directory / INFO}' is not a learnable model file (no format '{FORMAT}').")
    try:
        version = whole(info.get("format_version"), "format_version", 1)
    except ValueError as error:
        raise ValueError(f"'{directory / INFO}': {error}; the file is damaged.") from None
    if version > FORMAT_VERSION:
        raise ValueError(
            f"'{directory}' was saved by a newer learnable (format {info['format_version']}); "
            "upgrade learnable to load it."
        )
    return info


def weights_path(directory: str | Path, info: dict[str, Any]) -> Path | None:
    """The file holding the weights model.json describes: model.safetensors when its SHA-256 and size are the
    recorded ones; else the staged weights of a save cut off between its two moves (model.json moved, the
    weights not yet), which the save fsynced beside the target before moving anything; else None (damaged
    weights, or files from two saves: the caller reads model.safetensors for its own errors, then raises
    :func:`_mismatch`). Models saved before learnable recorded the weights (no ``files`` entry) load as before.

    Example:
        >>> path = save_tensors("/tmp/weights-demo", {"w": torch.ones(2)}, {})
        >>> weights_path(path, read_info(path)).name
        'model.safetensors'
    """
    directory = Path(directory)
    files = info.get("files")
    if files is None:
        return directory / WEIGHTS
    recorded = files.get(WEIGHTS) if isinstance(files, dict) else None
    if not isinstance(recorded, dict):
        raise ValueError(f"'{directory / INFO}' has a 'files' entry without the SHA-256 and size of {WEIGHTS}; "
                         "it was not written by learnable. Save the model again.")
    expected = {"sha256": recorded.get("sha256"), "size": recorded.get("size")}
    for candidate in (directory / WEIGHTS, *sorted(directory.glob(f".{WEIGHTS}.*.tmp"))):
        if _fingerprint(candidate, expected["size"]) == expected:
            return candidate
    return None


def _mismatch(directory: Path, info: dict[str, Any]) -> ValueError:
    """The error for weights that are not the ones model.json describes."""
    recorded, found = info["files"][WEIGHTS], _fingerprint(directory / WEIGHTS)
    return ValueError(
        f"'{directory / WEIGHTS}' does not match the weights that '{directory / INFO}' describes (SHA-256 "
        f"{found['sha256'][:12]}, {found['size']} bytes; recorded {quote(recorded.get('sha256'), 64)[:12]}, "
        f"{brief(recorded.get('size'))} bytes): the weights were damaged, or the two files come from different "
        "saves (a save interrupted between them and its staged weights removed, or one file copied in by hand). "
        "Save the model again, or restore both files from one save."
    )


def _fingerprint(path: Path, size: Any = None) -> dict[str, Any]:
    """SHA-256 and size of a plain file (the hash only when the size is ``size``, or no size is asked)."""
    if not path.is_file():
        return {"sha256": "", "size": -1}
    length = path.stat().st_size
    return {"sha256": sha256_file(path) if size is None or length == size else "", "size": length}


def check_replaceable(directory: str | Path) -> None:
    """Raise unless a model can be saved into ``directory`` without destroying anything that is not a model's.

    A save replaces model.json and model.safetensors only, so a folder is fine when it is absent,
    empty, a learnable model, or holds other files (notes, data, code: they stay). Refused, before
    any work: a path that is a file; a folder whose model.json or model.safetensors is someone else's
    (a model.json without learnable's format, weights without a model.json, or not a plain file),
    which a save would overwrite; and a folder that cannot be written to.

    Example:
        >>> check_replaceable("/tmp/a-new-model-folder")
    """
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise ValueError(f"cannot save a model to '{directory}': it is a file, not a directory.")
    nearest = next(folder for folder in (directory, *directory.parents) if folder.exists())
    if not os.access(nearest, os.W_OK | os.X_OK):
        raise PermissionError(errno.EACCES, f"cannot save a model to '{directory}': the folder '{nearest}' is not "
                                            "writable. Choose another output directory, or change its permissions.")
    foreign = _foreign_model_file(directory) if directory.is_dir() else None
    if foreign is not None:
        name, reason = foreign
        raise ValueError(f"'{directory}' holds a '{name}' that learnable did not write ({reason}); refusing to "
                         "replace it. Move it away, or choose another output directory.")


def _foreign_model_file(directory: Path) -> tuple[str, str] | None:
    """The name under which ``directory`` holds a file that is not a learnable model's, and why; else None."""
    info, weights = directory / INFO, directory / WEIGHTS
    for path in (info, weights):
        if os.path.lexists(path) and not path.is_file():
            return path.name, "it is not a plain file"
    if info.is_file():
        return None if _is_learnable_info(info) else (INFO, f"it is not a learnable model file: no format '{FORMAT}'")
    if weights.is_file():
        return WEIGHTS, f"there is no {INFO} beside it, so it is no learnable model's"
    return None


def _is_learnable_info(path: Path) -> bool:
    try:
        document = read_json(path)  # capped in size and depth: the folder may be anyone's
    except (OSError, ValueError):
        return False
    return isinstance(document, dict) and document.get("format") == FORMAT


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, (tuple, set)):
        return list(value)
    raise TypeError(f"cannot store {type(value).__name__} in model.json")
