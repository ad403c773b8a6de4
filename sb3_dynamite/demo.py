"""``python -m sb3_dynamite.demo`` (what ``make demo`` runs): a short DynaMITE-RL run on GridWorld.

It trains :class:`~sb3_dynamite.DynaMITEPPO` with :data:`GRIDWORLD_QUICK`, evaluates it against the scripted
random, informed and oracle policies on the same seeded episodes (mean ± std and the normalised score,
random 0 / oracle 1), reads "which goal pays" out of the belief (a linear probe and the reward decoder),
measures how well ``c_t`` detects session changes and writes the belief plot of the first evaluation episode
(DynaMITE-RL, Fig. 2) to a PNG.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch as th
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.utils import LinearSchedule

from sb3_dynamite import DynaMITEPPO
from sb3_dynamite.envs.scripted import make_reference_env
from sb3_dynamite.evaluation import (
    GoalRewardReadout,
    episode_returns,
    fit_latent_probe,
    normalized_score,
    reference_returns,
    rollout_traces,
    save_belief_plot,
    termination_detection,
)

#: the demo's and the quickstart notebook's training settings (one place to retune them): the GridWorld
#: entry of hyperparams/dynamite.yml (learning rate decayed linearly from 1e-3 to 0, a (256, 256) policy that also
#: reads a_{t-1} and r_{t-1}, every ELBO term decoded: no subsampling at H = 60)
GRIDWORLD_QUICK: dict[str, Any] = {
    "env_id": "dlcmdp/GridWorld-v0",
    "n_envs": 8,
    "total_timesteps": 500_000,
    "model_kwargs": {"n_steps": 256, "batch_size": 256, "ent_coef": 0.01, "n_vae_updates": 4,
                     "learning_rate": LinearSchedule(1e-3, 0.0, 1.0), "policy_kwargs": {"net_arch": [256, 256],
                                       "features_extractor_kwargs": {"pass_action_reward_to_policy": True}},
                     "vae_subsample_elbos": None, "vae_subsample_decodes": None},
}

#: evaluation protocol: episodes and seeds (evaluation, probe fitting and probe testing never overlap)
EVALUATION: dict[str, int] = {"n_episodes": 50, "seed": 1000, "probe_episodes": 30, "probe_seed": 2000,
                              "probe_test_seed": 3000}
#: the belief plot shows the belief decoded ("which goal pays") only when a read-out reaches this held-out
#: accuracy; otherwise the raw belief mu_t (a decoded curve at chance level would mislead)
EVALUATION_MIN_READOUT = 0.8


class ProgressPrinter(BaseCallback):
    """Prints the mean training return of the last 100 episodes every ``every`` environment steps."""

    def __init__(self, every: int = 20_000) -> None:
        super().__init__()
        self.every = every
        self._next = every
        self._start = time.perf_counter()

    def _on_step(self) -> bool:
        if self.num_timesteps >= self._next:
            self._next += self.every
            returns = [info["r"] for info in self.model.ep_info_buffer]
            mean = f"{np.mean(returns):6.1f}" if returns else "   n/a"
            print(f"  {self.num_timesteps:>9,d} steps  {time.perf_counter() - self._start:6.0f} s  "
                  f"training return (last {len(returns)} episodes) {mean}", flush=True)
        return True


def train(total_timesteps: int | None = None, seed: int = 0, settings: dict[str, Any] | None = None,
          progress_every: int | None = 20_000) -> DynaMITEPPO:
    """Train DynaMITEPPO with ``settings`` (default :data:`GRIDWORLD_QUICK`)."""
    settings = settings or GRIDWORLD_QUICK
    timesteps = settings["total_timesteps"] if total_timesteps is None else total_timesteps
    if timesteps < 1:
        raise ValueError(f"--timesteps must be positive, got {timesteps}")
    env = make_vec_env(settings["env_id"], n_envs=settings["n_envs"], seed=seed)
    model = DynaMITEPPO("MlpPolicy", env, seed=seed, **settings["model_kwargs"])
    callback = ProgressPrinter(progress_every) if progress_every else None
    return model.learn(timesteps, callback=callback)


def evaluate(model: DynaMITEPPO, env_id: str, n_episodes: int, seed: int) -> dict[str, np.ndarray]:
    """Per-episode returns of the model and of the scripted references on the same seeded episodes."""
    env = make_reference_env(env_id, "previous_action_reward", n_envs=1, seed=seed)
    results = {"DynaMITE-RL": episode_returns(model, env, n_episodes, deterministic=True)}
    env.close()
    results.update(reference_returns(env_id, n_episodes, seed))
    return results


def format_results(results: dict[str, np.ndarray]) -> str:
    """A table of mean ± std and the normalised score (random 0, oracle 1)."""
    random, oracle = results["random"].mean(), results["oracle"].mean()
    order = [name for name in ("random", "DynaMITE-RL", "informed", "oracle") if name in results]
    lines = [f"  {'policy':<12} {'return (mean ± std)':>20} {'normalised':>11}"]
    for name in order:
        returns = results[name]
        score = normalized_score(returns.mean(), random, oracle)
        lines.append(f"  {name:<12} {returns.mean():>10.1f} ± {returns.std():<7.1f} {score:>11.2f}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    settings = GRIDWORLD_QUICK
    parser = argparse.ArgumentParser(prog="python -m sb3_dynamite.demo",
                                     description="A short DynaMITE-RL run on GridWorld: train, evaluate, plot.")
    parser.add_argument("--timesteps", type=int, default=settings["total_timesteps"],
                        help="training steps (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="training seed (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=Path("runs/demo/belief_gridworld.png"),
                        help="where to write the belief plot (default: %(default)s)")
    parser.add_argument("--episodes", type=int, default=EVALUATION["n_episodes"],
                        help="evaluation episodes (default: %(default)s)")
    parser.add_argument("--save-model", type=Path, default=None, help="also save the trained model there")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (default: %(default)s; the networks are small, and more threads than "
                        "idle cores slow training down several times)")
    args = parser.parse_args(argv)
    if args.episodes < 1:
        parser.error(f"--episodes must be at least 1, got {args.episodes}")
    if args.timesteps < 1:
        parser.error(f"--timesteps must be positive, got {args.timesteps}")
    if args.threads < 1:
        parser.error(f"--threads must be at least 1, got {args.threads}")
    th.set_num_threads(args.threads)
    env_id = settings["env_id"]

    print(f"DynaMITE-RL on {env_id}: {args.timesteps:,d} steps, {settings['n_envs']} envs, seed {args.seed} "
          f"(settings: sb3_dynamite.demo.GRIDWORLD_QUICK)", flush=True)
    start = time.perf_counter()
    model = train(args.timesteps, args.seed, settings, progress_every=max(args.timesteps // 10, 1))
    print(f"Training took {time.perf_counter() - start:.0f} s.")
    if args.save_model is not None:
        model.save(args.save_model)
        print(f"Model saved to {args.save_model}")

    seed = EVALUATION["seed"]
    print(f"\nEvaluation: {args.episodes} episodes from seed {seed}, deterministic actions, the same episodes "
          "(goals, sessions, latents) for every policy")
    print(format_results(evaluate(model, env_id, args.episodes, seed)))

    n_probe = EVALUATION["probe_episodes"]
    held_out = rollout_traces(model, env_id, n_probe, seed=EVALUATION["probe_test_seed"])
    readouts = {"a logistic probe on [mu_t, logvar_t]": fit_latent_probe(model, env_id, n_episodes=n_probe,
                                                                         seed=EVALUATION["probe_seed"]),
                "the model's reward decoder (staying on each goal)": GoalRewardReadout(model)}
    accuracy = {name: readout.score(held_out) for name, readout in readouts.items()}
    print(f"\nOn {n_probe} held-out episodes (seed {EVALUATION['probe_test_seed']}), which goal pays is read from the "
          "belief with accuracy")
    for name, value in accuracy.items():
        print(f"  {value:.2f} by {name}")
    detection = termination_detection(held_out)
    print(f"c_t > 0.5 at {detection['recall']:.0%} of the session changes (y_t = 1) and at "
          f"{detection['false_alarm']:.1%} of the other steps")
    best = max(accuracy, key=accuracy.get)
    shown = readouts[best] if accuracy[best] >= EVALUATION_MIN_READOUT else None  # decoded only where it helps
    trace = rollout_traces(model, env_id, 1, seed=seed)[0]
    path = save_belief_plot(trace, args.out, shown)
    what = f"decoded by {best}" if shown is not None else (
        f"raw mu_t: no read-out reached {EVALUATION_MIN_READOUT:.2f} accuracy")
    print(f"Belief plot of the first evaluation episode ({trace.n_sessions} sessions, return "
          f"{trace.episode_return:.1f}; belief {what}): {path.resolve()}")


if __name__ == "__main__":
    main()
