"""RL Zoo (rl_zoo3) and Optuna integration of sb3-dynamite.

:func:`register_zoo` adds ``dynamite`` (DynaMITEPPO) and ``varibad`` (VariBADPPO) to the zoo: its algorithm
table, its Optuna samplers and converters, and small wrappers of its ExperimentManager (our hyperparameter
files found without ``--conf-file``, the encoder-input wrapper on every env, a local journal study by
default, heartbeats and retries with database storages). It runs automatically when ``rl_zoo3`` is
imported (the ``sb3_dynamite_zoo_hook`` installed with the package) and explicitly in
``python -m sb3_dynamite.zoo train|enjoy|record_video ...``. Importing this module does not import rl_zoo3.
"""

from __future__ import annotations

from sb3_dynamite.zoo.config import HYPERPARAMS_FILES, ZOO_ALGOS, hyperparams_dir, hyperparams_file


def register_zoo() -> None:
    """Register our algorithms, samplers and wrappers with rl_zoo3 (idempotent; imports rl_zoo3)."""
    from rl_zoo3.hyperparams_opt import HYPERPARAMS_CONVERTER, HYPERPARAMS_SAMPLER
    from rl_zoo3.utils import ALGOS

    from sb3_dynamite.zoo.patches import apply_patches
    from sb3_dynamite.zoo.sampler import SAMPLERS

    for name, algo_class in ZOO_ALGOS.items():
        ALGOS[name] = algo_class
        HYPERPARAMS_SAMPLER[name], HYPERPARAMS_CONVERTER[name] = SAMPLERS[name]
    apply_patches()


__all__ = ["HYPERPARAMS_FILES", "ZOO_ALGOS", "hyperparams_dir", "hyperparams_file", "register_zoo"]
