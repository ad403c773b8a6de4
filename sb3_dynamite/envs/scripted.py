"""Scripted reference policies: the lower reference (random), the oracle that knows the latent, and
GridWorld's *informed* policy that uses only what the agent observes (the practical ceiling).

They follow SB3's ``predict(observation, state, episode_start, deterministic)`` contract, so
``evaluate_policy(policy, env)`` evaluates them like any model. Oracles read the latent from the end of
an ``oracle=True`` observation; the informed policy reads ``(s_t, a_{t-1}, r_{t-1})`` from a
:class:`~sb3_dynamite.common.wrappers.VecPreviousActionReward` observation. :func:`make_reference_env`
builds the env each of them expects.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import VecEnv

from sb3_dynamite.common.wrappers import VecPreviousActionReward

#: what each kind of reference policy observes
OBSERVES = {"random": "plain", "zero": "plain", "oracle": "oracle", "informed": "previous_action_reward"}


class ScriptedPolicy(ABC):
    """A hand-written policy with SB3's ``predict`` signature (batched or single observations)."""

    observes = "plain"
    #: env arguments the policy needs to act (e.g. GridWorld's ``observe_goals=True``)
    needs: ClassVar[dict[str, Any]] = {}

    def __init__(self, action_space: gym.Space) -> None:
        self.action_space = action_space

    def predict(
        self,
        observation: np.ndarray,
        state: Any = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = True,
    ) -> tuple[np.ndarray, Any]:
        observation = np.asarray(observation)
        single = observation.ndim == 1
        batch = observation[None] if single else observation
        if episode_start is None:
            episode_start = np.ones(len(batch), dtype=bool) if state is None else np.zeros(len(batch), dtype=bool)
        actions, state = self._act(batch, state, np.asarray(episode_start, dtype=bool).reshape(-1))
        return (actions[0] if single else actions), state

    @abstractmethod
    def _act(self, observation: np.ndarray, state: Any, episode_start: np.ndarray) -> tuple[np.ndarray, Any]:
        """Actions for a batch of observations."""


class RandomPolicy(ScriptedPolicy):
    """Uniformly random actions (the lower reference of the normalised score)."""

    def _act(self, observation: np.ndarray, state: Any, episode_start: np.ndarray) -> tuple[np.ndarray, Any]:
        return np.stack([self.action_space.sample() for _ in range(len(observation))]), state


class ZeroPolicy(ScriptedPolicy):
    """Does nothing: zero torques / joint deltas for ``Box`` actions, action 0 for ``Discrete`` ones (GridWorld's
    *stay*). On the HalfCheetah envs it stands still: the floor any locomotion has to beat."""

    def _act(self, observation: np.ndarray, state: Any, episode_start: np.ndarray) -> tuple[np.ndarray, Any]:
        shape = (len(observation), *self.action_space.shape)
        return np.zeros(shape, dtype=self.action_space.dtype), state


def grid_step_towards(agent: np.ndarray, target: np.ndarray) -> np.ndarray:
    """GridWorld action moving each agent one cell towards its target (x first), 0 (stay) on it."""
    dx, dy = np.sign(target[:, 0] - agent[:, 0]), np.sign(target[:, 1] - agent[:, 1])
    return np.select([dx > 0, dx < 0, dy > 0, dy < 0], [2, 4, 1, 3], default=0).astype(np.int64)


class GridWorldOracle(ScriptedPolicy):
    """Knows which goal pays (``oracle=True``): walks to it and stays. Reads the goal cells."""

    observes = "oracle"
    needs: ClassVar[dict[str, Any]] = {"observe_goals": True}

    def _act(self, observation: np.ndarray, state: Any, episode_start: np.ndarray) -> tuple[np.ndarray, Any]:
        agent, goals = observation[:, 0:2], observation[:, 2:6].reshape(-1, 2, 2)
        paying = observation[:, -1].round().astype(np.int64)
        return grid_step_towards(agent, goals[np.arange(len(observation)), paying]), state


class GridWorldInformed(ScriptedPolicy):
    """Uses only what the agent observes. With the goal cells observed: heads for the nearer goal; on a goal,
    stays while it pays (+1) and heads for the other goal after a 0 there. With them hidden
    (``observe_goals=False``) it first has to find them: it sweeps the grid row by row, remembers each cell whose
    reward shows a goal (+1 paying, 0 not paying), stays on a goal while it pays, and after a 0 there heads for
    the other goal if it has found it, else sweeps on. The sweep assumes the registered 5x5 grid (``size``)."""

    observes = "previous_action_reward"
    size = 5
    goal_obs_dim = 6 + 5 + 1  # (x, y), the two goal cells, one-hot a_{t-1}, r_{t-1}

    def _act(self, observation: np.ndarray, state: Any, episode_start: np.ndarray) -> tuple[np.ndarray, Any]:
        if observation.shape[1] != self.goal_obs_dim:
            return self._search(observation, state, episode_start)
        agent, goals = observation[:, 0:2], observation[:, 2:6].reshape(-1, 2, 2)
        previous_reward = observation[:, -1]
        rows = np.arange(len(observation))
        distance = np.abs(goals - agent[:, None]).sum(axis=2)  # (n, 2)
        target = np.zeros(len(observation), dtype=np.int64) if state is None else np.array(state, dtype=np.int64)
        target = np.where(episode_start, np.argmin(distance, axis=1), target)
        on_goal = distance.min(axis=1) == 0
        here = np.argmin(distance, axis=1)
        target = np.where(on_goal, np.where(previous_reward > 0.5, here, 1 - here), target)
        return grid_step_towards(agent, goals[rows, target]), target

    def sweep(self) -> np.ndarray:
        """The cells of the grid in the order the search visits them: row by row, turning at each end."""
        rows = [[(x, y) for x in (range(self.size) if y % 2 == 0 else reversed(range(self.size)))]
                for y in range(self.size)]
        return np.array([cell for row in rows for cell in row], dtype=np.int64)

    def _search(self, observation: np.ndarray, state: Any, episode_start: np.ndarray) -> tuple[np.ndarray, Any]:
        """The hidden-goal policy; ``state`` is, per env, the goals found, the one believed to pay and the sweep
        position."""
        path = self.sweep()
        memory = [None] * len(observation) if state is None else state
        actions = np.zeros(len(observation), dtype=np.int64)
        for i, (row, start) in enumerate(zip(observation, episode_start, strict=True)):
            if start or memory[i] is None:
                memory[i] = {"goals": [], "paying": None, "next": 0}
            mem, here, reward = memory[i], tuple(int(v) for v in row[:2]), float(row[-1])
            if not start and reward > -0.05:  # this cell is a goal: +1 it pays, 0 it does not
                if here not in mem["goals"]:
                    mem["goals"].append(here)
                others = [goal for goal in mem["goals"] if goal != here]
                mem["paying"] = here if reward > 0.5 else (others[0] if others else None)
            if mem["paying"] is None:  # sweep on to the next cell not yet passed
                while mem["next"] < len(path) - 1 and tuple(path[mem["next"]]) == here:
                    mem["next"] += 1
                target = path[mem["next"]]
            else:
                target = np.array(mem["paying"])
            actions[i] = grid_step_towards(np.array([here]), target[None])[0]
        return actions, memory


class ReacherOracle(ScriptedPolicy):
    """Knows the goal (``oracle=True``): inverse kinematics of the two links, then a PD controller."""

    observes = "oracle"
    link_lengths = (0.1, 0.11)

    def __init__(self, action_space: gym.Space, kp: float = 0.3, kd: float = 0.05) -> None:
        super().__init__(action_space)
        self.kp, self.kd = kp, kd

    def _act(self, observation: np.ndarray, state: Any, episode_start: np.ndarray) -> tuple[np.ndarray, Any]:
        l1, l2 = self.link_lengths
        q = np.arctan2(observation[:, 2:4], observation[:, 0:2])
        dq = observation[:, 4:6]
        goal = observation[:, -2:]
        r2 = np.clip((goal**2).sum(axis=1), 1e-6, (l1 + l2) ** 2)
        q2 = np.arccos(np.clip((r2 - l1**2 - l2**2) / (2 * l1 * l2), -1.0, 1.0))
        # of the two elbow solutions take the one nearer the current elbow angle
        q2 = np.where(np.abs(q2 - q[:, 1]) <= np.abs(-q2 - q[:, 1]), q2, -q2)
        q1 = np.arctan2(goal[:, 1], goal[:, 0]) - np.arctan2(l2 * np.sin(q2), l1 + l2 * np.cos(q2))
        error = np.stack([q1, q2], axis=1) - q
        error = (error + np.pi) % (2 * np.pi) - np.pi
        return np.clip(self.kp * error - self.kd * dq, -1.0, 1.0), state


class HalfCheetahOracle(ScriptedPolicy):
    """Knows the target velocity (``oracle=True``): an open-loop sinusoidal gait (found by random search
    over phases, amplitudes and frequency on HalfCheetah-v5) whose amplitude is looked up from a
    measured speed-vs-amplitude table. It tops out near 2.3 m/s, so it is a reference, not an optimum.
    With wind (HalfCheetahWindVel) it corrects the looked-up speed by the measured wind effect."""

    observes = "oracle"
    frequency = 2.548  # Hz
    phases = np.array([3.143, 4.711, 0.889, 5.835, 0.399, 4.901])
    amplitudes = np.array([0.506, 0.895, 0.875, 0.725, 0.567, 0.853])
    biases = np.array([-0.210, -0.060, -0.047, -0.205, -0.058, -0.079])
    #: measured steady forward speed (m/s) of the gait at each amplitude scale
    table_speed = np.array([0.0, 0.10, 0.22, 0.53, 0.85, 1.27, 1.84, 2.30])
    table_scale = np.array([0.0, 0.40, 0.50, 0.60, 0.70, 0.80, 0.90, 1.00])
    dt = 0.05
    wind_gain = 0.04  # (m/s) / N, measured speed shift of the gait per newton of wind

    def _act(self, observation: np.ndarray, state: Any, episode_start: np.ndarray) -> tuple[np.ndarray, Any]:
        steps = np.zeros(len(observation), dtype=np.int64) if state is None else np.array(state, dtype=np.int64)
        steps = np.where(episode_start, 0, steps)
        target = observation[:, 17]  # v*, right after the 17-d HalfCheetah state
        if observation.shape[1] > 18:  # HalfCheetahWindVel: aim lower with tail wind, higher against it
            target = target - self.wind_gain * observation[:, 18]
        scale = np.interp(target, self.table_speed, self.table_scale)[:, None]
        phase = 2 * np.pi * self.frequency * steps[:, None] * self.dt + self.phases
        actions = np.clip(self.biases + scale * self.amplitudes * np.sin(phase), -1.0, 1.0)
        return actions, steps + 1


def make_reference_env(env_id: str, observes: str, n_envs: int = 1, seed: int | None = None,
                       env_kwargs: dict[str, Any] | None = None, **vec_kwargs: Any) -> VecEnv:
    """The vectorised env a reference policy expects: ``plain``, ``oracle`` (latent appended) or
    ``previous_action_reward`` (the encoder input of DynaMITE-RL)."""
    if observes not in OBSERVES.values():
        raise ValueError(f"unknown observes={observes!r}; choose one of {sorted(set(OBSERVES.values()))}")
    env_kwargs = dict(env_kwargs or {})
    if observes == "oracle":
        env_kwargs["oracle"] = True
    venv = make_vec_env(env_id, n_envs=n_envs, seed=seed, env_kwargs=env_kwargs, **vec_kwargs)
    return VecPreviousActionReward(venv) if observes == "previous_action_reward" else venv


#: env id -> kind -> "module:Class" of its scripted reference policies
REFERENCE_POLICIES = {
    "dlcmdp/GridWorld-v0": {"oracle": f"{__name__}:GridWorldOracle", "informed": f"{__name__}:GridWorldInformed"},
    "dlcmdp/Reacher-v0": {"oracle": f"{__name__}:ReacherOracle"},
    "dlcmdp/HalfCheetahVel-v0": {"oracle": f"{__name__}:HalfCheetahOracle"},
    "dlcmdp/HalfCheetahWindVel-v0": {"oracle": f"{__name__}:HalfCheetahOracle"},
    "dlcmdp/ScratchItch-v0": {"oracle": "sb3_dynamite.envs.scratch_itch_oracle:ScratchItchOracle"},
}


def reference_policy(env_id: str, kind: str) -> type[ScriptedPolicy]:
    """The scripted policy class of ``kind`` (``"oracle"``, ``"informed"``, ``"random"`` or ``"zero"``) for
    ``env_id``."""
    if kind == "random":
        return RandomPolicy
    if kind == "zero":
        return ZeroPolicy
    try:
        module_name, class_name = REFERENCE_POLICIES[env_id][kind].split(":")
    except KeyError:
        available = {env: sorted(kinds) for env, kinds in REFERENCE_POLICIES.items()}
        raise ValueError(f"no scripted {kind!r} policy for {env_id!r}; available: {available}") from None
    return getattr(importlib.import_module(module_name), class_name)
