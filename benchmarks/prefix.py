"""Does a rerun reproduce the run of the same (env, variant, method, seed) over what both evaluated?

A budget check (e.g. ``budget_2m/``) reruns Table 1's runs for longer. With constant learning rates and the
same seed the longer run should retrace the shorter one exactly, so its extra steps *extend* Table 1's runs.
A rerun at the same budget evaluated on more episodes (``eval100/``) should end in the same model, so its first
25 final-evaluation episodes (the paired order, ``methods.paired_order``) are Table 1's. This compares the
learning-curve points at the steps both runs evaluated and the final-evaluation episodes both ran, bit for bit
(the curve points only where both evaluated them on as many episodes). ::

    python -m benchmarks.prefix --long benchmarks/results/budget_2m --out benchmarks/results/budget_2m/prefix.md
    python -m benchmarks.prefix --long benchmarks/results/eval100 --out benchmarks/results/eval100/prefix.md
"""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.common import command_line, publish, trained_on
from benchmarks.report import RESULTS, load_runs


def shared_prefix(short: list[list[float]], long: list[list[float]]) -> tuple[int, int]:
    """(steps both curves evaluated, how many of them have the identical return)."""
    short_points, long_points = dict(map(tuple, short)), dict(map(tuple, long))
    common = set(short_points) & set(long_points)
    return len(common), sum(short_points[step] == long_points[step] for step in common)


HEADER = ["| env | variant | method | seed | steps | shared curve points | identical | shared final episodes "
          "| identical | machines |", "|---|---|---|---|---|---|---|---|---|---|"]


def shared_episodes(short: dict, long: dict) -> tuple[int, int]:
    """(final-evaluation episodes both runs have, how many of them have the identical return); none where the
    runs ended at different budgets (different models)."""
    if short["timesteps"] != long["timesteps"]:
        return 0, 0
    pairs = list(zip(short["eval_returns"], long["eval_returns"], strict=False))  # the shorter evaluation's
    return len(pairs), sum(a == b for a, b in pairs)


def prefix_table(short_records: list[dict], long_records: list[dict]) -> list[str]:
    """One markdown row (no header) per run present in both result sets, with the machines they ran on (runs
    repeat bit for bit on one CPU type only)."""
    key = ("env_id", "variant", "method", "seed")
    shorter = {tuple(r[k] for k in key): r for r in short_records}
    rows = []
    for r in sorted(long_records, key=lambda r: tuple(str(r[k]) for k in key)):
        other = shorter.get(tuple(r[k] for k in key))
        if other is None:
            continue
        common, equal = (shared_prefix(other["curve"], r["curve"]) if other.get("curve_episodes") ==
                         r.get("curve_episodes") else (0, 0))
        episodes, same = shared_episodes(other, r)
        rows.append(f"| {r['env_id']} | {r['variant']} | {r['method']} | {r['seed']} | "
                    f"{other['timesteps']:,} / {r['timesteps']:,} | {common} | {equal} | {episodes} | {same} | "
                    f"{trained_on(other, cores=False)} / {trained_on(r, cores=False)} |")
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--short", type=Path, default=RESULTS, help="results folder of the shorter runs")
    parser.add_argument("--long", type=Path, required=True, help="results folder of the longer runs")
    parser.add_argument("--out", default=None, help="markdown file")
    args = parser.parse_args(argv)
    rows = prefix_table(load_runs(args.short / "runs"), load_runs(args.long / "runs"))
    if not rows:
        raise SystemExit(f"no run of {args.long / 'runs'} has a counterpart in {args.short / 'runs'}")
    publish(command_line("benchmarks.prefix", argv), HEADER + rows, args.out)


if __name__ == "__main__":
    main()
