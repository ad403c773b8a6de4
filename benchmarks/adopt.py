"""Adopt finished runs under another method's name, when both names build the identical learner.

A variant that becomes the zoo default (e.g. ``drift_norm`` after ``belief_norm_drift=True`` entered the
HalfCheetah entries) would otherwise have to be rerun under the default's name to produce the same numbers.
This copies its run files instead, after checking that the two methods have the same algorithm, the same
observation and the same constructor arguments on that env; the copy keeps the original command and records
where it came from (``adopted_from``), so the provenance in every table names it. A run of the default env can
likewise join the p-sweep as the variant ``p=<its default switch probability>`` (``--variant``), and the runs of
another variant (``--source-variant observe_goals=False``) are adopted under that same variant. ::

    python -m benchmarks.adopt --source benchmarks/results/budget_1m/runs --env dlcmdp/HalfCheetahVel-v0 \\
        --pairs drift_norm:dynamite varibad_drift_norm:varibad drift_norm_no_termination:no_termination
    python -m benchmarks.adopt --source benchmarks/results/runs --env dlcmdp/HalfCheetahVel-v0 --variant p=0.01 \\
        --pairs dynamite:dynamite varibad:varibad --seeds 0
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import gymnasium as gym

import sb3_dynamite  # noqa: F401  (registers the dlcmdp/ envs)
from benchmarks.common import result_files
from benchmarks.methods import LEARNER_ZOO_KEYS, METHODS, comparable, learner_kwargs
from benchmarks.run import RESULTS, run_path


def same_learner(recorded: str, adopted: str, env_id: str) -> bool:
    """Whether methods ``recorded`` and ``adopted`` build the same learner on ``env_id`` today."""
    a, b = METHODS[recorded], METHODS[adopted]
    if a.scripted or b.scripted or (a.algo, a.observes) != (b.algo, b.observes):
        return False
    (zoo_a, kwargs_a, _), (zoo_b, kwargs_b, _) = learner_kwargs(a, env_id), learner_kwargs(b, env_id)
    return comparable(kwargs_a) == comparable(kwargs_b) and all(zoo_a.get(key) == zoo_b.get(key)
                                                                for key in LEARNER_ZOO_KEYS)


def variant_env_kwargs(env_id: str, variant: str) -> dict[str, float]:
    """The env arguments of ``variant`` ("default" or "p=<x>"), checked to build the default env."""
    if variant == "default":
        return {}
    default = gym.spec(env_id).kwargs.get("switch_prob")
    if not variant.startswith("p=") or float(variant[2:]) != default:
        raise SystemExit(f"variant {variant!r} is not the default env of {env_id} (switch_prob {default}): "
                         "only p=<default switch probability> can adopt default runs")
    return {"switch_prob": default}


def adopt(source: Path, target: Path, env_id: str, recorded: str, adopted: str, variant: str = "default",
          seeds: list[int] | None = None, source_variant: str = "default") -> list[Path]:
    """Copy the ``source_variant`` runs of ``recorded`` on ``env_id`` (all seeds, or ``seeds``) from ``source``
    to ``target`` as ``adopted``, under ``variant`` (a default run may join the p-sweep at the default ``p``; a run
    of another variant stays in its variant)."""
    if not same_learner(recorded, adopted, env_id):
        raise SystemExit(f"{recorded} and {adopted} build different learners on {env_id}: rerun {adopted} instead")
    if source_variant != "default" and variant != source_variant:
        raise SystemExit(f"runs of variant {source_variant!r} can only be adopted under that variant, not {variant!r}")
    env_kwargs = variant_env_kwargs(env_id, variant) if source_variant == "default" else None
    files = result_files(run_path(source, env_id, source_variant, recorded, 0).parent)
    records = [(file, json.loads(file.read_text())) for file in files]
    records = [(file, record) for file, record in records if seeds is None or record["seed"] in seeds]
    if not records:
        raise SystemExit(f"no runs of {recorded} on {env_id} under {source}")
    written = []
    for file, record in records:
        path = run_path(target, env_id, variant, adopted, record["seed"])
        if path.exists():
            raise SystemExit(f"{path} exists: remove it first if the adopted run should replace it")
        label = f"{env_id} [{variant}] {adopted} seed {record['seed']}"
        origin = {"method": recorded, "variant": source_variant, "file": str(file)}
        if "adopted_from" in record:  # adopted before: name the run as it was recorded
            origin = {**record["adopted_from"], "via": str(file)}
        record.update(method=adopted, variant=variant, path=str(path), label=label, adopted_from=origin)
        if env_kwargs is not None:  # (a variant's own runs keep the env arguments they were recorded with)
            record["env_kwargs"] = env_kwargs
        if env_kwargs and "settings" in record:  # what the run's env was built with, as the runner records it
            record["settings"]["env_kwargs"] = {**record["settings"].get("env_kwargs", {}), **env_kwargs}
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
    parser.add_argument("--variant", default="default", help="'default', or p=<the env's default switch_prob>")
    parser.add_argument("--source-variant", default="default",
                        help="the variant of the recorded runs; other than 'default', they keep it (--variant too)")
    parser.add_argument("--seeds", nargs="+", type=int, default=None, help="only these seeds (default: all)")
    args = parser.parse_args(argv)
    for pair in args.pairs:
        recorded, adopted = pair.split(":")
        for path in adopt(args.source, args.target, args.env, recorded, adopted, args.variant, args.seeds,
                          args.source_variant):
            print(f"{recorded} -> {path}")


if __name__ == "__main__":
    main()
