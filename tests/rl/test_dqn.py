"""DQN: the Double-DQN update against a hand computation, the epsilon schedule, vector envs without the
autoreset's fake transitions, exact checkpoint resumes, saving, and clear errors for bad settings."""

import copy
import json

import numpy as np
import pytest
import torch

pytest.importorskip("gymnasium")

from learnable import load  # noqa: E402 - every saved agent comes back through learnable.load
from learnable.rl import DQN  # noqa: E402
from learnable.rl.q_network import double_dqn_targets  # noqa: E402

SMALL = {"hidden_sizes": (16,), "learning_starts": 200, "train_frequency": 8, "gradient_steps": 2,
         "target_update_interval": 100, "batch_size": 32, "buffer_size": 1_000, "exploration_steps": 1_000,
         "device": "cpu"}  # a tiny, fast configuration; the 1,000-transition buffer wraps around


def assert_same_agent(first, second):
    """Identical networks, optimizer, replay buffer, RNG, environment state and history."""
    tensors, others = first._tensors(), second._tensors()
    assert tensors.keys() == others.keys()
    for key, value in tensors.items():
        assert torch.equal(value, others[key]), key
    assert json.loads(json.dumps(first._state())) == json.loads(json.dumps(second._state()))
    assert first.history_ == second.history_ and first.steps_done_ == second.steps_done_


# ---- the update -----------------------------------------------------------------------------------
def huber(x):
    return torch.where(x.abs() < 1, 0.5 * x**2, x.abs() - 0.5).mean()


def test_one_update_matches_a_hand_computed_double_dqn_step():
    agent = DQN("CartPole-v1", hidden_sizes=(8,), learning_starts=10**6, batch_size=16, lr=0.01,
                discount=0.9, max_grad_norm=0.5, seed=0, device="cpu").learn(300)  # collect only
    with torch.no_grad():  # a target network unlike the online one, so Double DQN makes a difference
        for parameter in agent.target_network_.parameters():
            parameter.add_(torch.randn(parameter.shape, generator=torch.Generator().manual_seed(1)) * 0.3)
    online, target = copy.deepcopy(agent.network_), copy.deepcopy(agent.target_network_)
    picked = torch.randint(len(agent.buffer_), (16,), generator=torch.Generator().set_state(
        agent.buffer_.generator.get_state()))
    buffer = agent.buffer_
    agent._update()

    obs, next_obs = buffer.observations[picked], buffer.next_observations[picked]
    with torch.no_grad():
        best = online(next_obs).argmax(1)  # the online network chooses, the target network values
        y = buffer.rewards[picked] + 0.9 * (1 - buffer.terminated[picked]) * target(next_obs)[torch.arange(16), best]
    loss = huber(online(obs)[torch.arange(16), buffer.actions[picked]] - y)
    loss.backward()
    norm = torch.sqrt(sum((p.grad**2).sum() for p in online.parameters()))
    scale = min(1.0, 0.5 / (norm.item() + 1e-6))
    assert norm.item() > 0.5  # the clipping is exercised
    for mine, theirs in zip(online.parameters(), agent.network_.parameters(), strict=True):
        g = mine.grad * scale
        adam_first_step = mine.detach() - 0.01 * g / (g.abs() + 1e-8)  # Adam's bias-corrected first step
        torch.testing.assert_close(theirs.detach(), adam_first_step, atol=1e-6, rtol=1e-5)
    assert agent._update_stats.count == 1
    assert agent._update_stats.td_loss == pytest.approx(loss.item(), rel=1e-5)


def test_classic_and_double_targets():
    torch.manual_seed(0)
    online, target = torch.nn.Linear(3, 4), torch.nn.Linear(3, 4)
    next_obs, rewards, terminated = torch.randn(10, 3), torch.randn(10), (torch.arange(10) % 3 == 0).float()
    with torch.no_grad():
        q_target = target(next_obs)
        double = rewards + 0.5 * (1 - terminated) * q_target[torch.arange(10), online(next_obs).argmax(1)]
        classic = rewards + 0.5 * (1 - terminated) * q_target.max(1).values
    torch.testing.assert_close(double_dqn_targets(online, target, rewards, next_obs, terminated, 0.5, True), double)
    torch.testing.assert_close(double_dqn_targets(online, target, rewards, next_obs, terminated, 0.5, False), classic)
    assert not torch.equal(double, classic)


def test_polyak_target_update():
    agent = DQN("CartPole-v1", tau=0.25, target_update_interval=10**6, learning_starts=50, **{
        k: v for k, v in SMALL.items() if k not in ("learning_starts", "target_update_interval")}).learn(100)
    before = [p.clone() for p in agent.target_network_.parameters()]
    agent._update_target()
    for old, new, online in zip(before, agent.target_network_.parameters(), agent.network_.parameters(),
                                strict=True):
        torch.testing.assert_close(new, 0.75 * old + 0.25 * online)


# ---- exploration and records --------------------------------------------------------------------
def test_epsilon_falls_linearly_then_stays():
    agent = DQN("CartPole-v1", exploration_steps=1_000, epsilon_start=1.0, epsilon_end=0.1, device="cpu")
    assert [agent.epsilon(s) for s in (0, 500, 1_000, 5_000)] == pytest.approx([1.0, 0.55, 0.1, 0.1])
    assert DQN("CartPole-v1", exploration_steps=0, epsilon_end=0.2).epsilon(0) == 0.2
    agent = DQN("CartPole-v1", **{**SMALL, "exploration_steps": 400}).learn(600)
    for record in agent.history_:  # from 1.0 to the default end 0.04 over 400 steps, then constant
        expected = 1.0 - 0.96 * record["step"] / 400 if record["step"] < 400 else 0.04
        assert record["epsilon"] == pytest.approx(expected)


def test_history_records_and_callbacks():
    seen = []
    agent = DQN("CartPole-v1", **SMALL).learn(700, callbacks=[seen.append])
    assert seen == agent.history_ and [r["episode"] for r in seen] == list(range(1, len(seen) + 1))
    assert set(seen[0]) == {"episode", "step", "return", "length", "epsilon", "td_loss", "q_mean", "q_max"}
    assert seen[0]["td_loss"] is None  # no updates before learning_starts
    late = [r for r in seen if r["step"] > 300]
    assert all(r["td_loss"] is not None and r["q_max"] >= r["q_mean"] for r in late)
    assert all(r["return"] == r["length"] for r in seen)  # CartPole: +1 per step


def test_vector_envs_store_no_autoreset_transitions():
    agent = DQN("CartPole-v1", num_envs=4, **{**SMALL, "learning_starts": 10**6}).learn(800)
    buffer, size = agent.buffer_, len(agent.buffer_)
    assert size == agent.steps_done_
    assert sum(r["length"] for r in agent.history_) + agent._lengths.sum() == agent.steps_done_
    obs, next_obs = buffer.observations[:size].double(), buffer.next_observations[:size].double()
    # CartPole's Euler step: x' = x + 0.02 x_dot. A reset observation after a final one breaks it.
    torch.testing.assert_close(next_obs[:, 0], obs[:, 0] + 0.02 * obs[:, 1], atol=1e-5, rtol=0)
    assert buffer.terminated[:size].sum() >= 1


# ---- checkpoints ----------------------------------------------------------------------------------
def test_two_halves_with_a_checkpoint_equal_one_straight_run(tmp_path):
    straight = DQN("CartPole-v1", seed=3, **SMALL).learn(1_600)
    first = DQN("CartPole-v1", seed=3, **SMALL).learn(800, checkpoint_every=800, checkpoint_dir=tmp_path / "ck")
    resumed = DQN.resume(tmp_path / "ck")
    assert resumed.steps_done_ == 800 and resumed.history_ == first.history_
    resumed.learn(800)
    assert_same_agent(resumed, straight)


@pytest.mark.slow
def test_two_halves_of_5000_steps_with_the_default_settings_equal_10000_straight(tmp_path):
    """The contract's check, with the full-size network and replay rounds: 2 x 5,000 == 10,000."""
    straight = DQN("CartPole-v1", seed=5, device="cpu").learn(10_000)
    DQN("CartPole-v1", seed=5, device="cpu").learn(5_000, checkpoint_every=5_000, checkpoint_dir=tmp_path)
    assert_same_agent(DQN.resume(tmp_path).learn(5_000), straight)


def test_checkpoint_inside_a_vector_run_resumes_exactly(tmp_path):
    straight = DQN("CartPole-v1", num_envs=3, seed=1, **SMALL).learn(1_200)
    DQN("CartPole-v1", num_envs=3, seed=1, **SMALL).learn(1_200, checkpoint_every=500, checkpoint_dir=tmp_path)
    resumed = DQN.resume(tmp_path)  # the last checkpoint: written when the count passed 1,000
    assert 1_000 <= resumed.steps_done_ < 1_003
    resumed.learn(1_200 - resumed.steps_done_)
    assert_same_agent(resumed, straight)


def test_the_constructor_stores_its_arguments_as_given_and_the_learned_state_ends_in_an_underscore():
    agent = DQN("CartPole-v1", **{**SMALL, "hidden_sizes": [16]})
    assert agent.hidden_sizes == [16] and agent.env_kwargs is None and agent.get_params()["hidden_sizes"] == [16]
    assert DQN(**agent.get_params()).get_params() == agent.get_params()  # scikit-learn's clone
    agent.learn(300)
    learned = {name for name in vars(agent) if not name.startswith("_")} - set(agent.param_names())
    assert {"network_", "target_network_", "best_network_", "optimizer_", "buffer_", "env_", "history_",
            "steps_done_", "n_actions_"} <= learned
    assert all(name.endswith("_") for name in learned), learned


def test_save_and_load_give_the_same_greedy_policy(tmp_path):
    from learnable.model_file import load_tensors

    agent = DQN("CartPole-v1", **SMALL).learn(600)
    tensors, _ = load_tensors(agent.save(tmp_path / "agent"))
    assert {name.split(".")[0] for name in tensors} == {"network", "target_network", "replay", "optimizer", "env"}
    loaded = load(tmp_path / "agent")
    assert isinstance(loaded, DQN) and loaded.get_params() == {**agent.get_params(), "hidden_sizes": [16]}  # JSON
    observations = np.random.default_rng(0).normal(size=(20, 4)).astype(np.float32)
    assert [loaded.act(o) for o in observations] == [agent.act(o) for o in observations]
    assert loaded.evaluate(3) == agent.evaluate(3)


# ---- mistakes -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("settings", "message"), [
    ({"lr": 0}, r"lr=0 must be a number > 0"),
    ({"discount": 1.5}, r"discount=1.5 must be a number >= 0 and <= 1"),
    ({"tau": 0.0}, r"tau=0.0 must be a number > 0 and <= 1"),
    ({"batch_size": 0}, r"batch_size=0 must be a whole number >= 1"),
    ({"train_frequency": 2.5}, r"train_frequency=2.5 must be a whole number >= 1"),
    ({"batch_size": 128, "buffer_size": 100}, r"batch_size=128 is larger than buffer_size=100"),
    ({"hidden_sizes": 64}, r"hidden_sizes=64 must list layer widths"),
    ({"double_dqn": "yes"}, r"double_dqn='yes' must be True or False"),
    ({"epsilon_end": -0.1}, r"epsilon_end=-0.1 must be a number >= 0"),
    ({"eval_every": -1}, r"eval_every=-1 must be a whole number >= 0"),
    ({"eval_episodes": 0}, r"eval_episodes=0 must be a whole number >= 1"),
    ({"keep_best": 1}, r"keep_best=1 must be True or False"),
])
def test_bad_settings_are_refused_before_training(settings, message):
    with pytest.raises(ValueError, match=message):
        DQN("CartPole-v1", **settings)


def test_misuse_says_what_to_do(tmp_path):
    agent = DQN("CartPole-v1", **SMALL)
    with pytest.raises(ValueError, match="has not learned yet; call learn"):
        agent.act([0.0] * 4)
    with pytest.raises(ValueError, match="nothing to save"):
        agent.save(tmp_path / "nothing")
    with pytest.raises(ValueError, match="needs a checkpoint_dir"):
        agent.learn(10, checkpoint_every=5)
    with pytest.raises(ValueError, match="Discrete actions"):
        DQN("Pendulum-v1", **SMALL).learn(10)
    with pytest.raises(ValueError, match="Use QLearning or SARSA"):
        DQN("FrozenLake-v1", **SMALL).learn(10)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU; none is present")
def test_cuda_keeps_the_replay_buffer_on_the_device_and_resumes_exactly(tmp_path):
    settings = {**SMALL, "device": "cuda"}
    straight = DQN("CartPole-v1", seed=2, **settings).learn(1_200)
    assert straight.buffer_.observations.is_cuda and next(straight.network_.parameters()).is_cuda
    DQN("CartPole-v1", seed=2, **settings).learn(600, checkpoint_every=600, checkpoint_dir=tmp_path)
    resumed = DQN.resume(tmp_path).learn(600)
    assert_same_agent(resumed, straight)


# ---- the target -----------------------------------------------------------------------------------
@pytest.mark.slow
def test_cartpole_is_solved_within_100k_steps():
    """Issue 8: mean return >= 475 over 100 greedy episodes after 100,000 steps (the kept best network)."""
    agent = DQN("CartPole-v1", seed=0, device="cpu").learn(100_000)
    assert agent.best_score_ >= 475, agent.evaluations_
    assert agent.evaluate(100)["mean_return"] >= 475, agent.evaluations_


# ---- keeping the best network -----------------------------------------------------------------------
EVALUATED = {**SMALL, "eval_every": 300, "eval_episodes": 2}


def test_keep_best_acts_with_the_best_evaluated_network(tmp_path):
    agent = DQN("CartPole-v1", seed=2, **EVALUATED).learn(1_500)
    assert [e["step"] for e in agent.evaluations_] == [300, 600, 900, 1_200, 1_500]
    scores = [e["mean_return"] for e in agent.evaluations_]
    best = len(scores) - 1 - scores[::-1].index(max(scores))  # ties: the later one
    assert (agent.best_score_, agent.best_step_) == (max(scores), agent.evaluations_[best]["step"])
    # The policy that acts is the kept network, not the latest; replaying the evaluation gives its score.
    observations = torch.randn(64, 4)
    kept = agent.best_network_(observations).argmax(1)
    assert [agent.act(row.numpy()) for row in observations] == kept.tolist()
    assert agent.evaluate(2)["mean_return"] == agent.best_score_
    agent.save(tmp_path / "agent")
    loaded = load(tmp_path / "agent")
    assert loaded.evaluations_ == agent.evaluations_ and loaded.best_score_ == agent.best_score_
    assert [loaded.act(row.numpy()) for row in observations] == kept.tolist()
    latest = DQN("CartPole-v1", seed=2, **{**EVALUATED, "keep_best": False}).learn(1_500)
    assert [latest.act(row.numpy()) for row in observations] == agent.network_(observations).argmax(1).tolist()


def test_evaluations_do_not_change_training_and_resume_exactly(tmp_path):
    plain = DQN("CartPole-v1", seed=4, **{**SMALL, "eval_every": 0}).learn(1_200)
    straight = DQN("CartPole-v1", seed=4, **EVALUATED).learn(1_200)
    for a, b in zip(plain.network_.parameters(), straight.network_.parameters(), strict=True):
        assert torch.equal(a, b)  # evaluating used none of training's randomness
    DQN("CartPole-v1", seed=4, **EVALUATED).learn(600, checkpoint_every=600, checkpoint_dir=tmp_path)
    resumed = DQN.resume(tmp_path).learn(600)
    assert resumed.evaluations_ == straight.evaluations_
    for a, b in zip(resumed.best_network_.parameters(), straight.best_network_.parameters(), strict=True):
        assert torch.equal(a, b)
