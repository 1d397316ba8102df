"""A replay buffer of transitions, held as preallocated tensors on the training device.

DQN learns from random mini-batches of past transitions ``(observation, action, reward, next_observation,
terminated)`` rather than from the latest one, which breaks the correlation between consecutive steps.
:class:`ReplayBuffer` keeps the last ``capacity`` transitions in a ring of tensors allocated once on
``device`` (so sampling a batch on a GPU copies nothing from the host), adds a whole vector-env step at
once and samples with its own ``torch.Generator``, so a seeded run draws the same batches every time.

Example:
    >>> import torch
    >>> buffer = ReplayBuffer(capacity=100, observation_shape=(4,), seed=0)
    >>> buffer.add(torch.zeros(2, 4), torch.tensor([0, 1]), torch.tensor([1.0, 1.0]), torch.ones(2, 4),
    ...            torch.tensor([False, True]))
    >>> len(buffer), buffer.sample(8).observations.shape
    (2, torch.Size([8, 4]))
"""

from __future__ import annotations

import warnings
from typing import Any, NamedTuple

import torch

from learnable.train.inputs import resolve_device
from learnable.utils.validation import check_count, check_seed, is_whole

FIELDS = ("observations", "actions", "rewards", "next_observations", "terminated")


class Batch(NamedTuple):
    """A sample of B transitions, every tensor on the buffer's device."""

    observations: torch.Tensor  # (B, *observation_shape) float32
    actions: torch.Tensor  # (B,) int64
    rewards: torch.Tensor  # (B,) float32
    next_observations: torch.Tensor  # (B, *observation_shape) float32
    terminated: torch.Tensor  # (B,) float32: 1.0 where the episode ended in a terminal state (no bootstrap)


class ReplayBuffer:
    """The last ``capacity`` transitions, in a circular store of tensors preallocated on ``device``.

    Args:
        capacity: the most transitions kept; the oldest are overwritten first.
        observation_shape: the shape of one observation, e.g. ``(4,)`` for CartPole.
        device: where the tensors live ("auto": CUDA if present, else the CPU).
        seed: seeds the ``torch.Generator`` that draws the sampled indices.

    Only ``terminated`` (a true end of the episode) stops bootstrapping; an episode cut by a time limit
    (``truncated``) is stored as not terminated, with its real last observation as ``next_observation``.

    Example:
        >>> buffer = ReplayBuffer(capacity=3, observation_shape=(1,))
        >>> for step in range(5):
        ...     buffer.add([[step]], [0], [0.0], [[step + 1]], [False])
        >>> sorted(buffer.observations[:len(buffer), 0].tolist())  # the last three steps remain
        [2.0, 3.0, 4.0]
    """

    def __init__(self, capacity: int, observation_shape: tuple[int, ...], *, device: Any = "cpu",
                 seed: int = 0) -> None:
        _check_settings(capacity, observation_shape, seed)
        self.capacity, self.observation_shape = int(capacity), tuple(int(s) for s in observation_shape)
        self.device = resolve_device(device)
        self.observations = torch.zeros((self.capacity, *self.observation_shape), device=self.device)
        self.next_observations = torch.zeros_like(self.observations)
        self.actions = torch.zeros(self.capacity, dtype=torch.int64, device=self.device)
        self.rewards = torch.zeros(self.capacity, device=self.device)
        self.terminated = torch.zeros(self.capacity, device=self.device)
        self.position, self.size = 0, 0  # the next slot to write; how many slots hold a transition
        self.generator = torch.Generator(device=self.device).manual_seed(seed)

    def __len__(self) -> int:
        return self.size

    def add(self, observations: Any, actions: Any, rewards: Any, next_observations: Any, terminated: Any) -> None:
        """Store N transitions at once (one vector-env step): observations (N, *shape), actions (N,),
        rewards (N,), next_observations (N, *shape), terminated (N,) booleans. Arrays, lists or tensors."""
        values = [self._as_tensor(v, f) for v, f in
                  zip((observations, actions, rewards, next_observations, terminated), FIELDS, strict=True)]
        count = len(values[0])
        self._check_batch(values, count)
        end = self.position + count
        slots = slice(self.position, end) if end <= self.capacity else \
            (self.position + torch.arange(count, device=self.device)) % self.capacity  # (N,): wraps around
        for field, value in zip(FIELDS, values, strict=True):
            getattr(self, field)[slots] = value
        self.position = (self.position + count) % self.capacity
        self.size = min(self.size + count, self.capacity)

    def sample(self, batch_size: int) -> Batch:
        """``batch_size`` transitions drawn uniformly, with replacement, from those stored."""
        if self.size == 0:
            raise ValueError("the replay buffer is empty, so there is nothing to sample; add transitions first.")
        check_count("batch_size", batch_size, 64)
        picked = torch.randint(self.size, (batch_size,), generator=self.generator, device=self.device)  # (B,)
        return Batch(*(getattr(self, field)[picked] for field in FIELDS))

    # ---- checkpoints ------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, torch.Tensor]:
        """The stored transitions, the write position and the generator state, as named CPU tensors
        (ready for safetensors). Only the filled part of the ring is included."""
        state = {field: getattr(self, field)[:self.size].cpu() for field in FIELDS}
        state["position"] = torch.tensor(self.position, dtype=torch.int64)
        state["size"] = torch.tensor(self.size, dtype=torch.int64)
        state["generator"] = self.generator.get_state().cpu()
        return state

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Restore what :meth:`state_dict` returned (the capacity and observation shape must match)."""
        missing = [name for name in (*FIELDS, "position", "size", "generator") if name not in state]
        if missing:
            raise ValueError(f"the replay buffer state lacks {missing}; pass what ReplayBuffer.state_dict() returned.")
        size, position = int(state["size"]), int(state["position"])
        stored = tuple(state["observations"].shape)
        if size > self.capacity or stored != (size, *self.observation_shape):
            raise ValueError(f"the replay buffer state holds observations of shape {stored}, but this buffer keeps "
                             f"at most {self.capacity} of shape {self.observation_shape}; load it into a buffer "
                             "built with the same capacity and observation shape.")
        for field in FIELDS:
            getattr(self, field)[:size] = state[field].to(self.device)
        self.size, self.position = size, position
        try:
            self.generator.set_state(state["generator"].cpu())
        except RuntimeError:  # saved on another kind of device (a CUDA generator's state is not a CPU one's)
            warnings.warn(f"the replay buffer's sampling state was saved on another kind of device than "
                          f"{self.device}; sampling restarts from the seed, so training will not continue "
                          "exactly as it would have. Resume on the same kind of device for an exact resume.",
                          stacklevel=2)

    # ---- checks -----------------------------------------------------------------------------------
    def _as_tensor(self, value: Any, field: str) -> torch.Tensor:
        dtype = torch.int64 if field == "actions" else torch.float32
        if isinstance(value, torch.Tensor):
            return value.detach().to(device=self.device, dtype=dtype)
        return torch.as_tensor(value, dtype=dtype, device=self.device)

    def _check_batch(self, values: list[torch.Tensor], count: int) -> None:
        expected = {"observations": (count, *self.observation_shape), "actions": (count,), "rewards": (count,),
                    "next_observations": (count, *self.observation_shape), "terminated": (count,)}
        for field, value in zip(FIELDS, values, strict=True):
            if tuple(value.shape) != expected[field]:
                raise ValueError(f"{field} has shape {tuple(value.shape)}, expected {expected[field]} (one row per "
                                 "environment of the step); pass the arrays of one vector-env step.")
        if count > self.capacity:
            raise ValueError(f"{count} transitions at once do not fit a replay buffer of capacity {self.capacity}; "
                             "use a larger buffer_size or fewer environments.")


def _check_settings(capacity: Any, observation_shape: Any, seed: Any) -> None:
    check_count("capacity", capacity, 100_000)
    if not isinstance(observation_shape, (tuple, list)) or not all(is_whole(s) and s >= 1 for s in observation_shape):
        raise ValueError(f"observation_shape={observation_shape!r} must be a tuple of sizes >= 1, for example (4,).")
    check_seed("seed", seed)
