"""Checkpoints: atomic and checksummed files, exact resume after a crash at any step, safe loading."""

import errno
import json
import pickle
import warnings

import pytest
import torch
from torch import nn

from learnable import Learner
from learnable.callbacks import EarlyStopping, LRSchedule
from learnable.callbacks.checkpoint import Checkpoint, find_checkpoint, load_checkpoint, rng_state, save_checkpoint
from learnable.callbacks.events import Callback

EPOCHS = 3


class Crash(Callback):
    """Simulates a crash (the process dying) right after a given step, or at an epoch's end."""

    order = 95  # after the checkpoint callback

    def __init__(self, step=None, epoch=None):
        self.step, self.epoch = step, epoch

    def after_batch(self, learner):
        if learner.step == self.step:
            raise SystemExit("crash")

    def after_validate(self, learner):
        if learner.epoch + 1 == self.epoch:
            raise SystemExit("crash during validation")


def _learner(directory, crash=None, every_steps=1):
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    X = torch.randn(200, 6, generator=gen)
    y = (X[:, 0] + X[:, 1] > 0).long()
    torch.manual_seed(2)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 2))  # dropout uses the RNG
    callbacks = [EarlyStopping(patience=50), LRSchedule("cosine", warmup=0.1),
                 Checkpoint(directory, every_steps=every_steps, keep=2, handle_signals=False)]
    if crash is not None:
        callbacks.append(crash)
    return Learner(model, (X, y), loss="cross_entropy", lr=1e-2, batch_size=32, validation=0.2, seed=3,
                   metrics=["accuracy"], progress=False, callbacks=callbacks)


def _assert_same_state(a, b):
    for (name, x), (_, y) in zip(a.model.state_dict().items(), b.model.state_dict().items(), strict=True):
        assert torch.equal(x, y), name
    sa, sb = a.optimizer.state_dict(), b.optimizer.state_dict()
    for key in sa["state"]:
        for field, value in sa["state"][key].items():
            assert torch.equal(value, sb["state"][key][field]), (key, field)
    assert sa["param_groups"][0]["lr"] == sb["param_groups"][0]["lr"]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    return _learner(tmp_path_factory.mktemp("full")).fit(EPOCHS)


# 160 training rows / 32 = 5 steps per epoch, 15 in all
@pytest.mark.parametrize("crash", [Crash(step=1), Crash(step=7), Crash(step=10), Crash(step=14), Crash(epoch=2)],
                         ids=["first step", "mid epoch", "last batch of an epoch", "late", "during validation"])
def test_a_crashed_fit_resumes_bitwise_equal(tmp_path, uninterrupted, crash):
    with pytest.raises(SystemExit):
        _learner(tmp_path, crash).fit(EPOCHS)
    resumed = _learner(tmp_path)
    steps_run = []

    class StepLog(Callback):
        order = 100  # after every other callback: theirs keep the places their checkpoint state is saved under

        def after_batch(self, learner):
            steps_run.append(learner.step)

    resumed.set_callbacks([*resumed.callbacks, StepLog()])
    resumed.fit(EPOCHS, resume=tmp_path)
    _assert_same_state(resumed, uninterrupted)
    assert resumed.step == uninterrupted.step == 15
    done = crash.step if crash.step is not None else 5 * crash.epoch  # validation of epoch 2 follows step 10
    assert steps_run == list(range(done + 1, 16))  # continued after the crash, nothing redone
    assert [h["train_loss"] for h in resumed.history] == [h["train_loss"] for h in uninterrupted.history]
    assert [h["val_loss"] for h in resumed.history] == [h["val_loss"] for h in uninterrupted.history]


def test_resume_sees_the_same_batches_without_repeats_or_gaps(tmp_path):
    seen_full, seen_resumed = [], []

    class Record(Callback):
        def __init__(self, into):
            self.into = into

        def before_batch(self, learner):
            self.into.append(learner.xb[:, 0].tolist())

    full = _learner(tmp_path / "a")
    full.set_callbacks([*full.callbacks, Record(seen_full)])
    full.fit(EPOCHS)
    crashed = _learner(tmp_path / "b", Crash(step=8))
    crashed.set_callbacks([*crashed.callbacks, Record(seen_resumed)])
    with pytest.raises(SystemExit):
        crashed.fit(EPOCHS)
    resumed = _learner(tmp_path / "b")
    resumed.set_callbacks([*resumed.callbacks, Record(seen_resumed)])
    resumed.fit(EPOCHS, resume=tmp_path / "b")
    assert seen_resumed == seen_full


def test_checkpoints_are_kept_pruned_and_pointed_to(tmp_path, uninterrupted):
    _learner(tmp_path).fit(EPOCHS)
    files = sorted(p.name for p in tmp_path.glob("ckpt-*"))
    # step 15 is saved twice, after its batch (a) and at the epoch's end (b): never under one name
    assert files == ["ckpt-000000015a.json", "ckpt-000000015a.pt", "ckpt-000000015b.json", "ckpt-000000015b.pt"]
    assert (tmp_path / "latest").read_text() == "ckpt-000000015b.pt"
    meta = json.loads((tmp_path / "ckpt-000000015b.json").read_text())
    assert meta["step"] == 15 and len(meta["sha256"]) == 64
    assert not list(tmp_path.glob(".*.tmp"))


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_a_corrupt_newest_checkpoint_is_skipped_with_a_warning(tmp_path, damage):
    _learner(tmp_path).fit(1)
    newest = sorted(tmp_path.glob("ckpt-*.pt"))[-1]
    data = newest.read_bytes()
    newest.write_bytes(data[: len(data) // 2] if damage == "truncate" else b"\x00garbage" * 100)
    with pytest.warns(UserWarning, match="skipping checkpoint"):
        assert find_checkpoint(tmp_path) == sorted(tmp_path.glob("ckpt-*.pt"))[-2]


@pytest.mark.parametrize(("code", "text"), [(errno.ENOSPC, "No space left on device"), (errno.EIO, "I/O error")])
def test_a_disk_fault_leaves_the_previous_checkpoint_intact(tmp_path, monkeypatch, code, text):
    _learner(tmp_path).fit(1)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def failing_disk(obj, handle, *args, **kwargs):
        handle.write(b"the first bytes")
        raise OSError(code, text)

    monkeypatch.setattr(torch, "save", failing_disk)
    with pytest.raises(OSError, match=rf"{text}. The previous checkpoint is intact"):
        save_checkpoint(tmp_path, {"step": 99, "epoch": 9})
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    assert load_checkpoint(tmp_path)["step"] == 5


def test_resume_with_other_epochs_is_a_clear_error(tmp_path):
    _learner(tmp_path).fit(1)
    with pytest.raises(ValueError, match=r"saved during fit\(1\); resume it with the same number of epochs, not 3"):
        _learner(tmp_path).fit(3, resume=tmp_path)


def test_resume_from_nothing_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        _learner(tmp_path / "x").fit(1, resume=tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no complete checkpoint"):
        _learner(tmp_path / "y").fit(1, resume=tmp_path / "empty")


class _Evil:
    def __reduce__(self):
        import pathlib

        return (pathlib.Path.write_text, (pathlib.Path(_Evil.marker), "pwned"))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_a_hostile_pickle_never_runs(tmp_path):
    _Evil.marker = str(tmp_path / "marker")
    path = tmp_path / "ckpt-000000001b.pt"
    path.write_bytes(pickle.dumps({"format": "learnable-checkpoint", "x": _Evil()}))
    import hashlib

    meta = {"file": path.name, "sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "step": 1, "epoch": 0}
    path.with_suffix(".json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="refusing to load"):
        load_checkpoint(tmp_path)
    assert not (tmp_path / "marker").exists()


def test_saving_leaves_the_global_rng_untouched(tmp_path):
    learner = _learner(tmp_path).fit(1)
    before = rng_state()
    Checkpoint(tmp_path, handle_signals=False).save(learner)
    load_checkpoint(tmp_path)
    after = rng_state()
    assert torch.equal(before["torch"], after["torch"]) and before["python"] == after["python"]


def test_validation_and_prediction_leave_the_global_rng_untouched(tmp_path):
    learner = _learner(tmp_path).fit(1)
    rows = torch.randn(8, 6)
    before = rng_state()
    learner.validate()
    learner.predict(rows)
    after = rng_state()
    assert torch.equal(before["torch"], after["torch"]) and before["python"] == after["python"]
    assert torch.equal(before["numpy"]["keys"], after["numpy"]["keys"])


def test_the_checkpoint_records_the_run(tmp_path):
    learner = _learner(tmp_path).fit(1)
    Checkpoint(tmp_path / "c", handle_signals=False, run_id="20261123-000000-abcdef").save(learner)
    assert load_checkpoint(tmp_path / "c")["run_id"] == "20261123-000000-abcdef"


def test_non_finite_weights_are_never_checkpointed(tmp_path):
    learner = _learner(tmp_path).fit(1)
    with torch.no_grad():
        learner.model[0].weight[0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN or infinite values at step 5; not saving"):
        Checkpoint(tmp_path, handle_signals=False).save(learner)


def test_resuming_another_model_is_a_clear_error(tmp_path):
    _learner(tmp_path).fit(1)
    other = Learner(nn.Linear(6, 2), (torch.randn(64, 6), torch.randint(0, 2, (64,))), progress=False)
    with pytest.raises(ValueError, match=r"does not fit this Learner's model or optimizer"):
        other.fit(1, resume=tmp_path)


def test_a_folder_holding_another_runs_checkpoints_is_refused(tmp_path):
    _learner(tmp_path).fit(1)
    with pytest.raises(ValueError, match=r"already holds checkpoints of another run"):
        _learner(tmp_path).fit(1)


def test_a_signal_is_forgotten_once_handled(tmp_path):
    learner = _learner(tmp_path)
    checkpoint = next(c for c in learner.callbacks if isinstance(c, Checkpoint))

    class SendOnce(Callback):
        order = -200  # first in after_batch: the Checkpoint sees the signal at this very step
        sent = False

        def after_batch(self, learner):
            if not self.sent:
                checkpoint.signal_received, self.sent = 15, True  # as the SIGTERM handler would

    learner.set_callbacks([*learner.callbacks, SendOnce()])
    with pytest.raises(KeyboardInterrupt, match="SIGTERM: checkpoint saved"):
        learner.fit(EPOCHS)
    assert learner.step == 1
    learner.fit(EPOCHS, resume=tmp_path)  # the same object, in the same process: no stale signal
    assert learner.step == 15


def test_a_dataloader_is_checkpointed_at_epoch_ends_only(tmp_path):
    from torch.utils.data import DataLoader, TensorDataset

    torch.manual_seed(0)
    data = DataLoader(TensorDataset(torch.randn(64, 6), torch.randint(0, 2, (64,))), batch_size=16, shuffle=True)
    learner = Learner(nn.Linear(6, 2), data, progress=False,
                      callbacks=[Checkpoint(tmp_path, every_steps=1, handle_signals=False)])
    with pytest.warns(UserWarning, match="cannot resume mid-epoch; checkpoints are taken at epoch ends only"):
        learner.fit(2)
    assert sorted(p.name for p in tmp_path.glob("*.pt")) == ["ckpt-000000004b.pt", "ckpt-000000008b.pt"]


def test_a_mid_epoch_checkpoint_cannot_resume_a_loader_without_state(tmp_path):
    from torch.utils.data import DataLoader, TensorDataset

    with pytest.raises(SystemExit):
        _learner(tmp_path, Crash(step=2)).fit(EPOCHS)
    data = DataLoader(TensorDataset(torch.randn(160, 6), torch.randint(0, 2, (160,))), batch_size=32)
    torch.manual_seed(2)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 2))
    learner = Learner(model, data, loss="cross_entropy", lr=1e-2, progress=False)
    with pytest.raises(ValueError, match=r"taken mid-epoch, but this loader cannot restart mid-epoch"):
        learner.fit(EPOCHS, resume=tmp_path)


def _run_learner(directory, run_id, **kwargs):
    learner = _learner(directory, **kwargs)
    next(c for c in learner.callbacks if isinstance(c, Checkpoint)).run_id = run_id
    return learner


def _copy_newest(source, target):
    newest = sorted(source.glob("ckpt-*.pt"))[-1]
    for path in (newest, newest.with_suffix(".json")):
        (target / path.name).write_bytes(path.read_bytes())


def test_another_runs_checkpoint_copied_in_is_skipped(tmp_path, uninterrupted):
    with pytest.raises(SystemExit):
        _run_learner(tmp_path / "mine", "run-B", crash=Crash(step=7)).fit(EPOCHS)
    _run_learner(tmp_path / "theirs", "run-A").fit(EPOCHS)  # newer steps, a valid checksum
    _copy_newest(tmp_path / "theirs", tmp_path / "mine")
    resumed = _run_learner(tmp_path / "mine", "run-B")
    with pytest.warns(UserWarning, match=r"belongs to run 'run-A', not to run run-B"):
        resumed.fit(EPOCHS, resume=tmp_path / "mine")
    _assert_same_state(resumed, uninterrupted)
    only_theirs = tmp_path / "only"
    only_theirs.mkdir()
    _copy_newest(tmp_path / "theirs", only_theirs)
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="none usable for run run-B"):
        _run_learner(tmp_path / "x", "run-B").fit(EPOCHS, resume=only_theirs)


@pytest.mark.parametrize("newest", ["minimal", "unreadable", "mistyped"])
def test_a_newest_checkpoint_with_a_valid_checksum_that_cannot_resume_falls_back(tmp_path, uninterrupted, newest):
    with pytest.raises(SystemExit):
        _learner(tmp_path, crash=Crash(step=7)).fit(EPOCHS)
    if newest == "minimal":  # written through save_checkpoint: its checksum is right
        save_checkpoint(tmp_path, {"format": "learnable-checkpoint", "step": 99, "epoch": 9})
    elif newest == "mistyped":
        save_checkpoint(tmp_path, {**load_checkpoint(tmp_path), "step": 99, "epoch_batches": "3"})
    else:
        path = save_checkpoint(tmp_path, {"step": 99, "epoch": 9})
        path.write_bytes(b"\x00not a checkpoint" * 50)
        meta = json.loads(path.with_suffix(".json").read_text())
        import hashlib

        meta["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
        path.with_suffix(".json").write_text(json.dumps(meta))
    resumed = _learner(tmp_path)
    with pytest.warns(UserWarning, match=r"skipping checkpoint '.*ckpt-000000099"):
        resumed.fit(EPOCHS, resume=tmp_path)
    _assert_same_state(resumed, uninterrupted)


def test_a_minimal_checkpoint_named_directly_is_a_clear_error(tmp_path):
    path = save_checkpoint(tmp_path, {"format": "learnable-checkpoint", "step": 1, "epoch": 0})
    with pytest.raises(ValueError, match=r"lacks or mistypes model, optimizer.*damaged or crafted"):
        _learner(tmp_path / "x").fit(1, resume=path)


def test_damaged_callback_state_is_a_clear_error(tmp_path):
    _learner(tmp_path).fit(1)
    state = load_checkpoint(tmp_path)
    state["rng"] = {"python": None}
    path = save_checkpoint(tmp_path / "bad", state)
    with pytest.raises(ValueError, match=r"the checkpoint is damaged: its loader, RNG or callback state"):
        _learner(tmp_path / "y").fit(1, resume=path)


@pytest.mark.parametrize("damage", ["rng", "callback", "loader"])
def test_a_newest_checkpoint_that_cannot_be_restored_falls_back_to_the_one_before(tmp_path, uninterrupted, damage):
    with pytest.raises(SystemExit):
        _learner(tmp_path, crash=Crash(step=7)).fit(EPOCHS)
    state = load_checkpoint(tmp_path)
    if damage == "rng":
        state["rng"] = {"python": None}
    elif damage == "callback":
        state["callbacks"] = {key: {"garbage": 1} for key in state["callbacks"]}
    else:
        state["loader"] = {"position": "x"}
    save_checkpoint(tmp_path, {**state, "step": 99})  # newest, valid checksum, every field of the right type
    resumed = _learner(tmp_path)
    with pytest.warns(UserWarning, match=r"skipping checkpoint '.*ckpt-000000099.*the checkpoint is damaged"):
        resumed.fit(EPOCHS, resume=tmp_path)
    _assert_same_state(resumed, uninterrupted)


def test_a_users_mismatch_is_not_mistaken_for_damage(tmp_path):
    """Another number of epochs is the user's to fix: said at once, not skipped checkpoint by checkpoint."""
    _learner(tmp_path).fit(1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"saved during fit\(1\)"):
            _learner(tmp_path).fit(3, resume=tmp_path)


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_a_refused_checkpoint_names_the_reason_without_terminal_colour_codes(tmp_path):
    import hashlib

    _Evil.marker = str(tmp_path / "marker")
    path = tmp_path / "ckpt-000000001b.pt"
    path.write_bytes(pickle.dumps({"format": "learnable-checkpoint", "x": _Evil()}))
    checksum = hashlib.sha256(path.read_bytes()).hexdigest()  # a valid sidecar: the unpickler itself refuses it
    path.with_suffix(".json").write_text(json.dumps({"file": path.name, "sha256": checksum}))
    with pytest.raises(ValueError, match="not a safe learnable checkpoint") as caught:
        load_checkpoint(path)
    assert "\x1b" not in str(caught.value)


@pytest.mark.parametrize(("settings", "message"), [
    ({"every_steps": True}, r"Checkpoint every_steps=True must be a whole number >= 0, for example 500"),
    ({"every_steps": -1}, r"Checkpoint every_steps=-1 must be a whole number >= 0"),
    ({"keep": 0}, r"Checkpoint keep=0 must be a whole number >= 1, for example 3"),
    ({"keep": 2.0}, r"Checkpoint keep=2.0 must be a whole number >= 1"),
])
def test_bad_settings_are_refused_when_made(tmp_path, settings, message):
    with pytest.raises(ValueError, match=message):
        Checkpoint(tmp_path, handle_signals=False, **settings)
