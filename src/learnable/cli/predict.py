"""`learnable predict MODEL DATA`: a saved model's predictions for every row of a file, as CSV or JSON.

    learnable predict models/houses new-houses.csv --out predictions.csv
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from learnable.cli.app import app, user_errors, write_table
from learnable.utils.terminal import for_stdout, say


@app.command()
@user_errors
def predict(
    model_dir: Path = typer.Argument(..., help="A directory written by `learnable train`."),
    data_file: Path = typer.Argument(..., help="A CSV/Parquet file with the same feature columns."),
    out: Path = typer.Option(None, help="Write to this .csv or .json file instead of printing CSV."),
    proba: bool = typer.Option(False, help="Add one probability column per class."),
) -> None:
    """Predict for every row of DATA_FILE with a saved model."""
    from learnable import FittedModel
    from learnable.data import read_frame
    from learnable.model_file import INFO, WEIGHTS
    from learnable.utils.validation import check_output_file

    if out is not None:
        check_output_file(out, flag="--out", suffixes=(".csv", ".json"),
                          inputs=[data_file, model_dir / INFO, model_dir / WEIGHTS])
    fitted = FittedModel.load(model_dir)  # a forecaster, detector or language model: a clear error
    frame = read_frame(data_file)
    target = fitted.schema_.target_name
    table = _predictions(fitted, frame.drop(columns=[target], errors="ignore"), proba)
    if target in frame.columns:
        _report_score(fitted, frame, target)
    if out is None:
        sys.stdout.write(for_stdout(table.to_csv(index=False)))
        return
    write_table(out, table)
    say(f"{len(table)} predictions written to {out}", err=True)


def _report_score(fitted: Any, frame: Any, target: str) -> None:
    try:
        score = fitted.score(frame.drop(columns=[target]), frame[target])
    except ValueError as error:  # e.g. labels the model never saw: still give the predictions
        say(f"warning: no score on the '{target}' column: {error}", err=True)
        return
    say(f"score on the '{target}' column: {score:.4f}", err=True)


def _predictions(fitted: Any, features: Any, proba: bool):
    import pandas as pd

    table = pd.DataFrame({"prediction": fitted.predict(features)})
    if proba:
        for name, column in zip(fitted.classes_, fitted.predict_proba(features).T, strict=True):
            table[f"proba_{name}"] = column
    return table
