"""Hostile model files and checkpoints are refused with a clear error and never run their code.

The corpus: a pickle whose __reduce__ would write a marker file; torch.save of an arbitrary object
named as the weights (and as a checkpoint, with a valid checksum); safetensors files whose header
lies: a header length past the end of the file, overlapping tensor offsets, offsets that do not match
the dtype and shape, and a header that is not JSON.
"""

import hashlib
import json
import pickle
import shutil
import struct
from pathlib import Path

import pytest
import torch

import learnable
from learnable.callbacks.checkpoint import load_checkpoint


class Payload:
    """Unpickling this would call Path.write_text on the marker: the attack."""

    marker = ""

    def __reduce__(self):
        return (Path.write_text, (Path(Payload.marker), "code ran"))


def _safetensors(header: dict, data: bytes, declared_length: int | None = None) -> bytes:
    text = json.dumps(header).encode()
    return struct.pack("<Q", declared_length if declared_length is not None else len(text)) + text + data


@pytest.fixture(scope="module")
def saved(tmp_path_factory, iris):
    folder = tmp_path_factory.mktemp("hostile") / "model"
    learnable.fit(*iris, model="logistic", num_epochs=2).save(folder)
    return folder


def _copy_with_weights(saved: Path, tmp_path: Path, weights: bytes) -> Path:
    folder = tmp_path / "model"
    shutil.copytree(saved, folder)
    (folder / "model.safetensors").write_bytes(weights)
    return folder


WEIGHT = {"dtype": "F32", "shape": [3, 4], "data_offsets": [0, 48]}
BIAS = {"dtype": "F32", "shape": [3], "data_offsets": [48, 60]}
CORPUS = {
    "header length past the end": _safetensors({"linear.weight": WEIGHT, "linear.bias": BIAS}, b"\0" * 60, 10**9),
    "overlapping offsets": _safetensors(
        {"linear.weight": WEIGHT, "linear.bias": {**BIAS, "data_offsets": [40, 52]}}, b"\0" * 60),
    "offsets do not match dtype and shape": _safetensors(
        {"linear.weight": {**WEIGHT, "data_offsets": [0, 20]}, "linear.bias": {**BIAS, "data_offsets": [20, 32]}},
        b"\0" * 32),
    "data shorter than declared": _safetensors({"linear.weight": WEIGHT, "linear.bias": BIAS}, b"\0" * 30),
    "header is not JSON": struct.pack("<Q", 12) + b"not json at!" + b"\0" * 60,
}


@pytest.mark.parametrize("name", list(CORPUS))
def test_lying_safetensors_headers_are_refused(saved, tmp_path, name):
    folder = _copy_with_weights(saved, tmp_path, CORPUS[name])
    with pytest.raises(ValueError, match=r"cannot read the weights in"):
        learnable.load(folder)


@pytest.mark.parametrize("kind", ["pickle", "torch.save"])
def test_pickled_weights_never_run(saved, tmp_path, kind):
    Payload.marker = str(tmp_path / "marker")
    if kind == "pickle":
        weights = pickle.dumps(Payload())
    else:
        buffer = tmp_path / "buffer"
        torch.save({"linear.weight": Payload()}, buffer)
        weights = buffer.read_bytes()
    folder = _copy_with_weights(saved, tmp_path, weights)
    with pytest.raises(ValueError, match=r"cannot read the weights in"):
        learnable.load(folder)
    assert not (tmp_path / "marker").exists()


def test_a_checkpoint_holding_an_arbitrary_object_never_runs(tmp_path):
    Payload.marker = str(tmp_path / "marker")
    path = tmp_path / "ckpt-000000001.pt"
    torch.save({"format": "learnable-checkpoint", "step": 1, "model": Payload()}, path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    path.with_suffix(".json").write_text(json.dumps({"file": path.name, "sha256": digest, "step": 1, "epoch": 0}))
    with pytest.raises(ValueError, match=r"refusing to load .* not a safe learnable checkpoint"):
        load_checkpoint(tmp_path)
    assert not (tmp_path / "marker").exists()


def test_a_checkpoint_of_another_program_is_refused(tmp_path):
    path = tmp_path / "ckpt-000000001.pt"
    torch.save({"weights": torch.zeros(2)}, path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    path.with_suffix(".json").write_text(json.dumps({"file": path.name, "sha256": digest, "step": 1, "epoch": 0}))
    with pytest.raises(ValueError, match=r"is not a learnable checkpoint"):
        load_checkpoint(tmp_path)
