"""Benchmark runner: methods x ``dlcmdp/`` envs x seeds, resumable, on several cores.

Every (env, variant, method, seed) run writes one JSON file under ``--out``, skipped when it exists at
the requested budget (a run at another budget is redone and replaced). A learned run also saves a checkpoint
after each curve evaluation (``seedN.ckpt.*``, see :mod:`benchmarks.checkpoint`): killed, or stopped at
``--time-limit``, it resumes from there when the same command is run again. The file holds the learning curve
(deterministic evaluation every ``--eval-every`` steps on ``--curve-episodes`` paired episodes), the final
evaluation (``--episodes`` paired episodes, deterministic, in the paired order of ``methods.paired_order``), the
settings, the command, the machine and the versions. The final model is kept beside it (``seedN.model.*``,
gitignored): the same command with a larger ``--episodes`` evaluates the kept models on more episodes, without
training (the record then lists the evaluation under ``reevaluated``). Examples::

    # Table 1 (budgets: methods.BENCHMARK_BUDGETS, else the zoo files' n_timesteps; optionally scaled)
    python -m benchmarks.run --envs all --methods dynamite varibad rl2 oracle random --seeds 0 1 2 --jobs 2
    # ablations on GridWorld and HalfCheetahVel
    python -m benchmarks.run --envs dlcmdp/GridWorld-v0 dlcmdp/HalfCheetahVel-v0 --methods dynamite \\
        with_consistency no_prior_conditioning no_masking no_termination --seeds 0 1 2 --jobs 2
    # the switch-frequency sweep
    python -m benchmarks.run --envs dlcmdp/HalfCheetahVel-v0 --methods dynamite varibad --seeds 0 \\
        --switch-probs 0 0.005 0.01 0.02 0.05 0.1 0.25 0.5 1.0 --jobs 2
    # another env than the registered one (here GridWorld with hidden goal cells): a variant of its own
    python -m benchmarks.run --envs dlcmdp/GridWorld-v0 --methods dynamite ppo_action_reward --seeds 0 1 2 \\
        --env-kwargs observe_goals=False
    # a long run in calls of at most ten minutes (e.g. on a lent machine): repeat until it is done
    python -m benchmarks.run --envs dlcmdp/HalfCheetahVel-v0 --methods rl2 --seeds 0 --time-limit 540

Then ``python -m benchmarks.report`` turns the JSON files into tables and figures.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import signal
import sys
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import yaml

from benchmarks.checkpoint import (
    RunInProgress,
    checkpoint_files,
    claim_run,
    load_checkpoint,
    load_model,
    remove_checkpoint,
    save_checkpoint,
    save_model,
)
from benchmarks.common import git_commit, machine, versions, write_json

RESULTS = Path(__file__).resolve().parent / "results" / "runs"
ALL_ENVS = ["dlcmdp/GridWorld-v0", "dlcmdp/Reacher-v0", "dlcmdp/HalfCheetahVel-v0",
            "dlcmdp/HalfCheetahWindVel-v0", "dlcmdp/ScratchItch-v0"]


def run_path(out: Path, env_id: str, variant: str, method: str, seed: int) -> Path:
    return out / env_id.replace("/", "_") / variant / method / f"seed{seed}.json"


def run_one(job: dict[str, Any], deadline: float | None = None) -> dict[str, Any]:
    """Train (if learned) and evaluate one (env, variant, method, seed); write its JSON file. A learned run saves
    a checkpoint after each curve evaluation and resumes from it; past ``deadline`` (a ``time.time()``) it stops
    at the next iteration, checkpointed, and returns the job with ``stopped_at`` instead of a result. The run is
    claimed while it trains (:func:`benchmarks.checkpoint.claim_run`): raises ``RunInProgress`` if it is taken."""
    path = Path(job["path"])
    path.parent.mkdir(parents=True, exist_ok=True)
    with claim_run(path):
        return _train_and_evaluate(job, deadline)


def _train_and_evaluate(job: dict[str, Any], deadline: float | None) -> dict[str, Any]:
    import torch as th
    from stable_baselines3.common.callbacks import BaseCallback

    from benchmarks import methods as m

    th.set_num_threads(1)  # one core per job: --jobs processes share the machine
    method = m.METHODS[job["method"]]
    env_id, seed, env_kwargs, path = job["env_id"], job["seed"], job["env_kwargs"], Path(job["path"])
    if job.pop("reevaluate", False):
        return _reevaluate(job, method)
    start = time.time()
    record: dict[str, Any] = {**job, "machine": machine(),
                              "versions": versions(), "commit": git_commit(), "curve": []}
    if method.scripted:
        agent = m.scripted_agent(method, env_id)
        # a reference policy sees what it needs (GridWorld's goal cells): same seeds, hence the same episodes
        env_kwargs = record["env_kwargs"] = {**env_kwargs, **agent.needs}
        record["timesteps"] = 0
    else:
        model, _, record["settings"] = m.build_learner(method, env_id, seed, env_kwargs, job["device"])
        budget = m.requested_budget(method, env_id, job["budget"], job["budget_scale"])
        eval_every = max(job["eval_every"] or budget // 20, 1)
        state = {"budget": budget, "settings": record["settings"], "curve": [], "next_eval": eval_every,
                 "wall_seconds": 0.0, "resumed_at": [], "machines": []}
        resumed = load_checkpoint(model, path, state, seed)
        if resumed is not None:
            model, state = resumed
            state["resumed_at"].append(model.num_timesteps)
            print(f"  {job['label']}: resumed at {model.num_timesteps:,} steps", flush=True)
        record["curve"] = state["curve"]
        state.setdefault("policies", [None] * len(state["machines"]))  # None: a call from before this field
        state["machines"].append(record["machine"])  # where each call of a resumed run trained
        state["policies"].append(type(model.policy).__name__)  # and with which policy class

        class Curve(BaseCallback):
            """The learning curve, a checkpoint after each of its evaluations, and the stop at ``deadline``."""

            def __init__(self) -> None:
                super().__init__()
                self.next_eval, self.stopped = state["next_eval"], False
                self.saved_at, self.saved_curve = model.num_timesteps, len(record["curve"])

            def _on_step(self) -> bool:
                return not self.stopped

            def _on_rollout_start(self) -> None:  # after the update: the checkpoint holds the trained model
                if self.num_timesteps == self.saved_at:
                    return
                self.stopped = deadline is not None and time.time() >= deadline
                if self.stopped or len(record["curve"]) > self.saved_curve:
                    save_checkpoint(self.model, path, {**state, "curve": record["curve"], "next_eval": self.next_eval,
                                                       "wall_seconds": state["wall_seconds"] + time.time() - start})
                    self.saved_at, self.saved_curve = self.num_timesteps, len(record["curve"])

            def _on_rollout_end(self) -> None:  # evaluate between iterations, never inside a rollout
                if self.num_timesteps >= self.next_eval:
                    self.next_eval += eval_every
                    returns = m.evaluate(self.model, env_id, method, job["curve_episodes"], env_kwargs)
                    record["curve"].append([self.num_timesteps, float(sum(returns) / len(returns))])
                    print(f"  {job['label']}: {self.num_timesteps:>9,} steps  eval {record['curve'][-1][1]:8.2f}"
                          f"  ({time.time() - start:,.0f} s)", flush=True)

        curve = Curve()
        model.learn(budget - model.num_timesteps, callback=curve, reset_num_timesteps=resumed is None)
        if curve.stopped:
            return {**job, "stopped_at": curve.saved_at}  # (it took one more step to stop)
        agent, record["timesteps"] = model, model.num_timesteps
        save_model(model, checkpoint_files(path, "model"))  # kept (gitignored): evaluate it again on more episodes
        record["resumed_at"], record["machines"], record["policies"] = (state["resumed_at"], state["machines"],
                                                                        state["policies"])
        start -= state["wall_seconds"]  # the wall time of the calls before this one
    record["eval_returns"] = m.evaluate(agent, env_id, method, job["episodes"], env_kwargs)
    record["eval_return"] = sum(record["eval_returns"]) / len(record["eval_returns"])
    record["wall_seconds"] = time.time() - start
    write_json(path, record)  # atomic: a killed run leaves no half-written result
    remove_checkpoint(path)
    return record


def _reevaluate(job: dict[str, Any], method: Any) -> dict[str, Any]:
    """Evaluate a finished run's kept final model (``seedN.model.*``) on ``job["episodes"]`` paired episodes, no
    training: the record's returns are replaced once the kept model has repeated the episodes it recorded."""
    from benchmarks import methods as m

    path = Path(job["path"])
    record = json.loads(path.read_text())
    start = time.time()
    learner, _, _ = m.build_learner(method, job["env_id"], job["seed"], record["env_kwargs"], job["device"])
    model = load_model(learner, checkpoint_files(path, "model"))
    returns = m.evaluate(model, job["env_id"], method, job["episodes"], record["env_kwargs"])
    recorded = record["eval_returns"]
    if returns[:len(recorded)] != recorded:
        raise RuntimeError(f"the kept model of {path} does not repeat its recorded evaluation (first episodes "
                           f"{recorded[:3]} against {returns[:3]}): it is not the model the record reports; move "
                           "the run out to train it again")
    record["reevaluated"] = [*record.get("reevaluated", []), {
        "episodes_before": len(recorded), "episodes": len(returns), "command": job["command"], "commit": git_commit(),
        "machine": machine(), "wall_seconds": time.time() - start}]
    record.update(episodes=len(returns), eval_returns=returns, eval_return=sum(returns) / len(returns))
    write_json(path, record)
    return {**record, "wall_seconds": time.time() - start}


def finished(path: Path, method: Any, env_id: str, args: argparse.Namespace) -> dict[str, Any] | None:
    """The run ``path`` holds if it is at the requested budget, else None (a run at another budget is redone and
    replaced)."""
    from benchmarks.methods import requested_budget

    if not path.exists():
        return None
    done = json.loads(path.read_text())
    same_budget = requested_budget(method, env_id, done.get("budget"), done.get("budget_scale", 1.0)) == \
        requested_budget(method, env_id, args.budget, args.budget_scale)
    return done if same_budget else None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from benchmarks.methods import EVAL_EPISODES

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--envs", nargs="+", default=["all"], help="env ids, or 'all'")
    parser.add_argument("--methods", nargs="+", default=["dynamite", "varibad", "rl2", "oracle", "random"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--switch-probs", nargs="+", type=float, default=None,
                        help="run each env at these switch probabilities p (the p-sweep) instead of its default")
    parser.add_argument("--env-kwargs", nargs="+", default=[], metavar="KEY=VALUE",
                        help="env arguments (YAML values) on top of the registered ones; they name the variant")
    parser.add_argument("--budget", type=int, default=None,
                        help="timesteps per run (default: the env's benchmark budget, else the zoo file's)")
    parser.add_argument("--budget-scale", type=float, default=1.0, help="multiply the default budgets")
    parser.add_argument("--eval-every", type=int, default=None, help="curve evaluation period (default budget/20)")
    parser.add_argument("--curve-episodes", type=int, default=10)
    parser.add_argument("--episodes", type=int, default=EVAL_EPISODES,
                        help=f"final evaluation episodes (>= {EVAL_EPISODES})")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--device", default="cpu",
                        help="torch device of the learners (default cpu; 'auto' puts every job on the GPU if any)")
    parser.add_argument("--out", type=Path, default=RESULTS,
                        help="the runs folder (default benchmarks/results/runs); keep the name runs/: "
                             "python -m benchmarks.report --results DIR reads DIR/runs")
    parser.add_argument("--time-limit", type=float, default=None, metavar="SECONDS",
                        help="after this long, every run stops at its next iteration with a checkpoint (runs that "
                             "start later do one iteration); run the same command again to resume them")
    args = parser.parse_args(argv)
    if args.episodes < EVAL_EPISODES:
        parser.error(f"--episodes must be at least {EVAL_EPISODES} (paired evaluation of the benchmark)")
    try:
        pairs = [item.split("=", 1) for item in args.env_kwargs]
        args.env_kwargs = {key: yaml.safe_load(value) for key, value in pairs}
    except ValueError:
        parser.error(f"--env-kwargs takes KEY=VALUE pairs (e.g. observe_goals=False), got {args.env_kwargs}")
    if "switch_prob" in args.env_kwargs:
        parser.error("give the switch probability with --switch-probs, not --env-kwargs")
    return args


def variants(args: argparse.Namespace) -> list[tuple[str, dict[str, Any]]]:
    """The (name, env arguments) of each env variant to run: ``default`` is the registered env; a switch
    probability is named ``p=<p>`` and other arguments ``key=value``, joined by commas."""
    probs = [None] if args.switch_probs is None else args.switch_probs
    result = []
    for p in probs:
        env_kwargs = {**({} if p is None else {"switch_prob": p}), **args.env_kwargs}
        names = [f"p={p:g}"] if p is not None else []
        names += [f"{key}={value}" for key, value in args.env_kwargs.items()]
        result.append((",".join(names) or "default", env_kwargs))
    return result


def _stop_workers(signum: int, frame: Any) -> None:
    """SIGTERM to the runner stops its pool workers too (they would train on, orphaned, otherwise); their runs
    resume from the last checkpoint when the same command is run again."""
    for child in multiprocessing.active_children():
        child.terminate()
    raise SystemExit(f"stopped by signal {signum}: run the same command again to resume from the checkpoints")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    from benchmarks.methods import METHODS, changed_settings

    unknown = sorted(set(args.methods) - set(METHODS))
    if unknown:
        raise SystemExit(f"unknown methods {unknown}; choose from {sorted(METHODS)}")
    envs = ALL_ENVS if args.envs == ["all"] else args.envs
    command = "python -m benchmarks.run " + " ".join(sys.argv[1:] if argv is None else argv)
    jobs, stale, unkept = [], [], []
    for env_id in envs:
        for variant, env_kwargs in variants(args):
            for method in args.methods:
                if method == "informed" and env_id != "dlcmdp/GridWorld-v0":
                    continue
                for seed in (args.seeds if METHODS[method].algo else args.seeds[:1]):
                    path = run_path(args.out, env_id, variant, method, seed)
                    done = finished(path, METHODS[method], env_id, args)
                    reevaluate = False
                    if done is not None:
                        changed = changed_settings(done)
                        if changed:
                            stale.append(f"{path} ({', '.join(changed)})")
                        if len(done["eval_returns"]) >= args.episodes or changed:
                            continue
                        # asked for more episodes: a scripted run is evaluated again, a learned one's kept model
                        reevaluate = METHODS[method].algo is not None
                        if reevaluate and not checkpoint_files(path, "model")["model"].exists():
                            unkept.append(str(path))
                            continue
                    jobs.append({"reevaluate": reevaluate, "env_id": env_id, "variant": variant,
                                 "env_kwargs": env_kwargs, "method": method, "seed": seed, "budget": args.budget,
                                 "budget_scale": args.budget_scale, "eval_every": args.eval_every,
                                 "curve_episodes": args.curve_episodes, "episodes": args.episodes,
                                 "device": args.device, "path": str(path), "command": command,
                                 "label": f"{env_id} [{variant}] {method} seed {seed}"})
    if stale:  # a finished run of another learner than the method's name builds today would be reported as it
        raise SystemExit(f"{len(stale)} finished runs were recorded with other settings than their methods build "
                         f"today: {'; '.join(stale[:5])}{' ...' if len(stale) > 5 else ''}. Move them out of "
                         f"{args.out} (into a folder named after what they measured) or delete them to rerun, or "
                         "check out the commit whose zoo files and benchmarks/methods.py they were made with")
    if unkept:
        print(f"{len(unkept)} finished runs have fewer than {args.episodes} evaluation episodes and no kept model "
              f"(runs from before the runner kept them), so they keep theirs: {'; '.join(unkept[:3])}"
              f"{' ...' if len(unkept) > 3 else ''}. Train them again into another --out to evaluate them on more",
              flush=True)
    deadline = None if args.time_limit is None else time.time() + args.time_limit
    print(f"{len(jobs)} runs to do ({args.jobs} at a time); finished runs are skipped", flush=True)
    failures = stopped = busy = 0
    previous_handler = signal.signal(signal.SIGTERM, _stop_workers)
    try:
        with ProcessPoolExecutor(max_workers=args.jobs, mp_context=get_context("spawn")) as pool:
            futures = {pool.submit(run_one, job, deadline): job for job in jobs}
            for done, future in enumerate(as_completed(futures), start=1):
                job = futures[future]
                try:
                    record = future.result()
                    if "stopped_at" in record:
                        stopped += 1
                        print(f"[{done}/{len(jobs)}] {job['label']}: stopped at {record['stopped_at']:,} steps "
                              "(time limit), checkpointed", flush=True)
                        continue
                    print(f"[{done}/{len(jobs)}] {job['label']}: eval return {record['eval_return']:.2f} "
                          f"({record['wall_seconds']:,.0f} s)", flush=True)
                except RunInProgress as error:
                    busy += 1
                    print(f"[{done}/{len(jobs)}] {job['label']}: skipped, {error}", flush=True)
                except Exception:  # report and go on: the other runs are still worth having
                    failures += 1
                    print(f"[{done}/{len(jobs)}] {job['label']} FAILED:\n{traceback.format_exc()}", flush=True)
    finally:
        signal.signal(signal.SIGTERM, previous_handler)
    if stopped:
        print(f"{stopped} runs stopped at the time limit: run the same command again to resume them", flush=True)
    if failures or busy:
        raise SystemExit(f"{failures} runs failed, {busy} skipped as another process trains them")


if __name__ == "__main__":
    main()
