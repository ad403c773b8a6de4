"""sb3-dynamite: DynaMITE-RL (Liang et al., NeurIPS 2024) for Stable-Baselines3 and the RL Zoo.

Importing the package registers the ``dlcmdp/`` environments. It never imports rl_zoo3 (which patches
gymnasium globally); the zoo integration lives in :mod:`sb3_dynamite.zoo`.
"""

from sb3_dynamite import envs  # noqa: F401  (registers the dlcmdp/ envs)
from sb3_dynamite.dynamite import DynaMITEPPO, VariBADPPO
from sb3_dynamite.version import __version__

__all__ = ["DynaMITEPPO", "VariBADPPO", "__version__"]
