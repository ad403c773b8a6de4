"""DLCMDP environments, registered in the ``dlcmdp/`` namespace on ``import sb3_dynamite``."""

from gymnasium.envs.registration import register, registry

from sb3_dynamite.envs.dlcmdp import DLCMDPMixin, LatentProcess, MarkovChainLatent, SessionProcess

#: id -> (entry point, horizon H, default kwargs recorded in the spec)
DLCMDP_ENVS = {
    "dlcmdp/GridWorld-v0": ("sb3_dynamite.envs.gridworld:GridWorldEnv", 60, {"switch_prob": 0.07}),
    "dlcmdp/Reacher-v0": ("sb3_dynamite.envs.reacher:ReacherDLCMDPEnv", 200, {"switch_prob": 0.02}),
    "dlcmdp/HalfCheetahVel-v0": ("sb3_dynamite.envs.half_cheetah:HalfCheetahVelEnv", 400, {"switch_prob": 0.01}),
    "dlcmdp/HalfCheetahWindVel-v0": (
        "sb3_dynamite.envs.half_cheetah:HalfCheetahWindVelEnv", 400, {"switch_prob": 0.01}
    ),
    "dlcmdp/ScratchItch-v0": ("sb3_dynamite.envs.scratch_itch:ScratchItchEnv", 200, {"switch_prob": 0.02}),
}


def register_envs() -> None:
    """Register every ``dlcmdp/`` env (idempotent)."""
    for env_id, (entry_point, horizon, kwargs) in DLCMDP_ENVS.items():
        if env_id not in registry:
            register(id=env_id, entry_point=entry_point, max_episode_steps=horizon, kwargs=dict(kwargs))


register_envs()

__all__ = ["DLCMDP_ENVS", "DLCMDPMixin", "LatentProcess", "MarkovChainLatent", "SessionProcess", "register_envs"]
