"""Checkpoints: atomic, checksummed snapshots of a fit that resume exactly.

A checkpoint is ``Learner.state_dict()`` (weights, optimizer, loader position and generator, every
RNG, epoch and step, callback state) written with ``torch.save`` and read back with
``torch.load(weights_only=True)``: only tensors and plain values, never arbitrary pickled objects.

Writing is atomic (:func:`learnable.utils.files.write_atomically`): a new temporary file in the same
folder (never a link planted there), flushed and fsynced, moved into place with ``os.replace``, then
the folder is fsynced. A sidecar ``.json`` holds the file's SHA-256; the
``latest`` pointer moves only after both are complete; the newest ``keep`` checkpoints are kept.
A truncated or corrupt newest checkpoint is skipped with a warning in favour of the newest good one.

Example:
    >>> from learnable.callbacks.checkpoint import Checkpoint
    >>> # Learner(model, data, callbacks=[Checkpoint("ckpts", every_steps=100)]).fit(10)
    >>> # a new process, same arguments: Learner(model, data, ...).fit(10, resume="ckpts")
"""

from __future__ import annotations

import json
import random
import re
import signal
import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from learnable.callbacks.events import ORDER, Callback
from learnable.utils.files import sha256_file, write_atomically
from learnable.utils.validation import brief, check_count, quote

if TYPE_CHECKING:
    from learnable.train.learner import Learner

LATEST = "latest"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")  # terminal colour codes


# ---- random number generators ---------------------------------------------------------------------
def rng_state() -> dict[str, Any]:
    """The state of Python's, NumPy's and PyTorch's (CPU and CUDA) global generators, as plain values."""
    kind, keys, position, has_gauss, gauss = np.random.get_state()
    state = {
        "python": random.getstate(),
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "position": position,
                  "has_gauss": has_gauss, "gauss": gauss},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` returned."""
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["position"], n["has_gauss"], n["gauss"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


# ---- files ------------------------------------------------------------------------------------------
def save_checkpoint(directory: str | Path, state: dict[str, Any], *, keep: int = 3) -> Path:
    """Write ``state`` as ``ckpt-<step><a|b>.pt`` (+ ``.json`` with its SHA-256) and move ``latest`` to it.

    ``a`` marks a checkpoint taken mid-epoch, ``b`` one taken at an epoch's end, so the two of one
    step never share a name (a name is never rewritten) and the later one sorts last.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    kind = "a" if state.get("epoch_batches", 0) else "b"
    path = directory / f"ckpt-{state['step']:09d}{kind}.pt"
    try:  # each file whole (learnable.utils.files.write_atomically: fsynced, then the folder too), latest last
        write_atomically(path, lambda handle: torch.save(state, handle))
        meta = {"file": path.name, "sha256": sha256_file(path), "step": state["step"], "epoch": state["epoch"]}
        write_atomically(path.with_suffix(".json"), json.dumps(meta))
        write_atomically(directory / LATEST, path.name)
    except OSError as error:
        cause = error.__cause__ if isinstance(error.__cause__, OSError) else error  # the disk's own words
        raise OSError(
            error.errno,
            f"could not write checkpoint '{path}': {cause.strerror or cause}. The previous checkpoint is "
            "intact; free some space (or fix the disk) and resume from it.",
        ) from None
    _prune(directory, keep)
    return path


def _prune(directory: Path, keep: int) -> None:
    for old in sorted(directory.glob("ckpt-*.pt"))[:-keep]:
        old.unlink(missing_ok=True)
        old.with_suffix(".json").unlink(missing_ok=True)
    for stale in directory.glob(".ckpt-*.tmp"):  # left by a process killed while writing
        stale.unlink(missing_ok=True)


def _is_complete(path: Path) -> bool:
    try:
        meta = json.loads(path.with_suffix(".json").read_text())
        return isinstance(meta, dict) and meta.get("file") == path.name and meta.get("sha256") == sha256_file(path)
    except (OSError, ValueError, RecursionError):
        return False


# What Learner.load_state_dict reads from a checkpoint, and the type each must have.
FIELDS = {"model": dict, "optimizer": dict, "epoch": int, "step": int, "fit_start_epoch": int,
          "num_epochs_planned": int, "epoch_batches": int, "metrics": dict, "skipped_steps": int,
          "epoch_skipped": int, "epoch_losses": dict, "loader": dict, "rng": dict, "callbacks": dict}


def find_checkpoint(location: str | Path) -> Path:
    """The newest complete checkpoint in a directory (or the file itself); corrupt ones are skipped."""
    location = Path(location)
    if location.is_file():
        if not _is_complete(location):
            raise ValueError(f"checkpoint '{location}' is incomplete or corrupt (its checksum does not match).")
        return location
    candidates = _candidates(location)
    for candidate in candidates:
        if _is_complete(candidate):
            return candidate
        warnings.warn(f"skipping checkpoint '{candidate}': incomplete or corrupt (checksum mismatch)", stacklevel=2)
    raise ValueError(f"no complete checkpoint in '{location}' ({len(candidates)} found, none intact).")


class UnusableCheckpoint(ValueError):
    """One checkpoint that cannot be resumed from (incomplete, unsafe, damaged, or another run's); a resume
    from a folder skips it in favour of the next older one."""


def load_checkpoint(location: str | Path, run_id: str | None = None,
                    restore: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Load the newest usable checkpoint safely (``weights_only=True``: no code runs).

    In a folder, a checkpoint that is incomplete, unreadable, lacks a field a resume needs, (when
    ``run_id`` is given) was written by another run, or (when ``restore`` is given) makes ``restore``
    raise :class:`UnusableCheckpoint` is skipped with a warning in favour of the next older one; a single
    file given by name must be usable itself. ``restore(state)`` (``Learner.load_state_dict``) runs on the
    checkpoint returned, so a resume lands on the newest one that restores whole; its other errors (another
    model, another number of epochs) are the user's to fix and end the resume at once.
    """
    location = Path(location)
    if location.is_file():
        return _restored(_read_checkpoint(location, run_id), restore)
    candidates, reasons = _candidates(location), []
    for candidate in candidates:
        try:
            return _restored(_read_checkpoint(candidate, run_id), restore)
        except UnusableCheckpoint as error:
            warnings.warn(f"skipping checkpoint '{candidate}': {error}", stacklevel=2)
            reasons.append(str(error))
    newest = f"; the newest: {reasons[0]}" if reasons else ""
    raise ValueError(f"no complete checkpoint in '{location}' ({len(candidates)} found, none usable"
                     f"{f' for run {run_id}' if run_id else ''}{newest}). Start the run again without resuming.")


def _restored(state: dict[str, Any], restore: Callable[[dict[str, Any]], None] | None) -> dict[str, Any]:
    if restore is not None:
        restore(state)
    return state


def _candidates(location: Path) -> list[Path]:
    if not location.is_dir():
        raise FileNotFoundError(f"no checkpoint at '{location}'; expected a checkpoint file or folder.")
    return sorted(location.glob("ckpt-*.pt"), reverse=True)


def _read_checkpoint(path: Path, run_id: str | None) -> dict[str, Any]:
    """One checkpoint file, checked: checksum, safe unpickling, every field a resume reads, the run."""
    if not _is_complete(path):
        raise UnusableCheckpoint(f"checkpoint '{path}' is incomplete or corrupt (its checksum does not match).")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # the unpickler refuses anything that is not tensors and plain values
        reason = quote(_ANSI.sub("", str(error)).splitlines()[0])  # torch's message has terminal colours
        raise UnusableCheckpoint(f"refusing to load '{path}': it is not a safe learnable checkpoint ({reason}).") \
            from None
    if not isinstance(state, dict) or state.get("format") != "learnable-checkpoint":
        raise UnusableCheckpoint(f"'{path}' is not a learnable checkpoint.")
    wrong = [k for k, kind in FIELDS.items() if not isinstance(state.get(k), kind) or isinstance(state.get(k), bool)]
    if wrong:
        raise UnusableCheckpoint(f"checkpoint '{path}' lacks or mistypes {', '.join(wrong)}; it "
                                 "was not written by Learner.state_dict (damaged or crafted).")
    if run_id is not None and state.get("run_id") != run_id:
        raise UnusableCheckpoint(f"checkpoint '{path}' belongs to run {brief(state.get('run_id'), 80)}, not to "
                                 f"run {run_id} (copied in from another run?).")
    return state


# ---- the callback -----------------------------------------------------------------------------------
class Checkpoint(Callback):
    """Save checkpoints every ``every_steps`` steps, after each epoch, and on SIGTERM/SIGINT.

    A signal only sets a flag; the checkpoint is written at the next step boundary, then training
    ends with ``KeyboardInterrupt`` (the run is "interrupted" and can be resumed).
    """

    order = ORDER["Checkpoint"]

    def __init__(self, directory: str | Path, *, every_steps: int = 0, every_epoch: bool = True, keep: int = 3,
                 handle_signals: bool = True, run_id: str | None = None) -> None:
        check_count("every_steps", every_steps, "500 (0: only at epoch ends)", least=0, owner="Checkpoint")
        check_count("keep", keep, "3 (the newest checkpoints kept)", owner="Checkpoint")
        self.directory, self.every_steps, self.every_epoch, self.keep = Path(directory), every_steps, every_epoch, keep
        self.handle_signals, self.run_id = handle_signals, run_id
        self.signal_received: int | None = None
        self._previous: dict[int, Any] = {}

    def _on_signal(self, number: int, frame: Any) -> None:
        self.signal_received = number  # nothing else here: the work happens at the next step boundary

    def before_fit(self, learner: Learner) -> None:
        self.signal_received = None
        self._warned = False
        if learner.step == 0 and any(self.directory.glob("ckpt-*.pt")):
            raise ValueError(
                f"checkpoint folder '{self.directory}' already holds checkpoints of another run; resume from "
                "it (fit(..., resume=folder)) or give this run an empty folder."
            )
        if self.handle_signals and threading.current_thread() is threading.main_thread():
            for number in (signal.SIGTERM, signal.SIGINT):
                self._previous[number] = signal.signal(number, self._on_signal)

    def save(self, learner: Learner) -> Path:
        if not all(torch.isfinite(p).all() for p in learner.model.parameters()):
            raise ValueError(
                f"the weights hold NaN or infinite values at step {learner.step}; not saving them over "
                "the last good checkpoint. Lower the learning rate and resume from that checkpoint."
            )
        return save_checkpoint(self.directory, {**learner.state_dict(), "run_id": self.run_id}, keep=self.keep)

    def _resumable_mid_epoch(self, learner: Learner) -> bool:
        """A loader without state_dict (e.g. a DataLoader) cannot restart mid-epoch where it was."""
        if hasattr(learner.train_loader, "state_dict") or learner.epoch_batches == 0:
            return True
        if not self._warned:
            warnings.warn(f"{type(learner.train_loader).__name__} cannot resume mid-epoch; checkpoints are "
                          "taken at epoch ends only (use (X, y) arrays or a TensorLoader for step checkpoints)",
                          stacklevel=2)
            self._warned = True
        return False

    def after_batch(self, learner: Learner) -> None:
        if self.signal_received is not None:
            name = signal.Signals(self.signal_received).name
            saved = self._resumable_mid_epoch(learner) and self.save(learner)
            raise KeyboardInterrupt(f"signal {name}: " + ("checkpoint saved" if saved else "no checkpoint"))
        if self.every_steps and learner.step % self.every_steps == 0 and self._resumable_mid_epoch(learner):
            self.save(learner)

    def after_epoch(self, learner: Learner) -> None:
        if self.every_epoch:
            self.save(learner)

    def after_fit(self, learner: Learner) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous = {}
