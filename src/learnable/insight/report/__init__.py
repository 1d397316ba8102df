"""The run report: one self-contained HTML file with everything about a run, offline and script-free.

:mod:`~learnable.insight.report.page` builds the page from its pieces; one module per family draws its
sections (``training``, ``rl``, ``classic``); :mod:`~learnable.insight.report.writer` picks the family and
writes the file.

Example:
    >>> from learnable.runs import RunStore
    >>> store = RunStore("/tmp/example-runs")                         # doctest: +SKIP
    >>> write_report(store.load_record("last"), "/tmp/report.html")  # doctest: +SKIP
"""

from learnable.insight.report.writer import render, write_report

__all__ = ["render", "write_report"]
