"""Tables and figures from the runner's JSON files (``python -m benchmarks.run``).

Writes, under ``--results``: ``table1.csv`` / ``table1.md`` / ``learning_curves.png`` (the default variant, or
``--variant``'s), ``ablations.csv`` / ``ablations.png`` (DynaMITE-RL without one modification), ``p_sweep.csv`` /
``p_sweep.png`` / ``p_sweep.md`` (switch-probability variants), ``comparisons.md`` (DynaMITE-RL against each
baseline: difference of means with a bootstrap interval, probability of improvement), ``summary.md`` (every env,
variant and method that ran, probes included, with its per-seed returns). Seeds are aggregated as mean +- std and as
the interquartile mean (rliable's) with a seeded percentile-bootstrap 95% CI; the normalised score is
``(R - R_random) / (R_oracle - R_random)`` with the learned oracle (PPO on ``oracle=True``) where it ran,
else the scripted oracle. Every file records the command, machine and versions that produced it. ::

    python -m benchmarks.report
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import scipy.stats

from benchmarks.common import machine_header, result_files

RESULTS = Path(__file__).resolve().parent / "results"
#: Table 1's methods; the two belief methods also with the paper's policy input, s_t and the belief (paper_input),
#: and with the PPO loss through the encoder (through_encoder, where run), and the memoryless baseline reading
#: s_t, a_{t-1}, r_{t-1} (ppo_action_reward)
TABLE_METHODS = ["dynamite", "varibad", "paper_input", "varibad_paper_input", "through_encoder",
                 "varibad_through_encoder", "rl2", "ppo_action_reward", "oracle", "random", "zero", "informed",
                 "oracle_scripted"]
#: the at-a-glance table's columns: the issue's methods, the memoryless baseline and the references
GLANCE_METHODS = {"dynamite": "DynaMITE-RL", "varibad": "VariBAD", "rl2": "RL²", "ppo_action_reward": "memoryless PPO",
                  "oracle": "oracle (PPO)", "oracle_scripted": "oracle (scripted)", "informed": "informed (scripted)",
                  "random": "random"}
ABLATION_METHODS = ["dynamite", "with_consistency", "no_prior_conditioning", "no_masking", "no_termination",
                    "raw_termination", "drift_norm", "drift_norm_raw_termination", "drift_norm_no_termination",
                    "drift_norm_low_termination", "drift_norm_termination_no_input", "drift_norm_termination_detached",
                    "termination_bias_init", "drift_norm_termination_bias_init", "drift_norm_termination_zero_init",
                    "norm_momentum_1", "varibad", "varibad_drift_norm"]
#: one colour per method in every panel and figure
COLOURS = {"dynamite": "tab:blue", "varibad": "tab:orange", "rl2": "tab:green", "oracle": "tab:red",
           "with_consistency": "tab:purple", "no_prior_conditioning": "tab:brown", "no_masking": "tab:pink",
           "no_termination": "gold", "raw_termination": "teal", "drift_norm": "navy",
           "varibad_drift_norm": "sandybrown",
           "paper_input": "deepskyblue", "varibad_paper_input": "peru", "ppo_action_reward": "orchid",
           "through_encoder": "midnightblue", "varibad_through_encoder": "chocolate",
           "drift_norm_raw_termination": "lightseagreen", "drift_norm_no_termination": "darkgoldenrod",
           "drift_norm_low_termination": "crimson", "norm_momentum_1": "slategray",
           "drift_norm_termination_no_input": "mediumorchid", "drift_norm_termination_detached": "olivedrab",
           "termination_bias_init": "darkcyan", "drift_norm_termination_bias_init": "firebrick",
           "drift_norm_termination_zero_init": "darkkhaki",
           "random": "grey", "zero": "tab:olive",
           "informed": "black", "oracle_scripted": "tab:cyan"}


def load_runs(runs: Path) -> list[dict]:
    return [json.loads(path.read_text()) for path in result_files(runs)]


def provenance(records: list[dict]) -> str:
    """Commands, machines and versions behind a set of runs, as markdown lines."""
    commands = sorted({r["command"] for r in records})
    machines = sorted({r["machine"] for r in records})
    commits = sorted({r["commit"] for r in records})
    version_sets = sorted({json.dumps(r["versions"], sort_keys=True) for r in records})
    lines = [f"- runs produced by: {'; '.join(f'`{c}`' for c in commands)}",
             f"- on: {'; '.join(machines)}; commits {', '.join(commits)}"]
    lines += [f"- versions: {', '.join(f'{k} {v}' for k, v in json.loads(v).items())}" for v in version_sets]
    adopted = sorted({(r["method"], r["adopted_from"]["method"]) for r in records if "adopted_from" in r})
    if adopted:  # runs recorded under a variant's name that builds the identical learner (benchmarks.adopt)
        lines.append("- adopted with `python -m benchmarks.adopt` (identical learner, recorded under the variant's "
                     f"name): {', '.join(f'{new} <- {old}' for new, old in adopted)}")
    return "\n".join(lines)


def write_csv(frame: pd.DataFrame, path: Path, header: str) -> None:
    """CSV with the provenance as leading ``#`` comment lines (``pd.read_csv(path, comment="#")``)."""
    with open(path, "w") as file:
        for line in header.splitlines():
            file.write(f"# {line}\n")
        frame.to_csv(file, index=False)


#: the baselines ``comparisons.md`` sets DynaMITE-RL against (the issue's goal: at least VariBAD and RL^2)
COMPARED = ["varibad", "rl2", "ppo_action_reward"]
#: bootstrap resamples of each method's seeds (the IQM's interval in table1.md, the differences in comparisons.md)
BOOTSTRAP_REPS = 20_000


def resampled(values: np.ndarray, statistic: Callable[[np.ndarray], np.ndarray], rng: np.random.Generator,
              reps: int = BOOTSTRAP_REPS) -> np.ndarray:
    """``statistic`` (row-wise on a reps x n array) of ``reps`` resamples of the runs, with replacement.

    Callers seed ``rng`` (``default_rng(0)``): the same intervals each time the report is regenerated.
    (rliable's own bootstrap draws from numpy's global RNG, so its intervals changed with every regeneration.)
    """
    return statistic(values[rng.integers(0, len(values), size=(reps, len(values)))])


def iqm_with_ci(values: np.ndarray) -> tuple[float, float, float]:
    """The interquartile mean over runs (rliable's: the 25% trimmed mean) and a seeded percentile bootstrap 95%
    interval (as rliable's)."""
    if len(values) < 2:
        return float(values.mean()), float("nan"), float("nan")
    iqms = resampled(values, lambda runs: scipy.stats.trim_mean(runs, 0.25, axis=1), np.random.default_rng(0))
    low, high = np.percentile(iqms, [2.5, 97.5])
    return float(scipy.stats.trim_mean(values, 0.25)), float(low), float(high)


def difference_with_ci(x: np.ndarray, y: np.ndarray, reps: int = BOOTSTRAP_REPS) -> dict[str, float]:
    """Mean(x) - mean(y) with a 95% bootstrap interval, and the probability of improvement P(X > Y).

    The runs of x and y are independent training seeds (only the evaluation episodes are shared), so each
    side is resampled on its own (a stratified independent bootstrap, percentile interval, as in rliable, whose
    own bootstrap takes seconds per pair here). P(X > Y) is rliable's: the pairs of runs where x is higher, ties
    as one half (the Mann-Whitney U over n_x * n_y).
    """
    from rliable import metrics

    def means(runs: np.ndarray) -> np.ndarray:
        return runs.mean(axis=1)

    rng = np.random.default_rng(0)  # x's resamples, then y's, from one stream: independent of each other
    low, high = np.percentile(resampled(x, means, rng, reps) - resampled(y, means, rng, reps), [2.5, 97.5])
    return {"difference": float(x.mean() - y.mean()), "difference_low": float(low), "difference_high": float(high),
            "poi": float(metrics.probability_of_improvement(x.reshape(-1, 1), y.reshape(-1, 1)))}


def episode_returns(runs: list[list[float]], episodes: int | None = None) -> np.ndarray:
    """Seeds x episodes returns of one method's runs: the first ``episodes`` (default: as many as every run has)
    of each run's final evaluation, in the paired order, so column k is the same episode for every run."""
    n = min(len(returns) for returns in runs) if episodes is None else episodes
    if any(len(returns) < n for returns in runs):
        raise ValueError(f"a run has fewer than {n} evaluation episodes: evaluate it on more (benchmarks.run "
                         "--episodes) or compare on fewer")
    return np.array([returns[:n] for returns in runs], dtype=float)


def difference_over_seeds_and_episodes(x: np.ndarray, y: np.ndarray, reps: int = BOOTSTRAP_REPS
                                       ) -> tuple[float, float]:
    """A 95% interval of mean(x) - mean(y) that also resamples the evaluation episodes.

    ``x`` and ``y`` are seeds x episodes returns on the same paired episodes (:func:`episode_returns`). Each
    method's seeds are resampled on their own, as in :func:`difference_with_ci`, and the episodes once for both
    (they are shared): a crossed bootstrap, so the interval also covers how much the fixed evaluation episodes
    favour one method, which a bootstrap over seeds alone cannot see.
    """
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"the methods were evaluated on {x.shape[1]} and {y.shape[1]} episodes: pair them on the "
                         "same ones (episode_returns with one count)")
    rng = np.random.default_rng(0)
    episodes = rng.multinomial(x.shape[1], np.full(x.shape[1], 1 / x.shape[1]), size=reps)  # counts per resample

    def means(runs: np.ndarray) -> np.ndarray:
        seeds = rng.multinomial(len(runs), np.full(len(runs), 1 / len(runs)), size=reps)
        return np.einsum("rs,se,re->r", seeds, runs, episodes) / runs.size

    low, high = np.percentile(means(x) - means(y), [2.5, 97.5])
    return float(low), float(high)


def interval_text(c: dict[str, float]) -> str:
    """A :func:`difference_with_ci` result as ``+d [+low, +high]``."""
    return f"{c['difference']:+.1f} [{c['difference_low']:+.1f}, {c['difference_high']:+.1f}]"


def verdict(low: float, high: float) -> str:
    """Which side of zero the difference's 95% interval lies, if either."""
    if low > 0:
        return "higher"
    if high < 0:
        return "lower"
    return "not separated"


#: what the crossed interval of comparisons.md and benchmarks.compare is
CROSSED_NOTE = ("95% CI over seeds and episodes: the same difference (on the episodes every run of both methods has) "
                "with a crossed bootstrap that resamples each method's seeds and, once for both, the shared "
                "evaluation episodes: it also covers how much the fixed evaluation episodes favour one method.")


def crossed_difference(ours: list[list[float]], theirs: list[list[float]]) -> dict[str, float]:
    """The difference of two methods' runs (each a list of its final-evaluation returns) on the paired episodes
    every run has, with :func:`difference_over_seeds_and_episodes`' interval (and ``episodes``: how many)."""
    n = min(len(returns) for returns in [*ours, *theirs])
    x, y = episode_returns(ours, n), episode_returns(theirs, n)
    low, high = difference_over_seeds_and_episodes(x, y)
    return {"difference": float(x.mean() - y.mean()), "difference_low": low, "difference_high": high, "episodes": n}


def crossed_cells(ours: list[list[float]], theirs: list[list[float]]) -> str:
    """``episodes | +d [+low, +high] | verdict`` (markdown cells) of :func:`crossed_difference`."""
    c = crossed_difference(ours, theirs)
    return f"{c['episodes']} | {interval_text(c)} | {verdict(c['difference_low'], c['difference_high'])}"


def readme_comparisons(frame: pd.DataFrame) -> list[str]:
    """The README's form of ``comparisons.md``: a row per env, a column per baseline of :data:`COMPARED`, each
    cell DynaMITE-RL's difference with its interval over seeds and episodes, the verdict and the seeds."""
    lines = ["| env | " + " | ".join(f"DynaMITE-RL minus {GLANCE_METHODS[b]}" for b in COMPARED) + " |",
             "|---" * (len(COMPARED) + 1) + "|"]
    for env_id, group in frame.groupby("env"):
        ours = list(group[group["method"] == "dynamite"]["eval_returns"])
        cells = []
        for baseline in COMPARED:
            theirs = list(group[group["method"] == baseline]["eval_returns"])
            if len(ours) < 2 or len(theirs) < 2:
                cells.append("-")
                continue
            c = crossed_difference(ours, theirs)
            cells.append(f"{interval_text(c)}, {verdict(c['difference_low'], c['difference_high'])} "
                         f"({len(ours)} vs {len(theirs)} seeds)")
        if set(cells) != {"-"}:
            lines.append(f"| {env_id.removeprefix('dlcmdp/')} | " + " | ".join(cells) + " |")
    return lines


def comparisons(frame: pd.DataFrame, out: Path, header: str) -> list[str]:
    """DynaMITE-RL against each of :data:`COMPARED` on every env where both ran with at least two seeds; returns
    the README's form of the table (:func:`readme_comparisons`), which ``comparisons.md`` also holds."""
    lines = [header, "", "DynaMITE-RL minus each baseline (Table 1's runs): difference of the mean final returns "
             f"with a stratified independent bootstrap 95% interval ({BOOTSTRAP_REPS:,} resamples of each method's "
             "seeds, seed 0), and the probability of improvement P(DynaMITE-RL > baseline), the share of pairs of "
             "training seeds where DynaMITE-RL is higher. 'not separated': the difference's interval contains 0.",
             "", CROSSED_NOTE, "",
             "| env | baseline | seeds (DynaMITE-RL, baseline) | difference [95% CI] | P(DynaMITE-RL > baseline) "
             "| verdict | episodes | 95% CI over seeds and episodes | verdict (seeds and episodes) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for env_id, group in frame.groupby("env"):
        ours = group[group["method"] == "dynamite"]
        for baseline in COMPARED:
            theirs = group[group["method"] == baseline]
            if len(ours) < 2 or len(theirs) < 2:
                continue
            c = difference_with_ci(ours["eval_return"].to_numpy(), theirs["eval_return"].to_numpy())
            lines.append(f"| {env_id} | {baseline} | {len(ours)}, {len(theirs)} | {interval_text(c)} | "
                         f"{c['poi']:.2f} | {verdict(c['difference_low'], c['difference_high'])} | "
                         f"{crossed_cells(list(ours['eval_returns']), list(theirs['eval_returns']))} |")
    readme = readme_comparisons(frame)
    lines += ["", "The README's form (the interval over seeds and episodes):", "", *readme]
    (out / "comparisons.md").write_text("\n".join(lines) + "\n")
    return readme


def normalised(value: float, means: pd.Series, reference: str) -> str:
    """``(R - R_random) / (R_reference - R_random)`` from the per-method means of one env, or "-"."""
    if "random" not in means or reference not in means or means[reference] == means["random"]:
        return "-"
    return f"{(value - means['random']) / (means[reference] - means['random']):.2f}"


def glance(frame: pd.DataFrame) -> list[str]:
    """Table 1 with one row per env: each of :data:`GLANCE_METHODS` as ``mean ± std (seeds)``, a scripted one's
    single return alone, "-" where it did not run."""
    lines = ["| env | " + " | ".join(GLANCE_METHODS.values()) + " |", "|---" * (len(GLANCE_METHODS) + 1) + "|"]
    for env_id, group in frame.groupby("env"):
        cells = []
        for method in GLANCE_METHODS:
            values = group[group["method"] == method]["eval_return"].to_numpy()
            cells.append("-" if len(values) == 0 else f"{values[0]:.1f}" if len(values) == 1 else
                         f"{values.mean():.1f} ± {values.std():.1f} ({len(values)})")
        lines.append(f"| {env_id.removeprefix('dlcmdp/')} | " + " | ".join(cells) + " |")
    return lines


def episode_counts(frame: pd.DataFrame) -> str:
    """The final evaluations' episode counts of a frame's runs, e.g. ``25`` or ``25 or 100``."""
    return " or ".join(str(n) for n in sorted({len(returns) for returns in frame["eval_returns"]})) or "no"


def table1(records: list[dict], out: Path, header: str, variant: str = "default") -> pd.DataFrame:
    """Table 1 of one env variant (the registered envs by default) into ``table1.csv`` and ``table1.md``."""
    rows = [{"env": r["env_id"], "method": r["method"], "seed": r["seed"], "timesteps": r["timesteps"],
             "eval_return": r["eval_return"], "eval_returns": r["eval_returns"]} for r in records
            if r["variant"] == variant and r["method"] in TABLE_METHODS]
    frame = pd.DataFrame(rows).sort_values(["env", "method", "seed"]) if rows else pd.DataFrame(
        columns=["env", "method", "seed", "timesteps", "eval_return", "eval_returns"])
    write_csv(frame.drop(columns="eval_returns"), out / "table1.csv", header)
    lines = [header, "", "| env | method | seeds | timesteps | mean +- std | IQM [95% CI] | normalised (PPO oracle) "
             "| normalised (scripted oracle) |", "|---|---|---|---|---|---|---|---|"]
    for env_id, group in frame.groupby("env"):
        means = group.groupby("method")["eval_return"].mean()
        for method in [m for m in TABLE_METHODS if m in means]:
            values = group[group["method"] == method]["eval_return"].to_numpy()
            iqm, low, high = iqm_with_ci(values)
            interval = f"{iqm:.1f} [{low:.1f}, {high:.1f}]" if np.isfinite(low) else f"{iqm:.1f}"
            steps = int(group[group["method"] == method]["timesteps"].max())
            lines.append(f"| {env_id} | {method} | {len(values)} | {steps:,} | {values.mean():.1f} +- "
                         f"{values.std():.1f} | {interval} | {normalised(values.mean(), means, 'oracle')} | "
                         f"{normalised(values.mean(), means, 'oracle_scripted')} |")
    lines += ["", "Normalised: (R - R_random) / (R_oracle - R_random), with the learned oracle (PPO on the oracle "
              "observation, mean over its seeds) and with the scripted oracle. Scripted methods are deterministic "
              "given the evaluation seeds (one row each). Evaluation: the paired seeds of benchmarks/methods.py, "
              f"deterministic actions, {episode_counts(frame)} episodes per run.", "",
              "At a glance: mean ± std over seeds (number of seeds); scripted policies' single return.", "",
              *glance(frame)]
    (out / "table1.md").write_text("\n".join(lines) + "\n")
    return frame


def learning_curves(records: list[dict], out: Path, header: str, methods: list[str], name: str) -> None:
    envs = sorted({r["env_id"] for r in records if r["method"] in methods})
    if not envs:
        return
    fig, axes = plt.subplots(1, len(envs), figsize=(4.2 * len(envs), 3.4), squeeze=False)
    for ax, env_id in zip(axes[0], envs, strict=True):
        for method in methods:
            runs = [r for r in records if r["env_id"] == env_id and r["method"] == method]
            if not runs:
                continue
            if runs[0]["timesteps"] > 0:  # learned: a curve; scripted runs (0 steps): a reference line
                steps = np.array([t for t, _ in runs[0]["curve"]])
                length = min(len(r["curve"]) for r in runs)
                curves = np.array([[v for _, v in r["curve"][:length]] for r in runs])
                if length == 0:
                    continue
                ax.plot(steps[:length], curves.mean(axis=0), label=f"{method} (n={len(runs)})", color=COLOURS[method])
                ax.fill_between(steps[:length], curves.min(axis=0), curves.max(axis=0), alpha=0.2,
                                color=COLOURS[method])
            else:
                ax.axhline(np.mean([r["eval_return"] for r in runs]), linestyle="--", linewidth=1, label=method,
                           color=COLOURS[method])
        ax.set_title(env_id.split("/")[-1])
        ax.set_xlabel("environment steps")
        ax.set_ylabel("evaluation return")
        ax.legend(fontsize=6)  # on every panel: the seed counts differ between envs
    fig.text(0.01, 0.005, "mean over seeds, band: min-max; " + header.splitlines()[0][:150], fontsize=5)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    fig.savefig(out / name, dpi=130, metadata={"Description": header})
    plt.close(fig)


def ablation_records(records: list[dict]) -> list[dict]:
    """Default-variant runs of the ablation methods, on the envs where at least one ablation variant ran."""
    variants = set(ABLATION_METHODS) - {"dynamite", "varibad"}
    envs = {r["env_id"] for r in records if r["method"] in variants}
    return [r for r in records if r["variant"] == "default" and r["method"] in ABLATION_METHODS
            and r["env_id"] in envs]


def ablations(records: list[dict], out: Path, header: str) -> None:
    rows = [{"env": r["env_id"], "method": r["method"], "seed": r["seed"], "timesteps": r["timesteps"],
             "eval_return": r["eval_return"]} for r in ablation_records(records)]
    if not rows:
        return
    frame = pd.DataFrame(rows).sort_values(["env", "method", "seed"])
    write_csv(frame, out / "ablations.csv", header)
    envs = sorted(frame["env"].unique())
    widest = max(frame.groupby("env")["method"].nunique())
    fig, axes = plt.subplots(1, len(envs), figsize=(max(4.5, 0.55 * widest) * len(envs), 4.6), squeeze=False)
    for ax, env_id in zip(axes[0], envs, strict=True):
        group = frame[frame["env"] == env_id]
        present = [m for m in ABLATION_METHODS if m in set(group["method"])]
        ax.boxplot([group[group["method"] == m]["eval_return"] for m in present], tick_labels=present)
        ax.tick_params(axis="x", labelrotation=50, labelsize=7)
        plt.setp(ax.get_xticklabels(), ha="right", rotation_mode="anchor")
        ax.set_title(env_id.split("/")[-1])
        ax.set_ylabel("final evaluation return (per seed)")
    fig.tight_layout()
    fig.savefig(out / "ablations.png", dpi=130, metadata={"Description": header})
    plt.close(fig)


def p_sweep(records: list[dict], out: Path, header: str) -> list[str]:
    """``p_sweep.csv``/``.md``/``.png`` of the switch-probability variants; returns the README's form of the
    sweep (:func:`readme_p_sweep`, empty without a sweep), which ``p_sweep.md`` also holds."""
    rows = [{"env": r["env_id"], "p": r["env_kwargs"]["switch_prob"], "method": r["method"], "seed": r["seed"],
             "episode": i, "eval_return": value} for r in records if r["variant"].startswith("p=")
            for i, value in enumerate(r["eval_returns"])]
    if not rows:
        return []
    frame = pd.DataFrame(rows).sort_values(["env", "p", "method", "seed", "episode"])
    write_csv(frame, out / "p_sweep.csv", header)
    summary = frame.groupby(["env", "p", "method"])["eval_return"]
    lines = [header, "", "Evaluation rollouts per (p, method): median [interquartile range], mean.", "",
             "| env | p | method | rollouts | median | IQR | mean |", "|---|---|---|---|---|---|---|"]
    for (env_id, p, method), values in summary:
        q1, median, q3 = np.percentile(values, [25, 50, 75])
        lines.append(f"| {env_id} | {p:g} | {method} | {len(values)} | {median:.1f} | {q1:.1f} to {q3:.1f} "
                     f"| {values.mean():.1f} |")
    readme = readme_p_sweep(records)
    if readme:
        lines += ["", "The README's form (medians and means over each method's rollouts):", "", *readme]
    (out / "p_sweep.md").write_text("\n".join(lines) + "\n")
    probabilities = sorted(frame["p"].unique())
    methods = sorted(frame["method"].unique())
    fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(probabilities)), 3.6))
    width = 0.8 / len(methods)
    for k, method in enumerate(methods):
        data = [frame[(frame["p"] == p) & (frame["method"] == method)]["eval_return"] for p in probabilities]
        positions = np.arange(len(probabilities)) + (k - (len(methods) - 1) / 2) * width
        boxes = ax.boxplot(data, positions=positions, widths=width * 0.9, patch_artist=True)
        for box in boxes["boxes"]:
            box.set_facecolor(COLOURS[method])
        ax.plot([], [], color=COLOURS[method], label=method, linewidth=6)
    ax.set_xticks(np.arange(len(probabilities)), [f"{p:g}" for p in probabilities])
    ax.set_xlabel("switch probability p (0: latent MDP, 1: POMDP)")
    ax.set_ylabel("evaluation return (rollouts)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "p_sweep.png", dpi=130, metadata={"Description": header})
    plt.close(fig)
    return readme


def readme_p_sweep(records: list[dict], method: str = "dynamite", baseline: str = "varibad") -> list[str]:
    """The README's form of the p-sweep (a column per p): seeds, each method's median (mean) over its rollouts
    (the higher median in bold), the difference of the means over seeds with its interval over seeds and
    episodes (bold where separated), and the seeds where ``method`` is higher. Empty without both methods."""
    runs: dict[float, dict[str, dict[int, list[float]]]] = {}
    for r in records:
        if r["variant"].startswith("p=") and r["method"] in (method, baseline):
            runs.setdefault(r["env_kwargs"]["switch_prob"], {}).setdefault(r["method"], {})[r["seed"]] = \
                r["eval_returns"]
    probabilities = [p for p in sorted(runs) if len(runs[p].get(method, {})) >= 2 and
                     len(runs[p].get(baseline, {})) >= 2]
    if not probabilities:
        return []
    rows: dict[str, list[str]] = {"seeds": [], method: [], baseline: [], "difference": [], "higher": []}
    for p in probabilities:
        ours, theirs = runs[p][method], runs[p][baseline]
        medians = {name: float(np.median(np.concatenate(list(seeds.values())))) for name, seeds in
                   ((method, ours), (baseline, theirs))}
        rows["seeds"].append(str(len(ours)) if len(ours) == len(theirs) else f"{len(ours)}, {len(theirs)}")
        for name, seeds in ((method, ours), (baseline, theirs)):
            text = f"{medians[name]:.1f}"
            bold = medians[name] == max(medians.values())
            mean = np.mean([np.mean(returns) for returns in seeds.values()])
            rows[name].append(f"{'**' + text + '**' if bold else text} ({mean:.1f})")
        c = crossed_difference(list(ours.values()), list(theirs.values()))
        separated = verdict(c["difference_low"], c["difference_high"]) != "not separated"
        rows["difference"].append(f"**{interval_text(c)}**" if separated else interval_text(c))
        paired = sorted(set(ours) & set(theirs))
        rows["higher"].append(f"{sum(np.mean(ours[s]) > np.mean(theirs[s]) for s in paired)} of {len(paired)}")
    labels = {"seeds": "seeds", method: f"{GLANCE_METHODS.get(method, method)}, median (mean)",
              baseline: f"{GLANCE_METHODS.get(baseline, baseline)}, median (mean)",
              "difference": f"{GLANCE_METHODS.get(method, method)} minus {GLANCE_METHODS.get(baseline, baseline)}, "
                            "mean over seeds [95% CI over seeds and episodes]",
              "higher": f"seeds where {GLANCE_METHODS.get(method, method)} is higher"}
    return ["| p | " + " | ".join(f"{p:g}" for p in probabilities) + " |", "|---" * (len(probabilities) + 1) + "|",
            *[f"| {labels[key]} | " + " | ".join(cells) + " |" for key, cells in rows.items()]]


def summary(records: list[dict], out: Path, header: str) -> None:
    """Every (env, variant, method) group that ran: seeds, steps, mean +- std and the per-seed returns."""
    groups: dict[tuple[str, str, str], list[dict]] = {}
    for r in records:
        groups.setdefault((r["env_id"], r["variant"], r["method"]), []).append(r)
    lines = [header, "", "| env | variant | method | seeds | timesteps | mean +- std | per seed |",
             "|---|---|---|---|---|---|---|"]
    for (env_id, variant, method), runs in sorted(groups.items()):
        runs = sorted(runs, key=lambda r: r["seed"])
        values = np.array([r["eval_return"] for r in runs])
        per_seed = ", ".join(f"{r['seed']}: {r['eval_return']:.1f}" for r in runs)
        steps = max(r["timesteps"] for r in runs)
        lines.append(f"| {env_id} | {variant} | {method} | {len(runs)} | {steps:,} | {values.mean():.1f} +- "
                     f"{values.std():.1f} | {per_seed} |")
    (out / "summary.md").write_text("\n".join(lines) + "\n")


def update_readme(path: Path, blocks: dict[str, list[str]]) -> None:
    """Replace each block of ``path`` between ``<!-- report:NAME -->`` and ``<!-- /report:NAME -->`` with
    ``blocks[NAME]`` (the README's tables, written from the runs rather than by hand)."""
    text = path.read_text()
    for name, lines in blocks.items():
        start, end = f"<!-- report:{name} -->", f"<!-- /report:{name} -->"
        if text.count(start) != 1 or text.count(end) != 1 or text.index(start) > text.index(end):
            raise SystemExit(f"{path} has no block {start} ... {end} for the {name} table: add the two markers "
                             "(each on a line of its own) where the table goes")
        before, rest = text.split(start)
        text = before + start + "\n" + "\n".join(lines) + "\n" + end + rest.split(end, 1)[1]
    path.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--readme", type=Path, default=None,
                        help="also write the README's tables (Table 1 at a glance, the comparisons, the p-sweep) "
                             "into this file, between its <!-- report:NAME --> markers")
    parser.add_argument("--variant", default="default",
                        help="the env variant (a runs/ subfolder name, e.g. observe_goals=False) of table1, "
                             "comparisons and learning_curves (default: the registered envs)")
    args = parser.parse_args()
    records = load_runs(args.results / "runs")
    if not records:
        raise SystemExit(f"no runs under {args.results / 'runs'}: run python -m benchmarks.run first")
    present = sorted({r["variant"] for r in records})
    if args.variant != "default" and args.variant not in present:
        raise SystemExit(f"no runs of variant {args.variant!r} under {args.results / 'runs'}; its variants: "
                         f"{', '.join(present)}")
    command = "python -m benchmarks.report" + ("" if args.results == RESULTS else f" --results {args.results}")
    command += "" if args.variant == "default" else f" --variant '{args.variant}'"
    header = machine_header(command) + "\n" + provenance(records)
    frame = table1(records, args.results, header, args.variant)
    readme_table = comparisons(frame, args.results, header)
    chosen = [r for r in records if r["variant"] == args.variant]
    learning_curves(chosen, args.results, header, TABLE_METHODS, "learning_curves.png")
    ablations(records, args.results, header)
    learning_curves(ablation_records(records), args.results, header, ABLATION_METHODS, "ablation_curves.png")
    readme_sweep = p_sweep(records, args.results, header)
    if args.readme is not None:
        update_readme(args.readme, {"table1": glance(frame), "comparisons": readme_table, "p_sweep": readme_sweep})
    summary(records, args.results, header)
    print((args.results / "table1.md").read_text())


if __name__ == "__main__":
    main()
