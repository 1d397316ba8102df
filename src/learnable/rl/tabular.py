"""Tabular Q-learning and SARSA: a table of action values, one row per state, for environments whose
observations and actions are numbered (Gymnasium ``Discrete`` spaces), such as FrozenLake or Taxi.

Both update ``Q[s, a] += lr * (target - Q[s, a])`` after every step, exploring with an
epsilon-greedy policy whose epsilon falls linearly from ``epsilon_start`` to ``epsilon_end`` over the
first ``exploration_steps`` steps. Q-learning's target is ``r + discount * max_a' Q[s', a']``
(off-policy: the greedy policy's value); SARSA's is ``r + discount * Q[s', a']`` with the action a'
it will really take next (on-policy). A ``terminated`` step (a goal or a hole) adds no future value;
a ``truncated`` one (the time limit) does, because the state itself still has a future.

Example:
    >>> agent = QLearning("FrozenLake-v1", seed=0).learn(20_000)
    >>> agent.q_table_.shape
    (16, 4)
    >>> 0.0 <= agent.evaluate(episodes=100)["success_rate"] <= 1.0
    True
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from learnable.rl.agent import Agent
from learnable.rl.envs import env_name
from learnable.rl.snapshots import env_state, generator_state, set_env_state, set_generator_state
from learnable.utils.validation import check_count, check_number

try:
    from gymnasium.spaces import Discrete
except ImportError as error:  # pragma: no cover - exercised only without the extra
    raise ImportError("learnable.rl needs Gymnasium, which is not installed; pip install 'learnable[rl]'.") from error


DEFAULT_LR = 0.1
DEFAULT_LRS = {"FrozenLake": 0.05}  # by environment name: what reached the targets on 5 of 5 seeds


class TabularAgent(Agent):
    """The shared machinery of :class:`QLearning` and :class:`SARSA`; subclasses choose the target.

    Args:
        env_id: a Gymnasium id with Discrete observations and actions ("FrozenLake-v1", "Taxi-v4",
            "CliffWalking-v1").
        lr: the learning rate, the step size of each update, in (0, 1]. None picks the measured default for
            the environment (DEFAULT_LRS: 0.05 for FrozenLake, whose rewards are noisy), else DEFAULT_LR (0.1);
            ``lr_`` is the rate the updates use.
        discount: gamma, the weight of the future, in [0, 1].
        epsilon_start, epsilon_end: the chance of a random action at the first step and after
            ``exploration_steps`` steps (linear in between, then constant). A fixed number of steps rather
            than a fraction of the ``learn`` call, so that ``learn(a); learn(b)`` equals ``learn(a + b)``.
        exploration_steps: the length of the decay, in environment steps (0: always ``epsilon_end``).
        seed: seeds exploration, tie-breaking and the environment.
        env_kwargs: keyword arguments for the environment, e.g. ``{"is_slippery": False}``.

    Attributes: ``q_table_`` (n_states_, n_actions_) float64 array, ``n_states_`` and ``n_actions_`` (read from
    the environment's spaces), ``lr_`` (once trained or loaded), plus those of :class:`Agent`.

    Measured (seeds 0-4): Taxi-v4 with the defaults and 200,000 steps, greedy mean return 8.2-8.5 over
    100 episodes (optimal about 7.9 on average); slippery FrozenLake-v1 with ``lr=0.05`` and
    100,000 steps, greedy success rate 0.74-0.76 over 1,000 episodes (optimal about 0.74-0.82). Its
    rewards are so noisy that 0.1 leaves the greedy policy flickering (one seed in five fell to 0.55).
    """

    def __init__(self, env_id: str = "FrozenLake-v1", *, lr: float | None = None, discount: float = 0.99,
                 epsilon_start: float = 1.0, epsilon_end: float = 0.05, exploration_steps: int = 50_000,
                 seed: int = 0, env_kwargs: dict[str, Any] | None = None) -> None:
        super().__init__(env_id, seed=seed, env_kwargs=env_kwargs)
        self.lr, self.discount = lr, discount
        self.epsilon_start, self.epsilon_end, self.exploration_steps = epsilon_start, epsilon_end, exploration_steps
        self._check_settings()
        probe = self._make_env()
        try:
            self.n_states_, self.n_actions_ = self._check_spaces(probe)
        finally:
            probe.close()
        self.q_table_ = np.zeros((self.n_states_, self.n_actions_), dtype=np.float64)
        self._rng = np.random.default_rng(self.seed)
        self._env: Any = None
        self._observation: int | None = None  # the state of the episode in progress (None: reset first)
        self._pending_action: int | None = None  # SARSA's already chosen next action
        self._episode_return, self._episode_length = 0.0, 0

    # ---- settings -----------------------------------------------------------------------------------
    def _resolve_lr(self) -> None:
        """Set ``lr_``, the learning rate the updates use: ``lr``, or for None the environment's measured default."""
        self.lr_ = DEFAULT_LRS.get(env_name(self.env_id), DEFAULT_LR) if self.lr is None else self.lr

    def _check_settings(self) -> None:
        owner = type(self).__name__
        if self.lr is not None:
            check_number("lr", self.lr, 0, 1, "0.1", low_open=True, owner=owner)
        check_number("discount", self.discount, 0, 1, "0.99", owner=owner)
        check_number("epsilon_start", self.epsilon_start, 0, 1, "1.0", owner=owner)
        check_number("epsilon_end", self.epsilon_end, 0, 1, "0.05", owner=owner)
        check_count("exploration_steps", self.exploration_steps, 50_000, least=0, owner=owner)

    def _check_spaces(self, env: Any) -> tuple[int, int]:
        for role, space in (("observation", env.observation_space), ("action", env.action_space)):
            if not isinstance(space, Discrete):
                raise ValueError(
                    f"{type(self).__name__} keeps a table with one row per state and one column per action, so it "
                    f"needs Discrete observations and actions (as FrozenLake-v1 or Taxi-v4); {self.env_id} has "
                    f"the {role} space {space}. DQN handles Box observations: use algo dqn (learnable.rl.DQN).")
        return int(env.observation_space.n), int(env.action_space.n)

    # ---- the policy ---------------------------------------------------------------------------------
    @property
    def epsilon(self) -> float:
        """The exploration rate at the current step (linear decay over ``exploration_steps``)."""
        if self.exploration_steps == 0:
            return float(self.epsilon_end)
        progress = min(1.0, self.steps_done_ / self.exploration_steps)
        return float(self.epsilon_start + progress * (self.epsilon_end - self.epsilon_start))

    def act(self, observation: Any) -> int:
        """The greedy action: the column of the highest Q-value (the first one on ties)."""
        return int(np.argmax(self.q_table_[self._index(observation)]))

    def _index(self, observation: Any) -> int:
        state = int(observation)
        if not 0 <= state < self.n_states_:
            raise ValueError(f"observation {observation!r} is no state of {self.env_id}; expected a whole number "
                             f"from 0 to {self.n_states_ - 1}.")
        return state

    def _explore(self, state: int) -> int:
        """Epsilon-greedy; ties between equal Q-values are broken at random (all start at 0)."""
        if self._rng.random() < self.epsilon:
            return int(self._rng.integers(self.n_actions_))
        values = self.q_table_[state]
        best = np.flatnonzero(values == values.max())
        return int(best[0]) if len(best) == 1 else int(self._rng.choice(best))

    def _bootstrap(self, next_state: int) -> float:
        """The estimated value of the next state used in the target (Q-learning: max; SARSA: next action)."""
        raise NotImplementedError

    # ---- training -----------------------------------------------------------------------------------
    def _train(self, total_steps: int) -> None:
        self._resolve_lr()
        if self._env is None:
            self._env = self._make_env()
        for _ in range(total_steps):
            self._step()

    def _step(self) -> None:
        if self._observation is None:
            first = self.steps_done_ == 0 and not self.history_
            self._observation = int(self._env.reset(seed=int(self.seed) if first else None)[0])
        state = self._observation
        action = self._explore(state) if self._pending_action is None else self._pending_action
        self._pending_action = None
        next_state, reward, terminated, truncated, _ = self._env.step(action)
        next_state, reward = int(next_state), float(reward)
        self.steps_done_ += 1
        target = reward if terminated else reward + self.discount * self._bootstrap(next_state)
        row = self.q_table_[state]
        error = target - row[action]
        row[action] += self.lr_ * error
        self._record_update(error * error, row[action], row.max())
        self._episode_return += reward
        self._episode_length += 1
        self._observation = next_state
        if terminated or truncated:
            self._record_episode(self._episode_return, self._episode_length, self.epsilon)
            self._observation, self._pending_action = None, None
            self._episode_return, self._episode_length = 0.0, 0

    # ---- saving -------------------------------------------------------------------------------------
    def _tensors(self) -> dict[str, torch.Tensor]:
        return {"q_table": torch.from_numpy(self.q_table_.copy())}

    def _state(self) -> dict[str, Any]:
        return {"rng": generator_state(self._rng), "env": None if self._env is None else env_state(self._env),
                "observation": self._observation, "pending_action": self._pending_action,
                "episode_return": self._episode_return, "episode_length": self._episode_length,
                "update_stats": self._update_stats.totals()}

    def _restore(self, tensors: dict[str, torch.Tensor], state: dict[str, Any]) -> None:
        table = tensors.get("q_table")
        if table is None or tuple(table.shape) != (self.n_states_, self.n_actions_):
            raise ValueError(f"the saved Q table has shape {None if table is None else tuple(table.shape)}, but "
                             f"{self.env_id} needs ({self.n_states_}, {self.n_actions_}); the files do not match.")
        self.q_table_ = table.numpy().astype(np.float64, copy=True)
        self._resolve_lr()
        if "rng" in state:
            set_generator_state(self._rng, state["rng"])
        if state.get("env") is not None:
            self._env = self._make_env()
            self._env.reset(seed=int(self.seed))  # the wrappers need one reset before the state is put back
            set_env_state(self._env, state["env"])
        self._observation, self._pending_action = state.get("observation"), state.get("pending_action")
        self._episode_return = float(state.get("episode_return", 0.0))
        self._episode_length = int(state.get("episode_length", 0))
        if state.get("update_stats"):
            self._update_stats.restore(state["update_stats"])


class QLearning(TabularAgent):
    """Tabular Q-learning (Watkins 1989): learns the greedy policy's values while exploring.

    Example:
        >>> agent = QLearning("FrozenLake-v1", seed=0).learn(10_000)
        >>> agent.act(0) in range(4)
        True
    """

    algo = "q-learning"

    def _bootstrap(self, next_state: int) -> float:
        return float(self.q_table_[next_state].max())


class SARSA(TabularAgent):
    """Tabular SARSA (Rummery and Niranjan 1994): learns the values of the epsilon-greedy policy it follows,
    using the next action it really takes.

    Example:
        >>> agent = SARSA("FrozenLake-v1", seed=0).learn(10_000)
        >>> agent.q_table_.dtype
        dtype('float64')
    """

    algo = "sarsa"

    def _bootstrap(self, next_state: int) -> float:
        # Choose the next action now (steps_done already counts this step, so epsilon is the next step's)
        # and keep it: the next step takes it.
        self._pending_action = self._explore(next_state)
        return float(self.q_table_[next_state, self._pending_action])
