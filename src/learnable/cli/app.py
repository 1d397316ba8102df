"""The ``learnable`` app and what its commands share: options, one-line user errors, printing and
ending a recorded run. Each command group lives in its own module of :mod:`learnable.cli` and hangs its
commands on :data:`app`.

User mistakes end with a one-line ``error: ...`` message and exit status 1, never a traceback
(set ``LEARNABLE_DEBUG=1`` to see one).

Example:
    >>> from typer.testing import CliRunner
    >>> CliRunner().invoke(app, ["version"]).stdout.startswith("learnable ")   # doctest: +SKIP
    True
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer

from learnable.utils.terminal import say

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
        path = write_report_file(store, run_id, store.folder(run_id) / "report.html")
    except KeyboardInterrupt:  # a second Ctrl-C while the report is drawn: skip it
        say("(no report: interrupted; write it with `learnable report`)")
        return
    except Exception as error:  # noqa: BLE001 - the model is saved; a report problem must not hide that
        say(f"(no report: {type(error).__name__}: {error}; try `learnable report {run_id}`)")
        return
    say(f"report: {path}  (the doctor: `learnable doctor {run_id}`)")  # stdout: stderr keeps one error line


def write_report_file(store: Any, run: str, out: Path) -> Path:
    from learnable.insight import write_report

    path = write_report(store.load_record(run), out).resolve()
    store.add_artifact(store.resolve(run), "report", path)
    return path


def open_store(runs_dir: Path | None):
    from learnable.runs import RunStore

    return RunStore(runs_dir)


def print_rich(renderable: Any) -> None:
    """Print a rich renderable whose user text is :func:`learnable.utils.terminal.as_text`; strings are never markup."""
    from rich.console import Console

    plain = {"highlight": False, "markup": False, "emoji": False}
    console = Console(**plain)
    if not console.is_terminal:  # a pipe or a file: do not squeeze tables into 80 columns
        console = Console(**plain, width=200)
    console.print(renderable)


def write_table(out: Path, table: Any) -> None:
    """Write a DataFrame to ``out`` whole or not at all: .json as a list of records, anything else as CSV."""
    from learnable.utils.files import write_atomically

    if out.suffix.lower() == ".json":
        write_atomically(out, json.dumps(table.to_dict(orient="records"), default=str))
    else:
        write_atomically(out, table.to_csv(index=False))


@contextlib.contextmanager
def ending_recorded(store: Any, run_id: str) -> Iterator[None]:
    """Record a run that ends early as interrupted (Ctrl-C or SIGTERM: exit status 130) or failed."""
    try:
        yield
    except KeyboardInterrupt:
        store.writer(run_id).finish("interrupted", error="interrupted (SIGINT/SIGTERM)")
        raise typer.Exit(130) from None
    except BaseException as error:
        store.writer(run_id).finish("failed", error=f"{type(error).__name__}: {error}")
        raise
