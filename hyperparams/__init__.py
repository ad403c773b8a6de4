"""RL Zoo hyperparameter files of sb3-dynamite (``<algo>.yml``, one entry per ``dlcmdp/`` env).

This folder is installed as the package ``sb3_dynamite.zoo.hyperparams`` (see ``package_dir`` in
setup.py), so ``python -m rl_zoo3.train --algo dynamite ...`` finds these files without ``--conf-file``,
from a regular or an editable install. :func:`sb3_dynamite.zoo.hyperparams_file` returns their paths.
"""
