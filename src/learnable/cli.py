"""The ``learnable`` command: the one-line API from the shell.

    learnable train                                  # the digit classifier on the MNIST sample
    learnable train --data houses.csv --target price --model mlp --epochs 50
    learnable predict models/houses new-houses.csv --out predictions.csv

User mistakes end with a one-line ``error: ...`` message and exit status 1, never a traceback
(set ``LEARNABLE_DEBUG=1`` to see one).
"""

from __future__ import annotations

import functools
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import typer

app = typer.Typer(
    help="Train learnable models on your data, and watch them learn.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

DEFAULT_DATA = "mnist-sample"


def user_errors(command):
    """Turn user mistakes (ValueError, TypeError, missing files) into one line and exit status 1."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (ValueError, TypeError, FileNotFoundError) as error:
            if os.environ.get("LEARNABLE_DEBUG"):
                raise
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(1) from None

    return run


def _load_data(data: str, target: str | None):
    """A built-in dataset by name, or a CSV/Parquet file with a target column."""
    from learnable import datasets
    from learnable.data import read_frame, read_table

    if data in datasets.names() and not Path(data).exists():
        dataset = datasets.load(data)
        X = dataset.X
        if dataset.image_shape is not None:
            X = X.reshape(-1, *dataset.image_shape)  # (N, C, H, W)
        return X, dataset.y, data
    if target is None:
        columns = list(read_frame(data).columns)
        raise ValueError(f"--target is required with --data FILE: name the column to predict, one of {columns[:20]}.")
    X, y = read_table(data, target)
    return X, y, Path(data).stem


@app.command()
@user_errors
def train(
    data: str = typer.Option(DEFAULT_DATA, help="A CSV/Parquet file, or a built-in dataset name."),
    target: str = typer.Option(None, help="The column to predict (required for files)."),
    model: str = typer.Option("auto", help="auto, linear, logistic, svm, mlp or cnn."),
    task: str = typer.Option("auto", help="auto, regression, binary or multiclass."),
    epochs: int = typer.Option(None, help="Most epochs to train (early stopping may end sooner)."),
    lr: float = typer.Option(None, help="Learning rate (default depends on the model)."),
    batch_size: int = typer.Option(None, help="Rows per batch (default depends on the data size)."),
    seed: int = typer.Option(0, help="One seed for the split, the weights and the batch order."),
    out: Path = typer.Option(None, help="Where to save the model (default: models/<data name>)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No per-epoch lines."),
) -> None:
    """Train a model and save it. With no options: the handwritten-digit classifier."""
    import learnable
    from learnable.model_file import check_replaceable

    start = time.perf_counter()
    X, y, name = _load_data(data, target)
    out = out or Path("models") / name
    check_replaceable(out)  # fail now, not after training
    typer.echo(f"data: {name}, {len(y)} rows; holding out 10% for validation and 10% for the test")
    fitted = learnable.fit(X, y, model=model, task=task, num_epochs=epochs, lr=lr, batch_size=batch_size,
                           seed=seed, progress=not quiet)
    path = fitted.save(out)
    _print_summary(fitted, time.perf_counter() - start, path)


def _print_summary(fitted: Any, seconds: float, path: Path) -> None:
    t, best = fitted.training, fitted.best_epoch_metrics()
    classes = f" ({len(fitted.classes)} classes)" if fitted.classes else ""
    typer.echo(f"task: {fitted.task}{classes}; model: {t['model']}")
    stop = f" (stopped early: {t['stop_reason']})" if t["stop_reason"] else ""
    typer.echo(f"epochs run: {t['epochs']}{stop}")
    typer.echo(f"kept the weights of epoch {best['epoch']}: train loss {best['train_loss']:.4f}, "
               f"validation loss {best.get('val_loss', float('nan')):.4f}")
    for key, value in fitted.metrics.items():
        typer.echo(f"test {key.replace('_', ' ')}: {value:.4f}")
    typer.echo(f"time: {seconds:.1f}s")
    typer.echo(f"model saved to {path}")


@app.command()
@user_errors
def predict(
    model_dir: Path = typer.Argument(..., help="A directory written by `learnable train`."),
    data_file: Path = typer.Argument(..., help="A CSV/Parquet file with the same feature columns."),
    out: Path = typer.Option(None, help="Write to this .csv or .json file instead of printing CSV."),
    proba: bool = typer.Option(False, help="Add one probability column per class."),
) -> None:
    """Predict for every row of DATA_FILE with a saved model."""
    import learnable
    from learnable.data import read_frame

    if out is not None and out.suffix.lower() not in (".csv", ".json"):
        raise ValueError(f"--out '{out}' must end in .csv or .json.")
    fitted = learnable.load(model_dir)
    frame = read_frame(data_file)
    target = fitted.schema.target_name
    table = _predictions(fitted, frame.drop(columns=[target], errors="ignore"), proba)
    if target in frame.columns:
        typer.echo(f"score on the '{target}' column: {fitted.score(frame.drop(columns=[target]), frame[target]):.4f}",
                   err=True)
    if out is None:
        table.to_csv(sys.stdout, index=False)
        return
    temporary = out.with_name(f".{out.name}.tmp")
    if out.suffix.lower() == ".json":
        temporary.write_text(json.dumps(table.to_dict(orient="records"), default=str))
    else:
        table.to_csv(temporary, index=False)
    os.replace(temporary, out)
    typer.echo(f"{len(table)} predictions written to {out}", err=True)


def _predictions(fitted: Any, features: Any, proba: bool):
    import pandas as pd

    table = pd.DataFrame({"prediction": fitted.predict(features)})
    if proba:
        for name, column in zip(fitted.classes, fitted.predict_proba(features).T, strict=True):
            table[f"proba_{name}"] = column
    return table


@app.command()
def version() -> None:
    """Print the versions of learnable and PyTorch."""
    import torch

    import learnable

    typer.echo(f"learnable {learnable.__version__} (torch {torch.__version__})")


def main() -> None:
    """Entry point of the ``learnable`` console script."""
    app()


if __name__ == "__main__":
    main()
