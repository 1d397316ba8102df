"""The report page and the doctor's rules for reinforcement-learning runs, on synthetic history records
(no Gymnasium needed): NumPy as the oracle of the smoothing, each rule firing on the history it is about
and staying quiet on a healthy one."""

import base64
import io
import math
import re

import numpy as np
import pytest
from PIL import Image

from learnable.insight import diagnose, write_report
from learnable.insight.doctor.rl import diagnose_rl
from learnable.insight.report.rl import moving_average, return_curve, smoothing_window

EPISODES = 300


def _history(returns, *, epsilon=None, q_max=None, td_loss=None, length=20):
    """One record per episode, as Agent.history_ holds them."""
    n = len(returns)
    epsilon = np.linspace(1.0, 0.05, n) if epsilon is None else epsilon
    q_max = np.linspace(0.1, 0.9, n) if q_max is None else q_max
    td_loss = np.linspace(0.5, 0.05, n) if td_loss is None else td_loss
    return [{"episode": i + 1, "step": (i + 1) * length, "return": float(returns[i]), "length": length,
             "epsilon": float(epsilon[i]), "td_loss": float(td_loss[i]), "q_mean": float(q_max[i]) / 2,
             "q_max": float(q_max[i])} for i in range(n)]


def _record(history, *, discount=0.99, summary=None, status="finished", env_id="FrozenLake-v1"):
    return {"id": "20260101-000000-abcdef", "name": "FrozenLake-v1-q-learning", "status": status,
            "config": {"task": "rl", "env_id": env_id, "algo": "q-learning", "discount": discount},
            "details": {"history": history}, "summary": summary or {}, "artifacts": {}, "versions": {"python": "3"}}


def _healthy():
    rng = np.random.default_rng(0)
    success = rng.random(EPISODES) < np.linspace(0.05, 0.8, EPISODES)  # the agent gets better
    return _history(success.astype(float))


def _codes(record):
    return [f.code for f in diagnose(record)]


# ---- the doctor ---------------------------------------------------------------------------------------
def test_a_healthy_run_has_no_findings():
    assert _codes(_record(_healthy())) == []


def test_q_values_beyond_what_the_rewards_allow_are_diverging():
    # returns of at most 1, discount 0.9: no discounted return exceeds 1 / (1 - 0.9) = 10; the bound is 2x that
    history = _history(np.linspace(0, 1, EPISODES), q_max=np.linspace(1, 25, EPISODES))
    findings = diagnose(_record(history, discount=0.9))
    assert [f.code for f in findings] == ["diverging_q"]
    assert findings[0].severity == "critical"
    assert "|q_max| reached 25, but with rewards of at most 1 (FrozenLake's largest reward) and discount 0.9 " \
        "no return can exceed 10" in findings[0].evidence
    assert "learning rate" in findings[0].fix.lower()


def test_cartpole_q_values_are_bounded_by_its_reward_of_one_per_step():
    returns, q_max = np.linspace(10, 500, EPISODES), np.linspace(1, 250, EPISODES)  # bound: 2 * 1 / 0.01 = 200
    assert _codes(_record(_history(returns, q_max=q_max), env_id="CartPole-v1")) == ["diverging_q"]
    assert _codes(_record(_history(returns, q_max=q_max * 0.7), env_id="CartPole-v1")) == []


def test_q_values_below_the_bound_are_not_diverging():
    history = _history(np.linspace(0, 1, EPISODES), q_max=np.linspace(1, 15, EPISODES))  # 15 < 2 * 10
    assert "diverging_q" not in _codes(_record(history, discount=0.9))


def test_exponentially_growing_q_values_are_diverging_even_below_the_bound():
    # an environment the doctor has no reward bound for, with returns up to 500: the bound from the returns
    # (2 * 500 / 0.01) is huge, but q_max doubles and doubles
    returns = np.linspace(10, 500, EPISODES)
    q_max = 2.0 ** np.linspace(0, 12, EPISODES)  # 1 -> 4096
    findings = diagnose(_record(_history(returns, q_max=q_max), env_id="Custom-v0"))
    assert [f.code for f in findings] == ["diverging_q"]
    assert "doubling" in findings[0].evidence


def test_nan_q_values_are_critical_and_explain_the_rest():
    q_max = np.linspace(1, 3, EPISODES)
    q_max[200:] = np.nan
    history = _history(np.zeros(EPISODES), q_max=q_max)
    findings = diagnose(_record(history))
    assert [f.code for f in findings] == ["non_finite_q"]  # the flat return it causes is not repeated
    assert "episode 201" in findings[0].evidence


def test_a_flat_return_curve_is_flagged():
    rng = np.random.default_rng(0)
    returns = (rng.random(EPISODES) < 0.1).astype(float)  # reaches the goal 10% of the time, start to end
    findings = diagnose(_record(_history(returns)))
    assert [(f.code, f.severity) for f in findings] == [("flat_return", "warning")]
    first, last = returns[:60].mean(), returns[-60:].mean()
    assert f"return {first:.3g} over the first 60 episodes and {last:.3g} over the last 60" in findings[0].evidence
    assert "more steps" in findings[0].fix


def test_flat_return_evidence_gives_the_means_of_the_first_and_last_fifth():
    returns = np.r_[np.full(150, 2.0), np.full(150, 1.0)]  # got worse
    finding = diagnose(_record(_history(returns)))[0]
    assert finding.code == "flat_return"
    assert "return 2 over the first 60 episodes and 1 over the last 60" in finding.evidence


def test_a_flat_curve_at_the_solved_score_is_a_plateau_not_a_problem():
    summary = {"metrics": {"mean_return": 0.8}, "reward_threshold": 0.7}
    assert _codes(_record(_history(np.ones(EPISODES)), summary=summary)) == []
    unsolved = {"metrics": {"mean_return": 0.3}, "reward_threshold": 0.7}
    assert _codes(_record(_history(np.ones(EPISODES)), summary=unsolved)) == ["flat_return"]


def test_an_unsolved_environment_is_noted():
    summary = {"metrics": {"mean_return": 0.3}, "reward_threshold": 0.7}
    findings = diagnose(_record(_healthy(), summary=summary))
    assert [(f.code, f.severity) for f in findings] == [("below_threshold", "info")]
    assert "0.3" in findings[0].evidence and "0.7" in findings[0].evidence


def test_epsilon_that_never_decays_is_flagged():
    history = _history(np.linspace(0, 1, EPISODES), epsilon=np.full(EPISODES, 1.0))
    findings = diagnose(_record(history))
    assert [f.code for f in findings] == ["epsilon_not_decayed"]
    assert "epsilon 1 in the first episode and 1 in the last" in findings[0].evidence


def test_epsilon_still_high_at_the_end_is_an_info():
    history = _history(np.linspace(0, 1, EPISODES), epsilon=np.linspace(1.0, 0.7, EPISODES))
    assert [(f.code, f.severity) for f in diagnose(_record(history))] == [("epsilon_still_high", "info")]


def test_a_constant_small_epsilon_is_a_choice_not_a_problem():
    history = _history(np.linspace(0, 1, EPISODES), epsilon=np.full(EPISODES, 0.05))
    assert _codes(_record(history)) == []


def test_too_few_episodes():
    findings = diagnose(_record(_history([0.0, 1.0, 0.0])))
    assert [f.code for f in findings] == ["too_few_episodes"]
    assert "3 finished training episode(s) in 60 environment steps" in findings[0].evidence
    assert _codes(_record([], status="failed")) == ["too_few_episodes"]


def test_updates_that_have_not_started_are_not_findings():
    history = _history(np.linspace(0, 1, EPISODES))
    for record in history[:100]:  # DQN before learning_starts: no update, so None
        record.update(td_loss=None, q_mean=None, q_max=None)
    assert _codes(_record(history)) == []


def test_a_running_rl_run_says_so_and_the_supervised_rules_stay_out():
    codes = _codes(_record(_healthy(), status="running"))
    assert codes == ["still_running"]
    assert "no_epochs" not in _codes(_record(_healthy(), status="finished"))


def test_the_doctor_reads_a_trained_agent():
    from learnable.rl import QLearning

    agent = QLearning("FrozenLake-v1", discount=0.9)
    agent.history_ = _history(np.linspace(0, 1, EPISODES), q_max=np.linspace(1, 25, EPISODES))  # 25 > 2 * 1 / 0.1
    record = agent.record()
    assert record["config"] == {"task": "rl", "env_id": "FrozenLake-v1", "algo": "q-learning", **agent.get_params()}
    assert record["details"]["history"] == agent.history_ and record["status"] == "finished"
    assert [f.code for f in diagnose_rl(record)] == ["diverging_q"]
    assert [f.code for f in diagnose(agent)] == ["diverging_q"]  # the doctor's own entry point reads agent.record()


# ---- the plots and the page ---------------------------------------------------------------------------
def test_moving_average_matches_numpy_convolution():
    values = np.random.default_rng(2).normal(size=257)
    for window in (1, 5, 100, 257):
        np.testing.assert_allclose(moving_average(values, window),
                                   np.convolve(values, np.ones(window) / window, mode="valid"), atol=1e-12)
    with pytest.raises(ValueError, match="window 0 must be from 1"):
        moving_average(values, 0)


def test_smoothing_window_is_a_twentieth_between_1_and_100():
    assert [smoothing_window(n) for n in (1, 19, 40, 300, 2000, 100_000)] == [1, 1, 2, 15, 100, 100]


def test_return_curve_draws_the_raw_and_the_smoothed_returns_against_env_steps():
    history = _healthy()
    lines = return_curve(history).axes[0].get_lines()
    raw, smooth = lines
    returns = np.array([h["return"] for h in history])
    np.testing.assert_array_equal(raw.get_xdata(), [h["step"] for h in history])
    np.testing.assert_array_equal(raw.get_ydata(), returns)
    window = smoothing_window(EPISODES)
    np.testing.assert_allclose(smooth.get_ydata(), np.convolve(returns, np.ones(window) / window, "valid"))
    np.testing.assert_array_equal(smooth.get_xdata(), [h["step"] for h in history][window - 1:])
    assert return_curve([]) is None


def test_return_curve_marks_the_evaluations_during_training_and_the_kept_network():
    evaluations = [{"step": 100, "mean_return": 20.0}, {"step": 200, "mean_return": 90.0},
                   {"step": 300, "mean_return": 40.0}]
    lines = return_curve(_healthy(), evaluations, {"step": 200, "score": 90.0}).axes[0].get_lines()
    points, kept = lines[-2:]
    assert points.get_xdata().tolist() == [100, 200, 300] and points.get_ydata().tolist() == [20.0, 90.0, 40.0]
    assert (kept.get_xdata().tolist(), kept.get_ydata().tolist()) == ([200], [90.0])
    assert kept.get_label() == "the kept network (it acts)"


def _images(page):
    return re.findall(r"<img alt='([^']*)' src='data:image/(png|gif);base64,([^']*)'>", page)


def test_the_report_of_an_rl_run_has_its_curves_results_and_findings(tmp_path):
    frames = [Image.new("RGB", (16, 16), (shade, 0, 0)) for shade in (0, 120, 240)]
    gif = tmp_path / "episode.gif"
    frames[0].save(gif, save_all=True, append_images=frames[1:], duration=50)
    history = _history(np.linspace(0, 1, EPISODES), q_max=np.linspace(1, 25, EPISODES))
    summary = {"task": "rl", "metrics": {"mean_return": 0.74, "success_rate": 0.74}, "steps": 6000,
               "evaluation": {"episodes": 100, "mean_return": 0.74, "std_return": 0.44, "mean_length": 40.0,
                              "success_rate": 0.74}, "steps_per_second": 12345.0, "reward_threshold": 0.7}
    record = {**_record(history, discount=0.9, summary=summary), "artifacts": {"recording": str(gif)}}
    page = write_report(record, tmp_path / "report.html").read_text()
    images = _images(page)
    titles = [alt for alt, _, _ in images]
    assert titles == ["Episode return", "Episode length", "Exploration (epsilon)", "TD loss", "Q-value estimates",
                      "an evaluation episode"]
    for _, kind, data in images:
        image = Image.open(io.BytesIO(base64.b64decode(data)))
        assert image.format == kind.upper()
    assert Image.open(io.BytesIO(base64.b64decode(images[-1][2]))).n_frames == 3
    assert "The Q-values are diverging" in page  # the doctor's finding
    assert "<th>success rate</th><td class=num>0.74</td>" in page
    assert "<th>reward threshold</th><td class=num>0.7</td>" in page
    assert "<th>discount</th><td class=num>0.9</td>" in page  # the settings
    assert "Learning curves" not in page and "Inside the network" not in page  # not the supervised page


def test_the_report_of_an_rl_run_without_episodes_or_recording(tmp_path):
    page = write_report(_record([], status="failed"), tmp_path / "report.html").read_text()
    assert _images(page) == []
    assert "No episode finished in this run." in page and "No episode was recorded" in page
    missing = {**_record(_healthy()), "artifacts": {"recording": str(tmp_path / "gone.gif")}}
    assert "cannot be read" in write_report(missing, tmp_path / "report.html").read_text()


def test_non_finite_values_are_left_out_of_the_plots():
    q_max = np.linspace(1, 3, EPISODES)
    q_max[-5:] = math.inf
    from learnable.insight.report.rl import q_values

    q_line = [line for line in q_values(_history(np.zeros(EPISODES), q_max=q_max)).axes[0].get_lines()
              if line.get_label() == "q_max"][0]
    assert len(q_line.get_ydata()) == EPISODES - 5 and np.isfinite(q_line.get_ydata()).all()
