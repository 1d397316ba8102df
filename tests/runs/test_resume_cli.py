"""`learnable train --resume RUN`: a run stopped by SIGTERM or killed by SIGKILL at a random moment
finishes with the same model, bitwise, as a run that was never stopped."""

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from safetensors.torch import load_file

from learnable.runs import RunStore

LEARNABLE = Path(sys.executable).parent / "learnable"
ARGS = ["train", "--data", "wine", "--model", "mlp", "--epochs", "12", "--checkpoint-every", "1",
        "--deterministic"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def _learnable(*args, **kwargs):
    return subprocess.run([str(LEARNABLE), *args], capture_output=True, text=True, timeout=300, env=ENV, **kwargs)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reference")
    result = _learnable(*ARGS, "--runs-dir", str(folder / "runs"), "--out", str(folder / "model"))
    assert result.returncode == 0, result.stderr
    return load_file(folder / "model" / "model.safetensors")


def _stop_then_resume(tmp_path, reference, how):
    runs, out = tmp_path / "runs", tmp_path / "model"
    process = subprocess.Popen([str(LEARNABLE), *ARGS, "--runs-dir", str(runs), "--out", str(out)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    deadline = time.time() + 120
    while not list(runs.glob("*/checkpoints/ckpt-*.json")) and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(random.Random(how).uniform(0.0, 0.3))  # somewhere in the run
    process.send_signal(how)
    _, stderr = process.communicate(timeout=120)
    if process.returncode == 0:
        pytest.skip("the run finished before the signal arrived")  # too fast a machine for this timing
    status = RunStore(runs).get("last")["status"]
    if how == signal.SIGTERM:
        assert process.returncode == 130 and "--resume" in stderr and status == "interrupted"
    else:
        assert process.returncode == -9 and status == "running"  # killed: nothing could record it
    resumed = _learnable("train", "--resume", "last", "--runs-dir", str(runs))  # progress on, as users run it
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming run" in resumed.stdout
    weights = load_file(out / "model.safetensors")
    assert weights.keys() == reference.keys()
    assert all((weights[k] == reference[k]).all() for k in weights)
    assert RunStore(runs).get("last")["status"] == "finished"


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_stopped_training_resumes_to_the_same_model(tmp_path, reference, how):
    _stop_then_resume(tmp_path, reference, how)
