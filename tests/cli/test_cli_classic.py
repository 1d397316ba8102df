"""`learnable cluster` and `learnable reduce`: scikit-learn as the oracle, the run store, the report, and one
error line (with no run and no file left behind) for every user mistake."""

import base64
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from sklearn.cluster import KMeans as SklearnKMeans
from sklearn.datasets import load_iris, load_wine, make_blobs
from sklearn.decomposition import PCA as SklearnPCA
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.preprocessing import StandardScaler
from typer.testing import CliRunner

from learnable.classic import KMeans
from learnable.cli import app
from learnable.runs import RunStore

runner = CliRunner()
PLOT_SIZE = (650, 550)  # plot_embedding's 6.5 x 5.5 inches at 100 dpi


def _ok(args: list) -> str:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.stdout


def _number(output: str, label: str) -> float:
    return float(re.search(rf"{label}\W+(-?[0-9.]+)", output).group(1))


@pytest.fixture(scope="module")
def blobs(tmp_path_factory):
    """300 rows in 3 blobs (4 features) as a CSV with a 'label' column, clustered once with every output."""
    folder = tmp_path_factory.mktemp("cluster")
    X, y = make_blobs(n_samples=300, centers=3, n_features=4, cluster_std=1.0, random_state=0)
    pd.DataFrame(X, columns=[f"f{i}" for i in range(4)]).assign(label=y).to_csv(folder / "blobs.csv", index=False)
    output = _ok(["cluster", "--data", folder / "blobs.csv", "--k", "3", "--target", "label",
                  "--plot", folder / "clusters.png", "--labels-out", folder / "labels.csv",
                  "--out", folder / "kmeans", "--runs-dir", folder / "runs"])
    labels = pd.read_csv(folder / "labels.csv")["cluster"].to_numpy()
    return folder, X, y, labels, output


@pytest.fixture(scope="module")
def iris_reduced(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reduce")
    output = _ok(["reduce", "--data", "iris", "--components", "2", "--coordinates-out", folder / "points.csv",
                  "--runs-dir", folder / "runs"])
    return folder, output


# ---- cluster ------------------------------------------------------------------------------------------
def test_cluster_recovers_the_blobs(blobs):
    _, _, y, labels, output = blobs
    assert adjusted_rand_score(y, labels) >= 0.95
    assert _number(output, "adjusted Rand index vs 'label'") == pytest.approx(adjusted_rand_score(y, labels), abs=1e-4)


def test_cluster_prints_sizes_inertia_and_silhouette_as_scikit_learn(blobs):
    _, X, _, labels, output = blobs
    scaled = StandardScaler().fit_transform(X)  # --standardize is the default
    sizes = {int(c): int(n) for c, n in re.findall(r"^\W*(\d+)\W+(\d+)\W+[0-9.]+%", output, re.MULTILINE)}
    assert sizes == {c: int(n) for c, n in enumerate(np.bincount(labels))}
    assert _number(output, "silhouette") == pytest.approx(silhouette_score(scaled, labels), abs=5e-5)
    expected = SklearnKMeans(3, n_init=10, random_state=0).fit(scaled).inertia_
    assert _number(output, "inertia") == pytest.approx(expected, rel=1e-4)


def test_cluster_records_a_run_with_its_metrics(blobs):
    folder, X, y, labels, _ = blobs
    run = RunStore(folder / "runs").get("last")
    assert (run["status"], run["config"]["task"], run["config"]["k"]) == ("finished", "cluster", "3")
    summary = run["summary"]
    scaled = StandardScaler().fit_transform(X)
    assert summary["metrics"]["silhouette"] == pytest.approx(silhouette_score(scaled, labels), abs=1e-9)
    assert summary["metrics"]["adjusted_rand_index"] == pytest.approx(adjusted_rand_score(y, labels), abs=1e-12)
    assert summary["cluster_sizes"] == np.bincount(labels).tolist()
    assert set(run["artifacts"]) == {"plot", "labels", "model", "report"}
    listing = _ok(["runs", "--runs-dir", folder / "runs"])
    assert f"silhouette {summary['metrics']['silhouette']:.4f}" in listing


def test_the_doctor_says_a_cluster_or_reduce_run_has_no_training_curve(blobs, iris_reduced):
    for folder, method in ((blobs[0], "k-means clustering"), (iris_reduced[0], "PCA")):
        output = _ok(["doctor", "last", "--runs-dir", folder / "runs"])
        assert f"This is a {method} run" in output and "No epoch was recorded" not in output


def test_cluster_writes_the_plot_and_the_report(blobs):
    folder, *_ = blobs
    with Image.open(folder / "clusters.png") as image:
        assert image.format == "PNG" and image.size == PLOT_SIZE
    run = RunStore(folder / "runs").get("last")
    page = Path(run["artifacts"]["report"]).read_text()
    assert "Cluster sizes" in page and f"{run['summary']['metrics']['silhouette']:.4g}" in page
    assert f"{run['summary']['cluster_sizes'][0]} rows" in page
    embedded = re.findall(r"src='data:image/png;base64,([^']*)'", page)
    assert base64.b64decode(embedded[0]) == (folder / "clusters.png").read_bytes()


def test_the_saved_kmeans_predicts_the_labels(blobs):
    folder, X, _, labels, _ = blobs
    model = KMeans.load(folder / "kmeans")
    assert (model.predict(StandardScaler().fit_transform(X)) == labels).all()


def test_a_range_of_k_picks_the_best_silhouette(blobs, tmp_path):
    folder, X, *_ = blobs
    _ok(["cluster", "--data", folder / "blobs.csv", "--k", "2..4", "--target", "label", "--n-init", "3",
         "--no-standardize", "--labels-out", tmp_path / "labels.csv", "--runs-dir", tmp_path / "runs"])
    summary = RunStore(tmp_path / "runs").get("last")["summary"]
    scores = summary["silhouette_by_k"]
    assert summary["k"] == 3 == int(max(scores, key=scores.get))
    labels = pd.read_csv(tmp_path / "labels.csv")["cluster"].to_numpy()
    assert scores["3"] == pytest.approx(silhouette_score(X, labels), abs=1e-9)  # unscaled features


# ---- reduce -------------------------------------------------------------------------------------------
def test_reduce_explains_the_variance_as_scikit_learn(iris_reduced):
    folder, output = iris_reduced
    expected = SklearnPCA(2).fit(load_iris().data)
    summary = RunStore(folder / "runs").get("last")["summary"]
    np.testing.assert_allclose(summary["explained_variance_ratio"], expected.explained_variance_ratio_, atol=1e-5)
    printed = re.findall(r"^\W*([12])\W+([0-9.]+)\W+([0-9.]+)", output, re.MULTILINE)
    np.testing.assert_allclose([float(p[1]) for p in printed], expected.explained_variance_ratio_, atol=1e-5)
    np.testing.assert_allclose([float(p[2]) for p in printed], np.cumsum(expected.explained_variance_ratio_),
                               atol=1e-5)
    points = pd.read_csv(folder / "points.csv").to_numpy()
    np.testing.assert_allclose(np.abs(points), np.abs(expected.transform(load_iris().data)), atol=1e-6)


def test_reduce_records_the_run_the_plot_and_the_report(iris_reduced):
    folder, _ = iris_reduced
    run = RunStore(folder / "runs").get("last")
    assert (run["status"], run["config"]["task"], run["config"]["target"]) == ("finished", "reduce", "target")
    plot = Path(run["artifacts"]["plot"])
    assert plot == (folder / "runs" / run["id"] / "reduce.png").resolve()
    with Image.open(plot) as image:
        assert image.size == PLOT_SIZE
    page = Path(run["artifacts"]["report"]).read_text()
    assert "Explained variance" in page and "0.924619" in page and "0.977685" in page
    assert f"explained_variance {run['summary']['metrics']['explained_variance']:.4f}" in _ok(
        ["runs", "--runs-dir", folder / "runs"])


def test_reduce_standardized_and_whitened(tmp_path):
    _ok(["reduce", "--data", "wine", "--components", "3", "--standardize", "--whiten",
         "--coordinates-out", tmp_path / "points.csv", "--runs-dir", tmp_path / "runs"])
    X = StandardScaler().fit_transform(load_wine().data)
    expected = SklearnPCA(3, whiten=True).fit(X)
    summary = RunStore(tmp_path / "runs").get("last")["summary"]
    np.testing.assert_allclose(summary["explained_variance_ratio"], expected.explained_variance_ratio_, atol=1e-8)
    points = pd.read_csv(tmp_path / "points.csv").to_numpy()
    np.testing.assert_allclose(np.abs(points), np.abs(expected.transform(X)), atol=1e-6)


# ---- mistakes: one error line, no run, no file ------------------------------------------------------------
@pytest.fixture
def inputs(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(20, 3)), columns=["a", "b", "c"]).assign(kind=["x", "y"] * 10)
    frame.to_csv(tmp_path / "good.csv", index=False)
    frame.assign(city="Paris").to_csv(tmp_path / "text.csv", index=False)
    frame.assign(b=frame["b"].where(frame.index != 3)).to_csv(tmp_path / "gaps.csv", index=False)
    return tmp_path


MISTAKES = [
    (["cluster", "--data", "missing.csv", "--k", "2"], "no such file"),
    (["cluster", "--data", "good.csv", "--target", "kind", "--k", "0"], "--k 0"),
    (["cluster", "--data", "good.csv", "--target", "kind", "--k", "21"], "more than the 20 rows"),
    (["cluster", "--data", "good.csv", "--target", "kind", "--k", "three"], "not a number of clusters"),
    (["cluster", "--data", "good.csv", "--target", "kind", "--k", "5..2"], "a range"),
    (["cluster", "--data", "good.csv", "--target", "kind", "--k", "2", "--n-init", "0"], "--n-init 0"),
    (["cluster", "--data", "good.csv", "--k", "2"], "column(s) ['kind'] hold text"),
    (["cluster", "--data", "text.csv", "--target", "kind", "--k", "2"], "column(s) ['city'] hold text"),
    (["cluster", "--data", "gaps.csv", "--target", "kind", "--k", "2"], "column 'b' has 1 missing"),
    (["cluster", "--data", "good.csv", "--target", "price", "--k", "2"], "--target 'price' is not a column"),
    (["cluster", "--data", "good.csv", "--target", "kind", "--k", "2", "--columns", "a,z"], "--columns names ['z']"),
    (["cluster", "--data", "good.csv", "--target", "kind", "--k", "2", "--plot", "plot.jpg"], "must end in .png"),
    (["reduce", "--data", "good.csv", "--target", "kind", "--components", "0"], "--components 0"),
    (["reduce", "--data", "good.csv", "--target", "kind", "--components", "4"], "from 1 to 3"),
    (["reduce", "--data", "text.csv", "--target", "kind"], "column(s) ['city'] hold text"),
    (["reduce", "--data", "gaps.csv", "--target", "kind"], "(rows 3)"),
    (["reduce", "--data", "good.csv", "--target", "kind", "--components", "1", "--plot", "p.png"], "first two"),
    (["reduce", "--data", "good.csv", "--target", "kind", "--coordinates-out", "p.json"], "must end in .csv"),
]


@pytest.mark.parametrize(("args", "message"), MISTAKES, ids=[" ".join(a[1:]) for a, _ in MISTAKES])
def test_mistakes_are_one_error_line_with_no_run_and_no_file(inputs, monkeypatch, args, message):
    monkeypatch.chdir(inputs)
    before = sorted(p.name for p in inputs.iterdir())
    outputs = ["--runs-dir", "runs", "--out", "model"]
    outputs += ["--labels-out", "labels.csv"] if args[0] == "cluster" else []
    result = runner.invoke(app, [*args, *outputs])
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.stderr
    assert sorted(p.name for p in inputs.iterdir()) == before  # no run store, plot, CSV or model


def test_a_failure_after_the_run_started_is_recorded_as_failed(inputs, monkeypatch):
    def disk_full(figure, path):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("learnable.cli.classic.save_png", disk_full)
    result = runner.invoke(app, ["cluster", "--data", str(inputs / "good.csv"), "--target", "kind", "--k", "2",
                                 "--out", str(inputs / "model"), "--runs-dir", str(inputs / "runs")])
    assert result.exit_code == 1 and result.stderr.startswith("error: [Errno 28] No space left"), result.output
    run = RunStore(inputs / "runs").get("last")
    assert run["status"] == "failed" and "No space left" in run["error"]
    assert not (inputs / "model").exists()


def test_reduce_to_one_component_draws_no_plot(tmp_path):
    output = _ok(["reduce", "--data", "iris", "--components", "1", "--runs-dir", tmp_path / "runs"])
    run = RunStore(tmp_path / "runs").get("last")
    assert "no plot" in output and "plot" not in run["artifacts"]
    assert run["summary"]["explained_variance_ratio"] == pytest.approx([0.92461872], abs=1e-7)
    assert "No plot was recorded" in Path(run["artifacts"]["report"]).read_text()
