"""A scatter plot of 2-D points coloured by label: how a dimensionality reduction (an autoencoder's
2-D codes from :func:`learnable.tasks.anomaly.embed_2d`, PCA, ...) lays the classes out.

Like :mod:`learnable.insight.plots`, it builds a ``matplotlib.figure.Figure`` without pyplot's global
state (safe without a display and from threads); a PNG is written by matplotlib's Agg renderer.
matplotlib is imported only when a plot is made, so ``import learnable`` stays light.

Example:
    >>> import numpy as np
    >>> points = np.random.default_rng(0).normal(size=(60, 2))
    >>> plot_embedding(points, labels=[0, 1, 2] * 20, path="/tmp/embedding.png").name
    'embedding.png'
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from learnable.utils.files import write_atomically

if TYPE_CHECKING:
    from matplotlib.figure import Figure

MAX_LEGEND = 20  # more distinct labels than this: one colour scale instead of a legend


def plot_embedding(points: Any, labels: Any = None, path: str | Path | None = None,
                   title: str = "2-D embedding") -> Figure | Path:
    """Scatter ``points`` (N, 2), one colour per label with a legend; save a PNG if ``path`` is given.

    Args:
        points: the 2-D points, shape (N, 2): an array, tensor or DataFrame.
        labels: one label per point (class names or numbers), or None for one colour. Numeric labels
            with more than 20 distinct values are drawn on a colour scale instead of a legend.
        path: where to write the PNG (written whole or not at all); None returns the figure.
        title: the plot's title.

    Returns:
        ``path`` as a Path when given, else the ``matplotlib.figure.Figure``.
    """
    points = _check_points(points)
    labels = _check_labels(labels, len(points))
    import matplotlib

    with matplotlib.rc_context({"text.parse_math": False}):  # a '$' in a label is plain text
        figure = _draw(points, labels, title)
        return figure if path is None else save_png(figure, Path(path))


def _draw(points: np.ndarray, labels: np.ndarray | None, title: str) -> Figure:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.5, 5.5))
    axes = figure.add_subplot()
    size = 12 if len(points) <= 2000 else 4
    if labels is None:
        axes.scatter(points[:, 0], points[:, 1], s=size, alpha=0.7)
    elif len(np.unique(labels)) > MAX_LEGEND:
        shown = axes.scatter(points[:, 0], points[:, 1], c=labels.astype(float), s=size, alpha=0.7, cmap="viridis")
        figure.colorbar(shown, ax=axes, label="label")
    else:
        _scatter_by_label(axes, points, labels, size)
    axes.set(title=title, xlabel="dimension 1", ylabel="dimension 2")
    axes.grid(alpha=0.3)
    from learnable.insight.plots import plain_text

    plain_text(figure).tight_layout()  # escapes first: the layout measures the texts
    return figure


def _scatter_by_label(axes: Any, points: np.ndarray, labels: np.ndarray, size: float) -> None:
    from matplotlib import colormaps

    classes = np.unique(labels)
    palette = colormaps["tab10" if len(classes) <= 10 else "tab20"]
    for i, label in enumerate(classes):
        chosen = labels == label
        axes.scatter(points[chosen, 0], points[chosen, 1], s=size, alpha=0.7, color=palette(i), label=str(label))
    axes.legend(fontsize=8, markerscale=1.5, title="label", ncol=1 if len(classes) <= 10 else 2)


def _check_points(points: Any) -> np.ndarray:
    if hasattr(points, "to_numpy"):  # pandas
        points = points.to_numpy()
    elif hasattr(points, "detach"):  # torch
        points = points.detach().cpu().numpy()
    points = np.asarray(points)
    if points.dtype.kind not in "biuf":
        raise TypeError(f"points must be numbers, got dtype {points.dtype}.")
    if points.ndim != 2 or points.shape[1] != 2 or len(points) == 0:
        raise ValueError(
            f"points has shape {points.shape}; expected (N, 2) with N >= 1, one 2-D point per row. "
            "Reduce the data to 2 dimensions first, e.g. learnable.tasks.anomaly.embed_2d(X)."
        )
    if not np.isfinite(points).all():
        raise ValueError(f"points holds {int((~np.isfinite(points)).sum())} NaN or infinite value(s); drop those rows.")
    return points.astype(np.float64)


def _check_labels(labels: Any, count: int) -> np.ndarray | None:
    if labels is None:
        return None
    labels = np.asarray(labels.to_numpy() if hasattr(labels, "to_numpy") else labels)
    if labels.ndim != 1 or len(labels) != count:
        raise ValueError(f"labels has shape {labels.shape}, but there are {count} points; pass one label per point.")
    if len(np.unique(labels)) > MAX_LEGEND and labels.dtype.kind not in "biuf":
        raise ValueError(
            f"labels has {len(np.unique(labels))} distinct non-numeric values; a legend shows at most {MAX_LEGEND}. "
            "Group the rare labels, or pass numbers to colour the points on a scale."
        )
    return labels


def save_png(figure: Figure, path: Path) -> Path:
    """Write the PNG to a temporary file beside ``path``, then move it into place (never half a file)."""
    if path.is_dir():
        raise ValueError(f"path='{path}' is a directory; pass a file name such as '{path / 'embedding.png'}'.")
    path.parent.mkdir(parents=True, exist_ok=True)
    from learnable.insight.plots import plain_text

    return write_atomically(path, lambda handle: plain_text(figure).savefig(handle, format="png", dpi=100))
