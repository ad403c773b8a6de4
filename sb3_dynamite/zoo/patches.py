"""Small, contained wrappers around rl_zoo3's ExperimentManager (and ``create_test_env``).

Each wrapper calls the zoo's own method and only acts for our algorithms (``dynamite``, ``varibad``) or our
``dlcmdp/`` envs; every other zoo run is unchanged. Two of them work around rl_zoo3 2.9.2 behaviours that break
configs with ``env_kwargs`` (the oracle's ``oracle: true``): the eval env and record_video ignore them.
Importing this module imports rl_zoo3.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import optuna
import rl_zoo3
from rl_zoo3 import exp_manager, utils
from rl_zoo3.exp_manager import ExperimentManager

from sb3_dynamite.common.wrappers import VecPreviousActionReward
from sb3_dynamite.zoo.config import DLCMDP_PREFIX, ENCODER_INPUT_WRAPPER, ZOO_ALGOS, hyperparams_file
from sb3_dynamite.zoo.sampler import fixed_parameters
from sb3_dynamite.zoo.storage import (
    default_storage,
    default_study_name,
    fail_stale_trials,
    heartbeat_storage,
    is_database_url,
    worker_name,
)

_MARK = "__sb3_dynamite_wrapped__"


def _wrap(owner: Any, name: str, make: Callable[[Callable], Callable]) -> None:
    """Replace ``owner.name`` by ``make(original)`` once (idempotent)."""
    original = getattr(owner, name)
    if getattr(original, _MARK, False):
        return
    wrapper = functools.wraps(original)(make(original))
    setattr(wrapper, _MARK, True)
    setattr(owner, name, wrapper)


def _init(original: Callable) -> Callable:
    """Default ``--conf-file`` (our hyperparams/ files) and, for tuning, a local journal study."""
    signature = inspect.signature(original)

    def __init__(self: ExperimentManager, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        default = hyperparams_file(self.algo, self.env_name.gym_id)
        if signature.bind(self, *args, **kwargs).arguments.get("config") is None and default is not None:
            self.config = str(default)
        wants_study = self.optimize_hyperparameters or self.trial_id is not None
        if self.algo in ZOO_ALGOS and wants_study and self.storage is None:
            self.storage = default_storage(self.log_folder, self.algo, self.env_name)
            self.study_name = self.study_name or default_study_name(self.algo, self.env_name)
            print(f"Optuna study {self.study_name!r} in {self.storage} (pass --storage/--study-name to change)")

    return __init__


def _has_encoder_input_wrapper(wrappers: Any) -> bool:
    entries = wrappers if isinstance(wrappers, list) else [wrappers]
    names = [next(iter(entry)) if isinstance(entry, dict) else entry for entry in entries if entry is not None]
    return any(name == ENCODER_INPUT_WRAPPER or name is VecPreviousActionReward for name in names)


def _read_hyperparameters(original: Callable) -> Callable:
    """``--trial-id 0`` (skipped by the zoo: 0 is falsy) and the encoder-input wrapper our algorithms need."""

    def read_hyperparameters(self: ExperimentManager) -> tuple[dict[str, Any], dict[str, Any]]:
        if self.algo not in ZOO_ALGOS:
            return original(self)
        if self.trial_id == 0 and self.storage and self.study_name:
            print("Loading from Optuna study...")
            study_params = self.load_trial(self.storage, self.study_name, 0)
            self.custom_hyperparams = {**study_params, **(self.custom_hyperparams or {})}
        hyperparams, saved_hyperparams = original(self)
        wrappers = hyperparams.get("vec_env_wrapper")
        if not _has_encoder_input_wrapper(wrappers):
            print(f"Adding vec_env_wrapper {ENCODER_INPUT_WRAPPER}: {self.algo} reads a_(t-1), r_(t-1) from the obs")
            listed = [] if wrappers is None else wrappers if isinstance(wrappers, list) else [wrappers]
            hyperparams["vec_env_wrapper"] = saved_hyperparams["vec_env_wrapper"] = [*listed, ENCODER_INPUT_WRAPPER]
        return hyperparams, saved_hyperparams

    return read_hyperparameters


def _preprocess_hyperparams(original: Callable) -> Callable:
    """The zoo gives the config's ``env_kwargs`` to the training env only: give them to the eval env too (unless
    ``--eval-env-kwargs`` was passed), e.g. the oracle's ``oracle: true``."""

    def _preprocess_hyperparams(self: ExperimentManager, hyperparams: dict[str, Any]) -> tuple:
        processed = original(self, hyperparams)
        ours = self.algo in ZOO_ALGOS or self.env_name.gym_id.startswith(DLCMDP_PREFIX)
        if ours and self._eval_env_kwargs_args is None:
            self.eval_env_kwargs = self.env_kwargs
        return processed

    return _preprocess_hyperparams


def _objective(original: Callable) -> Callable:
    """Record the worker of each trial; keep the ``--hyperparams`` arguments out of the search."""

    def objective(self: ExperimentManager, trial: optuna.Trial) -> float:
        if self.algo not in ZOO_ALGOS:
            return original(self, trial)
        trial.set_user_attr("worker", worker_name())
        with fixed_parameters(self.custom_hyperparams or {}):
            return original(self, trial)

    return objective


class _OptunaOnStorage:
    """Stands in for the ``optuna`` module inside rl_zoo3.exp_manager: its ``create_study`` uses ``storage``."""

    def __init__(self, storage: optuna.storages.BaseStorage) -> None:
        self._storage = storage

    def __getattr__(self, name: str) -> Any:
        return getattr(optuna, name)

    def create_study(self, **kwargs: Any) -> optuna.Study:
        return optuna.create_study(**{**kwargs, "storage": self._storage})


@contextmanager
def _zoo_studies_on(storage: optuna.storages.BaseStorage) -> Iterator[None]:
    exp_manager.optuna = _OptunaOnStorage(storage)
    try:
        yield
    finally:
        exp_manager.optuna = optuna


def _hyperparameters_optimization(original: Callable) -> Callable:
    """With a database storage: heartbeats, stale trials failed and retried, also on (re)start."""

    def hyperparameters_optimization(self: ExperimentManager) -> None:
        if self.algo not in ZOO_ALGOS or not is_database_url(self.storage):
            return original(self)
        storage = heartbeat_storage(self.storage)
        if self.study_name is not None:
            stale = fail_stale_trials(storage, self.study_name)
            if stale:
                print(f"Trials {stale} of {self.study_name!r} lost their worker: marked failed, queued again")
        with _zoo_studies_on(storage):
            return original(self)

    return hyperparameters_optimization


def _create_test_env(original: Callable) -> Callable:
    """record_video ignores the config's ``env_kwargs`` (enjoy reads them): pass them on for dlcmdp/ envs."""
    signature = inspect.signature(original)

    def create_test_env(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(*args, **kwargs)
        hyperparams = bound.arguments.get("hyperparams") or {}
        if str(bound.arguments["env_id"]).startswith(DLCMDP_PREFIX) and "env_kwargs" in hyperparams:
            bound.arguments["env_kwargs"] = {**hyperparams["env_kwargs"], **(bound.arguments.get("env_kwargs") or {})}
            bound.arguments["hyperparams"] = {key: value for key, value in hyperparams.items() if key != "env_kwargs"}
        return original(*bound.args, **bound.kwargs)

    return create_test_env


def apply_patches() -> None:
    """Install the wrappers (idempotent)."""
    _wrap(ExperimentManager, "__init__", _init)
    _wrap(ExperimentManager, "read_hyperparameters", _read_hyperparameters)
    _wrap(ExperimentManager, "_preprocess_hyperparams", _preprocess_hyperparams)
    _wrap(ExperimentManager, "objective", _objective)
    _wrap(ExperimentManager, "hyperparameters_optimization", _hyperparameters_optimization)
    _wrap(utils, "create_test_env", _create_test_env)
    rl_zoo3.create_test_env = utils.create_test_env
