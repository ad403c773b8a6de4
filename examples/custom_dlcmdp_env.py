"""Bring your own DLCMDP: a thermostat whose user changes their preferred temperature between sessions.

The env below is written from scratch (no sb3_dynamite base class) to show the whole DLCMDP contract that
DynaMITE-RL relies on (README "our choices", SPEC §2):

- a hidden latent ``m`` (here the preferred temperature) fixed during a *session*; after every step the
  session ends with probability ``p`` (``d_t``) and a new latent is drawn from ``T_m``;
- the session randomness has its own RNG, seeded at ``reset(seed=...)`` and drawn every step whether used
  or not, so a seed fixes the sessions whatever the policy does;
- every ``info`` carries ``session_end`` (``d_t``), ``session_index`` and ``latent`` (the true ``m_t``; the
  agent never sees it), and the reset info carries ``session_index=0`` and ``latent``;
- a fixed horizon through ``max_episode_steps`` (truncation, never termination).

It then trains DynaMITEPPO briefly on it, and on the same env *without* ``session_end`` labels: that run
still trains, as VariBAD (the whole episode is one session), and says so once with a warning. At the default
budget both policies stay far below the oracle (the script prints them next to the random and oracle
policies): this example shows the contract and the API, it is not a benchmark.

    python examples/custom_dlcmdp_env.py --timesteps 100000 --out runs/thermostat
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.vec_env import VecEnv

from sb3_dynamite import DynaMITEPPO
from sb3_dynamite.common.wrappers import VecPreviousActionReward
from sb3_dynamite.evaluation import fit_latent_probe, rollout_traces, save_belief_plot

SETPOINTS = np.array([19.0, 23.0], dtype=np.float32)  # the user likes it cool or warm (°C)
CHANGE_MIND = 0.9  # T_m: at a session switch the user flips preference with this probability
HORIZON = 50


class ThermostatEnv(gym.Env):
    """Heat or cool a room towards the user's preferred temperature, which changes between sessions.

    Observation: the room temperature as ``(T - 21 °C) / 3 °C`` (networks like inputs of order 1), plus the
    preferred one in the same units with ``oracle=True``. Actions: 0 cool (-1 °C), 1 hold, 2 heat (+1 °C).
    Reward (the user's feedback): +1 for a degree towards ``m``, -1 for a degree away, and +1 for every step
    spent at ``m``. Latent ``m`` in {19, 23} °C (``info["latent"]``), ``nu_0`` uniform; at a session switch
    the user changes their mind with probability 0.9 (``T_m``).

    :param switch_prob: probability ``p`` that a session ends after a step.
    :param oracle: append the true latent to the observation (oracle baseline).
    :param session_labels: report ``info["session_end"]``; False makes DynaMITE-RL train as VariBAD.
    """

    def __init__(self, switch_prob: float = 0.05, oracle: bool = False, session_labels: bool = True) -> None:
        if not 0.0 <= switch_prob <= 1.0:
            raise ValueError(f"switch_prob must be a probability in [0, 1], got {switch_prob}")
        self.switch_prob = switch_prob  # contract: attribute p
        self.latent_space = spaces.Box(SETPOINTS.min(), SETPOINTS.max(), shape=(1,), dtype=np.float32)
        self.oracle = oracle
        self.session_labels = session_labels
        n_obs = 2 if oracle else 1
        self.observation_space = spaces.Box(-3.0, 3.0, shape=(n_obs,), dtype=np.float32)
        self.action_space = spaces.Discrete(3)
        self._session_rng: np.random.Generator | None = None
        self._k = 0  # index of the current preferred temperature
        self._session_index = 0
        self.temperature = 21.0

    def _obs(self) -> np.ndarray:
        parts = [self.temperature] + ([SETPOINTS[self._k]] if self.oracle else [])
        return (np.array(parts, dtype=np.float32) - 21.0) / 3.0

    def _latent(self) -> np.ndarray:
        return np.array([SETPOINTS[self._k]], dtype=np.float32)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        if seed is not None or self._session_rng is None:
            self._session_rng = np.random.default_rng(seed)  # sessions: their own RNG, fixed by the seed
        self._k = int(self._session_rng.integers(len(SETPOINTS)))  # m_0 ~ nu_0
        self._session_index = 0
        self.temperature = float(self.np_random.integers(16, 27))
        return self._obs(), {"session_end": False, "session_index": 0, "latent": self._latent()}

    def step(self, action: Any):
        preferred = float(SETPOINTS[self._k])  # m_t
        before = abs(self.temperature - preferred)
        self.temperature = float(np.clip(self.temperature + int(action) - 1, 12.0, 30.0))
        after = abs(self.temperature - preferred)
        reward = before - after + float(after == 0.0)
        info: dict[str, Any] = {"latent": self._latent(), "session_index": self._session_index}
        u_end, u_next = self._session_rng.random(2)  # d_t and the next latent: drawn every step
        session_end = bool(u_end < self.switch_prob)
        if session_end:  # m_{t+1} ~ T_m(. | m_t)
            self._k = 1 - self._k if u_next < CHANGE_MIND else self._k
            self._session_index += 1
        if self.session_labels:
            info["session_end"] = session_end  # d_t: this transition was the last of its session
        return self._obs(), reward, False, False, info


gym.register("Thermostat-v0", entry_point=ThermostatEnv, max_episode_steps=HORIZON)


class ThermostatOracle:
    """Knows the preferred temperature (``oracle=True``) and heads for it: the upper reference."""

    def predict(self, observation: np.ndarray, state: Any = None, episode_start: Any = None,
                deterministic: bool = True) -> tuple[np.ndarray, Any]:
        return (np.sign(observation[:, 1] - observation[:, 0]) + 1).astype(np.int64), state


class RandomThermostat:
    """Uniformly random actions: the lower reference."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def predict(self, observation: np.ndarray, state: Any = None, episode_start: Any = None,
                deterministic: bool = True) -> tuple[np.ndarray, Any]:
        return self.rng.integers(3, size=len(observation)), state


def make_env(n_envs: int = 1, seed: int | None = None, **env_kwargs: Any) -> VecEnv:
    """Vectorised ``Thermostat-v0`` (a callable keeps SB3 from asking this env for ``render_mode="rgb_array"``)."""
    return make_vec_env(lambda: gym.make("Thermostat-v0", **env_kwargs), n_envs=n_envs, seed=seed)


def mean_return(policy: Any, env: VecEnv, n_episodes: int) -> tuple[float, float]:
    mean, std = evaluate_policy(policy, env, n_eval_episodes=n_episodes, deterministic=True)
    return float(mean), float(std)


def train(timesteps: int, seed: int, session_labels: bool) -> DynaMITEPPO:
    env = make_env(n_envs=8, seed=seed, session_labels=session_labels)
    model = DynaMITEPPO("MlpPolicy", env, n_steps=250, batch_size=250, ent_coef=0.01, n_vae_updates=4,
                        latent_dim=2, seed=seed)
    return model.learn(timesteps)


def main() -> None:
    parser = argparse.ArgumentParser(description="DynaMITE-RL on a user-written DLCMDP (a thermostat)")
    parser.add_argument("--timesteps", type=int, default=100_000, help="training steps per run (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--episodes", type=int, default=30, help="evaluation episodes (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=Path("runs/thermostat"), help="folder for the belief plot")
    args = parser.parse_args()
    th.set_num_threads(1)

    print("1) With session labels: DynaMITE-RL")
    dynamite = train(args.timesteps, args.seed, session_labels=True)
    print(f"   has_session_labels={dynamite.has_session_labels}")
    print("2) Without info['session_end']: the same algorithm trains as VariBAD (see the warning)")
    varibad = train(args.timesteps, args.seed, session_labels=False)
    print(f"   has_session_labels={varibad.has_session_labels}")

    eval_seed = 1000
    returns = {}
    for name, policy, kwargs in (("random", RandomThermostat(eval_seed), {}), ("oracle", ThermostatOracle(),
                                 {"oracle": True})):
        returns[name] = mean_return(policy, make_env(seed=eval_seed, **kwargs), args.episodes)
    for name, model in (("DynaMITE-RL", dynamite), ("as VariBAD", varibad)):
        env = VecPreviousActionReward(make_env(seed=eval_seed))
        returns[name] = mean_return(model, env, args.episodes)
    print(f"\nEvaluation on {args.episodes} episodes from seed {eval_seed} (the same sessions for every policy):")
    for name, (mean, std) in returns.items():
        print(f"  {name:<12} {mean:7.2f} ± {std:.2f}")

    probe = fit_latent_probe(dynamite, "Thermostat-v0", n_episodes=20, seed=2000, kind="classes")
    accuracy = probe.score(rollout_traces(dynamite, "Thermostat-v0", 20, seed=3000))
    print(f"\nProbe (logistic regression: which temperature) on DynaMITE-RL's belief: held-out accuracy "
          f"{accuracy:.2f} (chance 0.5)")
    trace = rollout_traces(dynamite, "Thermostat-v0", 1, seed=eval_seed)[0]
    path = save_belief_plot(trace, args.out / "belief_thermostat.png", probe,
                            title=f"Thermostat: P(user wants 24 °C) from the belief, {trace.n_sessions} sessions")
    print(f"Belief plot: {path.resolve()}")


if __name__ == "__main__":
    main()
