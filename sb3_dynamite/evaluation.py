"""Evaluate a belief model on a DLCMDP: belief traces, linear probes of the latent, belief plots and returns.

- :func:`belief_rollout` runs one episode of a :class:`~sb3_dynamite.DynaMITEPPO` (or ``VariBADPPO``) model
  and records, per step, what the agent saw and did, the belief it acted on and the ground truth of the
  DLCMDP (``info["latent"]``, ``info["session_index"]``, ``info["session_end"]``).
- :class:`LatentProbe` / :func:`fit_latent_probe` read the latent out of the belief ``(mu_t, logvar_t)`` with
  a linear model (logistic regression for a finite latent, least squares for a continuous one such as
  HalfCheetahVel's target velocity), in numpy.
- :class:`GoalRewardReadout` reads GridWorld's belief through the model's own reward decoder (VariBAD's way
  of showing a belief): the expected reward of standing on each goal under ``z ~ b_t``. The decoder also
  sees the goal cells, so it can read a belief that encodes *where* the paying goal is, which a linear probe
  cannot; but it only learns from the agent's own transitions (mostly on the paying goal), so its answer
  about the other goal may be biased.
- :func:`termination_detection`: how often ``c_t`` fires at a session change and elsewhere.
- :func:`plot_belief` draws the decoded belief against the true latent, with the true session boundaries
  and the predicted session-termination probability ``c_t`` (DynaMITE-RL, Fig. 2).
- :func:`reference_returns`, :func:`normalized_score`: returns of the scripted references (random, oracle,
  informed) on the same seeded episodes, and the score normalised to random 0 / oracle 1.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gymnasium as gym
import numpy as np
import torch as th
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, is_vecenv_wrapped

from sb3_dynamite.common.wrappers import VecPreviousActionReward
from sb3_dynamite.dynamite.policies import DynaMITEPolicy
from sb3_dynamite.envs.dlcmdp import MarkovChainLatent
from sb3_dynamite.envs.scripted import REFERENCE_POLICIES, make_reference_env, reference_policy

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: how the plots name the decoded latent of the envs we ship: (axis label, label of the true latent)
LATENT_LABELS: dict[str, tuple[str, str]] = {
    "dlcmdp/GridWorld-v0": ("P(goal B pays)", "goal B pays (true k)"),
    "dlcmdp/HalfCheetahVel-v0": ("target velocity v* (m/s)", "true v*"),
}


@dataclass(frozen=True)
class BeliefTrace:
    """One episode of a belief model on a DLCMDP, one row per step ``t = 0 .. T-1``.

    Indexing (SPEC §3.1): at step ``t`` the policy observed ``x_t = (s_t, a_{t-1}, r_{t-1})``, so the belief
    it acted on, ``b_t = (mu_t, logvar_t)`` with termination probability ``c_t``, has seen the transitions
    ``0 .. t-1`` only. ``action[t]``, ``reward[t]`` and the truth columns belong to transition ``t``, which
    is generated under ``latent[t] = m_t``. A session that ends at step ``j`` (``session_end[j]``) changes
    the latent from step ``j + 1`` on, and the first belief that can have seen it is ``b_{j+2}``.

    :param observation: (T, obs_dim) encoder inputs ``x_t = [s_t, a_{t-1}, r_{t-1}]``.
    :param action: (T, ...) actions ``a_t``.
    :param reward: (T,) rewards ``r_t``.
    :param belief_mean: (T, latent_dim) ``mu_t``.
    :param belief_logvar: (T, latent_dim) ``logvar_t``.
    :param termination: (T,) ``c_t``, the predicted probability that a session just ended (None when the
        termination head is not trained: ``termination_coef = 0``, e.g. VariBAD).
    :param latent: (T, d) the true ``m_t`` (``info["latent"]``).
    :param session_index: (T,) ``info["session_index"]`` of transition ``t``.
    :param session_end: (T,) ``info["session_end"]``, i.e. ``d_t``.
    :param env_id: the env id, when the rollout was built from one.
    :param seed: the reset seed of the episode.
    :param gru_state: (T, hidden) the encoder's last-layer GRU state ``h_t`` that ``b_t`` is read from
        (recorded by :func:`belief_rollout`).
    """

    observation: np.ndarray
    action: np.ndarray
    reward: np.ndarray
    belief_mean: np.ndarray
    belief_logvar: np.ndarray
    termination: np.ndarray | None
    latent: np.ndarray
    session_index: np.ndarray
    session_end: np.ndarray
    env_id: str | None = None
    seed: int | None = None
    gru_state: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.reward)

    @property
    def episode_return(self) -> float:
        """Undiscounted return of the episode."""
        return float(np.sum(self.reward))

    @property
    def n_sessions(self) -> int:
        """Number of sessions the episode went through."""
        return int(self.session_index[-1]) + 1 if len(self) else 0

    @property
    def session_latent(self) -> np.ndarray:
        """(T, d) the latent of the session the belief ``b_t`` belongs to, ``S(t) = sess(t-1)``: ``m_{t-1}``
        (``m_0`` at ``t = 0``). It is what ``b_t`` has evidence about, hence the target of a probe."""
        return np.concatenate([self.latent[:1], self.latent[:-1]]) if len(self) else self.latent

    @property
    def boundaries(self) -> np.ndarray:
        """Steps ``j`` whose transition ended a session (``d_j = 1``)."""
        return np.flatnonzero(self.session_end)


def _belief_policy(model: Any) -> DynaMITEPolicy:
    policy = getattr(model, "policy", model)
    if not isinstance(policy, DynaMITEPolicy):
        raise TypeError(
            f"expected a DynaMITEPPO / VariBADPPO model (or its DynaMITEPolicy), got {type(model).__name__}: "
            "only a belief-model policy has a belief to record"
        )
    return policy


def _trains_termination(model: Any, policy: DynaMITEPolicy) -> bool:
    """Whether the termination head is trained: by the algorithm's ``termination_coef`` (the head may be trained
    without ``c_t`` being a policy input), else, for a bare policy, whether the policy reads ``c_t``."""
    coef = getattr(model, "termination_coef", None)
    return policy.use_termination if coef is None else coef > 0


def _rollout_env(env: str | gym.Env | VecEnv, seed: int | None, env_kwargs: dict[str, Any] | None) -> VecEnv:
    """A one-env VecEnv whose observations are the encoder inputs ``x_t``."""
    if isinstance(env, str):
        venv = DummyVecEnv([lambda: gym.make(env, **(env_kwargs or {}))])
    else:
        if env_kwargs:
            raise ValueError("env_kwargs only applies to an env id; configure an env object when you make it")
        venv = env if isinstance(env, VecEnv) else DummyVecEnv([lambda: env])
    if venv.num_envs != 1:
        raise ValueError(
            f"belief_rollout records one episode and needs a single env, got a VecEnv with {venv.num_envs}; "
            "pass the env id (or a one-env VecEnv) instead of model.get_env()"
        )
    if not is_vecenv_wrapped(venv, VecPreviousActionReward):
        venv = VecPreviousActionReward(venv)
    return venv


def _env_id(venv: VecEnv) -> str | None:
    """The registered id of a VecEnv's first env, if it has one."""
    try:
        spec = venv.get_attr("spec", indices=0)[0]
    except AttributeError:
        return None
    return getattr(spec, "id", None)


def belief_rollout(
    model: Any,
    env_id_or_env: str | gym.Env | VecEnv,
    seed: int | None = 0,
    deterministic: bool = True,
    n_steps: int | None = None,
    env_kwargs: dict[str, Any] | None = None,
) -> BeliefTrace:
    """Run one episode of ``model`` and record the belief it acted on at every step with the DLCMDP's truth.

    The truth comes from the env's ``info`` (``latent``, ``session_index``, ``session_end``; see
    :mod:`sb3_dynamite.envs.dlcmdp`). With the same ``seed`` a DLCMDP draws the same sessions and latents
    whatever the policy does, so traces of different models on one seed are paired.

    :param model: a trained ``DynaMITEPPO`` / ``VariBADPPO`` (or its policy).
    :param env_id_or_env: an env id, a gymnasium env, or a one-env VecEnv (wrapped with
        ``VecPreviousActionReward`` here unless it already is).
    :param seed: reset seed of the episode (None: unseeded).
    :param deterministic: act with the mode of the policy.
    :param n_steps: stop after this many steps (None: at the end of the episode).
    :param env_kwargs: constructor kwargs when ``env_id_or_env`` is an id.
    :return: the :class:`BeliefTrace` (``b_t`` is the belief after consuming ``x_t``, before acting).
    """
    policy = _belief_policy(model)
    if n_steps is not None and n_steps < 1:
        raise ValueError(f"n_steps must be None (whole episode) or at least 1, got {n_steps}")
    venv = _rollout_env(env_id_or_env, seed, env_kwargs)
    if venv.observation_space.shape != policy.observation_space.shape:
        raise ValueError(
            f"the env's encoder input has shape {venv.observation_space.shape} but the model expects "
            f"{policy.observation_space.shape}: roll out on the env the model was trained on"
        )
    venv.seed(seed)
    obs = venv.reset()
    state, start = None, np.ones(1, dtype=bool)
    rows: dict[str, list[Any]] = {key: [] for key in ("obs", "action", "reward", "hidden", "mu", "logvar", "c",
                                                      "latent", "session_index", "session_end")}
    while n_steps is None or len(rows["reward"]) < n_steps:
        action, state = policy.predict(obs, state=state, episode_start=start, deterministic=deterministic)
        with th.no_grad():
            hidden = th.as_tensor(state[0][-1], device=policy.device)  # h_t of the last GRU layer
            mu, logvar, logit = policy.features_extractor.heads(hidden)
        next_obs, reward, done, infos = venv.step(action)
        info = infos[0]
        if "latent" not in info:
            raise ValueError(
                "the env's info has no 'latent': belief_rollout compares the belief with the true latent, so the "
                "env must follow the DLCMDP info contract (session_end, session_index, latent)"
            )
        for key, value in (("obs", obs[0]), ("action", action[0]), ("reward", reward[0]), ("hidden", hidden[0]),
                           ("mu", mu[0]), ("logvar", logvar[0]), ("c", th.sigmoid(logit[0])),
                           ("latent", info["latent"]), ("session_index", info.get("session_index", 0)),
                           ("session_end", info.get("session_end", False))):
            rows[key].append(np.asarray(value.cpu() if isinstance(value, th.Tensor) else value))
        if done[0]:
            break
        obs, start = next_obs, np.zeros(1, dtype=bool)
    return BeliefTrace(
        observation=np.stack(rows["obs"]).astype(np.float32),
        action=np.stack(rows["action"]),
        reward=np.asarray(rows["reward"], dtype=np.float64),
        belief_mean=np.stack(rows["mu"]).astype(np.float32),
        belief_logvar=np.stack(rows["logvar"]).astype(np.float32),
        termination=np.asarray(rows["c"], dtype=np.float32) if _trains_termination(model, policy) else None,
        latent=np.stack(rows["latent"]).astype(np.float32).reshape(len(rows["reward"]), -1),
        session_index=np.asarray(rows["session_index"], dtype=np.int64),
        session_end=np.asarray(rows["session_end"], dtype=bool),
        env_id=env_id_or_env if isinstance(env_id_or_env, str) else _env_id(venv),
        seed=seed,
        gru_state=np.stack(rows["hidden"]).astype(np.float32),
    )


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


@dataclass
class LatentProbe:
    """A linear read-out of the latent from the belief features ``[mu_t, logvar_t]``.

    ``kind="classes"``: multinomial logistic regression over the latent values ``classes`` (a finite latent,
    e.g. GridWorld's paying goal); ``kind="linear"``: least squares onto the latent vector (a continuous
    latent, e.g. a target velocity). Features are standardised with the fitting data's statistics.
    """

    kind: str
    feature_mean: np.ndarray
    feature_scale: np.ndarray
    weights: np.ndarray  # (D, K) logits per class, or (D, d) regression coefficients
    bias: np.ndarray
    classes: np.ndarray | None = None  # (K, d) latent value of each class
    use_logvar: bool = True

    @staticmethod
    def belief_features(trace: BeliefTrace, use_logvar: bool = True) -> np.ndarray:
        """(T, D) the probe's inputs: ``[mu_t, logvar_t]`` (or ``mu_t`` alone)."""
        parts = [trace.belief_mean, trace.belief_logvar] if use_logvar else [trace.belief_mean]
        return np.concatenate(parts, axis=1).astype(np.float64)

    @classmethod
    def fit(
        cls,
        features: np.ndarray,
        targets: np.ndarray,
        kind: str = "auto",
        classes: np.ndarray | None = None,
        l2: float = 1e-3,
        use_logvar: bool = True,
        n_iterations: int = 2000,
    ) -> LatentProbe:
        """Fit on features (N, D) and latents (N, d). ``kind="auto"``: ``"classes"`` when ``classes`` (the
        latent values, (K, d)) are given, else ``"linear"``; ``"classes"`` without them uses the distinct
        targets. ``l2`` is a ridge penalty."""
        features = np.asarray(features, dtype=np.float64)
        targets = np.asarray(targets, dtype=np.float64).reshape(len(features), -1)
        if features.ndim != 2 or len(features) < 2 or not np.all(np.isfinite(features)):
            raise ValueError(f"need at least 2 finite feature rows (N, D), got shape {features.shape}")
        if kind not in ("auto", "classes", "linear"):
            raise ValueError(f"unknown probe kind={kind!r}; choose 'auto', 'classes' or 'linear'")
        if kind == "auto":
            kind = "classes" if classes is not None else "linear"
        mean, scale = features.mean(axis=0), features.std(axis=0) + 1e-8
        x = (features - mean) / scale
        if kind == "linear":
            target_mean = targets.mean(axis=0)
            weights = np.linalg.solve(x.T @ x + l2 * len(x) * np.eye(x.shape[1]), x.T @ (targets - target_mean))
            return cls("linear", mean, scale, weights, target_mean, None, use_logvar)
        classes = np.unique(targets, axis=0) if classes is None else np.asarray(classes, np.float64).reshape(
            -1, targets.shape[1])
        labels = cls._class_index(targets, classes)
        one_hot = np.eye(len(classes))[labels]
        weights, bias = np.zeros((x.shape[1], len(classes))), np.zeros(len(classes))
        for _ in range(n_iterations):  # full-batch gradient descent on the (convex) regularised cross-entropy
            error = (_softmax(x @ weights + bias) - one_hot) / len(x)
            weights -= 1.0 * (x.T @ error + l2 * weights)
            bias -= 1.0 * error.sum(axis=0)
        return cls("classes", mean, scale, weights, bias, classes, use_logvar)

    @staticmethod
    def _class_index(targets: np.ndarray, classes: np.ndarray) -> np.ndarray:
        distance = np.abs(targets[:, None, :] - classes[None, :, :]).sum(axis=2)
        if np.any(distance.min(axis=1) > 1e-4):
            raise ValueError(f"some latents are none of the probe's classes {classes.tolist()}")
        return distance.argmin(axis=1)

    def _features(self, data: BeliefTrace | np.ndarray) -> np.ndarray:
        features = self.belief_features(data, self.use_logvar) if isinstance(data, BeliefTrace) else data
        return (np.asarray(features, dtype=np.float64) - self.feature_mean) / self.feature_scale

    def predict_proba(self, data: BeliefTrace | np.ndarray) -> np.ndarray:
        """(T, K) class probabilities (``kind="classes"`` only)."""
        if self.kind != "classes":
            raise ValueError("predict_proba needs a 'classes' probe; a 'linear' probe decodes values: use decode")
        return _softmax(self._features(data) @ self.weights + self.bias)

    def decode(self, data: BeliefTrace | np.ndarray) -> np.ndarray:
        """(T, d) the decoded latent: the most probable class value, or the regression output."""
        if self.kind == "classes":
            return self.classes[self.predict_proba(data).argmax(axis=1)]
        return self._features(data) @ self.weights + self.bias

    def score(self, traces: BeliefTrace | Sequence[BeliefTrace]) -> float:
        """Against each belief's session latent (:attr:`BeliefTrace.session_latent`): accuracy for a
        ``classes`` probe, R^2 for a ``linear`` one."""
        return readout_score(self, traces)


def readout_score(readout: LatentProbe | GoalRewardReadout, traces: BeliefTrace | Sequence[BeliefTrace]) -> float:
    """How well ``readout.decode`` recovers each belief's session latent (:attr:`BeliefTrace.session_latent`):
    the accuracy for a ``classes`` read-out, R^2 for a ``linear`` one."""
    traces = [traces] if isinstance(traces, BeliefTrace) else list(traces)
    decoded = np.concatenate([readout.decode(trace) for trace in traces])
    truth = np.concatenate([trace.session_latent for trace in traces]).astype(np.float64)
    if readout.kind == "classes":
        return float(np.mean(np.all(np.abs(decoded - truth) < 1e-4, axis=1)))
    residual = ((decoded - truth) ** 2).sum()
    total = ((truth - truth.mean(axis=0)) ** 2).sum()
    return float(1.0 - residual / total) if total > 0 else float("nan")


@dataclass
class GoalRewardReadout:
    """GridWorld's belief read through the model's reward decoder ``p(r | s, a, s', z)``.

    For each belief ``b_t`` it decodes the reward of *staying* on goal A and on goal B (the goal cells of
    step ``t``'s observation) under ``n_samples`` draws ``z ~ N(mu_t, exp(logvar_t))`` and averages. The paying
    goal gives +1 and the other 0, so ``r_B - r_A`` runs from -1 (A pays) to +1 (B pays); ``P(goal B pays)``
    is ``(1 + r_B - r_A) / 2`` clipped to [0, 1]. Same interface as a ``classes`` :class:`LatentProbe`.
    """

    model: Any
    n_samples: int = 32
    seed: int = 0
    kind: str = dataclasses.field(default="classes", init=False)
    classes: np.ndarray = dataclasses.field(default_factory=lambda: np.array([[0.0], [1.0]]), init=False)

    def goal_rewards(self, trace: BeliefTrace) -> np.ndarray:
        """(T, 2) the decoded reward of staying on goal A and on goal B under each belief."""
        policy = _belief_policy(self.model)
        encoder = policy.features_extractor
        if encoder.state_dim != 6 or encoder.action_dim != 5:
            raise ValueError("GoalRewardReadout reads dlcmdp/GridWorld-v0 models with observed goals (6 state "
                             f"features, 5 actions); this model has {encoder.state_dim} and {encoder.action_dim}")
        goals = th.as_tensor(trace.observation[:, 2:6], dtype=th.float32, device=policy.device)  # (T, 4)
        mu = th.as_tensor(trace.belief_mean, device=policy.device)
        std = th.as_tensor(np.exp(0.5 * trace.belief_logvar), device=policy.device)
        generator = th.Generator(device=policy.device).manual_seed(self.seed)
        noise = th.randn((self.n_samples, *mu.shape), generator=generator, device=policy.device)
        z = mu + noise * std  # (S, T, L)
        stay = th.zeros(*z.shape[:2], 5, device=policy.device)
        stay[..., 0] = 1.0
        rewards = []
        with th.no_grad():
            for goal in (goals[:, 0:2], goals[:, 2:4]):
                state = th.cat([goal, goals], dim=-1).expand(self.n_samples, -1, -1)
                rewards.append(policy.reward_decoder(state, stay, state, z).mean(dim=0))
        return th.stack(rewards, dim=-1).cpu().numpy().astype(np.float64)

    def predict_proba(self, trace: BeliefTrace) -> np.ndarray:
        """(T, 2) P(goal A pays), P(goal B pays)."""
        rewards = self.goal_rewards(trace)
        second = np.clip(0.5 + 0.5 * (rewards[:, 1] - rewards[:, 0]), 0.0, 1.0)
        return np.stack([1.0 - second, second], axis=1)

    def decode(self, trace: BeliefTrace) -> np.ndarray:
        """(T, 1) the more probable paying goal, 0 (A) or 1 (B)."""
        return self.classes[self.predict_proba(trace).argmax(axis=1)]

    def score(self, traces: BeliefTrace | Sequence[BeliefTrace]) -> float:
        """Accuracy against each belief's session latent (:func:`readout_score`)."""
        return readout_score(self, traces)


def _latent_classes(process: Any) -> np.ndarray | None:
    """The latent values of a finite-latent DLCMDP's process (a :class:`MarkovChainLatent`), else None."""
    return process.values if isinstance(process, MarkovChainLatent) else None


def rollout_traces(model: Any, env_id_or_env: str | VecEnv, n_episodes: int, seed: int = 0,
                   deterministic: bool = True, env_kwargs: dict[str, Any] | None = None) -> list[BeliefTrace]:
    """:func:`belief_rollout` on the seeds ``seed .. seed + n_episodes - 1`` (one env, reset with each seed)."""
    if n_episodes < 1:
        raise ValueError(f"n_episodes must be at least 1, got {n_episodes}")
    env = _rollout_env(env_id_or_env, seed, env_kwargs)
    env_id = env_id_or_env if isinstance(env_id_or_env, str) else _env_id(env)
    traces = [dataclasses.replace(belief_rollout(model, env, seed + i, deterministic), env_id=env_id)
              for i in range(n_episodes)]
    if isinstance(env_id_or_env, str):
        env.close()
    return traces


def fit_latent_probe(
    model: Any,
    env_id_or_env: str | VecEnv,
    n_episodes: int = 30,
    seed: int = 0,
    kind: str = "auto",
    deterministic: bool = True,
    use_logvar: bool = True,
    env_kwargs: dict[str, Any] | None = None,
) -> LatentProbe:
    """Fit a :class:`LatentProbe` from the model's beliefs to the latent of their session, on
    ``n_episodes`` rollouts (seeds ``seed ..``). ``kind="auto"``: a latent on a finite chain
    (a :class:`~sb3_dynamite.envs.dlcmdp.MarkovChainLatent`, e.g. GridWorld's ``k``) gets a logistic probe
    over its values, any other (HalfCheetahVel's ``v*``, an env without ``latent_process``) a least-squares
    probe; ``kind="classes"`` forces a logistic probe over the distinct latents seen."""
    traces = rollout_traces(model, env_id_or_env, n_episodes, seed, deterministic, env_kwargs)
    classes = None
    if kind in ("auto", "classes"):
        if isinstance(env_id_or_env, str):
            env = gym.make(env_id_or_env, **(env_kwargs or {}))
            classes = _latent_classes(getattr(env.unwrapped, "latent_process", None))
            env.close()
        elif env_id_or_env.has_attr("latent_process"):
            classes = _latent_classes(env_id_or_env.get_attr("latent_process")[0])
    features = np.concatenate([LatentProbe.belief_features(trace, use_logvar) for trace in traces])
    targets = np.concatenate([trace.session_latent for trace in traces])
    return LatentProbe.fit(features, targets, kind="classes" if classes is not None else kind, classes=classes,
                           use_logvar=use_logvar)


def plot_belief(
    trace: BeliefTrace,
    probe: LatentProbe | GoalRewardReadout | None = None,
    ax: Axes | None = None,
    termination_ax: Axes | None = None,
    title: str | None = None,
) -> Axes:
    """Plot the belief of one episode against the true latent, as in DynaMITE-RL's Fig. 2.

    With a ``probe``: the decoded belief (for a two-valued latent, the probability of the second value,
    e.g. P(goal B pays) on GridWorld; otherwise the decoded latent) against the true ``m_t``. Without one:
    each ``mu_t`` with its one-sigma band, and the true latent on a right-hand axis. The true session
    boundaries are dashed vertical lines (between step ``j`` and ``j + 1`` when ``d_j = 1``). The
    termination probability ``c_t`` (skipped when the model has no termination head) goes on
    ``termination_ax``, or on a second panel when ``ax`` is None, or on a right-hand axis of ``ax``; crosses
    mark its training target ``y_t = d_{t-2}`` (the first belief that has seen the new session).

    :return: the axes of the belief (``ax.figure`` is the figure).
    """
    import matplotlib.pyplot as plt

    show_termination = trace.termination is not None
    if ax is None:
        if show_termination and termination_ax is None:
            _, (ax, termination_ax) = plt.subplots(2, 1, sharex=True, figsize=(9, 4.6),
                                                   gridspec_kw={"height_ratios": [3, 1.3]})
        else:
            _, ax = plt.subplots(figsize=(9, 3.6))
    panels = {ax: [ax]}  # each panel and the axes drawn on it (right-hand twins included)
    panels[ax].extend(_plot_decoded(ax, trace, probe))
    if show_termination:
        if termination_ax is None:
            termination_ax = ax.twinx()
            panels[ax].append(termination_ax)
        else:
            panels[termination_ax] = [termination_ax]
        _plot_termination(termination_ax, trace)
    for panel in panels:
        for i, j in enumerate(trace.boundaries):
            panel.axvline(j + 0.5, color="grey", ls="--", lw=1, gid="session_boundary",
                          label="session boundary" if i == 0 else None)
        handles, labels = [], []
        for drawn in panels[panel]:
            more_handles, more_labels = drawn.get_legend_handles_labels()
            handles, labels = handles + more_handles, labels + more_labels
        if handles:  # outside on the right, clear of the curves (and of a right-hand axis' labels)
            anchor = 1.02 if len(panels[panel]) == 1 else 1.12
            panel.legend(handles, labels, loc="upper left", bbox_to_anchor=(anchor, 1.0), fontsize="small",
                         frameon=False)
    list(panels)[-1].set_xlabel("step t")
    ax.set_title(title if title is not None else _default_title(trace))
    return ax


def _plot_decoded(ax: Axes, trace: BeliefTrace, probe: LatentProbe | GoalRewardReadout | None) -> list[Axes]:
    """The belief (decoded by ``probe`` if given) and the true latent; returns any right-hand axis made."""
    import matplotlib.pyplot as plt

    steps = np.arange(len(trace))
    decoded_label, truth_label = LATENT_LABELS.get(trace.env_id or "", (None, "true latent"))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    style = "o-" if len(trace) <= 120 else "-"  # a marker per step while they stay readable
    if probe is not None and probe.kind == "classes" and len(probe.classes) == 2:
        is_second = np.all(np.abs(trace.latent - probe.classes[1]) < 1e-4, axis=1).astype(float)
        ax.step(steps, is_second, where="mid", color="black", lw=1.5, label=truth_label)
        ax.plot(steps, probe.predict_proba(trace)[:, 1], style, color=colours[0], ms=3, label="decoded belief")
        ax.set_ylim(-0.05, 1.05)
        ax.set_ylabel(decoded_label or f"P(m = {probe.classes[1].tolist()})")
        return []
    if probe is not None:
        decoded = probe.decode(trace)
        for i in range(trace.latent.shape[1]):
            suffix = f"[{i}]" if trace.latent.shape[1] > 1 else ""
            colour = colours[i % len(colours)]
            ax.step(steps, trace.latent[:, i], where="mid", color="black" if i == 0 else colour, lw=1.5,
                    label=f"{truth_label}{suffix}")
            ax.plot(steps, decoded[:, i], style, color=colour, ms=3, lw=1, label=f"decoded belief{suffix}")
        ax.set_ylabel(decoded_label or "decoded latent")
        return []
    std = np.exp(0.5 * trace.belief_logvar)
    for i in range(trace.belief_mean.shape[1]):
        colour = colours[i % len(colours)]
        ax.plot(steps, trace.belief_mean[:, i], color=colour, lw=1, label=f"mu[{i}]")
        ax.fill_between(steps, trace.belief_mean[:, i] - std[:, i], trace.belief_mean[:, i] + std[:, i],
                        color=colour, alpha=0.15)
    ax.set_ylabel("belief mean (± 1 sd)")
    truth_ax = ax.twinx()
    for i in range(trace.latent.shape[1]):
        truth_ax.step(steps, trace.latent[:, i], where="mid", color="black", lw=1.5,
                      label=truth_label if i == 0 else None)
    truth_ax.set_ylabel(truth_label)
    return [truth_ax]


def termination_targets(trace: BeliefTrace) -> np.ndarray:
    """(T,) the training target of ``c_t``: ``y_t = d_{t-2}``, 1 at the first belief that has seen a new session."""
    targets = np.zeros(len(trace), dtype=bool)
    steps = trace.boundaries + 2
    targets[steps[steps < len(trace)]] = True
    return targets


def termination_detection(traces: BeliefTrace | Sequence[BeliefTrace], threshold: float = 0.5) -> dict[str, float]:
    """How well ``c_t`` detects session changes: ``recall`` (share of the steps with target ``y_t = 1`` where
    ``c_t > threshold``) and ``false_alarm`` (share of the other steps where ``c_t > threshold``)."""
    traces = [traces] if isinstance(traces, BeliefTrace) else list(traces)
    if any(trace.termination is None for trace in traces):
        raise ValueError("the traces have no termination probability c_t (a model without a termination head)")
    fired = np.concatenate([trace.termination > threshold for trace in traces])
    targets = np.concatenate([termination_targets(trace) for trace in traces])
    return {"recall": float(fired[targets].mean()) if targets.any() else float("nan"),
            "false_alarm": float(fired[~targets].mean()) if (~targets).any() else float("nan")}


def _plot_termination(ax: Axes, trace: BeliefTrace) -> None:
    """``c_t`` and the steps where its target ``y_t = d_{t-2}`` is 1."""
    steps = np.arange(len(trace))
    ax.plot(steps, trace.termination, color="tab:red", lw=1.2, label="c_t: P(new session)")
    targets = np.flatnonzero(termination_targets(trace))
    ax.plot(targets, np.ones(len(targets)), "x", color="tab:red", ms=6, label="target y_t = 1")
    ax.set_ylim(-0.05, 1.1)
    ax.set_ylabel("c_t")


def _default_title(trace: BeliefTrace) -> str:
    where = f"{trace.env_id}, " if trace.env_id else ""
    seed = f"seed {trace.seed}, " if trace.seed is not None else ""
    return f"{where}{seed}{trace.n_sessions} sessions, return {trace.episode_return:.1f}"


def save_belief_plot(trace: BeliefTrace, path: str | Path, probe: LatentProbe | GoalRewardReadout | None = None,
                     title: str | None = None, dpi: int = 90) -> Path:
    """:func:`plot_belief` into an image file (format from the suffix); returns the path."""
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ax = plot_belief(trace, probe, title=title)
    figure = ax.figure
    figure.tight_layout()
    figure.savefig(path, dpi=dpi)
    plt.close(figure)
    return path


def episode_returns(policy: Any, env: VecEnv, n_episodes: int, deterministic: bool = True) -> np.ndarray:
    """Returns of ``n_episodes`` episodes with SB3's ``evaluate_policy`` (recurrent state handled)."""
    returns, _ = evaluate_policy(policy, env, n_eval_episodes=n_episodes, deterministic=deterministic,
                                 return_episode_rewards=True, warn=False)
    return np.asarray(returns, dtype=np.float64)


def reference_returns(env_id: str, n_episodes: int, seed: int, kinds: Sequence[str] = ("random", "oracle",
                      "informed")) -> dict[str, np.ndarray]:
    """Per-episode returns of the scripted references of ``env_id`` on the same seeded episodes as
    ``episode_returns(model, make_reference_env(env_id, "previous_action_reward", 1, seed), ...)``.
    Kinds the env has no scripted policy for are left out."""
    results = {}
    for kind in kinds:
        if kind != "random" and kind not in REFERENCE_POLICIES.get(env_id, {}):
            continue
        policy_class = reference_policy(env_id, kind)
        env = make_reference_env(env_id, policy_class.observes, n_envs=1, seed=seed)
        action_space = copy.deepcopy(env.action_space)
        action_space.seed(seed)
        results[kind] = episode_returns(policy_class(action_space), env, n_episodes)
        env.close()
    return results


def normalized_score(value: float, random: float, oracle: float) -> float:
    """``(value - random) / (oracle - random)``: 0 is the random policy, 1 the oracle (SPEC §3.4)."""
    if not oracle > random:
        raise ValueError(f"the oracle return ({oracle}) must exceed the random return ({random}) to normalise")
    return float((value - random) / (oracle - random))
