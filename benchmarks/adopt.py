"""Adopt finished runs under another method's name, when both names build the identical learner.

A variant that becomes the zoo default (e.g. ``drift_norm`` after ``belief_norm_drift=True`` entered the
HalfCheetah entries) would otherwise have to be rerun under the default's name to produce the same numbers.
This copies its run files instead, after checking that the two methods have the same algorithm, the same
observation and the same constructor arguments on that env; the copy keeps the original command and records
where it came from (``adopted_from``), so the provenance in every table names it. ::

    python -m benchmarks.adopt --source benchmarks/results/budget_1m/runs --env dlcmdp/HalfCheetahVel-v0 \\
        --pairs drift_norm:dynamite varibad_drift_norm:varibad drift_norm_no_termination:no_termination
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from benchmarks.methods import METHODS, learner_kwargs
from benchmarks.run import RESULTS, run_path


def same_learner(recorded: str, adopted: str, env_id: str) -> bool:
    """Whether methods ``recorded`` and ``adopted`` build the same learner on ``env_id`` today."""
    a, b = METHODS[recorded], METHODS[adopted]
    if a.scripted or b.scripted or (a.algo, a.observes) != (b.algo, b.observes):
        return False
    return learner_kwargs(a, env_id)[1] == learner_kwargs(b, env_id)[1]


def adopt(source: Path, target: Path, env_id: str, recorded: str, adopted: str) -> list[Path]:
    """Copy the default-variant runs of ``recorded`` on ``env_id`` from ``source`` to ``target`` as ``adopted``."""
    if not same_learner(recorded, adopted, env_id):
        raise SystemExit(f"{recorded} and {adopted} build different learners on {env_id}: rerun {adopted} instead")
    files = sorted(run_path(source, env_id, "default", recorded, 0).parent.glob("seed*.json"))
    if not files:
        raise SystemExit(f"no runs of {recorded} on {env_id} under {source}")
    written = []
    for file in files:
        record = json.loads(file.read_text())
        path = run_path(target, env_id, "default", adopted, record["seed"])
        if path.exists():
            raise SystemExit(f"{path} exists: remove it first if the adopted run should replace it")
        record.update(method=adopted, path=str(path), label=record["label"].replace(recorded, adopted),
                      adopted_from={"method": recorded, "file": str(file)})
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record, indent=1))
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--source", type=Path, required=True, help="runs folder holding the recorded runs")
    parser.add_argument("--target", type=Path, default=RESULTS)
    parser.add_argument("--env", required=True)
    parser.add_argument("--pairs", nargs="+", required=True, help="recorded:adopted method names")
    args = parser.parse_args(argv)
    for pair in args.pairs:
        recorded, adopted = pair.split(":")
        for path in adopt(args.source, args.target, args.env, recorded, adopted):
            print(f"{recorded} -> {path}")


if __name__ == "__main__":
    main()
