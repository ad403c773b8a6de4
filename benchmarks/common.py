"""What every committed benchmark result records (the command, the machine and the package versions), and where
the runs' results are."""

from __future__ import annotations

import datetime
import importlib.metadata
import json
import os
import platform
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

PACKAGES = ("sb3-dynamite", "torch", "stable-baselines3", "sb3-contrib", "rl-zoo3", "gymnasium", "mujoco", "numpy")

RESULT_NAME = re.compile(r"seed\d+\.json")  # a run's result; its checkpoint's state is seedN.ckpt.json


def result_files(directory: Path) -> list[Path]:
    """The runs' result files (``seedN.json``) in and below ``directory``, sorted."""
    return sorted(path for path in directory.rglob("seed*.json") if RESULT_NAME.fullmatch(path.name))


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` to ``path`` atomically: a process killed while writing leaves the old file or none."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(data, indent=1))
    temporary.replace(path)


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as file:
            for line in file:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine() -> str:
    """The machine a run or result is made on, as records name it: ``<CPU model>, <N> cores``."""
    return f"{cpu_model()}, {os.cpu_count()} cores"


#: the tracked files whose uncommitted changes change what a run computes
CODE_PATHS = ("sb3_dynamite", "hyperparams", "benchmarks/*.py")


def git_commit() -> str:
    """The short commit hash, with ``+modified`` where tracked code differs from it (so a record made with
    uncommitted code does not name a commit that lacks it)."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                check=True).stdout.strip()
        changed = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", *CODE_PATHS],
                                 capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{commit}+modified" if changed else commit


def versions() -> dict[str, str]:
    found = {}
    for name in PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def machine_header(command: str) -> str:
    """Markdown lines naming the command, date, machine and versions of a result."""
    package_list = ", ".join(f"{name} {version}" for name, version in versions().items())
    return "\n".join([
        f"- command: `{command}`",
        f"- date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, commit {git_commit()}",
        f"- machine: {machine()}, Python {platform.python_version()}, {platform.system()}",
        f"- versions: {package_list}",
    ])


def command_line(module: str, argv: list[str] | None) -> str:
    """The ``python -m`` command a result script was called with (``argv``, else the process's arguments)."""
    return "python -m " + " ".join([module, *(argv or sys.argv[1:])])


def trained_on(record: dict, cores: bool = True) -> str:
    """The machine(s) a run trained on (every call of a resumed run), with or without their core counts: runs
    repeat bit for bit on one CPU type only."""
    names = record.get("machines", [record.get("machine", "?")])
    return " + ".join(dict.fromkeys(name if cores else name.split(",")[0] for name in names))


def publish(command: str, body: list[str], out: str | None) -> None:
    """Print a result (provenance header, then ``body`` lines) and write it to ``out`` when given."""
    text = "\n".join([machine_header(command), "", *body, ""])
    print(text)
    if out:
        with open(out, "w") as file:
            file.write(text)
