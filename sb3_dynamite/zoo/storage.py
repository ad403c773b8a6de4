"""Optuna storages for tuning: a local journal file by default, database storages with heartbeats.

- No ``--storage``: the study lives in ``<log folder>/<algo>/optuna/<env>.log`` (Optuna's JournalStorage),
  so ``-optimize`` needs no server, survives the process and resumes when run again.
- A database URL (``postgresql://...``, ``mysql://...``, ``sqlite:///...``): several workers, on one or
  many machines, share the study. Each running trial records a heartbeat every
  ``SB3_DYNAMITE_HEARTBEAT_INTERVAL`` seconds (default 60); a trial whose worker died (no heartbeat for
  ``SB3_DYNAMITE_GRACE_PERIOD`` seconds, default twice the interval) is marked failed by the next worker
  that starts a trial, or starts up, and re-queued with the same parameters, at most
  ``SB3_DYNAMITE_MAX_RETRY`` times (default 3).
"""

from __future__ import annotations

import os
import socket
import time
import warnings
from pathlib import Path

import optuna
import sqlalchemy.exc
from optuna.trial import TrialState

HEARTBEAT_INTERVAL_ENV = "SB3_DYNAMITE_HEARTBEAT_INTERVAL"
GRACE_PERIOD_ENV = "SB3_DYNAMITE_GRACE_PERIOD"
MAX_RETRY_ENV = "SB3_DYNAMITE_MAX_RETRY"


def default_storage(log_folder: str, algo: str, env_name: str) -> str:
    """The local journal file used when ``-optimize`` gets no ``--storage``."""
    return str(Path(log_folder) / algo / "optuna" / f"{env_name}.log")


def default_study_name(algo: str, env_name: str) -> str:
    return f"{algo}_{env_name}"


def is_database_url(storage: str | None) -> bool:
    """True for an SQLAlchemy URL (``dialect[+driver]://...``); the zoo treats ``*.log`` as a journal file."""
    return storage is not None and "://" in storage and not storage.endswith(".log")


def worker_name() -> str:
    """``host:pid``, recorded on every trial (user attribute ``worker``)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _setting(name: str, default: int, minimum: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise ValueError(f"{name}={raw!r} is not a whole number >= {minimum}; set e.g. {name}={default} or unset it")
    return value


def heartbeat_storage(url: str) -> optuna.storages.RDBStorage:
    """An RDB storage whose stale trials (dead workers) are failed and retried."""
    interval = _setting(HEARTBEAT_INTERVAL_ENV, 60, 1)
    grace = _setting(GRACE_PERIOD_ENV, 2 * interval, 1)
    max_retry = _setting(MAX_RETRY_ENV, 3, 0)
    if grace <= interval:
        raise ValueError(f"{GRACE_PERIOD_ENV}={grace} must be longer than {HEARTBEAT_INTERVAL_ENV}={interval}, "
                         "or live workers would be taken for dead ones")
    # Optuna >= 4.9 calls RetryFailedTrialCallback RetryHeartbeatStaleTrialCallback (the old name is deprecated)
    retry = getattr(optuna.storages, "RetryHeartbeatStaleTrialCallback", None)
    callback = (
        {"heartbeat_stale_trial_callback": retry(max_retry=max_retry)} if retry is not None
        else {"failed_trial_callback": optuna.storages.RetryFailedTrialCallback(max_retry=max_retry)}
    )
    for attempt in range(5):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return optuna.storages.RDBStorage(url, engine_kwargs={"pool_pre_ping": True},
                                                  heartbeat_interval=interval, grace_period=grace, **callback)
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError):
            # workers starting together on an empty database race to create Optuna's tables: the loser retries
            if attempt == 4:
                raise
            time.sleep(1.0 + attempt)
    raise AssertionError("unreachable")


def fail_stale_trials(storage: optuna.storages.BaseStorage, study_name: str) -> list[int]:
    """Fail (and so re-queue) the stale trials of an existing study; returns their numbers."""
    try:
        study = optuna.load_study(study_name=study_name, storage=storage)
    except KeyError:  # a new study: nothing to recover
        return []
    failed_before = {trial.number for trial in study.get_trials(deepcopy=False, states=(TrialState.FAIL,))}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)
    failed = study.get_trials(deepcopy=False, states=(TrialState.FAIL,))
    return sorted(trial.number for trial in failed if trial.number not in failed_before)
