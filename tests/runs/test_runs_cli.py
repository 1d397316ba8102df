"""`learnable train` records runs; `learnable runs [show|compare|delete]` reads them."""

import pytest
from typer.testing import CliRunner

from learnable.cli import app
from learnable.runs import RunStore

runner = CliRunner()


@pytest.fixture(scope="module")
def trained(tmp_path_factory, iris):
    folder = tmp_path_factory.mktemp("runs-cli")
    X, y = iris
    X.assign(species=y).to_csv(folder / "iris.csv", index=False)
    runs = folder / "runs"
    for name, epochs in (("first", "3"), ("second", "5")):
        result = runner.invoke(app, ["train", "--data", str(folder / "iris.csv"), "--target", "species",
                                     "--epochs", epochs, "--name", name, "--out", str(folder / name),
                                     "--runs-dir", str(runs), "--quiet"])
        assert result.exit_code == 0, result.output
        assert "run recorded as" in result.output
    return folder, runs


def test_train_records_a_finished_run_with_its_model(trained):
    folder, runs = trained
    store = RunStore(runs)
    run = store.get("first")
    assert run["status"] == "finished" and len(run["epochs"]) == 3
    assert run["config"]["epochs"] == 3 and run["seed"] == 0 and len(run["dataset"]) == 16
    assert run["artifacts"]["model"] == str((folder / "first").resolve())
    assert 0 <= run["summary"]["test"]["accuracy"] <= 1
    assert store.get("last")["name"] == "second"


def test_runs_lists_the_newest_first(trained):
    _, runs = trained
    result = runner.invoke(app, ["runs", "--runs-dir", str(runs)])
    assert result.exit_code == 0, result.output
    assert result.output.index("│ second") < result.output.index("│ first")
    assert "2 run(s)" in result.output and "test accuracy" in result.output


def test_runs_show_last(trained):
    _, runs = trained
    result = runner.invoke(app, ["runs", "show", "last", "--runs-dir", str(runs)])
    assert result.exit_code == 0, result.output
    assert "second" in result.output and "finished" in result.output and "val_loss" in result.output


def test_runs_compare_shows_the_differing_settings(trained):
    _, runs = trained
    result = runner.invoke(app, ["runs", "compare", "first", "second", "--runs-dir", str(runs)])
    assert result.exit_code == 0, result.output
    assert "config.epochs" in result.output and "test accuracy" in result.output


def test_runs_dir_from_the_environment(trained, monkeypatch):
    _, runs = trained
    monkeypatch.setenv("LEARNABLE_RUNS", str(runs))
    result = runner.invoke(app, ["runs", "show", "first"])
    assert result.exit_code == 0 and "first" in result.output


def test_a_failed_training_is_recorded_as_failed(tmp_path, iris):
    X, y = iris
    X.iloc[:5].assign(species=y.iloc[:5]).to_csv(tmp_path / "tiny.csv", index=False)  # one class only
    result = runner.invoke(app, ["train", "--data", str(tmp_path / "tiny.csv"), "--target", "species",
                                 "--runs-dir", str(tmp_path / "runs"), "--out", str(tmp_path / "m")])
    assert result.exit_code == 1 and "single class" in result.stderr
    run = RunStore(tmp_path / "runs").get("last")
    assert run["status"] == "failed" and "single class" in run["error"]


def test_runs_errors_are_one_line(tmp_path):
    result = runner.invoke(app, ["runs", "show", "nope", "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 1 and result.stderr.startswith("error: no run 'nope'")
    result = runner.invoke(app, ["runs", "delete", "last", "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 1 and "there are no runs" in result.stderr


def test_runs_delete(trained):
    _, runs = trained
    result = runner.invoke(app, ["runs", "delete", "first", "--runs-dir", str(runs)])
    assert result.exit_code == 0 and "deleted run" in result.output
    assert [r["name"] for r in RunStore(runs).list()] == ["second"]


def _interrupted_copy(runs, source, dataset=None):
    """A run with the settings of ``source`` marked interrupted (as after Ctrl-C), without checkpoints."""
    store = RunStore(runs)
    run = store.get(source)
    run_id = store.create("copy", config=run["config"], seed=run["seed"], dataset=dataset or run["dataset"])
    store.finish(run_id, "interrupted")
    return run_id


def test_resume_refuses_a_finished_run(trained):
    _, runs = trained
    result = runner.invoke(app, ["train", "--resume", "second", "--runs-dir", str(runs)])
    assert result.exit_code == 1 and "has finished; there is nothing to resume" in result.stderr


def test_resume_refuses_options_that_change_the_run(trained):
    _, runs = trained
    run_id = _interrupted_copy(runs, "second")
    result = runner.invoke(app, ["train", "--resume", run_id, "--epochs", "50", "--runs-dir", str(runs)])
    assert result.exit_code == 1 and "recorded settings (--epochs 5); drop --epochs" in result.stderr


def test_resume_refuses_changed_data(trained):
    _, runs = trained
    run_id = _interrupted_copy(runs, "second", dataset="0000000000000000")
    result = runner.invoke(app, ["train", "--resume", run_id, "--runs-dir", str(runs)])
    assert result.exit_code == 1 and "has changed since it started" in result.stderr


def test_resume_without_checkpoints_is_a_clear_error(trained):
    _, runs = trained
    run_id = _interrupted_copy(runs, "second")
    result = runner.invoke(app, ["train", "--resume", run_id, "--runs-dir", str(runs)])
    assert result.exit_code == 1 and "has no checkpoint to resume from" in result.stderr
    assert RunStore(runs).get(run_id)["status"] == "interrupted"  # untouched


def test_a_bad_checkpoint_interval_is_refused_before_any_run_starts(tmp_path):
    result = runner.invoke(app, ["train", "--data", "iris", "--checkpoint-every", "-1", "--runs-dir", str(tmp_path)])
    assert result.exit_code == 1 and "--checkpoint-every -1" in result.stderr
    assert RunStore(tmp_path).list() == []
