"""Which zoo algorithm names we add, and where their hyperparameter files are."""

from __future__ import annotations

import importlib
from pathlib import Path

from sb3_dynamite.dynamite import DynaMITEPPO, VariBADPPO

#: the algorithms ``register_zoo()`` adds to ``rl_zoo3.ALGOS``
ZOO_ALGOS = {"dynamite": DynaMITEPPO, "varibad": VariBADPPO}

#: zoo algorithm -> our hyperparameter file. Ours are always used; the zoo's own algorithms (the RL^2 and
#: oracle baselines) use ours only for the ``dlcmdp/`` envs, which the zoo's files do not list.
HYPERPARAMS_FILES = {
    "dynamite": "dynamite.yml",
    "varibad": "varibad.yml",
    "ppo_lstm": "recurrentppo.yml",
    "ppo": "ppo.yml",
}

#: the observation wrapper our algorithms need in every env the zoo builds (training, evaluation, enjoy, video)
ENCODER_INPUT_WRAPPER = "sb3_dynamite.common.wrappers.VecPreviousActionReward"

DLCMDP_PREFIX = "dlcmdp/"


def hyperparams_dir() -> Path:
    """The folder of the ``.yml`` files: the installed ``sb3_dynamite.zoo.hyperparams`` package (regular or
    editable install), else the source checkout's top-level ``hyperparams/``."""
    try:
        module = importlib.import_module("sb3_dynamite.zoo.hyperparams")
    except ModuleNotFoundError:
        return Path(__file__).resolve().parents[2] / "hyperparams"
    return Path(module.__file__).parent


def hyperparams_file(algo: str, env_id: str) -> Path | None:
    """Our default ``--conf-file`` for ``algo`` on ``env_id``, or None to keep the zoo's own default."""
    name = HYPERPARAMS_FILES.get(algo)
    if name is None or (algo not in ZOO_ALGOS and not env_id.startswith(DLCMDP_PREFIX)):
        return None
    return hyperparams_dir() / name
