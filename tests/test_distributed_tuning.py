"""Distributed tuning on a real PostgreSQL server (started here, never mocked): several zoo workers share one
Optuna study; a worker killed mid-trial loses nothing (heartbeat, failed, retried, resumed).

PostgreSQL must be installed (``.ci/run`` installs it with apt-get when ``pg_ctl`` is missing); these tests
fail, not skip, when it cannot be started.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import optuna
import pytest
from optuna.trial import FrozenTrial, TrialState

from sb3_dynamite import DynaMITEPPO
from sb3_dynamite.zoo.sampler import BELIEF_SPACE, DYNAMITE_SPACE, PPO_SPACE, convert_dynamite_params

GRID = "dlcmdp/GridWorld-v0"
#: one trial: 128 steps on 1 env, one evaluation episode; the PPO/VAE sizes are held fixed (not searched)
TRIAL = ["--env", GRID, "-n", "128", "--n-evaluations", "1", "--eval-episodes", "1", "--num-threads", "1",
         "--sampler", "random", "--pruner", "none", "--no-optim-plots", "--hyperparams", "n_envs:1", "n_steps:32",
         "batch_size:32", "n_epochs:1", "n_vae_updates:1", "vae_batch_size:2", "policy_kwargs:dict(net_arch=[16])"]
#: what the sampler searches with TRIAL's --hyperparams held fixed
SEARCHED = {raw for space in (PPO_SPACE, BELIEF_SPACE, DYNAMITE_SPACE) for raw, (argument, _) in space.items()
            if argument not in ("n_steps", "batch_size", "n_epochs", "n_vae_updates", "policy_kwargs")}


def postgres_binary(name: str) -> str:
    """``name`` on PATH or in Debian's /usr/lib/postgresql/<version>/bin (not on PATH there)."""
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if found is None:
        pytest.fail(f"PostgreSQL's {name} was not found: install the server (`apt-get install -y postgresql`; "
                    ".ci/run does it) to run the distributed-tuning tests")
    return found


def as_postgres_user() -> Callable[[], None] | None:
    """PostgreSQL refuses to run as root: run its tools as the ``postgres`` user then."""
    if os.geteuid() != 0:
        return None
    try:
        user = pwd.getpwnam("postgres")
    except KeyError:
        pytest.fail("running as root but there is no `postgres` user to run the server (apt-get install -y postgresql)")

    def demote() -> None:
        os.setgid(user.pw_gid)
        os.setuid(user.pw_uid)

    return demote


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A throw-away PostgreSQL server on a free local port; yields its SQLAlchemy URL."""
    initdb, pg_ctl = postgres_binary("initdb"), postgres_binary("pg_ctl")
    demote = as_postgres_user()
    root = Path(tempfile.mkdtemp(prefix="sb3-dynamite-pg-"))
    if demote is not None:
        user = pwd.getpwnam("postgres")
        os.chown(root, user.pw_uid, user.pw_gid)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    data = root / "data"

    def run(*command: str) -> None:
        result = subprocess.run(command, preexec_fn=demote, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            log = (root / "server.log").read_text() if (root / "server.log").exists() else ""
            pytest.fail(f"{command[0]} failed:\n{result.stdout}\n{result.stderr}\n{log}")

    run(initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
    run(pg_ctl, "-D", str(data), "-l", str(root / "server.log"), "-w", "-t", "60", "-o",
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1", "start")
    try:
        yield f"postgresql+psycopg2://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([pg_ctl, "-D", str(data), "-m", "immediate", "stop"], preexec_fn=demote, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


_started: list[subprocess.Popen] = []


@pytest.fixture(autouse=True)
def _stop_workers_left_running() -> Iterator[None]:
    yield
    while _started:
        process = _started.pop()
        if process.poll() is None:
            process.kill()
            process.wait()
        process.log.close()  # type: ignore[attr-defined]


def worker(cwd: Path, *args: str, module: str = "rl_zoo3.train", env: dict[str, str] | None = None) -> subprocess.Popen:
    """A tuning worker in its own interpreter (as on another machine); output in ``cwd/worker-*.log``."""
    command = [sys.executable, "-m", *module.split(), *args]
    log = open(cwd / f"worker-{time.monotonic_ns()}.log", "w")
    process = subprocess.Popen(command, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                               env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})})
    process.log = log  # type: ignore[attr-defined]
    _started.append(process)
    return process


def finish(process: subprocess.Popen, timeout: float = 300) -> None:
    code = process.wait(timeout=timeout)
    process.log.flush()  # type: ignore[attr-defined]
    if code != 0:
        raise AssertionError(f"worker exited with {code}:\n{Path(process.log.name).read_text()[-4000:]}")


def host_pid(process: subprocess.Popen) -> str:
    return f"{socket.gethostname()}:{process.pid}"


def overlaps(first: list[FrozenTrial], second: list[FrozenTrial]) -> bool:
    return any(a.datetime_start < b.datetime_complete and b.datetime_start < a.datetime_complete
               for a in first for b in second)


def test_two_workers_share_one_postgresql_study(postgres_url: str, tmp_path: Path) -> None:
    """Two workers (the literal zoo command and our wrapper module) on one study at the same time: every trial
    completes, none is lost or duplicated; the best one's hyperparameters load back with --trial-id."""
    study_name = "two_workers"
    shared = ["--algo", "dynamite", *TRIAL, "-optimize", "--storage", postgres_url, "--study-name", study_name,
              "--n-trials", "3"]
    first = worker(tmp_path, *shared, "--seed", "1")
    second = worker(tmp_path, "train", *shared, "--seed", "2", module="sb3_dynamite.zoo")
    finish(first)
    finish(second)

    study = optuna.load_study(study_name=study_name, storage=postgres_url)
    trials = study.get_trials()
    assert [trial.state for trial in trials] == [TrialState.COMPLETE] * 6
    assert sorted(trial.number for trial in trials) == list(range(6))
    assert len({trial._trial_id for trial in trials}) == 6
    assert len({tuple(sorted(trial.params.items())) for trial in trials}) == 6  # no trial was run twice
    by_worker = {name: [t for t in trials if t.user_attrs["worker"] == name] for name in map(host_pid, (first, second))}
    assert Counter({name: len(runs) for name, runs in by_worker.items()}) == Counter({host_pid(first): 3,
                                                                                      host_pid(second): 3})
    assert overlaps(*by_worker.values())  # the two workers really ran at the same time

    best = study.best_trial
    finish(worker(tmp_path, "--algo", "dynamite", *TRIAL, "--storage", postgres_url, "--study-name", study_name,
                  "--trial-id", str(best.number), "--eval-freq", "-1", "-n", "32", "-f", "retrained"))
    model = DynaMITEPPO.load(tmp_path / "retrained/dynamite/dlcmdp-GridWorld-v0_1/dlcmdp-GridWorld-v0.zip")
    for key, value in convert_dynamite_params(best.params).items():
        actual = getattr(model, key)
        assert (actual(1.0) if callable(actual) else actual) == pytest.approx(value), key


def test_killed_worker_loses_nothing(postgres_url: str, tmp_path: Path) -> None:
    """Worker A is SIGKILLed mid-trial while B runs: A's trial stops sending heartbeats, is marked failed and
    re-queued with the same parameters; B (or C, restarted later on the same study) runs it. The study ends
    with exactly the requested number of completed trials and nothing running or waiting."""
    study_name, requested = "killed_worker", 6
    heartbeat = {"SB3_DYNAMITE_HEARTBEAT_INTERVAL": "1", "SB3_DYNAMITE_GRACE_PERIOD": "3"}
    shared = ["--algo", "dynamite", *TRIAL, "-optimize", "--storage", postgres_url, "--study-name", study_name,
              "--max-total-trials", str(requested)]
    victim = worker(tmp_path, *shared, "--seed", "1", env=heartbeat)
    survivor = worker(tmp_path, *shared, "--seed", "2", env=heartbeat)

    killed = None
    deadline = time.monotonic() + 240
    while killed is None:
        assert time.monotonic() < deadline and victim.poll() is None, "worker A never started a trial"
        try:
            running = optuna.load_study(study_name=study_name, storage=postgres_url).get_trials(
                states=(TrialState.RUNNING,))
        except KeyError:  # the study does not exist yet
            running = []
        # A's trial once all its parameters are sampled, i.e. while its model trains
        mine = [trial for trial in running
                if trial.user_attrs.get("worker") == host_pid(victim) and set(trial.params) == SEARCHED]
        if mine:
            victim.send_signal(signal.SIGKILL)
            killed = mine[0]
        else:
            time.sleep(0.1)
    assert victim.wait(timeout=30) == -signal.SIGKILL
    killed_at = time.monotonic()
    finish(survivor)

    time.sleep(max(0.0, killed_at + 4 - time.monotonic()))  # A's last heartbeat is now older than the grace period
    finish(worker(tmp_path, *shared, "--seed", "3", env=heartbeat))  # C: restarts the study

    trials = optuna.load_study(study_name=study_name, storage=postgres_url).get_trials()
    states = Counter(trial.state for trial in trials)
    assert states == Counter({TrialState.COMPLETE: requested, TrialState.FAIL: 1})
    assert sorted(trial.number for trial in trials) == list(range(requested + 1))
    failed = next(trial for trial in trials if trial.state == TrialState.FAIL)
    assert failed.number == killed.number and failed.params == killed.params
    retries = [trial for trial in trials if trial.system_attrs.get("failed_trial") == killed.number]
    assert len(retries) == 1 and retries[0].state == TrialState.COMPLETE
    assert retries[0].params == killed.params  # the same hyperparameters, run again
    assert retries[0].user_attrs["worker"] != host_pid(victim)
