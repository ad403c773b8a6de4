from sb3_dynamite.dynamite.dynamite import VARIBAD_SWITCHES, DynaMITEPPO, VariBADPPO
from sb3_dynamite.dynamite.policies import DynaMITEPolicy, MlpPolicy

__all__ = ["VARIBAD_SWITCHES", "DynaMITEPPO", "DynaMITEPolicy", "MlpPolicy", "VariBADPPO"]
