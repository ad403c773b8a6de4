"""The methods of the benchmark and how each is built, trained and evaluated.

Learned methods take their hyperparameters from the zoo files in ``hyperparams/`` (the same ones
``python -m rl_zoo3.train`` uses); scripted ones come from :mod:`sb3_dynamite.envs.scripted`. Every method
is evaluated on the same reset seeds (hence the same goals and session sequences), deterministically.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch as th
import yaml
from sb3_contrib import RecurrentPPO
from stable_baselines3 import PPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.vec_env import VecEnv, VecNormalize

from sb3_dynamite import DynaMITEPPO, VariBADPPO
from sb3_dynamite.common.recurrent import FusedLstmPolicy
from sb3_dynamite.common.wrappers import VecPreviousActionReward, observation_normalizer
from sb3_dynamite.envs.scripted import make_reference_env, reference_policy

HYPERPARAMS = Path(__file__).resolve().parent.parent / "hyperparams"
EVAL_SEED = 10_000  # reset seeds of the evaluation envs (never used for training)
EVAL_ENVS = 5
EVAL_EPISODES = 25  # episodes of a run's final evaluation: the least the benchmark pairs its methods on
#: zoo keys that are not constructor arguments of the algorithm
ZOO_KEYS = ("n_envs", "n_timesteps", "policy", "normalize", "env_wrapper", "vec_env_wrapper", "frame_stack",
            "callback", "env_kwargs", "monitor_kwargs", "eval_env_kwargs")
#: the zoo keys that shape the learner (all but its budget): two runs whose entries differ in one are different learners
LEARNER_ZOO_KEYS = tuple(key for key in ZOO_KEYS if key != "n_timesteps")


@dataclass(frozen=True)
class Method:
    """A benchmark method: an algorithm with its zoo file, or a scripted reference policy."""

    name: str
    algo: str | None = None  # key into ALGORITHMS, None for scripted policies
    scripted: str | None = None  # "random", "zero", "oracle" or "informed"
    overrides: dict[str, Any] = field(default_factory=dict)  # on top of the zoo hyperparameters
    observes: str = "plain"  # what its env shows: plain, oracle, previous_action_reward (see make_reference_env)


#: algorithm -> (class, zoo file names tried in order)
ALGORITHMS: dict[str, tuple[type[BaseAlgorithm], tuple[str, ...]]] = {
    "dynamite": (DynaMITEPPO, ("dynamite.yml",)),
    "varibad": (VariBADPPO, ("varibad.yml",)),
    "rl2": (RecurrentPPO, ("ppo_lstm.yml", "recurrentppo.yml")),
    "oracle": (PPO, ("ppo.yml",)),
}

#: zoo ``policy`` values that build the same learner as an older value of the same entry, faster: RL^2's
#: FusedLstmPolicy runs each training sequence in one LSTM call (the same values, gradients up to float rounding;
#: common.recurrent). Runs recorded with the older value are not stale.
SAME_POLICY = {f"{FusedLstmPolicy.__module__}.{FusedLstmPolicy.__qualname__}": "MlpLstmPolicy"}

#: the policy option of the drift-aware belief normaliser
DRIFT = {"belief_norm_drift": True}
#: the policy option (of the encoder) that lets the policy read a_{t-1} and r_{t-1} besides s_t and the belief (the
#: zoo default), and the paper's policy input: s_t and the belief only
PASS_ACTION_REWARD = {"features_extractor_kwargs": {"pass_action_reward_to_policy": True}}
PAPER_INPUT = {"features_extractor_kwargs": {"pass_action_reward_to_policy": False}}
#: generalised state-dependent exploration (gSDE), the noise resampled every 4 steps as in rl-zoo3's HalfCheetahBullet
SDE = {"use_sde": True, "sde_sample_freq": 4}
#: VecNormalize of observations and rewards, as in rl-zoo3's HalfCheetah entries: the probe that made it our HalfCheetah
#: zoo default (before, ours normalised rewards only; those runs are in benchmarks/results/raw_obs/)
NORM_OBS = "dict(norm_obs=True, norm_reward=True)"
#: the belief methods' policy size on Reacher and ScratchItch
SMALL_POLICY = {"net_arch": [128, 128]}


def _variant(name: str, algo: str = "dynamite", **overrides: Any) -> Method:
    """A belief method (DynaMITE-RL by default) with ``overrides`` on top of its zoo entry."""
    return Method(name, algo=algo, overrides=overrides, observes="previous_action_reward")


def _oracle_probe(name: str, **overrides: Any) -> Method:
    """The learned oracle (PPO on the oracle observation) with ``overrides`` on top of its zoo entry."""
    return Method(name, algo="oracle", overrides=overrides, observes="oracle")


METHODS = {
    method.name: method
    for method in (
        # the zoo entries: the policy reads s_t, a_{t-1}, r_{t-1} and the belief (c_t too for DynaMITE-RL)
        Method("dynamite", algo="dynamite", observes="previous_action_reward"),
        Method("varibad", algo="varibad", observes="previous_action_reward"),
        Method("rl2", algo="rl2", observes="previous_action_reward"),  # RL^2 reads a_{t-1}, r_{t-1}
        Method("oracle", algo="oracle", observes="oracle"),
        Method("random", scripted="random"),
        Method("zero", scripted="zero"),  # does nothing: the HalfCheetahs stand still
        Method("informed", scripted="informed", observes="previous_action_reward"),
        Method("oracle_scripted", scripted="oracle", observes="oracle"),
        # the paper's policy input, s_t and the belief (c_t too for DynaMITE-RL), without a_{t-1}, r_{t-1}
        _variant("paper_input", policy_kwargs=PAPER_INPUT),
        _variant("varibad_paper_input", algo="varibad", policy_kwargs=PAPER_INPUT),
        # ablations: DynaMITE-RL with one modification changed
        # the consistency loss is off by default (chosen by this ablation): the variant switches it on
        _variant("with_consistency", consistency_coef=0.1),
        _variant("no_prior_conditioning", prior_conditioning=False),
        _variant("no_masking", session_masking=False),
        # no termination loss, hence no c_t in the policy input (masking still uses the env's labels)
        _variant("no_termination", termination_coef=0.0),
        # c_t reaches the policy as the probability itself, not standardised with the rest of the belief
        _variant("raw_termination", policy_kwargs={"normalize_termination": False}),
        # the belief normaliser's variance includes the drift of the belief's mean between rollouts
        _variant("drift_norm", policy_kwargs=DRIFT),
        _variant("varibad_drift_norm", algo="varibad", policy_kwargs=DRIFT),
        # the drift-aware normaliser, with c_t read as the probability, or without c_t (and its loss)
        _variant("drift_norm_raw_termination", policy_kwargs={**DRIFT, "normalize_termination": False}),
        _variant("drift_norm_no_termination", termination_coef=0.0, policy_kwargs=DRIFT),
        # the normaliser's statistics are each rollout's own (no moving average)
        _variant("norm_momentum_1", policy_kwargs={"belief_norm_momentum": 1.0}),
        # the drift-aware normaliser with the termination loss at a tenth of its default weight
        _variant("drift_norm_low_termination", termination_coef=0.1, policy_kwargs=DRIFT),
        # the drift-aware normaliser with the termination loss kept, but c_t left out of the policy input ...
        _variant("drift_norm_termination_no_input", termination_input=False, policy_kwargs=DRIFT),
        # ... or with c_t read, but the loss training only the termination head (no gradient into the GRU)
        _variant("drift_norm_termination_detached", termination_detach=True, policy_kwargs=DRIFT),
        # the termination head's bias starts at the log-odds of the session-start rate, with either normaliser
        _variant("termination_bias_init", termination_bias_init=True),
        _variant("drift_norm_termination_bias_init", termination_bias_init=True, policy_kwargs=DRIFT),
        # a probe of the shared PPO settings, tuned on the oracle: 3x the HalfCheetah learning rate
        _oracle_probe("oracle_lr_3e-4", learning_rate=3e-4),
        # the weights that read c_t start at zero (actor and critic), so c_t enters only as PPO learns to use it
        _variant("drift_norm_termination_zero_init", policy_kwargs={**DRIFT, "termination_zero_init": True}),
        # probes of ScratchItch's PPO settings, tuned on the oracle: the belief methods' minibatch and policy size,
        # then a smaller initial action noise (std e^-1 = 0.37 or e^-2 = 0.14 instead of 1)
        _oracle_probe("oracle_batch256", batch_size=256, policy_kwargs=SMALL_POLICY),
        _oracle_probe("oracle_batch256_std-1", batch_size=256, policy_kwargs={**SMALL_POLICY, "log_std_init": -1.0}),
        _oracle_probe("oracle_batch256_std-2", batch_size=256, policy_kwargs={**SMALL_POLICY, "log_std_init": -2.0}),
        # probes of GridWorld's entropy bonus, on the oracle: does more exploration keep PPO out of the optimum of
        # walking to one goal, where the oracle's seeds 1 and 3 end (ent_coef 0.01 in the zoo files)?
        _oracle_probe("oracle_ent_0.03", ent_coef=0.03),
        _oracle_probe("oracle_ent_0.05", ent_coef=0.05),
        # ... and the same bonus on the belief methods
        _variant("ent_0.05", ent_coef=0.05),
        _variant("varibad_ent_0.05", algo="varibad", ent_coef=0.05),
        # the PPO loss trains the encoder too (end to end, as RL^2 trains its LSTM): does RL^2's earlier escape from
        # standing still on HalfCheetahVel come from training the recurrence with the RL loss?
        _variant("through_encoder", rl_loss_through_encoder=True),
        # ... and the same for VariBAD: does it gain as much, so that DynaMITE-RL's lead over it stays?
        _variant("varibad_through_encoder", algo="varibad", rl_loss_through_encoder=True),
        # ... or from the policy reading a_{t-1} and r_{t-1} directly (RL^2's LSTM reads them; the paper's policy
        # s_t and the belief)? Since that input became the zoo default these build the default's learners; the names
        # stay because runs were recorded under them (budget_1m/) and benchmarks.adopt checks against them
        _variant("pass_action_reward", policy_kwargs=PASS_ACTION_REWARD),
        _variant("varibad_pass_action_reward", algo="varibad", policy_kwargs=PASS_ACTION_REWARD),
        # ... and a memoryless baseline: PPO (the oracle's zoo entry) reading s_t, a_{t-1}, r_{t-1} but no belief:
        # how much of the belief methods' return with that input needs the belief at all?
        Method("ppo_action_reward", algo="oracle", observes="previous_action_reward"),
        # on GridWorld with hidden goal cells the belief has to hold both cells: is latent_dim 5 too small for that?
        _variant("pass_action_reward_latent_16", latent_dim=16, policy_kwargs=PASS_ACTION_REWARD),
        # ... or does the reward decoder explain the goals' rewards by the action the policy took there (it stays only
        # on the paying goal), so that the reconstruction never needs the belief to hold the cells? Reads (s_{j+1}, z)
        _variant("next_state_decoder", policy_kwargs={"reward_decoder_input": "next_state"}),
        _variant("varibad_next_state_decoder", algo="varibad", policy_kwargs={"reward_decoder_input": "next_state"}),
        # ... and without session masking, which is what costs DynaMITE-RL on hidden goal cells: do the two add up?
        _variant("no_masking_next_state_decoder", session_masking=False,
                 policy_kwargs={"reward_decoder_input": "next_state"}),
        # does RL^2 leave the HalfCheetahs' standing-still plateau sooner because its recurrence makes exploration
        # correlated in time? The HalfCheetah PPO settings (log_std_init -2, ReLU, 256x256) are rl-zoo3's
        # HalfCheetahBullet ones, which explore with gSDE (noise resampled every 4 steps); ours use independent noise
        _oracle_probe("oracle_sde", **SDE),
        # ... or because its policy reads the LSTM's bounded output, while the MLP learners read the raw HalfCheetah
        # observations (feature stds 0.02 to 6.4, joint velocities up to 13; norm_obs=False in every HalfCheetah entry
        # then, True since these probes)? The oracle and the memoryless baseline with VecNormalize's observation
        # normaliser (evaluated through its frozen statistics)
        _oracle_probe("oracle_norm_obs", normalize=NORM_OBS),
        Method("ppo_action_reward_norm_obs", algo="oracle", overrides={"normalize": NORM_OBS},
               observes="previous_action_reward"),
        # ... and the belief methods and RL^2 with it (their whole input x_t = (s_t, a_{t-1}, r_{t-1}) normalised)
        _variant("norm_obs", normalize=NORM_OBS),
        _variant("varibad_norm_obs", algo="varibad", normalize=NORM_OBS),
        Method("rl2_norm_obs", algo="rl2", overrides={"normalize": NORM_OBS}, observes="previous_action_reward"),
        # under it the VAE's stored episodes keep the statistics of the rollout that collected them: store them raw
        # and normalise each VAE batch with today's statistics instead (on envs without norm_obs: the default)
        _variant("raw_store", vae_store_raw=True),
        _variant("pass_action_reward_sde", policy_kwargs=PASS_ACTION_REWARD, **SDE),
        # does DynaMITE-RL leave the HalfCheetahs' plateau sooner with 3x the learning rate, as the oracle did at 500k
        # (oracle_lr_3e-4)? RL^2 keeps the shared 1e-4
        _variant("lr_3e-4", learning_rate=3e-4),
        # ... and with the PPO loss through the encoder too; RL^2 at that rate, so that the comparison at 3e-4 is fair
        _variant("through_encoder_lr_3e-4", rl_loss_through_encoder=True, learning_rate=3e-4),
        Method("rl2_lr_3e-4", algo="rl2", overrides={"learning_rate": 3e-4}, observes="previous_action_reward"),
    )
}


def zoo_hyperparams(algo: str, env_id: str) -> dict[str, Any]:
    """The zoo entry of ``env_id`` for ``algo`` (falling back to the file's ``default`` entry)."""
    _, names = ALGORITHMS[algo]
    for name in names:
        path = HYPERPARAMS / name
        if path.exists():
            entries = yaml.safe_load(path.read_text())
            if env_id in entries or "default" in entries:
                return dict(entries.get(env_id, entries.get("default")))
            raise ValueError(f"{path} has no entry for {env_id!r} (and no 'default')")
    raise FileNotFoundError(f"none of {names} found in {HYPERPARAMS}")


def algorithm_kwargs(hyperparams: dict[str, Any]) -> dict[str, Any]:
    """Constructor keyword arguments from a zoo entry (``policy_kwargs`` strings are evaluated as the zoo does)."""
    kwargs = {key: value for key, value in hyperparams.items() if key not in ZOO_KEYS}
    if isinstance(kwargs.get("policy_kwargs"), str):
        kwargs["policy_kwargs"] = eval(kwargs["policy_kwargs"], {"nn": th.nn, "th": th, "np": np, "dict": dict})
    for key in ("learning_rate", "clip_range"):
        if isinstance(kwargs.get(key), str) and kwargs[key].startswith("lin_"):
            initial = float(kwargs[key][4:])
            kwargs[key] = lambda progress, initial=initial: progress * initial
    return kwargs


def evaluation_env(env_id: str, observes: str, env_kwargs: dict[str, Any] | None = None) -> VecEnv:
    """The paired evaluation env: fixed reset seeds, ``EVAL_ENVS`` copies, in the method's view."""
    return make_reference_env(env_id, observes, n_envs=EVAL_ENVS, seed=EVAL_SEED, env_kwargs=env_kwargs)


def with_training_observation_stats(env: VecEnv, agent: Any) -> VecEnv:
    """``env`` seen through the agent's observation normaliser, frozen, where it trains with one (a zoo entry's
    ``normalize`` with ``norm_obs``), as rl-zoo3 evaluates; rewards stay raw. Else ``env`` itself."""
    training = observation_normalizer(agent) if isinstance(agent, BaseAlgorithm) else None  # scripted: none
    if training is None:
        return env
    frozen = VecNormalize(env, training=False, norm_obs=True, norm_reward=False, clip_obs=training.clip_obs,
                          epsilon=training.epsilon)
    frozen.obs_rms = training.obs_rms.copy()
    return frozen


def paired_order(finished_by: list[int]) -> list[int]:
    """The order that puts episode returns listed as they finished (``finished_by[j]``: the evaluation env that
    finished the j-th) into the paired order: the first episode of each env, then the second of each, and so on.
    Episode ``k`` of env ``i`` is the same episode (reset seed, session sequence) for every method and every
    episode count, so the first 25 of a 100-episode evaluation are a 25-episode one."""
    counts: dict[int, int] = {}
    slots = []
    for j, i in enumerate(finished_by):
        slots.append((counts.get(i, 0), i, j))
        counts[i] = counts.get(i, 0) + 1
    return [j for _, _, j in sorted(slots)]


def evaluate(agent: Any, env_id: str, method: Method, n_episodes: int,
             env_kwargs: dict[str, Any] | None = None,
             on_step: Callable[[dict[str, Any]], None] | None = None) -> list[float]:
    """Deterministic episode returns of ``agent`` on the paired evaluation seeds, in the paired order
    (:func:`paired_order`; raw rewards; observations normalised with the agent's training statistics where it
    trains with normalised observations). ``on_step`` sees ``evaluate_policy``'s locals after each counted env
    step (``i``, ``new_observations``, ``reward``, ``done``, ``info``), e.g. to read the rollouts' behaviour."""
    env = with_training_observation_stats(evaluation_env(env_id, method.observes, env_kwargs), agent)
    finished_by: list[int] = []

    def record_env(local: dict[str, Any], _: dict[str, Any]) -> None:  # evaluate_policy counts this episode next
        if on_step is not None:
            on_step(local)
        if local["done"] and (not local["is_monitor_wrapped"] or "episode" in local["info"]):
            finished_by.append(local["i"])

    returns, _ = evaluate_policy(agent, env, n_eval_episodes=n_episodes, deterministic=True,
                                 return_episode_rewards=True, callback=record_env)
    env.close()
    return [float(returns[j]) for j in paired_order(finished_by)]


def normalize_kwargs(hyperparams: dict[str, Any]) -> dict[str, Any] | None:
    """VecNormalize arguments of a zoo entry (``normalize``), or None."""
    normalize = hyperparams.get("normalize", False)
    if isinstance(normalize, str):
        normalize = eval(normalize, {"dict": dict})
    if normalize is False:
        return None
    return {"norm_obs": True, "norm_reward": True} if normalize is True else dict(normalize)


#: the benchmark's budget (timesteps) where it is below the zoo file's ``n_timesteps`` (README, Benchmarks): 1M on
#: the HalfCheetahs, where at 500k even the learned oracle had only just left standing still; 500k elsewhere
BENCHMARK_BUDGETS = {"dlcmdp/Reacher-v0": 500_000, "dlcmdp/HalfCheetahVel-v0": 1_000_000,
                     "dlcmdp/HalfCheetahWindVel-v0": 1_000_000, "dlcmdp/ScratchItch-v0": 500_000}


def requested_budget(method: Method, env_id: str, budget: int | None, budget_scale: float) -> int:
    """The timesteps a run is asked for: ``budget``, else the env's benchmark budget (``BENCHMARK_BUDGETS``, or
    the zoo's ``n_timesteps``) times ``budget_scale`` (0 for scripted policies)."""
    if method.scripted:
        return 0
    default = BENCHMARK_BUDGETS.get(env_id) or float(zoo_hyperparams(method.algo, env_id)["n_timesteps"])
    return int(budget or default * budget_scale)


def json_safe(value: Any) -> Any:
    """``value`` with everything JSON cannot hold (classes, schedules) replaced by its ``repr``."""
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    return repr(value)


def learner_kwargs(method: Method, env_id: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The zoo entry of a learned method, its constructor keyword arguments (overrides applied) and the
    overrides (``policy_kwargs`` overrides merged into the zoo's, not replacing them; overrides of zoo keys
    such as ``normalize`` replace the entry's)."""
    hyperparams = zoo_hyperparams(method.algo, env_id)
    hyperparams.update({key: value for key, value in method.overrides.items() if key in ZOO_KEYS})
    kwargs = algorithm_kwargs(hyperparams)
    overrides = dict(method.overrides)
    if "policy_kwargs" in overrides:
        overrides["policy_kwargs"] = merged(kwargs.get("policy_kwargs", {}), overrides["policy_kwargs"])
    kwargs.update({key: value for key, value in overrides.items() if key not in ZOO_KEYS})
    return hyperparams, kwargs, overrides


def merged(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """``base`` updated with ``update``, nested dicts (``features_extractor_kwargs``) merged key by key."""
    result = dict(base)
    for key, value in update.items():
        both_dicts = isinstance(value, dict) and isinstance(result.get(key), dict)
        result[key] = merged(result[key], value) if both_dicts else value
    return result


def comparable(kwargs: dict[str, Any]) -> dict[str, Any]:
    """``kwargs`` with each schedule (``lin_1e-3``) replaced by its values along training, so that two learners
    built from the same zoo schedule compare equal (two lambdas never do)."""
    return {key: tuple(value(progress) for progress in (1.0, 0.5, 0.0)) if callable(value) else value
            for key, value in kwargs.items()}


def learner_settings(method: Method, env_id: str, env_kwargs: dict[str, Any]
                     ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The zoo entry of a learned method, its constructor keyword arguments, its env's arguments and the settings
    a run records (the zoo entry with the method's overrides and the env's arguments)."""
    hyperparams, kwargs, overrides = learner_kwargs(method, env_id)
    env_kwargs = {**hyperparams.get("env_kwargs", {}), **env_kwargs}
    if method.observes == "oracle" or "oracle" in env_kwargs:  # the method's view decides, not its zoo entry's
        env_kwargs["oracle"] = method.observes == "oracle"
    return hyperparams, kwargs, env_kwargs, json_safe({**hyperparams, **overrides, "env_kwargs": env_kwargs})


def zoo_value(settings: dict[str, Any], key: str) -> Any:
    """A zoo key of recorded settings, a policy named by what it computes (``SAME_POLICY``)."""
    value = settings.get(key)
    return SAME_POLICY.get(value, value) if key == "policy" else value


def policy_class(policy: str) -> str | type:
    """A zoo entry's ``policy``: an alias of the algorithm as it is, a dotted name imported (as rl-zoo3 does)."""
    if "." not in policy:
        return policy
    module, _, name = policy.rpartition(".")
    return getattr(importlib.import_module(module), name)


def changed_settings(record: dict[str, Any]) -> list[str]:
    """The settings in which a finished run differs from the learner its method builds today: zoo keys and
    constructor arguments, compared by value (a zoo string and the dict it evaluates to agree). Empty for scripted
    methods, methods no longer defined and records made before runs recorded their settings."""
    method = METHODS.get(record["method"])
    if method is None or method.scripted or "settings" not in record:
        return []
    _, _, _, settings = learner_settings(method, record["env_id"], record.get("env_kwargs", {}))
    recorded = record["settings"]
    then, now = (json_safe(comparable(algorithm_kwargs(s))) for s in (recorded, settings))
    changed = {key for key in set(then) | set(now) if then.get(key) != now.get(key)}
    changed |= {key for key in LEARNER_ZOO_KEYS if zoo_value(recorded, key) != zoo_value(settings, key)}
    return sorted(changed)


def build_learner(method: Method, env_id: str, seed: int, env_kwargs: dict[str, Any], device: str = "cpu"
                  ) -> tuple[BaseAlgorithm, int, dict[str, Any]]:
    """The model of a learned method, its default budget (the zoo's ``n_timesteps``) and its settings.
    The env is built as the zoo builds it: the encoder-input wrapper inside, reward normalisation outside.
    ``device`` is the torch device (the CPU by default: these MLP policies run slower on a GPU, and many
    parallel runs sharing one GPU slow each other down)."""
    hyperparams, kwargs, env_kwargs, settings = learner_settings(method, env_id, env_kwargs)
    cls, _ = ALGORITHMS[method.algo]
    env = make_vec_env(env_id, n_envs=int(hyperparams.get("n_envs", 1)), seed=seed, env_kwargs=env_kwargs)
    if method.observes == "previous_action_reward":
        env = VecPreviousActionReward(env)
    normalize = normalize_kwargs(hyperparams)
    if normalize is not None:
        env = VecNormalize(env, gamma=float(hyperparams.get("gamma", 0.99)), **normalize)
    policy = policy_class(hyperparams.get("policy", "MlpPolicy"))
    model = cls(policy, env, seed=seed, verbose=0, device=device, **kwargs)
    return model, int(float(hyperparams["n_timesteps"])), settings


def scripted_agent(method: Method, env_id: str) -> Any:
    env = evaluation_env(env_id, method.observes)
    env.action_space.seed(EVAL_SEED)  # a reproducible random policy
    agent = reference_policy(env_id, method.scripted)(env.action_space)
    env.close()
    return agent
