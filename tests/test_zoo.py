"""The RL Zoo integration (issue 4): registration, hyperparameter files, train/enjoy/record_video, Optuna.

Most runs are in-process (``register_zoo()`` then the zoo's own ``train()`` / ``enjoy()`` with a patched
``sys.argv``); a few run in a fresh interpreter to prove what only a new process shows: the import hook
(``python -m rl_zoo3.train --algo dynamite`` with no flags), headless MuJoCo video, and installs.
rl_zoo3 is imported inside fixtures only (it patches gymnasium's TimeLimit on import; the fixture undoes it).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import optuna
import pytest
import torch as th
import yaml
from optuna.trial import TrialState

from sb3_dynamite import DynaMITEPPO, VariBADPPO
from sb3_dynamite.common.wrappers import action_encoding_dim
from sb3_dynamite.envs import DLCMDP_ENVS
from sb3_dynamite.zoo import HYPERPARAMS_FILES, ZOO_ALGOS, hyperparams_dir, hyperparams_file, register_zoo
from sb3_dynamite.zoo.sampler import (
    BELIEF_SPACE,
    DYNAMITE_SPACE,
    PPO_SPACE,
    convert_dynamite_params,
    fixed_parameters,
    sample_dynamite_params,
    sample_varibad_params,
)
from sb3_dynamite.zoo.storage import worker_name

ROOT = Path(__file__).resolve().parents[1]
GRID = "dlcmdp/GridWorld-v0"
#: a tiny budget: 2 envs x 32 steps per iteration, complete GridWorld episodes (H = 60) reach the VAE
TINY = ["n_envs:2", "n_steps:32", "batch_size:64", "n_epochs:1", "n_vae_updates:1", "vae_batch_size:4",
        "policy_kwargs:dict(net_arch=[16])"]
#: zoo keys that are not model constructor arguments
ZOO_KEYS = {"n_envs", "n_timesteps", "policy", "normalize", "env_kwargs", "vec_env_wrapper", "env_wrapper",
            "callback", "frame_stack", "monitor_kwargs"}


@pytest.fixture
def zoo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """rl_zoo3 with our algorithms, run from ``tmp_path`` with one torch thread; gymnasium's TimeLimit (patched
    by rl_zoo3 on import) and torch's thread count are restored afterwards."""
    import gymnasium
    from rl_zoo3.gym_patches import PatchedTimeLimit

    register_zoo()
    owners = [gymnasium.wrappers, gymnasium.wrappers.common, gymnasium.envs.registration]
    original = PatchedTimeLimit.__bases__[0]
    threads = th.get_num_threads()
    monkeypatch.chdir(tmp_path)
    for owner in owners:
        owner.TimeLimit = PatchedTimeLimit
    try:
        yield tmp_path
    finally:
        for owner in owners:
            owner.TimeLimit = original
        th.set_num_threads(threads)


def zoo_train(monkeypatch: pytest.MonkeyPatch, *args: str) -> None:
    from rl_zoo3.train import train

    monkeypatch.setattr(sys, "argv", ["rl_zoo3.train", "--num-threads", "1", *args])
    train()


def zoo_enjoy(monkeypatch: pytest.MonkeyPatch, *args: str) -> None:
    from rl_zoo3.enjoy import enjoy

    monkeypatch.setattr(sys, "argv", ["rl_zoo3.enjoy", "--num-threads", "1", *args])
    enjoy()


def run_dir(algo: str, env_id: str, run: int = 1) -> Path:
    name = env_id.replace("/", "-")
    return Path("logs") / algo / f"{name}_{run}"


def yml_entry(algo: str, env_id: str) -> dict:
    return yaml.safe_load(hyperparams_file(algo, env_id).read_text())[env_id]


def python(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: int = 300,
           executable: str = sys.executable) -> subprocess.CompletedProcess:
    """Run a fresh interpreter; fail with its output if it fails."""
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "MUJOCO_GL": "egl", **(env or {})}
    result = subprocess.run([executable, *args], cwd=cwd, env=environment, capture_output=True, text=True,
                            timeout=timeout)
    output = f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    assert result.returncode == 0, f"{args} failed ({result.returncode}):\n{output}"
    return result


def enjoy_episodes(output: str) -> list[tuple[float, int]]:
    """(return, length) of every episode rl_zoo3.enjoy printed."""
    rewards = [float(x) for x in re.findall(r"Episode Reward: (-?[\d.]+)", output)]
    lengths = [int(x) for x in re.findall(r"Episode Length (\d+)", output)]
    return list(zip(rewards, lengths, strict=True))


# --- packaging and registration -------------------------------------------------------------------------------


def test_importing_sb3_dynamite_does_not_import_rl_zoo3(tmp_path: Path) -> None:
    """rl_zoo3 patches gymnasium's TimeLimit on import: no module of the package may import it, except the zoo's
    submodules that exist for it (``sb3_dynamite.zoo`` itself imports it only in ``register_zoo()``)."""
    code = """
import pkgutil, sys, gymnasium
original = gymnasium.wrappers.TimeLimit
import sb3_dynamite, sb3_dynamite.zoo
names = [m.name for m in pkgutil.walk_packages(sb3_dynamite.__path__, "sb3_dynamite.")
         if not m.name.startswith("sb3_dynamite.zoo.")]
for name in names:
    __import__(name)
assert len(names) > 10, names
assert "rl_zoo3" not in sys.modules
assert gymnasium.wrappers.TimeLimit is original
import rl_zoo3  # the hook registers on this import
assert rl_zoo3.ALGOS["dynamite"] is sb3_dynamite.DynaMITEPPO and rl_zoo3.ALGOS["varibad"] is sb3_dynamite.VariBADPPO
print("ok")
"""
    assert python("-c", code, cwd=tmp_path).stdout.strip() == "ok"


def test_register_zoo_fills_the_zoo_tables(zoo: Path) -> None:
    from rl_zoo3.hyperparams_opt import HYPERPARAMS_CONVERTER, HYPERPARAMS_SAMPLER
    from rl_zoo3.utils import ALGOS

    register_zoo()  # idempotent
    assert ALGOS["dynamite"] is DynaMITEPPO and ALGOS["varibad"] is VariBADPPO
    assert HYPERPARAMS_SAMPLER["dynamite"] is sample_dynamite_params
    assert HYPERPARAMS_SAMPLER["varibad"] is sample_varibad_params
    assert HYPERPARAMS_CONVERTER["dynamite"] is HYPERPARAMS_CONVERTER["varibad"] is convert_dynamite_params
    assert ALGOS["ppo"].__name__ == "PPO"  # the zoo's own entries are untouched


def test_default_hyperparameter_files() -> None:
    """Ours for our algorithms everywhere; for the zoo's ppo / ppo_lstm only on dlcmdp/ envs."""
    folder = hyperparams_dir()
    assert folder.samefile(ROOT / "hyperparams")  # the editable install maps the top-level folder
    assert hyperparams_file("dynamite", "CartPole-v1") == folder / "dynamite.yml"
    assert hyperparams_file("ppo_lstm", GRID) == folder / "recurrentppo.yml"
    assert hyperparams_file("ppo", GRID) == folder / "ppo.yml"
    assert hyperparams_file("ppo", "CartPole-v1") is None
    assert hyperparams_file("sac", GRID) is None


@pytest.mark.parametrize("algo", list(HYPERPARAMS_FILES))
def test_hyperparameter_files_build_every_env(algo: str, zoo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every dlcmdp/ env has an entry; the zoo builds its env and model from it, with the file's values."""
    import argparse

    import gymnasium as gym
    from rl_zoo3.exp_manager import ExperimentManager
    from rl_zoo3.utils import ALGOS

    entries = yaml.safe_load(hyperparams_file(algo, GRID).read_text())
    assert set(entries) == set(DLCMDP_ENVS)
    for env_id, entry in entries.items():
        manager = ExperimentManager(argparse.Namespace(), algo, env_id, "logs", hyperparams={"n_envs": 1},
                                    eval_freq=-1, seed=0, verbose=0)
        assert manager.config == str(hyperparams_file(algo, env_id))  # found without --conf-file
        model, _ = manager.setup_experiment()
        assert type(model) is ALGOS[algo]
        for key, value in entry.items():
            if key in ZOO_KEYS or key == "policy_kwargs":
                continue
            actual = getattr(model, key)
            actual = actual(1.0) if callable(actual) else actual  # learning_rate, clip_range schedules
            if isinstance(value, str) and value.startswith("lin_"):  # the zoo's linear schedule, at progress 1
                value = float(value[4:])
            assert actual == value, f"{algo}/{env_id}: {key} = {actual}, file says {value}"
        assert model.n_envs == 1 and model.num_timesteps == 0
        if "policy_kwargs" in entry:
            expected = eval(entry["policy_kwargs"], {"dict": dict, "nn": th.nn})  # as the zoo evaluates it
            assert model.policy_kwargs["net_arch"] == expected["net_arch"]
            for key in ("activation_fn", "ortho_init", "log_std_init"):
                if key in expected:
                    assert getattr(model.policy, key) == expected[key], f"{algo}/{env_id}: {key}"
            gru = expected.get("features_extractor_kwargs", {}).get("gru_hidden_size")
            if gru is not None:
                assert model.policy.features_extractor.gru.hidden_size == gru
            if "lstm_hidden_size" in expected:
                assert model.policy.lstm_actor.hidden_size == expected["lstm_hidden_size"]
        if algo in ("dynamite", "varibad", "ppo_lstm"):  # the encoder input (s_t, a_{t-1}, r_{t-1}) is observed
            env = gym.make(env_id)
            expected = env.observation_space.shape[0] + action_encoding_dim(env.action_space) + 1
            assert model.observation_space.shape == (expected,)
            env.close()
        if algo == "ppo":  # the oracle observes the latent
            assert entry["env_kwargs"] == {"oracle": True}
            assert model.get_env().get_attr("oracle") == [True]
        normalize = model.get_vec_normalize_env()
        assert (normalize is not None) == ("HalfCheetah" in env_id)
        if normalize is not None:
            assert (normalize.norm_obs, normalize.norm_reward) == (True, True)
        model.get_env().close()


# --- train, evaluate, enjoy, record ---------------------------------------------------------------------------


@pytest.mark.parametrize("algo", ["dynamite", "varibad"])
def test_train_with_evaluation_then_enjoy(algo: str, zoo: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture) -> None:
    zoo_train(monkeypatch, "--algo", algo, "--env", GRID, "-n", "256", "--eval-freq", "128", "--eval-episodes", "2",
              "--seed", "3", "--hyperparams", *TINY)
    folder = run_dir(algo, GRID)
    model = ZOO_ALGOS[algo].load(folder / "dlcmdp-GridWorld-v0.zip")
    entry = yml_entry(algo, GRID)
    assert (model.latent_dim, model.kl_weight, model.vae_subsample_elbos) == (5, entry["kl_weight"], None)
    assert (model.n_steps, model.n_envs, model.n_vae_updates) == (32, 2, 1)  # --hyperparams override the file
    assert model.consistency_coef == entry.get("consistency_coef", 0.0)  # VariBAD fixes it at 0
    assert model.session_masking == (algo == "dynamite")
    evaluations = np.load(folder / "evaluations.npz")  # the EvalCallback ran on the zoo's eval env
    assert evaluations["timesteps"].tolist() == [128, 256]
    assert evaluations["ep_lengths"].tolist() == [[60, 60], [60, 60]]
    assert (folder / "best_model.zip").is_file()
    config = yaml.load((folder / "dlcmdp-GridWorld-v0" / "config.yml").read_text(), Loader=yaml.UnsafeLoader)
    assert dict(config)["vec_env_wrapper"] == "sb3_dynamite.common.wrappers.VecPreviousActionReward"

    capsys.readouterr()
    zoo_enjoy(monkeypatch, "--algo", algo, "--env", GRID, "-f", "logs", "--no-render", "-n", "120", "--deterministic")
    episodes = enjoy_episodes(capsys.readouterr().out)
    assert [length for _, length in episodes] == [60, 60]
    assert all(-6.0 - 1e-6 <= ret <= 60.0 for ret, _ in episodes)  # -0.1 per step at worst, +1 at best


def test_config_without_the_wrapper_gets_it(zoo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A user's file without vec_env_wrapper still evaluates, enjoys and records (the wrapper is added)."""
    entry = {key: value for key, value in yml_entry("dynamite", GRID).items() if key != "vec_env_wrapper"}
    (zoo / "mine.yml").write_text(yaml.safe_dump({GRID: entry}))
    zoo_train(monkeypatch, "--algo", "dynamite", "--env", GRID, "-conf", "mine.yml", "-n", "128",
              "--eval-freq", "128", "--eval-episodes", "1", "--hyperparams", *TINY)
    folder = run_dir("dynamite", GRID)
    assert np.load(folder / "evaluations.npz")["ep_lengths"].tolist() == [[60]]
    config = yaml.load((folder / "dlcmdp-GridWorld-v0" / "config.yml").read_text(), Loader=yaml.UnsafeLoader)
    assert dict(config)["vec_env_wrapper"] == ["sb3_dynamite.common.wrappers.VecPreviousActionReward"]
    monkeypatch.setattr(sys, "argv", ["rl_zoo3.record_video", "--algo", "dynamite", "--env", GRID, "-f", "logs",
                                      "-n", "30", "-o", "videos"])
    import runpy

    runpy.run_module("rl_zoo3.record_video", run_name="__main__")
    assert len(list(Path("videos").glob("*.mp4"))) == 1


@pytest.mark.parametrize("algo", ["ppo", "ppo_lstm"])
def test_baselines_train_evaluate_enjoy_record(algo: str, zoo: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture) -> None:
    """The oracle (PPO, ``oracle: true``, also in the eval env and the video) and RL^2 (RecurrentPPO reading the
    previous action and reward) from our files, through the zoo's commands."""
    import runpy

    import gymnasium as gym
    from rl_zoo3.utils import ALGOS

    zoo_train(monkeypatch, "--algo", algo, "--env", GRID, "-n", "128", "--eval-freq", "128", "--eval-episodes", "1",
              "--hyperparams", "n_envs:2", "n_steps:32", "batch_size:64")
    folder = run_dir(algo, GRID)
    assert np.load(folder / "evaluations.npz")["ep_lengths"].tolist() == [[60]]
    model = ALGOS[algo].load(folder / "dlcmdp-GridWorld-v0.zip")
    state_dim = gym.make(GRID).observation_space.shape[0]
    extra = 1 if algo == "ppo" else 5 + 1  # the latent k / the one-hot previous action and the previous reward
    assert model.observation_space.shape == (state_dim + extra,)
    if algo == "ppo_lstm":  # our file's policy, imported by the zoo from its dotted name
        from sb3_dynamite.common.recurrent import FusedLstmPolicy

        assert type(model.policy) is FusedLstmPolicy
    capsys.readouterr()
    zoo_enjoy(monkeypatch, "--algo", algo, "--env", GRID, "-f", "logs", "--no-render", "-n", "60")
    assert [length for _, length in enjoy_episodes(capsys.readouterr().out)] == [60]
    monkeypatch.setattr(sys, "argv", ["rl_zoo3.record_video", "--algo", algo, "--env", GRID, "-f", "logs", "-n", "10",
                                      "-o", "videos"])
    runpy.run_module("rl_zoo3.record_video", run_name="__main__")
    assert len(list(Path("videos").glob("*.mp4"))) == 1


def test_literal_zoo_commands_on_mujoco_headless(tmp_path: Path) -> None:
    """`python -m rl_zoo3.train|enjoy|record_video --algo dynamite` in fresh interpreters (the import hook, no
    --conf-file, no --gym-packages) on a MuJoCo env: SubprocVecEnv workers, evaluation, observation and reward
    normalisation saved and reloaded, decode_state from the file, an mp4 rendered with EGL."""
    env_id, name = "dlcmdp/HalfCheetahWindVel-v0", "dlcmdp-HalfCheetahWindVel-v0"
    python("-m", "rl_zoo3.train", "--algo", "dynamite", "--env", env_id, "-n", "400", "--eval-freq", "400",
           "--eval-episodes", "1", "--vec-env", "subproc", "--seed", "0", "--num-threads", "1", "--hyperparams",
           "n_envs:1", "n_steps:400", "batch_size:400", "n_epochs:1", "vae_batch_size:1", cwd=tmp_path)
    folder = tmp_path / "logs" / "dynamite" / f"{name}_1"
    assert yaml.load((folder / name / "args.yml").read_text(), Loader=yaml.UnsafeLoader)["vec_env"] == "subproc"
    assert (folder / name / "vecnormalize.pkl").is_file()
    assert np.load(folder / "evaluations.npz")["ep_lengths"].tolist() == [[400]]
    model = DynaMITEPPO.load(folder / f"{name}.zip")
    assert model.decode_state and model.policy.state_decoder is not None  # from dynamite.yml

    enjoy = python("-m", "rl_zoo3.enjoy", "--algo", "dynamite", "--env", env_id, "-f", "logs", "--no-render",
                   "-n", "400", cwd=tmp_path)
    assert "Loading running average" in enjoy.stdout
    assert [length for _, length in enjoy_episodes(enjoy.stdout)] == [400]

    python("-m", "rl_zoo3.record_video", "--algo", "dynamite", "--env", env_id, "-f", "logs", "-n", "20",
           "-o", "videos", cwd=tmp_path)
    videos = list((tmp_path / "videos").glob("*.mp4"))
    assert len(videos) == 1
    import imageio.v2 as imageio

    frames = [frame for frame in imageio.get_reader(videos[0])]
    assert len(frames) >= 20 and frames[0].std() > 0  # a real rendering, not a blank image


def test_wrapper_module_without_the_hook(tmp_path: Path) -> None:
    """`python -m sb3_dynamite.zoo train|enjoy` registers explicitly: works with the import hook switched off."""
    off = {"SB3_DYNAMITE_NO_ZOO_HOOK": "1"}
    python("-m", "sb3_dynamite.zoo", "train", "--algo", "varibad", "--env", GRID, "-n", "128", "--eval-freq", "-1",
           "--num-threads", "1", "--hyperparams", *TINY, cwd=tmp_path, env=off)
    assert (tmp_path / "logs" / "varibad" / "dlcmdp-GridWorld-v0_1" / "dlcmdp-GridWorld-v0.zip").is_file()
    enjoy = python("-m", "sb3_dynamite.zoo", "enjoy", "--algo", "varibad", "--env", GRID, "-f", "logs",
                   "--no-render", "-n", "60", cwd=tmp_path, env=off)
    assert [length for _, length in enjoy_episodes(enjoy.stdout)] == [60]
    refused = subprocess.run([sys.executable, "-m", "rl_zoo3.train", "--algo", "varibad"], cwd=tmp_path,
                             env={**os.environ, **off}, capture_output=True, text=True)
    assert refused.returncode == 2 and "invalid choice: 'varibad'" in refused.stderr  # the hook is what adds it


def test_wrapper_module_rejects_unknown_commands() -> None:
    from sb3_dynamite.zoo.__main__ import main

    with pytest.raises(SystemExit) as exit_info:
        main(["tune", "--algo", "dynamite"])
    assert exit_info.value.code == 2


# --- Optuna ---------------------------------------------------------------------------------------------------


def test_sampler_and_converter_agree() -> None:
    """Every sampled set converts back from ``trial.params`` (what --trial-id loads) and builds a model."""
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0), direction="maximize")
    for _ in range(20):
        trial = study.ask()
        kwargs = sample_dynamite_params(trial, 0, 8, {})
        assert kwargs == convert_dynamite_params(trial.params)
        assert set(trial.params) == set(PPO_SPACE) | set(BELIEF_SPACE) | set(DYNAMITE_SPACE)
        assert kwargs["n_steps"] in (64, 128, 256, 512, 1024) and 0.95 <= kwargs["gamma"] <= 0.999
        assert kwargs["latent_dim"] >= 1 and kwargs["kl_weight"] > 0 and kwargs["consistency_coef"] >= 0
        assert trial.user_attrs["n_steps"] == kwargs["n_steps"]
        study.tell(trial, 0.0)
    model = DynaMITEPPO("MlpPolicy", GRID, **kwargs)  # the constructor's own validation accepts them
    assert model.policy.features_extractor.gru.hidden_size == kwargs["policy_kwargs"]["features_extractor_kwargs"][
        "gru_hidden_size"]

    varibad = sample_varibad_params(study.ask(), 0, 8, {})
    assert not {"consistency_coef", "termination_coef", "session_masking"} & set(varibad)
    with fixed_parameters({"n_steps", "policy_kwargs", "kl_weight"}):
        trial = study.ask()
        kwargs = sample_dynamite_params(trial, 0, 8, {})
    assert not {"n_steps_pow", "net_arch", "activation_fn", "gru_hidden_size", "kl_weight"} & set(trial.params)
    assert not {"n_steps", "policy_kwargs", "kl_weight"} & set(kwargs) and "latent_dim" in kwargs


def test_optimize_uses_a_local_journal_and_trial_id_reloads(zoo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """-optimize with no --storage keeps the study in a journal file (resumable); --trial-id (0 included,
    which the zoo alone skips) trains with that trial's parameters."""
    tune = ["--algo", "dynamite", "--env", GRID, "-optimize", "--n-trials", "2", "-n", "128", "--n-evaluations", "1",
            "--eval-episodes", "1", "--sampler", "random", "--no-optim-plots", "--hyperparams", *TINY]
    zoo_train(monkeypatch, *tune, "--seed", "1")
    zoo_train(monkeypatch, *tune, "--seed", "2")  # a second run resumes the same study
    journal = Path("logs/dynamite/optuna/dlcmdp-GridWorld-v0.log")
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(journal)))
    study = optuna.load_study(study_name="dynamite_dlcmdp-GridWorld-v0", storage=storage)
    assert [trial.state for trial in study.trials] == [TrialState.COMPLETE] * 4
    fixed_raw = {"n_steps_pow", "batch_size_pow", "n_epochs", "n_vae_updates", "net_arch", "gru_hidden_size"}
    for trial in study.trials:
        assert trial.user_attrs["worker"] == worker_name()
        assert {"latent_dim", "kl_weight", "consistency_coef", "termination_coef", "vae_learning_rate",
                "learning_rate"} <= set(trial.params)
        assert not fixed_raw & set(trial.params)  # --hyperparams are held fixed, not searched

    zoo_train(monkeypatch, "--algo", "dynamite", "--env", GRID, "--trial-id", "0", "-n", "64", "--eval-freq", "-1",
              "--hyperparams", *TINY)
    trained = sorted(Path("logs/dynamite").glob("dlcmdp-GridWorld-v0_*/dlcmdp-GridWorld-v0.zip"))[-1]
    model = DynaMITEPPO.load(trained)
    expected = convert_dynamite_params(study.trials[0].params)
    for key, value in expected.items():
        actual = getattr(model, key)
        assert (actual(1.0) if callable(actual) else actual) == pytest.approx(value), key
    assert model.n_steps == 32  # fixed by --hyperparams, as during the search


def test_pruning_stops_a_bad_trial(zoo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Median pruning against a (seeded) excellent trial: ours is pruned at its first evaluation and stops."""
    path = "study.log"
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(path))
    study = optuna.create_study(study_name="prune", storage=storage, direction="maximize")
    study.add_trial(optuna.trial.create_trial(state=TrialState.COMPLETE, value=1e9, params={}, distributions={},
                                              intermediate_values={1: 1e9, 2: 1e9, 3: 1e9}))
    zoo_train(monkeypatch, "--algo", "dynamite", "--env", GRID, "-optimize", "--storage", path, "--study-name",
              "prune", "--n-trials", "1", "--pruner", "median", "--n-startup-trials", "1", "--n-evaluations", "3",
              "-n", "192", "--eval-episodes", "1", "--sampler", "random", "--no-optim-plots", "--hyperparams", *TINY)
    trial = optuna.load_study(study_name="prune", storage=storage).trials[-1]
    assert trial.state == TrialState.PRUNED
    assert list(trial.intermediate_values) == [1]  # training stopped after the first report


# --- installs -------------------------------------------------------------------------------------------------

CHECK_INSTALL = """
import argparse, sys
import rl_zoo3, sb3_dynamite
from rl_zoo3.exp_manager import ExperimentManager
manager = ExperimentManager(argparse.Namespace(), "dynamite", "dlcmdp/GridWorld-v0", "logs")
print(sb3_dynamite.__file__)
print(manager.config)
assert rl_zoo3.ALGOS["dynamite"] is sb3_dynamite.DynaMITEPPO
"""


def _venv_seeing_our_dependencies(path: Path) -> Path:
    """A venv whose only other packages are this environment's (a path entry: its .pth files do not run)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    site = next(path.glob("lib/python*/site-packages"))
    ours = next(p for p in sys.path if p.endswith("site-packages") and Path(p, "rl_zoo3").is_dir())
    (site / "zz_dependencies.pth").write_text(ours + "\n")
    return path / "bin" / "python"


def test_regular_and_editable_installs_register_with_the_zoo(tmp_path: Path) -> None:
    """Build both wheels from a copy of the project and install each into a fresh venv: the .pth hook, the hook
    module and the hyperparameter files are where the zoo finds them."""
    source = tmp_path / "project"
    source.mkdir()
    for name in ("setup.py", "pyproject.toml", "README.md", "sb3_dynamite_zoo_hook.py"):
        shutil.copy(ROOT / name, source / name)
    for name in ("sb3_dynamite", "hyperparams"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    built = python("-c", "import setuptools.build_meta as b; w = b.build_wheel('dist'); e = b.build_editable('dist'); "
                   "print('\\nbuilt', w, e)", cwd=source).stdout.splitlines()[-1].split()[1:]
    wheel, editable = (source / "dist" / name for name in built)
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        assert archive.read("sb3_dynamite_zoo.pth") == b"import sb3_dynamite_zoo_hook\n"
    assert {"sb3_dynamite_zoo_hook.py", "sb3_dynamite/zoo/hyperparams/__init__.py"} <= names
    assert {f"sb3_dynamite/zoo/hyperparams/{file}" for file in HYPERPARAMS_FILES.values()} <= names
    with zipfile.ZipFile(editable) as archive:
        assert archive.read("sb3_dynamite_zoo.pth") == b"import sb3_dynamite_zoo_hook\n"

    for kind, archive in (("regular", wheel), ("editable", editable)):
        interpreter = _venv_seeing_our_dependencies(tmp_path / kind)
        python("-m", "pip", "--python", str(interpreter), "install", "-q", "--no-deps", "--no-index", str(archive),
               cwd=tmp_path)
        package, config = python("-c", CHECK_INSTALL, cwd=tmp_path, executable=str(interpreter)).stdout.split()[-2:]
        root = tmp_path / kind if kind == "regular" else source
        assert Path(package).is_relative_to(root), (kind, package)
        assert Path(config).is_relative_to(root) and Path(config).name == "dynamite.yml" and Path(config).is_file()
