"""What the policy reads from the belief during training: the belief normaliser against the beliefs it
normalises, and the termination probability ``c_t`` at session changes.

Trains benchmark methods (DynaMITE-RL, VariBAD or a variant) with their zoo settings, as
:mod:`benchmarks.run` does. After every rollout, before the normaliser's update, it compares the
rollout's raw belief features ``(mu, logvar, c)`` with the normaliser's statistics. A session change
ending at step ``t - 1`` reaches the encoder at step ``t`` (in ``r_{t-1}`` and ``s_t``), so "at a change"
below means the step after ``info["session_end"]``.
Columns:

- ``drift``: the largest distance, over the ``mu``/``logvar`` dimensions, between the rollout's mean and the
  normaliser's mean, in the normaliser's standard deviations (what the policy sees as a shift of its input);
- ``belief std``: the median over those dimensions of the rollout's standard deviation;
- ``at clip``: the share of the ``mu``/``logvar`` policy inputs that sit at the normaliser's clip;
- ``c std``: the rollout's standard deviation of ``c_t``;
- ``c at change`` / ``c elsewhere``: the mean policy input for ``c_t`` (standardised, or the probability
  itself for ``raw_termination``) at the steps after a session change and at the other steps;
- ``clipped``: the share of steps after a session change whose ``c_t`` input sits at the clip;
- ``c mean`` / ``head bias``: the rollout's mean probability ``c_t`` and the termination head's bias, as a
  probability ``sigmoid(b)``: where ``c mean`` is far below ``sigmoid(b)``, the GRU's features, not the
  bias, carry the rarity of session starts.

Usage::

    python -m benchmarks.belief_diagnostic --methods dynamite drift_norm varibad varibad_drift_norm \\
        --timesteps 102400 --out benchmarks/results/belief_diagnostic.md
"""

from __future__ import annotations

import argparse

import numpy as np
import torch as th
from stable_baselines3.common.callbacks import BaseCallback

from benchmarks.common import publish
from benchmarks.methods import METHODS, build_learner


class BeliefStatistics(BaseCallback):
    """Collects the session-change labels of a rollout and, at its end, the statistics described above."""

    def __init__(self) -> None:
        super().__init__()
        self.session_end: list[np.ndarray] = []
        self.rows: list[dict[str, float]] = []

    def _on_rollout_start(self) -> None:
        self.session_end = []

    def _on_step(self) -> bool:
        self.session_end.append(np.array([bool(info.get("session_end", False)) for info in self.locals["infos"]]))
        return True

    def _on_rollout_end(self) -> None:
        policy, buffer = self.model.policy, self.model.rollout_buffer
        observations, hidden, starts = (th.as_tensor(a, device=policy.device) for a in buffer.step_inputs())
        with th.no_grad():
            inputs, raw = policy.encode_step(observations, hidden, starts)
        raw, inputs = raw.cpu().numpy(), inputs.cpu().numpy()
        ends = np.stack(self.session_end)  # (n_steps, n_envs): the session ended after this step's action
        after_change = np.zeros_like(ends)
        after_change[1:] = ends[:-1] & ~buffer.episode_starts[1:].astype(bool)
        after_change = after_change.ravel()
        normalizer = policy.belief_normalizer
        n_belief = 2 * policy.latent_dim
        row = {"timesteps": float(self.num_timesteps)}
        if bool(normalizer.initialized):
            mean, std = normalizer.mean.cpu().numpy(), np.sqrt(normalizer.var.cpu().numpy() + normalizer.epsilon)
            row["drift"] = float(np.max(np.abs(raw[:, :n_belief].mean(0) - mean[:n_belief]) / std[:n_belief]))
        row["belief std"] = float(np.median(raw[:, :n_belief].std(0)))
        row["at clip"] = float(np.isclose(np.abs(inputs[:, -policy.belief_dim:][:, :n_belief]), normalizer.clip).mean())
        if policy.use_termination:
            c_input = inputs[:, -1]
            row["c std"] = float(raw[:, -1].std())
            row["c at change"] = float(c_input[after_change].mean()) if after_change.any() else float("nan")
            row["c elsewhere"] = float(c_input[~after_change].mean())
            at_clip = np.isclose(np.abs(c_input[after_change]), normalizer.clip)
            row["clipped"] = float(at_clip.mean()) if after_change.any() else float("nan")
            row["c mean"] = float(raw[:, -1].mean())
            row["head bias"] = float(th.sigmoid(policy.features_extractor.termination.bias).item())
        self.rows.append(row)


def diagnose(method: str, env_id: str, seed: int, timesteps: int) -> list[dict[str, float]]:
    model, _, _ = build_learner(METHODS[method], env_id, seed, {})
    statistics = BeliefStatistics()
    model.learn(timesteps, callback=statistics)
    return statistics.rows


def table(method: str, rows: list[dict[str, float]], every: int) -> list[str]:
    columns = ["timesteps", "drift", "belief std", "at clip", "c std", "c at change", "c elsewhere", "clipped",
               "c mean", "head bias"]
    columns = [c for c in columns if any(c in row for row in rows)]
    lines = [f"### {method}", "", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    chosen = rows[::every] + ([rows[-1]] if (len(rows) - 1) % every else [])
    for row in chosen:
        cells = [f"{row['timesteps']:,.0f}"] + [f"{row[c]:.3g}" if c in row else "-" for c in columns[1:]]
        lines.append("| " + " | ".join(cells) + " |")
    return [*lines, ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", default="dlcmdp/HalfCheetahVel-v0")
    parser.add_argument("--methods", nargs="+", default=["dynamite", "drift_norm", "varibad", "varibad_drift_norm"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timesteps", type=int, default=102_400)
    parser.add_argument("--every", type=int, default=4, help="print every k-th rollout")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    th.set_num_threads(1)
    body = [f"{args.env}, seed {args.seed}, {args.timesteps:,} steps; one row per {args.every} rollouts.", ""]
    for method in args.methods:
        body += table(method, diagnose(method, args.env, args.seed, args.timesteps), args.every)
    command = "python -m benchmarks.belief_diagnostic " + " ".join(
        [f"--env {args.env}", "--methods", *args.methods, f"--seed {args.seed}", f"--timesteps {args.timesteps}",
         f"--every {args.every}"] + ([f"--out {args.out}"] if args.out else []))
    publish(command, body, args.out)


if __name__ == "__main__":
    main()
