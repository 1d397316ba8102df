"""Runs as tables for the terminal: the list, one run in full, and two runs side by side.

Each function takes what :class:`RunStore` returns and gives a rich renderable. Every value in them (run
names, ids, settings, metric and column names) is a :func:`learnable.utils.terminal.as_text`: shown as text,
never parsed as markup, its control characters escaped.

Example:
    >>> from rich.console import Console
    >>> from learnable.runs import RunStore
    >>> Console().print(runs_table(RunStore("/tmp/example-runs").list()))   # doctest: +SKIP
"""

from __future__ import annotations

import time
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from learnable.utils.terminal import as_text


def _when(timestamp: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp)) if timestamp else "-"


def _number(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _row(table: Table, *values: Any) -> None:
    """Add a row of plain-text cells (numbers to 4 decimals)."""
    table.add_row(*(as_text(_number(value)) for value in values))


def _columns(table: Table, *names: Any, **options: Any) -> None:
    for name in names:
        table.add_column(as_text(name), **options)


def headline(run: dict[str, Any]) -> str:
    """The run's main result: its first test metric, else its first metric (cluster, reduce), else its last
    validation loss."""
    test = (run.get("summary") or {}).get("test") or {}
    if test:
        key = next(iter(test))
        return f"test {key} {_number(test[key])}"
    metrics = (run.get("summary") or {}).get("metrics") or {}  # a run with no epochs: cluster, reduce
    if metrics:
        key = next(iter(metrics))
        return f"{key} {_number(metrics[key]) if metrics[key] is not None else '-'}"
    last = run.get("last") or (run.get("epochs") or [{}])[-1]
    return f"val_loss {_number(last['val_loss'])}" if "val_loss" in last else "-"


def runs_table(runs: list[dict[str, Any]]) -> Table:
    """One line per run, newest first."""
    table = Table(title=f"{len(runs)} run(s), newest first")
    _columns(table, "id", "name", "status", "epochs", "started", "result")
    for run in runs:
        _row(table, run["id"], run["name"], status(run), _length(run), _when(run["created"]), headline(run))
    return table


def status(run: dict[str, Any]) -> str:
    """The run's status as shown: 'killed' for a run still marked running whose process is gone (SIGKILL, a
    crash, a power cut: nothing could record its end), so it is not taken for one that trains now.

    Example:
        >>> status({"status": "running", "live": False})
        'killed'
    """
    return "killed" if run["status"] == "running" and run.get("live") is False else run["status"]


def _length(run: dict[str, Any], unit: str = "") -> str:
    """Epochs trained (followed by ``unit``); for a reinforcement-learning run (no epochs), its episodes."""
    episodes = (run.get("summary") or {}).get("episodes_trained")
    if not run.get("num_epochs") and episodes is not None:
        return f"{episodes} episodes"
    return f"{run.get('num_epochs', '')}{unit}"


def run_details(run: dict[str, Any]) -> Group:
    """Settings, status, versions, test results, metrics per epoch and artifacts of one run."""
    facts = Table(show_header=False, title=as_text(f"run {run['id']}"))
    facts.add_column(style="bold")
    facts.add_column()
    rows = [("name", run["name"]), ("status", status(run)), ("started", _when(run["created"])),
            ("ended", _when(run["ended"])), ("command", run["command"]), ("seed", run["seed"]),
            ("dataset", run["dataset"]), ("steps logged", run["num_steps"])]
    rows += [(f"config.{k}", v) for k, v in run["config"].items()]
    rows += [(f"versions.{k}", v) for k, v in run["versions"].items()]
    rows += [(f"summary.{k}", v) for k, v in run["summary"].items() if k not in ("test", "metrics")]
    rows += [(f"metrics.{k}", v) for k, v in (run["summary"].get("metrics") or {}).items()]
    rows += [(f"test.{k}", v) for k, v in (run["summary"].get("test") or {}).items()]
    rows += [(f"artifact.{k}", v) for k, v in run["artifacts"].items()]
    if run.get("error"):
        rows.append(("error", run["error"]))
    for key, value in rows:
        _row(facts, key, value if value is not None else "-")
    return Group(facts, epochs_table(run["epochs"]))


def epochs_table(epochs: list[dict[str, Any]]) -> Table:
    """The per-epoch metrics as a table."""
    table = Table(title="metrics per epoch")
    keys = list(dict.fromkeys(k for epoch in epochs for k, v in epoch.items() if not isinstance(v, dict)))
    _columns(table, *keys, justify="right")
    for epoch in epochs:
        _row(table, *(epoch.get(k, "") for k in keys))
    return table


def compare_runs(first: dict[str, Any], second: dict[str, Any]) -> Table:
    """The settings that differ and the final metrics of two runs, side by side."""
    table = Table(title=as_text(f"{first['id']} vs {second['id']}"))
    _columns(table, "", first["id"], second["id"])
    _row(table, "name", str(first["name"]), str(second["name"]))
    _row(table, "status", status(first), status(second))
    for key in ("seed", "dataset"):
        _row(table, key, str(first[key]), str(second[key]))
    for key in sorted(set(first["config"]) | set(second["config"])):
        a, b = first["config"].get(key), second["config"].get(key)
        if a != b:
            _row(table, f"config.{key}", str(a), str(b))
    last_a = first["epochs"][-1] if first["epochs"] else {}
    last_b = second["epochs"][-1] if second["epochs"] else {}
    for key in dict.fromkeys(k for k, v in [*last_a.items(), *last_b.items()] if not isinstance(v, dict)):
        _row(table, f"last {key}", last_a.get(key, "-"), last_b.get(key, "-"))
    test_a, test_b = first["summary"].get("test") or {}, second["summary"].get("test") or {}
    for key in dict.fromkeys([*test_a, *test_b]):
        _row(table, f"test {key}", test_a.get(key, "-"), test_b.get(key, "-"))
    return table


SEVERITY_STYLE = {"critical": "bold red", "warning": "bold yellow", "info": "bold blue"}


def findings_view(run: dict[str, Any], findings: list[Any]) -> Group:
    """The doctor's findings for one run, most severe first (or a line saying nothing was found)."""
    length = _length({**run, "num_epochs": len(run["epochs"])}, unit=" epochs")
    head = as_text(f"run {run['id']} ({run['name']}, {status(run)}, {length})", style="bold")
    if not findings:
        return Group(head, Text("Nothing found: no sign of the problems the doctor checks for.", style="green"))
    parts: list[Any] = [head, Text(f"{len(findings)} finding(s):")]
    for finding in findings:  # evidence quotes the data: class and column names
        parts += [Text(""), Text.assemble(as_text(f"[{finding.severity}] ", SEVERITY_STYLE[finding.severity]),
                                          as_text(finding.title, "bold")),
                  as_text(f"  evidence: {finding.evidence}"), as_text(f"  why: {finding.explanation}"),
                  as_text(f"  fix: {finding.fix}")]
    return Group(*parts)
