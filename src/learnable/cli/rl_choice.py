"""The agent `learnable rl` trains: the algorithm that fits the environment's spaces (``--algo auto``:
Q-learning for Discrete observations, DQN for Box ones), and the agent built for it.

Example:
    >>> choose_algo("auto", "CartPole-v1", ("box", "Box((4,))"))
    'dqn'
"""

from __future__ import annotations

import inspect
from typing import Any

ALGOS = ("auto", "dqn", "q-learning", "sarsa")
TABULAR = ("q-learning", "sarsa")


def space_types(env_id: str, record: bool) -> tuple[str, str]:
    """The type of the environment's observations ("discrete", "box" or another space's class name) and their
    short description; refuses continuous actions. Makes the environment once (checking that it renders
    rgb_array frames when an episode is to be recorded)."""
    import gymnasium

    from learnable.rl import make_env

    env = make_env(env_id, render_mode="rgb_array" if record else None)
    try:
        spaces = env.observation_space, env.action_space
    finally:
        env.close()
    types = {gymnasium.spaces.Discrete: "discrete", gymnasium.spaces.Box: "box"}
    observation, action = (types.get(type(space), type(space).__name__) for space in spaces)
    if action != "discrete":
        raise ValueError(f"{env_id} has a continuous action space ({spaces[1]}); learnable's agents (Q-learning, "
                         "SARSA, DQN) choose among discrete actions. Pick an environment with Discrete actions, "
                         "such as CartPole-v1, Acrobot-v1, MountainCar-v0, FrozenLake-v1 or Taxi-v4.")
    shape = getattr(spaces[0], "shape", None)
    return observation, f"Box{shape}" if observation == "box" else str(spaces[0])


def choose_algo(algo: str, env_id: str, observation: tuple[str, str]) -> str:
    """--algo as given, or for auto: Q-learning for Discrete observations, DQN for Box; refuse a mismatch."""
    observed, space = observation
    if algo not in ALGOS:
        raise ValueError(f"--algo '{algo}' is not one of {', '.join(ALGOS)}; pass for example --algo auto.")
    if algo == "auto":
        if observed not in ("discrete", "box"):
            raise ValueError(f"{env_id} observes {space}; learnable's agents read Discrete (Q-learning, SARSA) or "
                             "Box (DQN) observations. Pick another environment.")
        return "q-learning" if observed == "discrete" else "dqn"
    if algo in TABULAR and observed != "discrete":
        raise ValueError(f"--algo {algo} keeps a table with one row per observation, but {env_id} observes {space}, "
                         "which is continuous; use --algo dqn (or auto).")
    if algo == "dqn" and observed != "box":
        raise ValueError(f"--algo dqn reads vector observations, but {env_id} observes {space}; use --algo q-learning "
                         "or sarsa (or auto).")
    return algo


def build_agent(algo: str, env_id: str, seed: int, num_envs: int) -> Any:
    """The agent of ``algo`` on ``env_id`` (its constructor checks its own settings)."""
    from learnable.rl import Agent

    klass = Agent.algorithms()[algo]
    options: dict[str, Any] = {"seed": seed}
    if num_envs > 1:
        if "num_envs" not in inspect.signature(klass).parameters:
            raise ValueError(f"--num-envs {num_envs}: {algo} steps one environment at a time; leave out --num-envs, "
                             "or use --algo dqn for vectorised environments.")
        options["num_envs"] = num_envs
    return klass(env_id, **options)
