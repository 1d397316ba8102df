"""Reinforcement learning on Gymnasium's built-in environments: tabular Q-learning and SARSA, and DQN.

Needs the extra: ``pip install 'learnable[rl]'``. ``import learnable`` never imports this package. A saved
agent comes back with ``learnable.load(folder)`` (or ``Agent.load``, which also checks it is an agent).

Example:
    >>> from learnable.rl import QLearning
    >>> agent = QLearning("FrozenLake-v1", seed=0).learn(2_000)
    >>> sorted(agent.evaluate(episodes=10))
    ['episodes', 'mean_length', 'mean_return', 'std_return', 'success_rate']
"""

from learnable.rl.agent import Agent
from learnable.rl.dqn import DQN
from learnable.rl.envs import is_success, make_env
from learnable.rl.recording import record_gif
from learnable.rl.replay import ReplayBuffer
from learnable.rl.tabular import SARSA, QLearning, TabularAgent

__all__ = ["DQN", "SARSA", "Agent", "QLearning", "ReplayBuffer", "TabularAgent", "is_success", "make_env",
           "record_gif"]
