"""DynaMITEPPO behaves like any SB3 algorithm: save/load, predict, evaluate, callbacks, loggers, seeding."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch as th
from stable_baselines3.common.callbacks import BaseCallback, CheckpointCallback
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.logger import configure
from stable_baselines3.common.save_util import save_to_pkl
from stable_baselines3.common.vec_env import SubprocVecEnv

from sb3_dynamite import DynaMITEPPO, VariBADPPO

SMALL = {"n_steps": 64, "batch_size": 64, "n_epochs": 2, "vae_batch_size": 4}
ENVS = ["dlcmdp/GridWorld-v0", "dlcmdp/Reacher-v0"]  # Discrete and Box actions


def rollout_actions(model: DynaMITEPPO, n_steps: int = 80) -> np.ndarray:
    """Deterministic actions along a seeded rollout, carrying the recurrent state."""
    env = model.get_env()
    env.seed(123)
    obs, state = env.reset(), None
    starts = np.ones(env.num_envs, dtype=bool)
    actions = []
    for _ in range(n_steps):
        action, state = model.predict(obs, state=state, episode_start=starts, deterministic=True)
        obs, _, starts, _ = env.step(action)
        actions.append(action)
    return np.array(actions)


@pytest.mark.parametrize("env_id", ENVS)
@pytest.mark.parametrize("cls", [DynaMITEPPO, VariBADPPO])
def test_save_load_restores_everything(env_id: str, cls: type[DynaMITEPPO], tmp_path: Path) -> None:
    model = cls("MlpPolicy", make_vec_env(env_id, n_envs=2, seed=0), seed=0, latent_dim=3, kl_weight=0.05, **SMALL)
    model.learn(512)  # complete episodes (H = 200 on Reacher) reach the VAE
    model.save(tmp_path / "model")
    loaded = cls.load(tmp_path / "model", env=make_vec_env(env_id, n_envs=2, seed=0))
    np.testing.assert_array_equal(rollout_actions(model), rollout_actions(loaded))
    assert (loaded.latent_dim, loaded.kl_weight, loaded.session_masking) == (3, 0.05, model.session_masking)
    for key, value in model.policy.state_dict().items():  # includes the belief normaliser's statistics
        assert th.equal(value, loaded.policy.state_dict()[key]), key
    assert bool(loaded.policy.belief_normalizer.initialized)
    saved_state, loaded_state = model.vae_optimizer.state_dict(), loaded.vae_optimizer.state_dict()
    assert saved_state["state"].keys() == loaded_state["state"].keys() and len(saved_state["state"]) > 0
    for index, state in saved_state["state"].items():
        assert th.equal(state["exp_avg"], loaded_state["state"][index]["exp_avg"])
    assert len(loaded.episode_store) == 0  # left out of save(), as SB3 leaves out the replay buffer ...
    model.save_episode_store(tmp_path / "episodes.pkl")  # ... and saved on its own
    loaded.load_episode_store(tmp_path / "episodes.pkl")
    assert len(loaded.episode_store) == len(model.episode_store) > 0
    assert loaded.episode_store.episodes.maxlen == model.episode_store.episodes.maxlen
    pairs = zip(model.episode_store.episodes, loaded.episode_store.episodes, strict=True)
    for (obs, ends), (obs_loaded, ends_loaded) in pairs:
        np.testing.assert_array_equal(obs, obs_loaded)
        np.testing.assert_array_equal(ends, ends_loaded)
    save_to_pkl(tmp_path / "other.pkl", [1, 2])
    with pytest.raises(TypeError, match="not an EpisodeStore"):
        loaded.load_episode_store(tmp_path / "other.pkl")
    loaded.learn(128, reset_num_timesteps=False)  # continues training, the new episodes joining the loaded ones
    assert loaded.num_timesteps == 512 + 128 and loaded._collector.store is loaded.episode_store


@pytest.mark.parametrize("env_id", ENVS)
def test_predict_and_evaluate_policy_on_get_env(env_id: str) -> None:
    model = DynaMITEPPO("MlpPolicy", env_id, seed=0, **SMALL)
    mean, _ = evaluate_policy(model, model.get_env(), n_eval_episodes=2)
    assert np.isfinite(mean)
    obs = model.get_env().reset()
    action, state = model.predict(obs, deterministic=True)
    assert action.shape == (1, *model.action_space.shape)
    assert state[0].shape == (1, 1, model.policy.lstm_actor.hidden_size)
    again, _ = model.predict(obs, state=None, deterministic=True)
    np.testing.assert_array_equal(action, again)
    # the recurrent state matters: the same observation after a history can give another belief
    _, later = model.predict(obs, state=state, episode_start=np.zeros(1, dtype=bool))
    assert not np.allclose(later[0], state[0])


def test_same_seed_same_result() -> None:
    def train() -> list[th.Tensor]:
        model = DynaMITEPPO("MlpPolicy", make_vec_env("dlcmdp/GridWorld-v0", n_envs=2), seed=7, **SMALL)
        model.learn(384)
        return [p.detach().clone() for p in model.policy.parameters()]

    for a, b in zip(train(), train(), strict=True):
        assert th.equal(a, b)


class CountCalls(BaseCallback):
    def __init__(self) -> None:
        super().__init__()
        self.steps = 0

    def _on_step(self) -> bool:
        self.steps += 1
        return True


def test_callbacks_progress_bar_tensorboard_and_logger_keys(tmp_path: Path) -> None:
    model = DynaMITEPPO("MlpPolicy", "dlcmdp/GridWorld-v0", seed=0, tensorboard_log=str(tmp_path / "tb"),
                        consistency_coef=0.1, **SMALL)
    model.set_logger(configure(str(tmp_path / "log"), ["csv", "tensorboard"]))
    counter = CountCalls()
    checkpoint = CheckpointCallback(save_freq=128, save_path=str(tmp_path / "ckpt"))
    model.learn(256, callback=[counter, checkpoint], progress_bar=True)
    assert counter.steps == 256
    assert len(list((tmp_path / "ckpt").glob("*.zip"))) == 2
    logged = pd.read_csv(tmp_path / "log" / "progress.csv")
    for key in ("vae/reconstruction", "vae/kl", "vae/consistency", "vae/termination_bce",
                "vae/termination_accuracy", "vae/loss", "train/policy_gradient_loss", "rollout/ep_rew_mean"):
        assert key in logged.columns, key
    accuracy = logged["vae/termination_accuracy"].dropna()
    assert len(accuracy) > 0 and accuracy.between(0, 1).all()
    assert any(name.startswith("events.out.tfevents") for name in os.listdir(tmp_path / "log"))


def test_a_callback_can_stop_training() -> None:
    class Stop(BaseCallback):
        def _on_step(self) -> bool:
            return self.num_timesteps < 10

    model = DynaMITEPPO("MlpPolicy", "dlcmdp/GridWorld-v0", seed=0, **SMALL)
    model.learn(1000, callback=Stop())
    assert model.num_timesteps == 10


def test_trains_on_subproc_vec_env() -> None:
    venv = make_vec_env("sb3_dynamite:dlcmdp/GridWorld-v0", n_envs=2, seed=0, vec_env_cls=SubprocVecEnv)
    model = DynaMITEPPO("MlpPolicy", venv, seed=0, **SMALL)
    model.learn(256)
    assert len(model.episode_store) == 4  # 2 envs x 128 steps = two complete 60-step episodes each
    observations, session_end = model.episode_store.episodes[0]
    assert observations.shape == (61, 12) and session_end.shape == (60,)
    venv.close()
