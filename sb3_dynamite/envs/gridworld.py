"""GridWorld with a paying goal that changes between sessions (DynaMITE-RL, Fig. 2)."""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from sb3_dynamite.envs.dlcmdp import DLCMDPMixin, MarkovChainLatent

#: (dx, dy) of the actions stay, up, right, down, left
MOVES = np.array([[0, 0], [0, 1], [1, 0], [0, -1], [-1, 0]], dtype=np.int64)
DEFAULT_TRANSITION = ((0.2, 0.8), (0.8, 0.2))


class GridWorldEnv(DLCMDPMixin, gym.Env):
    """
    ## Description
    A 5x5 grid. Two goal cells are drawn per episode (never the start cell); the latent ``k`` says
    which of the two pays. During an episode the paying goal changes between sessions, at moments
    the agent does not observe; it has to notice from its rewards and go to the other goal.

    ## Action Space
    ``Discrete(5)``: 0 stay, 1 up (y + 1), 2 right (x + 1), 3 down (y - 1), 4 left (x - 1).
    Moves off the grid leave the agent where it is.

    ## Observation Space
    | index | observation                    | range  |
    |-------|--------------------------------|--------|
    | 0-1   | agent cell (x, y)              | 0 .. 4 |
    | 2-3   | goal A cell (``observe_goals``) | 0 .. 4 |
    | 4-5   | goal B cell (``observe_goals``) | 0 .. 4 |
    | last  | ``k`` (only with ``oracle=True``) | 0, 1 |

    ## Latent
    ``k`` in {0, 1}: goal A pays when ``k = 0``, goal B when ``k = 1``. ``nu_0`` uniform;
    ``T_m = [[0.2, 0.8], [0.8, 0.2]]`` (at a session switch the paying goal usually flips).
    ``info["latent"] = [k]``.

    ## Rewards
    After the move: +1 on the paying goal, 0 on the other goal, -0.1 on every other cell.

    ## Starting State
    The agent starts at (0, 0). It is not moved at session boundaries.

    ## Episode End
    Truncation after ``H = 60`` steps (registration), never termination.

    ## Arguments
    | argument            | default | description                                              |
    |---------------------|---------|----------------------------------------------------------|
    | `switch_prob`       | 0.07    | probability ``p`` that a session ends after a step        |
    | `transition_matrix` | see above | ``T_m`` on ``k`` (rows sum to 1)                        |
    | `observe_goals`     | True    | observe both goal cells (only *which* pays is hidden)     |
    | `oracle`            | False   | append ``k`` to the observation (oracle baseline)         |
    | `size`              | 5       | grid side                                                 |

    ## Version History
    * v0: initial release.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array", "ansi"], "render_fps": 4}

    def __init__(
        self,
        switch_prob: float = 0.07,
        transition_matrix: Any = DEFAULT_TRANSITION,
        observe_goals: bool = True,
        oracle: bool = False,
        size: int = 5,
        render_mode: str | None = None,
    ) -> None:
        if int(size) < 2:
            raise ValueError(f"size must be at least 2, got {size}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"unknown render_mode={render_mode!r}; choose one of {self.metadata['render_modes']}")
        self.size = int(size)
        self.observe_goals = bool(observe_goals)
        self.render_mode = render_mode
        self._setup_sessions(MarkovChainLatent([0.0, 1.0], transition_matrix), switch_prob, oracle)
        n_obs = 6 if self.observe_goals else 2
        base = spaces.Box(0.0, float(self.size - 1), shape=(n_obs,), dtype=np.float32)
        self.observation_space = self._oracle_space(base)
        self.action_space = spaces.Discrete(len(MOVES))
        self.agent = np.zeros(2, dtype=np.int64)
        self.goals = np.zeros((2, 2), dtype=np.int64)

    @property
    def paying_goal(self) -> np.ndarray:
        """The cell that pays under the current latent."""
        return self.goals[int(self.latent[0])]

    def _get_obs(self) -> np.ndarray:
        parts = [self.agent, self.goals.ravel()] if self.observe_goals else [self.agent]
        return self._with_latent(np.concatenate(parts).astype(np.float32))

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        info = self._reset_sessions(seed, options)
        # the goal cells are episode context drawn from the session RNG: paired across methods
        cells = self.episode_rng.choice(self.size * self.size - 1, size=2, replace=False) + 1
        self.goals = np.stack([cells % self.size, cells // self.size], axis=1)
        self.agent = np.zeros(2, dtype=np.int64)
        return self._get_obs(), info

    def step(self, action: Any):
        action = int(action)
        if not 0 <= action < len(MOVES):
            raise ValueError(f"action {action} is outside Discrete({len(MOVES)})")
        self.agent = np.clip(self.agent + MOVES[action], 0, self.size - 1)
        if np.array_equal(self.agent, self.paying_goal):
            reward = 1.0
        elif np.array_equal(self.agent, self.goals[1 - int(self.latent[0])]):
            reward = 0.0
        else:
            reward = -0.1
        info = self._end_step()
        return self._get_obs(), reward, False, False, info

    def _label_grid(self) -> np.ndarray:
        """Cell labels, top row first: ``A`` agent, ``$`` paying goal, ``o`` other goal, ``.`` empty."""
        grid = np.full((self.size, self.size), ".")
        for cell, label in ((self.goals[0], "o"), (self.goals[1], "o"), (self.paying_goal, "$"), (self.agent, "A")):
            grid[self.size - 1 - cell[1], cell[0]] = label
        return grid

    def render(self) -> np.ndarray | str | None:
        if self.render_mode == "ansi":
            return "\n".join("".join(row) for row in self._label_grid())
        if self.render_mode == "rgb_array":
            colours = {".": (235, 235, 235), "o": (120, 120, 120), "$": (40, 170, 60), "A": (40, 80, 220)}
            image = np.array([[colours[label] for label in row] for row in self._label_grid()], dtype=np.uint8)
            return np.kron(image, np.ones((32, 32, 1), dtype=np.uint8))
        return None
