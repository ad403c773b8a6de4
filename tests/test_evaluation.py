"""Belief traces, latent probes, belief plots and reference returns (sb3_dynamite.evaluation)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import gymnasium as gym
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch as th
from stable_baselines3.common.env_util import make_vec_env

from sb3_dynamite import DynaMITEPPO, VariBADPPO
from sb3_dynamite.envs.scripted import make_reference_env
from sb3_dynamite.evaluation import (
    BeliefTrace,
    GoalRewardReadout,
    LatentProbe,
    belief_rollout,
    episode_returns,
    fit_latent_probe,
    normalized_score,
    plot_belief,
    reference_returns,
    rollout_traces,
    save_belief_plot,
    termination_detection,
    termination_targets,
)

GRID = "dlcmdp/GridWorld-v0"
SMALL = {"n_steps": 64, "batch_size": 64, "n_epochs": 2, "vae_batch_size": 4, "seed": 0}


@pytest.fixture(scope="module")
def model() -> DynaMITEPPO:
    """A DynaMITEPPO whose encoder has had a few VAE updates (its beliefs are not the initial ones)."""
    return DynaMITEPPO("MlpPolicy", make_vec_env(GRID, n_envs=2, seed=0), **SMALL).learn(256)


@pytest.fixture(scope="module")
def trace(model: DynaMITEPPO) -> BeliefTrace:
    trace = belief_rollout(model, GRID, seed=3)
    assert len(trace.boundaries) >= 2, "seed 3 should give an episode with several sessions"
    return trace


def test_trace_rows_are_the_env_steps_with_their_truth(trace: BeliefTrace) -> None:
    assert len(trace) == 60  # GridWorld's horizon H
    assert trace.observation.shape == (60, 12) and trace.belief_mean.shape == (60, 5)
    assert trace.belief_logvar.shape == (60, 5) and trace.termination.shape == (60,)
    assert trace.env_id == GRID and trace.seed == 3
    env = gym.make(GRID)
    obs, info = env.reset(seed=3)
    for t in range(len(trace)):
        np.testing.assert_array_equal(trace.observation[t, :6], obs)  # s_t
        previous_action = np.eye(5)[trace.action[t - 1]] if t > 0 else np.zeros(5)
        np.testing.assert_array_equal(trace.observation[t, 6:11], previous_action)  # a_{t-1}, one-hot
        assert trace.observation[t, 11] == pytest.approx(trace.reward[t - 1] if t > 0 else 0.0)  # r_{t-1}
        obs, reward, _, truncated, info = env.step(trace.action[t])
        assert trace.reward[t] == pytest.approx(reward)
        np.testing.assert_array_equal(trace.latent[t], info["latent"])
        assert trace.session_index[t] == info["session_index"]
        assert trace.session_end[t] == info["session_end"]
    assert truncated
    assert trace.n_sessions == int(trace.session_end[:-1].sum()) + 1
    assert trace.episode_return == pytest.approx(trace.reward.sum())


def test_session_latent_is_what_each_belief_has_seen(trace: BeliefTrace) -> None:
    np.testing.assert_array_equal(trace.session_latent[0], trace.latent[0])
    np.testing.assert_array_equal(trace.session_latent[1:], trace.latent[:-1])
    for j in trace.boundaries[trace.boundaries < len(trace) - 1]:
        assert trace.session_index[j + 1] == trace.session_index[j] + 1


@pytest.mark.parametrize(("cls", "kwargs"), [(DynaMITEPPO, {}), (VariBADPPO, {}),
                                             (DynaMITEPPO, {"termination_input": False})])
def test_beliefs_equal_the_encoder_over_the_recorded_inputs(cls: type[DynaMITEPPO], kwargs: dict) -> None:
    model = cls("MlpPolicy", GRID, **kwargs, **SMALL).learn(128)
    trace = belief_rollout(model, GRID, seed=7, deterministic=False)
    with th.no_grad():
        mu, logvar, logits = model.policy.features_extractor.encode_episodes(th.as_tensor(trace.observation)[:, None])
    np.testing.assert_allclose(trace.belief_mean, mu[:, 0].numpy(), atol=1e-5)
    np.testing.assert_allclose(trace.belief_logvar, logvar[:, 0].numpy(), atol=1e-5)
    encoder = model.policy.features_extractor
    with th.no_grad():  # the recorded GRU state is the encoder's h_t over the same inputs, and b_t is read from it
        hidden, _ = encoder.gru(encoder.embed(th.as_tensor(trace.observation)[:, None]))
        read_mu, _, _ = encoder.heads(th.as_tensor(trace.gru_state))
    assert trace.gru_state.shape == (len(trace), encoder.gru.hidden_size)
    np.testing.assert_allclose(trace.gru_state, hidden[:, 0].numpy(), atol=1e-5)
    np.testing.assert_allclose(trace.belief_mean, read_mu.numpy(), atol=1e-5)
    if cls is VariBADPPO:
        assert trace.termination is None  # no termination loss: the head is untrained
    else:  # a trained head is recorded, also when c_t is not a policy input
        np.testing.assert_allclose(trace.termination, th.sigmoid(logits[:, 0]).numpy(), atol=1e-5)


def test_same_seed_same_sessions_whatever_the_policy(model: DynaMITEPPO, trace: BeliefTrace) -> None:
    other = belief_rollout(model, GRID, seed=3, deterministic=False)
    np.testing.assert_array_equal(other.latent, trace.latent)
    np.testing.assert_array_equal(other.session_end, trace.session_end)
    short = belief_rollout(model, GRID, seed=3, n_steps=10)
    assert len(short) == 10
    np.testing.assert_array_equal(short.belief_mean, trace.belief_mean[:10])


def test_first_evaluation_episode_is_the_belief_rollout_of_its_seed(model: DynaMITEPPO) -> None:
    env = make_reference_env(GRID, "previous_action_reward", n_envs=1, seed=1000)
    returns = episode_returns(model, env, n_episodes=2)
    assert returns[0] == pytest.approx(belief_rollout(model, GRID, seed=1000).episode_return)


def test_belief_rollout_rejects_bad_input(model: DynaMITEPPO) -> None:
    with pytest.raises(TypeError, match="DynaMITEPPO"):
        belief_rollout(object(), GRID)
    with pytest.raises(ValueError, match="single env"):
        belief_rollout(model, model.get_env())
    with pytest.raises(ValueError, match="model expects"):
        belief_rollout(model, "dlcmdp/Reacher-v0")
    with pytest.raises(ValueError, match="n_steps"):
        belief_rollout(model, GRID, n_steps=0)
    cartpole = DynaMITEPPO("MlpPolicy", "CartPole-v1", **SMALL)
    with pytest.raises(ValueError, match="'latent'"):
        belief_rollout(cartpole, "CartPole-v1")


def test_linear_probe_recovers_a_linear_latent() -> None:
    rng = np.random.default_rng(0)
    features = rng.normal(size=(500, 6)) * [1, 2, 3, 0.5, 1, 10] + 4
    weights = rng.normal(size=(6, 2))
    latent = features @ weights + [1.0, -2.0] + 0.01 * rng.normal(size=(500, 2))
    probe = LatentProbe.fit(features[:400], latent[:400], kind="linear", l2=1e-6)
    np.testing.assert_allclose(probe.decode(features[400:]), latent[400:], atol=0.05)


def test_logistic_probe_recovers_a_class_and_scores_traces() -> None:
    rng = np.random.default_rng(1)
    k = rng.integers(2, size=600)
    mu = rng.normal(size=(600, 3)) + 2.0 * k[:, None] * np.array([1.0, -1.0, 0.0])
    logvar = rng.normal(size=(600, 3)) - 1.0
    probe = LatentProbe.fit(np.hstack([mu, logvar])[:400], k[:400, None], kind="classes")
    assert probe.kind == "classes" and probe.classes.ravel().tolist() == [0.0, 1.0]
    probabilities = probe.predict_proba(np.hstack([mu, logvar])[400:])
    assert probabilities.shape == (200, 2) and np.allclose(probabilities.sum(axis=1), 1.0)
    assert np.mean((probabilities[:, 1] > 0.5) == k[400:]) > 0.9
    # a trace whose belief b_t encodes the latent of its session: the probe scores it against session_latent
    latent = k[400:, None].astype(np.float32)
    synthetic = BeliefTrace(
        observation=np.zeros((200, 1)), action=np.zeros(200), reward=np.zeros(200),
        belief_mean=mu[399:599], belief_logvar=logvar[399:599], termination=None, latent=latent,
        session_index=np.zeros(200, dtype=int), session_end=np.zeros(200, dtype=bool))
    np.testing.assert_array_equal(synthetic.session_latent[1:], k[400:599, None])
    assert probe.score(synthetic) > 0.9
    with pytest.raises(ValueError, match="linear"):
        LatentProbe.fit(mu, mu[:, :1], kind="linear").predict_proba(mu)


def test_fit_latent_probe_picks_the_probe_from_the_latent_process(model: DynaMITEPPO) -> None:
    probe = fit_latent_probe(model, GRID, n_episodes=3, seed=100)
    assert probe.kind == "classes" and probe.classes.ravel().tolist() == [0.0, 1.0]
    assert probe.feature_mean.shape == (10,)  # [mu, logvar]
    assert 0.0 <= probe.score(rollout_traces(model, GRID, 2, seed=200)) <= 1.0
    linear = fit_latent_probe(model, GRID, n_episodes=3, seed=100, kind="linear", use_logvar=False)
    assert linear.kind == "linear" and linear.feature_mean.shape == (5,)
    with pytest.raises(ValueError, match="n_episodes"):
        fit_latent_probe(model, GRID, n_episodes=0)


class PayingGoalDecoder(th.nn.Module):
    """A reward decoder whose z[0] is where the paying goal is: +1 for staying on goal B when z[0] > 0, on
    goal A when z[0] < 0, 0 on the other goal, -0.1 elsewhere or for any other action."""

    def forward(self, state: th.Tensor, action: th.Tensor, next_state: th.Tensor, z: th.Tensor) -> th.Tensor:
        on = [th.all(state[..., :2] == state[..., 2 + 2 * g: 4 + 2 * g], dim=-1) for g in (0, 1)]
        stay = (action[..., 0] == 1) & th.all(state == next_state, dim=-1)
        paying = th.where(z[..., 0] > 0, on[1], on[0]).float()
        reward = th.where(on[0] | on[1], paying, th.full_like(paying, -0.1))
        return th.where(stay, reward, th.full_like(reward, -0.1))


def test_goal_reward_readout_reads_the_belief_through_the_reward_decoder() -> None:
    """The read-out asks the decoder about staying on each goal of the observed episode, under z ~ b_t."""
    fresh = DynaMITEPPO("MlpPolicy", GRID, **SMALL)
    fresh.policy.reward_decoder = PayingGoalDecoder()
    readout = GoalRewardReadout(fresh, n_samples=16)
    steps, b_pays = 40, np.arange(40) < 20  # goal B pays, then goal A
    mu = np.zeros((steps, 5), dtype=np.float32)
    mu[:, 0] = np.where(b_pays, 2.0, -2.0)
    goal_a = np.random.default_rng(0).integers(0, 5, size=(steps, 2))  # goal cells change from step to step
    goal_b = np.stack([(goal_a[:, 0] + 1) % 5, goal_a[:, 1]], axis=1)
    observation = np.zeros((steps, 12), dtype=np.float32)
    observation[:, 2:6] = np.hstack([goal_a, goal_b])
    latent = b_pays.astype(np.float32)[:, None]
    trace = BeliefTrace(
        observation=observation, action=np.zeros(steps), reward=np.zeros(steps), belief_mean=mu,
        belief_logvar=np.full((steps, 5), -6.0, dtype=np.float32), termination=None,
        latent=np.concatenate([latent[1:], latent[-1:]]),  # session_latent (m_{t-1}) is then the truth of mu_t
        session_index=np.zeros(steps, dtype=int), session_end=np.zeros(steps, dtype=bool))
    np.testing.assert_allclose(readout.goal_rewards(trace), np.stack([~b_pays, b_pays], axis=1))
    np.testing.assert_allclose(readout.predict_proba(trace)[:, 1], b_pays.astype(float))
    assert readout.score(trace) == 1.0
    # an uncertain belief (z spread over both signs) reads as undecided
    uncertain = dataclasses.replace(trace, belief_mean=np.zeros_like(mu), belief_logvar=np.zeros_like(mu))
    assert 0.2 < readout.predict_proba(uncertain)[:, 1].mean() < 0.8
    with pytest.raises(ValueError, match="GridWorld"):
        GoalRewardReadout(DynaMITEPPO("MlpPolicy", "dlcmdp/Reacher-v0", n_steps=64, batch_size=64)).goal_rewards(trace)


def test_termination_detection_counts_hits_at_the_targets_and_false_alarms(trace: BeliefTrace) -> None:
    targets = termination_targets(trace)
    np.testing.assert_array_equal(np.flatnonzero(targets), trace.boundaries[trace.boundaries + 2 < len(trace)] + 2)
    perfect = dataclasses.replace(trace, termination=targets.astype(np.float32))
    assert termination_detection(perfect) == {"recall": 1.0, "false_alarm": 0.0}
    late = dataclasses.replace(trace, termination=np.roll(targets, 1).astype(np.float32))  # one step late
    assert termination_detection([late, perfect]) == {"recall": 0.5, "false_alarm": pytest.approx(
        targets.sum() / (2 * (~targets).sum()))}
    with pytest.raises(ValueError, match="termination"):
        termination_detection(dataclasses.replace(trace, termination=None))


def boundary_lines(ax: plt.Axes) -> list:
    return [line for line in ax.lines if line.get_gid() == "session_boundary"]


def test_plot_belief_shows_decoded_belief_boundaries_and_termination(model: DynaMITEPPO, trace: BeliefTrace) -> None:
    probe = fit_latent_probe(model, GRID, n_episodes=3, seed=100)
    ax = plot_belief(trace, probe)
    belief_axes, termination_axes = ax.figure.axes
    assert belief_axes is ax
    assert len(boundary_lines(ax)) == len(trace.boundaries) == len(boundary_lines(termination_axes))
    np.testing.assert_allclose([line.get_xdata()[0] for line in boundary_lines(ax)], trace.boundaries + 0.5)
    decoded = next(line for line in ax.lines if line.get_label() == "decoded belief")
    np.testing.assert_allclose(decoded.get_ydata(), probe.predict_proba(trace)[:, 1])
    truth = next(line for line in ax.lines if line.get_label().startswith("goal B pays"))
    np.testing.assert_array_equal(truth.get_ydata(), trace.latent[:, 0])
    termination = next(line for line in termination_axes.lines if line.get_label().startswith("c_t"))
    np.testing.assert_allclose(termination.get_ydata(), trace.termination)
    assert ax.get_ylabel() == "P(goal B pays)"
    plt.close(ax.figure)


def test_plot_belief_without_probe_or_termination() -> None:
    varibad = VariBADPPO("MlpPolicy", GRID, **SMALL)
    trace = belief_rollout(varibad, GRID, seed=3)
    ax = plot_belief(trace)
    assert [line.get_label() for line in ax.lines if line.get_label().startswith("mu")] == [
        f"mu[{i}]" for i in range(5)]
    assert len(boundary_lines(ax)) == len(trace.boundaries)
    assert len(ax.figure.axes) == 2  # the belief and the true latent's right-hand axis, no c_t panel
    plt.close(ax.figure)
    _, given = plt.subplots()
    assert plot_belief(trace, ax=given) is given
    plt.close(given.figure)


def test_save_belief_plot_writes_a_png(trace: BeliefTrace, tmp_path: Path) -> None:
    path = save_belief_plot(trace, tmp_path / "sub" / "belief.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000


def test_reference_returns_are_paired_and_normalised() -> None:
    first = reference_returns(GRID, n_episodes=4, seed=5)
    again = reference_returns(GRID, n_episodes=4, seed=5)
    assert set(first) == {"random", "oracle", "informed"}
    for kind in first:
        np.testing.assert_array_equal(first[kind], again[kind])
    assert first["oracle"].mean() > first["informed"].mean() > first["random"].mean()
    assert set(reference_returns("dlcmdp/Reacher-v0", n_episodes=1, seed=0, kinds=("oracle", "informed"))) == {
        "oracle"}
    assert normalized_score(-3.0, -3.0, 49.0) == 0.0 and normalized_score(49.0, -3.0, 49.0) == 1.0
    assert normalized_score(23.0, -3.0, 49.0) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="must exceed"):
        normalized_score(1.0, 2.0, 2.0)
