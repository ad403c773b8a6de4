"""One method against another, per env and variant of a results folder: the probes' comparisons.

``comparisons.md`` (:mod:`benchmarks.report`) sets DynaMITE-RL against the fixed baselines on Table 1's envs. This
compares any two methods, on every env and variant where both ran with at least two seeds: the p-sweep
(DynaMITE-RL against VariBAD at each p) or a probe (the ``(s_{j+1}, z)`` decoder against the zoo default). ::

    python -m benchmarks.compare --pairs dynamite:varibad --variants 'p=*' --out benchmarks/results/p_sweep_compare.md

    python -m benchmarks.compare --results benchmarks/results/decoder_input --pairs next_state_decoder:dynamite \\
        varibad_next_state_decoder:varibad --out benchmarks/results/decoder_input/compare.md

Each row gives the difference of the mean final returns with the stratified independent bootstrap interval of
``comparisons.md`` (training seeds are independent runs), the probability of improvement, and the per-seed counts
(each seed's evaluation episodes are shared by both methods, so its two returns are a pair), the same difference
with a crossed bootstrap over seeds and the shared evaluation episodes (``report.difference_over_seeds_and_episodes``),
and the machines the pairs trained on: runs repeat bit for bit on one CPU type only, so a pair is cleanest on one
machine. ``--episodes N`` compares on each run's first N paired episodes (runs evaluated on 100 against the
benchmark's 25)::

    python -m benchmarks.compare --results benchmarks/results/eval100 --pairs dynamite:varibad dynamite:rl2 \
        --episodes 25
"""

from __future__ import annotations

import argparse
import fnmatch
from collections import Counter
from pathlib import Path

import numpy as np

from benchmarks.common import command_line, publish, trained_on
from benchmarks.report import (
    BOOTSTRAP_REPS,
    CROSSED_NOTE,
    RESULTS,
    crossed_cells,
    difference_with_ci,
    interval_text,
    load_runs,
    verdict,
)

HEADER = ["| env | variant | method - baseline | seeds | difference [95% CI] | P(method > baseline) "
          "| per seed: higher / level / lower | verdict | episodes | 95% CI over seeds and episodes "
          "| verdict (seeds and episodes) | machines (method / baseline) of the seeds both ran |",
          "|---|---|---|---|---|---|---|---|---|---|---|---|"]


def parse_pair(text: str) -> tuple[str, str]:
    """``"method:baseline"`` -> ``(method, baseline)``."""
    method, sep, baseline = text.partition(":")
    if not sep or not method or not baseline:
        raise argparse.ArgumentTypeError(f"a pair is METHOD:BASELINE (e.g. next_state_decoder:dynamite), got {text!r}")
    return method, baseline


def pair_rows(records: list[dict], method: str, baseline: str) -> list[str]:
    """One markdown row per (env, variant) where both methods ran with at least two seeds."""
    by_key: dict[tuple[str, str], dict[str, dict[int, dict]]] = {}
    for r in records:
        if r["method"] in (method, baseline):
            by_key.setdefault((r["env_id"], r["variant"]), {}).setdefault(r["method"], {})[r["seed"]] = r
    rows = []
    for (env_id, variant), runs in sorted(by_key.items()):
        ours, theirs = runs.get(method, {}), runs.get(baseline, {})
        if len(ours) < 2 or len(theirs) < 2:
            continue
        c = difference_with_ci(np.array([r["eval_return"] for r in ours.values()]),
                               np.array([r["eval_return"] for r in theirs.values()]))
        paired = sorted(set(ours) & set(theirs))
        signs = [np.sign(ours[s]["eval_return"] - theirs[s]["eval_return"]) for s in paired]
        crossed = crossed_cells([r["eval_returns"] for r in ours.values()],
                                [r["eval_returns"] for r in theirs.values()])
        where = Counter(f"{trained_on(ours[s])} / {trained_on(theirs[s])}" for s in paired)
        rows.append(f"| {env_id} | {variant} | {method} - {baseline} | {len(ours)}, {len(theirs)} | "
                    f"{interval_text(c)} | {c['poi']:.2f} | {signs.count(1)} / {signs.count(0)} / {signs.count(-1)} | "
                    f"{verdict(c['difference_low'], c['difference_high'])} | "
                    f"{crossed} | "
                    f"{'; '.join(f'{pair} ({n})' for pair, n in sorted(where.items()))} |")
    return rows


def first_episodes(record: dict, episodes: int) -> dict:
    """``record`` with its final evaluation cut to the first ``episodes`` paired episodes (and its mean)."""
    if len(record["eval_returns"]) < episodes:
        raise SystemExit(f"{record['env_id']} [{record['variant']}] {record['method']} seed {record['seed']} has "
                         f"{len(record['eval_returns'])} evaluation episodes, fewer than --episodes {episodes}")
    returns = record["eval_returns"][:episodes]
    return {**record, "eval_returns": returns, "eval_return": float(np.mean(returns))}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=RESULTS, help="results folder (reads its runs/)")
    parser.add_argument("--pairs", nargs="+", type=parse_pair, required=True, metavar="METHOD:BASELINE")
    parser.add_argument("--variants", nargs="+", default=["*"], metavar="PATTERN",
                        help="only the variants matching one of these shell patterns (e.g. 'p=*' for the p-sweep)")
    parser.add_argument("--episodes", type=int, default=None,
                        help="compare on the first N paired evaluation episodes of each run (default: all of them, "
                             "as many as every run of both methods has)")
    parser.add_argument("--out", default=None, help="markdown file")
    args = parser.parse_args(argv)
    records = [r for r in load_runs(args.results / "runs")
               if any(fnmatch.fnmatchcase(r["variant"], pattern) for pattern in args.variants)]
    if args.episodes is not None:
        records = [first_episodes(r, args.episodes) for r in records]
    rows = [row for method, baseline in args.pairs for row in pair_rows(records, method, baseline)]
    if not rows:
        raise SystemExit(f"no env and variant of {args.results / 'runs'} has two seeds of both methods of a pair")
    intro = ("Method minus baseline: difference of the mean final returns with a stratified independent bootstrap "
             f"95% interval ({BOOTSTRAP_REPS:,} resamples of each method's seeds, seed 0); P(method > baseline), "
             "the share of pairs of training seeds where the method is higher; per seed, how many seeds run by "
             "both have the method higher, equal or lower (the same evaluation episodes). 'not separated': the "
             "interval contains 0.")
    publish(command_line("benchmarks.compare", argv), [intro, "", CROSSED_NOTE, "", *HEADER, *rows], args.out)


if __name__ == "__main__":
    main()
