"""Mid-run checkpoints of the benchmark runner, so that a long run (RL^2 at 1M steps took 80 minutes on one
core here with sb3-contrib's LSTM policy) can span several calls: interrupted, killed or stopped at
``--time-limit``, it resumes where it stopped.

A checkpoint of the run whose result goes to ``seedN.json`` is ``seedN.ckpt.zip`` (the model: SB3's ``save``, with
the optimizers), ``seedN.ckpt.vecnormalize.pkl`` (the reward normaliser's statistics, where the zoo entry
normalises), ``seedN.ckpt.episodes.pkl`` (the belief methods' episode store) and ``seedN.ckpt.json`` (the run's
record so far: curve, wall time, settings). The JSON is written last: a checkpoint without it is incomplete and
ignored.

A resumed run is not bit-identical to one that ran through: the envs restart their episodes (with fresh reset
seeds drawn from the run's seed and its step count, never the evaluation seeds) and the recurrent states start
from zero, as after SB3's ``load``. The result records the steps it resumed at (``resumed_at``) and the machine
of each call (``machines``).

While a run trains, ``seedN.lock`` holds the training process's id (:func:`claim_run`): a second runner on the
same results folder refuses that run instead of training it twice into the same checkpoint files.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.vec_env import VecNormalize

from benchmarks.common import write_json
from sb3_dynamite import DynaMITEPPO


def checkpoint_files(result: Path, kind: str = "ckpt") -> dict[str, Path]:
    """The checkpoint files of the run whose result is ``result`` (``.../seedN.json``); ``kind="model"``: the
    files of its final model (``seedN.model.zip`` and its reward normaliser), kept beside the result."""
    stem = result.with_suffix("")
    return {part: stem.with_name(f"{stem.name}.{kind}.{suffix}") for part, suffix in
            (("model", "zip"), ("vecnormalize", "vecnormalize.pkl"), ("episodes", "episodes.pkl"), ("state", "json"))}


def save_model(model: BaseAlgorithm, files: dict[str, Path]) -> None:
    """Save ``model`` (SB3's ``save``) and its reward normaliser's statistics, where it has one."""
    model.save(files["model"])
    vec_normalize = model.get_vec_normalize_env()
    if vec_normalize is not None:
        vec_normalize.save(files["vecnormalize"])


def load_model(model: BaseAlgorithm, files: dict[str, Path]) -> BaseAlgorithm:
    """The learner saved in ``files`` (:func:`save_model`), with the env, class and policy class of ``model``, the
    freshly built learner (so a model saved with RL^2's stock LSTM policy loads with ``FusedLstmPolicy``, the same
    computation: ``methods.SAME_POLICY``)."""
    env = model.get_env()
    if isinstance(env, VecNormalize):
        env = VecNormalize.load(str(files["vecnormalize"]), env.venv)
    return type(model).load(files["model"], env=env, device=model.device,
                            custom_objects={"policy_class": model.policy_class})


def resume_seed(seed: int, timesteps: int) -> int:
    """The reset seed of the training envs after resuming at ``timesteps``: drawn from both, so every resume of
    every run gets its own episodes, far from the evaluation seeds (10 000 onwards) in all but chance."""
    return int(np.random.SeedSequence([seed, timesteps]).generate_state(1)[0])


def save_checkpoint(model: BaseAlgorithm, result: Path, state: dict[str, Any]) -> None:
    """Save ``model``, its reward normaliser, its episode store (belief methods) and ``state`` (JSON)."""
    files = checkpoint_files(result)
    files["state"].unlink(missing_ok=True)  # until the new state is written, the checkpoint is incomplete
    save_model(model, files)
    if isinstance(model, DynaMITEPPO):
        model.save_episode_store(files["episodes"])
    write_json(files["state"], {**state, "timesteps": model.num_timesteps})


def load_checkpoint(model: BaseAlgorithm, result: Path, state: dict[str, Any], seed: int
                    ) -> tuple[BaseAlgorithm, dict[str, Any]] | None:
    """The learner restored from the checkpoint of ``result`` and the state saved with it, or None where there
    is no complete checkpoint or it was made with another ``state["budget"]`` or ``state["settings"]`` (then it
    is deleted). ``model`` is the freshly built learner, whose env, class and policy class the restored one takes."""
    files = checkpoint_files(result)
    if not files["state"].exists():
        return None
    saved = json.loads(files["state"].read_text())
    if any(saved.get(key) != state[key] for key in ("budget", "settings")):
        remove_checkpoint(result)
        return None
    restored = load_model(model, files)
    if isinstance(restored, DynaMITEPPO):
        restored.load_episode_store(files["episodes"])
    restored.set_random_seed(resume_seed(seed, restored.num_timesteps))  # torch, numpy and the envs' next resets
    return restored, saved


def remove_checkpoint(result: Path) -> None:
    for path in checkpoint_files(result).values():
        path.unlink(missing_ok=True)


class RunInProgress(RuntimeError):
    """Another live process holds the run's lock."""


def _lock_owner(lock: Path) -> int | None:
    """The process id in ``lock`` if that process is alive, else None (a lock left by a process that died)."""
    try:
        pid = int(lock.read_text().strip())
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return None
    except PermissionError:  # alive, owned by another user
        return pid
    return pid


@contextmanager
def claim_run(result: Path) -> Iterator[None]:
    """Hold ``seedN.lock`` while the run whose result is ``result`` trains. Raises :class:`RunInProgress` when a
    live process holds it: another runner, or pool workers still training after their runner was killed with
    SIGKILL (SIGTERM stops them with it); a lock whose process died is taken over."""
    lock = result.with_suffix(".lock")
    for _ in range(2):
        try:
            descriptor = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            owner = _lock_owner(lock)
            if owner is not None:
                raise RunInProgress(f"{result.with_suffix('')} is being trained by process {owner} (its lock "
                                    f"{lock.name}): wait for it, or stop that process (kill {owner}) and run "
                                    "again to resume from its checkpoint") from None
            lock.unlink(missing_ok=True)
            continue
        with os.fdopen(descriptor, "w") as file:
            file.write(str(os.getpid()))
        break
    else:
        raise RunInProgress(f"could not claim {lock}: another process keeps creating it")
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)
