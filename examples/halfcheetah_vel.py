"""DynaMITE-RL on HalfCheetahVel with the RL Zoo hyperparameters, then the belief of the target velocity.

The target velocity ``v*`` of ``dlcmdp/HalfCheetahVel-v0`` changes between sessions (about one switch per
100 steps, H = 400). This script reads the ``dlcmdp/HalfCheetahVel-v0`` entry of the zoo file
``hyperparams/dynamite.yml`` (what ``python -m rl_zoo3.train --algo dynamite --env dlcmdp/HalfCheetahVel-v0``
uses), trains for ``--timesteps`` (a short default: the file's ``n_timesteps`` is the full budget), and plots
a least-squares probe's decoded ``v*`` from the belief against the true ``v*`` over one episode.

    python examples/halfcheetah_vel.py --timesteps 100000 --out runs/halfcheetah_vel
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import torch as th
import yaml
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, VecNormalize

from sb3_dynamite import DynaMITEPPO
from sb3_dynamite.common.wrappers import VecPreviousActionReward
from sb3_dynamite.evaluation import fit_latent_probe, rollout_traces, save_belief_plot

ENV_ID = "dlcmdp/HalfCheetahVel-v0"
#: zoo keys that configure the experiment rather than DynaMITEPPO
ZOO_ONLY_KEYS = ("n_envs", "n_timesteps", "normalize", "policy", "vec_env_wrapper")
#: used only when no zoo file has an entry for the env
FALLBACK: dict[str, Any] = {"n_envs": 8, "n_timesteps": 3_000_000, "policy": "MlpPolicy", "n_steps": 400,
                            "batch_size": 256}


def hyperparams_path() -> Path:
    """The zoo's ``dynamite.yml``: the installed package's copy, else this checkout's ``hyperparams/``."""
    try:
        from sb3_dynamite.zoo import hyperparams_dir
    except ImportError:
        return Path(__file__).resolve().parents[1] / "hyperparams" / "dynamite.yml"
    return hyperparams_dir() / "dynamite.yml"


def load_zoo_entry(path: Path, env_id: str = ENV_ID) -> tuple[dict[str, Any], str]:
    """The zoo entry of ``env_id`` (a copy) and where it came from."""
    if path.is_file():
        entries = yaml.safe_load(path.read_text()) or {}
        if env_id in entries:
            return dict(entries[env_id]), str(path)
    return dict(FALLBACK), f"built-in fallback (no {env_id} entry in {path})"


def _schedule(value: Any) -> Any:
    """The zoo's ``"lin_<x>"`` strings as a linear schedule of the remaining progress."""
    if isinstance(value, str) and value.startswith("lin_"):
        initial = float(value[len("lin_"):])
        return lambda progress_remaining: progress_remaining * initial
    return value


def model_arguments(entry: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split a zoo entry into the experiment settings (zoo-only keys) and DynaMITEPPO's kwargs."""
    settings = {key: entry.pop(key) for key in ZOO_ONLY_KEYS if key in entry}
    if isinstance(entry.get("policy_kwargs"), str):
        entry["policy_kwargs"] = eval(entry["policy_kwargs"], {"nn": th.nn, "dict": dict})  # the zoo's format
    for key in ("learning_rate", "clip_range"):
        if key in entry:
            entry[key] = _schedule(entry[key])
    return settings, entry


def normalize_kwargs(value: Any) -> dict[str, Any] | None:
    """The zoo's ``normalize`` (bool or a ``dict(...)`` string) as VecNormalize kwargs (None: off)."""
    if isinstance(value, str):
        value = eval(value, {"dict": dict})
    if value is True:
        return {}
    return dict(value) if value else None


def make_env(n_envs: int, seed: int, normalize: dict[str, Any] | None, gamma: float) -> VecEnv:
    """As the zoo builds it: the encoder-input wrapper, then VecNormalize (observations and rewards in our zoo file)."""
    env = VecPreviousActionReward(make_vec_env(ENV_ID, n_envs=n_envs, seed=seed))
    return env if normalize is None else VecNormalize(env, gamma=gamma, **normalize)


def rollout_env(train_env: VecEnv) -> VecEnv:
    """One raw-reward env with the training env's observation normalisation (if any) for belief rollouts."""
    env: VecEnv = VecPreviousActionReward(DummyVecEnv([lambda: gym.make(ENV_ID)]))
    if isinstance(train_env, VecNormalize) and train_env.norm_obs:
        env = VecNormalize(env, training=False, norm_obs=True, norm_reward=False)
        env.obs_rms = train_env.obs_rms
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timesteps", type=int, default=100_000,
                        help="training steps (default: %(default)s, a demo; the zoo entry's n_timesteps is the full "
                        "budget)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-envs", type=int, default=None, help="override the zoo entry's n_envs")
    parser.add_argument("--probe-episodes", type=int, default=5, help="episodes to fit the probe (default: 5)")
    parser.add_argument("--out", type=Path, default=Path("runs/halfcheetah_vel"), help="output folder")
    parser.add_argument("--conf-file", type=Path, default=None, help="zoo hyperparameter file (default: ours)")
    args = parser.parse_args()
    if args.timesteps < 1:
        parser.error(f"--timesteps must be positive, got {args.timesteps}")
    th.set_num_threads(1)  # small networks: one thread is fastest, more oversubscribe a busy CPU

    entry, source = load_zoo_entry(args.conf_file or hyperparams_path())
    settings, kwargs = model_arguments(entry)
    n_envs = args.n_envs or int(settings.get("n_envs", 1))
    full_budget = int(float(settings.get("n_timesteps", 0)))
    print(f"Hyperparameters of {ENV_ID}: {source}")
    print(f"  {kwargs}")
    print(f"Training {args.timesteps:,d} steps on {n_envs} envs (the full budget of the zoo entry is "
          f"{full_budget:,d} steps: python -m rl_zoo3.train --algo dynamite --env {ENV_ID})", flush=True)
    env = make_env(n_envs, args.seed, normalize_kwargs(settings.get("normalize")), kwargs.get("gamma", 0.99))
    model = DynaMITEPPO(settings.get("policy", "MlpPolicy"), env, seed=args.seed, **kwargs)
    start = time.perf_counter()
    model.learn(args.timesteps)
    print(f"Training took {time.perf_counter() - start:.0f} s "
          f"({args.timesteps / (time.perf_counter() - start):.0f} steps/s)")
    args.out.mkdir(parents=True, exist_ok=True)
    model.save(args.out / "dynamite_halfcheetah_vel")
    statistics = model.get_vec_normalize_env()
    if statistics is not None:  # the model reads normalised observations: keep the statistics it was trained with
        statistics.save(str(args.out / "vecnormalize.pkl"))

    rollouts = rollout_env(model.get_env())
    probe = fit_latent_probe(model, rollouts, n_episodes=args.probe_episodes, seed=2000)
    held_out = rollout_traces(model, rollouts, n_episodes=2, seed=3000)
    trace = rollout_traces(model, rollouts, n_episodes=1, seed=1000)[0]
    print(f"Episode return (seed 1000): {trace.episode_return:.1f} over {len(trace)} steps, {trace.n_sessions} "
          f"sessions; probe R^2 of v* on 2 held-out episodes: {probe.score(held_out):.2f}")
    path = save_belief_plot(trace, args.out / "belief_halfcheetah_vel.png", probe)
    print(f"Model: {(args.out / 'dynamite_halfcheetah_vel.zip').resolve()}\nBelief plot: {path.resolve()}")
    if statistics is not None:
        print(f"Normalisation statistics (VecNormalize.load them to reuse the model): "
              f"{(args.out / 'vecnormalize.pkl').resolve()}")


if __name__ == "__main__":
    main()
