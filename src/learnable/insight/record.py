"""Reading a run record: the plain dict that the doctor, the plots and the report take.

A record is what ``RunStore.load_record`` returns (``RunStore.get`` with the run's sampled step losses and data
summary added): ``epochs`` (one dict of metrics per epoch, some with per-layer ``stats``),
``steps``, ``data``, ``config``, ``summary``, ``details``, ``status`` and ``error``. Everything in
:mod:`learnable.insight` is a function of such a dict; the helpers here read its common parts.

Example:
    >>> record = {"epochs": [{"epoch": 1, "train_loss": 0.9}, {"epoch": 2, "train_loss": 0.4}]}
    >>> series(record, "train_loss").tolist()
    [0.9, 0.4]
"""

from __future__ import annotations

from typing import Any

import numpy as np


def series(record: dict[str, Any], key: str) -> np.ndarray:
    """One key of every epoch as floats; an epoch without a number there gives NaN."""
    values = [e.get(key) for e in record.get("epochs") or []]
    return np.array([v if isinstance(v, (int, float)) else np.nan for v in values], dtype=np.float64)


def last_stats(record: dict[str, Any]) -> dict[str, Any]:
    """The per-layer statistics of the last epoch that sampled them, or {}."""
    sampled = [e["stats"] for e in record.get("epochs") or [] if e.get("stats")]
    return sampled[-1] if sampled else {}


def stats_epochs(record: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    """(epoch number, statistics) of each epoch that sampled per-layer statistics."""
    epochs = record.get("epochs") or []
    return [(e.get("epoch", i + 1), e["stats"]) for i, e in enumerate(epochs) if e.get("stats")]


def rl_history(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The per-episode training history of an RL run's record (``details["history"]``), or []."""
    return list((record.get("details") or {}).get("history") or [])
