"""Streaming loaders: memory-mapped arrays and Datasets read in batches by worker processes."""

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from learnable import Learner
from learnable.data.stream import StreamLoader, stream


def _arrays(rows=300, features=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, features)).astype(np.float32)
    return X, (X[:, 0] + 0.5 * X[:, 1] > 0).astype(np.int64)


@pytest.fixture
def on_disk(tmp_path):
    X, y = _arrays()
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    return np.load(tmp_path / "X.npy", mmap_mode="r"), np.load(tmp_path / "y.npy", mmap_mode="r"), X, y


def _rows(loader):
    return [int(r) for xb, _ in loader for r in (xb[:, 0] * 1e6).round().int()]


def test_each_epoch_reads_every_row_once_in_a_new_seeded_order(on_disk):
    Xm, ym, X, _ = on_disk
    loader = stream(Xm, ym, batch_size=32, workers=0, seed=3)
    first, second = _rows(loader), _rows(loader)
    expected = sorted(int(r) for r in (torch.from_numpy(X[:, 0]) * 1e6).round().int())
    assert sorted(first) == sorted(second) == expected
    assert first != second  # reshuffled
    assert [len(yb) for _, yb in loader] == [32] * 9 + [12]
    assert _rows(stream(Xm, ym, batch_size=32, workers=0, seed=3)) == first  # the same seed, the same order


def test_workers_read_the_same_batches_in_the_same_order(on_disk):
    Xm, ym, _, _ = on_disk
    alone = [(xb.clone(), yb.clone()) for xb, yb in stream(Xm, ym, batch_size=50, workers=0, seed=1)]
    helped = list(stream(Xm, ym, batch_size=50, workers=2, seed=1))
    assert len(alone) == len(helped) == 6
    for (xa, ya), (xb, yb) in zip(alone, helped, strict=True):
        assert torch.equal(xa, xb) and torch.equal(ya, yb)
        assert ya.dtype == torch.long and xa.dtype == torch.float32


def test_a_loader_restored_mid_epoch_hands_out_the_rest_of_that_epoch(on_disk):
    Xm, ym, _, _ = on_disk
    loader = stream(Xm, ym, batch_size=40, workers=0, seed=5)
    list(loader)  # an epoch done: the next one is drawn afresh
    batches = iter(loader)
    seen = [next(batches)[1].clone() for _ in range(3)]
    state = loader.state_dict()
    rest = [yb for _, yb in batches]
    other = stream(Xm, ym, batch_size=40, workers=0, seed=99)
    other.load_state_dict(state)
    again = [yb for _, yb in other]
    assert state["position"] == 3 and len(seen) + len(rest) == len(loader)
    assert all(torch.equal(a, b) for a, b in zip(rest, again, strict=True))


def test_the_learner_streams_a_memory_mapped_x_and_trains_as_from_memory(on_disk):
    Xm, ym, X, y = on_disk

    def fit(data):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 2))
        learner = Learner(model, data, loss="cross_entropy", batch_size=32, validation=0.2, progress=False,
                          device="cpu", metrics=["accuracy"]).fit(3)
        return learner, model

    streamed, model_s = fit((Xm, ym))
    in_memory, model_m = fit((X, y))
    assert isinstance(streamed.train_loader, StreamLoader) and isinstance(streamed.val_loader, StreamLoader)
    for a, b in zip(model_s.parameters(), model_m.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)  # the same batches; rows summed in file order
    assert streamed.history[-1]["val_accuracy"] == in_memory.history[-1]["val_accuracy"]


def test_the_learner_takes_a_dataset_of_samples():
    X, y = _arrays()
    dataset = TensorDataset(torch.from_numpy(X), torch.from_numpy(y))
    learner = Learner(nn.Linear(6, 2), dataset, loss="cross_entropy", lr=0.05, batch_size=32, progress=False,
                      validation=(X[:60], y[:60]), metrics=["accuracy"], device="cpu").fit(5)
    assert isinstance(learner.train_loader, StreamLoader)
    assert learner.history[-1]["val_accuracy"] > 0.85


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: stream(*_arrays(), workers=-1), r"workers=-1 must be a whole number >= 0, for example 2, or 'auto'"),
        (lambda: stream(*_arrays(), batch_size=0), r"batch_size=0 must be a whole number >= 1"),
        (lambda: stream(TensorDataset(torch.zeros(3, 2)), np.zeros(3)), r"y must be None when data is a Dataset"),
        (lambda: stream(42), r"stream\(\) needs arrays indexable by rows"),
        (lambda: stream(np.zeros((3, 2)), np.zeros(4)), r"X has 3 rows but y has 4"),
    ],
)
def test_stream_mistakes_are_clear(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()


def test_a_memory_map_travels_to_a_worker_as_its_file(on_disk):
    import pickle

    from learnable.data.stream import RowBatches

    Xm, ym, X, y = on_disk
    dataset = pickle.loads(pickle.dumps(RowBatches(Xm, ym)))
    assert isinstance(dataset.X, np.memmap) and len(pickle.dumps(RowBatches(Xm, ym))) < 5_000
    xb, yb = dataset[[3, 1]]
    assert torch.equal(xb, torch.from_numpy(X[[1, 3]])) and torch.equal(yb, torch.from_numpy(y[[1, 3]]))


def test_streamed_targets_are_all_checked_before_training(on_disk):
    Xm, ym, _, _ = on_disk
    targets = np.asarray(ym).copy()
    targets[-1] = 4  # one class beyond the model's two outputs
    with pytest.raises(ValueError, match=r"from 0 to 4, but the model has 2 outputs"):
        Learner(nn.Linear(6, 2), (Xm, targets), loss="cross_entropy", validation=None, progress=False).fit(1)


def test_predict_and_validation_stream_too(on_disk):
    Xm, ym, X, y = on_disk
    learner = Learner(nn.Linear(6, 2), (X, y), loss="cross_entropy", validation=TensorDataset(
        torch.from_numpy(X[:50]), torch.from_numpy(y[:50])), progress=False, device="cpu").fit(1)
    assert isinstance(learner.val_loader, StreamLoader) and "val_loss" in learner.history[-1]
    torch.testing.assert_close(learner.predict(Xm), learner.predict(X))


def test_a_restored_loader_does_not_remember_a_stale_position(on_disk):
    from learnable.data import TensorLoader

    Xm, ym, X, y = on_disk
    for loader in (stream(Xm, ym, batch_size=40, workers=0), TensorLoader(torch.from_numpy(X), batch_size=40)):
        batches = iter(loader)
        next(batches), next(batches)
        state = loader.state_dict()
        loader.load_state_dict(state)
        assert loader.position == 0
        assert len(list(loader)) == len(loader) - 2  # the restored epoch: the rest of it
        assert len(list(loader)) == len(loader)  # then whole epochs again
