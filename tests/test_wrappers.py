"""The encoder-input wrapper: x_t = (s_t, a_{t-1}, r_{t-1})."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3.common.env_util import make_vec_env

import sb3_dynamite  # noqa: F401
from sb3_dynamite.common.wrappers import VecPreviousActionReward


def test_discrete_actions_are_one_hot_and_rewards_follow() -> None:
    venv = VecPreviousActionReward(make_vec_env("dlcmdp/GridWorld-v0", n_envs=2, seed=0))
    assert venv.observation_space.shape == (6 + 5 + 1,)
    obs = venv.reset()
    np.testing.assert_array_equal(obs[:, 6:], 0.0)
    actions = np.array([2, 1])
    new_obs, rewards, _, _ = venv.step(actions)
    np.testing.assert_array_equal(new_obs[:, 6:11], np.eye(5)[actions])
    np.testing.assert_allclose(new_obs[:, 11], rewards)
    np.testing.assert_array_equal(new_obs[:, :2], [[1, 0], [0, 1]])  # right, up from (0, 0)


def test_box_actions_and_terminal_observation_are_augmented() -> None:
    venv = VecPreviousActionReward(make_vec_env("dlcmdp/Reacher-v0", n_envs=1, seed=0))
    assert venv.observation_space.shape == (8 + 2 + 1,)
    venv.reset()
    action = np.array([[0.3, -0.2]])
    for t in range(200):
        obs, rewards, dones, infos = venv.step(action)
        if t < 199:
            np.testing.assert_allclose(obs[0, 8:10], action[0])
            np.testing.assert_allclose(obs[0, 10], rewards[0], rtol=1e-6)
    assert dones[0]
    terminal = infos[0]["terminal_observation"]
    assert terminal.shape == (11,)
    np.testing.assert_allclose(terminal[8:10], action[0])
    np.testing.assert_allclose(terminal[10], rewards[0], rtol=1e-6)
    np.testing.assert_array_equal(obs[0, 8:], 0.0)  # the next episode starts with a_{-1} = r_{-1} = 0


def test_unsupported_spaces_raise_clear_errors() -> None:
    with pytest.raises(ValueError, match="1-D Box observation"):
        VecPreviousActionReward(make_vec_env(lambda: gym.make("FrozenLake-v1"), n_envs=1))
    multi = gym.make("dlcmdp/GridWorld-v0")
    multi.action_space = gym.spaces.MultiDiscrete([2, 2])
    with pytest.raises(ValueError, match="unsupported action space"):
        VecPreviousActionReward(make_vec_env(lambda: multi, n_envs=1))
