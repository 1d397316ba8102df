"""The common base of learnable's reinforcement-learning agents: training history, greedy evaluation,
GIF recording, saving and loading, and snapshots of an environment's state for exact resumes.

An :class:`Agent` trains for a number of environment steps (``learn``), keeps one record per finished
training episode (``history``), plays its greedy policy on a fresh environment (``evaluate``) and
saves to a folder (safetensors + JSON, nothing pickled). Subclasses (``QLearning``, ``SARSA``,
``DQN``) supply the algorithm: ``_train``, ``act``, ``settings`` and their learned state.

Example:
    >>> from learnable.rl import QLearning, Agent
    >>> agent = QLearning("FrozenLake-v1", seed=0).learn(2_000)
    >>> agent.history[0]["episode"]
    1
    >>> path = agent.save("/tmp/example-agent")
    >>> Agent.load(path).steps_done
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
from learnable.utils.files import write_atomically
from learnable.utils.validation import brief, is_whole, numpy_dtype, quote, whole

INFO_KEY = "rl_agent"
ENV_ATTRIBUTES = ("s", "state", "lastaction", "last_u", "steps_beyond_terminated", "fickle_step", "taxi_orientation",
                  "player", "dealer")  # the state variables of the built-in toy-text and classic-control envs
Callback = Callable[[dict], None]


# ---- training statistics ------------------------------------------------------------------------
class UpdateStats:
    """Running sums of TD loss and Q-value estimates over the updates since the last episode record."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.count, self.td_loss, self.q_mean, self.q_max = 0, 0.0, 0.0, 0.0

    def add(self, td_loss: Any, q_mean: Any, q_max: Any) -> None:
        """Count one update: its loss (mean squared / Huber TD error) and its Q-value mean and maximum.

        Numbers or 0-d tensors: tensors are summed where they live (no wait for a GPU per update) and read
        once, by :meth:`flush` or :meth:`totals`."""
        self.count += 1
        self.td_loss += td_loss
        self.q_mean += q_mean
        self.q_max += q_max

    def totals(self) -> list[float]:
        """[count, the three sums] as plain numbers (for a checkpoint)."""
        return [self.count, float(self.td_loss), float(self.q_mean), float(self.q_max)]

    def flush(self) -> dict[str, float | None]:
        """The means since the last flush (None when there were no updates); then start again."""
        if self.count == 0:
            means = {"td_loss": None, "q_mean": None, "q_max": None}
        else:
            means = {name: float(getattr(self, name)) / self.count for name in ("td_loss", "q_mean", "q_max")}
        self.reset()
        return means


# ---- environment snapshots ----------------------------------------------------------------------
def env_state(env: Any) -> dict[str, Any]:
    """A JSON-ready snapshot of a Gymnasium env (or SyncVectorEnv): the RNG state of the environment,
    its built-in state variables (``s``, ``state``, ...) and the time limit's step count.

    Gymnasium environments cannot be copied in general; this covers the built-in toy-text and
    classic-control environments, which keep their whole state in these attributes."""
    if hasattr(env, "envs"):  # a vector env: each sub-env, plus which ones reset on the next step
        autoreset = getattr(env, "_autoreset_envs", None)
        return {"envs": [env_state(sub) for sub in env.envs],
                "autoreset": None if autoreset is None else np.asarray(autoreset).tolist()}
    base = env.unwrapped
    state = {"np_random": base.np_random.bit_generator.state, "attributes": {}, "elapsed_steps": None}
    for name in ENV_ATTRIBUTES:
        if hasattr(base, name):
            state["attributes"][name] = _to_json(getattr(base, name))
    layer = env
    while hasattr(layer, "env"):
        if hasattr(layer, "_elapsed_steps"):
            state["elapsed_steps"] = layer._elapsed_steps
        layer = layer.env
    return state


def set_env_state(env: Any, state: dict[str, Any]) -> None:
    """Put a snapshot from :func:`env_state` back into ``env`` (which must have been reset once)."""
    if "envs" in state:
        for sub, sub_state in zip(env.envs, state["envs"], strict=True):
            set_env_state(sub, sub_state)
        if state.get("autoreset") is not None:
            env._autoreset_envs = np.asarray(state["autoreset"], dtype=bool)
        return
    base = env.unwrapped
    base.np_random.bit_generator.state = state["np_random"]
    for name, value in state["attributes"].items():
        if name not in ENV_ATTRIBUTES:  # the file names what is set: never another attribute of the env
            raise ValueError(f"the saved environment state sets {brief(name, 40)}, which is not one of the state "
                             f"variables {list(ENV_ATTRIBUTES)}")
        setattr(base, name, _from_json(value))
    layer = env
    while hasattr(layer, "env"):
        if hasattr(layer, "_elapsed_steps") and state["elapsed_steps"] is not None:
            layer._elapsed_steps = state["elapsed_steps"]
        layer = layer.env


def _to_json(value: Any) -> Any:
    """Arrays and NumPy scalars as exact JSON (floats round-trip through repr)."""
    if isinstance(value, np.ndarray):
        return {"array": value.tolist(), "dtype": str(value.dtype)}
    if isinstance(value, np.generic):
        return {"scalar": value.item(), "dtype": str(value.dtype)}
    return value


def _from_json(value: Any) -> Any:
    if isinstance(value, dict) and "array" in value:
        return np.asarray(value["array"], dtype=_number_dtype(value.get("dtype")))
    if isinstance(value, dict) and "scalar" in value:
        return _number_dtype(value.get("dtype")).type(value["scalar"])
    return value


def _number_dtype(name: Any) -> np.dtype:
    """The NumPy dtype an env state variable is saved with: bools and numbers only (a string dtype such as
    'U400000000' would allocate gigabytes per element)."""
    dtype = numpy_dtype(name, "biuf")
    if dtype is None:
        raise ValueError(f"the saved environment state has dtype {brief(name, 40)}; expected a bool or number dtype "
                         "such as 'int64' or 'float32'")
    return dtype


def rng_state(rng: np.random.Generator) -> dict[str, Any]:
    """The JSON-ready state of a NumPy generator (restore with ``rng.bit_generator.state = ...``)."""
    return rng.bit_generator.state


# ---- GIFs ---------------------------------------------------------------------------------------
def record_gif(frames: list[np.ndarray], path: str | Path, *, fps: float = 30.0) -> Path:
    """Write RGB frames (each (H, W, 3) uint8) as a looping GIF at ``fps`` frames per second, atomically.

    Example:
        >>> frames = [np.full((8, 8, 3), shade, dtype=np.uint8) for shade in (0, 128, 255)]
        >>> record_gif(frames, "/tmp/example.gif", fps=4).name
        'example.gif'
    """
    from PIL import Image

    if not frames:
        raise ValueError("record_gif got no frames; expected at least one (H, W, 3) RGB image.")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    images = [Image.fromarray(np.asarray(frame, dtype=np.uint8)) for frame in frames]
    duration = max(20, round(1000 / fps))  # milliseconds per frame; browsers clamp below 20 ms
    return write_atomically(path, lambda handle: images[0].save(handle, format="GIF", save_all=True,
                                                                 append_images=images[1:], duration=duration, loop=0))


# ---- the agent ----------------------------------------------------------------------------------
class Agent:
    """The base of every agent: history, ``learn``, ``evaluate``, ``save`` and ``load``.

    Subclasses set ``algo`` and implement ``settings`` (their constructor arguments but ``env_id``,
    JSON-ready), ``act``, ``_train(total_steps)`` (calling :meth:`_record_episode` at each episode end)
    and ``_tensors`` / ``_state`` / ``_restore`` for saving.

    Attributes: ``env_id``, ``seed``, ``steps_done`` (environment steps trained, all envs),
    ``history`` (one dict per finished training episode: episode, step, return, length, epsilon,
    td_loss, q_mean, q_max).
    """

    algo: ClassVar[str] = ""
    algorithms: ClassVar[dict[str, type[Agent]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.algo:
            Agent.algorithms[cls.algo] = cls

    def __init__(self, env_id: str, *, seed: int = 0, env_kwargs: dict[str, Any] | None = None) -> None:
        if not isinstance(env_id, str):
            raise TypeError(f"env_id must be a Gymnasium id such as 'CartPole-v1'; got {type(env_id).__name__}.")
        if not is_whole(seed):
            raise ValueError(f"seed must be a whole number; got {seed!r}.")
        if env_kwargs is not None and not isinstance(env_kwargs, dict):
            raise TypeError(f"env_kwargs must be a dict of keyword arguments; got {type(env_kwargs).__name__}.")
        self.env_id, self.seed, self.env_kwargs = env_id, int(seed), dict(env_kwargs or {})
        self.history: list[dict[str, Any]] = []
        self.steps_done = 0
        self._update_stats = UpdateStats()
        self._callbacks: tuple[Callback, ...] = ()

    # ---- for subclasses ---------------------------------------------------------------------------
    @property
    def settings(self) -> dict[str, Any]:
        """The constructor's arguments except ``env_id`` (JSON-ready): ``type(agent)(env_id, **settings)``."""
        return {"seed": self.seed, "env_kwargs": self.env_kwargs}

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
        """Append the record of a finished training episode to ``history`` and pass it to the callbacks."""
        record = {"episode": len(self.history) + 1, "step": int(self.steps_done), "return": float(episode_return),
                  "length": int(length), "epsilon": float(epsilon), **self._update_stats.flush()}
        self.history.append(record)
        for callback in self._callbacks:
            callback(record)
        return record

    # ---- training -----------------------------------------------------------------------------------
    def learn(self, total_steps: int, *, callbacks: Sequence[Callback] = ()) -> Agent:
        """Train for ``total_steps`` more environment steps (every env of a vector env counts); returns self.

        Calling ``learn`` again continues where the last call stopped: ``learn(a); learn(b)`` gives the
        same agent as ``learn(a + b)``. Each callback is called with each new ``history`` record.
        """
        if not is_whole(total_steps) or total_steps < 1:
            raise ValueError(f"total_steps must be a whole number of at least 1; got {total_steps!r}.")
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
        if not is_whole(episodes) or episodes < 1:
            raise ValueError(f"episodes must be a whole number of at least 1; got {episodes!r}.")
        env = make_env(self.env_id, render_mode="rgb_array" if record is not None else None, **self.env_kwargs)
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
                frames.append(_frame(env, self.env_id))
            total, length, done = 0.0, 0, False
            while not done:
                observation, reward, terminated, truncated, info = env.step(self.act(observation))
                total, length, done = total + float(reward), length + 1, terminated or truncated
                if render and episode == 0:
                    frames.append(_frame(env, self.env_id))
            returns.append(total)
            lengths.append(length)
            successes.append(is_success(self.env_id, reward, terminated, info))
        return returns, lengths, successes, frames

    # ---- saving -------------------------------------------------------------------------------------
    def save(self, directory: str | Path) -> Path:
        """Save the agent to ``directory`` (model.safetensors + model.json); returns the path."""
        info = {"algo": self.algo, "env_id": self.env_id, "settings": self.settings, "history": self.history,
                "steps_done": int(self.steps_done), "state": self._state()}
        return save_tensors(directory, self._tensors(), {INFO_KEY: info})

    @classmethod
    def load(cls, directory: str | Path) -> Agent:
        """Load an agent saved by :meth:`save`; ``Agent.load`` picks the class from the saved algorithm."""
        tensors, info = load_tensors(directory)
        entry = info.get(INFO_KEY)
        if not isinstance(entry, dict) or "algo" not in entry:
            raise ValueError(f"'{directory}' holds no reinforcement-learning agent (no '{INFO_KEY}' entry in "
                             "model.json); load it with learnable.load instead.")
        klass = Agent.algorithms.get(entry["algo"])
        if klass is None:
            raise ValueError(f"'{directory}' holds an agent of unknown algorithm {entry['algo']!r}; expected one "
                             f"of {sorted(Agent.algorithms)}. Upgrade learnable, or check the folder.")
        if cls is not Agent and not issubclass(klass, cls):
            raise ValueError(f"'{directory}' holds a {entry['algo']} agent, not a {cls.algo or cls.__name__} one; "
                             f"load it with {klass.__name__}.load or Agent.load.")
        try:
            agent = klass(entry["env_id"], **entry["settings"])
            agent.history = list(entry.get("history", []))
            agent.steps_done = whole(entry.get("steps_done", 0), "steps_done")
            agent._restore(tensors, entry.get("state") or {})
        except (KeyError, TypeError, ValueError, IndexError) as error:
            raise ValueError(f"'{directory}' holds a damaged {entry['algo']} agent: {quote(str(error))}") from None
        return agent

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.env_id!r}, steps_done={self.steps_done})"


def _frame(env: Any, env_id: str) -> np.ndarray:
    frame = env.render()
    if not isinstance(frame, np.ndarray) or frame.ndim != 3:
        raise ValueError(f"{env_id} did not render an RGB image in render_mode='rgb_array'; it cannot be "
                         "recorded as a GIF. Leave out record=.")
    return frame


def load(directory: str | Path) -> Agent:
    """Load any saved agent (Q-learning, SARSA or DQN): the same as ``Agent.load(directory)``."""
    return Agent.load(directory)
