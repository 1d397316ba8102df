"""Tests for learnable.data.loader: seeded in-memory mini-batches of device-resident tensors."""

import numpy as np
import pytest
import torch

from learnable.data import TensorLoader


def _data(num_rows=10):
    X = torch.arange(num_rows * 2, dtype=torch.float32).reshape(num_rows, 2)  # row i is [2i, 2i+1]
    y = torch.arange(num_rows)
    return X, y


def _epoch(loader):
    """The row ids of one epoch, batch by batch."""
    return [y.tolist() for _, y in loader]


def test_batches_cover_every_row_exactly_once_per_epoch():
    X, y = _data(10)
    loader = TensorLoader(X, y, batch_size=3, seed=0)
    assert len(loader) == 4
    for _ in range(3):
        batches = list(loader)
        assert [len(b[1]) for b in batches] == [3, 3, 3, 1]  # partial last batch
        ids = torch.cat([b[1] for b in batches])
        assert sorted(ids.tolist()) == list(range(10))
        for xb, yb in batches:  # inputs and targets stay paired
            torch.testing.assert_close(xb, X[yb])


def test_shuffled_order_is_not_the_identity():
    loader = TensorLoader(*_data(50), batch_size=50, seed=0)
    assert _epoch(loader)[0] != list(range(50))


def test_drop_last_skips_the_partial_batch():
    loader = TensorLoader(*_data(10), batch_size=3, seed=0, drop_last=True)
    assert len(loader) == 3
    batches = _epoch(loader)
    assert [len(b) for b in batches] == [3, 3, 3]
    assert len(set(sum(batches, []))) == 9


def test_drop_last_with_an_exact_multiple_keeps_every_batch():
    loader = TensorLoader(*_data(9), batch_size=3, drop_last=True)
    assert len(loader) == 3
    assert sorted(sum(_epoch(loader), [])) == list(range(9))


def test_same_seed_gives_the_same_order_and_another_seed_another():
    first = TensorLoader(*_data(30), batch_size=4, seed=5)
    again = TensorLoader(*_data(30), batch_size=4, seed=5)
    other = TensorLoader(*_data(30), batch_size=4, seed=6)
    assert _epoch(first) == _epoch(again)
    assert _epoch(first) == _epoch(again)  # second epochs match too
    assert _epoch(TensorLoader(*_data(30), batch_size=4, seed=5)) != _epoch(other)


def test_each_epoch_draws_a_new_order():
    loader = TensorLoader(*_data(30), batch_size=4, seed=0)
    assert _epoch(loader) != _epoch(loader)


def test_order_matches_torch_randperm_with_the_same_seed():
    loader = TensorLoader(*_data(12), batch_size=5, seed=11)
    generator = torch.Generator().manual_seed(11)
    for _ in range(2):
        expected = torch.randperm(12, generator=generator).tolist()
        assert sum(_epoch(loader), []) == expected


def test_shuffle_false_keeps_the_order():
    X, y = _data(7)
    loader = TensorLoader(X, y, batch_size=3, shuffle=False)
    assert _epoch(loader) == [[0, 1, 2], [3, 4, 5], [6]]
    assert _epoch(loader) == [[0, 1, 2], [3, 4, 5], [6]]
    torch.testing.assert_close(next(iter(loader))[0], X[:3])


def test_without_targets_batches_are_one_tuples():
    X, _ = _data(5)
    batches = list(TensorLoader(X, batch_size=2, shuffle=False))
    assert [len(b) for b in batches] == [1, 1, 1]
    torch.testing.assert_close(torch.cat([b[0] for b in batches]), X)


@pytest.mark.parametrize("batch_size", [0, -4, 2.5, "8", None])
def test_bad_batch_size_is_refused(batch_size):
    with pytest.raises(ValueError, match=r"batch_size=.* must be a whole number >= 1"):
        TensorLoader(*_data(4), batch_size=batch_size)


def test_numpy_integer_batch_size_is_accepted():
    loader = TensorLoader(*_data(8), batch_size=np.int64(4))
    assert len(loader) == 2


def test_length_mismatch_is_refused():
    X, y = _data(5)
    with pytest.raises(ValueError, match="X has 5 rows but y has 4; expected one target per row"):
        TensorLoader(X, y[:4])


def test_state_dict_reproduces_the_next_epochs_order():
    original = TensorLoader(*_data(20), batch_size=6, seed=3)
    _epoch(original)
    state = original.state_dict()
    expected = _epoch(original)
    resumed = TensorLoader(*_data(20), batch_size=6, seed=99)
    resumed.load_state_dict(state)
    assert _epoch(resumed) == expected


def test_peek_returns_the_first_rows_without_moving_the_order():
    X, y = _data(10)
    peeked = TensorLoader(X, y, batch_size=4, seed=1)
    xs, ys = peeked.peek(3)
    torch.testing.assert_close(xs, X[:3])
    torch.testing.assert_close(ys, y[:3])
    assert _epoch(peeked) == _epoch(TensorLoader(X, y, batch_size=4, seed=1))


def test_tensors_keep_their_dtype_and_device():
    X = torch.zeros(6, 3, dtype=torch.float64)
    y = torch.ones(6, dtype=torch.int64)
    for xb, yb in TensorLoader(X, y, batch_size=4):
        assert (xb.device, yb.device) == (X.device, y.device)
        assert (xb.dtype, yb.dtype) == (torch.float64, torch.int64)


def test_tensors_on_another_device_stay_there():
    # The meta device stands in for an accelerator on machines without one (see the gpu test below).
    X, y = torch.empty(10, 3, device="meta"), torch.empty(10, device="meta")
    batches = list(TensorLoader(X, y, batch_size=4, seed=0))
    assert [tuple(b[0].shape) for b in batches] == [(4, 3), (4, 3), (2, 3)]
    assert all(t.device.type == "meta" for batch in batches for t in batch)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_tensors_stay_on_the_gpu_with_the_cpu_order():
    X, y = _data(10)
    cpu_order = _epoch(TensorLoader(X, y, batch_size=4, seed=2))
    batches = list(TensorLoader(X.cuda(), y.cuda(), batch_size=4, seed=2))
    assert all(t.is_cuda for batch in batches for t in batch)
    assert [b[1].tolist() for b in batches] == cpu_order


def test_a_second_checkpoint_in_a_resumed_epoch_still_reproduces_it():
    def batches(loader, skip=0):
        it = iter(loader)
        for _ in range(skip):
            next(it)
        return [yb.tolist() for _, yb in it]

    original = TensorLoader(*_data(30), batch_size=4, seed=3)
    _epoch(original)
    it = iter(original)
    next(it), next(it)
    first = original.state_dict()  # mid-epoch: 2 batches handed out
    expected = [yb.tolist() for _, yb in it]  # the rest of that epoch
    resumed = TensorLoader(*_data(30), batch_size=4, seed=99)
    resumed.load_state_dict(first)
    it = iter(resumed)
    next(it)
    second = resumed.state_dict()  # a checkpoint taken again, one batch into the resumed part
    again = TensorLoader(*_data(30), batch_size=4, seed=7)
    again.load_state_dict(second)
    assert [yb.tolist() for _, yb in again] == expected[1:]
