"""Training throughput of DynaMITEPPO against SB3 PPO and sb3-contrib RecurrentPPO, in one run.

RecurrentPPO is measured twice: with sb3-contrib's ``MlpLstmPolicy`` and with our :class:`FusedLstmPolicy` (the
same computation, each training sequence in one LSTM call), which the benchmarks' RL^2 runs.

DynaMITEPPO is measured twice: by default (the PPO epochs on stored policy inputs) and with
``rl_loss_through_encoder=True`` (the GRU re-runs over each minibatch's sequences). Identical shared
settings for every algorithm (8 envs, n_steps 256, batch 256, 10 epochs; everything else at each
algorithm's defaults). Each measurement times ``learn`` over a few iterations after two warm-up
iterations; algorithms are interleaved over repeats and the median fps is reported, with DynaMITE's share
of time in the VAE update. torch runs on ``--threads`` threads (default 1: fastest for these small networks
on a 2-core machine, and the same for every algorithm). A second part measures the peak memory of one VAE
update at H = 100 and H = 400 (in fresh subprocesses), with the default pair cap and without it. Usage::

    python -m benchmarks.throughput --repeats 3 --iterations 4 --out benchmarks/results/throughput.md
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np
from sb3_contrib import RecurrentPPO
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env

from benchmarks.common import publish
from sb3_dynamite import DynaMITEPPO
from sb3_dynamite.common.recurrent import FusedLstmPolicy

SHARED = {"n_steps": 256, "batch_size": 256, "n_epochs": 10}
N_ENVS = 8
ALGORITHMS = {"DynaMITEPPO": (DynaMITEPPO, "MlpPolicy", {}),
              "DynaMITEPPO (rl_loss_through_encoder)": (DynaMITEPPO, "MlpPolicy", {"rl_loss_through_encoder": True}),
              "PPO": (PPO, "MlpPolicy", {}), "RecurrentPPO": (RecurrentPPO, "MlpLstmPolicy", {}),
              "RecurrentPPO (FusedLstmPolicy)": (RecurrentPPO, FusedLstmPolicy, {})}
ENVS = ("dlcmdp/HalfCheetahVel-v0", "dlcmdp/GridWorld-v0")


def measure(name: str, env_id: str, iterations: int, seed: int) -> tuple[float, float]:
    """fps of ``learn`` over ``iterations`` rollouts after two warm-up ones; and the VAE share of that time."""
    cls, policy, kwargs = ALGORITHMS[name]
    model = cls(policy, make_vec_env(env_id, n_envs=N_ENVS, seed=seed), seed=seed, **SHARED, **kwargs)
    per_iteration = N_ENVS * SHARED["n_steps"]
    model.learn(2 * per_iteration)  # warm-up (the VAE has complete episodes from the second iteration on)
    vae_before = getattr(model, "vae_time", 0.0)
    start = time.perf_counter()
    model.learn(iterations * per_iteration, reset_num_timesteps=False)
    elapsed = time.perf_counter() - start
    return iterations * per_iteration / elapsed, (getattr(model, "vae_time", 0.0) - vae_before) / elapsed


def vae_memory(horizon: int, capped: bool, n_updates: int = 3) -> dict[str, float]:
    """Peak RSS growth (MiB) of VAE updates on stored episodes of length ``horizon`` (run in a subprocess)."""
    import torch as th

    model = DynaMITEPPO("MlpPolicy", "dlcmdp/HalfCheetahVel-v0", seed=0, vae_batch_size=16, **(
        {} if capped else {"vae_subsample_elbos": None, "vae_subsample_decodes": None}))
    obs_dim = model.observation_space.shape[0]
    generator = np.random.default_rng(0)
    for _ in range(16):
        model.episode_store.add(generator.normal(size=(horizon + 1, obs_dim)).astype(np.float32),
                                generator.random(horizon) < 0.01)
    th.manual_seed(0)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    for _ in range(n_updates):
        loss = model.belief_losses(model.episode_store.sample(16))["loss"]
        model.vae_optimizer.zero_grad()
        loss.backward()
        model.vae_optimizer.step()
    seconds = (time.perf_counter() - start) / n_updates
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    pairs = (horizon + 1) * horizon if not capped else min(50, horizon + 1) * min(50, horizon)
    return {"horizon": horizon, "capped": capped, "peak_growth_mib": peak - before, "peak_rss_mib": peak,
            "pairs_per_episode": pairs, "seconds_per_update": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--iterations", type=int, default=4)
    parser.add_argument("--out", default=None)
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--memory-child", nargs=2, metavar=("HORIZON", "CAPPED"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    import torch as th

    th.set_num_threads(args.threads)
    if args.memory_child:
        print(json.dumps(vae_memory(int(args.memory_child[0]), args.memory_child[1] == "1")))
        return

    fps: dict[tuple[str, str], list[float]] = {}
    vae_share: dict[str, list[float]] = {}
    for repeat in range(args.repeats):
        for env_id in ENVS:
            for name in ALGORITHMS:
                value, share = measure(name, env_id, args.iterations, seed=repeat)
                fps.setdefault((env_id, name), []).append(value)
                if name == "DynaMITEPPO":
                    vae_share.setdefault(env_id, []).append(share)
                print(f"repeat {repeat} {env_id} {name}: {value:,.0f} fps", flush=True)

    rows = ["| env | algorithm | fps (median) | min-max | DynaMITE / this | VAE share of DynaMITE time |",
            "|---|---|---|---|---|---|"]
    for env_id in ENVS:
        dynamite = np.median(fps[(env_id, "DynaMITEPPO")])
        for name in ALGORITHMS:
            values = fps[(env_id, name)]
            ratio = "-" if name == "DynaMITEPPO" else f"{dynamite / np.median(values):.2f}x"
            share = f"{100 * np.median(vae_share[env_id]):.0f}%" if name == "DynaMITEPPO" else "-"
            rows.append(f"| {env_id} | {name} | {np.median(values):,.0f} | {min(values):,.0f}-{max(values):,.0f} "
                        f"| {ratio} | {share} |")

    memory_rows = ["| H | pair cap (50 beliefs x 50 decodes) | decoded pairs per episode | peak RSS growth (MiB) "
                   "| seconds per update (16 episodes) |", "|---|---|---|---|---|"]
    for capped in (True, False):
        for horizon in (100, 400):
            child = subprocess.run(
                [sys.executable, "-m", "benchmarks.throughput", "--threads", str(args.threads), "--memory-child",
                 str(horizon), str(int(capped))],
                capture_output=True, text=True, check=True,
            )
            result = json.loads(child.stdout.strip().splitlines()[-1])
            memory_rows.append(f"| {horizon} | {'on' if capped else 'off'} | {result['pairs_per_episode']:,} | "
                               f"{result['peak_growth_mib']:.0f} | {result['seconds_per_update']:.3f} |")

    command = (f"python -m benchmarks.throughput --repeats {args.repeats} --iterations {args.iterations} "
               f"--threads {args.threads}")
    settings = (f"Shared settings: {N_ENVS} envs, n_steps {SHARED['n_steps']}, batch {SHARED['batch_size']}, "
                f"{SHARED['n_epochs']} epochs; other arguments at each class's defaults; "
                f"{args.threads} torch thread(s).")
    publish(command, [settings, "", *rows, "", "VAE update memory (HalfCheetahVel observation, synthetic "
                      "episodes, fresh process per row):", "", *memory_rows], args.out)


if __name__ == "__main__":
    main()
