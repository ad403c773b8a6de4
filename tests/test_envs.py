"""The DLCMDP env contract (SPEC §2), checked on every registered ``dlcmdp/`` env."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.vec_env import SubprocVecEnv

import sb3_dynamite  # noqa: F401
from sb3_dynamite.envs import DLCMDP_ENVS
from sb3_dynamite.envs.scripted import GridWorldInformed, RandomPolicy, make_reference_env, reference_policy

ENV_IDS = list(DLCMDP_ENVS)
#: envs whose latent acts on the reward only (the dynamics are the same for every latent)
REWARD_ONLY = ["dlcmdp/GridWorld-v0", "dlcmdp/Reacher-v0", "dlcmdp/HalfCheetahVel-v0", "dlcmdp/ScratchItch-v0"]


def rollout(env: gym.Env, seed: int, n_steps: int, action_seed: int) -> dict[str, np.ndarray]:
    """Step ``env`` with random actions; returns the per-step info contract keys and observations."""
    env.action_space.seed(action_seed)
    obs, info = env.reset(seed=seed)
    record = {"obs": [obs], "latent": [], "session_end": [], "session_index": [], "reset_info": info}
    for _ in range(n_steps):
        obs, _, terminated, _, info = env.step(env.action_space.sample())
        record["obs"].append(obs)
        for key in ("latent", "session_end", "session_index"):
            record[key].append(info[key])
        assert not terminated
    return {key: (np.array(value) if key != "reset_info" else value) for key, value in record.items()}


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_gymnasium_env_checker(env_id: str) -> None:
    check_env(gym.make(env_id).unwrapped, skip_render_check=True)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_registration_horizon_and_spec(env_id: str) -> None:
    env = gym.make(env_id)
    horizon = DLCMDP_ENVS[env_id][1]
    assert env.spec.max_episode_steps == horizon
    assert env.spec.kwargs["switch_prob"] == env.unwrapped.switch_prob
    env.reset(seed=0)
    for t in range(horizon):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        assert not terminated
        assert truncated == (t == horizon - 1)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_same_seed_same_sessions_whatever_the_actions(env_id: str) -> None:
    env = gym.make(env_id, switch_prob=0.1)
    first = rollout(env, seed=3, n_steps=150, action_seed=0)
    second = rollout(env, seed=3, n_steps=150, action_seed=1)
    assert not np.allclose(first["obs"][-1], second["obs"][-1]), "different actions should change the state"
    assert first["session_end"].sum() > 5
    np.testing.assert_array_equal(first["session_end"], second["session_end"])
    np.testing.assert_array_equal(first["latent"], second["latent"])
    other = rollout(env, seed=4, n_steps=150, action_seed=0)
    assert not np.array_equal(first["session_end"], other["session_end"])


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_switch_rate_matches_switch_prob(env_id: str) -> None:
    env = gym.make(env_id).unwrapped
    p = env.switch_prob
    n = 20_000
    env.reset(seed=0)
    action = np.zeros(env.action_space.shape, dtype=env.action_space.dtype) if env.action_space.shape else 0
    ends = sum(env.step(action)[4]["session_end"] for _ in range(n))
    bound = 4.5 * np.sqrt(p * (1 - p) / n)  # 4.5 binomial standard deviations
    assert abs(ends / n - p) < bound, f"rate {ends / n:.4f} vs p={p}"


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_latent_constant_within_session_and_index_advances_after_session_end(env_id: str) -> None:
    env = gym.make(env_id, switch_prob=0.1)
    record = rollout(env, seed=5, n_steps=200, action_seed=0)
    ends, index, latent = record["session_end"], record["session_index"], record["latent"]
    np.testing.assert_array_equal(record["reset_info"]["latent"], latent[0])
    assert record["reset_info"]["session_index"] == 0 and index[0] == 0
    np.testing.assert_array_equal(index[1:] - index[:-1], ends[:-1].astype(int))
    same_session = index[1:] == index[:-1]
    np.testing.assert_array_equal(latent[1:][same_session], latent[:-1][same_session])
    assert latent.dtype == np.float32 and latent.shape[1:] == env.unwrapped.latent_space.shape
    assert all(env.unwrapped.latent_space.contains(m) for m in latent)


def two_latents(env: gym.Env) -> list:
    """Two different latents of ``env``: states 0 and 1 of a finite chain, else 1/3 and 2/3 of the box."""
    if hasattr(env.latent_process, "n_states"):
        return [0, 1]
    low, high = env.latent_space.low, env.latent_space.high
    return [low + (high - low) / 3, low + 2 * (high - low) / 3]


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_observation_carries_no_latent(env_id: str) -> None:
    env = gym.make(env_id).unwrapped
    trajectories, latents = [], []
    for latent in two_latents(env):
        obs, info = env.reset(seed=11, options={"latent": latent})
        latents.append(info["latent"])
        trajectory = [obs]
        if env_id in REWARD_ONLY:  # same actions, same observations: only the reward depends on m
            env.action_space.seed(0)
            trajectory += [env.step(env.action_space.sample())[0] for _ in range(30)]
        trajectories.append(np.array(trajectory))
    assert not np.array_equal(latents[0], latents[1])
    np.testing.assert_array_equal(trajectories[0], trajectories[1])


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_oracle_appends_the_latent(env_id: str) -> None:
    plain, oracle = gym.make(env_id), gym.make(env_id, oracle=True)
    d = oracle.unwrapped.latent_space.shape[0]
    assert oracle.observation_space.shape[0] == plain.observation_space.shape[0] + d
    obs_plain, _ = plain.reset(seed=2)
    obs, info = oracle.reset(seed=2)
    np.testing.assert_allclose(obs[-d:], info["latent"], rtol=1e-6)
    np.testing.assert_allclose(obs[:-d], obs_plain, rtol=1e-6)
    for _ in range(50):
        obs, *_ = oracle.step(oracle.action_space.sample())
        np.testing.assert_allclose(obs[-d:], oracle.unwrapped.latent, rtol=1e-6)  # m_{t+1}: what the next action faces


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_infos_stack_in_subproc_vec_env(env_id: str) -> None:
    # "module:id" makes the worker processes import sb3_dynamite (and so register the envs)
    venv = make_vec_env(f"sb3_dynamite:{env_id}", n_envs=2, seed=0, vec_env_cls=SubprocVecEnv)
    try:
        venv.reset()
        for _ in range(5):
            _, _, _, infos = venv.step(np.stack([venv.action_space.sample() for _ in range(2)]))
        latents = np.stack([info["latent"] for info in infos])
        assert latents.shape == (2, *venv.get_attr("latent_space")[0].shape)
        assert np.stack([info["session_end"] for info in infos]).dtype == bool
        assert np.stack([info["session_index"] for info in infos]).dtype.kind == "i"
    finally:
        venv.close()


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_scripted_oracle_beats_random_clearly(env_id: str) -> None:
    n = 8
    oracle_cls = reference_policy(env_id, "oracle")
    oracle_env = make_reference_env(env_id, "oracle", n_envs=2, seed=0)
    random_env = make_reference_env(env_id, "plain", n_envs=2, seed=0)
    oracle, _ = evaluate_policy(oracle_cls(oracle_env.action_space), oracle_env, n, return_episode_rewards=True)
    random, _ = evaluate_policy(RandomPolicy(random_env.action_space), random_env, n, return_episode_rewards=True)
    gap = np.mean(oracle) - np.mean(random)
    standard_error = np.sqrt(np.var(oracle) / n + np.var(random) / n)
    assert gap > 4 * standard_error and gap > 0.3 * abs(np.mean(random)), (np.mean(oracle), np.mean(random))


def test_zero_policy_does_nothing() -> None:
    """GridWorld: the agent never leaves its start cell. HalfCheetahVel: the cheetah stands, so every step
    costs about the target speed |0 - v*| (the floor any gait has to beat)."""
    grid = make_reference_env("dlcmdp/GridWorld-v0", "plain", n_envs=2, seed=0)
    zero = reference_policy("dlcmdp/GridWorld-v0", "zero")(grid.action_space)
    obs = grid.reset()
    for _ in range(30):
        obs, *_ = grid.step(zero.predict(obs)[0])
        np.testing.assert_array_equal(obs[:, :2], 0.0)
    cheetah = gym.make("dlcmdp/HalfCheetahVel-v0")
    zero = reference_policy("dlcmdp/HalfCheetahVel-v0", "zero")(cheetah.action_space)
    obs, _ = cheetah.reset(seed=0)
    for t in range(100):
        action = zero.predict(obs)[0]
        assert action.shape == (6,) and not action.any()
        obs, reward, _, _, info = cheetah.step(action)
        if t >= 50:  # settled after the drop onto the floor
            assert reward == pytest.approx(-info["latent"][0], abs=0.05)


def test_gridworld_informed_policy_between_random_and_oracle() -> None:
    env_id, n = "dlcmdp/GridWorld-v0", 60
    scores = {}
    for name, policy_cls, observes in (("random", RandomPolicy, "plain"),
                                       ("informed", GridWorldInformed, "previous_action_reward"),
                                       ("oracle", reference_policy(env_id, "oracle"), "oracle")):
        env = make_reference_env(env_id, observes, n_envs=4, seed=1)
        scores[name] = evaluate_policy(policy_cls(env.action_space), env, n)[0]
    assert scores["random"] < 0 < 35 < scores["informed"] < scores["oracle"], scores
    assert scores["oracle"] > 45, scores


def test_gridworld_informed_policy_finds_hidden_goals() -> None:
    """With the goal cells hidden it sweeps the grid: without session switches it reaches the paying goal within
    one sweep (24 moves) and stays; with them it scores between random and itself with the goals observed."""
    env = make_reference_env("dlcmdp/GridWorld-v0", "previous_action_reward", seed=3,
                             env_kwargs={"observe_goals": False, "switch_prob": 0.0})
    policy = GridWorldInformed(env.action_space)
    assert env.observation_space.shape == (8,) and len({tuple(c) for c in policy.sweep()}) == 25
    for _ in range(10):
        obs, state, start, rewards = env.reset(), None, np.ones(1, dtype=bool), []
        for _ in range(60):
            action, state = policy.predict(obs, state, start)
            obs, reward, done, _ = env.step(action)
            rewards.append(float(reward[0]))
            start = done
        first = rewards.index(1.0)
        assert first < 24 and rewards[first:] == [1.0] * (60 - first)
    scores = {}
    for observe_goals in (True, False):
        env = make_reference_env("dlcmdp/GridWorld-v0", "previous_action_reward", n_envs=4, seed=1,
                                 env_kwargs={"observe_goals": observe_goals})
        scores[observe_goals] = evaluate_policy(GridWorldInformed(env.action_space), env, 60)[0]
    assert 0 < 30 < scores[False] < scores[True], scores


def test_reacher_sparse_reward_pays_one_within_the_radius_only() -> None:
    radius, weight = 0.05, 0.1
    env = gym.make("dlcmdp/Reacher-v0", oracle=True, sparse_reward_radius=radius, reward_control_weight=weight)
    policy = reference_policy("dlcmdp/Reacher-v0", "oracle")(env.action_space)
    obs, _ = env.reset(seed=3)
    inside = []
    for _ in range(200):
        action, _ = policy.predict(obs)
        obs, reward, _, _, info = env.step(action)
        distance = np.linalg.norm(obs[6:8] - info["latent"])  # fingertip xy against the goal
        inside.append(distance <= radius)
        assert info["reward_dist"] == float(inside[-1])
        assert reward == pytest.approx(info["reward_dist"] - weight * np.square(action).sum())
    # the goal-seeking oracle spends most of the episode inside, a random arm almost none of it
    assert np.mean(inside) > 0.6
    env.action_space.seed(0)
    env.reset(seed=3)
    paid = [env.step(env.action_space.sample())[4]["reward_dist"] for _ in range(200)]
    assert set(paid) <= {0.0, 1.0} and np.mean(paid) < 0.2


@pytest.mark.parametrize("env_id", ENV_IDS)
@pytest.mark.parametrize("switch_prob", [-0.1, 1.5, float("nan")])
def test_bad_switch_prob_is_rejected(env_id: str, switch_prob: float) -> None:
    with pytest.raises(ValueError, match="switch_prob"):
        gym.make(env_id, switch_prob=switch_prob)


@pytest.mark.parametrize(
    ("env_id", "kwargs", "name"),
    [
        ("dlcmdp/GridWorld-v0", {"transition_matrix": [[0.5, 0.4], [0.8, 0.2]]}, "transition_matrix"),
        ("dlcmdp/GridWorld-v0", {"transition_matrix": [[1.0]]}, "transition_matrix"),
        ("dlcmdp/GridWorld-v0", {"size": 1}, "size"),
        ("dlcmdp/Reacher-v0", {"n_goals": 1}, "n_goals"),
        ("dlcmdp/Reacher-v0", {"goal_radius": 0.5}, "goal_radius"),
        ("dlcmdp/Reacher-v0", {"forward_prob": 1.2}, "forward_prob"),
        ("dlcmdp/Reacher-v0", {"sparse_reward_radius": 0.0}, "sparse_reward_radius"),
        ("dlcmdp/HalfCheetahVel-v0", {"transition": "brownian"}, "transition"),
        ("dlcmdp/HalfCheetahWindVel-v0", {"max_wind": -1.0}, "max_wind"),
    ],
)
def test_bad_constructor_arguments_name_the_argument(env_id: str, kwargs: dict, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        gym.make(env_id, **kwargs)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_unknown_reset_option_is_rejected(env_id: str) -> None:
    env = gym.make(env_id).unwrapped
    with pytest.raises(ValueError, match="unknown reset options"):
        env.reset(seed=0, options={"goal": 3})
