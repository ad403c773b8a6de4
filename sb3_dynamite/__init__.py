"""sb3-dynamite: DynaMITE-RL (Liang et al., NeurIPS 2024) for Stable-Baselines3 and the RL Zoo."""

from sb3_dynamite import envs  # noqa: F401  (registers the dlcmdp/ envs)

from sb3_dynamite.version import __version__

__all__ = ["__version__"]
