"""Reacher whose goal moves around a circle between sessions, built on gymnasium's Reacher-v5."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces, utils
from gymnasium.envs.mujoco.reacher_v5 import ReacherEnv

from sb3_dynamite.envs.dlcmdp import DLCMDPMixin, MarkovChainLatent


def circular_goal_chain(n_goals: int, radius: float, forward_prob: float) -> MarkovChainLatent:
    """Goals at ``n_goals`` points of a circle; at a switch one point forward w.p. ``forward_prob``, else back."""
    if int(n_goals) < 2:
        raise ValueError(f"n_goals must be at least 2, got {n_goals}")
    if not 0.0 <= forward_prob <= 1.0:
        raise ValueError(f"forward_prob must be in [0, 1], got {forward_prob}")
    n_goals = int(n_goals)
    angles = 2.0 * np.pi * np.arange(n_goals) / n_goals
    values = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    matrix = np.zeros((n_goals, n_goals))
    for k in range(n_goals):
        matrix[k, (k + 1) % n_goals] += forward_prob
        matrix[k, (k - 1) % n_goals] += 1.0 - forward_prob
    return MarkovChainLatent(values, matrix)


class ReacherDLCMDPEnv(DLCMDPMixin, ReacherEnv):
    """
    ## Description
    gymnasium's Reacher-v5 two-link arm, with the goal on one of ``n_goals`` points of a circle of
    radius ``goal_radius`` (inside the 0.21 m reach). At a session switch the goal moves one point
    forward with probability ``forward_prob`` and one point back otherwise. The arm is not reset.

    ## Observation Space (8, float64)
    ``cos(q1), cos(q2), sin(q1), sin(q2), dq1, dq2, fingertip x, fingertip y`` -- Reacher-v5's target
    position and fingertip-target vector are removed (they would reveal the latent).
    ``oracle=True`` appends the goal (x, y).

    ## Action Space
    ``Box(-1, 1, (2,))`` joint torques, as Reacher-v5.

    ## Latent
    The goal (x, y); ``nu_0`` uniform over the points. ``info["latent"]`` is the goal.

    ## Rewards
    ``-||fingertip - goal|| - reward_control_weight * ||a||^2`` (Reacher-v5's effective default weight 1).
    With ``sparse_reward_radius`` set, the distance term is 1 while ``||fingertip - goal||`` is at most that
    radius and 0 otherwise: the last reward then says whether the fingertip is at the goal, not where the goal is.

    ## Episode End
    Truncation after ``H = 200`` steps (4 s), never termination.

    ## Arguments
    | argument                | default | description                                      |
    |-------------------------|---------|--------------------------------------------------|
    | `switch_prob`           | 0.02    | probability ``p`` that a session ends after a step |
    | `n_goals`               | 8       | points on the circle                              |
    | `goal_radius`           | 0.15    | circle radius (m)                                 |
    | `forward_prob`          | 0.8     | probability that the goal moves forward at a switch |
    | `reward_control_weight` | 1.0     | weight of the control cost                        |
    | `sparse_reward_radius`  | None    | if set: reward 1 within this distance of the goal, else 0 |
    | `oracle`                | False   | append the goal to the observation                |

    ## Version History
    * v0: initial release.
    """

    def __init__(
        self,
        switch_prob: float = 0.02,
        n_goals: int = 8,
        goal_radius: float = 0.15,
        forward_prob: float = 0.8,
        reward_control_weight: float = 1.0,
        oracle: bool = False,
        sparse_reward_radius: float | None = None,
        **kwargs: Any,
    ) -> None:
        if not 0.0 < goal_radius <= 0.2:
            raise ValueError(f"goal_radius must be in (0, 0.2] (the arm reaches 0.21 m), got {goal_radius}")
        if sparse_reward_radius is not None and not 0.0 < sparse_reward_radius <= 0.2:
            raise ValueError(
                f"sparse_reward_radius must be in (0, 0.2] m, or None for the dense reward; got {sparse_reward_radius}"
            )
        self._sparse_reward_radius = sparse_reward_radius
        self._setup_sessions(circular_goal_chain(n_goals, goal_radius, forward_prob), switch_prob, oracle)
        ReacherEnv.__init__(self, reward_control_weight=reward_control_weight, **kwargs)
        utils.EzPickle.__init__(
            self, switch_prob, n_goals, goal_radius, forward_prob, reward_control_weight, oracle,
            sparse_reward_radius, **kwargs
        )
        self.observation_space = self._oracle_space(spaces.Box(-np.inf, np.inf, shape=(8,), dtype=np.float64))
        self._fingertip = self.data.body("fingertip").xpos

    def _on_session_change(self) -> None:
        # move the (collision-free) target body so that renders show the current goal
        if hasattr(self, "data"):
            self.data.qpos[2:4] = self.latent
            self.data.qvel[2:4] = 0.0
            self.goal = self.latent.astype(np.float64)

    def _get_obs(self) -> np.ndarray:
        qpos, qvel = self.data.qpos, self.data.qvel
        obs = np.array(
            [np.cos(qpos[0]), np.cos(qpos[1]), np.sin(qpos[0]), np.sin(qpos[1]),
             qvel[0], qvel[1], self._fingertip[0], self._fingertip[1]]
        )
        return self._with_latent(obs)

    def reset_model(self) -> np.ndarray:
        qpos = self.init_qpos + self.np_random.uniform(low=-0.1, high=0.1, size=self.model.nq)
        qvel = self.init_qvel + self.np_random.uniform(low=-0.005, high=0.005, size=self.model.nv)
        qpos[2:4] = self.latent
        qvel[2:4] = 0.0
        self.set_state(qpos, qvel)
        return self._get_obs()

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        # the latent must exist before reset_model places the target
        info = self._reset_sessions(seed, options)
        obs, _ = super().reset(seed=seed)
        return obs, info

    def step(self, action: np.ndarray):
        self.do_simulation(action, self.frame_skip)
        distance = float(np.linalg.norm(self._fingertip[:2] - self.latent))
        if self._sparse_reward_radius is None:
            reward_dist = -distance
        else:
            reward_dist = float(distance <= self._sparse_reward_radius)
        reward_ctrl = -float(np.square(action).sum()) * self._reward_control_weight
        info = self._end_step()
        info["reward_dist"] = reward_dist
        info["reward_ctrl"] = reward_ctrl
        return self._get_obs(), reward_dist + reward_ctrl, False, False, info
