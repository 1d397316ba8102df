"""Plots of a training run (matplotlib): curves, per-layer statistics and what the model gets wrong.

Each function takes parts of a run record (``RunStore.load_record``: ``epochs``; the ``evaluation`` dict that
:func:`learnable.tasks.evaluation.evaluate_examples` makes) and returns a ``matplotlib.figure.Figure``,
or None when the run has nothing to show. No global pyplot state is used, so plotting is safe
without a display and from threads.

Example:
    >>> epochs = [{"epoch": e, "train_loss": 1 / e, "val_loss": 1.2 / e} for e in range(1, 6)]
    >>> loss_curves(epochs).savefig("/tmp/loss.png")
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.ticker import FixedFormatter, FuncFormatter, LogFormatter, MaxNLocator

from learnable.insight.record import stats_epochs
from learnable.utils.terminal import printable

WIDE, TALL = (7.5, 3.6), (7.5, 5.0)
LOSS_KEYS = ("train_loss", "val_loss")
NOT_METRICS = {"epoch", "seconds", "lr", "skipped_steps", "stats", *LOSS_KEYS}


def _series(epochs: list[dict[str, Any]], key: str) -> tuple[list[int], list[float]]:
    pairs = [(e.get("epoch", i + 1), e[key]) for i, e in enumerate(epochs) if isinstance(e.get(key), (int, float))]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def _stats(epochs: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    """The epochs with full statistics (parameters and activations), numbered."""
    return [(e, s) for e, s in stats_epochs({"epochs": epochs}) if "parameters" in s and "activations" in s]


class PlainLogFormatter(LogFormatter):
    """Log-axis tick labels as plain text ("0.01", "1e-05", "300"), never mathtext.

    Matplotlib labels log axes with mathtext (``$\\mathdefault{10^{-2}}$``); the report draws with math
    parsing off, so that a '$' in a class or feature name stays a '$', and would print that source.
    The same ticks are labelled as :class:`~matplotlib.ticker.LogFormatter` chooses them.

    Example:
        >>> axes = Figure().add_subplot(yscale="log")
        >>> axes.yaxis.set_major_formatter(PlainLogFormatter())
    """

    def __call__(self, x: float, pos: int | None = None) -> str:
        return self.fix_minus(f"{x:g}") if super().__call__(x, pos) else ""


def plain_log_ticks(figure: Figure) -> Figure:
    """Label every log-scale axis of ``figure`` (colour bars too) with :class:`PlainLogFormatter`; returns it."""
    for axes in figure.axes:
        for axis in (axes.xaxis, axes.yaxis):
            if axis.get_scale() == "log":
                axis.set_major_formatter(PlainLogFormatter())
                axis.set_minor_formatter(PlainLogFormatter())
    return figure


def plain_text(figure: Figure) -> Figure:
    """``figure`` ready to draw as plain text: log ticks by :func:`plain_log_ticks`, and control characters
    in its texts (a run, class or column name holding an ESC) shown as escapes such as ``\\x1b``, which no
    font has a glyph for. Line breaks stay. Returns the figure.

    Example:
        >>> figure = Figure(); _ = figure.suptitle("class \x1b[31m")
        >>> plain_text(figure).get_suptitle()
        'class \\\\x1b[31m'
    """
    from matplotlib.text import Text

    for text in figure.findobj(Text):
        text.set_text(printable(text.get_text(), keep="\n"))
    for axes in figure.axes:  # tick labels given as strings are set again from their formatter at each draw
        for axis in (axes.xaxis, axes.yaxis):
            formatter = axis.get_major_formatter()
            if isinstance(formatter, (FixedFormatter, FuncFormatter)) and not getattr(formatter, "escaped", False):
                axis.set_major_formatter(_escaped(formatter))
    return plain_log_ticks(figure)


def _escaped(formatter: Any) -> FuncFormatter:
    """A formatter giving ``formatter``'s labels with control characters escaped."""
    escaped = FuncFormatter(lambda x, pos: printable(formatter(x, pos), keep="\n"))
    escaped.escaped = True
    return escaped


def finish_figure(figure: Figure, axes: Any, title: str, xlabel: str = "epoch", ylabel: str = "") -> Figure:
    """Title and label ``axes``, add a grid (and a legend when lines are labelled), escape the texts and lay
    the figure out; return it. Whole-number ticks on an "epoch" x axis and a "rows" y axis."""
    axes.set(title=title, xlabel=xlabel, ylabel=ylabel)
    if xlabel == "epoch":
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))  # no tick at epoch 2.5
    if ylabel == "rows":
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))  # a count: no 1.5 rows
    axes.grid(alpha=0.3)
    if axes.get_legend_handles_labels()[0]:
        axes.legend(fontsize=8)
    plain_text(figure)  # before the layout, which makes room for the tick labels
    figure.tight_layout()
    return figure


# ---- curves ----------------------------------------------------------------------------------
def loss_curves(epochs: list[dict[str, Any]], steps: list[tuple[int, float]] | None = None) -> Figure | None:
    """Training and validation loss per epoch (and the sampled step losses, faint, on their own axis)."""
    if not epochs:
        return None
    figure = Figure(figsize=WIDE)
    axes = figure.add_subplot()
    for key, label in (("train_loss", "training"), ("val_loss", "validation")):
        x, values = _series(epochs, key)
        if x:
            axes.plot(x, values, marker="o", markersize=3, label=label)
    if steps:
        per_epoch = max(1, steps[-1][0]) / max(len(epochs), 1)
        axes.plot([s / per_epoch for s, _ in steps], [v for _, v in steps], color="grey", alpha=0.3, lw=0.8,
                  label="training, per step (sampled)")
    if _all_positive(epochs, LOSS_KEYS):
        axes.set_yscale("log")
    return finish_figure(figure, axes, "Loss", ylabel="loss")


def metric_curves(epochs: list[dict[str, Any]]) -> Figure | None:
    """The validation metrics per epoch (accuracy, F1, R2, ...)."""
    names = [k for k in epochs[-1] if k not in NOT_METRICS and isinstance(epochs[-1][k], (int, float))] if epochs \
        else []
    if not names:
        return None
    figure = Figure(figsize=WIDE)
    axes = figure.add_subplot()
    for name in names:
        axes.plot(*_series(epochs, name), marker="o", markersize=3, label=name.removeprefix("val_"))
    return finish_figure(figure, axes, "Validation metrics")


def learning_rate(epochs: list[dict[str, Any]]) -> Figure | None:
    """The learning rate at the end of each epoch."""
    x, values = _series(epochs, "lr")
    if not x or min(values) == max(values):  # a constant rate is stated in the settings, not plotted
        return None
    figure = Figure(figsize=(7.5, 2.6))
    axes = figure.add_subplot()
    axes.plot(x, values, marker="o", markersize=3)
    if min(values) > 0 and max(values) / min(values) > 20:
        axes.set_yscale("log")
    return finish_figure(figure, axes, "Learning rate", ylabel="lr")


# ---- statistics per layer --------------------------------------------------------------------------
def parameter_statistic(epochs: list[dict[str, Any]], key: str, title: str) -> Figure | None:
    """One per-tensor statistic over epochs ("grad_norm", "update_ratio" or "norm"), log scale."""
    sampled = _stats(epochs)
    if not sampled:
        return None
    names = list(sampled[-1][1]["parameters"])
    figure = Figure(figsize=TALL)
    axes = figure.add_subplot()
    colours = _colours(len(names))
    for colour, name in zip(colours, names, strict=True):
        points = [(e, s["parameters"][name][key]) for e, s in sampled if name in s["parameters"]]
        if any(v > 0 for _, v in points):
            axes.plot(*zip(*points, strict=True), color=colour, marker=".", label=name)
    if key == "update_ratio":
        axes.axhline(1e-3, color="black", linestyle="--", lw=0.8, label="1e-3 (typical)")
    axes.set_yscale("log")
    figure = finish_figure(figure, axes, title)
    if len(names) > 8:
        axes.legend(fontsize=6, ncol=2)
    return figure


def unit_fractions(epochs: list[dict[str, Any]]) -> Figure | None:
    """Per activation layer: the fraction of dead ReLU units and of saturated tanh/sigmoid outputs."""
    sampled = _stats(epochs)
    layers = list(sampled[-1][1]["activations"]) if sampled else []
    if not layers:
        return None
    figure = Figure(figsize=WIDE)
    axes = figure.add_subplot()
    for name in layers:
        for key, label in (("dead", "dead"), ("saturated", "saturated")):
            points = [(e, s["activations"][name][key]) for e, s in sampled if key in s["activations"].get(name, {})]
            if points:
                axes.plot(*zip(*points, strict=True), marker="o", markersize=3, label=f"{name} ({label})")
    axes.set_ylim(-0.03, 1.03)
    return finish_figure(figure, axes, "Dead units (ReLU) and saturation (tanh/sigmoid)", ylabel="fraction")


def activation_histograms(epochs: list[dict[str, Any]]) -> Figure | None:
    """For each activation layer, the distribution of its outputs over the epochs (darker: more values)."""
    sampled = [(e, s) for e, s in _stats(epochs) if any(_finite_histogram(a) for a in s["activations"].values())]
    layers = [n for n, a in sampled[-1][1]["activations"].items() if _finite_histogram(a)] if sampled else []
    if not layers:
        return None
    shown = layers[:6]
    figure = Figure(figsize=(7.5, 1.9 * len(shown) + 0.6))
    for row, name in enumerate(shown):
        axes = figure.add_subplot(len(shown), 1, row + 1)
        grid, low, high = histogram_image([s["activations"].get(name, {}).get("histogram") for _, s in sampled])
        x = [e for e, _ in sampled]
        extent = (x[0] - 0.5, x[-1] + 0.5, low, high)
        axes.imshow(grid, origin="lower", aspect="auto", extent=extent, cmap="viridis",
                    norm=LogNorm(vmin=max(grid[grid > 0].min(), 1e-6), vmax=grid.max()) if (grid > 0).any() else None)
        axes.set(ylabel=f"{name}\nvalue", xlabel="epoch" if row == len(shown) - 1 else "")
    figure.suptitle("Activation histograms over time" + (f" (first {len(shown)} layers)" if len(layers) > 6 else ""))
    plain_text(figure).tight_layout()  # escapes first: the layout measures the texts
    return figure


def _finite_histogram(activation: dict[str, Any]) -> bool:
    h = activation.get("histogram")
    return bool(h) and bool(np.isfinite([h["low"], h["high"]]).all()) and sum(h["counts"]) > 0


def histogram_image(histograms: list[dict[str, Any] | None], rows: int = 60) -> tuple[np.ndarray, float, float]:
    """Re-bin each epoch's histogram (its own range) onto one shared value grid: (rows, epochs) densities."""
    histograms = [h if h and np.isfinite([h["low"], h["high"]]).all() else None for h in histograms]
    present = [h for h in histograms if h]
    low, high = min(h["low"] for h in present), max(h["high"] for h in present)
    edges = np.linspace(low, high, rows + 1)
    grid = np.zeros((rows, len(histograms)))
    for column, h in enumerate(histograms):
        if not h:
            continue
        counts = np.asarray(h["counts"], dtype=np.float64)
        own = np.linspace(h["low"], h["high"], len(counts) + 1)
        cumulative = np.concatenate([[0.0], np.cumsum(counts)]) / max(counts.sum(), 1.0)
        grid[:, column] = np.diff(np.interp(edges, own, cumulative))  # mass in each shared bin
    return grid, low, high


# ---- what the model gets wrong --------------------------------------------------------------------
def confusion_matrix(evaluation: dict[str, Any]) -> Figure | None:
    """Counts of (true class, predicted class) on the test split."""
    confusion = evaluation.get("confusion")
    if not confusion:
        return None
    matrix, classes = np.asarray(confusion["matrix"]), confusion["classes"]
    size = min(3.0 + 0.45 * len(classes), 9.0)
    figure = Figure(figsize=(size + 1, size))
    axes = figure.add_subplot()
    image = axes.imshow(matrix, cmap="Blues")
    figure.colorbar(image, ax=axes, fraction=0.046)
    ticks = range(len(classes))
    axes.set_xticks(ticks, [str(c)[:12] for c in classes], rotation=45, ha="right", fontsize=8)
    axes.set_yticks(ticks, [str(c)[:12] for c in classes], fontsize=8)
    if len(classes) <= 20:
        for (i, j), count in np.ndenumerate(matrix):
            axes.text(j, i, str(count), ha="center", va="center", fontsize=9,
                      color="white" if count > matrix.max() / 2 else "black")
    axes.set(title="Confusion matrix (test split)", xlabel="predicted", ylabel="true")
    plain_text(figure).tight_layout()  # escapes first: the layout measures the texts
    return figure


def worst_examples(evaluation: dict[str, Any]) -> Figure | None:
    """The held-out images with the highest loss, with the true and the predicted label."""
    worst = [w for w in evaluation.get("worst", []) if "image" in w]
    if not worst:
        return None
    columns = min(6, len(worst))
    rows = (len(worst) + columns - 1) // columns
    figure = Figure(figsize=(1.35 * columns, 1.6 * rows + 0.5))
    for k, example in enumerate(worst):
        axes = figure.add_subplot(rows, columns, k + 1)
        image = np.asarray(example["image"])
        axes.imshow(image, cmap="gray" if image.ndim == 2 else None)
        axes.set_title(f"true {example['actual']}\npred {example['predicted']}", fontsize=8)
        axes.axis("off")
    figure.suptitle("Highest-loss test examples")
    plain_text(figure).tight_layout()  # escapes first: the layout measures the texts
    return figure


def residuals(evaluation: dict[str, Any]) -> Figure | None:
    """Regression: predicted against actual values, and the distribution of the errors."""
    found = evaluation.get("residuals")
    if not found:
        return None
    actual, predicted = np.asarray(found["actual"]), np.asarray(found["predicted"])
    figure = Figure(figsize=(9, 3.8))
    left, right = figure.add_subplot(1, 2, 1), figure.add_subplot(1, 2, 2)
    left.scatter(actual, predicted, s=8, alpha=0.6)
    line = [min(actual.min(), predicted.min()), max(actual.max(), predicted.max())]
    left.plot(line, line, color="black", lw=0.8, linestyle="--", label="perfect")
    finish_figure(figure, left, "Predicted against actual (test)", xlabel="actual", ylabel="predicted")
    right.hist(predicted - actual, bins=30)
    return finish_figure(figure, right, "Residuals (predicted - actual)", xlabel="residual", ylabel="rows")


def decision_surface(evaluation: dict[str, Any]) -> Figure | None:
    """Two input features: the model's prediction over the plane, with the test points on top."""
    surface = evaluation.get("surface")
    if not surface:
        return None
    figure = Figure(figsize=(6.5, 5))
    axes = figure.add_subplot()
    values = np.asarray(surface["values"])
    mesh = axes.contourf(surface["x"], surface["y"], values, levels=20 if surface["task"] != "multiclass" else
                         np.arange(values.max() + 2) - 0.5, cmap="coolwarm" if surface["task"] != "multiclass"
                         else "tab10", alpha=0.5)
    figure.colorbar(mesh, ax=axes, label="prediction")
    points = np.asarray(surface["points"])
    axes.scatter(points[:, 0], points[:, 1], c=surface["targets"], cmap="coolwarm" if surface["task"] != "multiclass"
                 else "tab10", edgecolors="black", s=18)
    names = surface["features"]
    return finish_figure(figure, axes, "Decision surface (test points on top)", xlabel=names[0], ylabel=names[1])


def _all_positive(epochs: list[dict[str, Any]], keys: tuple[str, ...]) -> bool:
    values = [e[k] for e in epochs for k in keys if isinstance(e.get(k), (int, float))]
    return bool(values) and min(values) > 0 and np.isfinite(values).all() and max(values) / min(values) > 10


def _colours(n: int) -> list[Any]:
    from matplotlib import colormaps

    return [colormaps["viridis"](i / max(n - 1, 1)) for i in range(n)]
