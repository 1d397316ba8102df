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


def apply_rules(record: dict[str, Any], rules: Any, explains: dict[str, tuple[str, ...]],
                how_to_record: str) -> list[Finding]:
    """Every finding of ``rules`` (functions of a run record) for ``record``, most severe first.

    A rule that cannot read an odd record gives an "unreadable" info finding instead of an error (the
    fix says ``how_to_record``); a finding whose code ``explains`` lists as the cause of others hides them.

    Example:
        >>> apply_rules({}, [lambda record: []], {}, "Record it with `learnable train`.")
        []
    """
    findings: list[Finding] = []
    for rule in rules:
        try:
            findings += rule(record)
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as error:  # an odd record
            findings.append(Finding(
                "unreadable", "info", f"The doctor could not apply the rule '{rule.__name__}'",
                f"{type(error).__name__}: {error}", "Part of this run's record is missing or malformed.",
                how_to_record))
    explained = {symptom for f in findings for symptom in explains.get(f.code, ())}
    findings = [f for f in findings if f.code not in explained]
    return sorted(findings, key=lambda f: SEVERITIES.index(f.severity))
