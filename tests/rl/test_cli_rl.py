"""`learnable rl ENV_ID`, `learnable rl --evaluate RUN` and `learnable rl --resume RUN`: the run store, the saved
agent (its own evaluate as the oracle of what the command prints), the GIF, the report, and one error line (with
no run recorded) for every user mistake."""

import base64
import re
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from learnable.cli import app
from learnable.runs import RunStore

pytest.importorskip("gymnasium")
from learnable.rl import Agent  # noqa: E402 - after the skip: needs Gymnasium

runner = CliRunner()
STEPS = 3_000


def _ok(args: list) -> str:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.stdout


def _number(output: str, label: str) -> float:
    return float(re.search(rf"^{label} (-?[0-9.]+)$", output, re.MULTILINE).group(1))


@pytest.fixture(scope="module")
def frozen_lake(tmp_path_factory):
    """Q-learning on FrozenLake for a few thousand steps, with a GIF of an evaluation episode."""
    folder = tmp_path_factory.mktemp("rl")
    runs = folder / "runs"
    output = _ok(["rl", "FrozenLake-v1", "--steps", STEPS, "--seed", 3, "--eval-episodes", 50,
                  "--record", folder / "episode.gif", "--runs-dir", runs, "--name", "lake"])
    return {"folder": folder, "runs": runs, "output": output, "run": RunStore(runs).get("lake")}


def test_a_run_is_recorded_with_its_history_and_summary(frozen_lake):
    run = frozen_lake["run"]
    assert run["status"] == "finished" and run["name"] == "lake" and run["seed"] == 3
    assert run["config"]["task"] == "rl" and run["config"]["algo"] == "q-learning"  # auto: Discrete observations
    assert run["config"]["discount"] == 0.99  # the agent's settings, recorded
    history, summary = run["details"]["history"], run["summary"]
    assert summary["steps"] == STEPS and summary["episodes_trained"] == len(history) > 20
    assert [h["episode"] for h in history] == list(range(1, len(history) + 1))
    assert history[-1]["step"] <= STEPS
    assert summary["steps_per_second"] == pytest.approx(STEPS / summary["seconds"])
    assert summary["reward_threshold"] == 0.7  # FrozenLake's 'solved' score, for the doctor
    assert summary["metrics"]["success_rate"] == summary["metrics"]["mean_return"]  # reward 1 at the goal only


def test_the_printed_evaluation_is_the_saved_agents(frozen_lake):
    run, output = frozen_lake["run"], frozen_lake["output"]
    agent = Agent.load(run["artifacts"]["model"])
    assert agent.steps_done_ == STEPS and agent.algo == "q-learning"
    expected = agent.evaluate(50)
    assert _number(output, "mean return") == pytest.approx(expected["mean_return"], abs=5e-5)
    assert _number(output, "success rate") == pytest.approx(expected["success_rate"], abs=5e-5)
    assert run["summary"]["metrics"]["mean_return"] == expected["mean_return"]
    assert "step 300/3,000" not in output and re.search(r"step [0-9,]+/3,000 +episode", output)  # progress lines


def test_evaluate_last_prints_the_agents_own_evaluation(frozen_lake):
    output = _ok(["rl", "--evaluate", "last", "--episodes", 30, "--runs-dir", frozen_lake["runs"]])
    expected = Agent.load(frozen_lake["run"]["artifacts"]["model"]).evaluate(30)
    assert _number(output, "mean return") == pytest.approx(expected["mean_return"], abs=5e-5)
    assert _number(output, "success rate") == pytest.approx(expected["success_rate"], abs=5e-5)
    assert "evaluation over 30 episodes" in output
    assert len(RunStore(frozen_lake["runs"]).list()) == 1  # evaluating records no run


def test_the_gif_and_the_report(frozen_lake):
    gif = Image.open(frozen_lake["folder"] / "episode.gif")
    assert gif.format == "GIF" and gif.n_frames >= 3  # the start and at least two moves
    artifacts = frozen_lake["run"]["artifacts"]
    page = Path(artifacts["report"]).read_text(encoding="utf-8")
    titles = re.findall(r"<img alt='([^']*)' src='data:image/(?:png|gif);base64,", page)
    assert titles == ["Episode return", "Episode length", "Exploration (epsilon)", "TD loss", "Q-value estimates",
                      "an evaluation episode"]
    embedded = re.search(r"data:image/gif;base64,([^']*)'", page).group(1)
    assert base64.b64decode(embedded) == (frozen_lake["folder"] / "episode.gif").read_bytes()


def test_runs_and_doctor_show_an_rl_run(frozen_lake):
    runs = _ok(["runs", "--runs-dir", frozen_lake["runs"]])
    episodes = frozen_lake["run"]["summary"]["episodes_trained"]
    assert "mean_return" in runs and f"{episodes} episodes" in runs  # episodes where other runs show epochs
    doctor = _ok(["doctor", "last", "--runs-dir", frozen_lake["runs"]])
    assert f"finished, {episodes} episodes)" in doctor
    assert "Exploration was still high" in doctor  # 3,000 of the 50,000 exploration steps: epsilon ~0.94


@pytest.mark.slow
def test_dqn_on_cartpole_with_checkpoints(tmp_path):
    runs = tmp_path / "runs"
    output = _ok(["rl", "CartPole-v1", "--steps", 1_200, "--eval-episodes", 2, "--checkpoint-every", 1_000,
                  "--out", tmp_path / "agent", "--runs-dir", runs])
    run = RunStore(runs).get("last")
    assert run["config"]["algo"] == "dqn" and "success rate" not in output  # CartPole has no goal
    assert (tmp_path / "agent" / "model.json").is_file() and run["artifacts"]["checkpoints"].endswith("checkpoints")
    assert Agent.load(run["artifacts"]["checkpoints"]).steps_done_ == 1_000


# ---- user mistakes: one error line, no run -------------------------------------------------------------
@pytest.mark.parametrize(("args", "message"), [
    (["FrozenLke-v1"], r"unknown environment 'FrozenLke-v1'; did you mean .*FrozenLake-v1"),
    (["FrozenLake-v1", "--steps", "0"], r"--steps 0 must be a whole number >= 1, for example 100000"),
    (["FrozenLake-v1", "--eval-episodes", "-1"], r"--eval-episodes -1 must be a whole number >= 1"),
    (["FrozenLake-v1", "--checkpoint-every", "-1"], r"--checkpoint-every -1 must be a whole number >= 0"),
    (["CartPole-v1", "--algo", "q-learning"], r"--algo q-learning keeps a table .* CartPole-v1 observes Box"),
    (["FrozenLake-v1", "--algo", "dqn"], r"--algo dqn reads vector observations, but FrozenLake-v1 observes Discrete"),
    (["FrozenLake-v1", "--algo", "ppo"], r"--algo 'ppo' is not one of auto, dqn, q-learning, sarsa"),
    (["Pendulum-v1"], r"Pendulum-v1 has a continuous action space"),
    (["FrozenLake-v1", "--record", "episode.mp4"], r"--record 'episode.mp4' must end in .gif"),
    (["FrozenLake-v1", "--record", "."], r"--record '.' must end in .gif"),
    (["FrozenLake-v1", "--record", "no/such/folder/e.gif"], r"the folder 'no/such/folder' does not exist"),
    (["FrozenLake-v1", "--num-envs", "2"], r"--num-envs 2: q-learning steps one environment at a time"),
    (["FrozenLake-v1", "--checkpoint-every", "100"], r"q-learning agents do not write checkpoints"),
    (["FrozenLake-v1", "--episodes", "5"], r"--episodes is for `learnable rl --evaluate RUN`"),
    (["--evaluate", "nope"], r"no run 'nope'"),
    (["--evaluate", "--runs-dir"], r"--evaluate needs a RUN \(an id, a name or `last`\), not the option '--runs-dir'"),
    (["--evaluate", "last", "--steps", "10"], r"--steps set\(s\) up training, but `learnable rl --evaluate RUN`"),
    (["--evaluate", "last", "--episodes", "0"], r"--episodes 0 must be a whole number >= 1, for example 100"),
    ([], r"`learnable rl` needs an environment id .* --evaluate RUN .* or --resume RUN"),
    (["CartPole-v1", "--resume", "last"], r"--resume last acts on the environment the run recorded, so it takes no "
                                          r"ENV_ID \(got 'CartPole-v1'\); run `learnable rl --resume last` alone"),
    (["CartPole-v1", "--evaluate", "last"], r"--evaluate last acts on the environment the run recorded, so it takes "
                                            r"no ENV_ID \(got 'CartPole-v1'\); run `learnable rl --evaluate last`"),
    (["--evaluate", "last", "--resume", "last"], r"--resume last continues an interrupted run and --evaluate last "
                                                 r"evaluates a saved agent; pass one of them"),
])
def test_user_mistakes_give_one_error_line_and_record_nothing(tmp_path, args, message):
    runs = tmp_path / "runs"
    result = runner.invoke(app, ["rl", *args, "--runs-dir", str(runs)])
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert re.search(message, lines[0]), lines[0]
    assert not runs.exists() or RunStore(runs).list() == []


def test_evaluate_refuses_a_run_that_is_not_rl(tmp_path):
    runs = tmp_path / "runs"
    RunStore(runs).create("iris-cluster", config={"task": "cluster"})
    result = runner.invoke(app, ["rl", "--evaluate", "last", "--runs-dir", str(runs)])
    assert result.exit_code == 1
    assert "is not a `learnable rl` run" in result.stderr


def test_evaluate_refuses_a_run_whose_agent_is_gone(tmp_path):
    runs = tmp_path / "runs"
    store = RunStore(runs)
    run_id = store.create("lake", config={"task": "rl"})
    store.add_artifact(run_id, "model", tmp_path / "deleted")
    result = runner.invoke(app, ["rl", "--evaluate", "lake", "--episodes", "5", "--runs-dir", str(runs)])
    assert result.exit_code == 1
    assert re.match(r"error: run .* saved no agent that can be found .*deleted", result.stderr)


def test_learnable_load_returns_the_saved_agent(frozen_lake):
    import numpy as np

    import learnable
    from learnable.rl import QLearning

    agent = learnable.load(frozen_lake["run"]["artifacts"]["model"])
    assert isinstance(agent, QLearning) and agent.steps_done_ == STEPS
    np.testing.assert_array_equal(agent.q_table_, QLearning.load(frozen_lake["run"]["artifacts"]["model"]).q_table_)


@pytest.mark.parametrize("ending", ["interrupted", "killed"])
def test_resume_finishes_an_interrupted_dqn_run_exactly_as_an_unbroken_one(tmp_path, monkeypatch, ending):
    import sqlite3

    import torch

    from learnable.rl import DQN

    args = ["rl", "CartPole-v1", "--steps", 1_300, "--checkpoint-every", 600, "--eval-episodes", 3]
    _ok(args + ["--runs-dir", tmp_path / "straight"])
    after_step = DQN._after_step

    def interrupted(self, before):  # Ctrl-C after the first checkpoint, before the second
        after_step(self, before)
        if self.steps_done_ >= 900:
            raise KeyboardInterrupt

    monkeypatch.setattr(DQN, "_after_step", interrupted)
    assert runner.invoke(app, [str(a) for a in args + ["--runs-dir", tmp_path / "broken"]]).exit_code == 130
    monkeypatch.undo()
    assert RunStore(tmp_path / "broken").get("last")["status"] == "interrupted"
    if ending == "killed":  # SIGKILL records nothing: the run stays 'running', though no process runs it
        with sqlite3.connect(tmp_path / "broken" / "runs.sqlite") as connection:
            connection.execute("UPDATE runs SET status = 'running'")
    output = _ok(["rl", "--resume", "last", "--runs-dir", tmp_path / "broken"])
    assert "at step 600: 700 steps to go" in output
    straight, resumed = (RunStore(tmp_path / kind).get("last") for kind in ("straight", "broken"))
    assert resumed["status"] == "finished" and resumed["summary"]["evaluation"] == straight["summary"]["evaluation"]
    a, b = Agent.load(straight["artifacts"]["model"]), Agent.load(resumed["artifacts"]["model"])
    assert a.steps_done_ == b.steps_done_ == 1_300 and a.history_ == b.history_
    for x, y in zip(a.network_.parameters(), b.network_.parameters(), strict=True):
        assert torch.equal(x, y)


@pytest.mark.parametrize(("args", "message"), [
    (["rl", "--resume"], r"--resume needs a RUN \(an id, a name or `last`\), not the option '--runs-dir'"),
    (["rl", "--resume", "last", "--steps", "5"], r"--steps set\(s\) up training, but `learnable rl --resume RUN`"),
    (["rl", "--resume", "last", "--record", "x.gif"], r"--record set\(s\) up training, but `learnable rl --resume"),
    (["rl", "--resume", "lake"], "is finished; only an interrupted, failed or killed run can be resumed"),
])
def test_resume_mistakes(frozen_lake, args, message):
    result = runner.invoke(app, args + ["--runs-dir", str(frozen_lake["runs"])])
    assert result.exit_code != 0 and re.search(message, result.output), result.output


def test_sigterm_marks_an_rl_run_interrupted_not_running(tmp_path):
    """A default `kill` (SIGTERM) stops `learnable rl` as Ctrl-C does: exit 130, the run recorded as
    interrupted (and so resumable), never left 'running' forever."""
    import os
    import signal
    import subprocess
    import sys
    import time

    learnable = Path(sys.executable).parent / "learnable"
    runs = tmp_path / "runs"
    command = [str(learnable), "rl", "FrozenLake-v1", "--steps", "100000000", "--runs-dir", str(runs)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env={**os.environ, "OMP_NUM_THREADS": "1"})
    deadline = time.time() + 120
    while not list(runs.glob("*/")) and time.time() < deadline:  # the run is recorded: training has begun
        time.sleep(0.1)
    time.sleep(1.0)
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=120)
    assert process.returncode == 130
    assert RunStore(runs).get("last")["status"] == "interrupted"
