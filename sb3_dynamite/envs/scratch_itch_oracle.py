"""A scripted oracle for ``dlcmdp/ScratchItch-v0``: knows the itch (``oracle=True`` observation) and scratches it.

It uses only the observation: the joint angles drive a private kinematic copy of the scene (the same
MJCF) for forward kinematics and Jacobians, and the person's shoulder / elbow / wrist positions give the
limb's axis and surface normal at the itch.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import mujoco
import numpy as np

from sb3_dynamite.envs.scratch_itch import ACTION_SCALE, ASSET_PATH, N_JOINTS, OBS_DIM
from sb3_dynamite.envs.scripted import ScriptedPolicy

# observation slices (see ScratchItchEnv); the oracle observation ends with the itch position
TIP, JOINTS, HUMAN, TOOL_FORCE = slice(0, 3), slice(7, 7 + N_JOINTS), slice(21, 30), 30


class ScratchItchOracle(ScriptedPolicy):
    """Approach the itch along its surface normal, then stroke back and forth across it along the limb.

    Each step, from the observation alone:

    - tip near the itch (laterally within ``engage_radius``, at most ``hover + 2 cm`` above it): aim at the
      other side of the itch along the limb axis (``stroke`` from it), ``depth`` below the skin, so that
      consecutive contacts are about ``2 * stroke`` apart; if the last step ended without tool contact
      (observed tool force 0) while at the skin, press down where the tip is instead;
    - tip touching the limb away from the itch: lift it off along the limb's normal;
    - otherwise: move (at most ``max_step`` per step) to ``hover`` above the itch.

    A target becomes joint-position deltas by a few damped-least-squares IK iterations on the tip position
    and the tool axis (pointing into the skin) in a private kinematic model. Stateless: ``state`` is returned
    unchanged and ``episode_start`` is ignored.

    :param action_space: the env's action space (``Box(-1, 1, (7,))`` when None).
    :param hover: height above the itch to approach (m).
    :param depth: how far below the skin the tip is aimed while scratching (m); sets the force (~2-5 N).
    :param stroke: half stroke length (m).
    :param max_step: largest Cartesian move asked per step while approaching (m).
    :param engage_radius: lateral distance from the itch within which the oracle scratches (m).
    :param damping: damping of the least-squares IK.
    :param rot_weight: weight of the tool-axis error against the position error (m/rad).
    :param ik_iterations: IK iterations per step.
    """

    observes = "oracle"

    def __init__(self, action_space: gym.Space | None = None, hover: float = 0.04, depth: float = 0.003,
                 stroke: float = 0.012, max_step: float = 0.05, engage_radius: float = 0.03, damping: float = 0.01,
                 rot_weight: float = 0.2, ik_iterations: int = 5) -> None:
        super().__init__(action_space or gym.spaces.Box(-1.0, 1.0, shape=(N_JOINTS,), dtype=np.float32))
        self.hover, self.depth, self.stroke, self.max_step = hover, depth, stroke, max_step
        self.engage_radius, self.damping, self.rot_weight = engage_radius, damping, rot_weight
        self.ik_iterations = ik_iterations
        self.model = mujoco.MjModel.from_xml_path(ASSET_PATH)
        self.data = mujoco.MjData(self.model)
        self._tip_id = self.model.site("tool_tip").id
        self._tool_id = self.model.body("tool").id
        self._radius = np.array([self.model.geom(g).size[0] for g in ("h_upper_arm", "h_forearm")])
        self._jacp = np.zeros((3, self.model.nv))
        self._jacr = np.zeros((3, self.model.nv))
        self._q_low, self._q_high = self.model.jnt_range[:N_JOINTS].T

    def _act(self, observation: np.ndarray, state: Any, episode_start: np.ndarray) -> tuple[np.ndarray, Any]:
        observation = np.asarray(observation, dtype=np.float64)
        if observation.shape[-1] != OBS_DIM + 3:
            raise ValueError(f"the oracle needs ScratchItch's oracle observation ({OBS_DIM + 3} entries, env made "
                             f"with oracle=True), got shape {observation.shape}")
        return np.stack([self.act(obs) for obs in observation]).astype(np.float32), state

    @staticmethod
    def _limb_frame(point: np.ndarray, joints: np.ndarray) -> tuple[int, np.ndarray, np.ndarray, float]:
        """Nearest limb (0 upper arm, 1 forearm) to ``point``: index, unit axis, unit outward normal, distance
        of ``point`` from the limb axis."""
        best = None
        for limb in range(2):
            start, end = joints[limb], joints[limb + 1]
            axis = (end - start) / np.linalg.norm(end - start)
            along = np.clip((point - start) @ axis, 0.0, np.linalg.norm(end - start))
            offset = point - (start + along * axis)
            dist = float(np.linalg.norm(offset))
            if best is None or dist < best[3]:
                best = (limb, axis, offset / max(dist, 1e-9), dist)
        return best

    def act(self, obs: np.ndarray) -> np.ndarray:
        """The action for one oracle observation."""
        tip, q, itch = obs[TIP], obs[JOINTS], obs[-3:]
        joints = obs[HUMAN].reshape(3, 3)
        _, axis, normal, _ = self._limb_frame(itch, joints)
        rel = tip - itch
        height = float(rel @ normal)
        lateral = float(np.linalg.norm(rel - height * normal))
        tip_limb, _, tip_normal, tip_dist = self._limb_frame(tip, joints)
        if lateral < self.engage_radius and height < self.hover + 0.02:
            along = float(rel @ axis)
            if obs[TOOL_FORCE] <= 0.0 and height < 0.01:
                target = itch + along * axis - self.depth * normal  # the stroke lost contact: press down here
            else:
                target = itch + (-self.stroke if along > 0 else self.stroke) * axis - self.depth * normal
            return self._joint_step(q, target, -normal)
        if tip_dist - self._radius[tip_limb] < 0.02:
            target = tip + 0.05 * tip_normal  # touching the limb away from the itch: lift off first
        else:
            target = itch + self.hover * normal
            error = target - tip
            if np.linalg.norm(error) > self.max_step:
                target = tip + self.max_step * error / np.linalg.norm(error)
        return self._joint_step(q, target, -normal)

    def _joint_step(self, q: np.ndarray, target: np.ndarray, tool_axis: np.ndarray) -> np.ndarray:
        """A few damped-least-squares iterations towards the tip target and tool axis, from ``q``; the
        joint change as an action in [-1, 1] (scaled down as a whole if a joint would exceed 0.25 rad)."""
        model, data = self.model, self.data
        q_target = q.copy()
        for _ in range(self.ik_iterations):
            data.qpos[:] = q_target
            mujoco.mj_kinematics(model, data)
            mujoco.mj_comPos(model, data)
            mujoco.mj_jacSite(model, data, self._jacp, self._jacr, self._tip_id)
            current_axis = data.xmat[self._tool_id].reshape(3, 3)[:, 0]
            error = np.concatenate([target - data.site_xpos[self._tip_id],
                                    self.rot_weight * np.cross(current_axis, tool_axis)])
            jac = np.vstack([self._jacp, self.rot_weight * self._jacr])
            q_target += jac.T @ np.linalg.solve(jac @ jac.T + self.damping**2 * np.eye(6), error)
            q_target = np.clip(q_target, self._q_low, self._q_high)
        action = (q_target - q) / ACTION_SCALE
        return action / max(1.0, float(np.abs(action).max()))
