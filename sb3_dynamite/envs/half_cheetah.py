"""HalfCheetah with a target velocity (and wind) that change between sessions, built on HalfCheetah-v5."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces, utils
from gymnasium.envs.mujoco.half_cheetah_v5 import HalfCheetahEnv

from sb3_dynamite.envs.dlcmdp import DLCMDPMixin, LatentProcess, check_choice

TRANSITIONS = ("markov", "iid")


def next_velocity(velocity: float, u_sign: float, u_step: float, low: float, high: float,
                  step_low: float, step_high: float) -> float:
    """``v + s * U(step_low, step_high)`` with a random sign, the other sign if that leaves [low, high]."""
    step = step_low + (step_high - step_low) * u_step
    candidate = velocity + step if u_sign < 0.5 else velocity - step
    if not low <= candidate <= high:
        candidate = 2.0 * velocity - candidate
    return float(np.clip(candidate, low, high))


class TargetVelocityProcess(LatentProcess):
    """Target velocity ``v*``: ``nu_0 = U[low, high]``; at a switch ``v* +- U(step_low, step_high)``
    (``"markov"``, reflected into range) or a fresh ``U[low, high]`` draw (``"iid"``, VariBAD's prior)."""

    n_uniforms = 2

    def __init__(self, low: float = 0.0, high: float = 3.0, step_low: float = 0.5, step_high: float = 1.5,
                 transition: str = "markov") -> None:
        if not low < high:
            raise ValueError(f"velocity range needs low < high, got [{low}, {high}]")
        if not 0.0 <= step_low <= step_high <= (high - low) / 2:
            raise ValueError(f"velocity steps need 0 <= step_low <= step_high <= (high - low) / 2, "
                             f"got ({step_low}, {step_high})")
        self.low, self.high, self.step_low, self.step_high = float(low), float(high), float(step_low), float(step_high)
        self.transition = check_choice("transition", transition, TRANSITIONS)
        self.latent_space = spaces.Box(np.float32(low), np.float32(high), shape=(1,), dtype=np.float32)

    def sample_initial(self, rng: np.random.Generator) -> np.ndarray:
        return np.array([rng.uniform(self.low, self.high)], dtype=np.float32)

    def sample_next(self, state: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
        if self.transition == "iid":
            return np.array([self.low + (self.high - self.low) * uniforms[0]], dtype=np.float32)
        velocity = next_velocity(float(state[0]), uniforms[0], uniforms[1], self.low, self.high,
                                 self.step_low, self.step_high)
        return np.array([velocity], dtype=np.float32)


class WindVelocityProcess(TargetVelocityProcess):
    """Latent ``(v*, F_wind)``: ``v*`` as :class:`TargetVelocityProcess`, wind ``U[-max_wind, max_wind]``
    redrawn at every switch (both change together, one ``d_t``)."""

    n_uniforms = 3

    def __init__(self, max_wind: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not max_wind >= 0:
            raise ValueError(f"max_wind must be non-negative, got {max_wind}")
        self.max_wind = float(max_wind)
        self.latent_space = spaces.Box(
            np.array([self.low, -max_wind], dtype=np.float32), np.array([self.high, max_wind], dtype=np.float32)
        )

    def sample_initial(self, rng: np.random.Generator) -> np.ndarray:
        return np.array([rng.uniform(self.low, self.high), rng.uniform(-self.max_wind, self.max_wind)],
                        dtype=np.float32)

    def sample_next(self, state: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
        velocity = super().sample_next(state[:1], uniforms[:2])[0]
        wind = self.max_wind * (2.0 * uniforms[2] - 1.0)
        return np.array([velocity, wind], dtype=np.float32)


class HalfCheetahVelEnv(DLCMDPMixin, HalfCheetahEnv):
    """
    ## Description
    gymnasium's HalfCheetah-v5, rewarded for running at a target velocity ``v*`` that changes between
    sessions (VariBAD's HalfCheetahVel, made dynamic). The cheetah is not reset at a boundary.

    ## Observation Space (17, float64)
    HalfCheetah-v5's: ``qpos[1:]`` (8) and ``qvel`` (9). ``oracle=True`` appends ``v*``.

    ## Action Space
    ``Box(-1, 1, (6,))`` joint torques.

    ## Latent
    ``v*`` in [0, 3] m/s; ``nu_0 = U[0, 3]``; at a switch ``v*`` moves by ``+-U(0.5, 1.5)`` with a random
    sign, taking the other sign when the first would leave [0, 3] (``transition="markov"``), or is redrawn
    from ``U[0, 3]`` (``transition="iid"``).

    ## Rewards
    ``-|v_x - v*| - 0.05 * ||a||^2`` with ``v_x`` the torso's forward velocity (VariBAD's reward).

    ## Episode End
    Truncation after ``H = 400`` steps (20 s), never termination.

    ## Arguments
    | argument      | default    | description                                        |
    |---------------|------------|----------------------------------------------------|
    | `switch_prob` | 0.01       | probability ``p`` that a session ends after a step |
    | `transition`  | `"markov"` | ``"markov"`` (steps of 0.5-1.5 m/s) or ``"iid"``    |
    | `ctrl_cost_weight` | 0.05  | weight of ``||a||^2``                              |
    | `oracle`      | False      | append the latent to the observation               |

    ## Version History
    * v0: initial release.
    """

    def __init__(
        self,
        switch_prob: float = 0.01,
        transition: str = "markov",
        ctrl_cost_weight: float = 0.05,
        oracle: bool = False,
        **kwargs: Any,
    ) -> None:
        self._setup_sessions(self._make_latent_process(transition), switch_prob, oracle)
        HalfCheetahEnv.__init__(self, ctrl_cost_weight=ctrl_cost_weight, **kwargs)
        utils.EzPickle.__init__(self, switch_prob, transition, ctrl_cost_weight, oracle, **kwargs)
        self.observation_space = self._oracle_space(self.observation_space)

    def _make_latent_process(self, transition: str) -> LatentProcess:
        return TargetVelocityProcess(transition=transition)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        obs, _ = super().reset(seed=seed)
        info = self._reset_sessions(seed, options)
        return self._with_latent(obs), info

    def _apply_latent_forces(self) -> None:
        """Hook for latents that act on the dynamics (wind)."""

    def step(self, action: np.ndarray):
        x_before = self.data.qpos[0]
        self._apply_latent_forces()
        self.do_simulation(action, self.frame_skip)
        x_velocity = (self.data.qpos[0] - x_before) / self.dt
        reward_forward = -abs(x_velocity - float(self.latent[0]))
        reward_ctrl = -self._ctrl_cost_weight * float(np.square(action).sum())
        info = self._end_step()
        info.update(x_velocity=x_velocity, reward_forward=reward_forward, reward_ctrl=reward_ctrl)
        return self._with_latent(self._get_obs()), reward_forward + reward_ctrl, False, False, info


class HalfCheetahWindVelEnv(HalfCheetahVelEnv):
    """
    ## Description
    :class:`HalfCheetahVelEnv` plus a horizontal wind force on the torso (``xfrc_applied``). Target
    velocity and wind change together at a session switch; the wind changes the *dynamics*, not the
    reward, so the belief has to be read from the state transitions.

    ## Latent
    ``(v*, F)``: ``v*`` as in HalfCheetahVel; ``F ~ U[-max_wind, max_wind]`` N, redrawn at every switch
    (positive pushes forward). ``oracle=True`` appends both.

    ## Arguments
    As HalfCheetahVel, plus ``max_wind`` (default 20 N). Calibration: the scripted gait of
    :class:`~sb3_dynamite.envs.scripted.HalfCheetahOracle` aimed at 1.5 m/s runs at 0.6 m/s against a
    20 N wind and 2.9 m/s with it (0.0 / 1.2 m/s when aimed at 0.5 m/s); at 40 N the gait breaks down.

    ## Version History
    * v0: initial release.
    """

    def __init__(self, switch_prob: float = 0.01, transition: str = "markov", max_wind: float = 20.0,
                 ctrl_cost_weight: float = 0.05, oracle: bool = False, **kwargs: Any) -> None:
        self.max_wind = float(max_wind)
        super().__init__(switch_prob=switch_prob, transition=transition, ctrl_cost_weight=ctrl_cost_weight,
                         oracle=oracle, **kwargs)
        utils.EzPickle.__init__(self, switch_prob, transition, max_wind, ctrl_cost_weight, oracle, **kwargs)
        self._torso = self.model.body("torso").id

    def _make_latent_process(self, transition: str) -> LatentProcess:
        return WindVelocityProcess(max_wind=self.max_wind, transition=transition)

    def _apply_latent_forces(self) -> None:
        self.data.xfrc_applied[self._torso, 0] = float(self.latent[1])
