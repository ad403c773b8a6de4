"""The quickstart notebook, ``python -m sb3_dynamite.demo`` and the example scripts, run with tiny budgets."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import gymnasium as gym
import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient
from stable_baselines3.common.env_checker import check_env
from stable_baselines3.common.vec_env import VecNormalize

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def run(args: list[str], cwd: Path, timeout: int = 240) -> subprocess.CompletedProcess:
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONWARNINGS": "default"}
    result = subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
    return result


def load_example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def table_scores(text: str) -> dict[str, tuple[float, float]]:
    """``name -> (mean return, normalised score)`` from the demo's / notebook's evaluation lines."""
    rows = re.findall(r"^\s*(random|DynaMITE-RL|informed|oracle)\s+(?:return\s+)?(-?\d+\.\d+)\s.*?(-?\d+\.\d+)\s*$",
                      text, flags=re.MULTILINE)
    return {name: (float(mean), float(score)) for name, mean, score in rows}


def test_quickstart_notebook_runs_top_to_bottom(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SB3_DYNAMITE_QUICK_TIMESTEPS", "2048")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    notebook = nbformat.read(EXAMPLES / "quickstart.ipynb", as_version=4)
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(not cell.outputs and cell.execution_count is None for cell in code_cells), "clear the outputs"
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(EXAMPLES)}}).execute()
    texts = ["".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream") for cell in code_cells]
    assert not any(o.output_type == "error" for cell in code_cells for o in cell.outputs)
    assert "dlcmdp/GridWorld-v0 2048" in texts[0]  # the test budget reached the notebook
    assert "'session_end'" in texts[1] and "'latent'" in texts[1]
    assert "2,048 steps" in texts[2]
    scores = table_scores("\n".join(texts))
    assert set(scores) == {"random", "DynaMITE-RL", "informed", "oracle"}
    assert scores["random"][1] == 0.0 and scores["oracle"][1] == 1.0
    assert scores["oracle"][0] > scores["informed"][0] > scores["random"][0]
    assert re.search(r"held-out accuracy: probe [01]\.\d\d, reward decoder [01]\.\d\d", texts[-2])
    assert re.search(r"\{'recall': [\d.]+, 'false_alarm': [\d.]+\}", texts[-2])
    assert any("image/png" in output.get("data", {}) for output in code_cells[-1].outputs)


def test_demo_settings_are_the_zoo_gridworld_entry() -> None:
    """GRIDWORLD_QUICK repeats hyperparams/dynamite.yml's GridWorld entry in Python: the two must not drift."""
    from benchmarks import methods
    from sb3_dynamite import DynaMITEPPO
    from sb3_dynamite.demo import GRIDWORLD_QUICK

    entry = methods.zoo_hyperparams("dynamite", GRIDWORLD_QUICK["env_id"])
    assert GRIDWORLD_QUICK["n_envs"] == entry["n_envs"]
    assert GRIDWORLD_QUICK["total_timesteps"] == float(entry["n_timesteps"])
    model = DynaMITEPPO("MlpPolicy", GRIDWORLD_QUICK["env_id"], **GRIDWORLD_QUICK["model_kwargs"])
    for key, value in methods.algorithm_kwargs(entry).items():
        if key == "policy_kwargs":
            assert {k: model.policy_kwargs[k] for k in value} == value  # the policy input too
        elif callable(value):  # the linear learning-rate schedule
            progress = (1.0, 0.5, 0.0)
            assert [model.learning_rate(p) for p in progress] == pytest.approx([value(p) for p in progress])
        elif key != "vec_env_wrapper":
            assert getattr(model, key) == value, key


def test_demo_trains_evaluates_and_writes_the_belief_plot(tmp_path: Path) -> None:
    out = tmp_path / "plots" / "belief.png"
    result = run(["-m", "sb3_dynamite.demo", "--timesteps", "2048", "--episodes", "3", "--out", str(out)], tmp_path)
    text = result.stdout
    assert "2,048 steps" in text and "Training took" in text
    scores = table_scores(text)
    assert set(scores) == {"random", "DynaMITE-RL", "informed", "oracle"}
    assert scores["random"][1] == 0.0 and scores["oracle"][1] == 1.0
    random, oracle = scores["random"][0], scores["oracle"][0]
    assert scores["DynaMITE-RL"][1] == pytest.approx((scores["DynaMITE-RL"][0] - random) / (oracle - random), abs=0.02)
    assert "On 30 held-out episodes" in text
    assert re.search(r"[01]\.\d\d by a logistic probe", text) and re.search(r"[01]\.\d\d by the model's reward", text)
    assert re.search(r"c_t > 0\.5 at \d+% of the session changes", text)
    assert f"{out.resolve()}" in text and out.read_bytes()[:4] == b"\x89PNG"


def test_demo_rejects_a_bad_budget(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "sb3_dynamite.demo", "--timesteps", "0"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "--timesteps must be positive" in result.stderr


def test_custom_env_follows_the_dlcmdp_contract() -> None:
    example = load_example("custom_dlcmdp_env")
    env = gym.make("Thermostat-v0")
    check_env(env.unwrapped)
    runs = []
    for actions in (np.zeros(50, dtype=int), np.full(50, 2)):  # two different policies, same seed
        _, info = env.reset(seed=11)
        assert info["session_index"] == 0 and info["latent"].shape == (1,)
        infos = [env.step(a)[-1] for a in actions]
        runs.append(infos)
        assert all({"session_end", "session_index", "latent"} <= set(i) for i in infos)
    for first, second in zip(*runs, strict=True):
        assert first["session_end"] == second["session_end"] and first["latent"] == second["latent"]
    ends = np.array([i["session_end"] for i in runs[0]])
    assert ends.any(), "seed 11 should switch at least once in 50 steps"
    assert runs[0][-1]["session_index"] == ends[:-1].sum()
    unlabelled = gym.make("Thermostat-v0", session_labels=False)
    unlabelled.reset(seed=0)
    assert "session_end" not in unlabelled.step(1)[-1]
    assert example.ThermostatEnv(oracle=True).observation_space.shape == (2,)


def test_custom_env_example_trains_both_ways_and_warns_once_without_labels(tmp_path: Path) -> None:
    result = run([str(EXAMPLES / "custom_dlcmdp_env.py"), "--timesteps", "1000", "--episodes", "2",
                  "--out", str(tmp_path)], tmp_path)
    assert result.stderr.count("trains as VariBAD") == 1
    labelled, unlabelled = result.stdout.split("2) Without")
    assert "has_session_labels=True" in labelled and "has_session_labels=False" in unlabelled
    for name in ("random", "oracle", "DynaMITE-RL", "as VariBAD"):
        assert re.search(rf"^\s+{name}\s+-?\d+\.\d\d ± \d+\.\d\d$", result.stdout, flags=re.MULTILINE), name
    assert (tmp_path / "belief_thermostat.png").read_bytes()[:4] == b"\x89PNG"


def test_halfcheetah_example_uses_the_zoo_entry(tmp_path: Path) -> None:
    example = load_example("halfcheetah_vel")
    entry, source = example.load_zoo_entry(example.hyperparams_path())
    if "fallback" in source:
        pytest.skip(f"no zoo entry yet: {source}")
    settings, kwargs = example.model_arguments(entry)
    assert "n_timesteps" in settings and not set(example.ZOO_ONLY_KEYS) & set(kwargs)
    assert isinstance(kwargs.get("policy_kwargs", {}), dict)
    result = run([str(EXAMPLES / "halfcheetah_vel.py"), "--timesteps", "800", "--n-envs", "2",
                  "--probe-episodes", "1", "--out", str(tmp_path)], tmp_path)
    assert source in result.stdout and f"'n_steps': {kwargs['n_steps']}" in result.stdout
    assert f"{int(float(settings['n_timesteps'])):,d} steps" in result.stdout  # the full budget is stated
    assert re.search(r"Episode return \(seed 1000\): -?\d+\.\d over 400 steps", result.stdout)
    assert (tmp_path / "belief_halfcheetah_vel.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "dynamite_halfcheetah_vel.zip").stat().st_size > 0
    statistics = VecNormalize.load(str(tmp_path / "vecnormalize.pkl"), example.make_env(1, 0, None, 0.99))
    assert statistics.norm_obs and statistics.norm_reward  # the zoo entry's normalisation, with its statistics
    assert statistics.obs_rms.count >= 800  # the 800 training steps
