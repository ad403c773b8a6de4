"""DynaMITEPPO: what DynaMITE-RL adds to sb3-contrib's RecurrentPPO."""

from __future__ import annotations

import io
import pathlib
import time
from typing import Any, ClassVar, TypeVar

import numpy as np
import torch as th
from sb3_contrib import RecurrentPPO
from stable_baselines3 import PPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.save_util import load_from_pkl, save_to_pkl
from stable_baselines3.common.type_aliases import GymEnv, MaybeCallback, Schedule
from stable_baselines3.common.vec_env import VecEnv, is_vecenv_wrapped

from sb3_dynamite.common.wrappers import VecPreviousActionReward, observation_normalizer
from sb3_dynamite.dynamite import losses
from sb3_dynamite.dynamite.buffers import BeliefRolloutBuffer, EpisodeBatch, EpisodeCollector, EpisodeStore
from sb3_dynamite.dynamite.policies import DynaMITEPolicy, MlpPolicy

SelfDynaMITEPPO = TypeVar("SelfDynaMITEPPO", bound="DynaMITEPPO")

#: the settings that turn DynaMITE-RL into VariBAD
VARIBAD_SWITCHES: dict[str, Any] = {
    "session_masking": False,
    "prior_conditioning": False,
    "consistency_coef": 0.0,
    "termination_coef": 0.0,
}


def _take(values: th.Tensor, index: th.Tensor) -> th.Tensor:
    """``values[b, index[b, ...]]`` for batch-major ``values`` (B, T, ...) and ``index`` (B, ...)."""
    flat = index.reshape(index.shape[0], -1)
    gathered = values.gather(1, flat.view(*flat.shape, *([1] * (values.dim() - 2))).expand(
        *flat.shape, *values.shape[2:]))
    return gathered.view(*index.shape, *values.shape[2:])


class DynaMITEPPO(RecurrentPPO):
    """
    DynaMITE-RL: A Dynamic Model for Improved Temporal Meta-Reinforcement Learning
    (Liang et al., NeurIPS 2024, https://arxiv.org/abs/2402.15957), on top of sb3-contrib's RecurrentPPO.

    A belief model (VariBAD-style VAE: GRU encoder over ``x_t = (s_t, a_{t-1}, r_{t-1})``, reward/state
    decoders) infers a hidden context that changes between *sessions* of a DLCMDP episode. DynaMITE-RL
    adds, each behind its own switch: session-masked reconstruction, a KL term with prior latent
    conditioning (a learned latent-dynamics prior at session boundaries), a session-consistency loss, and
    a session-termination head supervised with the env's ``info["session_end"]``. The policy reads
    ``[features(s_t), norm(mu_t, logvar_t, c_t)]``. Each iteration: collect a rollout (storing the GRU
    states the policy acted with), run the PPO epochs on flat minibatches (the GRU never re-runs when the
    encoder is detached), then ``n_vae_updates`` VAE steps on whole episodes from a FIFO store.

    The env is wrapped with :class:`~sb3_dynamite.common.wrappers.VecPreviousActionReward` so that the
    previous action and reward reach the policy through the observation: use ``model.get_env()`` to
    evaluate. An env without ``session_end`` labels trains as VariBAD (with a warning).

    :param policy: ``"MlpPolicy"`` or a :class:`DynaMITEPolicy` subclass.
    :param env: the environment (a gymnasium env, an env id or a VecEnv).
    :param learning_rate: actor-critic learning rate, or a schedule of the remaining progress.
    :param n_steps: steps per env per rollout (whole episodes help: see the README).
    :param batch_size: PPO minibatch size (transitions).
    :param n_epochs: PPO epochs per rollout.
    :param gamma: discount factor.
    :param gae_lambda: GAE lambda.
    :param clip_range: PPO clipping, or a schedule.
    :param clip_range_vf: value clipping (None: off), or a schedule.
    :param normalize_advantage: normalise advantages per minibatch.
    :param ent_coef: entropy coefficient.
    :param vf_coef: value-loss coefficient.
    :param max_grad_norm: gradient clipping of the PPO update.
    :param use_sde: generalized state-dependent exploration.
    :param sde_sample_freq: gSDE noise resampling period.
    :param target_kl: early-stopping KL of the PPO epochs (None: off).
    :param latent_dim: dimension of the latent ``m`` (the belief is ``(mu, logvar)`` of that size).
    :param kl_weight: weight of the KL term (applied to the reconstruction averaged per belief).
    :param session_masking: each belief reconstructs only transitions of its own session.
    :param prior_conditioning: at a session boundary the KL prior is the latent-dynamics prior of the
        previous session's final belief (else the previous belief, as VariBAD).
    :param consistency_coef: weight of the session-consistency loss (0: off, the default chosen by the ablation
        benchmark on GridWorld: 0.1 cost 16 return points there; see BENCHMARKS.md).
    :param termination_coef: weight of the termination BCE (0: off; then ``c_t`` is not a policy input).
    :param termination_input: feed ``c_t`` to the policy (with ``termination_coef > 0``). False trains the
        termination head without the policy reading it.
    :param termination_detach: the termination BCE trains only its head: the GRU outputs it reads are
        detached, so the loss cannot reshape the belief (the policy still reads ``c_t``).
    :param termination_bias_init: before the first VAE step, set the termination head's bias to the log-odds
        of the termination labels' rate in that step's batch (prior-probability initialisation), so the
        GRU does not have to learn the rarity of session changes itself.
    :param decode_state: also reconstruct next states (for latents that act on the dynamics).
    :param rl_loss_through_encoder: let the PPO loss train the encoder (slower: GRU re-run per minibatch).
    :param vae_learning_rate: Adam learning rate of the belief model.
    :param n_vae_updates: VAE gradient steps per PPO iteration.
    :param vae_batch_size: episodes per VAE step.
    :param vae_buffer_size: capacity (episodes) of the FIFO episode store.
    :param vae_store_raw: under a ``VecNormalize`` that normalises observations, store the episodes raw and
        normalise each VAE batch with the current statistics (otherwise every stored episode keeps the statistics
        of the rollout that collected it). No effect without observation normalisation.
    :param vae_subsample_elbos: beliefs per episode used in the reconstruction term (None: all).
    :param vae_subsample_decodes: decoded transitions per belief (None: all of its set). With the previous
        argument this caps the decoded pairs per episode at ``elbos * decodes``, whatever the horizon.
    :param vae_max_grad_norm: gradient clipping of the VAE step (None: off).
    :param stats_window_size: episodes averaged in the rollout logs.
    :param tensorboard_log: tensorboard log folder (None: no tensorboard).
    :param policy_kwargs: extra arguments of the policy (e.g. ``net_arch``, ``features_extractor_kwargs``).
    :param verbose: 0 silent, 1 info, 2 debug.
    :param seed: random seed.
    :param device: torch device ("auto": GPU if available).
    :param _init_setup_model: build the networks now.
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {"MlpPolicy": MlpPolicy}
    policy: DynaMITEPolicy
    rollout_buffer: BeliefRolloutBuffer

    def __init__(
        self,
        policy: str | type[DynaMITEPolicy],
        env: GymEnv | str,
        learning_rate: float | Schedule = 3e-4,
        n_steps: int = 2048,
        batch_size: int = 64,
        n_epochs: int = 10,
        gamma: float = 0.99,
        gae_lambda: float = 0.95,
        clip_range: float | Schedule = 0.2,
        clip_range_vf: float | Schedule | None = None,
        normalize_advantage: bool = True,
        ent_coef: float = 0.0,
        vf_coef: float = 0.5,
        max_grad_norm: float = 0.5,
        use_sde: bool = False,
        sde_sample_freq: int = -1,
        target_kl: float | None = None,
        latent_dim: int = 5,
        kl_weight: float = 0.1,
        session_masking: bool = True,
        prior_conditioning: bool = True,
        consistency_coef: float = 0.0,
        termination_coef: float = 1.0,
        termination_input: bool = True,
        termination_detach: bool = False,
        termination_bias_init: bool = False,
        decode_state: bool = False,
        rl_loss_through_encoder: bool = False,
        vae_learning_rate: float = 1e-3,
        n_vae_updates: int = 1,
        vae_batch_size: int = 16,
        vae_buffer_size: int = 1000,
        vae_store_raw: bool = False,
        vae_subsample_elbos: int | None = 50,
        vae_subsample_decodes: int | None = 50,
        vae_max_grad_norm: float | None = 1.0,
        stats_window_size: int = 100,
        tensorboard_log: str | None = None,
        policy_kwargs: dict[str, Any] | None = None,
        verbose: int = 0,
        seed: int | None = None,
        device: th.device | str = "auto",
        _init_setup_model: bool = True,
    ) -> None:
        self._check_hyperparameters(locals())
        policy_kwargs = dict(policy_kwargs or {})
        belief_kwargs = {"latent_dim": latent_dim, "use_termination": termination_coef > 0 and termination_input,
                         "decode_state": decode_state, "rl_loss_through_encoder": rl_loss_through_encoder}
        clash = sorted(set(policy_kwargs) & set(belief_kwargs))
        if clash:
            raise ValueError(f"pass {clash} to {type(self).__name__} itself, not in policy_kwargs")
        super().__init__(
            policy, env, learning_rate=learning_rate, n_steps=n_steps, batch_size=batch_size, n_epochs=n_epochs,
            gamma=gamma, gae_lambda=gae_lambda, clip_range=clip_range, clip_range_vf=clip_range_vf,
            normalize_advantage=normalize_advantage, ent_coef=ent_coef, vf_coef=vf_coef,
            max_grad_norm=max_grad_norm, use_sde=use_sde, sde_sample_freq=sde_sample_freq, target_kl=target_kl,
            stats_window_size=stats_window_size, tensorboard_log=tensorboard_log,
            policy_kwargs={**policy_kwargs, **belief_kwargs}, verbose=verbose, seed=seed, device=device,
            _init_setup_model=False,
        )
        self.latent_dim = latent_dim
        self.kl_weight = kl_weight
        self.session_masking = session_masking
        self.prior_conditioning = prior_conditioning
        self.consistency_coef = consistency_coef
        self.termination_coef = termination_coef
        self.termination_input = termination_input
        self.termination_detach = termination_detach
        self.termination_bias_init = termination_bias_init
        self._termination_bias_initialised = False
        self.decode_state = decode_state
        self.rl_loss_through_encoder = rl_loss_through_encoder
        self.vae_learning_rate = vae_learning_rate
        self.n_vae_updates = n_vae_updates
        self.vae_batch_size = vae_batch_size
        self.vae_buffer_size = vae_buffer_size
        self.vae_store_raw = vae_store_raw
        self.vae_subsample_elbos = vae_subsample_elbos
        self.vae_subsample_decodes = vae_subsample_decodes
        self.vae_max_grad_norm = vae_max_grad_norm
        self.vae_time = 0.0
        if _init_setup_model:
            self._setup_model()

    @staticmethod
    def _check_hyperparameters(arguments: dict[str, Any]) -> None:
        """Reject bad hyperparameters early, naming them."""
        if int(arguments["latent_dim"]) < 1:
            raise ValueError(f"latent_dim must be at least 1, got {arguments['latent_dim']}")
        for name in ("kl_weight", "consistency_coef", "termination_coef"):
            value = arguments[name]
            if not (np.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a non-negative number, got {value}")
        if not arguments["vae_learning_rate"] > 0:
            raise ValueError(f"vae_learning_rate must be positive, got {arguments['vae_learning_rate']}")
        for name, minimum in (("n_vae_updates", 0), ("vae_batch_size", 1), ("vae_buffer_size", 1)):
            if int(arguments[name]) < minimum:
                raise ValueError(f"{name} must be at least {minimum}, got {arguments[name]}")
        for name in ("vae_subsample_elbos", "vae_subsample_decodes"):
            if arguments[name] is not None and int(arguments[name]) < 1:
                raise ValueError(f"{name} must be None (no cap) or at least 1, got {arguments[name]}")

    @staticmethod
    def _wrap_env(env: GymEnv, verbose: int = 0, monitor_wrapper: bool = True) -> VecEnv:
        """SB3's wrapping, then the encoder input ``(s_t, a_{t-1}, r_{t-1})`` as the observation."""
        env = BaseAlgorithm._wrap_env(env, verbose, monitor_wrapper)
        if not is_vecenv_wrapped(env, VecPreviousActionReward):
            env = VecPreviousActionReward(env)
        return env

    def _setup_model(self) -> None:
        super()._setup_model()
        recurrent = self.rollout_buffer
        self.rollout_buffer = BeliefRolloutBuffer(
            self.n_steps, self.observation_space, self.action_space, recurrent.hidden_state_shape, self.device,
            gamma=self.gamma, gae_lambda=self.gae_lambda, n_envs=self.n_envs,
        )
        self.vae_optimizer = th.optim.Adam(self.policy.belief_parameters(), lr=self.vae_learning_rate)
        self.episode_store = EpisodeStore(self.vae_buffer_size)
        self._collector = EpisodeCollector(self.episode_store, raw=self.vae_store_raw)

    def _init_callback(self, callback: MaybeCallback, progress_bar: bool = False) -> BaseCallback:
        """The user's callbacks, preceded by the internal collector of complete episodes."""
        callback = super()._init_callback(callback, progress_bar)
        callbacks = CallbackList([self._collector, callback])
        callbacks.init_callback(self)
        return callbacks

    @property
    def has_session_labels(self) -> bool:
        """False once the env was seen without ``info["session_end"]`` (then training is VariBAD's)."""
        return self._collector.has_session_labels

    def train(self) -> None:
        """PPO epochs on the rollout, then the belief model's update (VariBAD's order)."""
        observations, previous_hidden, episode_starts = (
            th.as_tensor(array, device=self.device) for array in self.rollout_buffer.step_inputs()
        )
        with th.no_grad():
            policy_inputs, raw_beliefs = self.policy.encode_step(observations, previous_hidden, episode_starts)
        if self.policy.rl_loss_through_encoder:
            super().train()  # sb3-contrib's update: the GRU re-runs over each minibatch's sequences
        else:
            recurrent = self.rollout_buffer
            self.rollout_buffer = recurrent.flat_view(policy_inputs.cpu().numpy())
            try:
                PPO.train(self)  # SB3's PPO update on flat minibatches of stored policy inputs
            finally:
                self.rollout_buffer = recurrent
        self._check_finite(self.policy.parameters(), "the policy parameters after the PPO update")
        self.policy.belief_normalizer.update(raw_beliefs)
        self._train_belief_model()

    @staticmethod
    def _check_finite(parameters: Any, what: str) -> None:
        if not all(bool(th.isfinite(p).all()) for p in parameters):
            raise ValueError(
                f"{what} contain NaN/inf: stopping instead of training on it. Lower the learning rates, "
                "clip or normalise the rewards (e.g. VecNormalize), or check the env for non-finite values."
            )

    def _train_belief_model(self) -> None:
        """``n_vae_updates`` steps of the belief model on batches of whole episodes."""
        if len(self.episode_store) == 0 or self.n_vae_updates == 0:
            return
        start = time.perf_counter()
        self.policy.set_training_mode(True)
        logs: dict[str, list[float]] = {}
        for _ in range(self.n_vae_updates):
            batch = self.sample_vae_batch()
            if self.termination_bias_init and self.termination_coef > 0 and not self._termination_bias_initialised:
                self.initialise_termination_bias(batch)
            terms = self.belief_losses(batch)
            total = terms["loss"]
            if not bool(th.isfinite(total)):
                values = {name: float(value) for name, value in terms.items()}
                raise ValueError(f"non-finite belief-model loss {values}: stopping instead of training on NaN. "
                                 "Lower vae_learning_rate or kl_weight, or normalise the rewards.")
            self.vae_optimizer.zero_grad()
            total.backward()
            if self.vae_max_grad_norm is not None:
                th.nn.utils.clip_grad_norm_(self.policy.belief_parameters(), self.vae_max_grad_norm)
            self.vae_optimizer.step()
            self.vae_optimizer.zero_grad(set_to_none=True)  # no stale gradients in the PPO clipping norm
            for name, value in terms.items():
                logs.setdefault(name, []).append(value.item())
        for name, values in logs.items():
            self.logger.record(f"vae/{name}", float(np.mean(values)))
        self.logger.record("vae/episodes_stored", len(self.episode_store))
        self.vae_time += time.perf_counter() - start
        self.logger.record("time/vae_seconds", self.vae_time)

    def sample_vae_batch(self) -> EpisodeBatch:
        """``vae_batch_size`` stored episodes as the encoder reads them today: raw episodes (``vae_store_raw``)
        go through the current observation normalisation."""
        normalizer = observation_normalizer(self) if self.vae_store_raw else None
        transform = None if normalizer is None else normalizer.normalize_obs
        return self.episode_store.sample(self.vae_batch_size, self.device, transform)

    def _sessions(self, batch: EpisodeBatch) -> losses.Sessions:
        """The batch's session structure from the env's labels (one session per episode without labels)."""
        return losses.session_indices(batch.session_end & self.has_session_labels, batch.valid_transitions)

    @th.no_grad()
    def initialise_termination_bias(self, batch: EpisodeBatch) -> float:
        """Set the termination head's bias to ``logit(rate)``, the rate of session starts ``y_t`` among the
        batch's beliefs (clamped to [1e-3, 0.5]); returns the rate. Done once per model (saved with it)."""
        sessions = self._sessions(batch)
        labels = losses.termination_labels(batch.session_end, sessions)
        rate = float(losses.masked_mean(labels, sessions.valid_beliefs).clamp(1e-3, 0.5))
        self.policy.features_extractor.termination.bias.fill_(float(np.log(rate / (1.0 - rate))))
        self._termination_bias_initialised = True
        return rate

    def belief_losses(self, batch: EpisodeBatch) -> dict[str, th.Tensor]:
        """The belief model's losses on a batch of whole episodes (SPEC §3.2):
        ``recon + kl_weight * KL + consistency_coef * L_cons + termination_coef * BCE``."""
        encoder = self.policy.features_extractor
        mu, logvar, termination_logits = (
            value.transpose(0, 1) for value in encoder.encode_episodes(
                batch.observations.transpose(0, 1), detach_termination=self.termination_detach)
        )
        labelled = self.has_session_labels
        sessions = self._sessions(batch)
        terms = {"reconstruction": self._reconstruction(batch, mu, logvar, sessions)}
        prior = self.policy.latent_prior if self.prior_conditioning else None
        terms["kl"] = losses.kl_loss(mu, logvar, sessions, prior)
        total = terms["reconstruction"] + self.kl_weight * terms["kl"]
        if self.consistency_coef > 0 and labelled:
            terms["consistency"] = losses.consistency_loss(mu, logvar, sessions)
            total = total + self.consistency_coef * terms["consistency"]
        if self.termination_coef > 0:
            terms["termination_bce"], terms["termination_accuracy"] = losses.termination_loss(
                termination_logits, batch.session_end, sessions)
            total = total + self.termination_coef * terms["termination_bce"]
        terms["loss"] = total
        return terms

    def _reconstruction(self, batch: EpisodeBatch, mu: th.Tensor, logvar: th.Tensor,
                        sessions: losses.Sessions) -> th.Tensor:
        """Reward (and state) NLL of the decoded pairs, each belief decoding through one sample ``z``."""
        encoder = self.policy.features_extractor
        pairs = losses.decode_pairs(sessions, self.session_masking and self.has_session_labels,
                                    self.vae_subsample_elbos, self.vae_subsample_decodes)
        z_mu, z_logvar = _take(mu, pairs.belief), _take(logvar, pairs.belief)
        z = z_mu + th.randn_like(z_mu) * (0.5 * z_logvar).exp()  # (B, K, L)
        z = z.unsqueeze(2).expand(*pairs.target.shape, z.shape[-1])  # (B, K, M, L)
        states, actions, rewards = encoder.split(batch.observations)
        state = _take(states[:, :-1], pairs.target)
        action = _take(actions[:, 1:], pairs.target)
        next_state = _take(states[:, 1:], pairs.target)
        reward = _take(rewards[:, 1:, 0], pairs.target)
        nll = (self.policy.reward_decoder(state, action, next_state, z) - reward) ** 2
        if self.policy.state_decoder is not None:
            nll = nll + ((self.policy.state_decoder(state, action, z) - next_state) ** 2).mean(-1)
        return losses.reconstruction_loss(nll, pairs)

    def learn(
        self: SelfDynaMITEPPO,
        total_timesteps: int,
        callback: MaybeCallback = None,
        log_interval: int = 1,
        tb_log_name: str = "DynaMITEPPO",
        reset_num_timesteps: bool = True,
        progress_bar: bool = False,
    ) -> SelfDynaMITEPPO:
        return super().learn(total_timesteps, callback, log_interval, tb_log_name, reset_num_timesteps, progress_bar)

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), "episode_store", "_collector"]

    def save_episode_store(self, path: str | pathlib.Path | io.BufferedIOBase) -> None:
        """Save the belief model's store of complete episodes (left out of :meth:`save`, as SB3 leaves out
        the replay buffer), so that training resumed from a checkpoint does not start it empty."""
        save_to_pkl(path, self.episode_store, self.verbose)

    def load_episode_store(self, path: str | pathlib.Path | io.BufferedIOBase) -> None:
        """Load a store saved by :meth:`save_episode_store`; it keeps the capacity it was saved with."""
        store = load_from_pkl(path, self.verbose)
        if not isinstance(store, EpisodeStore):
            raise TypeError(f"{path} holds a {type(store).__name__}, not an EpisodeStore: "
                            "save it with save_episode_store")
        self.episode_store = self._collector.store = store

    def _get_torch_save_params(self) -> tuple[list[str], list[str]]:
        state_dicts, variables = super()._get_torch_save_params()
        return [*state_dicts, "vae_optimizer"], variables


class VariBADPPO(DynaMITEPPO):
    """VariBAD (Zintgraf et al., ICLR 2020) as the same class with DynaMITE-RL's modifications switched off:
    no session masking, no prior conditioning, no consistency loss, no termination head. Takes every
    other argument of :class:`DynaMITEPPO`."""

    def __init__(self, policy: str | type[DynaMITEPolicy], env: GymEnv | str, **kwargs: Any) -> None:
        wrong = {name: kwargs[name] for name, value in VARIBAD_SWITCHES.items() if kwargs.get(name, value) != value}
        if wrong:
            raise ValueError(f"VariBADPPO fixes {VARIBAD_SWITCHES}; use DynaMITEPPO to change {sorted(wrong)}")
        super().__init__(policy, env, **{**kwargs, **VARIBAD_SWITCHES})

    def learn(self, total_timesteps: int, callback: MaybeCallback = None, log_interval: int = 1,
              tb_log_name: str = "VariBADPPO", reset_num_timesteps: bool = True, progress_bar: bool = False):
        return super().learn(total_timesteps, callback, log_interval, tb_log_name, reset_num_timesteps, progress_bar)
