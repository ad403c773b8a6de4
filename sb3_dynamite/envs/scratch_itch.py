"""ScratchItch: a robot arm scratches an itch on a seated person's arm; the itch moves between sessions.

A self-authored MuJoCo replacement of assistive-gym's ScratchItch (the scene is built from primitives in
``assets/scratch_itch.xml``), with the itch position as the DLCMDP latent and hidden from the observation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import mujoco
import numpy as np
from gymnasium import spaces, utils
from gymnasium.envs.mujoco.mujoco_env import MujocoEnv

from sb3_dynamite.envs.dlcmdp import DLCMDPMixin, MarkovChainLatent, check_switch_prob

#: the MJCF scene (also loaded by :mod:`sb3_dynamite.envs.scratch_itch_oracle` for its kinematic model)
ASSET_PATH = str(Path(__file__).resolve().parent / "assets" / "scratch_itch.xml")
N_JOINTS = 7
#: joint-position delta (rad) per env step at |a| = 1
ACTION_SCALE = 0.25
#: the arm's start configuration (tool tip ~20 cm from the nearest itch site, pointing at the arm, no contact)
READY_QPOS = np.array([-0.6, 0.2, -1.2, -2.0, 0.45, 1.5, 0.0])
#: axial fractions of the itch sites along the upper arm (shoulder -> elbow) and the forearm (elbow -> wrist)
ITCH_FRACTIONS = (0.2, 0.4, 0.6, 0.8)
SCRATCH_RADIUS = 0.025  # a contact counts for the itch within this distance (m)
SCRATCH_MIN_MOVE = 0.01  # the contact point must move this far since the last rewarded one (m)
FORCE_LIMIT = 10.0  # a scratch needs less force than this at the itch; more is penalised (N)
SCRATCH_REWARD = 5.0
# observation layout: tip (3), tool quaternion (4), q (7), dq (7), human shoulder/elbow/wrist (9), forces (2)
OBS_DIM = 3 + 4 + N_JOINTS + N_JOINTS + 9 + 2
DEFAULT_CAMERA_CONFIG = {"distance": 2.0, "azimuth": 150.0, "elevation": -20.0, "lookat": np.array([0.1, -0.55, 0.8])}


def _check_number(name: str, value: Any, low: float, high: float, integer: bool = False) -> None:
    """Raise a ValueError naming ``name`` unless ``value`` is a (integer if asked) number in [low, high]."""
    kinds = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    if isinstance(value, bool) or not isinstance(value, kinds) or not low <= value <= high:
        kind = "an integer" if integer else "a number"
        raise ValueError(f"{name} must be {kind} in [{low}, {high}], got {value!r}")


def itch_sites(model: mujoco.MjModel, data: mujoco.MjData) -> np.ndarray:
    """The 8 itch positions (world, (8, 3)): on the right upper arm then forearm, at :data:`ITCH_FRACTIONS`
    of each limb's length, on the limb surface along the direction that faces the robot's shoulder.
    ``data`` must hold the model's kinematics (``mj_kinematics``)."""
    shoulder, elbow, wrist = (data.site(name).xpos.copy() for name in ("h_shoulder", "h_elbow", "h_wrist"))
    robot = data.body("shoulder_lift_link").xpos
    sites = []
    for start, end, geom in ((shoulder, elbow, "h_upper_arm"), (elbow, wrist, "h_forearm")):
        axis = (end - start) / np.linalg.norm(end - start)
        for fraction in ITCH_FRACTIONS:
            point = start + fraction * (end - start)
            normal = robot - point
            normal -= axis * (normal @ axis)
            sites.append(point + model.geom(geom).size[0] * normal / np.linalg.norm(normal))
    return np.array(sites, dtype=np.float32)


def itch_chain(sites: np.ndarray, migrate_prob: float) -> MarkovChainLatent:
    """Latent chain over the sites (ordered along the arm): at a switch the itch moves to a neighbouring
    site w.p. ``migrate_prob`` (split over the neighbours), else to a uniformly drawn other site."""
    n_sites = len(sites)
    matrix = np.full((n_sites, n_sites), (1.0 - migrate_prob) / (n_sites - 1))
    np.fill_diagonal(matrix, 0.0)
    for k in range(n_sites):
        neighbours = [j for j in (k - 1, k + 1) if 0 <= j < n_sites]
        matrix[k, neighbours] += migrate_prob / len(neighbours)
    return MarkovChainLatent(sites, matrix)


class ScratchItchEnv(DLCMDPMixin, MujocoEnv, utils.EzPickle):
    """
    ## Description
    A seated, static person made of capsules and a 7-DoF PR2-like arm on a pedestal at the person's right,
    holding a scratcher (10 cm stick with a 1 cm tip sphere). The person has an itch at one of 8 sites on
    the right upper arm / forearm; the robot must find it (it is not observed), move the tool tip there and
    scratch with gentle back-and-forth strokes. Between sessions the itch migrates; the arm is not reset.
    Scene, kinematics and reward follow assistive-gym's ScratchItch (re-authored from primitives for MuJoCo).

    ## Observation Space (32, float64)
    World frame: tool tip position (3), tool orientation quaternion (4, w first), joint angles (7, every
    joint is limited within [-pi, pi] so no wrapping is needed), joint velocities (7), the person's right
    shoulder / elbow / wrist positions (9, constant: the person is static), total contact force on the tool
    (1) and total force of the robot and tool on the person (1) (N, sums of contact normal forces; they
    differ only when a robot link touches the person). No itch information. ``oracle=True`` appends the
    itch position (3).

    ## Action Space
    ``Box(-1, 1, (7,))`` joint-position deltas: the servo targets are ``clip(q + 0.25 a, joint limits)``
    (0.25 rad per step at most), tracked by critically damped position actuators.

    ## Latent
    The itch position (world xyz), one of 8 sites: on the upper arm and on the forearm at 0.2, 0.4, 0.6,
    0.8 of the limb's length, on the limb surface facing the robot. ``nu_0`` uniform; at a switch the itch
    moves to a neighbouring site along the arm w.p. ``migrate_prob`` (0.7) and to one of the other sites
    uniformly otherwise (never stays). ``info["latent"]`` is the itch position; ``reset(options={"latent":
    k})`` forces site ``k``. The itch enters the reward only: the dynamics do not depend on it.

    ## Rewards
    ``-||tip - itch|| - 0.01 ||a|| + 5 * scratch - 0.25 ||v_tip|| - 0.01 (F_human - F_itch)
    - 0.05 F_itch [F_itch >= 10 N]`` with ``tip`` the outer end of the tip sphere (site ``tool_tip``),
    ``v_tip`` its mean velocity over the step, ``F_human`` the
    force of the robot and tool on the person and ``F_itch`` the tool's force within 2.5 cm of the itch. A
    scratch is a tool contact within 2.5 cm of the itch, with ``F_itch < 10 N``, whose point (the tool
    contact nearest to the itch) is more than 1 cm away from the last rewarded one of the session (at most
    one scratch per step). An oracle that strokes across the itch scratches on almost every step.

    ## Episode End
    Truncation after ``H = 200`` steps (20 s, registration), never termination. ``info`` has ``scratch``,
    ``n_scratches_session``, ``force_on_human``, ``force_at_itch``, ``tip_itch_distance`` and ``is_success``
    (at least ``success_scratches`` scratches in the current session).

    ## Arguments
    | argument            | default | description                                                  |
    |---------------------|---------|--------------------------------------------------------------|
    | `switch_prob`       | 0.02    | probability ``p`` that a session ends after a step           |
    | `migrate_prob`      | 0.7     | probability that the itch moves to a neighbouring site       |
    | `frame_skip`        | 10      | MuJoCo steps (0.01 s each) per env step                      |
    | `reset_noise_scale` | 0.05    | uniform noise (rad) added to the start configuration         |
    | `success_scratches` | 5       | scratches in a session for ``info["is_success"]``            |
    | `oracle`            | False   | append the itch position to the observation                  |

    ## Version History
    * v0: initial release.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["human", "rgb_array", "depth_array", "rgbd_tuple"]}

    def __init__(
        self,
        switch_prob: float = 0.02,
        migrate_prob: float = 0.7,
        frame_skip: int = 10,
        reset_noise_scale: float = 0.05,
        success_scratches: int = 5,
        oracle: bool = False,
        **kwargs: Any,
    ) -> None:
        check_switch_prob(switch_prob)
        _check_number("migrate_prob", migrate_prob, 0.0, 1.0)
        _check_number("frame_skip", frame_skip, 1, 1000, integer=True)
        _check_number("reset_noise_scale", reset_noise_scale, 0.0, 0.2)
        _check_number("success_scratches", success_scratches, 1, 10_000, integer=True)
        utils.EzPickle.__init__(
            self, switch_prob, migrate_prob, frame_skip, reset_noise_scale, success_scratches, oracle, **kwargs
        )
        MujocoEnv.__init__(
            self, ASSET_PATH, int(frame_skip), observation_space=None,
            default_camera_config=DEFAULT_CAMERA_CONFIG, **kwargs,
        )
        self.metadata = {**self.metadata, "render_fps": round(1.0 / self.dt)}
        self.migrate_prob = float(migrate_prob)
        self.reset_noise_scale = float(reset_noise_scale)
        self.success_scratches = int(success_scratches)
        mujoco.mj_kinematics(self.model, self.data)  # place the (static) person for the sites below
        self._setup_sessions(itch_chain(itch_sites(self.model, self.data), self.migrate_prob), switch_prob, oracle)
        self.action_space = spaces.Box(-1.0, 1.0, shape=(N_JOINTS,), dtype=np.float32)
        self.observation_space = self._oracle_space(spaces.Box(-np.inf, np.inf, shape=(OBS_DIM,), dtype=np.float64))

        model = self.model
        self._q_low, self._q_high = model.jnt_range[:N_JOINTS].T.copy()
        self._tip = self.data.site("tool_tip").xpos  # live views, updated by MuJoCo in place
        self._tool_quat = self.data.body("tool").xquat
        self._human_joints = np.concatenate(
            [self.data.site(name).xpos for name in ("h_shoulder", "h_elbow", "h_wrist")]
        )
        tool_body = model.body("tool").id
        self._is_tool = model.geom_bodyid == tool_body
        self._marker = model.site("itch_marker").id
        self._force = np.zeros(6)
        self._tool_force = self._human_force = 0.0
        self._last_scratch: np.ndarray | None = None
        self._n_scratches = 0

    def _on_session_change(self) -> None:
        self._last_scratch = None
        self._n_scratches = 0
        self.model.site_pos[self._marker] = self.latent  # visual only

    def _step_mujoco_simulation(self, ctrl: np.ndarray, n_frames: int) -> None:
        # MujocoEnv's version also runs mj_rnePostConstraint, which nothing here needs
        self.data.ctrl[:] = ctrl
        mujoco.mj_step(self.model, self.data, nstep=n_frames)

    def _contact_forces(self, itch: np.ndarray) -> tuple[float, np.ndarray | None]:
        """Set the tool / person force sums; return the force at the itch and the tool contact nearest to it."""
        tool_force = human_force = itch_force = 0.0
        nearest, nearest_dist = None, SCRATCH_RADIUS
        data = self.data
        for i in range(data.ncon):  # every contact pairs a robot or tool geom with a human geom
            contact = data.contact[i]
            mujoco.mj_contactForce(self.model, data, i, self._force)
            normal = float(self._force[0])
            human_force += normal
            if self._is_tool[contact.geom1] or self._is_tool[contact.geom2]:
                tool_force += normal
                dist = float(np.linalg.norm(contact.pos - itch))
                if dist < SCRATCH_RADIUS:
                    itch_force += normal
                    if dist <= nearest_dist:
                        nearest, nearest_dist = contact.pos.copy(), dist
        self._tool_force, self._human_force = tool_force, human_force
        return itch_force, nearest

    def step(self, action: np.ndarray):
        action = np.clip(np.asarray(action, dtype=np.float64), -1.0, 1.0)
        tip_before = self._tip.copy()
        target = np.clip(self.data.qpos[:N_JOINTS] + ACTION_SCALE * action, self._q_low, self._q_high)
        self.do_simulation(target, self.frame_skip)

        itch = self.latent.astype(np.float64)
        itch_force, contact = self._contact_forces(itch)
        scratch = (
            contact is not None and itch_force < FORCE_LIMIT
            and (self._last_scratch is None or np.linalg.norm(contact - self._last_scratch) > SCRATCH_MIN_MOVE)
        )
        if scratch:
            self._last_scratch = contact
            self._n_scratches += 1
        distance = float(np.linalg.norm(self._tip - itch))
        speed = float(np.linalg.norm(self._tip - tip_before)) / self.dt
        reward = (
            -distance - 0.01 * float(np.linalg.norm(action)) + SCRATCH_REWARD * scratch - 0.25 * speed
            - 0.01 * (self._human_force - itch_force) - 0.05 * itch_force * (itch_force >= FORCE_LIMIT)
        )
        extra = {
            "scratch": bool(scratch),
            "n_scratches_session": self._n_scratches,
            "force_on_human": self._human_force,
            "force_at_itch": itch_force,
            "tip_itch_distance": distance,
            "is_success": self._n_scratches >= self.success_scratches,
        }
        info = self._end_step()  # may start a new session (resets the scratch count)
        info.update(extra)
        return self._with_latent(self._get_obs()), float(reward), False, False, info

    def _get_obs(self) -> np.ndarray:
        return np.concatenate([
            self._tip, self._tool_quat, self.data.qpos, self.data.qvel, self._human_joints,
            (self._tool_force, self._human_force),
        ])

    def reset_model(self) -> np.ndarray:
        qvel = np.zeros(self.model.nv)
        for _ in range(100):  # resample the noise in the (unlikely) case that the start pose touches the person
            noise = self.np_random.uniform(-self.reset_noise_scale, self.reset_noise_scale, size=N_JOINTS)
            self.set_state(np.clip(READY_QPOS + noise, self._q_low, self._q_high), qvel)
            if self.data.ncon == 0:
                break
        self._tool_force = self._human_force = 0.0
        return self._get_obs()

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        obs, _ = super().reset(seed=seed)
        info = self._reset_sessions(seed, options)
        return self._with_latent(obs), info
