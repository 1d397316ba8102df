"""The ``learnable`` command: the one-line API from the shell.

    learnable train                                  # the digit classifier on the MNIST sample
    learnable train --data houses.csv --target price --model mlp --epochs 50
    learnable predict models/houses new-houses.csv --out predictions.csv
    learnable runs                                   # recorded runs; runs show|compare|delete RUN
    learnable doctor last                            # what went wrong, in plain words
    learnable report last                            # the HTML report of a run
    learnable forecast --data co2 --horizon 12 --season 12   # an LSTM forecaster against the naive ones

User mistakes end with a one-line ``error: ...`` message and exit status 1, never a traceback
(set ``LEARNABLE_DEBUG=1`` to see one).
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import typer

from learnable.terminal import for_stdout, say

app = typer.Typer(
    help="Train learnable models on your data, and watch them learn.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

DEFAULT_DATA = "mnist-sample"
LANGUAGE_MODEL = "language-model"  # the --task of `train` that learns text, not a table
RUNS_DIR = typer.Option(None, "--runs-dir", envvar="LEARNABLE_RUNS", show_envvar=True,
                        help="The runs directory (default: ./runs).")
# Options shared by the commands that take data the way `train` does.
DATA = typer.Option(DEFAULT_DATA, help="A CSV/Parquet file, or a built-in dataset name.")
TARGET = typer.Option(None, help="The column to predict (required for files).")
MODEL = typer.Option("auto", help="auto, linear, logistic, svm, mlp, cnn, or for text gru or transformer.")
TASK = typer.Option("auto", help="auto, regression, binary, multiclass, or language-model (--data: a text file).")
BATCH_SIZE = typer.Option(None, help="Rows per batch (default depends on the data size).")
SEED = typer.Option(0, help="One seed for the split, the weights and the batch order.")


def user_errors(command):
    """Turn user mistakes (ValueError, TypeError, file-system errors, a missing extra) into one line and exit 1."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (ValueError, TypeError, OSError, ImportError) as error:  # ImportError: a missing extra
            if os.environ.get("LEARNABLE_DEBUG"):
                raise
            say(f"error: {error}", err=True)  # the message may quote user input: control characters escaped
            raise typer.Exit(1) from None

    return run


def _load_data(data: str, target: str | None):
    """A built-in dataset by name, or a CSV/Parquet file with a target column."""
    from learnable import datasets
    from learnable.data import read_frame, read_table

    if data in datasets.names() and not Path(data).exists():
        dataset = datasets.load(data)
        X = dataset.images if dataset.image_shape is not None else dataset.X  # images: (N, C, H, W)
        return X, dataset.y, data
    if target is None:
        columns = list(read_frame(data).columns)
        raise ValueError(f"--target is required with --data FILE: name the column to predict, one of {columns[:20]}.")
    X, y = read_table(data, target)
    return X, y, Path(data).stem


@app.command()
@user_errors
def train(
    data: str = DATA,
    target: str = TARGET,
    model: str = MODEL,
    task: str = TASK,
    epochs: int = typer.Option(None, help="Most epochs to train (early stopping may end sooner)."),
    lr: float = typer.Option(None, help="Learning rate (default depends on the model)."),
    batch_size: int = BATCH_SIZE,
    seed: int = SEED,
    out: Path = typer.Option(None, help="Where to save the model (default: models/<data name>)."),
    name: str = typer.Option(None, help="A name for the run (default: the data's name)."),
    checkpoint_every: int = typer.Option(0, help="Also checkpoint every N steps (always: each epoch's end)."),
    deterministic: bool = typer.Option(False, help="Use only deterministic PyTorch algorithms."),
    augment: bool = typer.Option(True, "--augment/--no-augment",
                                 help="Images: shift, rotate and scale each training batch a little (CNN only)."),
    resume: str = typer.Option(None, help="Continue a run (id, name or `last`) from its newest checkpoint, "
                               "with the settings it was started with."),
    runs_dir: Path = RUNS_DIR,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No per-epoch lines."),
) -> None:
    """Train a model, save it and record the run. With no options: the handwritten-digit classifier.

    `--task language-model` trains a character-level language model (--model auto/transformer or lstm)
    on --data TEXT_FILE (default: the shipped Shakespeare corpus) for `learnable generate` and `score`.

    Checkpoints go to RUNS_DIR/RUN/checkpoints. SIGTERM or Ctrl-C saves one at the next step and stops.
    `learnable train --resume RUN` then finishes the run exactly as if it had never stopped.
    """
    from learnable.estimator import check_settings
    from learnable.runs import RunStore

    if checkpoint_every < 0:
        raise ValueError(f"--checkpoint-every {checkpoint_every}: give a number of steps >= 0 (0: epoch ends only).")
    if task == LANGUAGE_MODEL:
        from learnable.cli_models import check_language_model_options, train_language_model_run

        settings = {"task": task, "data": data, "model": model, "epochs": epochs, "lr": lr, "batch_size": batch_size,
                    "seed": seed, "out": str(out) if out else None, "name": name, "deterministic": deterministic}
        check_language_model_options(target=target, checkpoint_every=checkpoint_every, resume=resume)
        train_language_model_run(RunStore(runs_dir), settings, quiet)
        return
    if model == "lstm":
        raise ValueError("--model lstm is a language model: add --task language-model (with --data a text file).")
    check_settings(model=model, task=task, num_epochs=epochs, lr=lr, batch_size=batch_size)  # before a run is recorded
    store = RunStore(runs_dir)
    options = {"data": data, "target": target, "model": model, "task": task, "epochs": epochs, "lr": lr,
               "batch_size": batch_size, "seed": seed, "out": str(out) if out else None, "name": name,
               "checkpoint_every": checkpoint_every, "deterministic": deterministic, "augment": augment}
    if resume is None:
        _train(store, options, None, quiet)
        return
    run = store.get(resume)
    settings = _check_resumable(run, options)
    say(f"resuming run {run['id']} with the settings it was started with")
    _train(store, settings, run, quiet)


# The type of each setting a `train` run records; a resume trusts none it cannot check (the store may be anyone's).
RECORDED = {"data": (str,), "target": (str, type(None)), "model": (str,), "task": (str,), "epochs": (int, type(None)),
            "lr": (int, float, type(None)), "batch_size": (int, type(None)), "seed": (int,), "out": (str, type(None)),
            "name": (str, type(None)), "checkpoint_every": (int,), "deterministic": (bool,), "augment": (bool,)}


def _check_resumable(run: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    """The recorded settings a resumed run keeps, checked; refuse options that would change them."""
    if run["status"] == "finished":
        raise ValueError(f"run {run['id']} has finished; there is nothing to resume. Start a new run instead.")
    defaults = {k: p.default.default for k, p in inspect.signature(train).parameters.items()}
    settings = _recorded_settings(run, {k: defaults[k] for k in ("checkpoint_every", "deterministic", "augment")})
    changed = [k for k, v in options.items() if v != defaults[k] and v != settings.get(k)]
    if changed:
        recorded = ", ".join(f"--{k.replace('_', '-')} {_shown(run['config'].get(k))}" for k in changed)
        raise ValueError(
            f"--resume continues run {run['id']} with its recorded settings ({recorded}); drop "
            f"{', '.join('--' + k.replace('_', '-') for k in changed)}, or start a new run without --resume."
        )
    return settings


def _recorded_settings(run: dict[str, Any], optional: dict[str, Any]) -> dict[str, Any]:
    """``run``'s recorded `train` settings (``optional`` ones a run of an older learnable may lack filled in),
    each of its type and as `train` would accept it; a ValueError names what is missing or wrong."""
    from learnable.estimator import check_settings
    from learnable.model_contents import quote

    settings = {**optional, **run["config"]}
    missing = [k for k in RECORDED if k not in settings]
    wrong = [k for k in RECORDED if k in settings and (not isinstance(settings[k], RECORDED[k])
                                                        or (isinstance(settings[k], bool) and bool not in RECORDED[k]))]
    try:
        if missing or wrong:
            raise ValueError(f"{'missing ' + ', '.join(missing) if missing else ''}{'; ' if missing and wrong else ''}"
                             f"{'of the wrong type: ' + ', '.join(wrong) if wrong else ''}")
        check_settings(model=settings["model"], task=settings["task"], num_epochs=settings["epochs"],
                       lr=settings["lr"], batch_size=settings["batch_size"])
    except ValueError as error:
        raise ValueError(f"run {run['id']} cannot be resumed: its recorded settings are damaged "
                         f"({quote(str(error), 300)}). Start a new run without --resume.") from None
    return settings


def _train(store: Any, settings: dict[str, Any], run: dict[str, Any] | None, quiet: bool) -> None:
    """Load the data, start (or reopen) the run, train with checkpoints, save and record the result."""
    import torch

    import learnable
    from learnable.data import fingerprint
    from learnable.model_file import check_replaceable
    from learnable.runs import RecordRun
    from learnable.train.checkpoint import Checkpoint
    from learnable.utils import check_output_path

    start = time.perf_counter()
    X, y, data_name = _load_data(settings["data"], settings["target"])
    out = Path(settings["out"] or Path("models") / data_name)
    check_output_path(out, inputs=[settings["data"]])
    check_replaceable(out)  # fail now, not after training
    if run is None:
        settings["out"] = str(out)
        run_id = store.create(settings["name"] or data_name, config=settings, seed=settings["seed"],
                              dataset=fingerprint(X, y))
        resume_from = None
    else:
        run_id, resume_from = run["id"], store.folder(run["id"]) / "checkpoints"
        _check_same_run(run, fingerprint(X, y), resume_from)
        store.reopen(run_id)
    checkpoints = store.folder(run_id) / "checkpoints"
    torch.use_deterministic_algorithms(bool(settings["deterministic"]))
    say(f"run {run_id}: {data_name}, {len(y)} rows; holding out 10% for validation and 10% for the test")
    try:
        callbacks = [RecordRun(store, run_id),
                     Checkpoint(checkpoints, every_steps=settings["checkpoint_every"], keep=2, run_id=run_id)]
        fitted = learnable.fit(X, y, model=settings["model"], task=settings["task"], num_epochs=settings["epochs"],
                               lr=settings["lr"], batch_size=settings["batch_size"], seed=settings["seed"],
                               progress=not quiet, callbacks=callbacks, resume=resume_from,
                               augment=settings.get("augment", True))
        path = fitted.save(out)
    except KeyboardInterrupt:
        store.writer(run_id).finish("interrupted", error="interrupted (SIGINT/SIGTERM)")
        say(f"interrupted: continue with `learnable train --resume {run_id}`", err=True)
        write_run_report(store, run_id)
        raise typer.Exit(130) from None
    except BaseException as error:
        store.writer(run_id).finish("failed", error=f"{type(error).__name__}: {error}")
        write_run_report(store, run_id)
        raise
    if fitted.evaluation:
        store.writer(run_id).set_detail("evaluation", fitted.evaluation)
    _print_summary(fitted, time.perf_counter() - start, path)
    end_recorded_run(store, run_id, {"test": fitted.metrics, **fitted.training},
                     {"model": path, "checkpoints": checkpoints})


def end_recorded_run(store: Any, run_id: str, summary: dict[str, Any], artifacts: dict[str, Path]) -> None:
    """Record that a run finished (its ``summary`` and ``artifacts``), say where, and write its report.

    Every command that records a run ends here, after its model is saved, and writes through the run's
    :class:`~learnable.runs.writer.RunWriter`: a run store that failed on the way (locked, read-only, damaged,
    the run deleted) was said in one warning line then; here one line says the run is not recorded.
    """
    writer = store.writer(run_id)
    for name, path in artifacts.items():
        writer.add_artifact(name, Path(path).resolve())
    writer.finish("finished", summary=summary)
    if writer.problem is None:
        say(f"run recorded as {run_id} in {store.path}")
        write_run_report(store, run_id)
        return
    left = writer.deleted and store.folder(run_id).exists()  # e.g. checkpoints written after the delete
    say(f"run {run_id} is not recorded (see the warning above); its model is saved all the same"
        + (f"; `learnable runs delete {run_id}` removes what it wrote to {store.folder(run_id)} since." if left
           else "."))


def write_run_report(store: Any, run_id: str) -> None:
    """Write the run's report at the end of `train`; a failure to write it never fails the training."""
    if store.writer(run_id).problem is not None:  # not (fully) recorded: nothing to report from
        return
    try:
        path = _write_report(store, run_id, store.folder(run_id) / "report.html")
    except KeyboardInterrupt:  # a second Ctrl-C while the report is drawn: skip it
        say("(no report: interrupted; write it with `learnable report`)")
        return
    except Exception as error:  # noqa: BLE001 - the model is saved; a report problem must not hide that
        say(f"(no report: {type(error).__name__}: {error}; try `learnable report {run_id}`)")
        return
    say(f"report: {path}  (the doctor: `learnable doctor {run_id}`)")  # stdout: stderr keeps one error line


def _write_report(store: Any, run: str, out: Path) -> Path:
    from learnable.insight import load_record, write_report

    path = write_report(load_record(store, run), out).resolve()
    store.add_artifact(store.resolve(run), "report", path)
    return path


def _shown(value: Any) -> str:
    return "not set" if value is None else str(value)


def _check_same_run(run: dict[str, Any], dataset: str, checkpoints: Path) -> None:
    if run["dataset"] != dataset:
        raise ValueError(
            f"the data of run {run['id']} has changed since it started (fingerprint {dataset}, recorded "
            f"{run['dataset']}); resuming would mix two datasets. Restore the data, or start a new run."
        )
    if not any(checkpoints.glob("ckpt-*.pt")):
        raise ValueError(
            f"run {run['id']} has no checkpoint to resume from in '{checkpoints}' (it stopped before the "
            "first one, or they were deleted); start it again without --resume."
        )


def _print_summary(fitted: Any, seconds: float, path: Path) -> None:
    t, best = fitted.training, fitted.best_epoch_metrics()
    classes = f" ({len(fitted.classes)} classes)" if fitted.classes else ""
    say(f"task: {fitted.task}{classes}; model: {t['model']}")
    stop = f" (stopped early: {t['stop_reason']})" if t["stop_reason"] else ""
    say(f"epochs run: {t['epochs']}{stop}")
    say(f"kept the weights of epoch {best['epoch']}: train loss {best['train_loss']:.4f}, "
        f"validation loss {best.get('val_loss', float('nan')):.4f}")
    for key, value in fitted.metrics.items():
        say(f"test {key.replace('_', ' ')}: {value:.4f}")
    say(f"time: {seconds:.1f}s")
    say(f"model saved to {path}")


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

    if out is not None:
        _check_output_file(out, inputs=[data_file, model_dir / INFO, model_dir / WEIGHTS])
    fitted = FittedModel.load(model_dir)  # a forecaster, detector or language model: a clear error
    frame = read_frame(data_file)
    target = fitted.schema.target_name
    table = _predictions(fitted, frame.drop(columns=[target], errors="ignore"), proba)
    if target in frame.columns:
        _report_score(fitted, frame, target)
    if out is None:
        sys.stdout.write(for_stdout(table.to_csv(index=False)))
        return
    _write_table(out, table)
    say(f"{len(table)} predictions written to {out}", err=True)


def _check_output_file(out: Path, inputs: list[Path]) -> None:
    """--out of `predict`: a .csv or .json file in a folder that exists, and none of the files it reads."""
    from learnable.utils import check_output_path

    check_output_path(out, inputs=inputs)
    if out.suffix.lower() not in (".csv", ".json"):
        raise ValueError(f"--out '{out}' must end in .csv or .json.")
    if out.is_dir():
        raise ValueError(f"--out '{out}' is a directory; give a file name such as {out / 'predictions.csv'}.")
    if not out.parent.is_dir():
        raise ValueError(f"--out '{out}': the folder '{out.parent}' does not exist; create it first.")


def _report_score(fitted: Any, frame: Any, target: str) -> None:
    try:
        score = fitted.score(frame.drop(columns=[target]), frame[target])
    except ValueError as error:  # e.g. labels the model never saw: still give the predictions
        say(f"warning: no score on the '{target}' column: {error}", err=True)
        return
    say(f"score on the '{target}' column: {score:.4f}", err=True)


def _write_table(out: Path, table: Any) -> None:
    """Write a DataFrame to ``out`` whole or not at all: .json as a list of records, anything else as CSV."""
    from learnable.utils import write_atomically

    if out.suffix.lower() == ".json":
        write_atomically(out, json.dumps(table.to_dict(orient="records"), default=str))
    else:
        write_atomically(out, table.to_csv(index=False))


def _predictions(fitted: Any, features: Any, proba: bool):
    import pandas as pd

    table = pd.DataFrame({"prediction": fitted.predict(features)})
    if proba:
        for name, column in zip(fitted.classes, fitted.predict_proba(features).T, strict=True):
            table[f"proba_{name}"] = column
    return table


@app.command("lr-find")
@user_errors
def lr_find_command(
    data: str = DATA,
    target: str = TARGET,
    model: str = MODEL,
    task: str = TASK,
    batch_size: int = BATCH_SIZE,
    seed: int = SEED,
    steps: int = typer.Option(100, help="Steps of the sweep from 1e-7 to 10."),
    plot: Path = typer.Option(None, help="Save the loss-against-rate curve to this .png file."),
) -> None:
    """Sweep the learning rate exponentially for the model `train` would fit, and suggest one."""
    import learnable
    from learnable.utils import check_output_path

    if plot is not None and plot.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise ValueError(f"--plot '{plot}' must end in .png, .svg or .pdf.")
    if plot is not None:
        check_output_path(plot, inputs=[data], flag="--plot")
    X, y, data_name = _load_data(data, target)
    result = learnable.lr_find(X, y, model=model, task=task, batch_size=batch_size, seed=seed, num_steps=steps)
    for index in np.linspace(0, len(result.lrs) - 1, num=min(12, len(result.lrs))).astype(int):
        say(f"lr {result.lrs[index]:9.2e}  loss {result.losses[index]:.4f}")
    say(f"suggested learning rate: {result.suggestion:.2e} (steepest fall of the loss on {data_name})")
    if plot is not None:
        result.plot(str(plot))
        say(f"plot saved to {plot}")


runs_app = typer.Typer(help="List, show, compare and delete recorded runs.", no_args_is_help=False)
app.add_typer(runs_app, name="runs")


@runs_app.callback(invoke_without_command=True)
@user_errors
def runs(ctx: typer.Context, runs_dir: Path = RUNS_DIR, limit: int = typer.Option(30, help="Newest runs shown.")):
    """A table of the newest runs (RUN arguments take an id, an id prefix, a name, or `last`)."""
    if ctx.invoked_subcommand is not None:
        return
    from learnable.runs.tables import runs_table

    _print(runs_table(_store(runs_dir).list(limit)))


@runs_app.command("show")
@user_errors
def runs_show(run: str = typer.Argument(..., help="Run id, prefix, name or `last`."), runs_dir: Path = RUNS_DIR):
    """Everything recorded about one run: settings, status, metrics per epoch, artifacts."""
    from learnable.runs.tables import run_details

    _print(run_details(_store(runs_dir).get(run)))


@runs_app.command("compare")
@user_errors
def runs_compare(first: str = typer.Argument(...), second: str = typer.Argument(...), runs_dir: Path = RUNS_DIR):
    """Two runs side by side: their differing settings and final metrics."""
    from learnable.runs.tables import compare_runs

    store = _store(runs_dir)
    _print(compare_runs(store.get(first), store.get(second)))


@runs_app.command("delete")
@user_errors
def runs_delete(
    run: str = typer.Argument(..., help="Run id, prefix, name or `last`."),
    force: bool = typer.Option(False, help="Delete even a run marked running (its process was killed)."),
    runs_dir: Path = RUNS_DIR,
):
    """Delete a run's records and its folder in the runs directory (saved models elsewhere stay)."""
    say(f"deleted run {_store(runs_dir).delete(run, force=force)}")


def _store(runs_dir: Path | None):
    from learnable.runs import RunStore

    return RunStore(runs_dir)


def _print(renderable: Any) -> None:
    """Print a rich renderable whose user text is :func:`learnable.terminal.as_text`; strings are never markup."""
    from rich.console import Console

    plain = {"highlight": False, "markup": False, "emoji": False}
    console = Console(**plain)
    if not console.is_terminal:  # a pipe or a file: do not squeeze tables into 80 columns
        console = Console(**plain, width=200)
    console.print(renderable)


@app.command()
@user_errors
def doctor(run: str = typer.Argument("last", help="Run id, prefix, name or `last`."), runs_dir: Path = RUNS_DIR):
    """Diagnose a recorded run: overfitting, divergence, dead units, bad learning rates, data problems."""
    from learnable.insight import diagnose, load_record
    from learnable.runs.tables import findings_view

    record = load_record(_store(runs_dir), run)
    _print(findings_view(record, diagnose(record)))


@app.command()
@user_errors
def report(
    run: str = typer.Argument("last", help="Run id, prefix, name or `last`."),
    out: Path = typer.Option(None, help="The .html file to write (default: RUNS_DIR/RUN/report.html)."),
    runs_dir: Path = RUNS_DIR,
) -> None:
    """Write a run's report: one self-contained HTML file with its curves, statistics and diagnoses."""
    from learnable.utils import check_output_path

    store = _store(runs_dir)
    run_id = store.resolve(run)
    if out is not None:
        check_output_path(out, inputs=[store.path])
    path = _write_report(store, run_id, out or store.folder(run_id) / "report.html")
    say(f"report written to {path}")


# ---- language models: train --task language-model, generate, score -------------------------------------


@app.command()
def version() -> None:
    """Print the versions of learnable and PyTorch."""
    import torch

    import learnable

    say(f"learnable {learnable.__version__} (torch {torch.__version__})")


import learnable.cli_classic  # noqa: E402, F401 - registers cluster and reduce on the app
import learnable.cli_rl  # noqa: E402, F401 - registers rl on the app
from learnable import cli_models  # noqa: E402, F401 - registers generate, score and forecast on the app


def main() -> None:
    """Entry point of the ``learnable`` console script.

    SIGTERM stops any command as Ctrl-C does (a training saves a checkpoint at its next step first), so
    the run it records ends 'interrupted' and resumable, never left 'running' by a default kill.
    """
    signal.signal(signal.SIGTERM, _interrupt)
    app()


def _interrupt(number: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signal.Signals(number).name}")


if __name__ == "__main__":  # python -m learnable.cli: the installed module's app, with every command registered
    from learnable.cli import main as installed_main

    installed_main()
