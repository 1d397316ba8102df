"""A finding of the doctor, and the helpers its rules use to read a run's record.

Example:
    >>> Finding("overfitting", "warning", "Overfitting", "val loss up 40%", "...", "stop earlier").severity
    'warning'
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

SEVERITIES = ("critical", "warning", "info")


@dataclass
class Finding:
    """One diagnosis: ``severity`` is "critical", "warning" or "info"."""

    code: str
    severity: str
    title: str
    evidence: str
    explanation: str
    fix: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


# ---- reading a record ------------------------------------------------------------------------------
def series(record: dict[str, Any], key: str) -> np.ndarray:
    values = [e.get(key) for e in record.get("epochs") or []]
    return np.array([v if isinstance(v, (int, float)) else np.nan for v in values], dtype=np.float64)


def last_stats(record: dict[str, Any]) -> dict[str, Any]:
    sampled = [e["stats"] for e in record.get("epochs") or [] if e.get("stats")]
    return sampled[-1] if sampled else {}


def stats_epochs(record: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    epochs = record.get("epochs") or []
    return [(e.get("epoch", i + 1), e["stats"]) for i, e in enumerate(epochs) if e.get("stats")]


def fmt(value: float) -> str:
    return f"{value:.3g}"
