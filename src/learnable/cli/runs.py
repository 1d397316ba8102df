"""The recorded runs: `learnable runs [show | compare | delete]`, `learnable doctor RUN` and `learnable report RUN`.

    learnable runs                                   # recorded runs; runs show|compare|delete RUN
    learnable doctor last                            # what went wrong, in plain words
    learnable report last                            # the HTML report of a run
"""

from __future__ import annotations

from pathlib import Path

import typer

from learnable.cli.app import RUNS_DIR, app, open_store, print_rich, user_errors, write_report_file
from learnable.utils.terminal import say

runs_app = typer.Typer(help="List, show, compare and delete recorded runs.", no_args_is_help=False)
app.add_typer(runs_app, name="runs")


@runs_app.callback(invoke_without_command=True)
@user_errors
def runs(ctx: typer.Context, runs_dir: Path = RUNS_DIR, limit: int = typer.Option(30, help="Newest runs shown.")):
    """A table of the newest runs (RUN arguments take an id, an id prefix, a name, or `last`)."""
    if ctx.invoked_subcommand is not None:
        return
    from learnable.runs.tables import runs_table

    print_rich(runs_table(open_store(runs_dir).list(limit)))


@runs_app.command("show")
@user_errors
def runs_show(run: str = typer.Argument(..., help="Run id, prefix, name or `last`."), runs_dir: Path = RUNS_DIR):
    """Everything recorded about one run: settings, status, metrics per epoch, artifacts."""
    from learnable.runs.tables import run_details

    print_rich(run_details(open_store(runs_dir).get(run)))


@runs_app.command("compare")
@user_errors
def runs_compare(first: str = typer.Argument(...), second: str = typer.Argument(...), runs_dir: Path = RUNS_DIR):
    """Two runs side by side: their differing settings and final metrics."""
    from learnable.runs.tables import compare_runs

    store = open_store(runs_dir)
    print_rich(compare_runs(store.get(first), store.get(second)))


@runs_app.command("delete")
@user_errors
def runs_delete(
    run: str = typer.Argument(..., help="Run id, prefix, name or `last`."),
    force: bool = typer.Option(False, help="Delete even a run marked running (its process was killed)."),
    runs_dir: Path = RUNS_DIR,
):
    """Delete a run's records and its folder in the runs directory (saved models elsewhere stay)."""
    say(f"deleted run {open_store(runs_dir).delete(run, force=force)}")


@app.command()
@user_errors
def doctor(run: str = typer.Argument("last", help="Run id, prefix, name or `last`."), runs_dir: Path = RUNS_DIR):
    """Diagnose a recorded run: overfitting, divergence, dead units, bad learning rates, data problems."""
    from learnable.insight import diagnose
    from learnable.runs.tables import findings_view

    record = open_store(runs_dir).load_record(run)
    print_rich(findings_view(record, diagnose(record)))


@app.command()
@user_errors
def report(
    run: str = typer.Argument("last", help="Run id, prefix, name or `last`."),
    out: Path = typer.Option(None, help="The .html file to write (default: RUNS_DIR/RUN/report.html)."),
    runs_dir: Path = RUNS_DIR,
) -> None:
    """Write a run's report: one self-contained HTML file with its curves, statistics and diagnoses."""
    from learnable.insight.report.writer import REPORT_SUFFIXES
    from learnable.utils.validation import check_output_file

    store = open_store(runs_dir)
    run_id = store.resolve(run)
    if out is not None:
        check_output_file(out, flag="--out", suffixes=REPORT_SUFFIXES, inputs=[store.path])
    path = write_report_file(store, run_id, out or store.folder(run_id) / "report.html")
    say(f"report written to {path}")
