"""The encoder input ``x_t = (s_t, a_{t-1}, r_{t-1})`` as an observation.

SB3's ``predict(obs, state, episode_start)`` only ever sees observations, so the previous action and
reward must be part of the observation for a belief model (VariBAD, DynaMITE-RL) to see them at
inference time. :class:`VecPreviousActionReward` appends them; DynaMITEPPO applies it to whatever env
it is given, so ``model.get_env()`` and ``evaluate_policy(model, model.get_env())`` just work.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper, VecNormalize
from stable_baselines3.common.vec_env.base_vec_env import VecEnvObs, VecEnvStepReturn


def action_encoding_dim(action_space: spaces.Space) -> int:
    """Size of the encoded action: one-hot for ``Discrete``, the flat vector for ``Box``."""
    if isinstance(action_space, spaces.Discrete):
        return int(action_space.n)
    if isinstance(action_space, spaces.Box):
        return int(np.prod(action_space.shape))
    raise ValueError(
        f"unsupported action space {action_space}: DynaMITE-RL supports Discrete and Box actions "
        "(wrap MultiDiscrete/MultiBinary actions into one of those)"
    )


def observation_normalizer(model: BaseAlgorithm) -> VecNormalize | None:
    """The model's ``VecNormalize`` if it normalises observations, else None."""
    normalizer = model.get_vec_normalize_env()
    return normalizer if normalizer is not None and normalizer.norm_obs else None


def check_observation_space(observation_space: spaces.Space) -> spaces.Box:
    """DynaMITE-RL needs a flat ``Box`` observation (the state ``s_t`` of the encoder input)."""
    if not isinstance(observation_space, spaces.Box) or len(observation_space.shape) != 1:
        raise ValueError(
            f"unsupported observation space {observation_space}: DynaMITE-RL needs a 1-D Box observation; "
            "flatten Dict or image observations first (e.g. gymnasium.wrappers.FlattenObservation)"
        )
    return observation_space


class VecPreviousActionReward(VecEnvWrapper):
    """Append the previous action (one-hot if discrete) and reward to each observation.

    At an episode start both are zero. When an episode ends, ``infos[i]["terminal_observation"]`` is
    augmented with the final action and reward, so that the belief after the last transition (and the
    value bootstrap of a truncated episode) is built from exactly the same input as during the episode.
    """

    def __init__(self, venv: VecEnv) -> None:
        state_space = check_observation_space(venv.observation_space)
        self.state_dim = int(state_space.shape[0])
        self.action_dim = action_encoding_dim(venv.action_space)
        if isinstance(venv.action_space, spaces.Discrete):
            action_low, action_high = np.zeros(self.action_dim), np.ones(self.action_dim)
        else:
            action_low, action_high = venv.action_space.low.ravel(), venv.action_space.high.ravel()
        low = np.concatenate([state_space.low, action_low, [-np.inf]]).astype(np.float32)
        high = np.concatenate([state_space.high, action_high, [np.inf]]).astype(np.float32)
        super().__init__(venv, observation_space=spaces.Box(low, high, dtype=np.float32))
        self._actions: np.ndarray | None = None

    def encode_actions(self, actions: np.ndarray) -> np.ndarray:
        """(n_envs, action_dim) float32 encoding of a batch of actions."""
        if isinstance(self.action_space, spaces.Discrete):
            return np.eye(self.action_dim, dtype=np.float32)[np.asarray(actions, dtype=np.int64).reshape(-1)]
        return np.asarray(actions, dtype=np.float32).reshape(self.num_envs, self.action_dim)

    def _augment(self, obs: np.ndarray, actions: np.ndarray, rewards: np.ndarray) -> np.ndarray:
        return np.concatenate(
            [np.asarray(obs, dtype=np.float32).reshape(len(actions), -1), actions, rewards.reshape(-1, 1)], axis=1
        ).astype(np.float32)

    def reset(self) -> VecEnvObs:
        obs = self.venv.reset()
        zeros = np.zeros((self.num_envs, self.action_dim), dtype=np.float32)
        return self._augment(obs, zeros, np.zeros(self.num_envs, dtype=np.float32))

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions
        self.venv.step_async(actions)

    def step_wait(self) -> VecEnvStepReturn:
        obs, rewards, dones, infos = self.venv.step_wait()
        encoded = self.encode_actions(self._actions)
        rewards32 = np.asarray(rewards, dtype=np.float32)
        augmented = self._augment(obs, encoded, rewards32)
        for i in np.flatnonzero(dones):
            info: dict[str, Any] = infos[i]
            if info.get("terminal_observation") is not None:
                info["terminal_observation"] = self._augment(
                    info["terminal_observation"][None], encoded[i : i + 1], rewards32[i : i + 1]
                )[0]
            augmented[i, self.state_dim :] = 0.0  # the next episode starts with a_{-1} = 0, r_{-1} = 0
        return augmented, rewards, dones, infos
