"""DynaMITE-RL's actor-critic: the policy and critic read ``[features(s_t), norm(mu_t, logvar_t, c_t)]``."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch as th
from gymnasium import spaces
from sb3_contrib.common.recurrent.policies import RecurrentActorCriticPolicy
from sb3_contrib.common.recurrent.type_aliases import RNNStates
from stable_baselines3.common.distributions import Distribution
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.torch_layers import MlpExtractor
from stable_baselines3.common.type_aliases import Schedule
from torch import nn

from sb3_dynamite.common.recurrent import recurrent_sequences
from sb3_dynamite.common.wrappers import action_encoding_dim
from sb3_dynamite.dynamite.belief import (
    BeliefEncoder,
    BeliefNormalizer,
    LatentDynamicsPrior,
    RewardDecoder,
    StateDecoder,
)


class DynaMITEPolicy(RecurrentActorCriticPolicy):
    """Actor-critic on top of a belief model; the recurrent state of ``predict`` is the encoder's GRU state.

    The belief network lives in the features extractor (:class:`BeliefEncoder`); the decoders and the
    latent-dynamics prior are trained only by the VAE losses (the algorithm's own optimizer). By default
    no RL gradient reaches the encoder (VariBAD's default); ``rl_loss_through_encoder=True`` allows it.

    :param observation_space: wrapped observation space ``[s_t, a_{t-1}, r_{t-1}]``.
    :param action_space: Discrete or Box action space.
    :param lr_schedule: learning-rate schedule of the actor-critic optimizer.
    :param net_arch: actor/critic MLP layers (SB3's format).
    :param activation_fn: activation of the actor/critic MLPs.
    :param ortho_init: orthogonal initialisation, as SB3.
    :param use_sde: generalized state-dependent exploration, as SB3.
    :param log_std_init: initial log standard deviation of Gaussian actions.
    :param full_std: gSDE option, as SB3.
    :param use_expln: gSDE option, as SB3.
    :param squash_output: tanh-squash the actions (gSDE), as SB3.
    :param features_extractor_class: a :class:`BeliefEncoder` (sub)class hosting the inference network.
    :param features_extractor_kwargs: encoder sizes (``gru_hidden_size``, ``*_embed_dim``, ``logvar_min``).
    :param share_features_extractor: must be True (one belief feeds actor and critic).
    :param normalize_images: unused (flat observations only), kept for SB3 compatibility.
    :param optimizer_class: optimizer of the actor-critic.
    :param optimizer_kwargs: its keyword arguments.
    :param latent_dim: dimension of the latent ``m``.
    :param use_termination: add the termination probability ``c_t`` to the policy input.
    :param decode_state: build the state decoder ``p(s_{j+1} | s_j, a_j, z)``.
    :param rl_loss_through_encoder: let the PPO loss train the encoder too (slow path: GRU re-run per batch).
    :param decoder_net_arch: hidden layers of the reward and state decoders.
    :param reward_decoder_input: what the reward decoder reads besides ``z``: ``"transition"``
        ``(s_j, a_j, s_{j+1})`` or ``"next_state"`` ``s_{j+1}`` only (VariBAD's GridWorld decoder).
    :param prior_net_arch: hidden layers of the latent-dynamics prior.
    :param belief_norm_momentum: weight of each new rollout in the belief normaliser's moving statistics.
    :param normalize_termination: standardise ``c_t`` with the rest of the belief (False: the policy reads
        the probability itself).
    :param belief_norm_drift: let the normaliser's variance include the shift of the belief's mean between
        rollouts (see :class:`BeliefNormalizer`).
    :param termination_zero_init: start the weights that read ``c_t`` (in the first layer of the actor and of
        the critic) at zero, so that the termination probability enters the policy only as PPO learns to use
        it; the other weights are drawn exactly as without the option.
    """

    def __init__(
        self,
        observation_space: spaces.Box,
        action_space: spaces.Space,
        lr_schedule: Schedule,
        net_arch: list[int] | dict[str, list[int]] | None = None,
        activation_fn: type[nn.Module] = nn.Tanh,
        ortho_init: bool = True,
        use_sde: bool = False,
        log_std_init: float = 0.0,
        full_std: bool = True,
        use_expln: bool = False,
        squash_output: bool = False,
        features_extractor_class: type[BeliefEncoder] = BeliefEncoder,
        features_extractor_kwargs: dict[str, Any] | None = None,
        share_features_extractor: bool = True,
        normalize_images: bool = True,
        optimizer_class: type[th.optim.Optimizer] = th.optim.Adam,
        optimizer_kwargs: dict[str, Any] | None = None,
        latent_dim: int = 5,
        use_termination: bool = True,
        decode_state: bool = False,
        rl_loss_through_encoder: bool = False,
        decoder_net_arch: list[int] | None = None,
        reward_decoder_input: str = "transition",
        prior_net_arch: list[int] | None = None,
        belief_norm_momentum: float = 0.1,
        normalize_termination: bool = True,
        belief_norm_drift: bool = False,
        termination_zero_init: bool = False,
    ) -> None:
        if not (isinstance(features_extractor_class, type) and issubclass(features_extractor_class, BeliefEncoder)):
            raise ValueError(
                f"features_extractor_class must be a BeliefEncoder subclass, got {features_extractor_class}"
            )
        if not share_features_extractor:
            raise ValueError("share_features_extractor=False is not supported: one belief feeds actor and critic")
        if int(latent_dim) < 1:
            raise ValueError(f"latent_dim must be at least 1, got {latent_dim}")
        self.latent_dim = int(latent_dim)
        self.use_termination = bool(use_termination)
        self.decode_state = bool(decode_state)
        self.rl_loss_through_encoder = bool(rl_loss_through_encoder)
        self.decoder_net_arch = list(decoder_net_arch or [64, 32])
        self.reward_decoder_input = reward_decoder_input
        self.prior_net_arch = list(prior_net_arch or [32])
        self.belief_norm_momentum = belief_norm_momentum
        self.normalize_termination = bool(normalize_termination)
        self.belief_norm_drift = bool(belief_norm_drift)
        self.termination_zero_init = bool(termination_zero_init)
        if self.termination_zero_init and not self.use_termination:
            raise ValueError("termination_zero_init=True needs c_t in the policy input (use_termination=True)")
        self.belief_dim = 2 * self.latent_dim + int(self.use_termination)
        action_dim = action_encoding_dim(action_space)
        features_extractor_kwargs = {**(features_extractor_kwargs or {}), "action_dim": action_dim,
                                     "latent_dim": self.latent_dim}
        # skip RecurrentActorCriticPolicy.__init__ (it builds LSTMs); the GRU lives in the belief encoder
        ActorCriticPolicy.__init__(
            self, observation_space, action_space, lr_schedule, net_arch, activation_fn, ortho_init, use_sde,
            log_std_init, full_std, use_expln, squash_output, features_extractor_class, features_extractor_kwargs,
            share_features_extractor, normalize_images, optimizer_class, optimizer_kwargs,
        )
        encoder: BeliefEncoder = self.features_extractor
        self.shared_lstm, self.enable_critic_lstm, self.lstm_critic, self.critic = True, False, None, None
        self.lstm_kwargs: dict[str, Any] = {}
        self.lstm_output_dim = encoder.gru.hidden_size
        self.lstm_hidden_state_shape = (encoder.gru.num_layers, 1, encoder.gru.hidden_size)
        state_dim = encoder.state_dim
        self.reward_decoder = RewardDecoder(state_dim, action_dim, self.latent_dim, self.decoder_net_arch,
                                            inputs=reward_decoder_input)
        self.state_decoder = (
            StateDecoder(state_dim, action_dim, self.latent_dim, self.decoder_net_arch) if self.decode_state else None
        )
        self.latent_prior = LatentDynamicsPrior(self.latent_dim, self.prior_net_arch, encoder.logvar_min)
        passthrough = int(self.use_termination and not self.normalize_termination)
        self.belief_normalizer = BeliefNormalizer(self.belief_dim, momentum=belief_norm_momentum,
                                                  passthrough=passthrough, include_drift=self.belief_norm_drift)
        if self.termination_zero_init:
            self._zero_termination_weights()
        self.optimizer = self.optimizer_class(
            self.actor_critic_parameters(), lr=lr_schedule(1), **self.optimizer_kwargs
        )

    @th.no_grad()
    def _zero_termination_weights(self) -> None:
        """Zero the input weights of ``c_t`` (the last policy input) in the first layer of actor and critic
        (the action or value head itself where ``net_arch`` has no hidden layer)."""
        for net, head in ((self.mlp_extractor.policy_net, self.action_net), (self.mlp_extractor.value_net,
                                                                              self.value_net)):
            first = next((module for module in net.modules() if isinstance(module, nn.Linear)), head)
            first.weight[:, -1] = 0.0

    @property
    def lstm_actor(self) -> nn.GRU:
        """The recurrent module, under the name sb3-contrib's RecurrentPPO expects."""
        return self.features_extractor.gru

    def belief_parameters(self) -> list[nn.Parameter]:
        """Parameters of the belief model (encoder, decoders, latent-dynamics prior): the VAE optimizer's."""
        modules = [self.features_extractor, self.reward_decoder, self.latent_prior, self.state_decoder]
        return [p for module in modules if module is not None for p in module.parameters()]

    def actor_critic_parameters(self) -> list[nn.Parameter]:
        """Parameters trained by the PPO loss (the encoder only with ``rl_loss_through_encoder``)."""
        belief = {id(p) for p in self.belief_parameters()}
        encoder = {id(p) for p in self.features_extractor.parameters()}
        return [p for p in self.parameters()
                if id(p) not in belief or (self.rl_loss_through_encoder and id(p) in encoder)]

    def _build_mlp_extractor(self) -> None:
        self.mlp_extractor = MlpExtractor(
            self.features_dim + self.belief_dim, net_arch=self.net_arch, activation_fn=self.activation_fn,
            device=self.device,
        )

    @staticmethod
    def _process_sequence(
        features: th.Tensor, lstm_states: tuple[th.Tensor, th.Tensor], episode_starts: th.Tensor, lstm: nn.GRU
    ) -> tuple[th.Tensor, tuple[th.Tensor, th.Tensor]]:
        """GRU over flat padded sequences, resetting at episode starts only (never at session boundaries), in one
        call per minibatch (:func:`~sb3_dynamite.common.recurrent.recurrent_sequences`). ``lstm_states`` keeps
        sb3-contrib's ``(h, c)`` layout; both slots carry the GRU state ``h``."""
        output, hidden = recurrent_sequences(features, lstm_states[0], episode_starts, lstm)
        return output, (hidden, hidden)

    def raw_belief(self, hidden: th.Tensor) -> th.Tensor:
        """Belief features ``[mu_t, logvar_t, c_t]`` (before normalisation) from GRU outputs."""
        mu, logvar, termination_logit = self.features_extractor.heads(hidden)
        parts = [mu, logvar] + ([th.sigmoid(termination_logit).unsqueeze(-1)] if self.use_termination else [])
        return th.cat(parts, dim=-1)

    def policy_input(self, obs: th.Tensor, raw_belief: th.Tensor) -> th.Tensor:
        """``[features(s_t), norm(belief)]``; the belief is detached unless ``rl_loss_through_encoder``."""
        if not self.rl_loss_through_encoder:
            raw_belief = raw_belief.detach()
        return th.cat([self.features_extractor(obs), self.belief_normalizer(raw_belief)], dim=-1)

    def encode(
        self, obs: th.Tensor, rnn_states: tuple[th.Tensor, th.Tensor], episode_starts: th.Tensor
    ) -> tuple[th.Tensor, th.Tensor, tuple[th.Tensor, th.Tensor]]:
        """Run the encoder: returns the policy input, the raw belief and the new recurrent state."""
        obs = obs.float()
        hidden, rnn_states = self._process_sequence(
            self.features_extractor.embed(obs), rnn_states, episode_starts, self.lstm_actor
        )
        raw_belief = self.raw_belief(hidden)
        return self.policy_input(obs, raw_belief), raw_belief, rnn_states

    def encode_step(self, obs: th.Tensor, previous_hidden: th.Tensor, episode_starts: th.Tensor
                    ) -> tuple[th.Tensor, th.Tensor]:
        """Policy inputs and raw beliefs of N independent steps, each from its stored previous GRU state
        ``(n_layers, N, hidden)``: how the fast path rebuilds a rollout's inputs without re-running sequences."""
        hidden = previous_hidden * (1.0 - episode_starts.float()).view(1, -1, 1)
        obs = obs.float()
        output, _ = self.lstm_actor(self.features_extractor.embed(obs).unsqueeze(0), hidden)
        raw_belief = self.raw_belief(output.squeeze(0))
        return self.policy_input(obs, raw_belief), raw_belief

    def _heads(self, policy_input: th.Tensor) -> tuple[Distribution, th.Tensor]:
        latent_pi, latent_vf = self.mlp_extractor(policy_input)
        return self._get_action_dist_from_latent(latent_pi), self.value_net(latent_vf)

    def forward(
        self, obs: th.Tensor, lstm_states: RNNStates, episode_starts: th.Tensor, deterministic: bool = False
    ) -> tuple[th.Tensor, th.Tensor, th.Tensor, RNNStates]:
        policy_input, _, states = self.encode(obs, lstm_states.pi, episode_starts)
        distribution, values = self._heads(policy_input)
        actions = distribution.get_actions(deterministic=deterministic)
        log_prob = distribution.log_prob(actions)
        actions = actions.reshape((-1, *self.action_space.shape))
        return actions, values, log_prob, RNNStates(states, states)

    def get_distribution(
        self, obs: th.Tensor, lstm_states: tuple[th.Tensor, th.Tensor], episode_starts: th.Tensor
    ) -> tuple[Distribution, tuple[th.Tensor, ...]]:
        policy_input, _, states = self.encode(obs, lstm_states, episode_starts)
        latent_pi = self.mlp_extractor.forward_actor(policy_input)
        return self._get_action_dist_from_latent(latent_pi), states

    def predict_values(
        self, obs: th.Tensor, lstm_states: tuple[th.Tensor, th.Tensor], episode_starts: th.Tensor
    ) -> th.Tensor:
        policy_input, _, _ = self.encode(obs, lstm_states, episode_starts)
        return self.value_net(self.mlp_extractor.forward_critic(policy_input))

    def evaluate_actions(
        self,
        obs: th.Tensor,
        actions: th.Tensor,
        lstm_states: RNNStates | None = None,
        episode_starts: th.Tensor | None = None,
    ) -> tuple[th.Tensor, th.Tensor, th.Tensor]:
        """Values, log-probabilities and entropy. Without ``lstm_states`` (the fast path) ``obs`` holds the
        stored policy inputs ``[features(s_t), norm(belief_t)]`` of a flat minibatch; with them (the
        ``rl_loss_through_encoder`` path) the GRU re-runs over the minibatch's sequences."""
        policy_input = obs if lstm_states is None else self.encode(obs, lstm_states.pi, episode_starts)[0]
        distribution, values = self._heads(policy_input)
        return values, distribution.log_prob(actions), distribution.entropy()

    def obs_to_tensor(self, observation: np.ndarray | dict[str, np.ndarray]) -> tuple[th.Tensor, bool]:
        try:
            return super().obs_to_tensor(observation)
        except ValueError as error:
            raise ValueError(
                f"{error}\nDynaMITE-RL observes x_t = (s_t, a_(t-1), r_(t-1)): step the env returned by "
                "model.get_env(), or wrap yours with sb3_dynamite.common.wrappers.VecPreviousActionReward."
            ) from error

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data["features_extractor_kwargs"] = {
            k: v for k, v in self.features_extractor_kwargs.items() if k not in ("action_dim", "latent_dim")
        }
        data.update(
            latent_dim=self.latent_dim,
            use_termination=self.use_termination,
            decode_state=self.decode_state,
            rl_loss_through_encoder=self.rl_loss_through_encoder,
            decoder_net_arch=self.decoder_net_arch,
            reward_decoder_input=self.reward_decoder_input,
            prior_net_arch=self.prior_net_arch,
            belief_norm_momentum=self.belief_norm_momentum,
            normalize_termination=self.normalize_termination,
            belief_norm_drift=self.belief_norm_drift,
            termination_zero_init=self.termination_zero_init,
        )
        return data


MlpPolicy = DynaMITEPolicy
