"""The doctor's rules for reinforcement-learning runs (`learnable rl`, config task "rl").

An RL run has no epochs: its record holds the agent's training history, one dict per finished
episode ({"episode", "step", "return", "length", "epsilon", "td_loss", "q_mean", "q_max"}), under
``details["history"]``. Each rule reads that history (and the run's settings and summary) and returns
:class:`Finding` objects in plain words, with a fix.

Example:
    >>> history = [{"episode": i, "step": 10 * i, "return": 0.0, "length": 10, "epsilon": 0.1,
    ...             "td_loss": 0.01, "q_mean": 0.0, "q_max": 0.1} for i in range(1, 201)]
    >>> record = {"config": {"task": "rl", "discount": 0.99}, "details": {"history": history}}
    >>> [finding.code for finding in diagnose_rl(record)]
    ['flat_return']
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from learnable.insight.doctor.finding import Finding, apply_rules, format_number
from learnable.insight.record import rl_history

MIN_EPISODES = 20  # fewer finished episodes than this: too few to learn from or to judge
FLAT_EPISODES = 50  # the flat-return rule compares fifths, so it needs at least this many episodes
Q_BOUND_FACTOR = 2.0  # |Q| above this many times max|reward| / (1 - discount): diverging
DEFAULT_DISCOUNT = 0.99
# The largest |reward| of one step in Gymnasium's built-in environments, by the id's name before "-v".
REWARD_BOUNDS = {"CartPole": 1.0, "Acrobot": 1.0, "MountainCar": 1.0, "FrozenLake": 1.0, "FrozenLake8x8": 1.0,
                 "Taxi": 20.0, "CliffWalking": 100.0, "CliffWalkingSlippery": 100.0, "Blackjack": 1.5}

__all__ = ["RL_EXPLAINS", "RL_RULES", "diagnose_rl"]


# ---- reading an RL record ------------------------------------------------------------------------------
def _values(history: list[dict[str, Any]], key: str) -> np.ndarray:
    """One key of every episode as floats; None (no update in that episode) becomes NaN."""
    return np.array([h.get(key) if isinstance(h.get(key), (int, float)) else np.nan for h in history],
                    dtype=np.float64)


def _settings(record: dict[str, Any]) -> dict[str, Any]:
    config = record.get("config") or {}
    return {**(config.get("agent") or {}), **config}


def _discount(record: dict[str, Any]) -> float:
    settings = _settings(record)
    value = settings.get("discount", settings.get("gamma", DEFAULT_DISCOUNT))
    return float(value) if isinstance(value, (int, float)) and 0 <= value < 1 else DEFAULT_DISCOUNT


def _max_abs_reward(record: dict[str, Any], history: list[dict[str, Any]]) -> tuple[float, str]:
    """The largest reward of one step, and where it comes from (recorded, or bounded by the episode returns)."""
    recorded = (record.get("summary") or {}).get("max_abs_reward", _settings(record).get("max_abs_reward"))
    if isinstance(recorded, (int, float)) and recorded > 0:
        return float(recorded), "the environment's largest reward"
    name = str((record.get("config") or {}).get("env_id") or "").split("/")[-1].split("-v")[0]
    if name in REWARD_BOUNDS:
        return REWARD_BOUNDS[name], f"{name}'s largest reward"
    returns = np.abs(_values(history, "return"))
    returns = returns[np.isfinite(returns)]
    return max(float(returns.max()) if len(returns) else 1.0, 1.0), "the largest episode return"


# ---- the rules ----------------------------------------------------------------------------------------
def non_finite_q(record: dict[str, Any]) -> list[Finding]:
    history = rl_history(record)
    bad = {key: sum(_not_finite(h.get(key)) for h in history) for key in ("q_mean", "q_max", "td_loss")}
    bad = {k: n for k, n in bad.items() if n}
    if not bad:
        return []
    first = next(h["episode"] for h in history if any(_not_finite(h.get(k)) for k in bad))
    return [Finding(
        "non_finite_q", "critical", "The Q-values became NaN or infinite",
        f"{', '.join(f'{k} not finite in {n} episode(s)' for k, n in bad.items())}, from episode {first} on",
        "Once a Q-value or the TD loss is not finite, every update spreads it and the agent's choices are "
        "meaningless. Q-values that feed on their own over-estimates (a learning rate too high, a target "
        "network updated too often, no gradient clipping) end like this.",
        "Lower the learning rate 3-10x, update the target network less often (or use Polyak averaging), "
        "and keep gradient clipping and the Huber loss on.")]


def _not_finite(value: Any) -> bool:
    return isinstance(value, float) and not np.isfinite(value)


def diverging_q(record: dict[str, Any]) -> list[Finding]:
    history = rl_history(record)
    q_max = np.abs(_values(history, "q_max"))
    finite = q_max[np.isfinite(q_max)]
    if len(finite) < 5:
        return []
    reward, source = _max_abs_reward(record, history)
    discount = _discount(record)
    bound = Q_BOUND_FACTOR * reward / (1 - discount)
    peak = float(finite.max())
    if peak > bound:
        evidence = (f"|q_max| reached {format_number(peak)}, but with rewards of at most {format_number(reward)} "
                    f"({source}) and discount {discount:g} no return can exceed "
                    f"{format_number(reward / (1 - discount))}")
    elif _grows_exponentially(finite):
        evidence = (f"|q_max| kept doubling: {' -> '.join(format_number(m) for m in _fifths(finite))} "
                    "(median of each fifth of the episodes)")
    else:
        return []
    return [Finding(
        "diverging_q", "critical", "The Q-values are diverging", evidence,
        "A Q-value estimates the discounted return, which the rewards bound. Estimates far above that bound, "
        "or growing without end, mean the agent bootstraps from its own over-estimates: the updates feed on "
        "themselves instead of on the rewards.",
        "Lower the learning rate, update the target network less often (or use Polyak averaging with a small "
        "tau), use Double DQN and the Huber loss, clip gradients, or lower the discount a little.")]


def _fifths(values: np.ndarray) -> list[float]:
    return [float(np.median(part)) for part in np.array_split(values, 5)]


def _grows_exponentially(values: np.ndarray) -> bool:
    """Each fifth's median at least twice the previous one's, and the last 10x the first (and not tiny)."""
    medians = _fifths(values)
    doubling = all(b >= 2 * a > 0 for a, b in zip(medians, medians[1:], strict=False))
    return doubling and medians[-1] >= 10 * medians[0] and medians[-1] > 1


def flat_return(record: dict[str, Any]) -> list[Finding]:
    history = rl_history(record)
    returns = _values(history, "return")
    if len(returns) < FLAT_EPISODES or not np.isfinite(returns).all() or _solved(record):
        return []
    fifth = len(returns) // 5
    first, last = float(returns[:fifth].mean()), float(returns[-fifth:].mean())
    noise = 2 * np.sqrt((returns[:fifth].var() + returns[-fifth:].var()) / fifth)  # 2 standard errors of the gap
    if last > first + max(0.05 * float(returns.max() - returns.min()), noise, 1e-12):
        return []
    return [Finding(
        "flat_return", "warning", "The return did not improve during training",
        f"mean episode return {format_number(first)} over the first {fifth} episodes and {format_number(last)} "
        f"over the last {fifth} ({len(returns)} episodes, {history[-1].get('step', '?')} environment steps)",
        "The agent's episodes earn no more at the end of training than at the start: it has not found a better "
        "policy. Either it never reached a reward to learn from (too little exploration or too few steps), or "
        "its updates are too small (learning rate) or unstable.",
        "Train for more steps, explore longer (a slower epsilon decay), and check the learning rate; "
        "for sparse rewards (FrozenLake) keep epsilon high until the goal has been reached a few times.")]


def _evaluation_and_threshold(record: dict[str, Any]) -> tuple[float, float] | None:
    """The final evaluation's mean return and the environment's 'solved' threshold, when both are recorded."""
    summary = record.get("summary") or {}
    threshold, mean = summary.get("reward_threshold"), (summary.get("metrics") or {}).get("mean_return")
    if isinstance(threshold, (int, float)) and isinstance(mean, (int, float)):
        return float(mean), float(threshold)
    return None


def _solved(record: dict[str, Any]) -> bool:
    """The final evaluation reached the environment's reward threshold: a flat curve is then a plateau at the top."""
    found = _evaluation_and_threshold(record)
    return found is not None and found[0] >= found[1]


def epsilon_schedule(record: dict[str, Any]) -> list[Finding]:
    epsilon = _values(rl_history(record), "epsilon")
    epsilon = epsilon[np.isfinite(epsilon)]
    if len(epsilon) < MIN_EPISODES:
        return []
    first, last = float(epsilon[0]), float(epsilon[-1])
    if last >= first and first > 0.1:
        return [Finding(
            "epsilon_not_decayed", "warning", "Exploration never decayed: epsilon stayed at its start value",
            f"epsilon {format_number(first)} in the first episode and {format_number(last)} in the last of "
            f"{len(epsilon)}",
            "With epsilon this high the agent acts at random that often to the end, so the training returns "
            "show exploration, not the policy it has learned.",
            "Give the schedule a decay that ends within the run (for example epsilon from 1.0 to 0.05 over the "
            "first 10-50% of the steps).")]
    if last > 0.5:
        return [Finding(
            "epsilon_still_high", "info", "Exploration was still high when training ended",
            f"epsilon fell from {format_number(first)} to only {format_number(last)} over {len(epsilon)} episodes",
            "The schedule is longer than the run: most actions were still random at the end.",
            "Train for more steps, or make epsilon decay over fewer steps.")]
    return []


def too_few_episodes(record: dict[str, Any]) -> list[Finding]:
    history = rl_history(record)
    if len(history) >= MIN_EPISODES:
        return []
    steps = history[-1].get("step", "?") if history else (record.get("summary") or {}).get("steps", "?")
    return [Finding(
        "too_few_episodes", "warning", "Too few episodes to learn from or to judge",
        f"{len(history)} finished training episode(s) in {steps} environment steps",
        "An agent learns from the episodes it plays; a handful says little about its policy, and the doctor's "
        "curve rules need more.",
        f"Train for more steps (--steps): at least {MIN_EPISODES} episodes, usually hundreds.")]


def unsolved(record: dict[str, Any]) -> list[Finding]:
    found = _evaluation_and_threshold(record)
    if found is None or found[0] >= found[1]:
        return []
    mean, threshold = found
    return [Finding(
        "below_threshold", "info", "The environment is not solved yet",
        f"greedy evaluation mean return {format_number(mean)}; the environment counts {format_number(threshold)} "
        "as solved",
        "The learned policy does not reach the score the environment's authors call solved.",
        "Train for more steps, or tune the exploration schedule and learning rate.")]


def rl_run_state(record: dict[str, Any]) -> list[Finding]:
    if record.get("status") != "running":
        return []
    return [Finding(
        "still_running", "info", "The run is still running, or its process was killed",
        f"status 'running' with {len(rl_history(record))} episode(s) recorded",
        "The findings cover only the episodes recorded so far.",
        "Check again when it ends; a killed run must be started again with `learnable rl`.")]


RL_RULES: list[Callable[[dict[str, Any]], list[Finding]]] = [
    non_finite_q, diverging_q, flat_return, epsilon_schedule, too_few_episodes, unsolved, rl_run_state,
]
# A finding that explains another makes it redundant: (cause, the symptoms it explains).
RL_EXPLAINS = {
    "non_finite_q": {"diverging_q", "flat_return", "below_threshold"},
    "diverging_q": {"flat_return", "below_threshold"},
    "too_few_episodes": {"flat_return", "epsilon_still_high", "epsilon_not_decayed", "below_threshold"},
    "flat_return": {"below_threshold"},
}


def diagnose_rl(record: dict[str, Any]) -> list[Finding]:
    """Every finding for an RL run's record (see :func:`learnable.insight.record.rl_history`), most severe first."""
    return apply_rules(record, RL_RULES, RL_EXPLAINS, "Record RL runs with `learnable rl` so the record is complete.")

