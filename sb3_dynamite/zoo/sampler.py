"""Optuna search spaces of DynaMITE-RL and VariBAD for the zoo's ``-optimize``.

``sample_*_params(trial, n_actions, n_envs, additional_args)`` follows ``rl_zoo3.hyperparams_opt``: it
suggests raw parameters (``n_steps_pow``, ``one_minus_gamma``, ``net_arch`` names, ...) and returns the
model's keyword arguments; ``convert_*_params(trial.params)`` rebuilds the same keyword arguments from a
stored trial (``--trial-id``). Arguments given with ``--hyperparams`` are held fixed: they are neither
suggested nor overridden (see :func:`fixed_parameters`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import optuna
from torch import nn

Suggest = Callable[[optuna.Trial, str], Any]

#: raw Optuna parameter -> (the model argument it sets, how it is suggested)
PPO_SPACE: dict[str, tuple[str, Suggest]] = {
    "n_steps_pow": ("n_steps", lambda trial, name: trial.suggest_int(name, 6, 10)),
    "batch_size_pow": ("batch_size", lambda trial, name: trial.suggest_int(name, 6, 10)),
    "one_minus_gamma": ("gamma", lambda trial, name: trial.suggest_float(name, 1e-3, 0.05, log=True)),
    "one_minus_gae_lambda": ("gae_lambda", lambda trial, name: trial.suggest_float(name, 1e-3, 0.1, log=True)),
    "learning_rate": ("learning_rate", lambda trial, name: trial.suggest_float(name, 1e-5, 2e-3, log=True)),
    "ent_coef": ("ent_coef", lambda trial, name: trial.suggest_float(name, 1e-8, 0.1, log=True)),
    "clip_range": ("clip_range", lambda trial, name: trial.suggest_categorical(name, [0.1, 0.2, 0.3])),
    "n_epochs": ("n_epochs", lambda trial, name: trial.suggest_categorical(name, [3, 5, 10, 20])),
    "max_grad_norm": ("max_grad_norm", lambda trial, name: trial.suggest_float(name, 0.3, 2.0)),
    "net_arch": ("policy_kwargs", lambda trial, name: trial.suggest_categorical(name, ["small", "medium", "large"])),
    "activation_fn": ("policy_kwargs", lambda trial, name: trial.suggest_categorical(name, ["tanh", "relu"])),
    "gru_hidden_size": ("policy_kwargs", lambda trial, name: trial.suggest_categorical(name, [64, 128, 256])),
}

#: the belief model's (VAE's) parameters, shared by VariBAD and DynaMITE-RL
BELIEF_SPACE: dict[str, tuple[str, Suggest]] = {
    "latent_dim": ("latent_dim", lambda trial, name: trial.suggest_int(name, 1, 16, log=True)),
    "kl_weight": ("kl_weight", lambda trial, name: trial.suggest_float(name, 1e-3, 1.0, log=True)),
    "vae_learning_rate": ("vae_learning_rate", lambda trial, name: trial.suggest_float(name, 1e-4, 1e-2, log=True)),
    "n_vae_updates": ("n_vae_updates", lambda trial, name: trial.suggest_int(name, 1, 8)),
}

#: DynaMITE-RL's own weights; 0 switches the consistency loss off (SPEC §3.5: its default is still open)
DYNAMITE_SPACE: dict[str, tuple[str, Suggest]] = {
    "consistency_coef": (
        "consistency_coef", lambda trial, name: trial.suggest_categorical(name, [0.0, 0.01, 0.1, 1.0])
    ),
    "termination_coef": ("termination_coef", lambda trial, name: trial.suggest_float(name, 0.1, 10.0, log=True)),
}

NET_ARCH = {"small": [64, 64], "medium": [128, 128], "large": [256, 256]}
ACTIVATION_FN = {"tanh": nn.Tanh, "relu": nn.ReLU}

_fixed: ContextVar[frozenset[str]] = ContextVar("sb3_dynamite_fixed_parameters", default=frozenset())


@contextmanager
def fixed_parameters(names: Iterable[str]) -> Iterator[None]:
    """While active, the samplers leave the model arguments ``names`` alone (the zoo's objective wraps each
    trial in it with the ``--hyperparams`` given on the command line)."""
    token = _fixed.set(frozenset(names))
    try:
        yield
    finally:
        _fixed.reset(token)


def _suggest(trial: optuna.Trial, *spaces: dict[str, tuple[str, Suggest]]) -> dict[str, Any]:
    fixed = _fixed.get()
    return {raw: suggest(trial, raw) for space in spaces for raw, (argument, suggest) in space.items()
            if argument not in fixed}


def convert_dynamite_params(params: dict[str, Any]) -> dict[str, Any]:
    """Raw trial parameters -> keyword arguments of DynaMITEPPO / VariBADPPO (also for stored trials)."""
    kwargs: dict[str, Any] = {}
    policy_kwargs: dict[str, Any] = {}
    for raw, value in params.items():
        if raw.endswith("_pow"):
            kwargs[raw.removesuffix("_pow")] = 2**value
        elif raw.startswith("one_minus_"):
            kwargs[raw.removeprefix("one_minus_")] = 1.0 - value
        elif raw == "net_arch":
            policy_kwargs["net_arch"] = NET_ARCH[value]
        elif raw == "activation_fn":
            policy_kwargs["activation_fn"] = ACTIVATION_FN[value]
        elif raw == "gru_hidden_size":
            policy_kwargs["features_extractor_kwargs"] = {"gru_hidden_size": value}
        else:
            kwargs[raw] = value
    if policy_kwargs:
        kwargs["policy_kwargs"] = policy_kwargs
    return kwargs


def _sample(trial: optuna.Trial, *spaces: dict[str, tuple[str, Suggest]]) -> dict[str, Any]:
    kwargs = convert_dynamite_params(_suggest(trial, *spaces))
    for name in ("n_steps", "batch_size", "gamma", "gae_lambda"):  # the values behind the raw parameters
        if name in kwargs:
            trial.set_user_attr(name, kwargs[name])
    return kwargs


def sample_dynamite_params(
    trial: optuna.Trial, n_actions: int, n_envs: int, additional_args: dict[str, Any]
) -> dict[str, Any]:
    """DynaMITE-RL: PPO's parameters, the belief model's, and the consistency and termination weights."""
    return _sample(trial, PPO_SPACE, BELIEF_SPACE, DYNAMITE_SPACE)


def sample_varibad_params(
    trial: optuna.Trial, n_actions: int, n_envs: int, additional_args: dict[str, Any]
) -> dict[str, Any]:
    """VariBAD: PPO's parameters and the belief model's (its DynaMITE-RL switches are fixed off)."""
    return _sample(trial, PPO_SPACE, BELIEF_SPACE)


#: zoo algorithm -> (sampler, converter) for rl_zoo3.hyperparams_opt
SAMPLERS = {
    "dynamite": (sample_dynamite_params, convert_dynamite_params),
    "varibad": (sample_varibad_params, convert_dynamite_params),
}
