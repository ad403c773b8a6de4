"""Does the belief remember GridWorld's hidden goal cells? Linear probes on what the policy could read.

Trains belief methods with their zoo settings (as :mod:`benchmarks.run` does) on GridWorld with hidden goal
cells (``observe_goals=False``), rolls each out on fresh episodes (deterministic actions) and fits one linear
probe per feature set to say which cells are goals: a logistic score per cell, fitted on half of the episodes
and scored on the other half. Feature sets:

- ``belief``: ``[mu_t, logvar_t]``, the posterior that the reward decoder and the policy read;
- ``GRU state``: ``h_t``, what the belief heads read (the encoder's whole memory);
- ``input``: ``x_t = (s_t, a_{t-1}, r_{t-1})``, no memory: the floor;
- ``visit memory``: hand-made, for each cell whether the agent has stood on it and whether its reward there
  was a goal's (0 or +1): what a perfect memory of the episode so far holds, read linearly: the ceiling.

Readouts without a probe, through the model's own reward decoder at ``z = mu_t`` (the cells ranked by the reward
it decodes there; the paying goal pays +1, the other 0, every other cell -0.1, so both goals outrank the rest):

- ``decoder, staying``: the reward of staying on the cell, ``(s, stay, s)``;
- ``decoder, arriving``: the reward of stepping onto the cell from a neighbour, averaged over the neighbours.

A decoder that reads ``(s_j, a_j, s_{j+1})`` can explain the +1 of staying on the paying goal by the action
alone (the policy stays nowhere else) and leave arrivals unexplained: then ``staying`` ranks cells by where the
policy stays, and ``arriving`` is what memory of the goals would show.

Score (``remembered goal in top 2``): over the steps after the agent first stood on a goal cell, while it stands
elsewhere (so ``s_t`` and ``r_{t-1}`` cannot reveal it), the share where that cell is among the probe's two
highest-scored cells; chance is 2/24. Each model's return is also given on Table 1's 25 paired evaluation
episodes (what :mod:`benchmarks.run` records), and a second table says how the policy searches and follows the
paying goal on the scored episodes (:mod:`benchmarks.search_behaviour`). Usage::

    python -m benchmarks.goal_memory --methods dynamite varibad --seed 0 --out benchmarks/results/goal_memory.md
"""

from __future__ import annotations

import argparse
from typing import Any

import gymnasium as gym
import numpy as np
import torch as th

from benchmarks import search_behaviour
from benchmarks.common import publish
from benchmarks.methods import EVAL_EPISODES, METHODS, build_learner, evaluate, requested_budget
from sb3_dynamite.envs.gridworld import MOVES
from sb3_dynamite.evaluation import rollout_traces

ENV_ID = "dlcmdp/GridWorld-v0"
HIDDEN = {"observe_goals": False}
FEATURES = ("belief", "GRU state", "input", "visit memory")
READOUTS = ("decoder, staying", "decoder, arriving")


def decoder_readouts(model: Any, belief_mean: np.ndarray, size: int) -> dict[str, np.ndarray]:
    """(T, size^2) decoded reward of staying on every cell and of arriving on it (mean over its neighbours)."""
    policy = model.policy
    cells = np.array([[x, y] for y in range(size) for x in range(size)], dtype=np.int64)  # index x + size * y
    mu = th.as_tensor(belief_mean, dtype=th.float32, device=policy.device)
    eye = th.eye(len(MOVES), device=policy.device)

    def decoded(before: np.ndarray, move: int) -> th.Tensor:  # (T,) decoded reward of before + MOVES[move]
        n = len(mu)
        state = th.as_tensor(before, dtype=th.float32, device=policy.device).expand(n, 2)
        after = th.as_tensor(before + MOVES[move], dtype=th.float32, device=policy.device).expand(n, 2)
        return policy.reward_decoder(state, eye[move].expand(n, -1), after, mu)

    staying, arriving = [], []
    with th.no_grad():
        for cell in cells:
            staying.append(decoded(cell, 0))
            into = [decoded(cell - MOVES[m], m) for m in range(1, len(MOVES))
                    if np.all((cell - MOVES[m] >= 0) & (cell - MOVES[m] < size))]
            arriving.append(th.stack(into).mean(0))
    return {"decoder, staying": th.stack(staying, 1).cpu().numpy(),
            "decoder, arriving": th.stack(arriving, 1).cpu().numpy()}


def rollouts(model: Any, n_episodes: int, first_seed: int) -> list[dict[str, np.ndarray]]:
    """Per episode (:func:`sb3_dynamite.evaluation.rollout_traces`, deterministic): the feature sets of every step,
    the decoder readouts, the agent's cell, the two goal cells (as cell indices), the return, and the rewards and
    paying-goal indices that :mod:`benchmarks.search_behaviour` reads."""
    env = gym.make(ENV_ID, **HIDDEN)  # the same reset seed draws the same goal cells
    size = env.unwrapped.size
    episodes = []
    for trace in rollout_traces(model, ENV_ID, n_episodes, first_seed, env_kwargs=HIDDEN):
        env.reset(seed=trace.seed)
        goals = np.array([x + size * y for x, y in env.unwrapped.goals])
        cells = (trace.observation[:, 0] + size * trace.observation[:, 1]).astype(np.int64)
        memory = np.zeros((len(trace), 2, size * size), dtype=np.float32)  # stood on the cell; its reward was a goal's
        for t, cell in enumerate(cells):
            memory[t:, 0, cell] = 1.0
            if trace.observation[t, -1] >= 0.0 and cell != 0:  # arrived with 0 or +1: a goal (never the start cell)
                memory[t:, 1, cell] = 1.0
        episodes.append({"belief": np.concatenate([trace.belief_mean, trace.belief_logvar], axis=1),
                         "GRU state": trace.gru_state, "input": trace.observation,
                         "visit memory": memory.reshape(len(trace), -1), "cell": cells, "goals": goals,
                         "return": trace.episode_return, "reward": trace.reward,
                         "paying": trace.latent[:, 0].astype(np.int64),
                         **decoder_readouts(model, trace.belief_mean, size)})
    env.close()
    return episodes


def fit_probe(features: np.ndarray, targets: np.ndarray, steps: int = 500) -> tuple[th.nn.Linear, np.ndarray,
                                                                                          np.ndarray]:
    """A logistic score per cell (multi-label: the two goal cells are 1) on standardised features."""
    mean, std = features.mean(0), features.std(0)
    std = np.where(std > 1e-6, std, 1.0)  # a feature constant in the fitted episodes stays as it is
    x, y = th.as_tensor((features - mean) / std), th.as_tensor(targets)
    probe = th.nn.Linear(x.shape[1], y.shape[1])
    optimiser = th.optim.Adam(probe.parameters(), lr=0.05, weight_decay=1e-4)
    for _ in range(steps):
        loss = th.nn.functional.binary_cross_entropy_with_logits(probe(x), y)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return probe, mean, std


def goal_targets(episode: dict[str, np.ndarray], n_cells: int) -> np.ndarray:
    target = np.zeros((len(episode["cell"]), n_cells), dtype=np.float32)
    target[:, episode["goals"]] = 1.0
    return target


def remembered_goal_score(scores: np.ndarray, episode: dict[str, np.ndarray]) -> tuple[int, int]:
    """(hits, cases): steps after the agent first stood on a goal cell, standing elsewhere, where that cell is
    among the two highest scores."""
    hits = cases = 0
    top2 = np.argsort(-scores, axis=1)[:, :2]
    for goal in episode["goals"]:
        visits = np.flatnonzero(episode["cell"] == goal)
        if len(visits) == 0:
            continue
        for t in range(visits[0] + 1, len(episode["cell"])):
            if episode["cell"][t] != goal:
                cases += 1
                hits += int(goal in top2[t])
    return hits, cases


def probe_scores(episodes: list[dict[str, np.ndarray]], n_cells: int) -> dict[str, float]:
    half = len(episodes) // 2
    train, test = episodes[:half], episodes[half:]
    result = {}
    for name in FEATURES:
        probe, mean, std = fit_probe(np.concatenate([e[name] for e in train]),
                                     np.concatenate([goal_targets(e, n_cells) for e in train]))
        hits = cases = 0
        for episode in test:
            with th.no_grad():
                scores = probe(th.as_tensor((episode[name] - mean) / std)).numpy()
            h, c = remembered_goal_score(scores, episode)
            hits, cases = hits + h, cases + c
        result[name] = hits / max(cases, 1)
        result["cases"] = cases
    for name in READOUTS:
        hits, cases = np.sum([remembered_goal_score(e[name], e) for e in test], axis=0)
        result[name] = hits / max(cases, 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--methods", nargs="+", default=["dynamite", "varibad"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timesteps", type=int, default=None, help="default: the benchmark budget (500k)")
    parser.add_argument("--episodes", type=int, default=200, help="rollouts, half to fit and half to score")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    th.set_num_threads(1)
    th.manual_seed(args.seed)
    columns = (*FEATURES, *READOUTS)
    rows = [f"| method | return (scored episodes) | return (Table 1's {EVAL_EPISODES} paired episodes) | "
            + " | ".join(columns) + " | cases |", "|---|---|---|" + "---|" * (len(columns) + 1)]
    acts = ["| method | " + " | ".join(search_behaviour.COLUMNS) + " |",
            "|---|" + "---|" * len(search_behaviour.COLUMNS)]
    for name in args.methods:
        method = METHODS[name]
        model, _, _ = build_learner(method, ENV_ID, args.seed, HIDDEN)
        budget = args.timesteps or requested_budget(method, ENV_ID, None, 1.0)
        model.learn(budget)
        episodes = rollouts(model, args.episodes, first_seed=50_000)
        scores = probe_scores(episodes, n_cells=episodes[0]["visit memory"].shape[1] // 2)  # 2 flags per cell
        scored = episodes[len(episodes) // 2:]  # the half the probes are scored on
        returns = np.mean([e["return"] for e in scored])
        paired = np.mean(evaluate(model, ENV_ID, method, EVAL_EPISODES, HIDDEN))  # the benchmark's evaluation
        rows.append(f"| {name} | {returns:.1f} | {paired:.1f} | " + " | ".join(f"{scores[f]:.2f}" for f in columns)
                    + f" | {scores['cases']:,} |")
        print(rows[-1], flush=True)
        acts.append(f"| {name} | " + " | ".join(search_behaviour.table_cells(search_behaviour.behaviour(scored)))
                    + " |")
        print(acts[-1], flush=True)
    command = "python -m benchmarks.goal_memory " + " ".join(
        ["--methods", *args.methods, f"--seed {args.seed}", f"--episodes {args.episodes}"]
        + ([f"--timesteps {args.timesteps}"] if args.timesteps else []) + ([f"--out {args.out}"] if args.out else []))
    body = [f"{ENV_ID} with hidden goal cells, training seed {args.seed}; {args.episodes} rollouts (seeds 50,000 on), "
            "probes fitted on the first half and scored on the second. Score: the share of steps after the agent "
            "first stood on a goal cell, standing elsewhere, where that cell is among the probe's two top cells "
            "(chance 2/24 = 0.08); the decoder columns rank the cells by the reward the model's decoder gives "
            "staying on, or stepping onto, each (no probe; scored on the same half).", "", *rows, "",
            "How the policy acts on the scored episodes (benchmarks/search_behaviour.py): the share of steps ending on "
            "the paying and on the other goal, the median step of the first goal visit, the share of episodes that "
            "stand on both goals, and after each change of the paying goal the median steps until the agent stands "
            "on the new one (censored at the episode's end) and the share of changes it gets there.", "", *acts]
    publish(command, body, args.out)


if __name__ == "__main__":
    main()
