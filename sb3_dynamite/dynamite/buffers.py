"""Storage for DynaMITE-RL: the session-aware rollout buffer and the store of complete episodes.

- :class:`BeliefRolloutBuffer`: sb3-contrib's recurrent rollout buffer (it stores each step's previous GRU
  state) plus the *flat view* of the fast path: the rollout with its observations replaced by the policy
  inputs ``[features(s_t), norm(b_t)]`` the policy acted on, so the PPO epochs run on flat minibatches.
- :class:`EpisodeStore`: a FIFO of recent complete episodes (encoder inputs ``x_0 .. x_T`` and the
  ``session_end`` labels ``d_0 .. d_{T-1}``), the VAE's training data.
- :class:`EpisodeCollector`: an internal callback that assembles episodes from the rollout as it is
  collected (``collect_rollouts`` is not copied).
"""

from __future__ import annotations

import warnings
from collections import deque
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import torch as th
from gymnasium import spaces
from sb3_contrib.common.recurrent.buffers import RecurrentRolloutBuffer
from stable_baselines3.common.buffers import RolloutBuffer
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import VecNormalize

from sb3_dynamite.common.wrappers import observation_normalizer


class BeliefRolloutBuffer(RecurrentRolloutBuffer):
    """Recurrent rollout buffer with the flat view used by the fast (detached-encoder) PPO path."""

    def step_inputs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(x_t, h_{t-1}, episode_start_t)`` of every stored step, flattened step-major:
        shapes (N, obs_dim), (n_layers, N, hidden), (N,) with ``N = n_steps * n_envs``."""
        n_layers, hidden = self.hidden_states_pi.shape[1], self.hidden_states_pi.shape[3]
        previous_hidden = self.hidden_states_pi.transpose(1, 0, 2, 3).reshape(n_layers, -1, hidden)
        return self.observations.reshape(-1, self.observations.shape[-1]), previous_hidden, self.episode_starts.ravel()

    def flat_view(self, policy_inputs: np.ndarray) -> RolloutBuffer:
        """An SB3 ``RolloutBuffer`` with the same transitions and ``observations = policy_inputs`` (N, P)."""
        input_space = spaces.Box(-np.inf, np.inf, shape=(policy_inputs.shape[-1],), dtype=np.float32)
        view = RolloutBuffer(self.buffer_size, input_space, self.action_space, self.device, self.gae_lambda,
                             self.gamma, self.n_envs)
        view.observations = policy_inputs.reshape(self.buffer_size, self.n_envs, -1).astype(np.float32)
        for name in ("actions", "rewards", "returns", "episode_starts", "values", "log_probs", "advantages"):
            setattr(view, name, getattr(self, name))
        view.full, view.pos = True, self.buffer_size
        return view


class EpisodeBatch(NamedTuple):
    """A padded batch of whole episodes for the VAE (batch-major)."""

    observations: th.Tensor  # (B, T + 1, obs_dim) encoder inputs x_0 .. x_T
    session_end: th.Tensor  # (B, T) d_j
    valid_transitions: th.Tensor  # (B, T) bool


class EpisodeStore:
    """FIFO store of the most recent ``capacity`` complete episodes."""

    def __init__(self, capacity: int) -> None:
        self.episodes: deque[tuple[np.ndarray, np.ndarray]] = deque(maxlen=int(capacity))

    def __len__(self) -> int:
        return len(self.episodes)

    def add(self, observations: np.ndarray, session_end: np.ndarray) -> None:
        """Store one episode: ``observations`` (T + 1, obs_dim), ``session_end`` (T,)."""
        if len(observations) != len(session_end) + 1:
            raise ValueError("an episode needs one more observation than transitions")
        self.episodes.append((observations.astype(np.float32), session_end.astype(bool)))

    def sample(self, batch_size: int, device: th.device | str = "cpu",
               transform: Callable[[np.ndarray], np.ndarray] | None = None) -> EpisodeBatch:
        """Up to ``batch_size`` distinct episodes, padded to the longest (uses torch's seeded RNG); ``transform``
        maps each chosen episode's observations (T + 1, obs_dim) before padding (e.g. today's normalisation)."""
        indices = th.randperm(len(self.episodes))[: min(batch_size, len(self.episodes))].tolist()
        chosen = [self.episodes[i] for i in indices]
        if transform is not None:
            chosen = [(transform(obs).astype(np.float32), ends) for obs, ends in chosen]
        horizon = max(len(ends) for _, ends in chosen)
        obs_dim = chosen[0][0].shape[1]
        observations = np.zeros((len(chosen), horizon + 1, obs_dim), dtype=np.float32)
        session_end = np.zeros((len(chosen), horizon), dtype=bool)
        valid = np.zeros((len(chosen), horizon), dtype=bool)
        for row, (obs, ends) in enumerate(chosen):
            observations[row, : len(obs)] = obs
            session_end[row, : len(ends)] = ends
            valid[row, : len(ends)] = True
        as_tensor = lambda array: th.as_tensor(array, device=device)  # noqa: E731
        return EpisodeBatch(as_tensor(observations), as_tensor(session_end), as_tensor(valid))


class EpisodeCollector(BaseCallback):
    """Assembles complete episodes from ``collect_rollouts``' locals into an :class:`EpisodeStore`.

    Called right after every ``env.step``: ``model._last_obs`` is still ``x_t``, ``infos`` carry
    ``session_end`` and, at the end of an episode, the augmented ``terminal_observation`` ``x_T``.
    Also refuses non-finite observations or rewards (nothing trains silently on NaN).

    With ``raw=True`` and a ``VecNormalize`` that normalises observations, it stores them as the env made them,
    before that normalisation: ``x_t`` from ``get_original_obs()`` one step earlier, ``x_T`` unnormalised (exact
    unless VecNormalize clipped it at ``clip_obs`` standard deviations).
    """

    def __init__(self, store: EpisodeStore, raw: bool = False) -> None:
        super().__init__()
        self.store = store
        self.raw = raw
        self.has_session_labels = True
        self._open: list[tuple[list[np.ndarray], list[bool]]] = []
        self._started = np.zeros(0, dtype=bool)  # the open episode was seen from its first step
        self._normalizer: VecNormalize | None = None  # the env's observation normaliser (raw=True only)
        self._raw_last: np.ndarray | None = None  # x_t before it

    def _on_rollout_start(self) -> None:
        self._normalizer = observation_normalizer(self.model) if self.raw else None
        if self._normalizer is not None:  # its last reset or step made model._last_obs
            self._raw_last = np.array(self._normalizer.get_original_obs(), dtype=np.float32)

    def _on_step(self) -> bool:
        new_obs, rewards, dones, infos = (self.locals[k] for k in ("new_obs", "rewards", "dones", "infos"))
        if not (np.all(np.isfinite(new_obs)) and np.all(np.isfinite(rewards))):
            raise ValueError(
                "the environment returned a non-finite observation or reward (NaN/inf); fix the env or clip its "
                "outputs: DynaMITE-RL will not train on it"
            )
        current, starts = self.model._last_obs, self.model._last_episode_starts
        normalizer = self._normalizer
        if normalizer is not None:
            current = self._raw_last
            self._raw_last = np.array(normalizer.get_original_obs(), dtype=np.float32)  # x_{t+1}
        if len(self._open) != len(dones):
            self._open = [([], []) for _ in dones]
            self._started = np.zeros(len(dones), dtype=bool)
        for i, info in enumerate(infos):
            observations, ends = self._open[i]
            if starts[i]:
                observations.clear()
                ends.clear()
                self._started[i] = True
            observations.append(np.array(current[i], dtype=np.float32))
            ends.append(self._session_end(info))
            if dones[i]:
                terminal = info.get("terminal_observation")
                if terminal is not None and normalizer is not None:
                    terminal = normalizer.unnormalize_obs(terminal)
                if terminal is not None and self._started[i]:
                    self.store.add(np.stack([*observations, terminal]), np.array(ends))
                observations.clear()
                ends.clear()
                self._started[i] = False
        return True

    def _session_end(self, info: dict[str, Any]) -> bool:
        if "session_end" in info:
            return bool(info["session_end"])
        if self.has_session_labels:
            self.has_session_labels = False
            warnings.warn(
                "the environment does not report info['session_end']: every episode is treated as one session, "
                "i.e. this trains as VariBAD (no session masking, prior conditioning, consistency or termination "
                "supervision). Add the DLCMDP info keys to your env to train DynaMITE-RL.",
                stacklevel=2,
            )
        return False
