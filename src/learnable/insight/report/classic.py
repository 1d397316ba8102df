"""The report page of a run of `learnable cluster` or `learnable reduce` (config task "cluster" or
"reduce"): no epochs, one fit. Its sections show the metrics, the cluster sizes or the explained
variance, and the 2-D plot the command wrote.

Example:
    >>> summary = {"metrics": {"inertia": 78.9}, "k": 3, "rows": 150, "cluster_sizes": [50, 62, 38]}
    >>> "Cluster sizes" in classic_results(summary)
    True
"""

from __future__ import annotations

import itertools
from typing import Any

from learnable.insight.report import page

CLASSIC_TASKS = ("cluster", "reduce")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
__all__ = ["CLASSIC_TASKS", "PNG_SIGNATURE", "classic_results", "classic_sections"]


def classic_sections(record: dict[str, Any]) -> list[str]:
    """Header, results (metrics, cluster sizes or explained variance), the 2-D plot, settings, versions."""
    summary = record.get("summary") or {}
    plot = (record.get("artifacts") or {}).get("plot")
    return [
        page.header(record),
        page.section("Results", classic_results(summary)),
        page.section("The data in 2-D", _png_file(plot) if plot else "<p class=muted>No plot was recorded.</p>"),
        page.section("Settings", page.table(record.get("config") or {})),
        page.section("Versions", page.table(record.get("versions") or {})),
    ]


def classic_results(summary: dict[str, Any]) -> str:
    """The fit's metrics and facts, with the cluster sizes, the silhouette of each k or the explained variance."""
    if not summary.get("metrics"):
        return "<p class=muted>No results recorded.</p>"
    shown = ("k", "components", "rows", "features", "iterations", "solver", "silhouette_rows", "seconds")
    facts = {**summary["metrics"], **{k: summary[k] for k in shown if k in summary}}
    parts = [page.table({k.replace("_", " "): "-" if v is None else v for k, v in facts.items()})]
    if summary.get("cluster_sizes"):
        rows = summary["rows"] or 1
        sizes = {f"cluster {i}": f"{n} rows ({n / rows:.1%})" for i, n in enumerate(summary["cluster_sizes"])}
        parts.append("<h3>Cluster sizes</h3>" + page.table(sizes))
    if summary.get("silhouette_by_k"):
        parts.append("<h3>Silhouette for each k tried</h3>" + page.table(
            {f"k = {k}": "-" if v is None else v for k, v in summary["silhouette_by_k"].items()}))
    if summary.get("explained_variance_ratio"):
        ratios = summary["explained_variance_ratio"]
        body = "".join(f"<tr><td class=num>{i + 1}</td><td class=num>{r:.6f}</td><td class=num>{c:.6f}</td></tr>"
                       for i, (r, c) in enumerate(zip(ratios, itertools.accumulate(ratios), strict=True)))
        parts.append("<h3>Explained variance</h3><table><tr><th>component</th><th>ratio</th><th>cumulative</th>"
                     f"</tr>{body}</table>")
    return "".join(parts)


def _png_file(path: str) -> str:
    """The 2-D plot of a cluster or reduce run, embedded."""
    return page.embedded_file(path, "png", (PNG_SIGNATURE,), "the data in 2-D", "plot")
