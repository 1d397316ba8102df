"""The run store in hostile hands: another process holding its lock while training ends, a read-only or
damaged database, rows whose ids are paths (``../x``, ``/tmp/x``), run folders that are links, `runs delete`
on a live run, and a delete killed half-way.

The model never depends on the run store: a store that stays unusable is said in one line and the model is
saved. Reading commands never call a locked or read-only store damaged; a damaged one is one line naming
the file and the fix. Nothing outside the runs directory is ever deleted or written through a run.
"""

import os
import shutil
import sqlite3
import subprocess
import sys

import pytest
import torch
from torch import nn
from typer.testing import CliRunner

import learnable
import learnable.runs.database
import learnable.runs.store
from cli_checks import assert_user_error
from learnable import Learner
from learnable.callbacks.events import Callback
from learnable.cli import app
from learnable.runs import RecordRun, RunStore
from learnable.runs.database import Database, reason_of

runner = CliRunner()
HOLD_LOCK = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.read()  # hold the lock until the test closes stdin
"""


@pytest.fixture(autouse=True)
def short_waits(monkeypatch):
    """Give up on a lock after about half a second instead of about 17."""
    monkeypatch.setattr(learnable.runs.database, "BUSY_SECONDS", 0.1)
    monkeypatch.setattr(learnable.runs.database, "RETRY_PAUSES", (0.05, 0.1))


@pytest.fixture
def lock_holder():
    """Start another process that holds an exclusive lock on a database until the test ends."""
    holders = []

    def hold(database):
        holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(database)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        assert holder.stdout.readline().strip() == "locked"
        holders.append(holder)
        return holder

    yield hold
    for holder in holders:
        holder.stdin.close()
        holder.wait(timeout=30)


def _train(tmp_path, *extra):
    return runner.invoke(app, ["train", "--data", "iris", "--epochs", "3", "--out", str(tmp_path / "model"),
                               "--runs-dir", str(tmp_path / "runs"), "--quiet", *extra])


def _learner(store, run_id, *callbacks):
    X, y = torch.randn(128, 4), torch.randint(0, 2, (128,))
    return Learner(nn.Linear(4, 2), (X, y), validation=0.25, progress=False,
                   callbacks=[RecordRun(store, run_id, step_interval=1), *callbacks])


class _AtEpoch(Callback):
    """Run ``action`` once, after the recorder has written epoch ``epoch``."""

    order = 7

    def __init__(self, epoch, action):
        self.epoch, self.action = epoch, action

    def after_epoch(self, learner):
        if learner.epoch == self.epoch:
            self.action()


# ---- locked --------------------------------------------------------------------------------------------
def test_a_lock_held_while_training_ends_still_saves_the_model(tmp_path, monkeypatch, lock_holder):
    save = learnable.FittedModel.save

    def lock_then_save(model, path):  # another process takes the lock as training ends
        lock_holder(tmp_path / "runs" / "runs.sqlite")
        return save(model, path)

    monkeypatch.setattr(learnable.FittedModel, "save", lock_then_save)
    result = _train(tmp_path)
    assert result.exit_code == 0, result.output
    assert learnable.load(tmp_path / "model").predict(learnable.data.datasets.load("iris").X).shape == (150,)
    assert f"model saved to {tmp_path / 'model'}" in result.stdout and "run recorded as" not in result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "is locked by another process" in warnings[0], result.stderr
    assert "damaged" not in result.output and "Traceback" not in result.output
    assert "is not recorded" in result.stdout


def test_a_lock_taken_mid_training_stops_the_recording_not_the_training(tmp_path, lock_holder, capsys):
    store = RunStore(tmp_path / "runs")
    run_id = store.create("locked")
    learner = _learner(store, run_id, _AtEpoch(2, lambda: lock_holder(store.path)))
    learner.fit(4)
    assert learner.epoch == 4
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is locked by another process" in err[0] and run_id in err[0]
    assert store.writer(run_id).problem.reason == "locked"


def test_a_lock_held_when_training_starts_is_one_line_before_any_training(tmp_path, lock_holder):
    RunStore(tmp_path / "runs").close()
    lock_holder(tmp_path / "runs" / "runs.sqlite")
    result = _train(tmp_path)
    assert_user_error(result, "is locked by another process", str(tmp_path / "runs" / "runs.sqlite"))
    assert "damaged" not in result.stderr and not (tmp_path / "model").exists()


@pytest.mark.parametrize("argv", [["runs"], ["runs", "show", "last"], ["doctor", "last"]])
def test_reading_a_locked_store_works(tmp_path, lock_holder, argv):
    store = RunStore(tmp_path / "runs")
    store.add_epoch(store.create("readable"), {"epoch": 1, "train_loss": 1.0})
    lock_holder(store.path)
    result = runner.invoke(app, [*argv, "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    assert "readable" in result.output


@pytest.mark.parametrize("code", [5, None], ids=["result-code", "message-only"])  # None: Python 3.10
def test_a_store_locked_even_for_readers_is_called_locked_not_damaged(tmp_path, monkeypatch, code):
    RunStore(tmp_path / "runs").close()

    def busy(*args, **kwargs):
        raise _sqlite_error(sqlite3.OperationalError, "database is locked", code)

    monkeypatch.setattr(Database, "_connect", lambda self, mode: busy())
    result = runner.invoke(app, ["runs", "--runs-dir", str(tmp_path / "runs")])
    assert_user_error(result, "is locked by another process", "try again")
    assert "damaged" not in result.stderr and "move it" not in result.stderr.lower()


def _sqlite_error(kind, message, code):
    """A SQLite error as Python 3.11+ raises it (with ``sqlite_errorcode``), or as 3.10 does (``code`` None)."""
    error = kind(message)
    if code is not None:
        error.sqlite_errorcode = code
    return error


@pytest.mark.parametrize(("message", "reason"), [
    ("database is locked", "locked"), ("database table is locked", "locked"),
    ("attempt to write a readonly database", "read-only"), ("unable to open database file", "read-only"),
    ("database disk image is malformed", "damaged"), ("file is not a database", "damaged"),
    ("disk I/O error", "failed"),
])
def test_an_error_without_a_result_code_is_told_by_its_message(message, reason):
    error = sqlite3.OperationalError(message)  # as Python 3.10 raises them: no sqlite_errorcode
    assert not hasattr(error, "sqlite_errorcode")
    assert reason_of(error) == reason


FAMILIES = {  # every command that records a run, as small as it runs
    "train": ["train", "--data", "iris", "--epochs", "2", "--out", "{out}", "--quiet"],
    "language-model": ["train", "--task", "language-model", "--data", "{text}", "--epochs", "1", "--out", "{out}",
                       "--quiet"],
    "forecast": ["forecast", "--data", "{series}", "--column", "level", "--window", "12", "--epochs", "2",
                 "--out", "{out}", "--quiet"],
    "cluster": ["cluster", "--data", "iris", "--k", "3", "--out", "{out}"],
    "reduce": ["reduce", "--data", "iris", "--out", "{out}"],
    "rl": ["rl", "FrozenLake-v1", "--steps", "300", "--eval-episodes", "2", "--out", "{out}"],
}


@pytest.mark.parametrize("family", FAMILIES)
def test_every_recording_command_saves_its_model_when_the_store_locks_after_the_run_starts(
        tmp_path, monkeypatch, lock_holder, family):
    if family == "rl":
        pytest.importorskip("gymnasium")
    (tmp_path / "text.txt").write_text("to be or not to be, that is the question. " * 10)
    level = [0.1 * t + (t % 12) for t in range(120)]
    (tmp_path / "series.csv").write_text("level\n" + "\n".join(map(str, level)))
    create = RunStore.create

    def create_then_lock(store, *args, **kwargs):  # another process takes the lock as the run starts
        run_id = create(store, *args, **kwargs)
        lock_holder(store.path)
        return run_id

    monkeypatch.setattr(RunStore, "create", create_then_lock)
    argv = [a.format(out=tmp_path / "model", text=tmp_path / "text.txt", series=tmp_path / "series.csv")
            for a in FAMILIES[family]]
    result = runner.invoke(app, [*argv, "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "model" / "model.json").is_file()
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "is locked by another process" in warnings[0], result.stderr
    assert "is not recorded (see the warning above)" in result.stdout and "run recorded as" not in result.stdout
    assert "Traceback" not in result.output


# ---- read-only -----------------------------------------------------------------------------------------
@pytest.fixture
def read_only(monkeypatch):
    """Every connection to a run store opens read-only, as on a read-only file system (root ignores chmod)."""
    connect = sqlite3.connect

    def read_only_connect(database, *args, **kwargs):
        return connect(str(database).replace("mode=rwc", "mode=ro"), *args, **kwargs)

    monkeypatch.setattr(sqlite3, "connect", read_only_connect)


@pytest.fixture
def recorded(tmp_path):
    """A runs directory with one finished run of two epochs (no training needed)."""
    store = RunStore(tmp_path / "runs")
    run_id = store.create("kept")
    for epoch in (1, 2):
        store.add_epoch(run_id, {"epoch": epoch, "train_loss": 1.0 / epoch, "val_loss": 1.0})
    store.finish(run_id, "finished")
    store.close()
    return tmp_path / "runs", run_id


@pytest.mark.parametrize("argv", [["runs"], ["runs", "show", "last"], ["runs", "compare", "last", "last"],
                                  ["doctor", "last"]])
def test_reading_a_read_only_store_works(recorded, read_only, argv):
    runs, _ = recorded
    result = runner.invoke(app, [*argv, "--runs-dir", str(runs)])
    assert result.exit_code == 0, result.output
    assert "kept" in result.output


@pytest.mark.parametrize("code", [8, None], ids=["result-code", "message-only"])  # None: Python 3.10
def test_a_store_that_cannot_even_be_set_up_for_writing_opens_read_only(recorded, monkeypatch, code):
    runs, run_id = recorded
    connect = Database._connect

    def no_writing(database, mode):  # as when the journal mode cannot be set on a read-only file
        if mode == "rwc":
            raise _sqlite_error(sqlite3.OperationalError, "attempt to write a readonly database", code)
        return connect(database, mode)

    monkeypatch.setattr(Database, "_connect", no_writing)
    result = runner.invoke(app, ["runs", "show", run_id, "--runs-dir", str(runs)])
    assert result.exit_code == 0 and "kept" in result.output, result.output
    result = runner.invoke(app, ["runs", "delete", run_id, "--runs-dir", str(runs)])
    assert_user_error(result, "cannot be written")
    assert (runs / run_id).is_dir()


def test_training_into_a_read_only_store_is_one_line_before_any_training(recorded, read_only, tmp_path):
    result = _train(tmp_path)
    assert_user_error(result, "cannot be written", "--runs-dir")
    assert "damaged" not in result.stderr and not (tmp_path / "model").exists()


def test_deleting_from_a_read_only_store_keeps_the_run_and_its_folder(recorded, read_only):
    runs, run_id = recorded
    result = runner.invoke(app, ["runs", "delete", run_id, "--runs-dir", str(runs)])
    assert_user_error(result, "cannot be written")
    assert (runs / run_id).is_dir() and RunStore(runs).get(run_id)["name"] == "kept"


# ---- damaged -------------------------------------------------------------------------------------------
def _damage(database):
    """Garbage over every page but the first: the header and schema read, the rows do not."""
    size = database.stat().st_size
    with open(database, "r+b") as file:
        file.seek(4096)
        file.write(os.urandom(size - 4096))


@pytest.fixture
def damaged(recorded):
    runs, run_id = recorded
    _damage(runs / "runs.sqlite")
    return runs, run_id


@pytest.mark.parametrize("argv", [["runs"], ["runs", "show", "last"], ["runs", "compare", "last", "last"],
                                  ["runs", "delete", "kept"], ["doctor"], ["report"]])
def test_a_damaged_store_is_one_line_naming_the_file_and_the_fix(damaged, argv):
    runs, run_id = damaged
    result = runner.invoke(app, [*argv, "--runs-dir", str(runs)])
    assert_user_error(result, str(runs / "runs.sqlite"), "damaged", "Move it aside")
    assert (runs / run_id).is_dir()


def test_training_into_a_damaged_store_is_refused_before_training(damaged, tmp_path):
    result = _train(tmp_path)
    assert_user_error(result, "damaged", "Move it aside")
    assert not (tmp_path / "model").exists()


def test_a_store_damaged_during_training_costs_nothing_but_the_record(tmp_path, capsys):
    store = RunStore(tmp_path / "runs")
    run_id = store.create("damaged later")
    failing = store.add_epoch

    def damaged_add_epoch(*args, **kwargs):  # what the store raises once its pages are garbage
        if len(store.epochs(run_id)) >= 1:
            raise store._database.error(_sqlite_error(sqlite3.DatabaseError, "database disk image is malformed", 11), 0)
        return failing(*args, **kwargs)

    store.add_epoch = damaged_add_epoch
    learner = _learner(store, run_id)
    learner.fit(3)
    assert learner.epoch == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "damaged" in err[0] and "not recorded from here on" in err[0]


# ---- odd ids and links ---------------------------------------------------------------------------------
def _row(runs, run_id, name="planted"):
    """A row someone else wrote straight into the database."""
    RunStore(runs).close()
    with sqlite3.connect(runs / "runs.sqlite") as connection:
        connection.execute("INSERT INTO runs (id, name, status, created) VALUES (?, ?, 'finished', 1e9)",
                           (run_id, name))


@pytest.mark.parametrize("odd", ["../outside", "/ABSOLUTE", "a/../../outside", "..", ".hidden", "x\\..\\y"])
def test_delete_refuses_ids_that_are_paths(tmp_path, odd):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("keep me")
    runs = tmp_path / "runs"
    _row(runs, odd.replace("/ABSOLUTE", str(outside)))
    result = runner.invoke(app, ["runs", "delete", "planted", "--runs-dir", str(runs)])
    assert_user_error(result, "not a plain folder name")
    assert (outside / "precious.txt").read_text() == "keep me" and (runs / "runs.sqlite").is_file()


def test_report_refuses_to_write_through_an_odd_id(tmp_path):
    runs = tmp_path / "runs"
    _row(runs, "../outside")
    (tmp_path / "outside").mkdir()
    result = runner.invoke(app, ["report", "planted", "--runs-dir", str(runs)])
    assert_user_error(result, "not a plain folder name")
    assert not (tmp_path / "outside" / "report.html").exists()


def test_delete_refuses_a_run_folder_that_links_outside(recorded, tmp_path):
    runs, run_id = recorded
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("keep me")
    shutil.rmtree(runs / run_id)
    (runs / run_id).symlink_to(outside, target_is_directory=True)
    result = runner.invoke(app, ["runs", "delete", run_id, "--runs-dir", str(runs)])
    assert_user_error(result, "is a link", "Remove the link")
    assert (outside / "precious.txt").read_text() == "keep me" and RunStore(runs).get(run_id)


def test_delete_removes_links_inside_a_run_folder_not_their_targets(recorded, tmp_path):
    runs, run_id = recorded
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("keep me")
    (runs / run_id / "checkpoints").symlink_to(outside, target_is_directory=True)
    result = runner.invoke(app, ["runs", "delete", run_id, "--runs-dir", str(runs)])
    assert result.exit_code == 0, result.output
    assert not (runs / run_id).exists() and (outside / "precious.txt").read_text() == "keep me"


# ---- deleting a live run, and a delete killed half-way ----------------------------------------------------
def test_a_live_run_deleted_with_force_finishes_its_training(tmp_path, capsys):
    store = RunStore(tmp_path / "runs")
    run_id = store.create("live")
    learner = _learner(store, run_id, _AtEpoch(2, lambda: RunStore(store.directory).delete(run_id, force=True)))
    learner.fit(4)
    assert learner.epoch == 4
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "was deleted" in err[0] and run_id in err[0]
    assert store.list() == [] and not (store.directory / run_id).exists()


def test_train_survives_its_run_being_deleted_and_saves_the_model(tmp_path, monkeypatch):
    after_epoch = RecordRun.after_epoch

    def delete_at_epoch_2(recorder, learner):
        after_epoch(recorder, learner)
        if learner.epoch == 2:  # `learnable runs delete --force` from another shell
            assert runner.invoke(app, ["runs", "delete", recorder.run_id, "--force",
                                       "--runs-dir", str(tmp_path / "runs")]).exit_code == 0

    monkeypatch.setattr(RecordRun, "after_epoch", delete_at_epoch_2)
    result = _train(tmp_path)
    assert result.exit_code == 0, result.output
    assert learnable.load(tmp_path / "model") is not None
    assert "was deleted" in result.stderr and "IntegrityError" not in result.output
    assert RunStore(tmp_path / "runs").list() == []
    run_id = result.stdout.split()[1].rstrip(":")  # "run <id>: iris, ..."
    assert f"`learnable runs delete {run_id}` removes what it wrote" in result.stdout  # its checkpoints since
    result = runner.invoke(app, ["runs", "delete", run_id, "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "runs" / run_id).exists()


def test_a_delete_killed_half_way_is_finished_by_running_it_again(recorded, monkeypatch):
    runs, run_id = recorded
    (runs / run_id / "checkpoints").mkdir()
    for index in range(3):
        (runs / run_id / "checkpoints" / f"ckpt-{index}.pt").write_bytes(b"x" * 100)
    rmtree = learnable.runs.store.shutil.rmtree

    def killed(path, **handler):  # removes one file, then the process dies (onerror, or onexc from 3.12)
        next((runs / run_id / "checkpoints").iterdir()).unlink()
        raise KeyboardInterrupt

    monkeypatch.setattr(learnable.runs.store.shutil, "rmtree", killed)
    with pytest.raises(KeyboardInterrupt):
        RunStore(runs).delete(run_id)
    assert RunStore(runs).get(run_id)["name"] == "kept"  # still listed: the rows go only with the folder
    monkeypatch.setattr(learnable.runs.store.shutil, "rmtree", rmtree)
    result = runner.invoke(app, ["runs", "delete", run_id, "--runs-dir", str(runs)])
    assert result.exit_code == 0, result.output
    assert RunStore(runs).list() == [] and not (runs / run_id).exists()


def test_a_folder_left_by_a_delete_whose_rows_went_first_is_removed_by_a_rerun(recorded):
    runs, run_id = recorded
    with sqlite3.connect(runs / "runs.sqlite") as connection:  # what the old order left after a kill
        connection.execute("DELETE FROM runs WHERE id = ?", (run_id,))
    result = runner.invoke(app, ["runs", "delete", run_id, "--runs-dir", str(runs)])
    assert result.exit_code == 0, result.output
    assert not (runs / run_id).exists()
    result = runner.invoke(app, ["runs", "delete", run_id, "--runs-dir", str(runs)])
    assert_user_error(result, f"no run '{run_id}'")


def test_the_store_error_says_which_problem(tmp_path):
    from learnable.runs.store import RunStoreError

    store = RunStore(tmp_path / "runs")
    error = store._database.error(_sqlite_error(sqlite3.OperationalError, "attempt to write a readonly database", 8), 0)
    assert isinstance(error, RunStoreError) and isinstance(error, ValueError) and error.reason == "read-only"


# ---- live runs: a 'running' run is live only while a process runs it (runs/live.py) -------------------
LIVE_CHILD = """
import sys, time
from learnable.runs import RunStore
store = RunStore(sys.argv[1])
print(store.create("live"), flush=True)
time.sleep(120)
"""


def test_a_live_run_is_told_from_a_killed_one(tmp_path):
    import subprocess
    import sys

    from learnable.runs import RunStore

    child = subprocess.Popen([sys.executable, "-c", LIVE_CHILD, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        run_id = child.stdout.readline().strip()
        store = RunStore(tmp_path)
        assert store.is_live(run_id)
        with pytest.raises(ValueError, match=r"is being run by another process right now"):
            store.reopen(run_id)  # a second resume of a live run would write its checkpoints twice
        with pytest.raises(ValueError, match=r"is still running; stop it first"):
            store.delete(run_id)
    finally:
        child.kill()
        child.wait()
    assert store.get(run_id)["status"] == "running" and not store.is_live(run_id)  # killed: nothing recorded it
    store.reopen(run_id)  # a killed run can be resumed ...
    assert store.is_live(run_id)
    store.finish(run_id, "interrupted")
    assert not store.is_live(run_id)
    store.delete(run_id)  # ... and deleted without --force


def test_a_run_whose_recording_stopped_is_not_live_once_its_writer_finishes(tmp_path, lock_holder):
    store = RunStore(tmp_path / "runs")
    run_id = store.create("stopped")
    writer = store.writer(run_id)
    writer.warn = lambda line: None
    holder = lock_holder(store.path)  # another process locks the store past the writer's retries
    assert not writer.add_epoch({"epoch": 1, "train_loss": 0.5}) and writer.problem.reason == "locked"
    holder.stdin.close()
    holder.wait(timeout=30)
    assert RunStore(tmp_path / "runs").is_live(run_id)  # still training, unrecorded
    assert not writer.finish("finished")  # not recorded from the problem on ...
    assert not RunStore(tmp_path / "runs").is_live(run_id)  # ... but no longer live: resumable, deletable


def test_closing_a_store_gives_up_the_live_locks_it_holds(tmp_path):
    store = RunStore(tmp_path / "runs")
    run_ids = [store.create("first"), store.create("second")]
    other = RunStore(tmp_path / "runs")
    assert all(other.is_live(run_id) for run_id in run_ids)
    store.close()
    assert not any(other.is_live(run_id) for run_id in run_ids)


# ---- rows someone else wrote: JSON that learnable never writes --------------------------------------
DEEP = "[" * 100_000


@pytest.mark.parametrize(("table", "column", "text", "problem"), [
    ("runs", "config", DEEP, "nested too deep"), ("runs", "config", "not json", "not JSON"),
    ("runs", "config", "5", "a JSON int, not an object"), ("runs", "summary", '["a", "list"]', "not an object"),
    ("epochs", "metrics", DEEP, "nested too deep"), ("details", "value", "{oops", "not JSON"),
], ids=["deep-config", "text-config", "number-config", "list-summary", "deep-metrics", "text-detail"])
def test_a_row_holding_bad_json_is_one_line_naming_the_file_and_the_run(recorded, table, column, text, problem):
    runs, run_id = recorded
    store = RunStore(runs)
    store.set_detail(run_id, "data", {"rows": 3})
    store.close()
    key = "id" if table == "runs" else "run_id"
    with sqlite3.connect(runs / "runs.sqlite") as connection:
        connection.execute(f"UPDATE {table} SET {column} = ? WHERE {key} = ?", (text, run_id))
    result = runner.invoke(app, ["runs", "show", run_id, "--runs-dir", str(runs)])
    assert_user_error(result, f"run {run_id}", str(runs / "runs.sqlite"), "is damaged", problem,
                      f"learnable runs delete {run_id}")
    assert RunStore(runs).delete(run_id) == run_id  # the fix the message gives works


def test_a_listed_run_holding_bad_json_is_one_line(recorded):
    runs, run_id = recorded
    with sqlite3.connect(runs / "runs.sqlite") as connection:
        connection.execute("UPDATE epochs SET metrics = ? WHERE run_id = ?", (DEEP, run_id))
    result = runner.invoke(app, ["runs", "--runs-dir", str(runs)])
    assert_user_error(result, f"run {run_id}", "nested too deep")


# ---- resuming a run whose checkpoint is damaged ----------------------------------------------------------
def test_resuming_from_a_damaged_checkpoint_keeps_the_run_as_it_was(tmp_path):
    pytest.importorskip("gymnasium")
    store = RunStore(tmp_path / "runs")
    config = {"task": "rl", "steps": 100, "eval_episodes": 2, "checkpoint_every": 50, "record": None, "out": None}
    run_id = store.create("lake", config=config)
    store.finish(run_id, "interrupted", error="interrupted (SIGINT/SIGTERM)")
    (store.folder(run_id) / "checkpoints").mkdir()
    (store.folder(run_id) / "checkpoints" / "model.json").write_text("{garbage")
    result = runner.invoke(app, ["rl", "--resume", run_id, "--runs-dir", str(tmp_path / "runs")])
    assert_user_error(result, "checkpoints")
    run = RunStore(tmp_path / "runs").get(run_id)
    assert run["status"] == "interrupted" and run["error"] == "interrupted (SIGINT/SIGTERM)"
    assert not RunStore(tmp_path / "runs").is_live(run_id)  # the claim was given up


def test_runs_show_a_killed_run_as_killed_not_running(tmp_path):
    """SIGKILL records nothing: the row says 'running', but `runs`, `runs show` and `compare` say 'killed'."""
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", LIVE_CHILD, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    run_id = child.stdout.readline().strip()
    store = RunStore(tmp_path)
    live = CliRunner().invoke(app, ["runs", "--runs-dir", str(tmp_path)])
    assert store.get(run_id)["live"] and "running" in live.output and "killed" not in live.output
    child.kill()
    child.wait()
    assert store.get(run_id)["status"] == "running" and not store.get(run_id)["live"]
    for args in (["runs"], ["runs", "show", run_id], ["runs", "compare", run_id, run_id]):
        output = CliRunner().invoke(app, [*args, "--runs-dir", str(tmp_path)]).output
        assert "killed" in output and "running" not in output, args


@pytest.mark.parametrize("config", ["{}", '{"data": 5}', '{"data": "iris", "target": null, "model": "mlp", '
                                    '"task": "auto", "epochs": "x", "lr": null, "batch_size": null, "seed": 0, '
                                    '"out": null, "name": null}'])
def test_resume_checks_the_recorded_settings_it_trusts(tmp_path, config):
    """--resume trains with the settings in the store, which may be anyone's: one error line, not a KeyError."""
    runs = tmp_path / "runs"
    assert CliRunner().invoke(app, ["train", "--data", "iris", "--epochs", "1", "-q", "--runs-dir", str(runs),
                                    "--out", str(tmp_path / "m")]).exit_code == 0
    with sqlite3.connect(runs / "runs.sqlite") as connection:
        connection.execute("UPDATE runs SET status = 'interrupted', config = ?", (config,))
    result = CliRunner().invoke(app, ["train", "--resume", "last", "--runs-dir", str(runs)])
    assert result.exit_code == 1
    assert "cannot be resumed: its recorded settings are damaged" in result.output
    assert "Traceback" not in result.output


def test_rl_resume_checks_the_recorded_settings_it_trusts(tmp_path):
    pytest.importorskip("gymnasium")
    runs = tmp_path / "runs"
    assert CliRunner().invoke(app, ["rl", "CartPole-v1", "--steps", "300", "--checkpoint-every", "200",
                                    "--eval-episodes", "1", "--runs-dir", str(runs)]).exit_code == 0
    with sqlite3.connect(runs / "runs.sqlite") as connection:
        connection.execute("""UPDATE runs SET status = 'interrupted', config = '{"task": "rl", "steps": "x"}'""")
    result = CliRunner().invoke(app, ["rl", "--resume", "last", "--runs-dir", str(runs)])
    assert result.exit_code == 1 and "cannot be resumed: its recorded settings are damaged" in result.output


def test_a_run_started_with_the_default_options_passes_the_resume_check(tmp_path):
    """The check of recorded settings takes every value `train` records by default (epochs None: early stopping
    decides; lr and batch_size None: chosen from the data)."""
    runs = tmp_path / "runs"
    assert runner.invoke(app, ["train", "--data", "iris", "-q", "--runs-dir", str(runs),
                               "--out", str(tmp_path / "m")]).exit_code == 0
    with sqlite3.connect(runs / "runs.sqlite") as connection:  # as if it had been stopped at its last checkpoint
        connection.execute("UPDATE runs SET status = 'interrupted'")
    result = runner.invoke(app, ["train", "--resume", "last", "-q", "--runs-dir", str(runs)])
    assert result.exit_code == 0, result.output
    assert "resuming run" in result.output and RunStore(runs).get("last")["status"] == "finished"
