"""make_env, is_success and environment snapshots: Gymnasium's own environments as the oracle."""

import numpy as np
import pytest

gymnasium = pytest.importorskip("gymnasium")

from learnable.rl.envs import GOALS, env_name, is_success, make_env  # noqa: E402
from learnable.rl.snapshots import env_state, set_env_state  # noqa: E402


def test_make_env_gives_the_registered_environment_seeded():
    env = make_env("FrozenLake-v1", seed=3)
    assert env.observation_space == gymnasium.spaces.Discrete(16)
    assert env.spec.id == "FrozenLake-v1"
    first, second = make_env("CartPole-v1", seed=7), gymnasium.make("CartPole-v1")
    np.testing.assert_array_equal(first.reset(seed=7)[0], second.reset(seed=7)[0])


def test_environment_arguments_are_passed_through():
    env = make_env("FrozenLake-v1", map_name="8x8", is_slippery=False)
    assert env.observation_space.n == 64
    with pytest.raises(ValueError, match="does not accept the arguments"):
        make_env("CartPole-v1", no_such_argument=1)


def test_vector_env_steps_four_envs_together():
    envs = make_env("CartPole-v1", seed=0, num_envs=4)
    assert isinstance(envs, gymnasium.vector.SyncVectorEnv) and envs.num_envs == 4
    observations, _ = envs.reset(seed=0)
    assert observations.shape == (4, 4)
    observations, rewards, terminated, truncated, _ = envs.step(np.array([0, 1, 0, 1]))
    assert observations.shape == (4, 4) and rewards.tolist() == [1.0] * 4
    # each copy is its own environment, seeded seed + i (Gymnasium's convention)
    single = gymnasium.make("CartPole-v1")
    np.testing.assert_array_equal(envs.reset(seed=0)[0][2], single.reset(seed=2)[0])


@pytest.mark.parametrize(("env_id", "suggestion"), [("CartPol-v1", "CartPole-v1"), ("FrozenLak-v1", "FrozenLake-v1")])
def test_unknown_id_lists_close_matches(env_id, suggestion):
    with pytest.raises(ValueError, match=f"unknown environment '{env_id}'; did you mean .*'{suggestion}'"):
        make_env(env_id)


def test_outdated_version_names_the_current_one():
    with pytest.raises(ValueError, match="unknown environment version 'Taxi-v3'.*Taxi-v4"):
        make_env("Taxi-v3")


def test_missing_packages_name_the_extra():
    try:  # the message is checked only where Box2D is absent, as in the test environment
        import Box2D  # noqa: F401
    except ImportError:
        with pytest.raises(ValueError, match=r"LunarLander-v3 needs a package.*gymnasium\[box2d\]"):
            make_env("LunarLander-v3")
    else:
        pytest.skip("Box2D is installed")
    with pytest.raises(ValueError, match="Atari environment"):
        make_env("ALE/Pong-v5")


@pytest.mark.parametrize("num_envs", [0, -1, 1.5, True])
def test_num_envs_must_be_a_positive_whole_number(num_envs):
    with pytest.raises(ValueError, match=r"num_envs=.* must be a whole number >= 1, for example 4"):
        make_env("CartPole-v1", num_envs=num_envs)


def test_render_mode_must_be_offered():
    with pytest.raises(ValueError, match="cannot render in mode 'rgb'; it offers"):
        make_env("CartPole-v1", render_mode="rgb")
    frame = make_env("FrozenLake-v1", render_mode="rgb_array", seed=0).render()
    assert frame.ndim == 3 and frame.shape[2] == 3


@pytest.mark.parametrize(
    ("env_id", "reward", "terminated", "expected"),
    [("FrozenLake-v1", 1.0, True, True), ("FrozenLake-v1", 0.0, True, False), ("FrozenLake-v1", 0.0, False, False),
     ("FrozenLake8x8-v1", 1.0, True, True), ("Taxi-v4", 20.0, True, True), ("Taxi-v4", -1.0, False, False),
     ("CliffWalking-v1", -1.0, True, True), ("MountainCar-v0", -1.0, True, True), ("Acrobot-v1", 0.0, True, True),
     ("Acrobot-v1", -1.0, False, False), ("CartPole-v1", 1.0, True, None), ("Pendulum-v1", -3.0, False, None)],
)
def test_is_success(env_id, reward, terminated, expected):
    assert is_success(env_id, reward, terminated, {}) is expected


def test_goals_cover_the_built_in_toy_text_and_classic_control_environments():
    names = {env_name(key) for key in gymnasium.envs.registry if "/" not in key}
    for name in ("CartPole", "Pendulum", "Acrobot", "MountainCar", "FrozenLake", "Taxi", "CliffWalking"):
        assert name in names and name in GOALS


@pytest.mark.parametrize(("env_id", "num_envs"), [("CartPole-v1", 1), ("Taxi-v4", 1), ("FrozenLake-v1", 1),
                                                  ("Acrobot-v1", 1), ("CartPole-v1", 3)])
def test_a_snapshot_continues_exactly(env_id, num_envs):
    """Stepping on from a restored snapshot gives the same transitions as the original environment."""
    env, rng = make_env(env_id, seed=1, num_envs=num_envs), np.random.default_rng(0)
    for _ in range(30):
        _step(env, rng)
    snapshot, state = env_state(env), rng.bit_generator.state
    expected = [_step(env, rng) for _ in range(60)]
    copy = make_env(env_id, seed=99, num_envs=num_envs)
    set_env_state(copy, snapshot)
    rng.bit_generator.state = state
    for want in expected:
        got = _step(copy, rng)
        for a, b in zip(want, got, strict=True):
            np.testing.assert_array_equal(a, b)


def _step(env, rng):
    """One step with a random action; a finished single env is reset (a vector env resets itself)."""
    observation, reward, terminated, truncated, _ = env.step(_random_action(env, rng))
    if not hasattr(env, "num_envs") and (terminated or truncated):
        observation, _ = env.reset()
    return np.asarray(observation), np.asarray(reward), np.asarray(terminated), np.asarray(truncated)


def _random_action(env, rng):
    if hasattr(env, "num_envs"):
        return rng.integers(env.action_space.nvec)  # MultiDiscrete: one action per copy
    return int(rng.integers(env.action_space.n))


def test_without_gymnasium_the_error_names_the_extra(monkeypatch):
    import importlib
    import sys

    for name in [name for name in sys.modules if name == "learnable.rl" or name.startswith("learnable.rl.")]:
        monkeypatch.delitem(sys.modules, name)  # put back after the test
    monkeypatch.setitem(sys.modules, "gymnasium", None)  # as if not installed
    with pytest.raises(ImportError, match=r"pip install 'learnable\[rl\]'"):
        importlib.import_module("learnable.rl")
