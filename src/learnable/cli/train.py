"""`learnable train` (a table, images or texts; `--task language-model` hands over to
:mod:`learnable.cli.language`), `train --resume RUN`, and `learnable lr-find`.

    learnable train                                  # the digit classifier on the MNIST sample
    learnable train --data houses.csv --target price --model mlp --epochs 50
    learnable train --resume last                    # finish an interrupted run exactly
    learnable lr-find --data houses.csv --target price --plot lr.png
"""

from __future__ import annotations

import inspect
import time
from pathlib import Path
from typing import Any

import numpy as np
import typer

from learnable.cli.app import (
    BATCH_SIZE,
    DATA,
    LANGUAGE_MODEL,
    MODEL,
    RUNS_DIR,
    SEED,
    TARGET,
    TASK,
    app,
    end_recorded_run,
    user_errors,
    write_run_report,
)
from learnable.utils.terminal import say


def _load_data(data: str, target: str | None):
    """A built-in dataset by name, or a CSV/Parquet file with a target column."""
    from learnable.data import datasets, read_frame, read_table

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
    missing: str = typer.Option("impute", help="A missing cell: impute (a number takes its column's training median "
                                "and is marked; a category becomes '(missing)') or error (refuse the table)."),
    resume: str = typer.Option(None, metavar="RUN", help="Continue a run (id, name or `last`) from its newest "
                               "checkpoint, with the settings it was started with."),
    runs_dir: Path = RUNS_DIR,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No per-epoch lines."),
) -> None:
    """Train a model, save it and record the run. With no options: the handwritten-digit classifier.

    `--task language-model` trains a character-level language model (--model auto/transformer or lstm)
    on --data TEXT_FILE (default: the shipped Shakespeare corpus) for `learnable generate` and `score`.

    Checkpoints go to RUNS_DIR/RUN/checkpoints. SIGTERM or Ctrl-C saves one at the next step and stops.
    `learnable train --resume RUN` then finishes the run exactly as if it had never stopped.
    """
    from learnable.runs import RunStore
    from learnable.tasks.fitting import check_settings
    from learnable.utils.validation import check_count

    check_count("--checkpoint-every", checkpoint_every, "500 steps (0: at epoch ends only)", least=0)
    if task == LANGUAGE_MODEL:
        from learnable.cli.language import check_language_model_options, train_language_model_run

        settings = {"task": task, "data": data, "model": model, "epochs": epochs, "lr": lr, "batch_size": batch_size,
                    "seed": seed, "out": str(out) if out else None, "name": name, "deterministic": deterministic}
        check_language_model_options(target=target, checkpoint_every=checkpoint_every, resume=resume)
        train_language_model_run(RunStore(runs_dir), settings, quiet)
        return
    if model == "lstm":
        raise ValueError("--model lstm is a language model: add --task language-model (with --data a text file).")
    check_settings(model=model, task=task, num_epochs=epochs, lr=lr, batch_size=batch_size,  # before a run is recorded
                   missing=missing)
    store = RunStore(runs_dir)
    options = {"data": data, "target": target, "model": model, "task": task, "epochs": epochs, "lr": lr,
               "batch_size": batch_size, "seed": seed, "out": str(out) if out else None, "name": name,
               "checkpoint_every": checkpoint_every, "deterministic": deterministic, "augment": augment,
               "missing": missing}
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
            "name": (str, type(None)), "checkpoint_every": (int,), "deterministic": (bool,), "augment": (bool,),
            "missing": (str,)}


def _check_resumable(run: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    """The recorded settings a resumed run keeps, checked; refuse options that would change them."""
    if run["status"] == "finished":
        raise ValueError(f"run {run['id']} has finished; there is nothing to resume. Start a new run instead.")
    defaults = {k: p.default.default for k, p in inspect.signature(train).parameters.items()}
    settings = _recorded_settings(run)
    changed = [k for k, v in options.items() if v != defaults[k] and v != settings.get(k)]
    if changed:
        recorded = ", ".join(f"--{k.replace('_', '-')} {_shown(run['config'].get(k))}" for k in changed)
        raise ValueError(
            f"--resume continues run {run['id']} with its recorded settings ({recorded}); drop "
            f"{', '.join('--' + k.replace('_', '-') for k in changed)}, or start a new run without --resume."
        )
    return settings


def _recorded_settings(run: dict[str, Any]) -> dict[str, Any]:
    """``run``'s recorded `train` settings, each of its type and as `train` would accept it; a ValueError
    names what is missing or wrong."""
    from learnable.tasks.fitting import check_settings
    from learnable.utils.validation import quote

    settings = dict(run["config"])
    missing = [k for k in RECORDED if k not in settings]
    wrong = [k for k in RECORDED if k in settings and (not isinstance(settings[k], RECORDED[k])
                                                        or (isinstance(settings[k], bool) and bool not in RECORDED[k]))]
    try:
        if missing or wrong:
            raise ValueError(f"{'missing ' + ', '.join(missing) if missing else ''}{'; ' if missing and wrong else ''}"
                             f"{'of the wrong type: ' + ', '.join(wrong) if wrong else ''}")
        check_settings(model=settings["model"], task=settings["task"], num_epochs=settings["epochs"],
                       lr=settings["lr"], batch_size=settings["batch_size"], missing=settings["missing"])
    except ValueError as error:
        raise ValueError(f"run {run['id']} cannot be resumed: its recorded settings are damaged "
                         f"({quote(str(error), 300)}). Start a new run without --resume.") from None
    return settings


def _train(store: Any, settings: dict[str, Any], run: dict[str, Any] | None, quiet: bool) -> None:
    """Load the data, start (or reopen) the run, train with checkpoints, save and record the result."""
    import torch

    import learnable
    from learnable.callbacks.checkpoint import Checkpoint
    from learnable.data import fingerprint
    from learnable.model_file import check_replaceable
    from learnable.runs import RecordRun
    from learnable.utils.validation import check_output_path

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
                               augment=settings["augment"], missing=settings["missing"])
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
    if fitted.evaluation_:
        store.writer(run_id).set_detail("evaluation", fitted.evaluation_)
    _print_summary(fitted, time.perf_counter() - start, path)
    end_recorded_run(store, run_id, {"test": fitted.metrics_, **fitted.training_},
                     {"model": path, "checkpoints": checkpoints})


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
    t, best = fitted.training_, fitted.best_epoch_metrics()
    classes = f" ({len(fitted.classes_)} classes)" if fitted.classes_ else ""
    say(f"task: {fitted.task_}{classes}; model: {t['model']}")
    if t.get("task_note"):  # a whole-number target: say how it was read, and the flag that reads it otherwise
        say(t["task_note"].replace("pass task='regression'", "add --task regression")
            .replace("pass task='multiclass'", "add --task multiclass"))
    stop = f" (stopped early: {t['stop_reason']})" if t["stop_reason"] else ""
    say(f"epochs run: {t['epochs']}{stop}")
    say(f"kept the weights of epoch {best['epoch']}: train loss {best['train_loss']:.4f}, "
        f"validation loss {best.get('val_loss', float('nan')):.4f}")
    for key, value in fitted.metrics_.items():
        say(f"test {key.replace('_', ' ')}: {value:.4f}")
    if t.get("test_note"):
        say(t["test_note"].replace("(or test=0.2)", "(a larger file)"))
    say(f"time: {seconds:.1f}s")
    say(f"model saved to {path}")


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
    from learnable.utils.validation import check_output_file

    if plot is not None:
        check_output_file(plot, flag="--plot", suffixes=(".png", ".svg", ".pdf"), inputs=[data])
    X, y, data_name = _load_data(data, target)
    result = learnable.lr_find(X, y, model=model, task=task, batch_size=batch_size, seed=seed, num_steps=steps)
    for index in np.linspace(0, len(result.lrs) - 1, num=min(12, len(result.lrs))).astype(int):
        say(f"lr {result.lrs[index]:9.2e}  loss {result.losses[index]:.4f}")
    say(f"suggested learning rate: {result.suggestion:.2e} (steepest fall of the loss on {data_name})")
    if plot is not None:
        result.plot(str(plot))
        say(f"plot saved to {plot}")
