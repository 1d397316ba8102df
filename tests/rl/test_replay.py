"""The replay buffer: a ring of preallocated tensors, seeded sampling, exact state round trips."""

import pytest
import torch

pytest.importorskip("gymnasium")

from learnable.rl import ReplayBuffer  # noqa: E402


def add_steps(buffer, first, count):
    """Add ``count`` transitions whose observation (and reward) is the step number."""
    steps = torch.arange(first, first + count, dtype=torch.float32)
    buffer.add(steps[:, None].repeat(1, 2), steps.long() % 2, steps, steps[:, None].repeat(1, 2) + 1, steps > 100)


def test_ring_overwrites_the_oldest_transitions():
    buffer = ReplayBuffer(5, (2,))
    add_steps(buffer, 0, 3)
    assert len(buffer) == 3 and buffer.position == 3
    add_steps(buffer, 3, 4)  # 3..6: slots 3, 4, then 0, 1 wrap around
    assert len(buffer) == 5 and buffer.position == 2
    assert buffer.rewards.tolist() == [5.0, 6.0, 2.0, 3.0, 4.0]
    assert buffer.observations[:, 1].tolist() == [5.0, 6.0, 2.0, 3.0, 4.0]
    assert buffer.next_observations[:, 0].tolist() == [6.0, 7.0, 3.0, 4.0, 5.0]
    assert buffer.actions.tolist() == [1, 0, 0, 1, 0]
    assert buffer.actions.dtype == torch.int64 and buffer.terminated.dtype == torch.float32


def test_sample_draws_uniform_indices_from_its_seeded_generator():
    buffer = ReplayBuffer(10, (2,), seed=3)
    add_steps(buffer, 0, 7)
    batch = buffer.sample(32)
    expected = torch.randint(7, (32,), generator=torch.Generator().manual_seed(3))  # the oracle: same draws
    assert batch.rewards.tolist() == expected.float().tolist()
    assert torch.equal(batch.observations, expected.float()[:, None].repeat(1, 2))
    assert torch.equal(batch.actions, expected % 2)
    assert batch.terminated.shape == (32,)


def test_state_dict_round_trip_continues_the_same_samples():
    buffer = ReplayBuffer(8, (2,), seed=1)
    add_steps(buffer, 0, 6)
    add_steps(buffer, 6, 5)  # wrapped: position 3
    buffer.sample(5)
    copy = ReplayBuffer(8, (2,), seed=99)
    copy.load_state_dict(buffer.state_dict())
    assert (len(copy), copy.position) == (len(buffer), buffer.position)
    for first, second in zip(buffer.sample(16), copy.sample(16), strict=True):
        assert torch.equal(first, second)
    add_steps(buffer, 11, 2)
    add_steps(copy, 11, 2)
    assert torch.equal(buffer.observations, copy.observations)


def test_state_dict_holds_only_the_filled_part():
    buffer = ReplayBuffer(1000, (4,))
    buffer.add(torch.zeros(3, 4), [0, 1, 0], [1.0, 1.0, 1.0], torch.ones(3, 4), [False, False, True])
    state = buffer.state_dict()
    assert state["observations"].shape == (3, 4) and int(state["size"]) == 3
    assert state["terminated"].tolist() == [0.0, 0.0, 1.0]


def test_mismatched_state_is_refused():
    buffer = ReplayBuffer(8, (2,))
    add_steps(buffer, 0, 4)
    with pytest.raises(ValueError, match="same capacity and observation shape"):
        ReplayBuffer(8, (3,)).load_state_dict(buffer.state_dict())
    with pytest.raises(ValueError, match="lacks"):
        ReplayBuffer(8, (2,)).load_state_dict({"observations": torch.zeros(1, 2)})


def test_bad_settings_and_batches_say_what_to_do():
    with pytest.raises(ValueError, match="capacity=0 must be a whole number >= 1"):
        ReplayBuffer(0, (4,))
    with pytest.raises(ValueError, match="observation_shape=4 must be a tuple"):
        ReplayBuffer(10, 4)
    buffer = ReplayBuffer(2, (4,))
    with pytest.raises(ValueError, match="empty"):
        buffer.sample(1)
    with pytest.raises(ValueError, match=r"observations has shape \(1, 3\), expected \(1, 4\)"):
        buffer.add(torch.zeros(1, 3), [0], [0.0], torch.zeros(1, 4), [False])
    with pytest.raises(ValueError, match=r"actions has shape \(2,\), expected \(1,\)"):
        buffer.add(torch.zeros(1, 4), [0, 1], [0.0], torch.zeros(1, 4), [False])
    with pytest.raises(ValueError, match="do not fit a replay buffer of capacity 2"):
        buffer.add(torch.zeros(3, 4), [0] * 3, [0.0] * 3, torch.zeros(3, 4), [False] * 3)
    buffer.add(torch.zeros(1, 4), [0], [0.0], torch.zeros(1, 4), [False])
    with pytest.raises(ValueError, match="batch_size=0"):
        buffer.sample(0)


def test_a_generator_state_from_another_device_restarts_sampling_with_a_warning():
    buffer = ReplayBuffer(4, (2,))
    add_steps(buffer, 0, 3)
    state = {**buffer.state_dict(), "generator": torch.zeros(16, dtype=torch.uint8)}  # a CUDA generator's size
    copy = ReplayBuffer(4, (2,))
    with pytest.warns(UserWarning, match="will not continue exactly"):
        copy.load_state_dict(state)
    assert torch.equal(copy.rewards, buffer.rewards)  # the transitions themselves are restored
