"""The DLCMDP contract, in one place.

A Dynamic Latent Contextual MDP (DynaMITE-RL, Liang et al. 2024) has a hidden context ``m`` that
stays fixed during a *session* and changes between sessions, inside one episode:

- ``m_0 ~ nu_0`` at ``reset``;
- step ``t`` uses ``m_t`` for its reward and transition;
- after the step ``d_t ~ Bernoulli(p)``; if ``d_t = 1`` the session ends and ``m_{t+1} ~ T_m(. | m_t)``,
  otherwise ``m_{t+1} = m_t``. The physical state is not reset at a boundary.

Every env of :mod:`sb3_dynamite.envs` mixes in :class:`DLCMDPMixin`, which owns the session process and
writes the ``info`` keys the algorithm relies on:

- ``session_end`` (bool): this transition is the last of its session (``d_t``);
- ``session_index`` (int): the 0-based index of the session the transition belongs to;
- ``latent`` (float32 array): the true ``m_t`` (evaluation, plots and oracle baselines only).

All session randomness (``nu_0``, ``d_t``, ``T_m``) comes from an RNG of its own, derived from the reset
seed and drawn every step whether used or not: the same seed gives the same session boundaries and
latents whatever the policy does (paired evaluation across methods).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium import spaces

#: keys a DLCMDP env accepts in ``reset(options=...)``
RESET_OPTIONS = frozenset({"latent"})


def check_switch_prob(switch_prob: float) -> float:
    """Validate the session switch probability ``p``."""
    if not np.isscalar(switch_prob) or not np.isfinite(switch_prob) or not 0.0 <= float(switch_prob) <= 1.0:
        raise ValueError(f"switch_prob must be a probability in [0, 1], got {switch_prob!r}")
    return float(switch_prob)


def check_choice(name: str, value: str, allowed: Sequence[str]) -> str:
    """Validate a string option of an env constructor."""
    if value not in allowed:
        raise ValueError(f"unknown {name}={value!r}; choose one of {sorted(allowed)}")
    return value


class LatentProcess(ABC):
    """The initial distribution ``nu_0`` and the latent transition ``T_m`` of a DLCMDP.

    ``state`` is the process' own representation (an index for a finite chain, a vector otherwise);
    :meth:`value` maps it to the float32 vector reported as ``info["latent"]``. ``sample_next`` receives
    ``n_uniforms`` U(0, 1) draws, so that every step consumes the same number of random numbers.
    """

    latent_space: spaces.Box
    n_uniforms: int = 1

    @abstractmethod
    def sample_initial(self, rng: np.random.Generator) -> Any:
        """Draw ``m_0 ~ nu_0``."""

    @abstractmethod
    def sample_next(self, state: Any, uniforms: np.ndarray) -> Any:
        """Draw ``m' ~ T_m(. | m)`` from ``n_uniforms`` uniform numbers."""

    def value(self, state: Any) -> np.ndarray:
        """The latent as a float32 vector."""
        return np.asarray(state, dtype=np.float32).reshape(self.latent_space.shape)

    def from_value(self, value: Any) -> Any:
        """Inverse of :meth:`value`, used by ``reset(options={"latent": ...})``."""
        value = np.asarray(value, dtype=np.float32).reshape(self.latent_space.shape)
        if not self.latent_space.contains(value):
            raise ValueError(f"latent {value} is outside the latent space {self.latent_space}")
        return value


class MarkovChainLatent(LatentProcess):
    """A latent on a finite set ``values[k]`` with a transition matrix ``T_m[k, k']``.

    :param values: (K, d) latent vectors, one per state.
    :param transition_matrix: (K, K) row-stochastic matrix; row ``k`` is ``T_m(. | k)``.
    :param initial_probs: (K,) ``nu_0``; uniform when None.
    """

    def __init__(
        self,
        values: np.ndarray,
        transition_matrix: np.ndarray,
        initial_probs: np.ndarray | None = None,
    ) -> None:
        values = np.asarray(values, dtype=np.float32)
        if values.ndim == 1:
            values = values[:, None]
        n_states = len(values)
        matrix = np.asarray(transition_matrix, dtype=np.float64)
        if matrix.shape != (n_states, n_states):
            raise ValueError(f"transition_matrix must have shape {(n_states, n_states)}, got {matrix.shape}")
        if np.any(matrix < 0) or not np.allclose(matrix.sum(axis=1), 1.0, atol=1e-6):
            raise ValueError(
                f"transition_matrix rows must be probabilities summing to 1, got row sums {matrix.sum(axis=1)}"
            )
        probs = np.full(n_states, 1.0 / n_states) if initial_probs is None else np.asarray(initial_probs, float)
        if probs.shape != (n_states,) or np.any(probs < 0) or not np.isclose(probs.sum(), 1.0):
            raise ValueError(f"initial_probs must be {n_states} probabilities summing to 1, got {probs}")
        self.values = values
        self.transition_matrix = matrix
        self.initial_probs = probs
        self._cumulative = np.cumsum(matrix, axis=1)
        self._initial_cumulative = np.cumsum(probs)
        self.latent_space = spaces.Box(values.min(axis=0), values.max(axis=0), dtype=np.float32)

    @property
    def n_states(self) -> int:
        return len(self.values)

    def sample_initial(self, rng: np.random.Generator) -> int:
        return self._pick(self._initial_cumulative, rng.random())

    def sample_next(self, state: int, uniforms: np.ndarray) -> int:
        return self._pick(self._cumulative[state], uniforms[0])

    @staticmethod
    def _pick(cumulative: np.ndarray, u: float) -> int:
        return min(int(np.searchsorted(cumulative, u, side="right")), len(cumulative) - 1)

    def value(self, state: int) -> np.ndarray:
        return self.values[state].copy()

    def from_value(self, value: Any) -> int:
        if np.isscalar(value) and float(value).is_integer() and 0 <= int(value) < self.n_states:
            return int(value)
        matches = np.flatnonzero(np.all(np.isclose(self.values, np.asarray(value, np.float32)), axis=1))
        if len(matches) == 0:
            raise ValueError(
                f"latent {value!r} is neither a state index in [0, {self.n_states}) nor one of {self.values}"
            )
        return int(matches[0])


class SessionProcess:
    """The session process: ``d_t ~ Bernoulli(p)`` every step, ``m_{t+1} ~ T_m(. | m_t)`` when ``d_t = 1``."""

    def __init__(self, latent_process: LatentProcess, switch_prob: float) -> None:
        self.latent_process = latent_process
        self.switch_prob = check_switch_prob(switch_prob)
        self.rng = np.random.default_rng()
        self.state: Any = None
        self.latent = np.zeros(latent_process.latent_space.shape, dtype=np.float32)
        self.session_index = 0

    def reset(self, rng: np.random.Generator, latent: Any = None) -> None:
        """Start an episode: draw ``m_0`` (always, so the stream does not depend on ``latent``)."""
        self.rng = rng
        self.state = self.latent_process.sample_initial(rng)
        if latent is not None:
            self.state = self.latent_process.from_value(latent)
        self.latent = self.latent_process.value(self.state)
        self.session_index = 0

    def step(self) -> bool:
        """Draw ``d_t`` and the candidate next latent; advance when the session ends. Returns ``d_t``."""
        uniforms = self.rng.random(1 + self.latent_process.n_uniforms)
        session_end = bool(uniforms[0] < self.switch_prob)
        if session_end:
            self.state = self.latent_process.sample_next(self.state, uniforms[1:])
            self.latent = self.latent_process.value(self.state)
            self.session_index += 1
        return session_end


class DLCMDPMixin:
    """Adds the DLCMDP session process and info contract to a gymnasium env.

    Subclasses call :meth:`_setup_sessions` in ``__init__``, :meth:`_reset_sessions` in ``reset`` (after
    ``super().reset(seed=seed)``), compute the reward of a step with :attr:`latent`, then call
    :meth:`_end_step` to obtain the step's session info. :meth:`_on_session_change` is the hook for envs
    whose simulator must see the new latent (e.g. moving a target marker).
    """

    latent_process: LatentProcess
    latent_space: spaces.Box
    switch_prob: float
    oracle: bool

    def _setup_sessions(self, latent_process: LatentProcess, switch_prob: float, oracle: bool) -> None:
        self.latent_process = latent_process
        self.latent_space = latent_process.latent_space
        self._sessions = SessionProcess(latent_process, switch_prob)
        self.switch_prob = self._sessions.switch_prob
        self.oracle = bool(oracle)
        self._episode_seeds: np.random.SeedSequence | None = None
        self.episode_rng = np.random.default_rng()

    def _oracle_space(self, observation_space: spaces.Box) -> spaces.Box:
        """The observation space, with the latent appended when ``oracle=True``."""
        if not self.oracle:
            return observation_space
        low = np.concatenate([observation_space.low, self.latent_space.low]).astype(observation_space.dtype)
        high = np.concatenate([observation_space.high, self.latent_space.high]).astype(observation_space.dtype)
        return spaces.Box(low, high, dtype=observation_space.dtype)

    @property
    def latent(self) -> np.ndarray:
        """The current latent ``m_t`` (float32 vector)."""
        return self._sessions.latent

    @property
    def session_index(self) -> int:
        return self._sessions.session_index

    def _reset_sessions(self, seed: int | None, options: dict[str, Any] | None) -> dict[str, Any]:
        """Seed the session RNG for a new episode and draw ``m_0``; returns the reset info."""
        options = dict(options or {})
        unknown = set(options) - RESET_OPTIONS
        if unknown:
            raise ValueError(f"unknown reset options {sorted(unknown)}; supported: {sorted(RESET_OPTIONS)}")
        if seed is not None or self._episode_seeds is None:
            self._episode_seeds = np.random.SeedSequence(seed)
        # one child seed per episode: a seeded reset followed by unseeded ones is reproducible
        self.episode_rng = np.random.default_rng(self._episode_seeds.spawn(1)[0])
        self._sessions.reset(self.episode_rng, options.get("latent"))
        self._on_session_change()
        return {"session_end": False, "session_index": 0, "latent": self.latent.copy()}

    def _end_step(self) -> dict[str, Any]:
        """Info of the transition just taken with ``m_t``, then draw ``d_t`` and move to ``m_{t+1}``."""
        info = {"latent": self._sessions.latent.copy(), "session_index": self._sessions.session_index}
        info["session_end"] = self._sessions.step()
        if info["session_end"]:
            self._on_session_change()
        return info

    def _on_session_change(self) -> None:
        """Hook called after ``m`` was (re)drawn, at reset and at every session boundary."""

    def _with_latent(self, observation: np.ndarray) -> np.ndarray:
        """Append the true latent to the observation when ``oracle=True``."""
        if not self.oracle:
            return observation
        return np.concatenate([observation, self.latent.astype(observation.dtype)])
