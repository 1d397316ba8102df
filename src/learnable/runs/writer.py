"""One run's writes to the run store, made so that the store can never stop a training or cost its model.

Every command that records a run writes through the run's :class:`RunWriter` (``store.writer(run_id)``):
the :class:`~learnable.runs.RecordRun` callback during training, and the command when the run ends. When
the store stays locked past its retries, cannot be written, is damaged, or the run's row was deleted
(``learnable runs delete --force`` on a live run), the writer says so in one line and stops recording
that run; training goes on and the model is saved. ``problem`` then holds what happened.

Example:
    >>> from learnable.runs import RunStore
    >>> store = RunStore("/tmp/example-runs")
    >>> writer = store.writer(store.create("demo"))
    >>> writer.add_epoch({"epoch": 1, "train_loss": 0.5})
    True
    >>> writer.problem is None
    True
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from learnable.runs.database import RunStoreError
from learnable.utils.terminal import say

if TYPE_CHECKING:
    from learnable.runs.store import RunStore


def _warn(line: str) -> None:
    say(line, err=True)


class RunWriter:
    """Write one run's epochs, details, artifacts and ending; a store error stops recording, never training.

    Args:
        store: the run store.
        run_id: the run's id.
        warn: called once with a one-line warning when recording stops (default: printed to stderr).
    """

    def __init__(self, store: RunStore, run_id: str, *, warn: Callable[[str], None] = _warn) -> None:
        self.store, self.run_id, self.warn = store, run_id, warn
        self.problem: RunStoreError | None = None

    @property
    def deleted(self) -> bool:
        """Whether recording stopped because the run's row was deleted."""
        return self.problem is not None and self.problem.reason == "deleted"

    def add_epoch(self, metrics: dict[str, Any], steps: Iterable[tuple[int, float]] = ()) -> bool:
        """Record one epoch's metrics and (step, loss) pairs; False if the run is not (or no longer) recorded."""
        return self._write(self.store.add_epoch, metrics, steps)

    def set_detail(self, key: str, value: Any) -> bool:
        return self._write(self.store.set_detail, key, value)

    def add_artifact(self, name: str, path: str | Path) -> bool:
        return self._write(self.store.add_artifact, name, path)

    def finish(self, status: str, *, summary: dict[str, Any] | None = None, error: str = "") -> bool:
        """Record the run's ending; its live lock is given up either way, even when recording stopped before."""
        try:
            return self._write(self.store.finish, status, summary=summary, error=error)
        finally:
            self.store.release(self.run_id)

    def _write(self, method: Callable[..., None], *args: Any, **kwargs: Any) -> bool:
        if self.problem is not None:
            return False
        try:
            method(self.run_id, *args, **kwargs)
        except RunStoreError as error:
            self.problem = error
            self.warn(f"warning: {str(error).rstrip('.')}; run {self.run_id} is not recorded from here on (the "
                      "training goes on and its model is saved as usual).")
            return False
        return True
