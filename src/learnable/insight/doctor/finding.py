"""A finding of the doctor, how a family's rules are applied to a record, and how findings write numbers.

Example:
    >>> Finding("overfitting", "warning", "Overfitting", "val loss up 40%", "...", "stop earlier").severity
    'warning'
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

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


def format_number(value: float) -> str:
    """A number as findings write it: three significant digits.

    Example:
        >>> format_number(0.0123456), format_number(31415.9)
        ('0.0123', '3.14e+04')
    """
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
