"""Model files: FittedModel.save + learnable.load round trips, atomic replacement, clear load errors.

Loading must never unpickle: a pickle disguised as the weights file is refused without running it.
"""

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import learnable
import learnable.model_file
from learnable.models import MLP


def _listing(directory: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(directory.iterdir())}


@pytest.fixture
def saved(tmp_path, iris_model) -> Path:
    return iris_model.save(tmp_path / "model")


@pytest.fixture(scope="module")
def other_model(iris):
    """A second iris model whose predictions differ from ``iris_model``'s."""
    return learnable.fit(*iris, model="logistic", num_epochs=5, seed=1)


# ---- round trips ---------------------------------------------------------------------------------


def test_load_gives_identical_predictions(iris, iris_model, saved):
    X, _ = iris
    loaded = learnable.load(saved)
    assert sorted(os.listdir(saved)) == ["model.json", "model.safetensors"]
    np.testing.assert_array_equal(loaded.predict(X), iris_model.predict(X))
    np.testing.assert_array_equal(loaded.predict_proba(X), iris_model.predict_proba(X))
    assert loaded.classes_ == iris_model.classes_
    assert loaded.metrics_ == iris_model.metrics_
    assert loaded.summary() == iris_model.summary()


def test_load_in_a_fresh_process_gives_identical_predictions(tmp_path, iris, iris_model, saved):
    X, _ = iris
    code = (
        "import json, sys, numpy as np, learnable\n"
        "X, _, _ = learnable.data.datasets.load('iris')\n"
        "model = learnable.load(sys.argv[1])\n"
        "np.save(sys.argv[2], model.predict_proba(X))\n"
        "open(sys.argv[3], 'w').write(json.dumps(model.predict(X).tolist()))\n"
    )
    proba_file, labels_file = tmp_path / "proba.npy", tmp_path / "labels.json"
    result = subprocess.run([sys.executable, "-c", code, str(saved), str(proba_file), str(labels_file)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(labels_file.read_text()) == iris_model.predict(X).tolist()
    np.testing.assert_allclose(np.load(proba_file), iris_model.predict_proba(X), rtol=0, atol=1e-7)


# ---- saving: refusals and atomic replacement -----------------------------------------------------


def test_save_into_a_folder_of_other_files_keeps_them(tmp_path, iris_model):
    folder = tmp_path / "thesis"
    folder.mkdir()
    (folder / "chapter1.txt").write_text("precious")
    iris_model.save(folder)
    assert sorted(_listing(folder)) == ["chapter1.txt", "model.json", "model.safetensors"]
    assert _listing(folder)["chapter1.txt"] == b"precious"
    assert os.listdir(tmp_path) == ["thesis"]


def test_save_refuses_a_directory_whose_model_json_is_not_ours(tmp_path, iris_model):
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "model.json").write_text('{"layers": 3}')
    (folder / "notes.txt").write_text("precious")
    with pytest.raises(ValueError, match="is not a learnable model"):
        iris_model.save(folder)
    assert _listing(folder) == {"model.json": b'{"layers": 3}', "notes.txt": b"precious"}


def test_save_refuses_a_file(tmp_path, iris_model):
    target = tmp_path / "model"
    target.write_text("not a folder")
    with pytest.raises(ValueError, match="it is a file, not a directory"):
        iris_model.save(target)
    assert target.read_text() == "not a folder"


def test_save_replaces_an_existing_model(tmp_path, iris, iris_model, other_model):
    X, _ = iris
    path = iris_model.save(tmp_path / "model")
    other_model.save(path)
    assert os.listdir(tmp_path) == ["model"]  # no staging or retired folders left behind
    np.testing.assert_array_equal(learnable.load(path).predict_proba(X), other_model.predict_proba(X))
    assert not np.array_equal(other_model.predict_proba(X), iris_model.predict_proba(X))


def test_failed_save_keeps_the_previous_model(tmp_path, monkeypatch, iris, iris_model, other_model):
    X, _ = iris
    path = iris_model.save(tmp_path / "model")
    before = _listing(path)

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(learnable.model_file, "serialize", disk_full)
    with pytest.raises(OSError, match="No space left on device"):
        other_model.save(path)
    assert os.listdir(tmp_path) == ["model"]
    assert _listing(path) == before
    np.testing.assert_array_equal(learnable.load(path).predict_proba(X), iris_model.predict_proba(X))


def test_failed_swap_keeps_the_previous_model(tmp_path, monkeypatch, iris_model, other_model):
    path = iris_model.save(tmp_path / "model")
    before = _listing(path)
    replace, calls = os.replace, []

    def fail_second_replace(source, destination):
        calls.append(source)
        if len(calls) == 2:  # the new model moving into place, after the old one moved aside
            raise OSError(5, "Input/output error")
        replace(source, destination)

    monkeypatch.setattr(os, "replace", fail_second_replace)
    with pytest.raises(OSError, match="Input/output error"):
        other_model.save(path)
    monkeypatch.undo()
    assert path.is_dir() and _listing(path) == before
    assert os.listdir(tmp_path) == ["model"]


def test_saved_folder_has_the_usual_permissions(tmp_path, iris_model):
    path = iris_model.save(tmp_path / "model")
    (tmp_path / "plain").mkdir()
    assert path.stat().st_mode & 0o777 == (tmp_path / "plain").stat().st_mode & 0o777


# ---- load errors ---------------------------------------------------------------------------------


def _edit_json(path: Path, change) -> None:
    document = json.loads((path / "model.json").read_text())
    change(document)
    (path / "model.json").write_text(json.dumps(document))


def _truncate_weights(path: Path) -> None:
    weights = path / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])


LOAD_ERRORS = {
    "missing model.json": (lambda p: (p / "model.json").unlink(), r"is not a learnable model: model.json is missing"),
    "missing weights": (lambda p: (p / "model.safetensors").unlink(), r"model.safetensors is missing"),
    "invalid JSON": (lambda p: (p / "model.json").write_text("{'format': "), r"model.json' is not valid JSON"),
    "no format key": (lambda p: _edit_json(p, lambda d: d.pop("format")),
                      r"is not a learnable model file \(no format 'learnable-model'\)"),
    "JSON list": (lambda p: (p / "model.json").write_text("[1, 2]"), r"is not a learnable model file"),
    "newer format": (lambda p: _edit_json(p, lambda d: d.update(format_version=2)),
                     r"saved by a newer learnable \(format 2\); upgrade learnable"),
    "unknown model": (lambda p: _edit_json(p, lambda d: d["model"].update(name="perceiver")),
                      r"unknown model 'perceiver'; known models are \['autoencoder', 'cnn'"),
    "shapes differ": (lambda p: _edit_json(p, lambda d: d["model"]["config"].update(in_features=5)),
                      r"the weights in '.*model.safetensors' do not match the model described in"),
    "truncated weights": (_truncate_weights, r"cannot read the weights in '.*model.safetensors'"),
    "garbage weights": (lambda p: (p / "model.safetensors").write_bytes(b"\x00garbage" * 3),
                        r"cannot read the weights in '.*model.safetensors'"),
}


@pytest.mark.parametrize("damage", LOAD_ERRORS.values(), ids=LOAD_ERRORS.keys())
def test_load_errors_say_what_is_wrong(saved, damage):
    change, message = damage
    change(saved)
    with pytest.raises(ValueError, match=message):
        learnable.load(saved)


def test_shape_mismatch_names_the_tensor_and_shapes(saved):
    _edit_json(saved, lambda d: d["model"]["config"].update(in_features=5))
    with pytest.raises(ValueError, match=r"size mismatch for .*torch.Size\(\[\d+, 4\]\)"):
        learnable.load(saved)


def test_format_version_that_is_not_a_number(saved):
    _edit_json(saved, lambda d: d.update(format_version="2"))
    with pytest.raises(ValueError, match="format_version"):
        learnable.load(saved)


def test_load_of_a_missing_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="no model directory at '.*nowhere'; expected a folder with"):
        learnable.load(tmp_path / "nowhere")


class _WritesMarker:
    """Unpickling this object would create the marker file: proof that code from the file ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_load_never_unpickles(tmp_path, saved):
    marker = tmp_path / "pwned"
    (saved / "model.safetensors").write_bytes(pickle.dumps(_WritesMarker(marker)))
    with pytest.raises(ValueError, match="cannot read the weights"):
        learnable.load(saved)
    assert not marker.exists()
    pickle.loads((saved / "model.safetensors").read_bytes())  # the payload is live: it does write the marker
    assert marker.exists()


def test_load_of_a_learner_save_explains_the_difference(tmp_path):
    X, y = np.zeros((8, 4), dtype=np.float32), np.arange(8) % 2
    learner = learnable.Learner(MLP(in_features=4, out_features=2), (X, y), validation=None, progress=False)
    path = learner.save(tmp_path / "bare")
    with pytest.raises(ValueError, match=r"holds a bare network \(saved by Learner.save\), not a fitted model"):
        learnable.load(path)
