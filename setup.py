"""sb3-dynamite: DynaMITE-RL for Stable-Baselines3 and the RL Zoo."""

from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py
from setuptools.command.editable_wheel import editable_wheel

ROOT = Path(__file__).parent
# The RL Zoo hook (sb3_dynamite_zoo_hook.py) is loaded at interpreter start by this .pth at the root of
# site-packages; it sorts after setuptools' "__editable__.*.pth", which makes the hook importable in editable mode.
ZOO_HOOK_PTH = "sb3_dynamite_zoo.pth"


def write_zoo_hook_pth(directory: str) -> None:
    Path(directory, ZOO_HOOK_PTH).write_text("import sb3_dynamite_zoo_hook\n")


class BuildPyWithZooHook(build_py):
    """Regular install: put the .pth at the root of the wheel (site-packages)."""

    def run(self) -> None:
        super().run()
        if not self.editable_mode:
            write_zoo_hook_pth(self.build_lib)


class EditableWheelWithZooHook(editable_wheel):
    """Editable install (PEP 660): put the .pth at the root of the editable wheel."""

    def _run_build_commands(self, dist_name, unpacked_wheel, build_lib, tmp_dir):
        outputs = super()._run_build_commands(dist_name, unpacked_wheel, build_lib, tmp_dir)
        write_zoo_hook_pth(unpacked_wheel)
        return outputs

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
    packages=[*find_packages(include=["sb3_dynamite", "sb3_dynamite.*"]), "sb3_dynamite.zoo.hyperparams"],
    # the top-level hyperparams/ folder ships as sb3_dynamite.zoo.hyperparams (found by the zoo without flags)
    package_dir={"sb3_dynamite.zoo.hyperparams": "hyperparams"},
    package_data={"sb3_dynamite": ["py.typed", "envs/assets/*.xml"], "sb3_dynamite.zoo.hyperparams": ["*.yml"]},
    py_modules=["sb3_dynamite_zoo_hook"],
    cmdclass={"build_py": BuildPyWithZooHook, "editable_wheel": EditableWheelWithZooHook},
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
        "pandas>=2.2,<3",  # rliable -> arch<8 fails to import with pandas 3
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
        "benchmarks": ["rliable", "scipy"],  # scipy: the trimmed mean of the IQM bootstrap (rliable needs it too)
    },
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
