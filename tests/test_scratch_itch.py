"""ScratchItch-specific tests: env checker, solvability at every itch site, the oracle against random, no itch
information in the observation, the latent chain, the force threshold and constructor validation.
(The DLCMDP contract shared by all envs is tested in test_envs.py.)"""

from __future__ import annotations

import itertools
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import sb3_dynamite  # noqa: F401
from sb3_dynamite.envs.scratch_itch import FORCE_LIMIT, OBS_DIM, SCRATCH_RADIUS, ScratchItchEnv, itch_chain
from sb3_dynamite.envs.scratch_itch_oracle import ScratchItchOracle

ENV_ID = "dlcmdp/ScratchItch-v0"
N_SITES = 8


@pytest.fixture(scope="module")
def oracle() -> ScratchItchOracle:
    return ScratchItchOracle()


def run_episode(env: gym.Env, policy: Any, seed: int, options: dict | None = None) -> tuple[float, list[dict]]:
    """One episode with ``policy(obs) -> action``; returns the return and the step infos."""
    obs, _ = env.reset(seed=seed, options=options)
    total, infos, done = 0.0, [], False
    while not done:
        obs, reward, terminated, truncated, info = env.step(policy(obs))
        total += reward
        infos.append(info)
        done = terminated or truncated
    return total, infos


@pytest.mark.filterwarnings("ignore:.*infinity")
@pytest.mark.parametrize("oracle_obs", [False, True])
def test_gymnasium_env_checker(oracle_obs: bool) -> None:
    env = gym.make(ENV_ID, oracle=oracle_obs)
    check_env(env.unwrapped, skip_render_check=True)
    assert env.observation_space.shape == (OBS_DIM + 3 * oracle_obs,)
    assert env.action_space == gym.spaces.Box(-1.0, 1.0, (7,), np.float32)
    assert env.unwrapped.dt == pytest.approx(0.1)


@pytest.mark.parametrize("site", range(N_SITES))
def test_oracle_scratches_every_site(site: int, oracle: ScratchItchOracle) -> None:
    env = gym.make(ENV_ID, switch_prob=0.0, oracle=True)
    sites = env.unwrapped.latent_process.values
    _, infos = run_episode(env, lambda obs: oracle.predict(obs)[0], seed=site, options={"latent": site})
    scratches = np.array([info["scratch"] for info in infos])
    assert len(infos) == 200
    assert all(np.array_equal(info["latent"], sites[site]) for info in infos)
    # the contract asks for >= 1; the oracle scratches on most steps (~170-197 of 200 when calibrated)
    assert scratches.sum() >= 20, f"site {site}: {scratches.sum()} scratches"
    assert infos[-1]["n_scratches_session"] == scratches.sum() and infos[-1]["is_success"]
    for info in infos:
        if info["scratch"]:  # a scratch is a gentle tool contact at the itch
            assert 0.0 < info["force_at_itch"] < FORCE_LIMIT
            assert info["tip_itch_distance"] < 2 * SCRATCH_RADIUS


def test_hard_pressing_is_not_a_scratch_and_costs(oracle: ScratchItchOracle) -> None:
    env = gym.make(ENV_ID, switch_prob=0.0, oracle=True)
    presser = ScratchItchOracle(depth=0.02)  # aims 2 cm into the skin
    hard_return, hard = run_episode(env, lambda obs: presser.predict(obs)[0], seed=0, options={"latent": 1})
    gentle_return, gentle = run_episode(env, lambda obs: oracle.predict(obs)[0], seed=0, options={"latent": 1})
    too_hard = [info for info in hard if info["force_at_itch"] >= FORCE_LIMIT]
    assert len(too_hard) > 20 and not any(info["scratch"] for info in too_hard)
    assert sum(info["scratch"] for info in hard) < 0.2 * sum(info["scratch"] for info in gentle)
    assert hard_return < gentle_return - 500


def test_oracle_clearly_beats_random(oracle: ScratchItchOracle) -> None:
    seeds = (0, 1, 2)
    oracle_env, random_env = gym.make(ENV_ID, oracle=True), gym.make(ENV_ID)
    random_env.action_space.seed(0)
    oracle_runs = [run_episode(oracle_env, lambda obs: oracle.predict(obs)[0], seed) for seed in seeds]
    random_runs = [run_episode(random_env, lambda obs: random_env.action_space.sample(), seed) for seed in seeds]
    oracle_return = np.mean([ret for ret, _ in oracle_runs])
    random_return = np.mean([ret for ret, _ in random_runs])
    oracle_scratches = sum(info["scratch"] for _, infos in oracle_runs for info in infos)
    random_scratches = sum(info["scratch"] for _, infos in random_runs for info in infos)
    # measured: oracle ~ +880, random ~ -230 per episode; oracle ~ 180 scratches per episode, random ~ 0
    assert oracle_return > random_return + 300, (oracle_return, random_return)
    assert oracle_scratches > 10 * (random_scratches + 10), (oracle_scratches, random_scratches)
    for _, infos in oracle_runs:  # the scratch count restarts with every session
        assert any(info["session_end"] for info in infos)
        for before, after in itertools.pairwise(infos):
            expected = int(after["scratch"]) + (0 if before["session_end"] else before["n_scratches_session"])
            assert after["n_scratches_session"] == expected


def test_oracle_predict_batch_and_single(oracle: ScratchItchOracle) -> None:
    env = gym.make(ENV_ID, oracle=True)
    observations = np.stack([env.reset(seed=0, options={"latent": k})[0] for k in (0, 7)])
    actions, state = oracle.predict(observations, state=None, episode_start=np.ones(2, dtype=bool))
    assert actions.shape == (2, 7) and actions.dtype == np.float32 and state is None
    assert np.all(np.abs(actions) <= 1.0) and not np.allclose(actions[0], actions[1])
    np.testing.assert_array_equal(oracle.predict(observations[1])[0], actions[1])
    with pytest.raises(ValueError, match="oracle=True"):
        oracle.predict(observations[:, :OBS_DIM])


def test_observation_carries_no_itch_information(oracle: ScratchItchOracle) -> None:
    # actions of the oracle scratching site 3 (so the replays below touch the arm), replayed for every site:
    # the itch only enters the reward, so the observations must not depend on it, contacts included
    oracle_env = gym.make(ENV_ID, switch_prob=0.0, oracle=True)
    obs, _ = oracle_env.reset(seed=7, options={"latent": 3})
    actions = []
    for _ in range(40):
        actions.append(oracle.predict(obs)[0])
        obs, *_ = oracle_env.step(actions[-1])
    env = gym.make(ENV_ID, switch_prob=0.0)
    trajectories, rewards = [], []
    for site in range(N_SITES):
        obs, _ = env.reset(seed=7, options={"latent": site})
        steps = [env.step(action) for action in actions]
        trajectories.append(np.array([obs] + [step[0] for step in steps]))
        rewards.append(sum(step[1] for step in steps))
    assert np.any(trajectories[0][:, -1] > 0), "the replayed actions should touch the person"
    for trajectory in trajectories[1:]:
        np.testing.assert_array_equal(trajectory, trajectories[0])
    assert np.argmax(rewards) == 3 and len(set(rewards)) == N_SITES  # the reward does depend on the itch


def test_oracle_observation_ends_with_the_itch() -> None:
    plain, oracle_env = gym.make(ENV_ID, switch_prob=0.2), gym.make(ENV_ID, switch_prob=0.2, oracle=True)
    obs_plain, _ = plain.reset(seed=3)
    obs, info = oracle_env.reset(seed=3)
    np.testing.assert_array_equal(obs[-3:], info["latent"])
    rng = np.random.default_rng(1)
    n_switches = 0
    for _ in range(60):
        action = rng.uniform(-1.0, 1.0, 7).astype(np.float32)
        obs, _, _, _, info = oracle_env.step(action)
        obs_plain, *_ = plain.step(action)
        np.testing.assert_array_equal(obs[:-3], obs_plain)
        np.testing.assert_array_equal(obs[-3:], oracle_env.unwrapped.latent)  # m_{t+1}
        if info["session_end"]:  # the itch always moves at a switch
            n_switches += 1
            assert not np.array_equal(obs[-3:], info["latent"])
        else:
            np.testing.assert_array_equal(obs[-3:], info["latent"])
    assert n_switches > 3


def test_itch_sites_and_transition_matrix() -> None:
    env = ScratchItchEnv()
    chain = env.latent_process
    sites, matrix = chain.values, chain.transition_matrix
    assert sites.shape == (N_SITES, 3) and sites.dtype == np.float32
    robot = env.data.body("shoulder_lift_link").xpos
    joints = [env.data.site(name).xpos for name in ("h_shoulder", "h_elbow", "h_wrist")]
    for k, site in enumerate(sites):  # 4 sites per limb, on the skin, facing the robot
        start, end = joints[k // 4], joints[k // 4 + 1]
        radius = env.model.geom(("h_upper_arm", "h_forearm")[k // 4]).size[0]
        axis = (end - start) / np.linalg.norm(end - start)
        along = (site - start) @ axis
        assert along / np.linalg.norm(end - start) == pytest.approx(0.2 * (k % 4 + 1), abs=1e-5)
        normal = site - start - along * axis
        assert np.linalg.norm(normal) == pytest.approx(radius, abs=1e-5)
        assert normal @ (robot - site) > 0
    np.testing.assert_allclose(matrix.sum(axis=1), 1.0)
    np.testing.assert_array_equal(np.diag(matrix), 0.0)
    for k in range(N_SITES):
        neighbours = [j for j in (k - 1, k + 1) if 0 <= j < N_SITES]
        others = [j for j in range(N_SITES) if j not in (*neighbours, k)]
        assert matrix[k, neighbours].sum() == pytest.approx(0.7 + 0.3 * len(neighbours) / 7)
        np.testing.assert_allclose(matrix[k, others], 0.3 / 7)
    np.testing.assert_allclose(chain.initial_probs, 1.0 / N_SITES)
    only_neighbours = itch_chain(sites, migrate_prob=1.0).transition_matrix
    np.testing.assert_allclose(np.triu(only_neighbours, 2) + np.tril(only_neighbours, -2), 0.0)


def test_reset_starts_without_contact_near_the_ready_pose() -> None:
    env = gym.make(ENV_ID)
    starts = []
    for seed in range(10):
        obs, _ = env.reset(seed=seed)
        assert env.unwrapped.data.ncon == 0 and np.all(obs[-2:] == 0.0)
        starts.append(obs[7:14])
    starts = np.array(starts)
    assert np.ptp(starts, axis=0).max() <= 0.1 and np.ptp(starts, axis=0).min() > 0  # +-0.05 rad noise
    np.testing.assert_array_equal(env.reset(seed=3)[0], env.reset(seed=3)[0])


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"switch_prob": 1.5}, "switch_prob"),
        ({"migrate_prob": -0.1}, "migrate_prob"),
        ({"migrate_prob": 1.2}, "migrate_prob"),
        ({"migrate_prob": float("nan")}, "migrate_prob"),
        ({"frame_skip": 0}, "frame_skip"),
        ({"frame_skip": 2.5}, "frame_skip"),
        ({"reset_noise_scale": -0.01}, "reset_noise_scale"),
        ({"reset_noise_scale": 1.0}, "reset_noise_scale"),
        ({"success_scratches": 0}, "success_scratches"),
    ],
)
def test_bad_constructor_arguments_name_the_argument(kwargs: dict, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        gym.make(ENV_ID, **kwargs)
