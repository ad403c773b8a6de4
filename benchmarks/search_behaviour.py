"""How a policy searches GridWorld and follows its paying goal across sessions, read from its rollouts.

Per episode, from the rewards and the true latent ``k_t`` (which goal pays during transition ``t``): after its
move the agent stands on the paying goal when ``r_t = +1``, on the other goal when ``r_t = 0``, elsewhere at
``-0.1``. So each goal's first visit and each session's recovery can be read without the agent's cells:

- ``on paying goal`` / ``on other goal``: the share of steps that end there (the return's two sources);
- ``first goal at``: the step of the first visit to either goal (censored at the episode's length);
- ``both goals found``: whether both were stood on;
- ``recovery``: after each change of the paying goal (a session switch that flips ``k``), the steps until the
  agent stands on the new paying goal (censored at the episode's end), and whether it got there.

:mod:`benchmarks.goal_memory` reports these beside its memory probes, on the same rollouts.
"""

from __future__ import annotations

import numpy as np

COLUMNS = ("on paying goal", "on other goal", "first goal at (median)", "both goals found",
           "recovery steps (median)", "switches recovered")
STEP_COLUMNS = ("first goal at (median)", "recovery steps (median)")  # counted in steps, the others are shares


def episode_behaviour(reward: np.ndarray, paying: np.ndarray) -> dict[str, object]:
    """Behaviour of one episode from its rewards ``r_t`` and paying-goal indices ``k_t`` (both shape (T,))."""
    length = len(reward)
    paid, unpaid = reward > 0.5, np.abs(reward) < 0.05  # on the paying goal (+1), on the other one (0)
    on_goal = paid | unpaid
    visited = {int(paying[t] if paid[t] else 1 - paying[t]) for t in np.flatnonzero(on_goal)}
    recoveries = []
    for t in np.flatnonzero(paying[1:] != paying[:-1]) + 1:  # transition t is the first under the new goal
        after = np.flatnonzero(paid[t:])
        recoveries.append((int(after[0]) if len(after) else length - t, len(after) > 0))
    return {"on paying goal": float(np.mean(paid)), "on other goal": float(np.mean(unpaid)),
            "first goal at": int(np.argmax(on_goal)) if on_goal.any() else length,
            "both goals found": len(visited) == 2, "recoveries": recoveries}


def behaviour(episodes: list[dict[str, np.ndarray]]) -> dict[str, float]:
    """:data:`COLUMNS` over episodes, each with ``reward`` and ``paying`` arrays."""
    each = [episode_behaviour(e["reward"], e["paying"]) for e in episodes]
    recoveries = [r for b in each for r in b["recoveries"]]
    return {"on paying goal": float(np.mean([b["on paying goal"] for b in each])),
            "on other goal": float(np.mean([b["on other goal"] for b in each])),
            "first goal at (median)": float(np.median([b["first goal at"] for b in each])),
            "both goals found": float(np.mean([b["both goals found"] for b in each])),
            "recovery steps (median)": float(np.median([s for s, _ in recoveries])) if recoveries else np.nan,
            "switches recovered": float(np.mean([ok for _, ok in recoveries])) if recoveries else np.nan}


def table_cells(values: dict[str, float]) -> list[str]:
    """:func:`behaviour`'s values as table cells, in :data:`COLUMNS` order: steps whole, shares to 2 decimals."""
    return [f"{values[c]:.0f}" if c in STEP_COLUMNS else f"{values[c]:.2f}" for c in COLUMNS]
