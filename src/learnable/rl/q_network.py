"""The Q-network of DQN and the maths that trains it: a seeded MLP estimating Q(s, a) for every action, the
(Double) DQN targets, one Huber TD step, the target network's updates, and checking a saved network
against the layers it should have before any is built.

Pure functions of networks and tensors: :class:`~learnable.rl.dqn.DQN` keeps the bookkeeping (acting,
replay, schedules, saving) and calls these.

Example:
    >>> import torch
    >>> online = build_q_network(4, 2, (8,), seed=0)
    >>> target = build_q_network(4, 2, (8,), seed=1)
    >>> targets = double_dqn_targets(online, target, torch.ones(3), torch.zeros(3, 4), torch.zeros(3), 0.9)
    >>> targets.shape
    torch.Size([3])
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from learnable.model_contents import build_on_meta, check_tensors, expected_tensors
from learnable.models import MLP
from learnable.rl.replay import Batch
from learnable.utils.validation import brief


def build_q_network(observation_size: int, n_actions: int, hidden_sizes: tuple[int, ...], seed: int) -> MLP:
    """An MLP from an observation (flattened, ``observation_size`` values) to one Q-value per action,
    initialised from ``seed`` alone (the global RNG is left as it was)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return MLP(in_features=observation_size, out_features=n_actions, hidden_sizes=hidden_sizes)


def double_dqn_targets(online: torch.nn.Module, target: torch.nn.Module, rewards: torch.Tensor,
                       next_observations: torch.Tensor, terminated: torch.Tensor, discount: float,
                       double_dqn: bool = True) -> torch.Tensor:
    """The TD targets (B,): ``r + discount * (1 - terminated) * Q_target(s', a*)``.

    a* = argmax_a Q_online(s', a) with Double DQN (the online net picks, the target net values: less
    over-estimation), else argmax_a Q_target(s', a) (classic DQN). No gradient flows through targets.
    """
    with torch.no_grad():
        next_q = target(next_observations)  # (B, A)
        chooser = online(next_observations) if double_dqn else next_q
        best = chooser.argmax(1, keepdim=True)  # (B, 1)
        return rewards + discount * (1.0 - terminated) * next_q.gather(1, best)[:, 0]


def td_step(online: torch.nn.Module, target: torch.nn.Module, optimizer: torch.optim.Optimizer, batch: Batch, *,
            discount: float, double_dqn: bool, max_grad_norm: float) -> tuple[torch.Tensor, torch.Tensor]:
    """One optimizer step of ``online`` on the Huber loss between Q(s, a) and the TD targets of ``batch``,
    its gradient's norm clipped to ``max_grad_norm``. Returns the loss and Q(s, a) (B,), detached."""
    targets = double_dqn_targets(online, target, batch.rewards, batch.next_observations, batch.terminated, discount,
                                 double_dqn)  # (B,)
    q = online(batch.observations).gather(1, batch.actions[:, None])[:, 0]  # (B,)
    loss = F.smooth_l1_loss(q, targets)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(online.parameters(), max_grad_norm)
    optimizer.step()
    return loss.detach(), q.detach()


def update_target(target: torch.nn.Module, online: torch.nn.Module, tau: float) -> None:
    """Move the target network's parameters ``tau`` of the way to the online one's (Polyak averaging;
    ``tau=1``: a copy)."""
    with torch.no_grad():
        for kept, latest in zip(target.parameters(), online.parameters(), strict=True):
            kept.lerp_(latest, tau)


def check_q_network(saved: dict[str, torch.Tensor], hidden_sizes: tuple[int, ...]) -> None:
    """Raise unless ``saved`` (a Q-network's state_dict) has the layers ``hidden_sizes`` build, compared on the
    meta device, so a model.json asking for huge layers is refused before they are allocated."""
    header = {key: (value.dtype, tuple(value.shape)) for key, value in saved.items()}
    layers = sorted((int(key.split(".")[1]), shape) for key, (_, shape) in header.items()
                    if key.endswith(".weight") and key.split(".")[1].isdigit())
    if not layers:
        raise ValueError("the file holds no Q-network (no network.layers.*.weight tensors)")
    config = {"in_features": layers[0][1][-1], "out_features": layers[-1][1][0], "hidden_sizes": list(hidden_sizes)}
    network = build_on_meta("mlp", config, len(header))
    check_tensors(header, expected_tensors(network), f"the Q-network has no hidden_sizes={brief(hidden_sizes, 60)}")

