"""sb3-dynamite: DynaMITE-RL for Stable-Baselines3 and the RL Zoo."""

from pathlib import Path

from setuptools import find_packages, setup

ROOT = Path(__file__).parent
version = {}
exec((ROOT / "sb3_dynamite" / "version.py").read_text(), version)

setup(
    name="sb3-dynamite",
    version=version["__version__"],
    description="DynaMITE-RL (NeurIPS 2024) meta-RL for Stable-Baselines3 and the RL Zoo",
    long_description=(ROOT / "README.md").read_text(),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.10",
    packages=find_packages(include=["sb3_dynamite", "sb3_dynamite.*"]),
    package_data={"sb3_dynamite": ["py.typed", "envs/assets/*.xml", "zoo/hyperparams/*.yml"]},
    install_requires=[
        # install torch==2.13.0 (CPU) first, as the Makefile does; this range then installs nothing more
        "torch>=2.8,<3",
        "gymnasium[mujoco]>=1.0,<2",
        "mujoco>=3.1,<5",
        "numpy>=1.24",
        "stable-baselines3==2.9.*",
        "sb3-contrib==2.9.*",
        "rl-zoo3==2.9.*",
        # rl_zoo3 imports these at run time without declaring them
        "requests",
        "pandas",
        "optuna>=4",
        # progress_bar=True, tensorboard_log=..., figures
        "tqdm",
        "rich",
        "tensorboard",
        "matplotlib",
    ],
    extras_require={
        "tests": [
            "pytest>=8",
            "pytest-xdist",
            "nbclient",
            "nbformat",
            "ipykernel",
            "psycopg2-binary",
            "ruff",
        ],
        "benchmarks": ["rliable"],
    },
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
