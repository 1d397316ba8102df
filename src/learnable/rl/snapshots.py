"""JSON-ready snapshots of what an agent's training depends on beyond its tensors, for exact resumes: a
Gymnasium environment's state and a NumPy generator's state.

Gymnasium environments cannot be copied in general; :func:`env_state` covers the built-in toy-text and
classic-control environments, which keep their whole state in a few attributes (``ENV_ATTRIBUTES``).
A snapshot is plain JSON (no pickle) and :func:`set_env_state` sets only those attributes, with bool or
number dtypes, so a model.json written by anyone cannot set anything else.

Example:
    >>> from learnable.rl.envs import make_env
    >>> env = make_env("FrozenLake-v1")
    >>> _ = env.reset(seed=0)
    >>> snapshot = env_state(env)
    >>> _ = env.step(1)
    >>> set_env_state(env, snapshot)
    >>> int(env.unwrapped.s)
    0
"""

from __future__ import annotations

from typing import Any

import numpy as np

from learnable.utils.validation import brief, numpy_dtype

ENV_ATTRIBUTES = ("s", "state", "lastaction", "last_u", "steps_beyond_terminated", "fickle_step", "taxi_orientation",
                  "player", "dealer")  # the state variables of the built-in toy-text and classic-control envs


# ---- NumPy generators ---------------------------------------------------------------------------
def generator_state(rng: np.random.Generator) -> dict[str, Any]:
    """The JSON-ready state of a NumPy generator; :func:`set_generator_state` puts it back."""
    return rng.bit_generator.state


def set_generator_state(rng: np.random.Generator, state: dict[str, Any]) -> None:
    """Put a state from :func:`generator_state` back into ``rng``: it draws the same numbers again."""
    rng.bit_generator.state = state


# ---- environments -------------------------------------------------------------------------------
def env_state(env: Any) -> dict[str, Any]:
    """A JSON-ready snapshot of a Gymnasium env (or SyncVectorEnv): the RNG state of the environment,
    its built-in state variables (``s``, ``state``, ...) and the time limit's step count."""
    if hasattr(env, "envs"):  # a vector env: each sub-env, plus which ones reset on the next step
        autoreset = getattr(env, "_autoreset_envs", None)  # Gymnasium's own attribute: no public accessor
        return {"envs": [env_state(sub) for sub in env.envs],
                "autoreset": None if autoreset is None else np.asarray(autoreset).tolist()}
    base = env.unwrapped
    state = {"np_random": base.np_random.bit_generator.state, "attributes": {}, "elapsed_steps": None}
    for name in ENV_ATTRIBUTES:
        if hasattr(base, name):
            state["attributes"][name] = _to_json(getattr(base, name))
    layer = env
    while hasattr(layer, "env"):
        if hasattr(layer, "_elapsed_steps"):  # TimeLimit's counter: no public accessor
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
