"""DynaMITEPPO's behaviour: encoder consistency, the fast PPO path, the switches, bad input."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper, VecNormalize

from sb3_dynamite import DynaMITEPPO, VariBADPPO
from sb3_dynamite.common.wrappers import VecPreviousActionReward
from sb3_dynamite.dynamite import VARIBAD_SWITCHES, losses
from sb3_dynamite.dynamite.buffers import EpisodeBatch

SMALL = {"n_steps": 64, "batch_size": 64, "n_epochs": 2, "vae_batch_size": 4, "seed": 0}


class RecordStates(BaseCallback):
    """Records the GRU state the policy computed at every rollout step (h_t, after consuming x_t)."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden: list[np.ndarray] = []

    def _on_step(self) -> bool:
        self.hidden.append(self.locals["lstm_states"].pi[0].detach().cpu().numpy().copy())
        return True


def collect(model: DynaMITEPPO, callback: BaseCallback | None = None) -> None:
    """One rollout with the current weights (no update afterwards)."""
    _, callback = model._setup_learn(model.n_steps * model.n_envs, callback)
    model.collect_rollouts(model.env, callback, model.rollout_buffer, model.n_steps)


def test_vae_path_beliefs_equal_the_online_rollout_beliefs() -> None:
    model = DynaMITEPPO("MlpPolicy", "dlcmdp/GridWorld-v0", n_steps=130, seed=1)
    recorder = RecordStates()
    collect(model, recorder)
    assert len(model.episode_store) == 2
    observations, session_end = model.episode_store.episodes[0]
    assert observations.shape == (61, 12) and session_end.shape == (60,)
    with th.no_grad():
        mu, logvar, logits = model.policy.features_extractor.encode_episodes(th.as_tensor(observations)[:, None])
        online = th.as_tensor(np.concatenate(recorder.hidden[:60], axis=1))[0]  # (60, hidden): h_0 .. h_59
        online_mu, online_logvar, online_logits = model.policy.features_extractor.heads(online)
    np.testing.assert_allclose(mu[:60, 0], online_mu, atol=1e-5)
    np.testing.assert_allclose(logvar[:60, 0], online_logvar, atol=1e-5)
    np.testing.assert_allclose(logits[:60, 0], online_logits, atol=1e-5)
    # the stored inputs are the env's: x_0 starts the episode with a_{-1} = r_{-1} = 0
    np.testing.assert_array_equal(observations[0, 6:], 0.0)


def test_fast_path_inputs_reproduce_the_rollout_log_probs_and_values() -> None:
    model = DynaMITEPPO("MlpPolicy", make_vec_env("dlcmdp/Reacher-v0", n_envs=3, seed=0), n_steps=80, seed=0)
    model.policy.belief_normalizer.update(th.randn(50, model.policy.belief_dim) * 3 + 1)  # not the identity
    collect(model)
    buffer = model.rollout_buffer
    observations, hidden, starts = (th.as_tensor(a) for a in buffer.step_inputs())
    with th.no_grad():
        policy_inputs, _ = model.policy.encode_step(observations, hidden, starts)
        view = buffer.flat_view(policy_inputs.numpy())
        values, log_prob, _ = model.policy.evaluate_actions(
            th.as_tensor(view.observations.reshape(240, -1)), th.as_tensor(buffer.actions.reshape(240, -1))
        )
    np.testing.assert_allclose(log_prob.numpy(), buffer.log_probs.reshape(-1), atol=1e-4)
    np.testing.assert_allclose(values.numpy().ravel(), buffer.values.reshape(-1), atol=1e-4)


def test_through_encoder_minibatches_reproduce_the_rollout_log_probs_and_values() -> None:
    """sb3-contrib's sequence minibatches (the ``rl_loss_through_encoder`` path) re-run the GRU from each
    sequence's stored state: they must give back what the policy computed while acting."""
    env = make_vec_env("dlcmdp/GridWorld-v0", n_envs=2, seed=0)  # H = 60: two episodes per env and rollout
    model = DynaMITEPPO("MlpPolicy", env, n_steps=130, batch_size=64, rl_loss_through_encoder=True, seed=0)
    model.policy.belief_normalizer.update(th.randn(50, model.policy.belief_dim) * 3 + 1)
    collect(model)
    assert model.rollout_buffer.episode_starts[1:].any()  # sequences split at episode starts inside the rollout
    seen = 0
    with th.no_grad():
        for batch in model.rollout_buffer.get(64):
            values, log_prob, _ = model.policy.evaluate_actions(
                batch.observations, batch.actions.long().flatten(), batch.lstm_states, batch.episode_starts)
            mask = batch.mask > 1e-8
            np.testing.assert_allclose(log_prob[mask].numpy(), batch.old_log_prob[mask].numpy(), atol=1e-4)
            np.testing.assert_allclose(values.flatten()[mask].numpy(), batch.old_values[mask].numpy(), atol=1e-4)
            seen += int(mask.sum())
    assert seen == 260


def test_fused_gru_pass_equals_the_stepwise_pass() -> None:
    """Episode starts only at the first step: one GRU call from the reset state, equal to stepping through."""
    from sb3_dynamite.dynamite.policies import DynaMITEPolicy

    gru = th.nn.GRU(6, 8, 2)
    g = th.Generator().manual_seed(0)
    features, hidden = th.randn(3 * 5, 6, generator=g), th.randn(2, 3, 8, generator=g)
    first_only = th.zeros(3, 5)
    first_only[[0, 2], 0] = 1.0
    fused, (state, _) = DynaMITEPolicy._process_sequence(features, (hidden, hidden), first_only.flatten(), gru)
    sequence = features.reshape(3, 5, 6).swapaxes(0, 1)
    h, outputs = hidden, []
    for step in range(5):
        h = (1.0 - first_only[:, step]).view(1, 3, 1) * h
        out, h = gru(sequence[step : step + 1], h)
        outputs.append(out)
    stepwise = th.cat(outputs).transpose(0, 1).flatten(0, 1)
    th.testing.assert_close(fused, stepwise)
    th.testing.assert_close(state, h)
    mid = first_only.clone()
    mid[1, 3] = 1.0  # a start inside a sequence: the stepwise path, which resets there
    out_mid, _ = DynaMITEPolicy._process_sequence(features, (hidden, hidden), mid.flatten(), gru)
    th.testing.assert_close(out_mid.reshape(3, 5, 8)[[0, 2]], fused.reshape(3, 5, 8)[[0, 2]])
    reset_at_3, _ = gru(sequence[3:, 1:2], th.zeros(2, 1, 8))
    th.testing.assert_close(out_mid.reshape(3, 5, 8)[1, 3:], reset_at_3[:, 0])


@pytest.mark.parametrize("normalize_termination", [True, False])
def test_policy_reads_c_t_standardised_or_as_the_probability(normalize_termination: bool) -> None:
    model = DynaMITEPPO("MlpPolicy", "dlcmdp/GridWorld-v0",
                        policy_kwargs={"normalize_termination": normalize_termination}, **SMALL)
    policy = model.policy
    policy.belief_normalizer.update(th.randn(500, policy.belief_dim) * 0.02 + 0.5)
    raw = th.rand(7, policy.belief_dim)
    normalised = policy.belief_normalizer(raw)
    stats = policy.belief_normalizer
    expected = ((raw - stats.mean) / th.sqrt(stats.var + stats.epsilon)).clamp(-stats.clip, stats.clip)
    th.testing.assert_close(normalised[:, :-1], expected[:, :-1])  # mu and logvar are standardised
    th.testing.assert_close(normalised[:, -1], expected[:, -1] if normalize_termination else raw[:, -1])
    assert not normalize_termination or normalised[:, -1].abs().max() > 1.0  # 0.02 std: c_t blown up


def test_drift_aware_normaliser_keeps_a_moving_belief_near_unit_scale() -> None:
    from sb3_dynamite.dynamite.belief import BeliefNormalizer

    first, second = th.randn(400, 3) * 0.1, th.randn(400, 3) * 0.1 + 2.0  # the mean moves by 20 stds
    plain, drift = BeliefNormalizer(3, momentum=0.25), BeliefNormalizer(3, momentum=0.25, include_drift=True)
    for normaliser in (plain, drift):
        normaliser.update(first)
        normaliser.update(second)
    m1, m2 = first.mean(0), second.mean(0)
    v1, v2 = first.var(0, unbiased=False), second.var(0, unbiased=False)
    th.testing.assert_close(drift.mean, plain.mean)  # only the variance differs
    th.testing.assert_close(plain.var, 0.75 * v1 + 0.25 * v2)
    th.testing.assert_close(drift.var, 0.75 * v1 + 0.25 * v2 + 0.25 * 0.75 * (m2 - m1) ** 2)
    assert plain(second).abs().mean() > 9.0  # the moved belief sits at the clip
    assert drift(second).abs().mean() < 2.0  # ... or within two standard deviations


def test_rl_loss_through_encoder_trains_the_encoder_with_ppo() -> None:
    detached = DynaMITEPPO("MlpPolicy", "dlcmdp/GridWorld-v0", n_vae_updates=0, **SMALL)
    through = DynaMITEPPO("MlpPolicy", "dlcmdp/GridWorld-v0", n_vae_updates=0, rl_loss_through_encoder=True, **SMALL)
    for model, should_move in ((detached, False), (through, True)):
        before = [p.detach().clone() for p in model.policy.features_extractor.parameters()]
        model.learn(128)
        after = model.policy.features_extractor.parameters()
        moved = any(not th.equal(b, p) for b, p in zip(before, after, strict=True))
        assert moved == should_move


def test_pass_action_reward_to_policy_feeds_the_previous_action_and_reward_to_the_policy(tmp_path) -> None:
    kwargs = {"features_extractor_kwargs": {"pass_action_reward_to_policy": True}}
    default = DynaMITEPPO("MlpPolicy", "dlcmdp/GridWorld-v0", **SMALL)
    passing = DynaMITEPPO("MlpPolicy", "dlcmdp/GridWorld-v0", policy_kwargs=kwargs, **SMALL)
    obs_dim = passing.observation_space.shape[0]
    state_dim = default.policy.features_extractor.state_dim
    assert passing.policy.mlp_extractor.policy_net[0].in_features == obs_dim + passing.policy.belief_dim
    assert default.policy.mlp_extractor.policy_net[0].in_features == state_dim + default.policy.belief_dim
    obs = th.randn(4, obs_dim)
    other_reward = obs.clone()
    other_reward[:, -1] += 1.0  # only r_{t-1} differs; the belief is held fixed
    belief = th.randn(4, passing.policy.belief_dim)
    for model, reads_reward in ((default, False), (passing, True)):
        inputs = [model.policy.policy_input(o, belief) for o in (obs, other_reward)]
        assert (not th.equal(*inputs)) == reads_reward
    th.testing.assert_close(passing.policy.policy_input(obs, belief)[:, :obs_dim], obs)
    passing.learn(128)
    passing.save(tmp_path / "model")
    loaded = DynaMITEPPO.load(tmp_path / "model")
    assert loaded.policy.features_extractor.pass_action_reward_to_policy
    th.testing.assert_close(loaded.policy.policy_input(obs, belief), passing.policy.policy_input(obs, belief))


def test_next_state_reward_decoder_reads_only_the_next_state_and_the_belief(tmp_path) -> None:
    """VariBAD's GridWorld decoder: r_j from (s_{j+1}, z), so the action taken cannot explain a reward."""
    kwargs = {"reward_decoder_input": "next_state"}
    model = DynaMITEPPO("MlpPolicy", "dlcmdp/GridWorld-v0", policy_kwargs=kwargs, **SMALL)
    decoder, state_dim = model.policy.reward_decoder, model.policy.features_extractor.state_dim
    assert decoder.net[0].in_features == state_dim + model.latent_dim
    g = th.Generator().manual_seed(0)
    state, next_state, z = (th.randn(8, d, generator=g) for d in (state_dim, state_dim, model.latent_dim))
    action = th.eye(5)[th.randint(0, 5, (8,), generator=g)]
    reward = decoder(state, action, next_state, z)
    th.testing.assert_close(decoder(th.randn(8, state_dim), th.eye(5)[[0] * 8], next_state, z), reward)
    assert not th.allclose(decoder(state, action, next_state + 1.0, z), reward)
    model.learn(128)
    model.save(tmp_path / "model")
    loaded = DynaMITEPPO.load(tmp_path / "model")
    assert loaded.policy.reward_decoder_input == "next_state"
    th.testing.assert_close(loaded.policy.reward_decoder(state, action, next_state, z),
                            model.policy.reward_decoder(state, action, next_state, z))


def synthetic_batch(n_episodes: int = 3, horizon: int = 20, seed: int = 0) -> EpisodeBatch:
    g = th.Generator().manual_seed(seed)
    observations = th.randn(n_episodes, horizon + 1, 12, generator=g)
    session_end = th.rand(n_episodes, horizon, generator=g) < 0.2
    return EpisodeBatch(observations, session_end, th.ones(n_episodes, horizon, dtype=th.bool))


def test_varibad_ignores_session_labels_and_dynamite_uses_them() -> None:
    batch = synthetic_batch()
    unlabelled = batch._replace(session_end=th.zeros_like(batch.session_end))
    for cls, depends in ((VariBADPPO, False), (DynaMITEPPO, True)):
        model = cls("MlpPolicy", "dlcmdp/GridWorld-v0", vae_subsample_elbos=None, vae_subsample_decodes=None,
                    consistency_coef=0.0 if cls is VariBADPPO else 1.0, seed=0)
        values = []
        for b in (batch, unlabelled):
            th.manual_seed(0)  # same reparameterisation noise
            values.append(float(model.belief_losses(b)["loss"]))
        assert (abs(values[0] - values[1]) > 1e-6) == depends


def test_varibad_is_dynamite_with_the_switches_off() -> None:
    varibad = VariBADPPO("MlpPolicy", "dlcmdp/GridWorld-v0", seed=0)
    for name, value in VARIBAD_SWITCHES.items():
        assert getattr(varibad, name) == value
    assert varibad.policy.belief_dim == 2 * varibad.latent_dim  # no termination probability in the input
    with pytest.raises(ValueError, match="session_masking"):
        VariBADPPO("MlpPolicy", "dlcmdp/GridWorld-v0", session_masking=True)
    dynamite = DynaMITEPPO("MlpPolicy", "dlcmdp/GridWorld-v0", seed=0, **VARIBAD_SWITCHES)
    batch = synthetic_batch()
    th.manual_seed(1)
    a = varibad.belief_losses(batch)["loss"]
    dynamite.policy.load_state_dict(varibad.policy.state_dict())
    th.manual_seed(1)
    assert th.allclose(a, dynamite.belief_losses(batch)["loss"])


def test_each_switch_changes_its_own_term_only() -> None:
    batch = synthetic_batch(seed=3)
    base = DynaMITEPPO("MlpPolicy", "dlcmdp/GridWorld-v0", seed=0, vae_subsample_elbos=None,
                       vae_subsample_decodes=None, consistency_coef=0.1)

    def terms(**switches):
        for name, value in switches.items():
            setattr(base, name, value)
        th.manual_seed(0)
        out = {k: float(v) for k, v in base.belief_losses(batch).items()}
        for name in switches:
            setattr(base, name, True)
        return out

    full = terms()
    no_masking, no_prior = terms(session_masking=False), terms(prior_conditioning=False)
    assert no_masking["kl"] == full["kl"] and no_masking["reconstruction"] != full["reconstruction"]
    assert no_prior["reconstruction"] == full["reconstruction"] and no_prior["kl"] != full["kl"]
    assert full["consistency"] >= 0 and 0 <= full["termination_accuracy"] <= 1


@pytest.mark.parametrize("detach", [False, True])
def test_termination_detach_keeps_the_bce_gradient_out_of_the_gru(detach: bool) -> None:
    model = DynaMITEPPO("MlpPolicy", "dlcmdp/GridWorld-v0", termination_detach=detach, seed=0)
    model.belief_losses(synthetic_batch())["termination_bce"].backward()
    encoder = model.policy.features_extractor
    assert encoder.termination.weight.grad.abs().sum() > 0  # the head always learns
    gru_grads = [p.grad for p in encoder.gru.parameters()]
    assert all(g is None for g in gru_grads) == detach  # the GRU learns from the BCE only without detach
    assert model.policy.use_termination  # the policy still reads c_t


def test_termination_head_trains_without_being_a_policy_input(tmp_path) -> None:
    model = DynaMITEPPO("MlpPolicy", "dlcmdp/GridWorld-v0", termination_input=False, **SMALL)
    assert not model.policy.use_termination and model.policy.belief_dim == 2 * model.latent_dim
    assert "termination_bce" in model.belief_losses(synthetic_batch())  # the loss stays
    model.learn(128)
    model.save(tmp_path / "model")
    loaded = DynaMITEPPO.load(tmp_path / "model")
    assert not loaded.termination_input and loaded.policy.belief_dim == 2 * loaded.latent_dim
    for a, b in zip(model.policy.parameters(), loaded.policy.parameters(), strict=True):
        assert th.equal(a, b)


def test_termination_zero_init_starts_c_t_unread_and_lets_ppo_learn_to_read_it(tmp_path) -> None:
    plain = DynaMITEPPO("MlpPolicy", "dlcmdp/GridWorld-v0", **SMALL)
    model = DynaMITEPPO("MlpPolicy", "dlcmdp/GridWorld-v0", policy_kwargs={"termination_zero_init": True}, **SMALL)
    firsts = [model.policy.mlp_extractor.policy_net[0], model.policy.mlp_extractor.value_net[0]]
    for layer, plain_layer in zip(firsts, [plain.policy.mlp_extractor.policy_net[0],
                                           plain.policy.mlp_extractor.value_net[0]], strict=True):
        assert th.all(layer.weight[:, -1] == 0.0) and th.any(plain_layer.weight[:, -1] != 0.0)
        assert th.equal(layer.weight[:, :-1], plain_layer.weight[:, :-1])  # the rest drawn as without it
    inputs = th.randn(6, model.policy.features_dim + model.policy.belief_dim)
    moved = inputs.clone()
    moved[:, -1] += 5.0  # another c_t
    with th.no_grad():
        (dist_a, value_a), (dist_b, value_b) = model.policy._heads(inputs), model.policy._heads(moved)
    th.testing.assert_close(dist_a.distribution.logits, dist_b.distribution.logits)
    th.testing.assert_close(value_a, value_b)
    model.learn(256)
    assert all(bool(th.any(layer.weight[:, -1] != 0.0)) for layer in firsts)  # PPO trains the column
    model.save(tmp_path / "model")
    loaded = DynaMITEPPO.load(tmp_path / "model")
    assert loaded.policy.termination_zero_init
    th.testing.assert_close(loaded.policy.mlp_extractor.policy_net[0].weight, firsts[0].weight)  # not re-zeroed
    with pytest.raises(ValueError, match="termination_zero_init"):
        DynaMITEPPO("MlpPolicy", "dlcmdp/GridWorld-v0", termination_coef=0.0,
                    policy_kwargs={"termination_zero_init": True})


def test_termination_bias_starts_at_the_log_odds_of_the_session_start_rate(tmp_path) -> None:
    model = DynaMITEPPO("MlpPolicy", "dlcmdp/GridWorld-v0", termination_bias_init=True, **SMALL)
    head = model.policy.features_extractor.termination
    batch = synthetic_batch()
    with th.no_grad():
        head.weight.zero_()  # c_t is then the same constant at every step
    rate = model.initialise_termination_bias(batch)
    sessions = losses.session_indices(batch.session_end, batch.valid_transitions)
    assert rate == pytest.approx(float(losses.termination_labels(batch.session_end, sessions).mean()))  # all valid
    assert float(th.sigmoid(head.bias)) == pytest.approx(rate, rel=1e-5)
    model.belief_losses(batch)["termination_bce"].backward()
    assert abs(float(head.bias.grad)) < 1e-6  # the constant that minimises the BCE: nothing left to learn
    before = float(head.bias)
    model.learn(256)  # Adam moves the bias by about 1e-3 per VAE step; a second initialisation would jump
    assert model._termination_bias_initialised and 0.0 < abs(float(head.bias) - before) < 0.01
    model.save(tmp_path / "model")
    assert DynaMITEPPO.load(tmp_path / "model")._termination_bias_initialised


def test_env_without_session_labels_trains_as_varibad_with_one_warning() -> None:
    model = DynaMITEPPO("MlpPolicy", "CartPole-v1", consistency_coef=0.1, **SMALL)
    with pytest.warns(UserWarning, match="trains as VariBAD") as record:
        model.learn(256)
    assert sum("session_end" in str(w.message) for w in record) == 1
    assert not model.has_session_labels
    batch = model.episode_store.sample(4)
    assert not bool(batch.session_end.any())
    terms = model.belief_losses(batch)
    assert "consistency" not in terms


class RecordRaw(VecEnvWrapper):
    """Below VecNormalize: keeps what the env made, each step's observations and terminal observations."""

    def __init__(self, venv: VecEnv) -> None:
        super().__init__(venv)
        self.observations: list[np.ndarray] = []
        self.terminals: list[dict[int, np.ndarray]] = []

    def reset(self) -> np.ndarray:
        observations = self.venv.reset()
        self.observations.append(observations.copy())
        self.terminals.append({})
        return observations

    def step_wait(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict]]:
        observations, rewards, dones, infos = self.venv.step_wait()
        self.observations.append(observations.copy())
        self.terminals.append({i: info["terminal_observation"].copy() for i, info in enumerate(infos)
                               if "terminal_observation" in info})
        return observations, rewards, dones, infos


@pytest.mark.parametrize("store_raw", [False, True])
def test_raw_episode_store_under_observation_normalisation(store_raw: bool) -> None:
    """``vae_store_raw``: the VAE's episodes are the env's unnormalised x_0 .. x_T, and a VAE batch sees them through
    today's statistics; by default they keep the statistics of the rollout that collected them."""
    recorder = RecordRaw(VecPreviousActionReward(make_vec_env("dlcmdp/GridWorld-v0", n_envs=1, seed=0)))
    env = VecNormalize(recorder, norm_obs=True, norm_reward=True, clip_obs=1e4)  # no clipping: exact inverse
    model = DynaMITEPPO("MlpPolicy", env, vae_store_raw=store_raw, **{**SMALL, "n_steps": 128})
    model.learn(256)
    assert len(model.episode_store) == 4  # 60-step episodes
    raw = np.concatenate(recorder.observations)
    for k, (stored, _) in enumerate(model.episode_store.episodes):
        expected = np.concatenate([raw[60 * k : 60 * (k + 1)], recorder.terminals[60 * (k + 1)][0][None]])
        if store_raw:
            np.testing.assert_allclose(stored, expected, rtol=1e-5, atol=1e-5)
        else:  # normalised, with the statistics of their own steps
            assert not np.allclose(stored[1:], expected[1:], atol=1e-2)
    th.manual_seed(0)
    drawn = model.episode_store.sample(3)
    th.manual_seed(0)
    batch = model.sample_vae_batch()
    lengths = drawn.valid_transitions.sum(dim=1).tolist()
    for row, length in enumerate(lengths):
        episode = drawn.observations[row, : length + 1].numpy()
        today = env.normalize_obs(episode) if store_raw else episode
        np.testing.assert_allclose(batch.observations[row, : length + 1].numpy(), today, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"latent_dim": 0}, "latent_dim"),
        ({"kl_weight": -0.1}, "kl_weight"),
        ({"consistency_coef": -1.0}, "consistency_coef"),
        ({"termination_coef": float("nan")}, "termination_coef"),
        ({"vae_learning_rate": 0.0}, "vae_learning_rate"),
        ({"vae_batch_size": 0}, "vae_batch_size"),
        ({"vae_subsample_decodes": 0}, "vae_subsample_decodes"),
        ({"policy_kwargs": {"latent_dim": 3}}, "latent_dim"),
        ({"policy_kwargs": {"reward_decoder_input": "state"}}, "reward_decoder_input"),
    ],
)
def test_bad_hyperparameters_name_the_problem(kwargs: dict, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        DynaMITEPPO("MlpPolicy", "dlcmdp/GridWorld-v0", **kwargs)


def test_unsupported_spaces_are_rejected_clearly() -> None:
    with pytest.raises(ValueError, match="1-D Box observation"):
        DynaMITEPPO("MlpPolicy", "FrozenLake-v1")
    env = gym.make("dlcmdp/GridWorld-v0")
    env.action_space = spaces.MultiBinary(3)
    with pytest.raises(ValueError, match="unsupported action space"):
        DynaMITEPPO("MlpPolicy", env)


class NaNReward(gym.Wrapper):
    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        return obs, float("nan") if self.env.unwrapped.session_index > 0 else reward, terminated, truncated, info


def test_nan_from_the_env_stops_training() -> None:
    model = DynaMITEPPO("MlpPolicy", NaNReward(gym.make("dlcmdp/GridWorld-v0", switch_prob=0.5)), **SMALL)
    with pytest.raises(ValueError, match="non-finite observation or reward"):
        model.learn(256)


def test_nan_in_a_belief_loss_stops_training(monkeypatch: pytest.MonkeyPatch) -> None:
    model = DynaMITEPPO("MlpPolicy", "dlcmdp/GridWorld-v0", **SMALL)
    monkeypatch.setattr(losses, "kl_loss", lambda *args: th.tensor(float("nan")))
    with pytest.raises(ValueError, match="non-finite belief-model loss"):
        model.learn(256)


def test_predict_without_the_wrapper_explains_the_fix() -> None:
    model = DynaMITEPPO("MlpPolicy", "dlcmdp/GridWorld-v0", **SMALL)
    raw_obs, _ = gym.make("dlcmdp/GridWorld-v0").reset(seed=0)
    with pytest.raises(ValueError, match=r"model\.get_env"):
        model.predict(raw_obs)
    assert isinstance(model.get_env(), VecPreviousActionReward)


def test_wrapping_is_not_repeated() -> None:
    venv = VecPreviousActionReward(make_vec_env("dlcmdp/GridWorld-v0", n_envs=2))
    model = DynaMITEPPO("MlpPolicy", venv, **SMALL)
    assert model.get_env() is venv
