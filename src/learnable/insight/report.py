"""The run report: one self-contained HTML file with everything about a training run.

Settings, a data summary, the curves, the per-layer statistics, the doctor's findings and the test
results, with every plot embedded as a PNG data URI: the file opens offline, loads nothing from
the network and runs no script. ``learnable train`` writes one at the end of every run;
``learnable report RUN`` writes one for any recorded run. A run of ``learnable cluster`` or
``learnable reduce`` (config task "cluster" or "reduce") has no epochs: its report shows its metrics,
the cluster sizes or the explained variance, and the 2-D plot the command wrote. A run of `learnable rl`
(task "rl") has episodes instead: :mod:`learnable.insight.rl_report` draws its page.

Example:
    >>> from learnable.runs import RunStore
    >>> store = RunStore("/tmp/example-runs")                         # doctest: +SKIP
    >>> write_report(load_record(store, "last"), "/tmp/report.html")  # doctest: +SKIP
"""

from __future__ import annotations

import base64
import html
import io
import itertools
import time
from pathlib import Path
from typing import Any

from learnable.insight.doctor import Finding, diagnose
from learnable.utils.files import write_atomically

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:0;color:#1d2330;background:#f5f6f8}
main{max-width:1000px;margin:0 auto;padding:24px 28px 60px;background:#fff}
h1{font-size:1.6em;margin:.2em 0}h2{border-bottom:2px solid #e3e6eb;padding-bottom:4px;margin-top:1.8em}
div.scroll{overflow-x:auto}table{border-collapse:collapse;margin:8px 0;font-size:.92em}
td,th{border:1px solid #dde1e7;padding:4px 9px;text-align:left}
th{background:#f0f2f5}.num{text-align:right;font-variant-numeric:tabular-nums}
img{max-width:100%;display:block;margin:10px 0}.muted{color:#667085}
.finding{border-left:6px solid;padding:8px 12px;margin:10px 0;background:#fafbfc}
.critical{border-color:#d92d20}.warning{border-color:#f79009}.info{border-color:#2e90fa}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-size:.8em;margin-right:6px}
.badge.critical{background:#d92d20}.badge.warning{background:#f79009}.badge.info{background:#2e90fa}
.healthy{border-left:6px solid #12b76a;padding:8px 12px;background:#f6fef9}
"""


def load_record(store: Any, run: str) -> dict[str, Any]:
    """A run as the doctor and the report read it: ``RunStore.get`` plus its step losses and data summary."""
    record = store.get(run)
    record["steps"] = store.steps(record["id"])
    record["data"] = record.get("details", {}).get("data")
    return record


def write_report(record: dict[str, Any], out: str | Path) -> Path:
    """Write the HTML report of ``record`` (see :func:`load_record`) to ``out``, atomically; return the path."""
    out = Path(out)
    if out.suffix.lower() not in (".html", ".htm"):
        raise ValueError(f"the report '{out}' must be an .html file.")
    if out.is_dir():
        raise ValueError(f"'{out}' is a directory; give a file name such as {out / 'report.html'}.")
    if not out.parent.is_dir():
        raise ValueError(f"cannot write the report to '{out}': the folder '{out.parent}' does not exist.")
    return write_atomically(out, render(record))


def render(record: dict[str, Any]) -> str:
    """The report as one HTML string."""
    import matplotlib

    with matplotlib.rc_context({"text.parse_math": False}):  # '$' in a class or feature name is plain text
        return _render(record)


def _render(record: dict[str, Any]) -> str:
    from learnable.insight import plots  # matplotlib is imported only when a report is made

    if (record.get("config") or {}).get("task") in CLASSIC_TASKS:
        return _page(record, _classic_sections(record))
    if (record.get("config") or {}).get("task") == "rl":  # episodes, not epochs: its own page
        from learnable.insight.rl_report import rl_sections

        return _page(record, rl_sections(record))
    epochs, evaluation = record.get("epochs", []), (record.get("details") or {}).get("evaluation") or {}
    sections = [
        _header(record),
        _section("The doctor's findings", _findings(diagnose(record))),
        _section("Results", _results(record)),
        _section("Settings", _table(_settings(record))),
        _section("Data", _data(record.get("data") or {})),
        _section("Learning curves", _figures(plots.loss_curves(epochs, record.get("steps")),
                                             plots.metric_curves(epochs), plots.learning_rate(epochs))),
        _section("Inside the network", _figures(
            plots.parameter_statistic(epochs, "grad_norm", "Gradient norm per parameter tensor"),
            plots.parameter_statistic(epochs, "update_ratio", "Update / weight norm per step"),
            plots.activation_histograms(epochs), plots.unit_fractions(epochs)) or
            "<p class=muted>No statistics were recorded for this run.</p>"),
        _section("What the model gets wrong", _evaluation(evaluation)),
        _section("Versions", _table(record.get("versions") or {})),
    ]
    return _page(record, sections)


def _page(record: dict[str, Any], sections: list[str]) -> str:
    title = html.escape(f"learnable report: {record.get('name') or 'run'}")
    return (f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>{title}</title>"
            f"<meta name=viewport content='width=device-width,initial-scale=1'><style>{STYLE}</style></head>"
            f"<body><main>{''.join(s for s in sections if s)}</main></body></html>")


# ---- the runs of `learnable cluster` and `learnable reduce`: no epochs, one fit --------------------------
CLASSIC_TASKS = ("cluster", "reduce")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _classic_sections(record: dict[str, Any]) -> list[str]:
    """Header, results (metrics, cluster sizes or explained variance), the 2-D plot, settings, versions."""
    summary = record.get("summary") or {}
    plot = (record.get("artifacts") or {}).get("plot")
    return [
        _header(record),
        _section("Results", _classic_results(summary)),
        _section("The data in 2-D", _png_file(plot) if plot else "<p class=muted>No plot was recorded.</p>"),
        _section("Settings", _table(record.get("config") or {})),
        _section("Versions", _table(record.get("versions") or {})),
    ]


def _classic_results(summary: dict[str, Any]) -> str:
    if not summary.get("metrics"):
        return "<p class=muted>No results recorded.</p>"
    shown = ("k", "components", "rows", "features", "iterations", "solver", "silhouette_rows", "seconds")
    facts = {**summary["metrics"], **{k: summary[k] for k in shown if k in summary}}
    parts = [_table({k.replace("_", " "): "-" if v is None else v for k, v in facts.items()})]
    if summary.get("cluster_sizes"):
        rows = summary["rows"] or 1
        sizes = {f"cluster {i}": f"{n} rows ({n / rows:.1%})" for i, n in enumerate(summary["cluster_sizes"])}
        parts.append("<h3>Cluster sizes</h3>" + _table(sizes))
    if summary.get("silhouette_by_k"):
        parts.append("<h3>Silhouette for each k tried</h3>" + _table(
            {f"k = {k}": "-" if v is None else v for k, v in summary["silhouette_by_k"].items()}))
    if summary.get("explained_variance_ratio"):
        ratios = summary["explained_variance_ratio"]
        body = "".join(f"<tr><td class=num>{i + 1}</td><td class=num>{r:.6f}</td><td class=num>{c:.6f}</td></tr>"
                       for i, (r, c) in enumerate(zip(ratios, itertools.accumulate(ratios), strict=True)))
        parts.append("<h3>Explained variance</h3><table><tr><th>component</th><th>ratio</th><th>cumulative</th>"
                     f"</tr>{body}</table>")
    return "".join(parts)


def embedded_file(path: str, kind: str, signatures: tuple[bytes, ...], alt: str, what: str) -> str:
    """An image file of the run (``kind`` "png" or "gif") embedded as a data URI, so the report stays one
    self-contained file; a short note instead when the file cannot be read or is not of that kind."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        return f"<p class=muted>The {what} '{_e(path)}' cannot be read ({_e(error.strerror or error)}).</p>"
    if not data.startswith(signatures):
        return f"<p class=muted>The {what} '{_e(path)}' is not a {kind.upper()} file.</p>"
    return f"<img alt='{alt}' src='data:image/{kind};base64,{base64.b64encode(data).decode('ascii')}'>"


def _png_file(path: str) -> str:
    """The 2-D plot of a cluster or reduce run, embedded."""
    return embedded_file(path, "png", (PNG_SIGNATURE,), "the data in 2-D", "plot")


# ---- pieces ----------------------------------------------------------------------------------
def _header(record: dict[str, Any]) -> str:
    created, ended = record.get("created"), record.get("ended")
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(created)) if created else ""
    took = f", {ended - created:.1f} s" if created and ended else ""
    facts = [f"run {record['id']}" if record.get("id") else "", record.get("status") or "", f"{when}{took}"]
    lines = [f"<h1>{_e(record.get('name') or 'Training run')}</h1>",
             f"<p class=muted>{' &middot; '.join(_e(f) for f in facts if f)}</p>"]
    if record.get("command"):
        lines.append(f"<p class=muted><code>{_e(record['command'])}</code></p>")
    if record.get("error"):
        lines.append(f"<div class='finding critical'><b>Error:</b> {_e(record['error'])}</div>")
    return "".join(lines)


def _findings(findings: list[Finding]) -> str:
    if not findings:
        return "<div class=healthy>Nothing found: no sign of the problems the doctor checks for.</div>"
    return "".join(
        f"<div class='finding {f.severity}'><span class='badge {f.severity}'>{f.severity}</span><b>{_e(f.title)}</b>"
        f"<p><b>Evidence:</b> {_e(f.evidence)}</p><p>{_e(f.explanation)}</p><p><b>Fix:</b> {_e(f.fix)}</p></div>"
        for f in findings)


def _results(record: dict[str, Any]) -> str:
    summary = record.get("summary") or {}
    test = summary.get("test") or {}
    parts = []
    if test:
        parts.append("<h3>Test split</h3>" + _table({k.replace("_", " "): v for k, v in test.items()}))
    facts = {k.replace("_", " "): v for k, v in summary.items() if k != "test" and v not in (None, "")}
    if facts:
        parts.append("<h3>Training</h3>" + _table(facts))
    epochs = record.get("epochs") or []
    if epochs:
        keep = [k for k in epochs[-1] if k not in ("stats", "seconds")][:9]  # the epoch, losses and a few metrics
        rows = epochs if len(epochs) <= 12 else [*epochs[:3], *epochs[-9:]]
        body = "".join("<tr>" + "".join(f"<td class=num>{_v(e.get(k))}</td>" for k in keep) + "</tr>" for e in rows)
        note = f"<p class=muted>First 3 and last 9 of {len(epochs)} epochs.</p>" if len(epochs) > 12 else ""
        parts.append("<h3>Per epoch</h3><div class=scroll><table><tr>" + "".join(f"<th>{_e(k)}</th>" for k in keep)
                     + f"</tr>{body}</table></div>{note}")
    return "".join(parts) or "<p class=muted>No results recorded.</p>"


def _data(data: dict[str, Any]) -> str:
    if not data:
        return "<p class=muted>No data summary was recorded.</p>"
    facts: dict[str, Any] = {"task": data.get("task"), "features": data.get("features")}
    facts.update({f"{k} rows": v for k, v in (data.get("rows") or {}).items() if v})
    if data.get("image_shape"):
        facts["image shape"] = " x ".join(map(str, data["image_shape"]))
    if data.get("text"):  # a text model: the features are token positions
        text = data["text"]
        facts["features"] = f"text column '{text['column']}', read as up to {text['max_length']} tokens"
        facts["vocabulary"] = f"{text['vocabulary']} tokens"
    facts["inputs standardised by learnable"] = "yes" if data.get("standardized") else "no"
    duplicates = data.get("duplicates") or {}
    facts.update({f"{k} rows also in training": v for k, v in duplicates.items() if k != "train_repeats"})
    facts["repeated rows within training"] = duplicates.get("train_repeats", 0)
    if data.get("constant_features") is not None:
        facts["constant features"] = len(data["constant_features"])
    if data.get("loss"):
        facts["loss"] = data["loss"]
    parts = [_table(facts)]
    if data.get("classes"):
        parts.append("<h3>Training rows per class</h3>" + _table(data["classes"]))
    if data.get("target"):
        parts.append("<h3>Target</h3>" + _table(data["target"]))
    return "".join(parts)


def _evaluation(evaluation: dict[str, Any]) -> str:
    if not evaluation:
        return "<p class=muted>No test-split evaluation was recorded (runs of learnable.fit and " \
               "`learnable train` record one).</p>"
    from learnable.insight import plots

    parts = [_figures(plots.confusion_matrix(evaluation), plots.residuals(evaluation),
                      plots.decision_surface(evaluation), plots.worst_examples(evaluation))]
    tabular = [w for w in evaluation.get("worst", []) if "features" in w]
    if tabular:
        keys = ["row", "actual", "predicted", *(["confidence"] if "confidence" in tabular[0] else [])]
        features = list(tabular[0]["features"])[:12]
        head = "".join(f"<th>{_e(k)}</th>" for k in keys + features)
        body = "".join("<tr>" + "".join(f"<td class=num>{_v(w.get(k))}</td>" for k in keys)
                       + "".join(f"<td class=num>{_v(w['features'].get(f))}</td>" for f in features) + "</tr>"
                       for w in tabular)
        parts.append(f"<h3>Highest-loss test rows</h3><div class=scroll><table><tr>{head}</tr>{body}</table></div>")
    return "".join(parts)


def _figures(*figures: Any) -> str:
    return "".join(_image(f) for f in figures if f is not None)


def _image(figure: Any) -> str:
    from learnable.insight.plots import plain_text

    buffer = io.BytesIO()
    plain_text(figure).savefig(buffer, format="png", dpi=100)  # math is off (render): no mathtext ticks
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    title = figure.get_suptitle() or (figure.axes[0].get_title() if figure.axes else "") or "plot"
    return f"<img alt='{_e(title or 'plot')}' src='data:image/png;base64,{data}'>"


def _section(title: str, body: str) -> str:
    return f"<section><h2>{_e(title)}</h2>{body}</section>" if body else ""


def _settings(record: dict[str, Any]) -> dict[str, Any]:
    """The settings the run was given, each one left to a default shown with the value training used.

    ``details["settings"]`` (:func:`learnable.runs.recorder.learner_settings`) holds what the Learner used;
    "auto" model and task show what they became.
    """
    given = dict(record.get("config") or {})
    used = dict((record.get("details") or {}).get("settings") or {})
    used["model"] = (record.get("summary") or {}).get("model")
    used["task"] = (record.get("data") or {}).get("task")
    for key, value in used.items():
        if value is None:
            continue
        if key not in given:
            given[key] = value  # e.g. the optimizer, which `learnable train` does not ask for
        elif given[key] is None:
            given[key] = f"{_text(value)} (default)"
        elif given[key] == "auto" and value != "auto":
            given[key] = f"auto ({value})"
    return given


def _table(values: dict[str, Any]) -> str:
    if not values:
        return "<p class=muted>None recorded.</p>"
    rows = "".join(f"<tr><th>{_e(k)}</th><td class=num>{_v(v)}</td></tr>" for k, v in values.items())
    return f"<table>{rows}</table>"


def _v(value: Any) -> str:
    return _e(_text(value))


def _text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)
