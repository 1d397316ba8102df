"""Exact resume after a kill, as users meet it: `learnable train` with its default callbacks (the
progress bar on, drawn live as in a terminal) killed at a chosen moment, then `learnable train
--resume last` in a new process, ends with model and optimizer states bitwise equal to a run that
was never interrupted, and with the same saved model.

Kill points: a step in the middle of an epoch (between two step checkpoints), the last batch of an
epoch, during validation, in the middle of writing a checkpoint, and SIGTERM / SIGINT (Ctrl-C), which
save a checkpoint at the next step. The kill is placed in the process by wrapping the Learner's batch
step and validation (the test's only hook); everything else is the CLI as shipped. Many more kill
points run under the `slow` marker.
"""

import os
import random
import subprocess
import sys
import textwrap

import pytest
import torch
from safetensors.torch import load_file

from learnable.callbacks.checkpoint import load_checkpoint

SCRIPT = textwrap.dedent(
    """
    import os, signal, sys
    import torch
    import learnable.cli
    from learnable.train.learner import Learner

    runs, out, mode, at = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    train_batch, validate = Learner._train_batch, Learner.validate

    def dying_batch(self, xb, yb):
        train_batch(self, xb, yb)
        if self.step == at and mode == "step":
            die()
        if self.step == at and mode in ("SIGTERM", "SIGINT"):
            os.kill(os.getpid(), getattr(signal, mode))  # the Checkpoint saves at the next step, then stops

    def dying_validate(self, data=None):
        if mode == "validate" and self.outcome == "running" and self.epoch + 1 == at:
            die()
        return validate(self, data)

    Learner._train_batch, Learner.validate = dying_batch, dying_validate

    if mode == "write":  # die with a checkpoint half written
        real_save = torch.save
        def dying_save(obj, handle, *args, **kwargs):
            if isinstance(obj, dict) and obj.get("step") == at:
                handle.write(b"half a checkpoint")
                handle.flush()
                die()
            return real_save(obj, handle, *args, **kwargs)
        torch.save = dying_save

    resume = ["--resume", "last"] if mode == "resume" else []
    sys.argv = ["learnable", "train", "--data", "wine", "--model", "mlp", "--epochs", "4", "--checkpoint-every", "4",
                "--deterministic", "--runs-dir", runs, "--out", out, *resume]
    learnable.cli.main()
    """
)
STEPS_PER_EPOCH, EPOCHS = 9, 4  # wine: 142 training rows in batches of 16
FIRST_CHECKPOINT = 4  # --checkpoint-every 4: a run killed before step 4 has nothing to resume from
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "FORCE_COLOR": "1", "COLUMNS": "100"}  # rich draws the live bar


def _run(tmp_path, mode="none", at=0):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    command = [sys.executable, str(script), str(tmp_path / "runs"), str(tmp_path / "model"), mode, str(at)]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, env=ENV)


def _final_state(folder):
    (checkpoints,) = (folder / "runs").glob("*/checkpoints")
    state = load_checkpoint(checkpoints)
    assert state["step"] == STEPS_PER_EPOCH * EPOCHS
    return state, load_file(folder / "model" / "model.safetensors")


def _assert_bitwise_equal(a, b):
    (state_a, model_a), (state_b, model_b) = a, b
    for name in (*state_a["model"], *state_b["model"]):
        assert torch.equal(state_a["model"][name], state_b["model"][name]), name
    for index, fields in state_a["optimizer"]["state"].items():
        for field, value in fields.items():
            assert torch.equal(value, state_b["optimizer"]["state"][index][field]), (index, field)
    assert model_a.keys() == model_b.keys()
    assert all(torch.equal(model_a[k], model_b[k]) for k in model_a)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reference")
    result = _run(folder)
    assert result.returncode == 0, result.stderr
    assert "epoch 4/4" in result.stdout  # the progress bar's lines were printed
    return _final_state(folder)


def _kill_and_resume(tmp_path, reference, mode, at):
    killed = _run(tmp_path, mode, at)
    expected = 130 if mode in ("SIGTERM", "SIGINT") else -9  # a signal saves and exits; SIGKILL runs nothing
    assert killed.returncode == expected, killed.stderr
    resumed = _run(tmp_path, "resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming run" in resumed.stdout and "epoch 4/4" in resumed.stdout
    _assert_bitwise_equal(_final_state(tmp_path), reference)


@pytest.mark.parametrize(
    ("mode", "at"),
    [("step", 6), ("step", STEPS_PER_EPOCH), ("validate", 2), ("write", 12), ("SIGTERM", 14), ("SIGINT", 3)],
    ids=["mid epoch", "last batch of epoch 1", "validation of epoch 2", "during a checkpoint write",
         "SIGTERM mid epoch", "Ctrl-C mid epoch"],
)
def test_killed_and_resumed_equals_uninterrupted(tmp_path, reference, mode, at):
    _kill_and_resume(tmp_path, reference, mode, at)


def test_killed_before_the_first_checkpoint_says_so_in_one_line(tmp_path):
    assert _run(tmp_path, "step", FIRST_CHECKPOINT - 1).returncode == -9
    resumed = _run(tmp_path, "resume")
    assert resumed.returncode == 1 and "Traceback" not in resumed.stderr
    assert "has no checkpoint to resume from" in resumed.stderr and "start it again without --resume" in resumed.stderr


@pytest.mark.slow
@pytest.mark.parametrize("at", sorted(random.Random(0).sample(range(FIRST_CHECKPOINT, STEPS_PER_EPOCH * EPOCHS), 12)))
def test_killed_at_many_steps(tmp_path, reference, at):
    _kill_and_resume(tmp_path, reference, "step", at)


@pytest.mark.slow
@pytest.mark.parametrize("at", [8, 18, 28])  # after the first checkpoint (step 4): before it there is none
def test_killed_during_many_writes(tmp_path, reference, at):
    _kill_and_resume(tmp_path, reference, "write", at)
