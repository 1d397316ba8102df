"""Deep Q-learning (DQN, Mnih et al. 2015) with Double DQN (van Hasselt et al. 2016) for environments
with continuous observations and discrete actions, such as CartPole.

An MLP estimates Q(s, a) for every action. The agent acts epsilon-greedily (epsilon decays linearly),
stores each transition in a :class:`~learnable.rl.replay.ReplayBuffer` on the device and, every
``train_frequency`` environment steps, takes ``gradient_steps`` Adam steps on the Huber loss between
Q(s, a) and the bootstrapped target ``r + discount * (1 - terminated) * Q_target(s', a*)``, where a* is
chosen by the online network (Double DQN) or by the target network (classic DQN). The target network
follows the online one every ``target_update_interval`` steps, fully (``tau=1``) or by Polyak averaging.
That maths lives in :mod:`~learnable.rl.q_network`; this module is the agent's bookkeeping: acting,
the schedule of updates and evaluations, and saving everything a resume needs.

Everything random is seeded (network initialisation, exploration, replay sampling, the environments),
and :meth:`DQN.save` writes all of it, replay buffer and environment state included, so a checkpoint
resumes exactly: ``learn(a)``, save, load, ``learn(b)`` gives the same network as ``learn(a + b)``.

Example:
    >>> agent = DQN("CartPole-v1", learning_starts=100, seed=0).learn(500)
    >>> agent.steps_done_, agent.act([0.0, 0.0, 0.0, 0.0]) in (0, 1)
    (500, True)
"""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from learnable.rl.agent import Agent, Callback
from learnable.rl.envs import make_env
from learnable.rl.q_network import build_q_network, check_q_network, td_step, update_target
from learnable.rl.replay import ReplayBuffer
from learnable.rl.snapshots import env_state, generator_state, set_env_state, set_generator_state
from learnable.train.inputs import resolve_device
from learnable.utils.validation import check_count, check_flag, check_number, is_whole, quote

# The count settings: name -> (the least value, an example for the message).
WHOLE_SETTINGS = {"buffer_size": (1, 100_000), "batch_size": (1, 64), "learning_starts": (0, 1_000),
                  "train_frequency": (1, 256), "gradient_steps": (1, 128), "target_update_interval": (1, 10),
                  "exploration_steps": (0, 8_000), "num_envs": (1, 4), "eval_every": (0, 10_000),
                  "eval_episodes": (1, 10)}


class DQN(Agent):
    """A Deep Q-Network agent for a Gymnasium environment with a Box observation and Discrete actions.

    Args:
        env_id: a Gymnasium id, e.g. "CartPole-v1".
        hidden_sizes: the widths of the Q-network's hidden layers (a learnable MLP with ReLU).
        lr: the learning rate, Adam's step size.
        buffer_size: the most transitions the replay buffer keeps.
        batch_size: transitions per gradient step.
        discount: the discount factor gamma, in [0, 1].
        learning_starts: environment steps of pure collection before the first update.
        train_frequency: environment steps between rounds of updates.
        gradient_steps: updates per round.
        target_update_interval: environment steps between target-network updates.
        tau: the Polyak factor of a target update (1.0: copy the online network).
        double_dqn: choose the next action with the online network (Double DQN) or the target one.
        max_grad_norm: the gradient's norm is clipped to this before each step.
        exploration_steps: environment steps over which epsilon falls linearly from epsilon_start to
            epsilon_end (counted from the start of training, so it does not depend on ``learn``'s length).
        epsilon_start, epsilon_end: the exploration rates at the start and after the decay.
        num_envs: environments stepped together (Gymnasium's synchronous vector API).
        seed: seeds the network, exploration, replay sampling and the environments.
        device: where the network and the replay buffer live ("auto": CUDA if present, else the CPU).
        env_kwargs: keyword arguments for the environment.
        eval_every: environment steps between greedy evaluations of the online network during
            ``learn`` (0: none), each over ``eval_episodes`` episodes of a fixed-seed environment.
        eval_episodes: episodes per evaluation during training.
        keep_best: act (``act``, ``evaluate``, ``save``) with the network of the best evaluation so far
            rather than the latest one. DQN's greedy policy often collapses after it has solved a task;
            this keeps the solved one, as Stable-Baselines3's EvalCallback keeps its best model. Training
            itself always continues from the latest network, so resuming stays exact.

    Attributes (built by the first ``learn``, or by ``load``): ``network_`` (the online Q-network, the MLP
    that learns), ``target_network_`` (the copy the TD targets read), ``best_network_`` (a copy of the best
    evaluated network, with ``keep_best``; else None), ``optimizer_``, ``buffer_`` (the replay buffer),
    ``env_``, ``observation_shape_`` and ``n_actions_``; ``evaluations_`` (one {"step", "mean_return"} per
    evaluation during training), ``best_score_`` and ``best_step_`` (of the network ``act`` uses with
    ``keep_best``), plus those of :class:`Agent`.

    The defaults are RL Zoo's tuned CartPole-v1 settings (``target_update_interval`` 10 and rounds of
    128 updates every 256 steps: the target network is the online one as it was before each round).
    They solve CartPole fast (a greedy mean return of 500 within 20k-70k steps for seeds 0-4) but the
    policy often collapses later, as RL Zoo's 50k-step budget hides: ``keep_best`` (the default) keeps
    the solved policy. ``lr=1e-3`` solves later (40k-90k) and holds on far better at 100k (see
    benchmarks/dqn_cartpole.py).

    Example:
        >>> agent = DQN("CartPole-v1", seed=0).learn(50_000)  # doctest: +SKIP
        >>> agent.evaluate(episodes=100)["mean_return"]  # doctest: +SKIP
        500.0
    """

    algo = "dqn"

    def __init__(self, env_id: str = "CartPole-v1", *, hidden_sizes: Sequence[int] = (256, 256),
                 lr: float = 2.3e-3, buffer_size: int = 100_000, batch_size: int = 64,
                 discount: float = 0.99, learning_starts: int = 1_000, train_frequency: int = 256,
                 gradient_steps: int = 128, target_update_interval: int = 10, tau: float = 1.0,
                 double_dqn: bool = True, max_grad_norm: float = 10.0, exploration_steps: int = 8_000,
                 epsilon_start: float = 1.0, epsilon_end: float = 0.04, num_envs: int = 1, seed: int = 0,
                 device: str = "auto", env_kwargs: dict[str, Any] | None = None, eval_every: int = 10_000,
                 eval_episodes: int = 10, keep_best: bool = True) -> None:
        super().__init__(env_id, seed=seed, env_kwargs=env_kwargs)
        self.hidden_sizes, self.lr, self.buffer_size = hidden_sizes, lr, buffer_size
        self.batch_size, self.discount, self.learning_starts = batch_size, discount, learning_starts
        self.train_frequency, self.gradient_steps = train_frequency, gradient_steps
        self.target_update_interval, self.tau, self.double_dqn = target_update_interval, tau, double_dqn
        self.max_grad_norm, self.exploration_steps = max_grad_norm, exploration_steps
        self.epsilon_start, self.epsilon_end, self.num_envs, self.device = epsilon_start, epsilon_end, num_envs, device
        self.eval_every, self.eval_episodes, self.keep_best = eval_every, eval_episodes, keep_best
        self._check_settings()
        self.evaluations_: list[dict[str, float]] = []
        self.best_score_, self.best_step_, self.best_network_ = -math.inf, 0, None
        self._acting_network: torch.nn.Module | None = None  # set while the online network is evaluated
        self._device = resolve_device(device)
        self.env_ = self.network_ = None  # built by the first learn (or load)
        self._checkpoint_every, self._checkpoint_dir = 0, None

    def epsilon(self, step: int | None = None) -> float:
        """The exploration rate after ``step`` environment steps (default: the steps done so far)."""
        step = self.steps_done_ if step is None else step
        if self.exploration_steps == 0:
            return float(self.epsilon_end)
        progress = min(1.0, step / self.exploration_steps)
        return float(self.epsilon_start + progress * (self.epsilon_end - self.epsilon_start))

    # ---- building -------------------------------------------------------------------------------------
    def _build(self) -> None:
        """Make the environments, the networks, the optimizer, the RNG and the replay buffer (once)."""
        self.env_ = _vector_env(self.env_id, self.num_envs, self.env_kwargs or {})
        space, actions = self.env_.single_observation_space, self.env_.single_action_space
        if not hasattr(actions, "n") or getattr(space, "shape", None) in (None, ()):
            raise ValueError(f"DQN needs a Box observation space and Discrete actions; {self.env_id} has "
                             f"{space} observations and {actions} actions. Use QLearning or SARSA for "
                             "discrete observations.")
        self.observation_shape_, self.n_actions_ = tuple(space.shape), int(actions.n)
        network = build_q_network(math.prod(space.shape), self.n_actions_, tuple(self.hidden_sizes), self.seed)
        self.network_ = network.to(self._device)
        self.target_network_ = copy.deepcopy(self.network_).requires_grad_(False)
        fused = self._device.type in ("cpu", "cuda")  # one kernel for all parameters: several times faster
        self.optimizer_ = torch.optim.Adam(self.network_.parameters(), lr=self.lr, fused=fused)
        self.buffer_ = ReplayBuffer(self.buffer_size, self.observation_shape_, device=self._device, seed=self.seed)
        self._rng = np.random.default_rng(self.seed)
        observations, _ = self.env_.reset(seed=int(self.seed))
        self._observations = observations  # (N, *shape): the current observation of each env
        self._returns, self._lengths = np.zeros(self.num_envs), np.zeros(self.num_envs, dtype=np.int64)
        self._resetting = np.zeros(self.num_envs, dtype=bool)  # envs whose next step is Gymnasium's autoreset

    # ---- acting ---------------------------------------------------------------------------------------
    def act(self, observation: Any) -> int:
        """The greedy action (argmax Q) for one observation."""
        if self.network_ is None:
            raise ValueError("this DQN has not learned yet; call learn(total_steps) first, or DQN.load(directory).")
        return int(self._greedy(np.asarray(observation, dtype=np.float32)[None], self._policy())[0])

    def _policy(self) -> torch.nn.Module:
        """The network that acts: the one under evaluation, else the best evaluated (keep_best), else the latest."""
        if self._acting_network is not None:
            return self._acting_network
        return self.best_network_ if self.keep_best and self.best_network_ is not None else self.network_

    def _greedy(self, observations: np.ndarray, network: torch.nn.Module) -> np.ndarray:
        with torch.no_grad():
            inputs = torch.as_tensor(observations, dtype=torch.float32, device=self._device)  # (N, *shape)
            return network(inputs).argmax(1).cpu().numpy()  # (N,)

    def _explore(self, observations: np.ndarray) -> np.ndarray:
        """Epsilon-greedy actions (N,); the RNG draws the same numbers whether or not the net is asked."""
        explore = self._rng.random(self.num_envs) < self.epsilon()
        random_actions = self._rng.integers(self.n_actions_, size=self.num_envs)
        if explore.all():
            return random_actions
        return np.where(explore, random_actions, self._greedy(observations, self.network_))

    # ---- training -------------------------------------------------------------------------------------
    def learn(self, total_steps: int, *, callbacks: Sequence[Callback] = (), checkpoint_every: int = 0,
              checkpoint_dir: str | Path | None = None) -> DQN:
        """Train for ``total_steps`` more environment steps; returns self.

        With ``checkpoint_every`` > 0, the whole agent is saved to ``checkpoint_dir`` (replacing the
        previous checkpoint) every that many steps; :meth:`resume` continues from it exactly.
        """
        check_count("checkpoint_every", checkpoint_every, "10000 (0: no checkpoints)", least=0)
        if checkpoint_every and checkpoint_dir is None:
            raise ValueError(f"checkpoint_every={checkpoint_every} needs a checkpoint_dir to write to; pass "
                             "checkpoint_dir='checkpoints/dqn', or checkpoint_every=0.")
        self._checkpoint_every, self._checkpoint_dir = int(checkpoint_every), checkpoint_dir
        try:
            return super().learn(total_steps, callbacks=callbacks)
        finally:
            self._checkpoint_every, self._checkpoint_dir = 0, None

    @classmethod
    def resume(cls, checkpoint_dir: str | Path) -> DQN:
        """Load a checkpoint written by ``learn(..., checkpoint_every=...)`` to train on with ``learn``."""
        return cls.load(checkpoint_dir)

    def _train(self, total_steps: int) -> None:
        if self.network_ is None:
            self._build()
        end = self.steps_done_ + total_steps
        while self.steps_done_ < end:
            before = self.steps_done_
            self._step()
            self._after_step(before)

    def _step(self) -> None:
        """One step of every env: store the real transitions, record the episodes that ended."""
        actions = self._explore(self._observations)
        next_observations, rewards, terminated, truncated, _ = self.env_.step(actions)
        real = ~self._resetting  # an env that just ended only resets in this step (NEXT_STEP autoreset)
        if real.any():
            self.buffer_.add(self._observations[real], actions[real], rewards[real], next_observations[real],
                             terminated[real])
        self.steps_done_ += int(real.sum())
        self._returns[real] += rewards[real]
        self._lengths[real] += 1
        done = (terminated | truncated) & real
        for index in np.flatnonzero(done):
            self._record_episode(self._returns[index], int(self._lengths[index]), self.epsilon())
            self._returns[index], self._lengths[index] = 0.0, 0
        self._resetting = done
        self._observations = next_observations

    def _after_step(self, before: int) -> None:
        """Target updates, rounds of updates and checkpoints whose step counts were crossed."""
        if _crossed(before, self.steps_done_, self.target_update_interval):
            self._update_target()
        if self.steps_done_ >= self.learning_starts:
            rounds = self.steps_done_ // self.train_frequency - before // self.train_frequency
            for _ in range(rounds * self.gradient_steps):
                self._update()
        if self.eval_every and _crossed(before, self.steps_done_, self.eval_every):
            self._evaluate_online()
        if self._checkpoint_every and _crossed(before, self.steps_done_, self._checkpoint_every):
            self.save(self._checkpoint_dir)

    def _evaluate_online(self) -> None:
        """Evaluate the latest network greedily; keep a copy of it when it scores at least the best so far."""
        self._acting_network = self.network_
        try:
            score = self.evaluate(self.eval_episodes)["mean_return"]
        finally:
            self._acting_network = None
        self.evaluations_.append({"step": self.steps_done_, "mean_return": score})
        if score >= self.best_score_:  # ties: the later network, trained on more
            self.best_score_, self.best_step_ = score, self.steps_done_
            if self.best_network_ is None:
                self.best_network_ = copy.deepcopy(self.network_).requires_grad_(False)
            else:  # copy into the kept module: no new network each time CartPole sits at 500
                self.best_network_.load_state_dict(self.network_.state_dict())

    def _update(self) -> None:
        """One gradient step on the Huber TD loss of a replay batch."""
        loss, q = td_step(self.network_, self.target_network_, self.optimizer_, self.buffer_.sample(self.batch_size),
                          discount=self.discount, double_dqn=self.double_dqn, max_grad_norm=self.max_grad_norm)
        self._record_update(loss, q.mean(), q.max())  # summed on the device, read once an episode

    def _update_target(self) -> None:
        update_target(self.target_network_, self.network_, self.tau)

    # ---- saving ---------------------------------------------------------------------------------------
    def _tensors(self) -> dict[str, torch.Tensor]:
        self._check_learned()
        tensors = {f"network.{k}": v for k, v in self.network_.state_dict().items()}
        tensors.update({f"target_network.{k}": v for k, v in self.target_network_.state_dict().items()})
        tensors.update({f"replay.{k}": v for k, v in self.buffer_.state_dict().items()})
        for index, slots in self.optimizer_.state_dict()["state"].items():
            tensors.update({f"optimizer.{index}.{name}": value for name, value in slots.items()})
        tensors["env.observations"] = torch.from_numpy(np.ascontiguousarray(self._observations))
        if self.best_network_ is not None:
            tensors.update({f"best_network.{k}": v for k, v in self.best_network_.state_dict().items()})
        return tensors

    def _check_learned(self) -> None:
        if self.network_ is None:
            raise ValueError("this DQN has not learned yet, so there is nothing to save; call learn first.")

    def _state(self) -> dict[str, Any]:
        self._check_learned()
        return {"rng": generator_state(self._rng), "env": env_state(self.env_), "returns": self._returns.tolist(),
                "lengths": self._lengths.tolist(), "resetting": self._resetting.tolist(),
                "param_groups": self.optimizer_.state_dict()["param_groups"],
                "update_stats": self._update_stats.totals(),
                "evaluations": self.evaluations_, "best": [self.best_score_, self.best_step_]}

    def _restore(self, tensors: dict[str, torch.Tensor], state: dict[str, Any]) -> None:
        try:
            self._check_saved(tensors)  # before _build allocates the networks, the buffer and the envs
            self._build()
            self.network_.load_state_dict(_part(tensors, "network."))
            self.target_network_.load_state_dict(_part(tensors, "target_network."))
            self.buffer_.load_state_dict(_part(tensors, "replay."))
            self._restore_optimizer(tensors, state["param_groups"])
            set_generator_state(self._rng, state["rng"])
            set_env_state(self.env_, state["env"])
            self._observations = tensors["env.observations"].numpy()
            self._returns = np.asarray(state["returns"], dtype=np.float64)
            self._lengths = np.asarray(state["lengths"], dtype=np.int64)
            self._resetting = np.asarray(state["resetting"], dtype=bool)
            self._update_stats.restore(state["update_stats"])
            self.evaluations_ = list(state.get("evaluations", []))
            self.best_score_, self.best_step_ = state.get("best", [-math.inf, 0])
            if any(name.startswith("best_network.") for name in tensors):
                self.best_network_ = copy.deepcopy(self.network_).requires_grad_(False)
                self.best_network_.load_state_dict(_part(tensors, "best_network."))
        except (KeyError, RuntimeError, TypeError, ValueError, IndexError) as error:
            raise ValueError(f"the saved DQN is damaged or does not match its settings: {quote(str(error))}") from None

    def _check_saved(self, tensors: dict[str, torch.Tensor]) -> None:
        """Raise unless the saved tensors fit the settings, before anything is built from them: the
        Q-network against ``hidden_sizes``, the saved observations against ``num_envs``, and the replay
        buffer against the memory it would take."""
        check_q_network(_part(tensors, "network."), tuple(self.hidden_sizes))
        observations = tuple(tensors["env.observations"].shape)  # (num_envs, *observation_shape)
        if observations[:1] != (self.num_envs,):
            raise ValueError(f"num_envs={self.num_envs}, but the file holds the observations of "
                             f"{observations[:1]} envs")
        needed = self.buffer_size * (2 * 4 * math.prod(observations[1:]) + 16)  # two float32 observations + the rest
        available = _memory(self._device)
        if needed > available // 2:
            raise ValueError(f"buffer_size={self.buffer_size:,} needs {needed / 2**30:.1f} GB for the replay buffer, "
                             f"more than half of the {available / 2**30:.1f} GB of this {self._device.type} device")

    def _restore_optimizer(self, tensors: dict[str, torch.Tensor], param_groups: list[dict]) -> None:
        slots: dict[int, dict[str, torch.Tensor]] = {}
        for key, value in _part(tensors, "optimizer.").items():
            index, name = key.split(".", 1)
            slots.setdefault(int(index), {})[name] = value
        self.optimizer_.load_state_dict({"state": slots, "param_groups": param_groups})

    # ---- checks ---------------------------------------------------------------------------------------
    def _check_settings(self) -> None:
        for name, (least, example) in WHOLE_SETTINGS.items():
            check_count(name, getattr(self, name), example, least=least, owner="DQN")
        sizes = self.hidden_sizes
        if not isinstance(sizes, (list, tuple)) or not sizes or not all(is_whole(size) and size >= 1 for size in sizes):
            raise ValueError(f"DQN hidden_sizes={self.hidden_sizes!r} must list layer widths >= 1, e.g. (256, 256).")
        check_number("lr", self.lr, 0, math.inf, "2.3e-3", low_open=True, owner="DQN")
        check_number("discount", self.discount, 0, 1, "0.99", owner="DQN")
        check_number("tau", self.tau, 0, 1, "1.0 (a hard copy) or 0.005", low_open=True, owner="DQN")
        check_number("max_grad_norm", self.max_grad_norm, 0, math.inf, "10", low_open=True, owner="DQN")
        check_number("epsilon_start", self.epsilon_start, 0, 1, "1.0", owner="DQN")
        check_number("epsilon_end", self.epsilon_end, 0, 1, "0.04", owner="DQN")
        check_flag("double_dqn", self.double_dqn, owner="DQN")
        check_flag("keep_best", self.keep_best, owner="DQN")
        if self.batch_size > self.buffer_size:
            raise ValueError(f"DQN batch_size={self.batch_size} is larger than buffer_size={self.buffer_size}; "
                             "use a batch no larger than the replay buffer.")


def _crossed(before: int, after: int, interval: int) -> bool:
    """Whether a multiple of ``interval`` lies in (before, after]."""
    return after // interval > before // interval


def _memory(device: torch.device) -> int:
    """Bytes of memory ``device`` has: the GPU's for CUDA, else the machine's RAM."""
    if device.type == "cuda":
        return torch.cuda.get_device_properties(device).total_memory
    if not hasattr(os, "sysconf"):  # Windows: no sysconf; PyTorch's own allocation error will have to do
        return 2**63
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def _part(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {key[len(prefix):]: value for key, value in tensors.items() if key.startswith(prefix)}


def _vector_env(env_id: str, num_envs: int, env_kwargs: dict[str, Any]) -> Any:
    """A SyncVectorEnv of ``num_envs`` copies (one env is wrapped too, so there is one code path)."""
    import gymnasium

    env = make_env(env_id, num_envs=num_envs, **env_kwargs)
    if num_envs == 1:
        return gymnasium.vector.SyncVectorEnv([lambda: env])
    return env
