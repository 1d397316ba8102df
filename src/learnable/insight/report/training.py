"""The report page of a supervised training run (`learnable train`, ``RecordRun``, ``learnable.fit``).

Settings, a data summary, the learning curves, the per-layer statistics, the doctor's findings and the
test results. matplotlib is imported with this module: :func:`learnable.insight.report.writer.render`
imports it only when a report is made.

Example:
    >>> record = {"epochs": [{"epoch": e, "train_loss": 1 / e} for e in range(1, 4)]}
    >>> len(training_sections(record))
    9
"""

from __future__ import annotations

from typing import Any

from learnable.insight import plots
from learnable.insight.doctor import diagnose
from learnable.insight.report import page

__all__ = ["training_sections"]


def training_sections(record: dict[str, Any]) -> list[str]:
    """Header, findings, results, settings, data, curves, statistics, test-split errors and versions."""
    epochs, evaluation = record.get("epochs", []), (record.get("details") or {}).get("evaluation") or {}
    return [
        page.header(record),
        page.section("The doctor's findings", page.findings(diagnose(record))),
        page.section("Results", _results(record)),
        page.section("Settings", page.table(_settings(record))),
        page.section("Data", _data(record.get("data") or {})),
        page.section("Learning curves", page.figures(plots.loss_curves(epochs, record.get("steps")),
                                                     plots.metric_curves(epochs), plots.learning_rate(epochs))),
        page.section("Inside the network", page.figures(
            plots.parameter_statistic(epochs, "grad_norm", "Gradient norm per parameter tensor"),
            plots.parameter_statistic(epochs, "update_ratio", "Update / weight norm per step"),
            plots.activation_histograms(epochs), plots.unit_fractions(epochs)) or
            "<p class=muted>No statistics were recorded for this run.</p>"),
        page.section("What the model gets wrong", _evaluation(evaluation)),
        page.section("Versions", page.table(record.get("versions") or {})),
    ]


def _results(record: dict[str, Any]) -> str:
    summary = record.get("summary") or {}
    test = summary.get("test") or {}
    parts = []
    if test:
        parts.append("<h3>Test split</h3>" + page.table({k.replace("_", " "): v for k, v in test.items()}))
    facts = {k.replace("_", " "): v for k, v in summary.items() if k != "test" and v not in (None, "")}
    if facts:
        parts.append("<h3>Training</h3>" + page.table(facts))
    epochs = record.get("epochs") or []
    if epochs:
        parts.append(_epoch_table(epochs))
    return "".join(parts) or "<p class=muted>No results recorded.</p>"


def _epoch_table(epochs: list[dict[str, Any]]) -> str:
    """The epoch, its losses and a few metrics per epoch; the first 3 and last 9 of a long run."""
    keep = [k for k in epochs[-1] if k not in ("stats", "seconds")][:9]
    rows = epochs if len(epochs) <= 12 else [*epochs[:3], *epochs[-9:]]
    body = "".join("<tr>" + "".join(f"<td class=num>{page.value_html(e.get(k))}</td>" for k in keep) + "</tr>"
                   for e in rows)
    note = f"<p class=muted>First 3 and last 9 of {len(epochs)} epochs.</p>" if len(epochs) > 12 else ""
    return ("<h3>Per epoch</h3><div class=scroll><table><tr>" + "".join(f"<th>{page.escape(k)}</th>" for k in keep)
            + f"</tr>{body}</table></div>{note}")


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
    parts = [page.table(facts)]
    if data.get("classes"):
        parts.append("<h3>Training rows per class</h3>" + page.table(data["classes"]))
    if data.get("target"):
        parts.append("<h3>Target</h3>" + page.table(data["target"]))
    return "".join(parts)


def _evaluation(evaluation: dict[str, Any]) -> str:
    if not evaluation:
        return "<p class=muted>No test-split evaluation was recorded (runs of learnable.fit and " \
               "`learnable train` record one).</p>"
    parts = [page.figures(plots.confusion_matrix(evaluation), plots.residuals(evaluation),
                          plots.decision_surface(evaluation), plots.worst_examples(evaluation))]
    tabular = [w for w in evaluation.get("worst", []) if "features" in w]
    if tabular:
        keys = ["row", "actual", "predicted", *(["confidence"] if "confidence" in tabular[0] else [])]
        features = list(tabular[0]["features"])[:12]
        head = "".join(f"<th>{page.escape(k)}</th>" for k in keys + features)
        body = "".join("<tr>" + "".join(f"<td class=num>{page.value_html(w.get(k))}</td>" for k in keys)
                       + "".join(f"<td class=num>{page.value_html(w['features'].get(f))}</td>" for f in features)
                       + "</tr>" for w in tabular)
        parts.append(f"<h3>Highest-loss test rows</h3><div class=scroll><table><tr>{head}</tr>{body}</table></div>")
    return "".join(parts)


def _settings(record: dict[str, Any]) -> dict[str, Any]:
    """The settings the run was given, each one left to a default shown with the value training used.

    ``details["settings"]`` (``learnable.runs.recorder.learner_settings``) holds what the Learner used;
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
            given[key] = f"{page.value_text(value)} (default)"
        elif given[key] == "auto" and value != "auto":
            given[key] = f"auto ({value})"
    return given
