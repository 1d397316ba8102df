"""Exact resume after SIGKILL: a training process killed at a chosen moment, then resumed in a new
process, ends with model and optimizer states bitwise equal to a run that was never interrupted.

Kill points: a step in the middle of an epoch, the last batch of an epoch, during validation, and in
the middle of writing a checkpoint. Many more steps run under the `slow` marker.
"""

import random
import subprocess
import sys
import textwrap

import pytest
import torch

SCRIPT = textwrap.dedent(
    """
    import os, signal, sys
    import torch
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    import learnable
    from learnable.train.checkpoint import Checkpoint
    from learnable.train.events import Callback

    directory, mode, at = sys.argv[1], sys.argv[2], int(sys.argv[3])

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    class Kill(Callback):
        order = 95
        def after_batch(self, learner):
            if mode == "step" and learner.step == at:
                die()
        def after_validate(self, learner):
            if mode == "validate" and learner.epoch + 1 == at:
                die()

    if mode == "write":  # die with a checkpoint half written
        real_save = torch.save
        def dying_save(obj, handle, *args, **kwargs):
            if isinstance(obj, dict) and obj.get("step") == at:
                handle.write(b"half a checkpoint")
                handle.flush()
                die()
            return real_save(obj, handle, *args, **kwargs)
        torch.save = dying_save

    resume = directory if any(f.endswith(".pt") for f in os.listdir(directory)) else None
    X, y, _ = learnable.datasets.load("wine")
    learnable.fit(X, y, model="mlp", num_epochs=4, seed=0, resume=resume,
                  callbacks=[Checkpoint(directory, every_steps=1, keep=2, handle_signals=False), Kill()])
    """
)
STEPS_PER_EPOCH, EPOCHS = 9, 4  # wine: 142 training rows in batches of 16


def _run(tmp_path, directory, mode="none", at=0):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    directory.mkdir(exist_ok=True)
    return subprocess.run([sys.executable, str(script), str(directory), mode, str(at)], capture_output=True,
                          text=True, timeout=300)


def _final_state(directory):
    from learnable.train.checkpoint import load_checkpoint

    state = load_checkpoint(directory)
    assert state["step"] == STEPS_PER_EPOCH * EPOCHS
    return state


def _assert_bitwise_equal(a, b):
    assert a["model"].keys() == b["model"].keys()
    for name in a["model"]:
        assert torch.equal(a["model"][name], b["model"][name]), name
    for index, fields in a["optimizer"]["state"].items():
        for field, value in fields.items():
            assert torch.equal(value, b["optimizer"]["state"][index][field]), (index, field)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reference")
    result = _run(folder, folder / "ckpt")
    assert result.returncode == 0, result.stderr
    return _final_state(folder / "ckpt")


def _kill_and_resume(tmp_path, reference, mode, at):
    directory = tmp_path / "ckpt"
    killed = _run(tmp_path, directory, mode, at)
    assert killed.returncode == -9, killed.stderr  # SIGKILL: no cleanup ran
    resumed = _run(tmp_path, directory)
    assert resumed.returncode == 0, resumed.stderr
    _assert_bitwise_equal(_final_state(directory), reference)


@pytest.mark.parametrize(
    ("mode", "at"),
    [("step", 5), ("step", STEPS_PER_EPOCH), ("validate", 2), ("write", 12)],
    ids=["mid epoch", "last batch of epoch 1", "validation of epoch 2", "during a checkpoint write"],
)
def test_killed_and_resumed_equals_uninterrupted(tmp_path, reference, mode, at):
    _kill_and_resume(tmp_path, reference, mode, at)


@pytest.mark.slow
@pytest.mark.parametrize("at", sorted(random.Random(0).sample(range(1, STEPS_PER_EPOCH * EPOCHS), 12)))
def test_killed_at_many_steps(tmp_path, reference, at):
    _kill_and_resume(tmp_path, reference, "step", at)


@pytest.mark.slow
@pytest.mark.parametrize("at", [3, 18, 30])
def test_killed_during_many_writes(tmp_path, reference, at):
    _kill_and_resume(tmp_path, reference, "write", at)
