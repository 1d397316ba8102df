"""The common base of learnable's reinforcement-learning agents: training history, greedy evaluation,
saving and loading.

An :class:`Agent` trains for a number of environment steps (``learn``), keeps one record per finished
training episode (``history_``), plays its greedy policy on a fresh environment (``evaluate``) and
saves to a folder (safetensors + JSON, nothing pickled). It follows scikit-learn's contract: the
constructor stores its arguments as given (``get_params`` reads them from its signature), learned state
ends in ``_``. Subclasses (``QLearning``, ``SARSA``, ``DQN``) supply the algorithm: ``_train``, ``act``
and their learned state. What the agents share besides lives in its own module:
:mod:`~learnable.rl.snapshots` (environment and RNG state for exact resumes), :mod:`~learnable.rl.recording`
(GIFs), :mod:`~learnable.rl.update_stats`.

Example:
    >>> from learnable.rl import QLearning, Agent
    >>> agent = QLearning("FrozenLake-v1", seed=0).learn(2_000)
    >>> agent.history_[0]["episode"]
    1
    >>> path = agent.save("/tmp/example-agent")
    >>> Agent.load(path).steps_done_
    2000
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from learnable.model_file import load_tensors, save_tensors
from learnable.rl.envs import is_success, make_env
from learnable.rl.recording import record_gif, render_frame
from learnable.rl.update_stats import UpdateStats
from learnable.utils.params import Params
from learnable.utils.validation import check_count, check_seed, quote, whole

Callback = Callable[[dict], None]


class Agent(Params):
    """The base of every agent: history, ``learn``, ``evaluate``, ``save`` and ``load``.

    Subclasses set ``algo``, store each constructor argument under its own name (``get_params`` reads
    them, and saving records them), and implement ``act``, ``_train(total_steps)`` (calling
    :meth:`_record_episode` at each episode end) and ``_tensors`` / ``_state`` / ``_restore`` for saving.
    Nothing registers them: :meth:`algorithms` finds every subclass that sets ``algo``.

    Attributes: ``steps_done_`` (environment steps trained, all envs), ``history_`` (one dict per
    finished training episode: episode, step, return, length, epsilon, td_loss, q_mean, q_max).
    """

    kind: ClassVar[str] = "rl_agent"  # the model.json entry an agent saves under (model_file.KINDS)
    algo: ClassVar[str] = ""

    @staticmethod
    def algorithms() -> dict[str, type[Agent]]:
        """Every agent class by the ``algo`` it sets, found among Agent's subclasses: nothing to register.

        Importing this module imports the package :mod:`learnable.rl` first, and with it QLearning, SARSA
        and DQN, so learnable's own agents are always found; a user's subclass is found once its module is
        imported. Where two classes set the same ``algo``, the one nearer Agent (learnable's own) is kept.

        Example:
            >>> sorted(Agent.algorithms())
            ['dqn', 'q-learning', 'sarsa']
        """
        found: dict[str, type[Agent]] = {}
        pending: list[type[Agent]] = [Agent]
        while pending:  # breadth first: a class before its subclasses, siblings in the order they were defined
            klass = pending.pop(0)
            if vars(klass).get("algo"):  # set by this class, not inherited
                found.setdefault(klass.algo, klass)
            pending.extend(klass.__subclasses__())
        return found

    def __init__(self, env_id: str, *, seed: int = 0, env_kwargs: dict[str, Any] | None = None) -> None:
        if not isinstance(env_id, str):
            raise TypeError(f"env_id must be a Gymnasium id such as 'CartPole-v1'; got {type(env_id).__name__}.")
        check_seed("seed", seed, owner=type(self).__name__)
        if env_kwargs is not None and not isinstance(env_kwargs, dict):
            raise TypeError(f"env_kwargs must be a dict of keyword arguments; got {type(env_kwargs).__name__}.")
        self.env_id, self.seed, self.env_kwargs = env_id, seed, env_kwargs
        self.history_: list[dict[str, Any]] = []
        self.steps_done_ = 0
        self._update_stats = UpdateStats()
        self._callbacks: tuple[Callback, ...] = ()

    # ---- for subclasses ---------------------------------------------------------------------------
    def _make_env(self, **options: Any) -> Any:
        """A fresh environment of ``env_id`` made with ``env_kwargs`` (and ``options`` for :func:`make_env`)."""
        return make_env(self.env_id, **options, **(self.env_kwargs or {}))

    def act(self, observation: Any) -> int:
        """The greedy action for one observation."""
        raise NotImplementedError

    def _train(self, total_steps: int) -> None:
        raise NotImplementedError

    def _tensors(self) -> dict[str, torch.Tensor]:
        return {}

    def _state(self) -> dict[str, Any]:
        """JSON-ready state needed to resume exactly (RNGs, env snapshot, episode in progress)."""
        return {}

    def _restore(self, tensors: dict[str, torch.Tensor], state: dict[str, Any]) -> None:
        pass

    def _record_update(self, td_loss: float, q_mean: float, q_max: float) -> None:
        """Note one learning update; its figures are averaged into the next episode record."""
        self._update_stats.add(td_loss, q_mean, q_max)

    def _record_episode(self, episode_return: float, length: int, epsilon: float) -> dict[str, Any]:
        """Append the record of a finished training episode to ``history_`` and pass it to the callbacks."""
        record = {"episode": len(self.history_) + 1, "step": int(self.steps_done_), "return": float(episode_return),
                  "length": int(length), "epsilon": float(epsilon), **self._update_stats.flush()}
        self.history_.append(record)
        for callback in self._callbacks:
            callback(record)
        return record

    # ---- training -----------------------------------------------------------------------------------
    def learn(self, total_steps: int, *, callbacks: Sequence[Callback] = ()) -> Agent:
        """Train for ``total_steps`` more environment steps (every env of a vector env counts); returns self.

        Calling ``learn`` again continues where the last call stopped: ``learn(a); learn(b)`` gives the
        same agent as ``learn(a + b)``. Each callback is called with each new ``history_`` record.
        """
        check_count("total_steps", total_steps, 10_000)
        callbacks = tuple(callbacks)
        for callback in callbacks:
            if not callable(callback):
                raise TypeError(f"callbacks must be callables taking a history record; got {callback!r}.")
        self._callbacks = callbacks
        try:
            self._train(int(total_steps))
        finally:
            self._callbacks = ()
        return self

    # ---- evaluation ---------------------------------------------------------------------------------
    def evaluate(self, episodes: int = 100, *, seed: int = 10_000, record: str | Path | None = None) -> dict:
        """Play the greedy policy (no exploration) for ``episodes`` episodes on a fresh environment.

        Returns {"episodes", "mean_return", "std_return", "mean_length", "success_rate"}; success_rate is
        None for environments without a goal. With ``record``, the first episode is written as a GIF.
        """
        check_count("episodes", episodes, 100)
        env = self._make_env(render_mode="rgb_array" if record is not None else None)
        try:
            returns, lengths, successes, frames = self._play(env, int(episodes), seed, record is not None)
        finally:
            env.close()
        if record is not None:
            record_gif(frames, record, fps=env.metadata.get("render_fps") or 30)
        known = [s for s in successes if s is not None]
        return {"episodes": int(episodes), "mean_return": float(np.mean(returns)),
                "std_return": float(np.std(returns)), "mean_length": float(np.mean(lengths)),
                "success_rate": float(np.mean(known)) if known else None}

    def _play(self, env: Any, episodes: int, seed: int, render: bool) -> tuple[list, list, list, list]:
        returns, lengths, successes, frames = [], [], [], []
        for episode in range(episodes):
            observation, _ = env.reset(seed=seed if episode == 0 else None)
            if render and episode == 0:
                frames.append(render_frame(env, self.env_id))
            total, length, done = 0.0, 0, False
            while not done:
                observation, reward, terminated, truncated, info = env.step(self.act(observation))
                total, length, done = total + float(reward), length + 1, terminated or truncated
                if render and episode == 0:
                    frames.append(render_frame(env, self.env_id))
            returns.append(total)
            lengths.append(length)
            successes.append(is_success(self.env_id, reward, terminated, info))
        return returns, lengths, successes, frames

    # ---- saving -------------------------------------------------------------------------------------
    def save(self, directory: str | Path) -> Path:
        """Save the agent to ``directory`` (model.safetensors + model.json); returns the path."""
        settings = {name: value for name, value in self.get_params().items() if name != "env_id"}
        info = {"algo": self.algo, "env_id": self.env_id, "settings": settings, "history": self.history_,
                "steps_done": int(self.steps_done_), "state": self._state()}
        return save_tensors(directory, self._tensors(), {self.kind: info})

    @classmethod
    def load(cls, directory: str | Path) -> Agent:
        """Load an agent saved by :meth:`save`; ``Agent.load`` picks the class from the saved algorithm."""
        tensors, info = load_tensors(directory)
        entry = info.get(cls.kind)
        if not isinstance(entry, dict) or "algo" not in entry:
            raise ValueError(f"'{directory}' holds no reinforcement-learning agent (no '{cls.kind}' entry in "
                             "model.json); load it with learnable.load instead.")
        algorithms = Agent.algorithms()
        klass = algorithms.get(entry["algo"])
        if klass is None:
            raise ValueError(f"'{directory}' holds an agent of unknown algorithm {entry['algo']!r}; expected one "
                             f"of {sorted(algorithms)}. Upgrade learnable, or check the folder.")
        if cls is not Agent and not issubclass(klass, cls):
            raise ValueError(f"'{directory}' holds a {entry['algo']} agent, not a {cls.algo or cls.__name__} one; "
                             f"load it with {klass.__name__}.load or Agent.load.")
        try:
            agent = klass(entry["env_id"], **entry["settings"])
            agent.history_ = list(entry.get("history", []))
            agent.steps_done_ = whole(entry.get("steps_done", 0), "steps_done")
            agent._restore(tensors, entry.get("state") or {})
        except (KeyError, TypeError, ValueError, IndexError) as error:
            raise ValueError(f"'{directory}' holds a damaged {entry['algo']} agent: {quote(str(error))}") from None
        return agent

    # ---- the record -----------------------------------------------------------------------------------
    def record(self) -> dict[str, Any]:
        """This agent's training as the doctor and the report read an RL run: its settings and history.

        ``learnable.insight.diagnose(agent)`` reads it, as it reads ``learnable.fit``'s model.

        Example:
            >>> from learnable.rl import QLearning
            >>> record = QLearning("FrozenLake-v1", discount=0.9).learn(100).record()
            >>> record["config"]["algo"], record["config"]["discount"], len(record["details"]["history"]) > 0
            ('q-learning', 0.9, True)
        """
        return {"config": {"task": "rl", "env_id": self.env_id, "algo": self.algo, **self.get_params()},
                "details": {"history": list(self.history_)}, "status": "finished", "summary": {}}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.env_id!r}, steps_done_={self.steps_done_})"
