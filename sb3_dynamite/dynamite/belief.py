"""The belief model of DynaMITE-RL (a VariBAD-style VAE with a session-termination head).

- :class:`BeliefEncoder`, a features extractor that hosts the inference network: embeddings of
  ``x_t = (s_t, a_{t-1}, r_{t-1})``, a GRU over the whole episode (not reset at session boundaries: the
  agent does not observe them), the posterior head ``b_t = (mu_t, logvar_t)`` and the termination head
  ``c_t``. Its ``forward`` returns ``features(s_t)``, the state part of the policy input (or all of
  ``x_t`` with ``pass_action_reward_to_policy``).
- :class:`RewardDecoder` ``p(r_j | s_j, a_j, s_{j+1}, z)`` and :class:`StateDecoder`
  ``p(s_{j+1} | s_j, a_j, z)`` (Gaussian, i.e. squared error).
- :class:`LatentDynamicsPrior` ``f(b) -> (mu', logvar')``: the prior of a new session given the previous
  session's final belief (prior latent conditioning; it learns ``T_m``).
- :class:`BeliefNormalizer`: running statistics of the belief features fed to the policy.
"""

from __future__ import annotations

import gymnasium as gym
import torch as th
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor, create_mlp
from torch import nn
from torch.nn import functional as F


def soft_floor(raw_logvar: th.Tensor, logvar_min: float) -> th.Tensor:
    """``logvar`` bounded from below by ``logvar_min`` (smoothly, so gradients never vanish)."""
    return logvar_min + F.softplus(raw_logvar - logvar_min)


class BeliefEncoder(BaseFeaturesExtractor):
    """Inference network ``q(m_t, d_t | tau_{:t})`` hosted as an SB3 features extractor.

    The observation is ``[s_t, a_{t-1}, r_{t-1}]`` (see ``VecPreviousActionReward``). ``forward`` returns
    ``s_t`` (the policy's state features; the whole observation with ``pass_action_reward_to_policy``);
    :meth:`embed`, the GRU and :meth:`heads` give the belief. The
    recurrence itself is driven by the policy (``_process_sequence``) during rollouts and by
    :meth:`encode_episodes` for the VAE: both see exactly the same inputs.

    :param observation_space: the wrapped observation space.
    :param action_dim: size of the encoded action inside the observation.
    :param latent_dim: dimension of the latent ``m``.
    :param gru_hidden_size: GRU units.
    :param n_gru_layers: stacked GRU layers.
    :param state_embed_dim: size of the state embedding.
    :param action_embed_dim: size of the action embedding (0: the action is not encoded).
    :param reward_embed_dim: size of the reward embedding.
    :param logvar_min: floor of the posterior log-variance (keeps KL-based terms well conditioned).
    :param pass_action_reward_to_policy: the policy reads ``a_{t-1}`` and ``r_{t-1}`` besides ``s_t`` (as RL^2's
        recurrent policy does); by default only ``s_t`` and the belief, as in VariBAD.
    """

    def __init__(
        self,
        observation_space: gym.spaces.Box,
        action_dim: int,
        latent_dim: int = 5,
        gru_hidden_size: int = 64,
        n_gru_layers: int = 1,
        state_embed_dim: int = 16,
        action_embed_dim: int = 16,
        reward_embed_dim: int = 16,
        logvar_min: float = -6.0,
        pass_action_reward_to_policy: bool = False,
    ) -> None:
        self.state_dim = int(observation_space.shape[0]) - action_dim - 1
        if self.state_dim < 1:
            raise ValueError(f"observation {observation_space} is too small to hold (s, a_prev, r_prev)")
        self.pass_action_reward_to_policy = bool(pass_action_reward_to_policy)
        features_dim = int(observation_space.shape[0]) if self.pass_action_reward_to_policy else self.state_dim
        super().__init__(observation_space, features_dim=features_dim)
        self.action_dim = action_dim
        self.latent_dim = latent_dim
        self.logvar_min = logvar_min
        self.state_embed = nn.Sequential(nn.Linear(self.state_dim, state_embed_dim), nn.ReLU())
        self.action_embed = (
            nn.Sequential(nn.Linear(action_dim, action_embed_dim), nn.ReLU()) if action_embed_dim > 0 else None
        )
        self.reward_embed = nn.Sequential(nn.Linear(1, reward_embed_dim), nn.ReLU())
        self.gru = nn.GRU(state_embed_dim + action_embed_dim + reward_embed_dim, gru_hidden_size, n_gru_layers)
        self.posterior = nn.Linear(gru_hidden_size, 2 * latent_dim)
        self.termination = nn.Linear(gru_hidden_size, 1)

    def forward(self, observations: th.Tensor) -> th.Tensor:
        """``features(s_t)``: the state part of the observation (all of it with ``pass_action_reward_to_policy``)."""
        return observations if self.pass_action_reward_to_policy else observations[..., : self.state_dim]

    def split(self, observations: th.Tensor) -> tuple[th.Tensor, th.Tensor, th.Tensor]:
        """``(s_t, a_{t-1}, r_{t-1})`` of a batch of wrapped observations."""
        s = self.state_dim
        return observations[..., :s], observations[..., s : s + self.action_dim], observations[..., -1:]

    def embed(self, observations: th.Tensor) -> th.Tensor:
        """The GRU input ``emb(x_t)``."""
        state, action, reward = self.split(observations)
        parts = [self.state_embed(state)]
        if self.action_embed is not None:
            parts.append(self.action_embed(action))
        parts.append(self.reward_embed(reward))
        return th.cat(parts, dim=-1)

    def heads(self, hidden: th.Tensor, detach_termination: bool = False) -> tuple[th.Tensor, th.Tensor, th.Tensor]:
        """Posterior ``(mu_t, logvar_t)`` and termination logit from GRU outputs ``h_t`` (the termination
        head reads ``h_t`` detached with ``detach_termination``: its loss then trains the head only)."""
        mu, raw_logvar = self.posterior(hidden).chunk(2, dim=-1)
        termination = self.termination(hidden.detach() if detach_termination else hidden).squeeze(-1)
        return mu, soft_floor(raw_logvar, self.logvar_min), termination

    def encode_episodes(
        self, observations: th.Tensor, detach_termination: bool = False
    ) -> tuple[th.Tensor, th.Tensor, th.Tensor]:
        """Beliefs of whole episodes from a zero hidden state.

        :param observations: (T + 1, B, obs_dim) wrapped observations ``x_0 .. x_T`` (time-major).
        :param detach_termination: see :meth:`heads`.
        :return: ``mu``, ``logvar`` (T + 1, B, latent_dim) and termination logits (T + 1, B).
        """
        hidden, _ = self.gru(self.embed(observations))
        return self.heads(hidden, detach_termination)


def _mlp(input_dim: int, output_dim: int, net_arch: list[int]) -> nn.Sequential:
    return nn.Sequential(*create_mlp(input_dim, output_dim, net_arch, activation_fn=nn.ReLU))


REWARD_DECODER_INPUTS = ("transition", "next_state")


class RewardDecoder(nn.Module):
    """``p(r_j | s_j, a_j, s_{j+1}, z)``: a Gaussian with unit variance (its NLL is the squared error).

    With ``inputs="next_state"`` it reads ``(s_{j+1}, z)`` only, as VariBAD's GridWorld decoder (which has
    no previous state or action): the reward of a cell must then come from the belief, not from the action
    the policy chose there (see BENCHMARKS.md, GridWorld with hidden goal cells).
    """

    def __init__(self, state_dim: int, action_dim: int, latent_dim: int, net_arch: list[int],
                 inputs: str = "transition") -> None:
        super().__init__()
        if inputs not in REWARD_DECODER_INPUTS:
            raise ValueError(f"reward_decoder_input must be one of {REWARD_DECODER_INPUTS}, got {inputs!r}")
        self.inputs = inputs
        n_inputs = 2 * state_dim + action_dim if inputs == "transition" else state_dim
        self.net = _mlp(n_inputs + latent_dim, 1, net_arch)

    def forward(self, state: th.Tensor, action: th.Tensor, next_state: th.Tensor, z: th.Tensor) -> th.Tensor:
        parts = [state, action, next_state, z] if self.inputs == "transition" else [next_state, z]
        return self.net(th.cat(parts, dim=-1)).squeeze(-1)


class StateDecoder(nn.Module):
    """``p(s_{j+1} | s_j, a_j, z)``: predicts the state change ``s_{j+1} - s_j`` (unit-variance Gaussian)."""

    def __init__(self, state_dim: int, action_dim: int, latent_dim: int, net_arch: list[int]) -> None:
        super().__init__()
        self.net = _mlp(state_dim + action_dim + latent_dim, state_dim, net_arch)

    def forward(self, state: th.Tensor, action: th.Tensor, z: th.Tensor) -> th.Tensor:
        return state + self.net(th.cat([state, action, z], dim=-1))


class LatentDynamicsPrior(nn.Module):
    """``f(mu, logvar) -> (mu', logvar')``: the prior over a new session's latent given the previous
    session's final belief (DynaMITE-RL's prior latent conditioning; it learns ``T_m``)."""

    def __init__(self, latent_dim: int, net_arch: list[int], logvar_min: float) -> None:
        super().__init__()
        self.net = _mlp(2 * latent_dim, 2 * latent_dim, net_arch)
        self.logvar_min = logvar_min

    def forward(self, mu: th.Tensor, logvar: th.Tensor) -> tuple[th.Tensor, th.Tensor]:
        next_mu, raw_logvar = self.net(th.cat([mu, logvar], dim=-1)).chunk(2, dim=-1)
        return next_mu, soft_floor(raw_logvar, self.logvar_min)


class BeliefNormalizer(nn.Module):
    """Normalises the belief features ``(mu, logvar, c)`` before the policy reads them.

    Beliefs are far from centred and their scale moves as the encoder learns; without normalisation the
    policy barely uses them. The statistics are an exponential moving average over rollouts (the first
    rollout sets them, each later one moves them by ``momentum``), frozen between a rollout and its PPO
    epochs so that stored log-probabilities stay valid. They are buffers, saved with the policy.

    The last ``passthrough`` features are returned as they are: the termination probability ``c_t`` is
    already in [0, 1], and its standard deviation is small (it is near 0 except at session changes), so
    standardising it magnifies small shifts of its mean many times.

    With ``include_drift`` the variance is that of the mixture of the old statistics and the rollout's,
    ``(1 - w) var + w var_batch + w (1 - w) (mean_batch - mean)^2``, so that a belief whose mean moves
    between rollouts (as the encoder trains) widens the scale instead of leaving the policy inputs many
    standard deviations off centre. Without it, the variance follows the rollouts' own variances only.
    """

    def __init__(self, dim: int, momentum: float = 0.1, clip: float = 10.0, epsilon: float = 1e-8,
                 passthrough: int = 0, include_drift: bool = False) -> None:
        super().__init__()
        if not 0.0 < momentum <= 1.0:
            raise ValueError(f"belief_norm_momentum must be in (0, 1], got {momentum}")
        if not 0 <= passthrough <= dim:
            raise ValueError(f"passthrough must be in [0, {dim}], got {passthrough}")
        self.momentum, self.clip, self.epsilon = momentum, clip, epsilon
        self.n_normalized = dim - passthrough
        self.include_drift = include_drift
        self.register_buffer("mean", th.zeros(dim))
        self.register_buffer("var", th.ones(dim))
        self.register_buffer("initialized", th.zeros((), dtype=th.bool))

    @th.no_grad()
    def update(self, features: th.Tensor) -> None:
        """Move the statistics towards those of a rollout's raw belief features (N, dim)."""
        mean, var = features.mean(dim=0), features.var(dim=0, unbiased=False)
        weight = self.momentum if bool(self.initialized) else 1.0
        shift = mean - self.mean
        self.mean.lerp_(mean, weight)
        self.var.lerp_(var, weight)
        if self.include_drift:
            self.var.add_(weight * (1.0 - weight) * shift**2)
        self.initialized.fill_(True)

    def forward(self, features: th.Tensor) -> th.Tensor:
        normalized = ((features - self.mean) / th.sqrt(self.var + self.epsilon)).clamp(-self.clip, self.clip)
        if self.n_normalized == features.shape[-1]:
            return normalized
        return th.cat([normalized[..., : self.n_normalized], features[..., self.n_normalized :]], dim=-1)
