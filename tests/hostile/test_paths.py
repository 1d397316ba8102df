"""Paths a new user (or someone else on the machine) hands learnable: saving into folders that hold other
files, outputs that are inputs, links planted at temporary names, crashes and read-only folders mid-save.

A save replaces only the files a model owns (model.json, model.safetensors); an output that is an input
by any name is refused before any work; every file is written whole through learnable.utils.files.write_atomically.
"""

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import learnable
import learnable.model_file
import learnable.utils.files
from cli_checks import assert_user_error
from learnable.callbacks.checkpoint import save_checkpoint
from learnable.cli import app
from learnable.runs import RunStore

runner = CliRunner()


def _tree(folder: Path) -> dict[str, bytes | str]:
    """Every file under ``folder`` (relative name -> bytes; a link -> where it points)."""
    return {str(p.relative_to(folder)): (f"-> {os.readlink(p)}" if p.is_symlink() else p.read_bytes())
            for p in sorted(folder.rglob("*")) if p.is_symlink() or p.is_file()}


def _outside_runs(tree: dict) -> dict:
    """The files outside runs/ (where opening the run store may create its database)."""
    return {name: content for name, content in tree.items() if not name.startswith("runs/")}


def _runs(runs_dir: Path) -> int:
    return len(RunStore(runs_dir).list(1000)) if (runs_dir / "runs.sqlite").exists() else 0


@pytest.fixture(scope="module")
def fitted(iris):
    """Two different models of one architecture, fitted once for the module."""
    X, y = iris
    return (learnable.fit(X, y, model="logistic", num_epochs=2, seed=0),
            learnable.fit(X, y, model="logistic", num_epochs=3, seed=1))


@pytest.fixture
def project(tmp_path, iris, fitted):
    """A user's project: the iris CSV (with its 'species' target), a saved model, and a runs folder."""
    X, y = iris
    X.assign(species=y).to_csv(tmp_path / "iris.csv", index=False)
    fitted[0].save(tmp_path / "model")
    (tmp_path / "runs").mkdir()
    return tmp_path


# ---- saving over a model folder keeps everything else ---------------------------------------------------


def test_two_saves_keep_foreign_files_and_folders(tmp_path, iris, fitted):
    first, second = fitted
    folder = first.save(tmp_path / "mdl")
    (folder / "NOTES.txt").write_text("why this model")
    (folder / "predictions" / "old").mkdir(parents=True)
    (folder / "predictions" / "p.csv").write_text("prediction\n1\n")
    (folder / "predictions" / "old" / "q.csv").write_text("prediction\n2\n")
    foreign = {k: v for k, v in _tree(folder).items() if not k.startswith("model.")}
    second.save(folder)
    assert {k: v for k, v in _tree(folder).items() if not k.startswith("model.")} == foreign
    assert sorted(p.name for p in folder.iterdir()) == ["NOTES.txt", "model.json", "model.safetensors", "predictions"]
    np.testing.assert_array_equal(learnable.load(folder).predict_proba(iris[0]), second.predict_proba(iris[0]))


def test_train_twice_into_one_folder_keeps_notes_and_predictions(project):
    args = ["train", "--data", str(project / "iris.csv"), "--target", "species", "--model", "logistic",
            "--epochs", "2", "--out", str(project / "mdl"), "--quiet"]
    assert runner.invoke(app, args).exit_code == 0
    (project / "mdl" / "NOTES.txt").write_text("notes")
    (project / "mdl" / "predictions").mkdir()
    (project / "mdl" / "predictions" / "p.csv").write_text("prediction\n")
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert (project / "mdl" / "NOTES.txt").read_text() == "notes"
    assert (project / "mdl" / "predictions" / "p.csv").read_text() == "prediction\n"
    assert learnable.load(project / "mdl").schema_.target_name == "species"


def test_out_dot_in_a_project_folder_keeps_the_project(project, monkeypatch):
    shutil.copy(project / "model" / "model.json", project / "model.json")  # the project holds a model
    shutil.copy(project / "model" / "model.safetensors", project / "model.safetensors")
    (project / "analysis.ipynb").write_text("{}")
    (project / "src").mkdir()
    (project / "src" / "app.py").write_text("print('hi')\n")
    (project / "runs" / "old.txt").write_text("an old run")
    before = {k: v for k, v in _tree(project).items() if not k.startswith(("model.", "runs/"))}
    monkeypatch.chdir(project)
    result = runner.invoke(app, ["train", "--data", "iris.csv", "--target", "species", "--model", "logistic",
                                 "--epochs", "2", "--out", ".", "--runs-dir", "runs", "--quiet"])
    assert result.exit_code == 0, result.output
    assert {k: v for k, v in _tree(project).items() if not k.startswith(("model.", "runs/"))} == before
    assert (project / "runs" / "old.txt").read_text() == "an old run"
    assert learnable.load(project).schema_.target_name == "species"


def test_out_dot_with_a_model_json_of_another_program_is_refused(project, monkeypatch):
    (project / "model.json").write_text('{"layers": 3}')
    before = _tree(project)
    monkeypatch.chdir(project)
    result = runner.invoke(app, ["train", "--data", "iris.csv", "--target", "species", "--model", "logistic",
                                 "--epochs", "2", "--out", ".", "--runs-dir", "runs"])
    assert_user_error(result, "model.json", "is not a learnable model", "refusing to replace")
    assert _outside_runs(_tree(project)) == _outside_runs(before) and _runs(project / "runs") == 0


def test_a_folder_of_foreign_files_is_saved_into_and_keeps_them(tmp_path, fitted):
    (tmp_path / "thesis").mkdir()
    (tmp_path / "thesis" / "chapter1.txt").write_text("precious")
    path = fitted[0].save(tmp_path / "thesis")
    assert (path / "chapter1.txt").read_text() == "precious"
    assert sorted(os.listdir(path)) == ["chapter1.txt", "model.json", "model.safetensors"]


@pytest.mark.parametrize("owned", ["model.safetensors", "model.json"])
def test_a_foreign_file_under_a_model_files_name_is_never_overwritten(tmp_path, fitted, owned):
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / owned).write_bytes(b"someone else's weights")
    with pytest.raises(ValueError, match=rf"'{owned}'.* refusing to replace"):
        fitted[0].save(tmp_path / "other")
    assert _tree(tmp_path / "other") == {owned: b"someone else's weights"}


def test_a_kmeans_and_an_rl_agent_keep_foreign_files_too(tmp_path):
    from learnable.classic import KMeans

    X = np.random.default_rng(0).normal(size=(30, 2))
    path = KMeans(2, seed=0).fit(X).save(tmp_path / "kmeans")
    (path / "NOTES.txt").write_text("mine")
    KMeans(3, seed=0).fit(X).save(path)
    assert (path / "NOTES.txt").read_text() == "mine" and KMeans.load(path).n_clusters == 3
    rl = pytest.importorskip("learnable.rl")
    agent = rl.QLearning("FrozenLake-v1", seed=0).learn(200)
    agent.save(path)  # another kind of model over the k-means: its files replaced, the notes kept
    assert (path / "NOTES.txt").read_text() == "mine" and rl.Agent.load(path).steps_done_ == 200


# ---- a save that fails or is cut short ----------------------------------------------------------------------


def _crash(*args, **kwargs):
    raise KeyboardInterrupt  # Ctrl-C or SIGTERM in the middle of the save


def test_a_crash_while_writing_the_weights_keeps_the_old_model(project, iris, fitted, monkeypatch):
    folder, before = project / "model", _tree(project / "model")
    monkeypatch.setattr(learnable.model_file, "serialize", _crash)
    with pytest.raises(KeyboardInterrupt):
        fitted[1].save(folder)
    monkeypatch.undo()
    assert _tree(folder) == before  # no temporary file left either
    np.testing.assert_array_equal(learnable.load(folder).predict_proba(iris[0]), fitted[0].predict_proba(iris[0]))


def test_a_crash_between_the_two_files_puts_the_old_json_back(project, iris, fitted, monkeypatch):
    folder, before = project / "model", _tree(project / "model")
    replace, moved = os.replace, []

    def crash_on_the_second_file(source, destination):
        moved.append(Path(destination).name)
        if len(moved) == 2:  # model.json is in place, the weights are not yet
            raise KeyboardInterrupt
        replace(source, destination)

    monkeypatch.setattr(os, "replace", crash_on_the_second_file)
    with pytest.raises(KeyboardInterrupt):
        fitted[1].save(folder)
    monkeypatch.undo()
    assert moved[:2] == ["model.json", "model.safetensors"]
    assert _tree(folder) == before
    np.testing.assert_array_equal(learnable.load(folder).predict_proba(iris[0]), fitted[0].predict_proba(iris[0]))


def test_new_json_beside_old_weights_is_noticed_not_loaded(tmp_path, fitted):
    old, new = fitted[0].save(tmp_path / "old"), fitted[1].save(tmp_path / "new")
    shutil.copy(new / "model.json", old / "model.json")  # the power went out between the two renames
    with pytest.raises(ValueError, match=r"safetensors' does not match .*model.json.*interrupted.*Save the model"):
        learnable.load(old)


def test_an_unwritable_model_folder_is_a_clear_error_and_nothing_is_half_written(project, fitted, monkeypatch):
    folder, before = project / "model", _tree(project / "model")

    def refused(path, flags, mode=0o777):
        if flags & os.O_CREAT:
            raise PermissionError(13, "Permission denied", str(path))
        return opened(path, flags, mode)

    opened = os.open
    monkeypatch.setattr(os, "open", refused)  # what a read-only folder does (root ignores chmod)
    with pytest.raises(PermissionError, match=r"cannot write '.*model.safetensors': Permission denied.*not writable"):
        fitted[1].save(folder)
    monkeypatch.undo()
    assert _tree(folder) == before


def test_a_read_only_out_folder_is_refused_before_training(project, monkeypatch):
    real_access = os.access
    def no_writing_in_model(path, mode, **kwargs):  # root ignores chmod: deny writing the way it would
        return not (mode & os.W_OK and Path(path).name == "model") and real_access(path, mode, **kwargs)

    monkeypatch.setattr(os, "access", no_writing_in_model)
    result = runner.invoke(app, ["train", "--data", str(project / "iris.csv"), "--target", "species",
                                 "--out", str(project / "model"), "--runs-dir", str(project / "runs")])
    assert_user_error(result, "not writable")
    assert _runs(project / "runs") == 0


# ---- an output that is an input is refused before any work -------------------------------------------------


def _links(project: Path, kind: str) -> Path:
    """The data file itself, or a symlink or hard link to it."""
    data = project / "iris.csv"
    if kind == "same":
        return data
    link = project / f"{kind}.csv"
    (link.symlink_to if kind == "symlink" else link.hardlink_to)(data)
    return link


@pytest.mark.parametrize("kind", ["same", "symlink", "hardlink"])
def test_predict_refuses_to_write_over_its_data(project, kind):
    out = _links(project, kind)
    before = _tree(project)
    result = runner.invoke(app, ["predict", str(project / "model"), str(project / "iris.csv"), "--out", str(out)])
    assert_user_error(result, f"--out '{out}'", "the input", "Choose another path for --out")
    assert _tree(project) == before


def test_predict_refuses_to_write_over_the_model(project):
    before = _tree(project)
    out = project / "model" / "model.json"
    result = runner.invoke(app, ["predict", str(project / "model"), str(project / "iris.csv"), "--out", str(out)])
    assert_user_error(result, "is the input")
    assert _tree(project) == before and learnable.load(project / "model") is not None


WRITERS = {  # command -> (its arguments around DATA, the flag that writes, a suffix it accepts)
    "cluster --labels-out": (["cluster", "--k", "2", "--target", "species"], "--labels-out", ".csv"),
    "cluster --plot": (["cluster", "--k", "2", "--target", "species"], "--plot", ".png"),
    "cluster --out": (["cluster", "--k", "2", "--target", "species"], "--out", ".csv"),
    "reduce --coordinates-out": (["reduce", "--target", "species"], "--coordinates-out", ".csv"),
    "reduce --plot": (["reduce", "--target", "species"], "--plot", ".png"),
    "reduce --out": (["reduce", "--target", "species"], "--out", ".csv"),
    "train --out": (["train", "--target", "species", "--model", "logistic", "--epochs", "1"], "--out", ".csv"),
    "lr-find --plot": (["lr-find", "--target", "species", "--model", "logistic", "--steps", "5"], "--plot", ".png"),
}


@pytest.mark.parametrize("command", list(WRITERS))
def test_every_writing_option_refuses_the_data_it_reads(project, command):
    args, flag, suffix = WRITERS[command]
    out = project / "iris.csv" if suffix == ".csv" else project / f"link{suffix}"
    if suffix != ".csv":
        out.symlink_to(project / "iris.csv")  # a plot path that leads to the data
    before = _tree(project)
    runs = [] if args[0] == "lr-find" else ["--runs-dir", str(project / "runs")]  # lr-find records no run
    result = runner.invoke(app, [*args, "--data", str(project / "iris.csv"), flag, str(out), *runs])
    assert_user_error(result, f"{flag} '{out}'", "the input")
    assert _outside_runs(_tree(project)) == _outside_runs(before) and _runs(project / "runs") == 0


def test_forecast_and_the_language_model_refuse_their_data_as_out(tmp_path):
    pd.DataFrame({"value": np.sin(np.arange(80) / 4)}).to_csv(tmp_path / "series.csv", index=False)
    (tmp_path / "text.txt").write_text("to be or not to be, that is the question. " * 40)
    before = _tree(tmp_path)
    assert_user_error(runner.invoke(app, ["forecast", "--data", str(tmp_path / "series.csv"), "--column", "value",
                                          "--out", str(tmp_path / "series.csv"), "--runs-dir", str(tmp_path / "runs")]),
                      "is the input")
    assert_user_error(runner.invoke(app, ["train", "--task", "language-model", "--data", str(tmp_path / "text.txt"),
                                          "--out", str(tmp_path / "text.txt"), "--runs-dir", str(tmp_path / "runs")]),
                      "is the input")
    assert _outside_runs(_tree(tmp_path)) == before and _runs(tmp_path / "runs") == 0


def test_outputs_of_one_command_must_differ(project):
    before = _tree(project)
    result = runner.invoke(app, ["cluster", "--data", str(project / "iris.csv"), "--k", "2", "--target", "species",
                                 "--labels-out", str(project / "out.csv"), "--out", str(project / "out.csv"),
                                 "--runs-dir", str(project / "runs")])
    assert_user_error(result, "--out", "--labels-out", "same path")
    assert _outside_runs(_tree(project)) == _outside_runs(before)


def test_rl_refuses_a_gif_and_an_agent_on_one_path(tmp_path):
    pytest.importorskip("gymnasium")
    result = runner.invoke(app, ["rl", "CartPole-v1", "--steps", "100", "--record", str(tmp_path / "x.gif"),
                                 "--out", str(tmp_path / "x.gif"), "--runs-dir", str(tmp_path / "runs")])
    assert_user_error(result, "--record and --out name the same path")
    assert _runs(tmp_path / "runs") == 0 and not (tmp_path / "x.gif").exists()


def test_a_model_saved_into_the_data_folder_keeps_the_data(project):
    before = _tree(project)["iris.csv"]
    result = runner.invoke(app, ["cluster", "--data", str(project / "iris.csv"), "--k", "2", "--target", "species",
                                 "--out", str(project), "--runs-dir", str(project / "runs")])
    assert result.exit_code == 0, result.output
    assert _tree(project)["iris.csv"] == before
    assert learnable.classic.KMeans.load(project).n_clusters == 2


@pytest.fixture
def recorded(tmp_path):
    """A runs folder with one finished cluster run (and its report)."""
    frame = pd.DataFrame(np.random.default_rng(0).normal(size=(40, 2)), columns=["a", "b"])
    frame.to_csv(tmp_path / "points.csv", index=False)
    result = runner.invoke(app, ["cluster", "--data", str(tmp_path / "points.csv"), "--k", "2",
                                 "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    return tmp_path


def test_report_refuses_to_write_over_the_run_database(recorded):
    database = recorded / "runs" / "runs.sqlite"
    (recorded / "r.html").hardlink_to(database)
    before = database.read_bytes()
    result = runner.invoke(app, ["report", "last", "--out", str(recorded / "r.html"),
                                 "--runs-dir", str(recorded / "runs")])
    assert_user_error(result, "is a link or another name for the input")
    assert database.read_bytes() == before


# ---- temporary files and outputs that are links --------------------------------------------------------------


def _plant_links(folder: Path, names: list[str], victim: Path, monkeypatch) -> Iterator[str]:
    """Links to ``victim`` at the temporary name write_atomically tries first for each file of ``names`` (in the
    order they are written), and at the fixed names the first report found (``.pred.csv.tmp``).

    The random part of the name is fixed ("planted", then "free<i>" once that is taken), so the links
    sit where the helper really opens; return the names still to be handed out (none once all are tried).
    """
    tokens = iter([token for index in range(len(names)) for token in ("planted", f"free{index}")])
    monkeypatch.setattr(learnable.utils.files.secrets, "token_hex", lambda _: next(tokens))
    for name in names:
        (folder / f".{name}.planted.tmp").symlink_to(victim)
        (folder / f".{name}.tmp").symlink_to(victim)
    return tokens


def test_a_link_planted_at_the_predictions_temporary_name_is_not_followed(project, monkeypatch):
    victim = project / "victim.txt"
    victim.write_text("precious")
    tokens = _plant_links(project, ["pred.csv"], victim, monkeypatch)
    result = runner.invoke(app, ["predict", str(project / "model"), str(project / "iris.csv"),
                                 "--out", str(project / "pred.csv")])
    assert result.exit_code == 0, result.output
    assert next(tokens, None) is None  # the planted name was tried, and passed over
    assert victim.read_text() == "precious" and (project / ".pred.csv.planted.tmp").is_symlink()
    assert not (project / "pred.csv").is_symlink() and len(pd.read_csv(project / "pred.csv")) == 150


def test_a_link_planted_at_the_report_temporary_name_is_not_followed(recorded, monkeypatch):
    victim = recorded / "victim.txt"
    victim.write_text("precious")
    tokens = _plant_links(recorded, ["r.html"], victim, monkeypatch)
    result = runner.invoke(app, ["report", "last", "--out", str(recorded / "r.html"),
                                 "--runs-dir", str(recorded / "runs")])
    assert result.exit_code == 0, result.output
    assert next(tokens, None) is None
    assert victim.read_text() == "precious" and "<html" in (recorded / "r.html").read_text().lower()


def test_links_planted_at_the_checkpoint_temporary_names_are_not_followed(tmp_path, monkeypatch):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    tokens = _plant_links(folder, ["ckpt-000000001b.pt", "ckpt-000000001b.json", "latest"], victim, monkeypatch)
    path = save_checkpoint(folder, {"step": 1, "epoch": 1, "weights": np.zeros(2).tolist()})
    assert next(tokens, None) is None
    assert victim.read_text() == "precious"
    assert (folder / "latest").read_text() == path.name
    assert json.loads(path.with_suffix(".json").read_text())["step"] == 1


def test_an_output_that_is_a_link_is_replaced_not_written_through(project):
    victim = project / "victim.csv"
    victim.write_text("precious")
    (project / "pred.csv").symlink_to(victim)
    result = runner.invoke(app, ["predict", str(project / "model"), str(project / "iris.csv"),
                                 "--out", str(project / "pred.csv")])
    assert result.exit_code == 0, result.output
    assert victim.read_text() == "precious" and not (project / "pred.csv").is_symlink()


def test_an_lr_find_plot_that_is_a_link_is_replaced_not_written_through(project):
    victim = project / "victim.png"
    victim.write_bytes(b"precious")
    (project / "lr.png").symlink_to(victim)
    result = runner.invoke(app, ["lr-find", "--data", str(project / "iris.csv"), "--target", "species",
                                 "--model", "logistic", "--steps", "5", "--plot", str(project / "lr.png")])
    assert result.exit_code == 0, result.output
    assert victim.read_bytes() == b"precious"
    assert not (project / "lr.png").is_symlink() and (project / "lr.png").read_bytes()[:4] == b"\x89PNG"


KILLED_BETWEEN_MOVES = """
import os, signal, sys
import torch
import learnable.model_file as model_file
from learnable.model_file import save_tensors

folder = sys.argv[1]
save_tensors(folder, {"w": torch.zeros(3)}, {"note": "old"})
real_move = model_file.move_into_place

def dying_move(staged, target):
    if str(target).endswith("model.safetensors"):  # model.json is in place, the weights are not yet
        os.kill(os.getpid(), signal.SIGKILL)
    real_move(staged, target)

model_file.move_into_place = dying_move
save_tensors(folder, {"w": torch.ones(3)}, {"note": "new"})
"""


def test_a_save_killed_between_its_two_moves_loads_the_new_model_whole(tmp_path):
    """SIGKILL (or a power cut) after model.json moved and before the weights did: the fsynced staged
    weights are found by the SHA-256 model.json records, so the new model loads, not a mix of two saves."""
    import subprocess
    import sys

    import torch

    from learnable.model_file import load_tensors

    folder = tmp_path / "model"
    killed = subprocess.run([sys.executable, "-c", KILLED_BETWEEN_MOVES, str(folder)], capture_output=True, text=True)
    assert killed.returncode == -9, killed.stderr
    assert list(folder.glob(".model.safetensors.*.tmp"))  # the cut-off save left its staged weights
    tensors, info = load_tensors(folder)
    assert info["note"] == "new" and torch.equal(tensors["w"], torch.ones(3))
