"""When each HalfCheetah run left the standing-still plateau, from the learning curves of the runner's files.

On the HalfCheetah envs every method, the learned oracle included, first learns to stand still (the
curve episodes' return of doing nothing) and later learns to run. The step at which a run leaves that
plateau varies from seed to seed by hundreds of thousands of steps, so at a fixed budget the final return
mostly says *whether* a run has left it yet. This table makes that visible: a run "left the plateau" at
its first curve evaluation more than ``--margin`` above doing nothing on the same paired curve episodes;
runs still on it at their last evaluation are censored (shown as ``>`` their budget). The median (the upper
one for an even number of seeds) counts censored runs as later than every escape. ::

    python -m benchmarks.plateau --envs dlcmdp/HalfCheetahVel-v0 dlcmdp/HalfCheetahWindVel-v0
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import numpy as np

from benchmarks import methods as m
from benchmarks.common import command_line, machine_header
from benchmarks.report import RESULTS, load_runs, provenance


def standing_still(env_id: str, n_episodes: int) -> float:
    """Mean return of doing nothing on the first ``n_episodes`` paired episodes (those of the curves)."""
    zero = m.METHODS["zero"]
    return float(np.mean(m.evaluate(m.scripted_agent(zero, env_id), env_id, zero, n_episodes)))


def escape_step(curve: list[list[float]], threshold: float) -> int | None:
    """The first curve step whose return exceeds ``threshold`` (None: never, within the run)."""
    return next((int(step) for step, value in curve if value > threshold), None)


def median_step(steps: list[int | None]) -> int | None:
    """Upper median of escape steps, a censored run (None) counting as later than all (None if it is one)."""
    ordered = sorted(steps, key=lambda step: np.inf if step is None else step)
    return ordered[len(ordered) // 2]


def escape_table(records: list[dict], env_id: str, margin: float) -> tuple[str, float]:
    """Markdown rows (method, seeds, left the plateau, median step, final evaluation return as mean ± std
    over seeds, per-seed steps) and the threshold."""
    runs = [r for r in records if r["env_id"] == env_id and r["variant"] == "default" and r["curve"]]
    if not runs:
        raise ValueError(f"no runs with learning curves for {env_id} in the results: run benchmarks.run first")
    n_episodes = {r["curve_episodes"] for r in runs}
    if len(n_episodes) != 1:
        raise ValueError(f"{env_id}: runs use different --curve-episodes {sorted(n_episodes)}; rerun them alike")
    threshold = standing_still(env_id, n_episodes.pop()) + margin
    by_method: dict[str, list[tuple[int, int | None, int, float]]] = defaultdict(list)
    for r in runs:
        by_method[r["method"]].append((r["seed"], escape_step(r["curve"], threshold), int(r["curve"][-1][0]),
                                       r["eval_return"]))
    lines = ["| method | seeds | left the plateau | median step | final return | step per seed (seed: step) |",
             "|---|---|---|---|---|---|"]
    for method, rows in sorted(by_method.items(), key=lambda item: item[0]):
        rows.sort()
        seeds, steps, lasts, finals = zip(*rows, strict=True)
        median = median_step(list(steps))
        median_text = f"> {max(lasts):,}" if median is None else f"{median:,}"
        per_seed = ", ".join(f"{seed}: {step:,}" if step is not None else f"{seed}: > {last:,}"
                             for seed, step, last in zip(seeds, steps, lasts, strict=True))
        escaped = sum(step is not None for step in steps)
        final = f"{np.mean(finals):.1f} ± {np.std(finals):.1f}"
        lines.append(f"| {method} | {len(rows)} | {escaped}/{len(rows)} | {median_text} | {final} | {per_seed} |")
    return "\n".join(lines), threshold


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--envs", nargs="+", default=["dlcmdp/HalfCheetahVel-v0", "dlcmdp/HalfCheetahWindVel-v0"])
    parser.add_argument("--margin", type=float, default=25.0, help="return above doing nothing that counts")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--out", type=Path, default=None, help="markdown file (default: results/plateau.md)")
    args = parser.parse_args(argv)
    records = load_runs(args.results / "runs")
    sections = []
    for env_id in args.envs:
        table, threshold = escape_table(records, env_id, args.margin)
        sections.append(f"## {env_id}\n\nThreshold: {threshold:.1f} (doing nothing on the curve episodes "
                        f"+ {args.margin:g}).\n\n{table}\n")
    used = [r for r in records if r["env_id"] in args.envs and r["curve"]]
    header = machine_header(command_line("benchmarks.plateau", argv))
    text = f"# Leaving the standing-still plateau\n\n{header}\n{provenance(used)}\n\n" + "\n".join(sections)
    out = args.out or args.results / "plateau.md"
    out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
