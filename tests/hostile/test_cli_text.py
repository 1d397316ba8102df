"""User text the CLI prints: run names, ids, column names, class names, file names and error messages
holding rich markup (``[/]``, ``[bold]``), emoji codes, ANSI escapes, CR, BEL and bidi overrides.

Every such string is printed as text: markup never parsed (``[/]oops`` once broke `learnable runs` for the
whole store), every control character shown as a visible escape (``\\x1b``) so it cannot recolour, clear
or rewrite the terminal.
"""

import re

import pandas as pd
import pytest
from typer.testing import CliRunner

from learnable.cli import app
from learnable.runs import RunStore
from learnable.utils.terminal import as_text, printable

runner = CliRunner()

MARKUP = "[/]oops"
ESCAPE = "\x1b[2J\x1b[31mred"  # clear the screen, turn red
HOSTILE = ["[/]oops", "[bold]loud[/bold]", ":thumbs_up:", "\x1b[31mred", "cr\rover", "bel\x07", "\u202eevil",
           "c1\x9b31m", "nul\x00"]
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")  # what must never reach the terminal


def _assert_shown_as_text(output: str, *names: str) -> None:
    """No control character in ``output``, and each name appears printed as text (escapes visible)."""
    assert not RAW.search(output), repr(output)
    assert "👍" not in output and "Traceback" not in output
    for name in names:
        assert printable(name) in output, (printable(name), output)


@pytest.fixture
def hostile_store(tmp_path):
    """A run store whose runs carry hostile names, settings, metric names, classes and errors."""
    store = RunStore(tmp_path / "runs")
    for name in HOSTILE:
        run_id = store.create(name, config={"target": "[/]", "data": ESCAPE + ".csv", "lr": 0.1}, seed=0,
                              dataset="\x1b]0;title\x07")
        store.add_epoch(run_id, {"epoch": 1, "train_loss": 1.0, "val_loss": 1.2, "[/]": 0.5})
        store.add_epoch(run_id, {"epoch": 2, "train_loss": 0.5, "val_loss": 1.4, "[/]": 0.6})
        store.set_detail(run_id, "data", {"classes": {ESCAPE: 95, "[/]dog": 5}})
        store.finish(run_id, "failed", summary={"test": {"[/]acc": 0.5}},
                     error=f"ValueError: column '{MARKUP}' \x1b[2J")
    store.close()
    return tmp_path / "runs"


def test_the_text_helpers_escape_every_control_character():
    assert printable("a\x1b[31mb\rc\x07\u202ed\x9b") == "a\\x1b[31mb\\x0dc\\x07\\u202ed\\x9b"
    assert printable("plain [/] text: 1.5") == "plain [/] text: 1.5"
    assert as_text("[/]oops").plain == "[/]oops"


def test_runs_lists_hostile_names_as_text(hostile_store):
    result = runner.invoke(app, ["runs", "--runs-dir", str(hostile_store)])
    assert result.exit_code == 0, result.output
    _assert_shown_as_text(result.output, "[/]oops", "[bold]loud[/bold]", ":thumbs_up:")
    assert "\\x1b[31mred" in result.output and "bel\\x07" in result.output and "\\u202eevil" in result.output


@pytest.mark.parametrize("name", HOSTILE)
def test_runs_show_prints_every_hostile_field_as_text(hostile_store, name):
    result = runner.invoke(app, ["runs", "show", name, "--runs-dir", str(hostile_store)])
    assert result.exit_code == 0, result.output
    _assert_shown_as_text(result.output, "[/]", "\x1b]0;title\x07", "[/]acc", f"column '{MARKUP}' \x1b[2J")
    assert "\\x1b[2J\\x1b[31mred.csv" in result.output


def test_runs_compare_prints_hostile_names_as_text(hostile_store):
    result = runner.invoke(app, ["runs", "compare", "[/]oops", "\x1b[31mred", "--runs-dir", str(hostile_store)])
    assert result.exit_code == 0, result.output
    _assert_shown_as_text(result.output, "[/]oops", "\x1b[31mred", "[/]acc")


def test_doctor_prints_hostile_class_names_and_run_names_as_text(hostile_store):
    result = runner.invoke(app, ["doctor", "bel\x07", "--runs-dir", str(hostile_store)])
    assert result.exit_code == 0, result.output
    assert "Class imbalance" in result.output
    _assert_shown_as_text(result.output, "bel\x07", ESCAPE)


def test_report_escapes_the_name_in_html_and_the_path_on_the_terminal(hostile_store, tmp_path):
    out = tmp_path / "re\x1bport.html"
    result = runner.invoke(app, ["report", "[/]oops", "--out", str(out), "--runs-dir", str(hostile_store)])
    assert result.exit_code == 0, result.output
    _assert_shown_as_text(result.output, str(out))
    store = RunStore(hostile_store)
    store.create("<script>alert(1)</script>")
    result = runner.invoke(app, ["report", "last", "--out", str(tmp_path / "x.html"), "--runs-dir", str(hostile_store)])
    assert result.exit_code == 0, result.output
    page = (tmp_path / "x.html").read_text()
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page


@pytest.mark.parametrize("argv", [
    ["runs", "show", ESCAPE],
    ["runs", "delete", "[/]\x1b[2J"],
    ["doctor", "\u202egnp.exe"],
    ["train", "--data", "no\x1b[2Jsuch.csv", "--target", "y"],
    ["predict", "no\x1b[31m-model", "x.csv"],
])
def test_errors_carrying_user_input_are_one_plain_line(tmp_path, argv):
    result = runner.invoke(app, [*argv, *(["--runs-dir", str(tmp_path / "runs")] if argv[0] in ("runs", "doctor")
                                          else [])])
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    _assert_shown_as_text(result.stderr)
    assert "\\x1b" in lines[0] or "\\u202e" in lines[0]


@pytest.fixture(scope="module")
def hostile_table(tmp_path_factory, iris):
    """Iris in a file whose name holds an ESC, with a target column named ``[/]`` and a hostile class."""
    folder = tmp_path_factory.mktemp("hostile-text")
    X, y = iris
    y = y.where(y != "setosa", "\x1b[31msetosa[/]")
    path = folder / "iris\x1b[2J.csv"
    X.assign(**{"[/]": y}).to_csv(path, index=False)
    return folder, path


def test_train_and_predict_print_hostile_names_as_text(hostile_table, tmp_path):
    folder, path = hostile_table
    model = tmp_path / "mo\x07del"
    result = runner.invoke(app, ["train", "--data", str(path), "--target", "[/]", "--epochs", "2", "--out", str(model),
                                 "--name", "[/]oops\x1b[2J", "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    _assert_shown_as_text(result.output, str(path.stem), str(model))
    out = tmp_path / "pre\x1bd.csv"
    result = runner.invoke(app, ["predict", str(model), str(path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    _assert_shown_as_text(result.output, "[/]", str(out))
    assert "score on the '[/]' column" in result.stderr
    runs = runner.invoke(app, ["runs", "show", "last", "--runs-dir", str(tmp_path / "runs")])
    assert runs.exit_code == 0, runs.output
    _assert_shown_as_text(runs.output, "[/]oops\x1b[2J", "[/]")


def test_cluster_prints_a_hostile_target_name_as_text(hostile_table, tmp_path):
    _, path = hostile_table
    result = runner.invoke(app, ["cluster", "--data", str(path), "--target", "[/]", "--k", "3",
                                 "--name", "\x1b[31mk", "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    _assert_shown_as_text(result.output, "adjusted Rand index vs '[/]'", path.stem)


def test_a_text_column_named_with_markup_is_one_plain_error_line(tmp_path):
    path = tmp_path / "t.csv"
    pd.DataFrame({"a": [1.0, 2.0, 3.0], "[/]\x1b[2J": ["x", "y", "z"]}).to_csv(path, index=False)
    result = runner.invoke(app, ["reduce", "--data", str(path), "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 1 and result.stderr.startswith("error: "), result.output
    _assert_shown_as_text(result.stderr)


def test_results_on_stdout_are_escaped_for_a_terminal_and_kept_for_a_pipe(monkeypatch):
    """`generate` and `predict` without --out write data: kept byte for byte when piped, but a terminal
    is never handed an ESC from a corpus or a class name (line breaks and tabs stay)."""
    import io
    import sys

    from learnable.utils.terminal import for_stdout

    text = "to be\n\tor \x1b[2Jnot\x07"
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    assert for_stdout(text) == text  # piped: data
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert for_stdout(text) == "to be\n\tor \\x1b[2Jnot\\x07"


def test_plots_show_control_characters_as_escapes_not_missing_glyphs():
    """A class or column name holding an ESC reaches the report's plots as '\\x1b', never as a glyph no font has."""
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from learnable.insight.plots import plain_text

    figure = Figure()
    axes = figure.add_subplot()
    axes.set_xticks([0, 1], labels=["cat\x1b[31m", "dog\x07"])
    axes.set_title("true a\npred b")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph 27 missing" when it meets an ESC
        plain_text(figure).savefig(__import__("io").BytesIO(), format="png")
    assert [t.get_text() for t in axes.get_xticklabels()] == ["cat\\x1b[31m", "dog\\x07"]
    assert axes.get_title() == "true a\npred b"  # line breaks stay
