"""Gymnasium environments for learnable's agents: making them (one, or a vector of several) with clear
errors, and telling whether an episode reached its goal.

Only Gymnasium's built-in environments are used: nothing is downloaded. Environments that need extra
packages (Box2D, MuJoCo, Atari) give an error that names the extra to install.

Example:
    >>> env = make_env("FrozenLake-v1", seed=0)
    >>> env.observation_space
    Discrete(16)
    >>> is_success("FrozenLake-v1", reward=1.0, terminated=True, info={})
    True
    >>> is_success("CartPole-v1", reward=1.0, terminated=True, info={}) is None
    True
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any

from learnable.utils.validation import check_count

try:
    import gymnasium
except ImportError as error:  # pragma: no cover - exercised only without the extra
    raise ImportError("learnable.rl needs Gymnasium, which is not installed; pip install 'learnable[rl]'.") from error

Goal = Callable[[float, bool, dict], bool]


def _terminated(reward: float, terminated: bool, info: dict) -> bool:
    return bool(terminated)


def _reached_reward(reward: float, terminated: bool, info: dict) -> bool:
    return bool(terminated and reward > 0)


# Whether the last transition of an episode reached the goal, by the id's name before "-v".
# None: the environment has no goal (balance as long as possible, swing up...).
GOALS: dict[str, Goal | None] = {
    "CartPole": None,
    "Pendulum": None,
    "Acrobot": _terminated,  # terminated means the tip swung above the line
    "MountainCar": _terminated,  # terminated means the car reached the flag
    "MountainCarContinuous": _terminated,
    "FrozenLake": _reached_reward,  # terminated in a hole gives 0, at the goal 1
    "FrozenLake8x8": _reached_reward,
    "Taxi": _terminated,  # terminated only by a successful drop-off
    "CliffWalking": _terminated,  # terminated only at the goal (the cliff sends back to the start)
    "CliffWalkingSlippery": _terminated,
    "Blackjack": _reached_reward,  # a won hand
    "LunarLander": None,
    "LunarLanderContinuous": None,
}

EXTRAS = {"box2d": "gymnasium[box2d]", "mujoco": "gymnasium[mujoco]", "ale_py": "gymnasium[atari]"}


def env_name(env_id: str) -> str:
    """The id's name without namespace and version: 'FrozenLake-v1' -> 'FrozenLake'."""
    return env_id.split("/")[-1].split("-v")[0]


def is_success(env_id: str, reward: float, terminated: bool, info: dict) -> bool | None:
    """Whether the transition that ended an episode reached the environment's goal; None when the
    environment has no goal (or learnable does not know one)."""
    goal = GOALS.get(env_name(env_id))
    return None if goal is None else goal(float(reward), bool(terminated), info)


def check_env_id(env_id: str) -> None:
    """Raise a ValueError naming close matches when ``env_id`` is not a registered Gymnasium id."""
    if not isinstance(env_id, str):
        raise TypeError(f"env_id must be a Gymnasium id such as 'CartPole-v1'; got {type(env_id).__name__}.")
    registry = gymnasium.envs.registry
    if env_id in registry:
        return
    newer = sorted(key for key in registry if env_name(key) == env_name(env_id) and "/" not in key)
    if newer:
        raise ValueError(f"unknown environment version {env_id!r}: this Gymnasium ({gymnasium.__version__}) has "
                         f"{', '.join(newer)}; use one of those.")
    if "ALE/" in env_id or "NoFrameskip" in env_id:
        raise ValueError(f"{env_id!r} is an Atari environment, which needs extra packages and ROMs; learnable "
                         "uses Gymnasium's built-in environments only (pip install 'gymnasium[atari]' to add it).")
    close = difflib.get_close_matches(env_id, list(registry), n=5, cutoff=0.5)
    hint = f"did you mean {', '.join(repr(c) for c in close)}?" if close else "see gymnasium.envs.registry for ids."
    raise ValueError(f"unknown environment {env_id!r}; {hint}")


def make_env(env_id: str, *, seed: int | None = None, num_envs: int = 1, render_mode: str | None = None,
             **kwargs: Any) -> Any:
    """Make a Gymnasium environment: one ``gymnasium.Env`` or, with ``num_envs`` > 1, a ``SyncVectorEnv``.

    Args:
        env_id: a registered id such as "FrozenLake-v1" or "CartPole-v1".
        seed: when given, the environment is reset once with it (and its action space seeded), so its
            random stream is fixed; a vector env's copies get seed, seed + 1, ...
        num_envs: how many copies step together (Gymnasium's synchronous vector API).
        render_mode: None, "rgb_array" (frames for GIFs) or another mode the environment lists.
        kwargs: passed to the environment, e.g. ``is_slippery=False`` or ``map_name="8x8"``.

    Example:
        >>> envs = make_env("CartPole-v1", seed=0, num_envs=4)
        >>> envs.num_envs
        4
    """
    check_env_id(env_id)
    check_count("num_envs", num_envs, 4)
    _check_render_mode(env_id, render_mode)
    try:
        if num_envs == 1:
            env = gymnasium.make(env_id, render_mode=render_mode, **kwargs)
        else:
            env = gymnasium.make_vec(env_id, num_envs=num_envs, vectorization_mode="sync",
                                     render_mode=render_mode, **kwargs)
    except gymnasium.error.DependencyNotInstalled as error:
        raise ValueError(_missing_dependency(env_id, error)) from None
    except TypeError as error:
        raise ValueError(f"{env_id} does not accept the arguments {sorted(kwargs)}: {error}. Check the "
                         "environment's documentation for its keyword arguments.") from None
    if seed is not None:
        env.reset(seed=seed)
        env.action_space.seed(seed)
    return env


def _check_render_mode(env_id: str, render_mode: str | None) -> None:
    if render_mode is None:
        return
    modes = _render_modes(env_id)
    if modes is not None and render_mode not in modes:
        raise ValueError(f"{env_id} cannot render in mode {render_mode!r}; it offers {modes}. "
                         "Use one of those, or leave out recording.")


def _render_modes(env_id: str) -> list[str] | None:
    """The render modes an environment declares, read from its class without building it."""
    entry_point = gymnasium.envs.registry[env_id].entry_point
    if not isinstance(entry_point, str):
        return None
    module_name, _, class_name = entry_point.partition(":")
    try:
        module = __import__(module_name, fromlist=[class_name])
    except (ImportError, gymnasium.error.Error):
        return None  # a missing dependency: make_env reports it
    return list(getattr(getattr(module, class_name, None), "metadata", {}).get("render_modes", [])) or None


def _missing_dependency(env_id: str, error: Exception) -> str:
    entry_point = str(gymnasium.envs.registry[env_id].entry_point)
    extra = next((pip for key, pip in EXTRAS.items() if key in entry_point), None)
    how = f"pip install '{extra}'" if extra else "install the package it names"
    return (f"{env_id} needs a package that is not installed ({error}). learnable's tests use only the "
            f"built-in classic-control and toy-text environments; to use this one, {how}.")
