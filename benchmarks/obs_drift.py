"""How far the observation normaliser moves while a learner trains: the scale mismatch of the VAE's stored episodes.

Under ``VecNormalize(norm_obs=True)`` a belief method's stored episodes (the last ``vae_buffer_size``; 400k steps
on the HalfCheetahs) keep the statistics of the rollout that collected them, unless ``vae_store_raw=True``. This
trains a method with its zoo settings and keeps the normaliser's mean and standard deviation after every rollout.
For data collected ``a`` steps before step ``T`` it reports how far the normalised value of a typical observation
(``x = mu_T + z sigma_T``, ``z ~ N(0, 1)``) lies from where today's statistics put it: per feature, the root mean
square over ``z`` of ``(x - mu_t) / sigma_t - (x - mu_T) / sigma_T``, which is
``sqrt((sigma_T / sigma_t - 1)^2 + ((mu_T - mu_t) / sigma_t)^2)`` with ``t = T - a``; the median and the maximum
over the features of ``x_t = (s_t, a_{t-1}, r_{t-1})``. Usage::

    python -m benchmarks.obs_drift --method dynamite --env dlcmdp/HalfCheetahVel-v0 --timesteps 1000000 \\
        --out benchmarks/results/obs_drift.md
"""

from __future__ import annotations

import argparse

import numpy as np
import torch as th
from stable_baselines3.common.callbacks import BaseCallback

from benchmarks.common import publish
from benchmarks.methods import METHODS, build_learner


class NormaliserHistory(BaseCallback):
    """The observation normaliser's ``(step, mean, std)`` after every rollout."""

    def __init__(self) -> None:
        super().__init__()
        self.history: list[tuple[int, np.ndarray, np.ndarray]] = []

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        normalizer = self.model.get_vec_normalize_env()
        rms = normalizer.obs_rms
        self.history.append((self.num_timesteps, rms.mean.copy(), np.sqrt(rms.var + normalizer.epsilon)))


def shift(then: tuple[np.ndarray, np.ndarray], now: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Per feature: the RMS distance, over today's typical observations, between their normalised values under the
    statistics ``then`` and ``now`` (each a ``(mean, std)`` pair)."""
    (mean_t, std_t), (mean_now, std_now) = then, now
    return np.sqrt((std_now / std_t - 1) ** 2 + ((mean_now - mean_t) / std_t) ** 2)


def drift_table(history: list[tuple[int, np.ndarray, np.ndarray]], at: list[int], ages: list[int]) -> list[str]:
    """Markdown rows: at each step ``T`` of ``at``, the median (max) shift of data ``a`` steps old, for ``ages``."""
    steps = np.array([step for step, _, _ in history])
    lines = ["| step T | " + " | ".join(f"data {age:,} steps old" for age in ages) + " |",
             "|---|" + "---|" * len(ages)]
    for target in at:
        now = int(np.argmin(np.abs(steps - target)))
        cells = []
        for age in ages:
            if steps[now] - age < steps[0]:
                cells.append("-")
                continue
            then = int(np.argmin(np.abs(steps - (steps[now] - age))))
            values = shift(history[then][1:], history[now][1:])
            cells.append(f"{np.median(values):.2f} ({values.max():.2f})")
        lines.append(f"| {steps[now]:,} | " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--method", default="dynamite")
    parser.add_argument("--env", default="dlcmdp/HalfCheetahVel-v0")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timesteps", type=int, default=1_000_000)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    th.set_num_threads(1)
    model, _, _ = build_learner(METHODS[args.method], args.env, args.seed, {})
    normalizer = model.get_vec_normalize_env()
    if normalizer is None or not normalizer.norm_obs:
        raise SystemExit(f"{args.method} does not normalise observations on {args.env}: nothing drifts")
    history = NormaliserHistory()
    model.learn(args.timesteps, callback=history)
    at = [step for step in (100_000, 200_000, 400_000, 600_000, 800_000, 1_000_000) if step <= args.timesteps]
    ages = [50_000, 100_000, 200_000, 400_000]
    body = [f"{args.method} on {args.env}, seed {args.seed}, {args.timesteps:,} steps. Shift of a typical normalised "
            "feature between the statistics of then and of step T, in today's standard deviations: median over the "
            f"{len(history.history[0][1])} features (their maximum).", "", *drift_table(history.history, at, ages)]
    command = (f"python -m benchmarks.obs_drift --method {args.method} --env {args.env} --seed {args.seed} "
               f"--timesteps {args.timesteps}" + (f" --out {args.out}" if args.out else ""))
    publish(command, body, args.out)


if __name__ == "__main__":
    main()
