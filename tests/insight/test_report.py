"""The HTML report, the plots and the test-split evaluation: content, safety and the commands that write them."""

import base64
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from sklearn.metrics import confusion_matrix
from typer.testing import CliRunner

import learnable
from learnable.cli import app
from learnable.insight import plots, write_report
from learnable.runs import RunStore
from learnable.tasks.evaluation import evaluate_examples

runner = CliRunner()


@pytest.fixture(scope="module")
def fitted_iris(iris):
    X, y = iris
    return learnable.fit(X, y, seed=0, num_epochs=30), X, y


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """`learnable train` on wine, recorded in a runs directory."""
    folder = tmp_path_factory.mktemp("report")
    result = runner.invoke(app, ["train", "--data", "wine", "--quiet", "--epochs", "20",
                                 "--runs-dir", str(folder / "runs"), "--out", str(folder / "model")])
    assert result.exit_code == 0, result.output
    return folder, result


def _images(page: str) -> list[bytes]:
    sources = re.findall(r"<img[^>]* src='([^']*)'", page)
    assert all(s.startswith("data:image/png;base64,") for s in sources)
    return [base64.b64decode(s.split(",", 1)[1]) for s in sources]


# ---- evaluation ------------------------------------------------------------------------------------
def test_confusion_matrix_matches_scikit_learn(fitted_iris):
    model, X, y = fitted_iris
    evaluation = evaluate_examples(model, X, y)
    expected = confusion_matrix(y, model.predict(X), labels=model.classes_)
    assert evaluation["confusion"]["matrix"] == expected.tolist()
    assert evaluation["confusion"]["classes"] == [str(c) for c in model.classes_]


def test_the_worst_examples_are_the_least_likely_true_labels(fitted_iris):
    model, X, y = fitted_iris
    worst = evaluate_examples(model, X, y)["worst"]
    assert len(worst) == 12
    probability = model.predict_proba(X)[np.arange(len(y)), pd.Categorical(y, categories=model.classes_).codes]
    assert [w["row"] for w in worst] == np.argsort(probability, kind="stable")[:12].tolist()
    first = worst[0]
    assert first["features"] == {k: pytest.approx(v) for k, v in X.iloc[first["row"]].items()}
    assert first["actual"] == str(y.iloc[first["row"]]) and first["predicted"] == str(model.predict(X)[first["row"]])


def test_regression_residuals_and_a_decision_surface_for_two_features():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300) * 10 + 5})
    y = 3 * X["a"] - 0.2 * X["b"] + rng.normal(size=300) * 0.1
    model = learnable.fit(X, y, seed=0, num_epochs=30)
    evaluation = evaluate_examples(model, X, y)
    assert evaluation["residuals"]["predicted"][:5] == pytest.approx(model.predict(X)[:5].tolist(), rel=1e-5)
    assert evaluation["residuals"]["actual"][:5] == pytest.approx(y[:5].tolist())
    surface = evaluation["surface"]
    assert np.shape(surface["values"]) == (80, 80)
    assert surface["features"] == ["a", "b"]
    assert min(surface["y"]) < X["b"].min() and max(surface["y"]) > X["b"].max()  # raw units, not standardised


def test_image_data_keeps_the_worst_images():
    data = learnable.data.datasets.load("digits")
    X = np.asarray(data.X).reshape(-1, 8, 8)
    model = learnable.fit(X[:400], data.y[:400], seed=0, num_epochs=3)
    worst = evaluate_examples(model, X[400:500], data.y[400:500])["worst"]
    image = np.asarray(worst[0]["image"])
    assert image.shape == (8, 8) and image.min() == 0 and image.max() == 1
    assert "surface" not in evaluate_examples(model, X[400:420], data.y[400:420])


# ---- plots ------------------------------------------------------------------------------------------
def test_every_plot_draws_from_a_real_run_and_none_from_nothing(fitted_iris):
    model, X, y = fitted_iris
    epochs, evaluation = model.history_, evaluate_examples(model, X, y)
    figures = [plots.loss_curves(epochs), plots.metric_curves(epochs),
               plots.parameter_statistic(epochs, "grad_norm", "g"), plots.activation_histograms(epochs),
               plots.unit_fractions(epochs), plots.confusion_matrix(evaluation)]
    assert all(f is not None and f.axes for f in figures)
    assert plots.learning_rate(epochs) is None  # constant: stated, not plotted
    assert plots.learning_rate([{"epoch": 1, "lr": 0.1}, {"epoch": 2, "lr": 0.01}]) is not None
    assert plots.loss_curves([]) is None and plots.parameter_statistic([], "grad_norm", "g") is None
    assert plots.confusion_matrix({}) is None and plots.residuals({}) is None and plots.worst_examples({}) is None


def test_histogram_rebinning_keeps_each_epochs_mass():
    grid, low, high = plots.histogram_image([{"low": 0, "high": 1, "counts": [1, 3]},
                                              {"low": -1, "high": 3, "counts": [2, 2, 0, 4]}])
    assert (low, high) == (-1, 3)
    assert grid.sum(axis=0) == pytest.approx([1, 1])
    assert grid[:, 0][:15].sum() == 0  # the first epoch has nothing below 0


# ---- the report ---------------------------------------------------------------------------------------
def test_the_report_is_self_contained(fitted_iris, tmp_path):
    model = fitted_iris[0]
    page = model.report(tmp_path / "report.html").read_text()
    images = _images(page)
    assert len(images) >= 7
    for png in images:
        assert Image.open(io.BytesIO(png)).size[0] > 100
    assert not re.search(r"(src|href)=['\"]?(https?:)?//", page)
    assert "<script" not in page
    for heading in ("The doctor&#x27;s findings", "Learning curves", "Inside the network", "What the model gets wrong"):
        assert heading in page


def test_names_and_errors_are_escaped(tmp_path):
    record = {"name": "<script>alert(1)</script>", "id": "x", "status": "failed", "error": "<b>boom</b> & co",
              "epochs": [], "config": {"<k>": "<v>"}}
    page = write_report(record, tmp_path / "r.html").read_text()
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;boom&lt;/b&gt; &amp; co" in page and "&lt;k&gt;" in page


@pytest.mark.parametrize("name, message", [("r.txt", r"out '.*r.txt' must end in .html or .htm; pass for example "
                                                      r"out .*r.html"),
                                           ("missing/r.html", "does not exist"),
                                           ("folder.html", "is a directory")])
def test_bad_report_paths_are_refused(tmp_path, name, message):
    (tmp_path / "folder.html").mkdir()
    with pytest.raises(ValueError, match=message):
        write_report({"epochs": []}, tmp_path / name)


def test_a_failed_render_leaves_the_old_report_and_no_temporary(tmp_path, monkeypatch):
    out = tmp_path / "r.html"
    out.write_text("old")
    monkeypatch.setattr("learnable.insight.report.writer.render", lambda record: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        write_report({"epochs": []}, out)
    assert out.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["r.html"]


# ---- the commands ---------------------------------------------------------------------------------------
def test_train_writes_the_report_and_records_it(trained_run):
    folder, result = trained_run
    path = re.search(r"report: (\S+)", result.output).group(1)
    store = RunStore(folder / "runs")
    record = store.load_record("last")
    assert record["artifacts"]["report"] == path
    assert record["details"]["evaluation"]["confusion"]["classes"] == ["class_0", "class_1", "class_2"]
    assert record["data"]["rows"] == {"train": 142, "validation": 18, "test": 18}
    page = Path(path).read_text()
    assert record["id"] in page and "test split" in page.lower()


def test_report_command_writes_where_asked(trained_run):
    folder, _ = trained_run
    out = folder / "again.html"
    result = runner.invoke(app, ["report", "last", "--runs-dir", str(folder / "runs"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"report written to {out.resolve()}" in result.output
    assert len(_images(out.read_text())) >= 7


def test_settings_left_to_defaults_show_the_values_training_used(trained_run):
    folder, _ = trained_run
    page = Path(RunStore(folder / "runs").load_record("last")["artifacts"]["report"]).read_text()
    settings = page.split("<h2>Settings</h2>", 1)[1].split("</table>", 1)[0]
    rows = dict(re.findall(r"<tr><th>([^<]*)</th><td class=num>([^<]*)</td></tr>", settings))
    assert rows["lr"] == "0.001 (default)"  # the MLP's recipe
    assert rows["batch_size"] == "16 (default)"  # a tenth of the 142 training rows, at least 16
    assert rows["model"] == "auto (mlp)" and rows["epochs"] == "20" and rows["optimizer"] == "AdamW"


def _drawn_figures(monkeypatch, make_report):
    """The figures a report draws, after drawing them (so their tick labels are set)."""
    from learnable.insight.report import page

    drawn, draw = [], page.image
    monkeypatch.setattr(page, "image", lambda figure: drawn.append(figure) or draw(figure))
    make_report()
    return drawn


def test_log_axes_are_labelled_in_plain_text(fitted_iris, tmp_path, monkeypatch):
    figures = _drawn_figures(monkeypatch, lambda: fitted_iris[0].report(tmp_path / "r.html"))
    axes = [a for figure in figures for a in figure.axes]
    log_axes = [axis for a in axes for axis in (a.xaxis, a.yaxis) if axis.get_scale() == "log"]
    assert len(log_axes) >= 3  # the loss, gradient norms, update ratios
    labels = [t.get_text() for axis in log_axes for t in axis.get_ticklabels() + axis.get_ticklabels(minor=True)]
    assert any(labels) and not [label for label in labels if "$" in label or "mathdefault" in label]


def test_epochs_and_row_counts_tick_whole_numbers():
    epochs = [{"epoch": e, "train_loss": 1 / e, "val_loss": 1.2 / e, "val_accuracy": 0.5 + e / 20} for e in range(1, 6)]
    residuals = plots.residuals({"residuals": {"actual": [1.0, 2.0, 3.0, 4.0], "predicted": [1.5, 2.0, 2.5, 4.5]}})
    for axis in (plots.loss_curves(epochs).axes[0].xaxis, plots.metric_curves(epochs).axes[0].xaxis,
                 residuals.axes[1].yaxis):
        ticks = axis.get_ticklocs()
        assert len(ticks) >= 3 and all(float(tick).is_integer() for tick in ticks)  # no epoch 2.5, no 1.5 rows


@pytest.mark.parametrize("args, fragment", [(["report", "nope"], "no run 'nope'"),
                                            (["report", "last", "--out", "r.pdf"],
                                             "--out 'r.pdf' must end in .html or .htm"),
                                            (["doctor", "nope"], "no run 'nope'")])
def test_report_and_doctor_refuse_bad_input_in_one_line(trained_run, args, fragment):
    folder, _ = trained_run
    result = runner.invoke(app, [*args, "--runs-dir", str(folder / "runs")])
    assert result.exit_code == 1
    assert result.stderr.strip().startswith("error: ") and fragment in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_report_with_no_runs_says_how_to_make_one(tmp_path):
    result = runner.invoke(app, ["report", "--runs-dir", str(tmp_path / "empty")])
    assert result.exit_code == 1 and "learnable train" in result.stderr


def test_a_run_that_fails_still_gets_its_report_and_diagnosis(tmp_path, monkeypatch):
    from learnable.callbacks import Callback
    from learnable.callbacks.events import NonFiniteError

    class Overflow(Callback):
        def after_epoch(self, learner):
            if learner.epoch == 3:
                raise NonFiniteError("the loss is not finite (inf) in epoch 3, step 40; lower the learning rate")

    real_fit = learnable.fit
    monkeypatch.setattr(learnable, "fit", lambda *a, callbacks=(), **k: real_fit(
        *a, callbacks=[*callbacks, Overflow()], **k))
    result = runner.invoke(app, ["train", "--data", "iris", "--quiet", "--runs-dir", str(tmp_path / "runs"),
                                 "--out", str(tmp_path / "model")])
    assert result.exit_code == 1 and result.stderr.strip().startswith("error: the loss is not finite")
    path = Path(re.search(r"report: (\S+)", result.stdout).group(1))
    assert path.exists() and not (tmp_path / "model").exists()
    record = RunStore(tmp_path / "runs").load_record("last")
    assert record["status"] == "failed" and record["artifacts"]["report"] == str(path)
    assert "Training diverged" in path.read_text()
    doctor = runner.invoke(app, ["doctor", "--runs-dir", str(tmp_path / "runs")])
    assert "[critical] Training diverged" in doctor.output and "epoch 3, step 40" in doctor.output


def test_dollar_signs_in_labels_are_plain_text_and_per_row_lists_are_not_kept(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=200), "b$": rng.normal(size=200)})
    y = np.where(X["a"] > 0, "$x^$", "$y_1$")
    model = learnable.fit(X, y, seed=0, num_epochs=5)
    assert not {"targets", "confidence", "predicted_values"} & set(model.evaluation_)
    assert len(model.evaluation_["surface"]["points"]) == 20  # the test split, at most 1000 points
    monkeypatch.setattr("learnable.tasks.evaluation.MAX_POINTS", 5)
    assert len(evaluate_examples(model, X.iloc[:50], y[:50])["surface"]["points"]) == 5  # the cap holds
    page = model.report(tmp_path / "r.html").read_text()
    assert "$x^$" in page and len(_images(page)) >= 5


def test_imperfect_records_still_get_a_report_and_a_diagnosis(tmp_path):
    from learnable.insight import diagnose

    epochs = [{"train_loss": 1.0 / e, "val_loss": 1.0, "stats": {"samples": 1, "activations": {}}} for e in range(1, 6)]
    record = {"epochs": epochs, "summary": None, "details": None, "data": None, "status": "finished"}
    assert all(f.code != "unreadable" for f in diagnose(record))
    record["summary"] = {"kept_epoch": 99}  # beyond the epochs recorded
    assert all(f.code != "unreadable" for f in diagnose(record))
    write_report(record, tmp_path / "r.html")
    odd = {"epochs": [{"epoch": 1, "stats": {"parameters": {"w.weight": {"norm": "x"}}}}]}
    assert "unreadable" in [f.code for f in diagnose(odd)]
