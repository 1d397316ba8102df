"""The commands of the classic estimators: `cluster` (k-means) and `reduce` (PCA). They hang on the one
``learnable`` app of :mod:`learnable.cli.app`, read data the way `train` does, and record a run that
`learnable runs` lists and `learnable report` shows.

    learnable cluster --data iris --k 3               # k-means on the 4 measurements, ARI against the species
    learnable cluster --data blobs.csv --k 2..8       # the k with the best silhouette
    learnable reduce --data iris --components 2       # PCA; the 2-D plot coloured by species

Both read numeric columns only: a text column (other than --target) is refused with the fix, never
one-hot encoded behind the user's back. Everything a user can get wrong is checked before a run is recorded.
The data they read is :mod:`learnable.cli.classic_input`'s.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import typer

from learnable.cli.app import (
    RUNS_DIR,
    SEED,
    app,
    end_recorded_run,
    ending_recorded,
    print_rich,
    user_errors,
    write_table,
)
from learnable.cli.classic_input import Table, load_table, standardized
from learnable.insight.classic_plots import cluster_figure, reduce_figure, sample_rows
from learnable.insight.embedding import save_png
from learnable.utils.terminal import say

SILHOUETTE_ROWS = 10_000  # the silhouette is O(N^2): measured on a fixed-seed sample of at most this many rows
MAX_LEGEND = 20  # the 2-D plot's legend: at most this many text labels
DATA = typer.Option(..., help="A CSV/Parquet file, or a built-in dataset name (iris, wine, digits, ...).")
COLUMNS = typer.Option(None, help="The feature columns, comma-separated (default: every column but --target).")
NAME = typer.Option(None, help="A name for the run (default: the data's name and the command).")


# ---- checking the options ---------------------------------------------------------------------------
def parse_k(text: str, rows: int) -> list[int]:
    """``--k``: one number of clusters ("3"), or a range ("2..10") to choose from by silhouette."""
    low, dots, high = text.partition("..")
    try:
        bounds = [int(low), int(high) if dots else int(low)]
    except ValueError:
        raise ValueError(f"--k '{text}' is not a number of clusters; pass a whole number such as --k 3, or a range "
                         "such as --k 2..10 to pick the k with the best silhouette.") from None
    if min(bounds) < 1:
        raise ValueError(f"--k {text}: a number of clusters must be >= 1; pass for example --k 3.")
    if max(bounds) > rows:
        raise ValueError(f"--k {text} is more than the {rows} rows of the data; pass --k at most {rows}.")
    if dots and not 2 <= bounds[0] < bounds[1] <= rows - 1:
        raise ValueError(f"--k {text}: a range is chosen by silhouette, which needs 2 <= k <= rows - 1 = {rows - 1} "
                         "and a low end below the high end; pass for example --k 2..10.")
    return list(range(bounds[0], bounds[1] + 1))


def _check_outputs(out: Path | None, files: dict[str, Path | None], data: str) -> None:
    """--out (a model directory) and the output files (--plot: .png, the others: .csv), before a run is recorded:
    each in a folder that exists, none of them the --data file, no two of them one path."""
    from learnable.model_file import check_replaceable
    from learnable.utils.validation import check_distinct_outputs, check_output_file, check_output_path

    if out is not None:
        check_output_path(out, inputs=[data])
    for flag, path in files.items():
        if path is not None:
            check_output_file(path, flag=flag, suffixes=(".png",) if flag == "--plot" else (".csv",), inputs=[data])
    check_distinct_outputs({"--out": out, **files})
    if out is not None:
        check_replaceable(out)  # fail now, not after fitting


# ---- measuring ----------------------------------------------------------------------------------------
def silhouette(X: np.ndarray, labels: np.ndarray, seed: int) -> float | None:
    """scikit-learn's silhouette score on a fixed-seed sample of at most SILHOUETTE_ROWS rows; None if undefined."""
    from sklearn.metrics import silhouette_score

    if not 2 <= len(np.unique(labels)) <= len(X) - 1:
        return None  # one cluster, or one row per cluster: the silhouette is not defined
    sample = SILHOUETTE_ROWS if len(X) > SILHOUETTE_ROWS else None
    return float(silhouette_score(X, labels, sample_size=sample, random_state=seed))


def fit_best_k(X: np.ndarray, ks: list[int], settings: dict[str, Any]) -> tuple[Any, dict[str, float | None]]:
    """Fit k-means for each k; keep the one with the best silhouette (the only one for a single k)."""
    from learnable.classic import KMeans

    best, scores = None, {}
    for k in ks:
        model = KMeans(k, n_init=settings["n_init"], batch_size=settings["batch_size"], seed=settings["seed"]).fit(X)
        scores[str(k)] = silhouette(X, model.labels_, settings["seed"])
        if best is None or _ranked(scores[str(k)]) > _ranked(scores[str(best.n_clusters)]):
            best = model
    return best, scores


def _ranked(score: float | None) -> float:
    return -2.0 if score is None else score  # an undefined silhouette ranks below any defined one (>= -1)


def _check_legend(table: Table) -> None:
    if table.labels is not None and table.labels.dtype.kind == "U" and len(np.unique(table.labels)) > MAX_LEGEND:
        raise ValueError(f"--target '{table.target}' has {len(np.unique(table.labels))} distinct text values, but "
                         f"the plot's legend shows at most {MAX_LEGEND}; pick a column with fewer classes, or none.")


def _check_components(components: int, shape: tuple[int, int], X: np.ndarray) -> None:
    rank = min(shape)
    if shape[0] < 2:
        raise ValueError(f"the data has {shape[0]} row; PCA needs at least 2 rows to measure variance.")
    if not 1 <= components <= rank:
        raise ValueError(f"--components {components}: pass a whole number from 1 to {rank}, the smaller of the "
                         f"{shape[0]} rows and {shape[1]} features, for example --components 2.")
    if not X.std(0).any():
        raise ValueError("every feature column is constant, so there is no variance to explain; pass data that varies.")


# ---- the runs -----------------------------------------------------------------------------------------
def _matrix(table: Table, standardize: bool) -> np.ndarray:
    X = table.features.to_numpy(dtype=np.float64, copy=True)  # (N, F), writable
    return standardized(X) if standardize else X


def _start(table: Table, settings: dict[str, Any], name: str | None, runs_dir: Path | None) -> tuple[Any, str]:
    """Record a new run of ``settings["task"]`` (all checks done) and say so."""
    from learnable.data import fingerprint
    from learnable.runs import RunStore

    store = RunStore(runs_dir)
    run_id = store.create(name or f"{table.name}-{settings['task']}", config=settings, seed=settings["seed"],
                          dataset=fingerprint(table.features, table.labels))
    rows, features = table.features.shape
    say(f"run {run_id}: {table.name}, {rows} rows, {features} features")
    return store, run_id


def _finish(store: Any, run_id: str, summary: dict[str, Any], artifacts: dict[str, Path]) -> None:
    for key, path in artifacts.items():
        say(f"{key} written to {path}")
    end_recorded_run(store, run_id, summary, artifacts)


def _cluster_plot(X: np.ndarray, model: Any, seed: int) -> Any:
    """The clustered rows (a sample beyond PLOT_ROWS) and the centers in the plane of the first two principal
    components of X, drawn by :func:`cluster_figure`; data with one feature (or one row) by its first feature."""
    from learnable.classic import PCA

    rows = sample_rows(len(X), seed)
    if min(X.shape) < 2:
        points, centers = X[rows, :1], model.cluster_centers_[:, :1]  # (N, 1), (K, 1)
    else:
        pca = PCA(2, seed=seed).fit(X)
        points, centers = pca.transform(X[rows]), pca.transform(model.cluster_centers_.astype(np.float64))
    return cluster_figure(points, model.labels_[rows], centers)


def _write_outputs(plot: Path, figure: Any, rows: tuple[str, Path | None, dict[str, Any]], model: Any,
                   out: Path | None) -> dict[str, Path]:
    """Write the plot, the per-row CSV (its artifact name, path, columns) and the model, each whole or not at all."""
    artifacts = {} if figure is None else {"plot": save_png(figure, plot)}
    key, path, columns = rows
    if path is not None:
        import pandas as pd

        write_table(path, pd.DataFrame(columns))
        artifacts[key] = path
    if out is not None:
        artifacts["model"] = model.save(out)
    return artifacts


def cluster_summary(model: Any, scores: dict[str, float | None], table: Table, seconds: float) -> dict[str, Any]:
    """What a cluster run records: metrics (silhouette, inertia, ARI), cluster sizes, shape and time."""
    from sklearn.metrics import adjusted_rand_score

    metrics = {"silhouette": scores[str(model.n_clusters)], "inertia": float(model.inertia_)}
    if table.labels is not None:
        metrics["adjusted_rand_index"] = float(adjusted_rand_score(table.labels, model.labels_))
    rows, features = table.features.shape
    summary = {"task": "cluster", "metrics": metrics, "k": model.n_clusters,
               "cluster_sizes": np.bincount(model.labels_, minlength=model.n_clusters).tolist(),
               "rows": rows, "features": features, "iterations": model.n_iter_, "seconds": seconds,
               "silhouette_rows": min(rows, SILHOUETTE_ROWS)}
    if len(scores) > 1:
        summary["silhouette_by_k"] = scores
    return summary


def reduce_summary(pca: Any, table: Table, seconds: float) -> dict[str, Any]:
    """What a reduce run records: the explained variance (ratio per component and in all), shape and time."""
    ratios = pca.explained_variance_ratio_.tolist()
    rows, features = table.features.shape
    return {"task": "reduce", "metrics": {"explained_variance": float(sum(ratios))}, "components": len(ratios),
            "explained_variance_ratio": ratios, "explained_variance": pca.explained_variance_.tolist(),
            "rows": rows, "features": features, "solver": pca.solver_, "seconds": seconds}


def cluster_view(summary: dict[str, Any], target: str | None) -> Any:
    """The cluster sizes and the figures of a cluster run as rich tables."""
    from rich.console import Group

    rows = [(str(i), str(n), f"{n / summary['rows']:.1%}") for i, n in enumerate(summary["cluster_sizes"])]
    m, shown = summary["metrics"], lambda score: "-" if score is None else f"{score:.4f}"
    facts = {"inertia": f"{m['inertia']:.6g}", "silhouette": shown(m["silhouette"])}
    if "adjusted_rand_index" in m:
        facts[f"adjusted Rand index vs '{target}'"] = f"{m['adjusted_rand_index']:.4f}"
    facts.update({f"silhouette at k={k}": shown(s) for k, s in (summary.get("silhouette_by_k") or {}).items()})
    facts.update({"iterations": str(summary["iterations"]), "time": f"{summary['seconds']:.2f}s"})
    return Group(_grid(f"k-means: {summary['k']} clusters", ("cluster", "rows", "share"), rows), _grid("", (), facts))


def reduce_view(summary: dict[str, Any]) -> Any:
    """The explained variance ratio per component, and cumulative, as a rich table."""
    from rich.console import Group

    ratios, cumulative = summary["explained_variance_ratio"], np.cumsum(summary["explained_variance_ratio"])
    rows = [(str(i + 1), f"{ratio:.6f}", f"{cumulative[i]:.6f}") for i, ratio in enumerate(ratios)]
    title = f"PCA: {summary['components']} of {summary['features']} features, {summary['rows']} rows"
    facts = {"solver": summary["solver"], "time": f"{summary['seconds']:.2f}s"}
    return Group(_grid(title, ("component", "explained variance ratio", "cumulative"), rows), _grid("", (), facts))


def _grid(title: str, columns: tuple[str, ...], rows: Any) -> Any:
    """A rich table with right-aligned columns; no columns: (bold key, value) pairs from a dict. Every cell is
    plain text (a key may quote the --target column's name)."""
    from rich.table import Table as RichTable

    from learnable.utils.terminal import as_text

    table = RichTable(title=as_text(title) if title else None, show_header=bool(columns))
    if not columns:  # facts: a bold name and its value
        table.add_column(style="bold")
        table.add_column(justify="right")
    for column in columns:
        table.add_column(as_text(column), justify="right")
    for row in rows.items() if isinstance(rows, dict) else rows:
        table.add_row(*(as_text(cell) for cell in row))
    return table


# ---- the commands -------------------------------------------------------------------------------------
@app.command()
@user_errors
def cluster(
    data: str = DATA,
    k: str = typer.Option(..., "--k", help="The number of clusters (3), or a range (2..10) to pick by silhouette."),
    target: str = typer.Option(None, help="A label column: left out of the features, compared by adjusted Rand index."),
    columns: str = COLUMNS,
    standardize: bool = typer.Option(True, "--standardize/--no-standardize",
                                     help="Scale each column to mean 0 and variance 1 first."),
    n_init: int = typer.Option(10, help="Runs from different seeds; the one with the lowest inertia is kept."),
    batch_size: int = typer.Option(None, help="Mini-batch k-means with this many rows per step (default: full batch)."),
    seed: int = SEED,
    plot: Path = typer.Option(None, help="The 2-D plot, a .png (default: RUNS_DIR/RUN/cluster.png)."),
    labels_out: Path = typer.Option(None, help="Write each row's cluster to this .csv file."),
    out: Path = typer.Option(None, help="Save the fitted KMeans to this directory."),
    name: str = NAME,
    runs_dir: Path = RUNS_DIR,
) -> None:
    """Group the rows into K clusters with k-means: cluster sizes, inertia, silhouette and a 2-D plot.

    Inertia and silhouette are measured on the features k-means saw (standardized unless --no-standardize);
    the silhouette on a fixed-seed sample of at most 10,000 rows.
    """
    table = load_table(data, target, columns, "cluster")
    ks = parse_k(k, len(table.features))
    for flag, value in (("--n-init", n_init), ("--batch-size", batch_size)):
        if value is not None and value < 1:
            raise ValueError(f"{flag} {value}: pass a whole number >= 1.")
    _check_outputs(out, {"--plot": plot, "--labels-out": labels_out}, data)
    X = _matrix(table, standardize)  # (N, F)
    settings = {"task": "cluster", "data": data, "k": k, "target": table.target, "columns": columns,
                "standardize": standardize, "n_init": n_init, "batch_size": batch_size, "seed": seed,
                "plot": plot and str(plot), "labels_out": labels_out and str(labels_out), "out": out and str(out)}
    store, run_id = _start(table, settings, name, runs_dir)
    with ending_recorded(store, run_id):
        start = time.perf_counter()
        model, scores = fit_best_k(X, ks, settings)
        summary = cluster_summary(model, scores, table, time.perf_counter() - start)
        artifacts = _write_outputs(plot or store.folder(run_id) / "cluster.png", _cluster_plot(X, model, seed),
                                   ("labels", labels_out, {"cluster": model.labels_}), model, out)
    print_rich(cluster_view(summary, table.target))
    _finish(store, run_id, summary, artifacts)


@app.command()
@user_errors
def reduce(
    data: str = DATA,
    components: int = typer.Option(2, help="Principal components to keep."),
    target: str = typer.Option(None, help="A label column: left out of the features, colours the plot."),
    columns: str = COLUMNS,
    standardize: bool = typer.Option(False, "--standardize/--no-standardize",
                                     help="Scale each column to mean 0 and variance 1 first (PCA of correlations)."),
    whiten: bool = typer.Option(False, help="Scale each component to unit variance."),
    seed: int = SEED,
    plot: Path = typer.Option(None, help="The 2-D plot, a .png (default: RUNS_DIR/RUN/reduce.png)."),
    coordinates_out: Path = typer.Option(None, help="Write each row's components to this .csv file."),
    out: Path = typer.Option(None, help="Save the fitted PCA to this directory."),
    name: str = NAME,
    runs_dir: Path = RUNS_DIR,
) -> None:
    """Reduce the columns to a few principal components (PCA): the variance each explains, and a 2-D plot."""
    from learnable.classic import PCA

    table = load_table(data, target, columns, "reduce")
    X = _matrix(table, standardize)  # (N, F)
    _check_components(components, X.shape, X)
    if plot is not None and components < 2:
        raise ValueError(f"--plot draws the first two components, but --components is {components}; ask for 2 or more.")
    _check_legend(table)
    _check_outputs(out, {"--plot": plot, "--coordinates-out": coordinates_out}, data)
    settings = {"task": "reduce", "data": data, "components": components, "target": table.target, "columns": columns,
                "standardize": standardize, "whiten": whiten, "seed": seed, "plot": plot and str(plot),
                "coordinates_out": coordinates_out and str(coordinates_out), "out": out and str(out)}
    store, run_id = _start(table, settings, name, runs_dir)
    with ending_recorded(store, run_id):
        start = time.perf_counter()
        pca = PCA(components, whiten=whiten, seed=seed).fit(X)
        points = pca.transform(X)  # (N, components)
        summary = reduce_summary(pca, table, time.perf_counter() - start)
        figure = reduce_figure(points, table.labels, table.target, table.name, seed) if components >= 2 else None
        coordinates = {f"component_{i + 1}": points[:, i] for i in range(components)}
        artifacts = _write_outputs(plot or store.folder(run_id) / "reduce.png", figure,
                                   ("coordinates", coordinates_out, coordinates), pca, out)
    print_rich(reduce_view(summary))
    if figure is None:
        say("no plot: it shows the first two components; ask for --components 2 or more to get one")
    _finish(store, run_id, summary, artifacts)
