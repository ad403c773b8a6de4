"""How a policy finds the goal on Reacher with a sparse reward, read from its rollouts.

On ``dlcmdp/Reacher-v0`` the goal sits on one of ``n_goals`` points of a circle (angle ``2 pi k / n``) and moves
one point forward (k + 1) with probability ``forward_prob`` at a session switch, else back. With
``sparse_reward_radius`` the reward says only whether the fingertip is at the goal. Per step of a rollout this
reads the fingertip's angle, whether the step paid and the goal index ``k_t``, and reports:

- ``at goal``: the share of steps that paid;
- ``forward while searching``: among steps that did not pay and moved the fingertip by more than 0.01 rad, the
  share that moved it forward (counter-clockwise, the direction the goal moves with probability 0.8); a policy
  that sweeps the circle one way scores near 1 or 0, one that turns back to where it was scores in between;
- ``recovery``: after each goal move, the steps until a step pays again (censored at the episode's end), split
  by the move's direction; ``recovered`` is the share that paid again before the episode ended.

    python -m benchmarks.reacher_search --results benchmarks/results/sparse_reacher --methods ppo_action_reward \\
        dynamite --seeds 0 1 2 3 4 --episodes 20 --out benchmarks/results/sparse_reacher/search.md

It evaluates each run's kept final model (``seedN.model.*``) with the runner's evaluation on the first
``--episodes`` paired episodes, reading each step as it goes, and refuses a model that does not repeat the run's
recorded returns on them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch as th

COLUMNS = ("at goal", "forward while searching", "recovery after a forward move (median steps)",
           "recovered (forward)", "recovery after a backward move (median steps)", "recovered (backward)")
MOVED = 0.01  # rad per step: slower counts as holding still


def episode_search(angle: np.ndarray, paid: np.ndarray, goal: np.ndarray, n_goals: int) -> dict[str, Any]:
    """Search behaviour of one episode from the fingertip angle after each step, whether that step paid and the
    goal index during it (all shape (T,))."""
    length = len(paid)
    turn = (np.diff(angle, prepend=angle[0]) + np.pi) % (2 * np.pi) - np.pi  # wrapped change per step
    searching = ~paid & (np.abs(turn) > MOVED)
    moves = {"forward": [], "backward": []}
    for t in np.flatnonzero(goal[1:] != goal[:-1]) + 1:  # step t is the first under the moved goal
        direction = "forward" if (goal[t] - goal[t - 1]) % n_goals == 1 else "backward"
        after = np.flatnonzero(paid[t:])
        moves[direction].append((int(after[0]) if len(after) else length - t, len(after) > 0))
    return {"at goal": float(np.mean(paid)), "forward steps": int(np.sum(searching & (turn > 0))),
            "searching steps": int(np.sum(searching)), "moves": moves}


def search_behaviour(episodes: list[dict[str, Any]]) -> dict[str, float]:
    """The table's columns over episodes (shares pooled over steps or moves, medians over moves)."""
    searching = sum(e["searching steps"] for e in episodes)
    row = {"at goal": float(np.mean([e["at goal"] for e in episodes])),
           "forward while searching": sum(e["forward steps"] for e in episodes) / searching if searching else np.nan}
    for direction in ("forward", "backward"):
        moves = [move for e in episodes for move in e["moves"][direction]]
        row[f"recovery after a {direction} move (median steps)"] = (
            float(np.median([steps for steps, _ in moves])) if moves else np.nan)
        row[f"recovered ({direction})"] = float(np.mean([done for _, done in moves])) if moves else np.nan
    return row


def rollouts(model: Any, env_id: str, method: Any, env_kwargs: dict[str, Any], n_episodes: int, n_goals: int
             ) -> tuple[list[dict[str, np.ndarray]], list[float]]:
    """The runner's evaluation of ``model`` (:func:`benchmarks.methods.evaluate`) on ``n_episodes`` paired episodes,
    read per step: fingertip angle, whether the step paid, goal index; both lists in the paired order."""
    from benchmarks.methods import evaluate, paired_order

    steps: dict[int, list[tuple[float, bool, int]]] = {}
    episodes, finished_by = [], []

    def read_step(local: dict[str, Any]) -> None:
        i, info = local["i"], local["info"]
        tip = info["terminal_observation"][6:8] if local["done"] else local["new_observations"][i, 6:8]
        goal = round(np.arctan2(info["latent"][1], info["latent"][0]) / (2 * np.pi / n_goals)) % n_goals
        steps.setdefault(i, []).append((np.arctan2(tip[1], tip[0]), info["reward_dist"] > 0.5, goal))
        if local["done"]:  # fixed horizon: every done is an episode's end, as evaluate counts it
            angle, paid, goal_index = (np.array(column) for column in zip(*steps.pop(i), strict=True))
            episodes.append({"angle": angle, "paid": paid, "goal": goal_index})
            finished_by.append(i)

    returns = evaluate(model, env_id, method, n_episodes, env_kwargs, on_step=read_step)
    return [episodes[j] for j in paired_order(finished_by)], returns


def main(argv: list[str] | None = None) -> None:
    from benchmarks.checkpoint import checkpoint_files, load_model
    from benchmarks.common import machine_header
    from benchmarks.methods import METHODS, build_learner
    from benchmarks.run import run_path
    from sb3_dynamite.common.wrappers import observation_normalizer

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--results", type=Path, required=True, help="results folder (reads its runs/)")
    parser.add_argument("--variant", default="sparse_reward_radius=0.05,reward_control_weight=0.1")
    parser.add_argument("--methods", nargs="+", required=True)
    parser.add_argument("--seeds", nargs="+", type=int, required=True)
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    th.set_num_threads(1)  # as the runner evaluated: other thread counts round the policy's sums differently
    env_id = "dlcmdp/Reacher-v0"
    lines = ["| method | seed | return (these episodes) | " + " | ".join(COLUMNS) + " |",
             "|---|---|---|" + "---|" * len(COLUMNS)]
    for name in args.methods:
        method = METHODS[name]
        for seed in args.seeds:
            path = run_path(args.results / "runs", env_id, args.variant, name, seed)
            record = json.loads(path.read_text())
            learner, _, _ = build_learner(method, env_id, seed, record["env_kwargs"])
            model = load_model(learner, checkpoint_files(path, "model"))
            if observation_normalizer(model) is not None:
                raise SystemExit(f"{path}: the learner normalises its observations; the fingertip would be read "
                                 "normalised. This probe reads raw observations only")
            n_goals = int(record["env_kwargs"].get("n_goals", 8))
            episodes, returns = rollouts(model, env_id, method, record["env_kwargs"], args.episodes, n_goals)
            recorded = record["eval_returns"][:args.episodes]
            if returns != recorded:  # the same evaluation as the run's: the same returns, to the bit
                raise SystemExit(f"{path}: the kept model gives {returns[:3]}, the record {recorded[:3]}: "
                                 "not the model the record reports")
            row = search_behaviour([episode_search(e["angle"], e["paid"], e["goal"], n_goals) for e in episodes])
            cells = [f"{row[c]:.0f}" if "steps" in c else f"{row[c]:.2f}" for c in COLUMNS]
            lines.append(f"| {name} | {seed} | {np.mean(returns):.1f} | " + " | ".join(cells) + " |")
            print(lines[-1], flush=True)
    command = "python -m benchmarks.reacher_search " + " ".join(argv if argv is not None else sys.argv[1:])
    text = machine_header(command) + "\n\n" + "\n".join(lines) + "\n"
    if args.out is not None:
        args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
