"""The run store: records, batched writes, concurrent writers, lookups and clear errors."""

import multiprocessing
import sqlite3

import pytest
import torch
from torch import nn

from learnable import Learner
from learnable.runs import RecordRun, RunStore


@pytest.fixture
def store(tmp_path):
    store = RunStore(tmp_path / "runs")
    yield store
    store.close()


def test_a_run_is_recorded_with_its_settings(store):
    run_id = store.create("demo", config={"lr": 0.1}, seed=3, dataset="abc", command="learnable train")
    store.add_epoch(run_id, {"epoch": 1, "train_loss": 0.5}, steps=[(10, 0.7), (20, 0.6)])
    store.add_epoch(run_id, {"epoch": 2, "train_loss": 0.25})
    store.add_artifact(run_id, "model", "/tmp/model")
    store.finish(run_id, "finished", summary={"test": {"accuracy": 0.9}})
    run = store.get(run_id)
    assert (run["name"], run["status"], run["seed"], run["dataset"]) == ("demo", "finished", 3, "abc")
    assert run["config"] == {"lr": 0.1} and run["command"] == "learnable train"
    assert [e["train_loss"] for e in run["epochs"]] == [0.5, 0.25]
    assert store.steps(run_id) == [(10, 0.7), (20, 0.6)] and run["num_steps"] == 2
    assert run["artifacts"] == {"model": "/tmp/model"}
    assert run["summary"]["test"]["accuracy"] == 0.9
    assert run["ended"] >= run["created"] and set(run["versions"]) == {"learnable", "torch", "python"}
    assert (store.directory / run_id).is_dir()


def test_the_database_uses_wal_mode(store):
    assert sqlite3.connect(store.path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_last_prefix_and_name_resolve(store):
    first = store.create("alpha")
    second = store.create("beta")
    assert store.resolve("last") == second
    assert store.resolve(first) == first and store.resolve("alpha") == first
    assert store.resolve(first[:-1]) == first  # a unique prefix is enough
    assert [r["id"] for r in store.list()] == [second, first]


@pytest.mark.parametrize(("run", "message"), [("nothing", r"no run 'nothing'.*'last' is the newest")])
def test_unknown_run_is_a_clear_error(store, run, message):
    store.create("alpha")
    with pytest.raises(ValueError, match=message):
        store.get(run)


def test_last_in_an_empty_store_is_a_clear_error(store):
    with pytest.raises(ValueError, match=r"there are no runs .* yet"):
        store.resolve("last")


def test_an_ambiguous_prefix_is_a_clear_error(store):
    store.create("a")
    store.create("b")
    with pytest.raises(ValueError, match=r"matches 2 runs"):
        store.resolve("2")


def test_delete_removes_rows_and_folder(store):
    run_id = store.create("gone")
    store.add_epoch(run_id, {"epoch": 1, "train_loss": 1.0}, steps=[(1, 1.0)])
    with pytest.raises(ValueError, match=r"is still running; stop it first \(Ctrl-C or kill\), or pass --force"):
        store.delete("gone")
    assert store.delete("gone", force=True) == run_id
    assert store.list() == [] and not (store.directory / run_id).exists()
    rows = sqlite3.connect(store.path).execute("SELECT COUNT(*) FROM epochs").fetchone()[0]
    assert rows == 0


def test_bad_status_and_bad_directory(store, tmp_path):
    run_id = store.create("x")
    with pytest.raises(ValueError, match=r"status 'done' is not one of"):
        store.finish(run_id, "done")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match=r"is a file"):
        RunStore(tmp_path / "file")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "runs.sqlite").write_text("not a database" * 100)
    with pytest.raises(ValueError, match=r"not a usable run database"):
        RunStore(tmp_path / "bad")


def _train_and_record(directory: str, name: str) -> None:
    torch.set_num_threads(1)
    store = RunStore(directory)
    run_id = store.create(name)
    X, y = torch.randn(256, 4), torch.randint(0, 2, (256,))
    learner = Learner(nn.Linear(4, 2), (X, y), validation=0.25, progress=False,
                      callbacks=[RecordRun(store, run_id, step_interval=1)])
    learner.fit(5)


def test_two_trainings_writing_at_once_are_both_recorded(tmp_path):
    directory = str(tmp_path / "runs")
    RunStore(directory).close()  # create the database before both start
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_train_and_record, args=(directory, n)) for n in ("one", "two")]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    store = RunStore(directory)
    runs = {r["name"]: store.get(r["id"]) for r in store.list()}
    assert set(runs) == {"one", "two"}
    for run in runs.values():
        assert run["status"] == "finished" and len(run["epochs"]) == 5
        assert run["num_steps"] == 5 * 3  # 192 training rows / batch 64 = 3 steps per epoch


class _CountingStore(RunStore):
    def __init__(self, directory):
        super().__init__(directory)
        self.transactions = 0

    def _write(self, statements, **options):
        self.transactions += 1
        super()._write(statements, **options)


def test_recorder_writes_once_per_epoch_and_samples_steps(tmp_path):
    store = _CountingStore(tmp_path / "runs")
    run_id = store.create("sampled")
    X, y = torch.randn(640, 4), torch.randint(0, 2, (640,))
    learner = Learner(nn.Linear(4, 2), (X, y), validation=None, batch_size=64, progress=False,
                      callbacks=[RecordRun(store, run_id, step_interval=4)])
    before = store.transactions
    learner.fit(2)  # 10 steps per epoch
    assert store.transactions - before == 2 + 2 + 1  # the data summary and the settings, one per epoch, one to finish
    assert store.get(run_id)["details"]["settings"] == {"lr": 1e-3, "batch_size": 64, "optimizer": "Adam",
                                                        "weight_decay": 0.0, "loss": "CrossEntropyLoss"}
    steps = store.steps(run_id)
    assert [s for s, _ in steps] == [4, 8, 12, 16, 20]
    assert all(loss > 0 for _, loss in steps)
    assert store.get(run_id)["status"] == "finished"
    record = store.load_record(run_id)  # the plain record the doctor and the report read
    assert record["steps"] == steps and record["data"] == store.get(run_id)["details"]["data"]
    assert record["data"]["task"] == "binary" and record["data"]["classes"] == {"0": int((y == 0).sum()),
                                                                               "1": int((y == 1).sum())}


@pytest.mark.parametrize(("loss", "y", "task"), [
    ("mse", torch.arange(60.0)[:, None] % 2, "regression"),  # 0/1 values, but the loss says regression
    ("bce_with_logits", (torch.arange(60.0) % 2)[:, None], "binary"),
    ("cross_entropy", torch.arange(60) % 2, "binary"),
    ("cross_entropy", torch.arange(60) % 60, "multiclass"),  # more labels than data.task's MAX_CLASSES
    (lambda out, target: (out[:, 0] - target).abs().mean(), torch.linspace(0, 1, 60), "regression"),  # data.task
])
def test_the_recorded_task_is_read_from_the_learners_loss(tmp_path, loss, y, task):
    store = RunStore(tmp_path / "runs")
    run_id = store.create("task")
    outputs = 60 if task == "multiclass" else 2 if y.dtype == torch.long else 1
    Learner(nn.Linear(3, outputs), (torch.randn(60, 3), y), loss=loss, validation=None, progress=False,
            callbacks=[RecordRun(store, run_id)]).fit(1)
    assert store.load_record(run_id)["data"]["task"] == task


def test_a_failing_run_is_recorded_as_failed(tmp_path):
    store = RunStore(tmp_path / "runs")
    run_id = store.create("broken")

    class Boom(RecordRun):
        def after_batch(self, learner):
            raise RuntimeError("disk on fire")

    learner = Learner(nn.Linear(4, 2), (torch.randn(64, 4), torch.randint(0, 2, (64,))), validation=None,
                      progress=False, callbacks=[Boom(store, run_id)])
    with pytest.raises(RuntimeError, match="disk on fire"):
        learner.fit(1)
    run = store.get(run_id)
    assert run["status"] == "failed" and "disk on fire" in run["error"]


def test_an_interrupted_run_is_recorded_as_interrupted(tmp_path):
    store = RunStore(tmp_path / "runs")
    run_id = store.create("stopped by hand")

    class CtrlC(RecordRun):
        def after_batch(self, learner):
            raise KeyboardInterrupt

    learner = Learner(nn.Linear(4, 2), (torch.randn(64, 4), torch.randint(0, 2, (64,))), validation=None,
                      progress=False, callbacks=[CtrlC(store, run_id)])
    with pytest.raises(KeyboardInterrupt):
        learner.fit(1)
    assert store.get(run_id)["status"] == "interrupted"


def test_the_epoch_that_stops_training_is_recorded(tmp_path):
    from learnable.callbacks import EarlyStopping

    store = RunStore(tmp_path / "runs")
    run_id = store.create("early")
    X, y = torch.randn(256, 4), torch.randint(0, 2, (256,))
    learner = Learner(nn.Linear(4, 2), (X, y), validation=0.25, progress=False,
                      callbacks=[RecordRun(store, run_id), EarlyStopping(patience=1, min_delta=100.0)])
    learner.fit(10)
    assert learner.epoch == 2 and len(store.get(run_id)["epochs"]) == 2


def test_names_with_wildcards_and_date_like_names_resolve_exactly(store):
    plain = store.create("2026")
    percent = store.create("100%_done")
    store.create("other")
    assert store.resolve("2026") == plain and store.resolve("100%_done") == percent
    with pytest.raises(ValueError, match="no run '_'"):
        store.resolve("_")
