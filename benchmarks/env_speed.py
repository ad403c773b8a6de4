"""Simulation speed of the ``dlcmdp/`` envs against their gymnasium bases, in one run.

Each env is made with ``gym.make`` (so every env carries the same TimeLimit / order / checker wrappers),
stepped single-env with pre-sampled random actions (resetting at truncation), and timed over several
interleaved repeats; the table reports the median steps/s and the session machinery's overhead against
the base env. Usage::

    python -m benchmarks.env_speed --steps 20000 --repeats 5 --out benchmarks/results/env_speed.md
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np

import sb3_dynamite  # noqa: F401  (registers dlcmdp/)
from benchmarks.common import publish

#: (env id, base env id or None)
PAIRS = [
    ("dlcmdp/GridWorld-v0", None),
    ("dlcmdp/Reacher-v0", "Reacher-v5"),
    ("dlcmdp/HalfCheetahVel-v0", "HalfCheetah-v5"),
    ("dlcmdp/HalfCheetahWindVel-v0", "HalfCheetah-v5"),
    ("dlcmdp/ScratchItch-v0", None),
]


def steps_per_second(env: gym.Env, n_steps: int, seed: int = 0) -> float:
    env.reset(seed=seed)
    env.action_space.seed(seed)
    actions = [env.action_space.sample() for _ in range(1000)]
    for action in actions[:200]:  # warm-up
        if any(env.step(action)[2:4]):
            env.reset()
    start = time.perf_counter()
    for i in range(n_steps):
        _, _, terminated, truncated, _ = env.step(actions[i % len(actions)])
        if terminated or truncated:
            env.reset()
    return n_steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default=None, help="write the markdown table here")
    args = parser.parse_args()
    ids = sorted({i for pair in PAIRS for i in pair if i is not None})
    envs = {env_id: gym.make(env_id) for env_id in ids}
    timings: dict[str, list[float]] = {env_id: [] for env_id in ids}
    for repeat in range(args.repeats):  # interleaved, so load changes hit every env alike
        for env_id, env in envs.items():
            timings[env_id].append(steps_per_second(env, args.steps, seed=repeat))
    median = {env_id: float(np.median(values)) for env_id, values in timings.items()}
    rows = ["| env | steps/s (median) | min-max | base env | base steps/s | overhead vs base |",
            "|---|---|---|---|---|---|"]
    for env_id, base in PAIRS:
        spread = f"{min(timings[env_id]):,.0f}-{max(timings[env_id]):,.0f}"
        if base is None:
            rows.append(f"| {env_id} | {median[env_id]:,.0f} | {spread} | - | - | - |")
        else:
            overhead = median[base] / median[env_id] - 1.0
            rows.append(f"| {env_id} | {median[env_id]:,.0f} | {spread} | {base} | {median[base]:,.0f} | "
                        f"{100 * overhead:+.1f}% |")
    command = f"python -m benchmarks.env_speed --steps {args.steps} --repeats {args.repeats}"
    publish(command, rows, args.out)


if __name__ == "__main__":
    main()
