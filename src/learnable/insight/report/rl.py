"""The report page of a reinforcement-learning run (`learnable rl`, config task "rl"), and its plots.

An RL run has episodes, not epochs: its record keeps the agent's training history (one dict per
finished episode: return, length, epsilon, TD loss, Q-value estimates, at an environment step) under
``details["history"]``, the greedy evaluation in its summary, and the GIF of an evaluation episode
as the artifact "recording" when one was asked for. :func:`rl_sections` gives the report's sections;
each plot function takes the history and returns a ``matplotlib.figure.Figure`` (or None when the run
has nothing to show), against environment steps.

Example:
    >>> history = [{"episode": i, "step": 20 * i, "return": float(i % 7), "length": 20, "epsilon": 1 / i,
    ...             "td_loss": 1 / i, "q_mean": 0.5, "q_max": 1.0} for i in range(1, 101)]
    >>> return_curve(history).axes[0].get_title()
    'Episode return'
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from learnable.insight import plots
from learnable.insight.doctor import diagnose
from learnable.insight.record import rl_history
from learnable.insight.report import page

WIDE, SHORT = (7.5, 3.6), (7.5, 2.8)
GIF_SIGNATURE = (b"GIF87a", b"GIF89a")
__all__ = ["episode_lengths", "epsilon_curve", "moving_average", "q_values", "return_curve", "rl_sections",
           "smoothing_window", "td_loss_curve"]


# ---- the numbers --------------------------------------------------------------------------------------
def smoothing_window(episodes: int) -> int:
    """The moving-average window for a run of ``episodes`` episodes: about a twentieth, from 1 to 100."""
    return int(min(100, max(1, episodes // 20)))


def moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """The mean of each ``window`` consecutive values (len(values) - window + 1 of them).

    Example:
        >>> moving_average(np.array([1.0, 2.0, 3.0, 4.0]), 2).tolist()
        [1.5, 2.5, 3.5]
    """
    if window < 1 or window > len(values):
        raise ValueError(f"window {window} must be from 1 to the number of values ({len(values)}).")
    sums = np.cumsum(np.concatenate([[0.0], np.asarray(values, dtype=np.float64)]))
    return (sums[window:] - sums[:-window]) / window


def _points(history: list[dict[str, Any]], key: str) -> tuple[np.ndarray, np.ndarray]:
    """(env steps, values) of the episodes where ``key`` holds a finite number."""
    pairs = [(h.get("step", i + 1), h[key]) for i, h in enumerate(history)
             if isinstance(h.get(key), (int, float)) and np.isfinite(h[key])]
    steps, values = zip(*pairs, strict=True) if pairs else ((), ())
    return np.array(steps, dtype=np.float64), np.array(values, dtype=np.float64)


def _finish(figure: Figure, axes: Any, title: str, ylabel: str) -> Figure:
    return plots.finish_figure(figure, axes, title, "environment steps", ylabel)


# ---- the plots ----------------------------------------------------------------------------------------
def _raw_and_smoothed(history: list[dict[str, Any]], key: str, size: tuple[float, float], colour: str,
                      alpha: float) -> tuple[Figure, Any] | None:
    """Each episode's ``key`` (faint) and its moving average against env steps; None when nothing to draw."""
    steps, values = _points(history, key)
    if not len(steps):
        return None
    figure = Figure(figsize=size)
    axes = figure.add_subplot()
    axes.plot(steps, values, color=colour, alpha=alpha, lw=0.8, label="each episode")
    window = smoothing_window(len(values))
    if window > 1:
        axes.plot(steps[window - 1:], moving_average(values, window), color=colour, lw=2,
                  label=f"moving average of {window} episodes")
    return figure, axes


def return_curve(history: list[dict[str, Any]], evaluations: list[dict[str, Any]] | None = None,
                 kept: dict[str, Any] | None = None) -> Figure | None:
    """Each training episode's return (faint) and its moving average, against environment steps; with
    ``evaluations`` ({"step", "mean_return"} of a DQN's greedy checks during training), those as points and
    the ``kept`` one ({"step", "score"}: the network that acts) ringed."""
    drawn = _raw_and_smoothed(history, "return", WIDE, "tab:blue", alpha=0.25)
    if drawn is None:
        return None
    figure, axes = drawn
    if evaluations:
        axes.plot([e["step"] for e in evaluations], [e["mean_return"] for e in evaluations], "o", color="tab:orange",
                  label="greedy evaluation during training")
    if kept:
        axes.plot([kept["step"]], [kept["score"]], "o", ms=14, mfc="none", mec="black", mew=2,
                  label="the kept network (it acts)")
    return _finish(figure, axes, "Episode return", "return")


def episode_lengths(history: list[dict[str, Any]]) -> Figure | None:
    """Each training episode's length in steps (and its moving average)."""
    drawn = _raw_and_smoothed(history, "length", SHORT, "tab:green", alpha=0.3)
    if drawn is None:
        return None
    figure, axes = drawn
    return _finish(figure, axes, "Episode length", "steps")


def epsilon_curve(history: list[dict[str, Any]]) -> Figure | None:
    """The exploration rate epsilon at the end of each episode."""
    steps, epsilon = _points(history, "epsilon")
    if not len(steps):
        return None
    figure = Figure(figsize=SHORT)
    axes = figure.add_subplot()
    axes.plot(steps, epsilon, color="tab:purple")
    axes.set_ylim(-0.03, max(1.03, float(epsilon.max()) + 0.03))
    return _finish(figure, axes, "Exploration (epsilon)", "epsilon")


def td_loss_curve(history: list[dict[str, Any]]) -> Figure | None:
    """The mean TD loss of the updates in each episode (log scale when positive)."""
    steps, loss = _points(history, "td_loss")
    if not len(steps):
        return None
    figure = Figure(figsize=SHORT)
    axes = figure.add_subplot()
    axes.plot(steps, loss, color="tab:red", alpha=0.8, lw=0.9)
    if (loss > 0).all() and loss.max() / loss.min() > 20:
        axes.set_yscale("log")
    return _finish(figure, axes, "TD loss", "loss")


def q_values(history: list[dict[str, Any]]) -> Figure | None:
    """The Q-value estimates of the updates in each episode: their mean and their maximum."""
    mean_steps, q_mean = _points(history, "q_mean")
    max_steps, q_max = _points(history, "q_max")
    if not len(mean_steps) and not len(max_steps):
        return None
    figure = Figure(figsize=WIDE)
    axes = figure.add_subplot()
    if len(mean_steps):
        axes.plot(mean_steps, q_mean, color="tab:orange", label="q_mean")
    if len(max_steps):
        axes.plot(max_steps, q_max, color="tab:brown", label="q_max")
    return _finish(figure, axes, "Q-value estimates", "Q")


# ---- the page -----------------------------------------------------------------------------------------
def rl_sections(record: dict[str, Any]) -> list[str]:
    """The report's sections for an RL run: header, findings, results, curves, evaluation, settings, versions."""
    history = rl_history(record)
    summary = record.get("summary") or {}
    returns = return_curve(history, summary.get("evaluations"), summary.get("kept_network"))
    curves = page.figures(returns, episode_lengths(history), epsilon_curve(history),
                             td_loss_curve(history), q_values(history))
    return [
        page.header(record),
        page.section("The doctor's findings", page.findings(diagnose(record))),
        page.section("Results", _results(record, len(history))),
        page.section("Training curves", curves or "<p class=muted>No episode finished in this run.</p>"),
        page.section("An evaluation episode", _recording((record.get("artifacts") or {}).get("recording"))),
        page.section("Settings", page.table(record.get("config") or {})),
        page.section("Versions", page.table(record.get("versions") or {})),
    ]


EVALUATION_KEYS = ("mean_return", "std_return", "mean_length", "success_rate", "episodes", "reward_threshold")
TRAINING_KEYS = ("env_id", "algo", "steps", "episodes_trained", "steps_per_second", "seconds")


def _results(record: dict[str, Any], episodes: int) -> str:
    summary = record.get("summary") or {}
    evaluation = {**(summary.get("evaluation") or {}), **(summary.get("metrics") or {})}
    if "reward_threshold" in summary:
        evaluation["reward_threshold"] = summary["reward_threshold"]
    shown = {k.replace("_", " "): "-" if evaluation[k] is None else evaluation[k]
             for k in EVALUATION_KEYS if k in evaluation}
    facts = {k.replace("_", " "): summary[k] for k in TRAINING_KEYS if summary.get(k) is not None}
    facts.setdefault("episodes trained", episodes)
    parts = []
    if shown:
        parts.append("<h3>Greedy evaluation (no exploration)</h3>" + page.table(shown))
    parts.append("<h3>Training</h3>" + page.table(facts))
    return "".join(parts)


def _recording(path: str | None) -> str:
    """The GIF of an evaluation episode (``--record``), embedded so the report stays one file."""
    if not path:
        return "<p class=muted>No episode was recorded (pass --record FILE.gif to `learnable rl`).</p>"
    return page.embedded_file(path, "gif", GIF_SIGNATURE, "an evaluation episode", "recording")
