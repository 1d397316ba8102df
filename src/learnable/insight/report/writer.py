"""Writing the run report: one self-contained HTML file with everything about a run.

The record's config task picks the family's page: "cluster" and "reduce" runs have no epochs
(:mod:`~learnable.insight.report.classic`), "rl" runs have episodes (:mod:`~learnable.insight.report.rl`),
any other run is a supervised training run (:mod:`~learnable.insight.report.training`). ``learnable train``
writes one at the end of every run; ``learnable report RUN`` writes one for any recorded run.

Example:
    >>> from learnable.runs import RunStore
    >>> store = RunStore("/tmp/example-runs")                         # doctest: +SKIP
    >>> write_report(store.load_record("last"), "/tmp/report.html")   # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from learnable.insight.report import page
from learnable.insight.report.classic import CLASSIC_TASKS, classic_sections
from learnable.utils.files import write_atomically
from learnable.utils.validation import check_output_file

__all__ = ["render", "sections", "write_report"]


REPORT_SUFFIXES = (".html", ".htm")

def write_report(record: dict[str, Any], out: str | Path) -> Path:
    """Write the HTML report of ``record`` (see :meth:`learnable.runs.RunStore.load_record`) to ``out``, atomically;
    return the path."""
    check_output_file(out, flag="out", suffixes=REPORT_SUFFIXES)
    return write_atomically(Path(out), render(record))


def render(record: dict[str, Any]) -> str:
    """The report as one HTML string."""
    import matplotlib

    with matplotlib.rc_context({"text.parse_math": False}):  # '$' in a class or feature name is plain text
        return page.document(record, sections(record))


def sections(record: dict[str, Any]) -> list[str]:
    """The sections of the page of ``record``'s family (matplotlib is imported only when a report is made)."""
    task = (record.get("config") or {}).get("task")
    if task in CLASSIC_TASKS:
        return classic_sections(record)
    if task == "rl":  # episodes, not epochs: its own page
        from learnable.insight.report.rl import rl_sections

        return rl_sections(record)
    from learnable.insight.report.training import training_sections

    return training_sections(record)
