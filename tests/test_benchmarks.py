"""The benchmark runner and report on a tiny budget: paired evaluation, resume, tables and figures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch as th
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import VecNormalize

from benchmarks import methods, run
from benchmarks.checkpoint import checkpoint_files, load_model

ROOT = Path(__file__).resolve().parent.parent


def test_runner_resumes_and_report_writes_tables(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    argv = ["--envs", "dlcmdp/GridWorld-v0", "--methods", "random", "informed", "oracle_scripted", "dynamite",
            "paper_input", "--seeds", "0", "--budget", "4096", "--eval-every", "2048", "--jobs", "1",
            "--out", str(tmp_path / "runs")]
    run.main(argv)
    files = sorted((tmp_path / "runs").rglob("seed*.json"))
    assert [f.parent.name for f in files] == ["dynamite", "informed", "oracle_scripted", "paper_input", "random"]
    record = json.loads(files[0].read_text())
    assert record["timesteps"] == 4096 and [t for t, _ in record["curve"]] == [2048, 4096]
    assert len(record["eval_returns"]) == 25 and record["versions"]["torch"].startswith("2.")
    assert record["device"] == "cpu"  # never on a GPU unless asked for
    # the final model is kept beside the result: loaded again, it repeats the final evaluation
    learner, _, _ = methods.build_learner(methods.METHODS["dynamite"], "dlcmdp/GridWorld-v0", 0, {}, "cpu")
    kept = load_model(learner, checkpoint_files(files[0], "model"))
    assert methods.evaluate(kept, "dlcmdp/GridWorld-v0", methods.METHODS["dynamite"], 25) == record["eval_returns"]
    run.main([*argv, "--episodes", "30"])  # more episodes: the kept model is evaluated again, not trained again
    longer = json.loads(files[0].read_text())
    assert longer["eval_returns"][:25] == record["eval_returns"] and len(longer["eval_returns"]) == 30
    assert longer["curve"] == record["curve"] and longer["reevaluated"][0]["episodes_before"] == 25
    assert len(json.loads(files[1].read_text())["eval_returns"]) == 30  # a scripted run is simply evaluated again
    checkpoint_files(files[0], "model")["model"].unlink()  # a run from before the runner kept its model
    run.main([*argv, "--episodes", "35"])
    assert "no kept model" in capsys.readouterr().out and json.loads(files[0].read_text()) == longer
    stamps = [f.stat().st_mtime_ns for f in files]
    run.main(argv)  # resumes: nothing is run again
    assert [f.stat().st_mtime_ns for f in files] == stamps
    run.main([*argv, "--budget", "2048"])  # another budget (the last one given wins): the learned run is redone
    assert json.loads(files[0].read_text())["timesteps"] == 2048
    scripted = [k for k, f in enumerate(files) if f.parent.name in ("informed", "oracle_scripted", "random")]
    assert [files[k].stat().st_mtime_ns for k in scripted] == [stamps[k] for k in scripted]  # they have no budget

    subprocess.run([sys.executable, "-m", "benchmarks.report", "--results", str(tmp_path)], cwd=ROOT, check=True,
                   capture_output=True)
    table = pd.read_csv(tmp_path / "table1.csv", comment="#")
    # Table 1 holds the belief methods with the paper's policy input (s_t and the belief) as rows of their own
    assert set(table["method"]) == {"random", "informed", "oracle_scripted", "dynamite", "paper_input"}
    informed = table[table["method"] == "informed"]["eval_return"].item()
    random = table[table["method"] == "random"]["eval_return"].item()
    assert informed > 35 > 0 > random  # the scripted references on the paired evaluation seeds
    markdown = (tmp_path / "table1.md").read_text()
    assert "command:" in markdown and "| dlcmdp/GridWorld-v0 | informed |" in markdown
    assert (tmp_path / "learning_curves.png").stat().st_size > 10_000

    # a finished run recorded with other settings than its method builds today is refused, not reported as its
    records = [json.loads(files[k].read_text()) for k in (0, 3)]  # dynamite (zoo string), paper_input (dict)
    assert [methods.changed_settings(record) for record in records] == [[], []]
    records[0]["settings"]["policy_kwargs"] = "dict(net_arch=[256, 256])"  # the paper's input: the previous default
    assert methods.changed_settings(records[0]) == ["policy_kwargs"]
    files[0].write_text(json.dumps(records[0]))
    with pytest.raises(SystemExit, match="1 finished runs were recorded with other settings"):
        run.main([*argv, "--budget", "2048"])


def test_p_sweep_runs_each_switch_probability_and_reports_it(tmp_path: Path) -> None:
    run.main(["--envs", "dlcmdp/GridWorld-v0", "--methods", "random", "informed", "--seeds", "0",
              "--switch-probs", "0", "1", "--jobs", "1", "--out", str(tmp_path / "runs")])
    subprocess.run([sys.executable, "-m", "benchmarks.report", "--results", str(tmp_path)], cwd=ROOT, check=True,
                   capture_output=True)
    sweep = pd.read_csv(tmp_path / "p_sweep.csv", comment="#")
    assert sorted(sweep["p"].unique()) == [0.0, 1.0] and set(sweep["method"]) == {"random", "informed"}
    assert len(sweep) == 2 * 2 * 25  # every evaluation rollout is kept for the boxplots
    informed = sweep[sweep["method"] == "informed"].groupby("p")["eval_return"]
    assert informed.mean()[0.0] != informed.mean()[1.0]  # the variant reached the env
    markdown = (tmp_path / "p_sweep.md").read_text()
    assert "command:" in markdown
    assert f"| dlcmdp/GridWorld-v0 | 0 | informed | 25 | {informed.median()[0.0]:.1f} |" in markdown
    assert (tmp_path / "p_sweep.png").stat().st_size > 10_000
    # the summary lists every (env, variant, method) group with its per-seed returns
    summary = (tmp_path / "summary.md").read_text()
    for p, method in [("0", "informed"), ("1", "informed"), ("0", "random"), ("1", "random")]:
        mean = sweep[(sweep["p"] == float(p)) & (sweep["method"] == method)]["eval_return"].mean()
        assert f"| dlcmdp/GridWorld-v0 | p={p} | {method} | 1 | 0 | {mean:.1f} +- 0.0 | 0: {mean:.1f} |" in summary


def test_env_kwargs_run_a_variant_of_their_own(tmp_path: Path) -> None:
    """GridWorld with hidden goal cells: the learners and the informed policy see (x, y) only; the scripted oracle
    (which reads the goals) sees them on the same seeds, hence scores as on the registered env."""
    argv = ["--envs", "dlcmdp/GridWorld-v0", "--methods", "informed", "oracle_scripted", "ppo_action_reward",
            "--seeds", "0", "--budget", "2048", "--jobs", "1", "--out", str(tmp_path)]
    run.main([*argv, "--env-kwargs", "observe_goals=False"])
    run.main(argv)
    hidden, default = ("observe_goals=False", {"observe_goals": False}), ("default", {})
    records = {(variant, method): json.loads(run.run_path(tmp_path, "dlcmdp/GridWorld-v0", variant, method, 0)
                                             .read_text())
               for variant, _ in (hidden, default) for method in ("informed", "oracle_scripted", "ppo_action_reward")}
    learner = records["observe_goals=False", "ppo_action_reward"]
    assert learner["env_kwargs"] == {"observe_goals": False}
    assert learner["settings"]["env_kwargs"] == {"oracle": False, "observe_goals": False}
    oracle = records["observe_goals=False", "oracle_scripted"]
    assert oracle["env_kwargs"] == {"observe_goals": True}
    assert oracle["eval_returns"] == records["default", "oracle_scripted"]["eval_returns"]
    informed = records["observe_goals=False", "informed"]
    assert informed["env_kwargs"] == {"observe_goals": False}
    assert informed["eval_return"] < records["default", "informed"]["eval_return"]  # it has to find the goals
    model, _, _ = methods.build_learner(methods.METHODS["ppo_action_reward"], "dlcmdp/GridWorld-v0", 0,
                                        {"observe_goals": False})
    assert model.observation_space.shape == (2 + 5 + 1,)  # (x, y), one-hot a_{t-1}, r_{t-1}: no goal cells

    args = run.parse_args(["--switch-probs", "0", "0.5", "--env-kwargs", "observe_goals=False", "size=7"])
    assert run.variants(args) == [("p=0,observe_goals=False,size=7", {"switch_prob": 0.0, "observe_goals": False,
                                                                      "size": 7}),
                                  ("p=0.5,observe_goals=False,size=7", {"switch_prob": 0.5, "observe_goals": False,
                                                                        "size": 7})]
    for bad in (["observe_goals"], ["switch_prob=0.1"]):
        with pytest.raises(SystemExit):
            run.parse_args(["--env-kwargs", *bad])


def test_evaluation_is_paired_across_methods() -> None:
    """Every method sees the same goals and session sequences on the evaluation seeds, whatever it does."""
    views = {}
    for k, observes in enumerate(("plain", "oracle", "previous_action_reward")):
        env = methods.evaluation_env("dlcmdp/GridWorld-v0", observes)
        goals = env.reset()[:, 2:6].copy()
        actions = np.full(methods.EVAL_ENVS, k)  # a different behaviour per view
        latents = [[info["latent"][0] for info in env.step(actions)[3]] for _ in range(60)]
        views[observes] = (goals, latents)
    for goals, latents in views.values():
        np.testing.assert_array_equal(goals, views["plain"][0])
        assert latents == views["plain"][1]


def test_evaluation_lists_episodes_in_the_paired_order_whatever_their_count() -> None:
    """Episode k of env i sits at k * EVAL_ENVS + i however the episodes finished, so a longer evaluation extends
    a shorter one (the benchmark's 25 episodes are the first 25 of 100)."""
    assert methods.paired_order([1, 0, 1, 2, 0, 2]) == [1, 0, 3, 4, 2, 5]
    agent = methods.scripted_agent(methods.METHODS["informed"], "dlcmdp/GridWorld-v0")
    kwargs = agent.needs
    short = methods.evaluate(agent, "dlcmdp/GridWorld-v0", methods.METHODS["informed"], 10, kwargs)
    longer = methods.evaluate(agent, "dlcmdp/GridWorld-v0", methods.METHODS["informed"], 20, kwargs)
    assert longer[:10] == short and len(set(longer)) > 3


def test_every_learned_method_builds_with_its_overrides() -> None:
    """Each ablation switches exactly its modification on top of the zoo entry, and the model accepts it.
    HalfCheetahVel's entries hold classes (``activation_fn``) that the run's JSON record must survive."""
    env_id = "dlcmdp/HalfCheetahVel-v0"
    for name, method in methods.METHODS.items():
        if method.scripted:
            continue
        model, budget, settings = methods.build_learner(method, env_id, 0, {})
        assert json.loads(json.dumps(settings)) == settings  # the run's record can hold them
        assert budget == float(methods.zoo_hyperparams(method.algo, env_id)["n_timesteps"])
        assert str(model.device) == "cpu"
        for key, value in method.overrides.items():
            if key == "policy_kwargs":  # merged into the zoo's policy_kwargs, which stay (nested dicts key by key)
                zoo = methods.algorithm_kwargs(methods.zoo_hyperparams(method.algo, env_id))
                merged = methods.merged(zoo["policy_kwargs"], value)
                assert settings[key] == methods.json_safe(merged), name
                assert merged.items() <= model.policy_kwargs.items(), name
                for k in value:  # a nested dict (features_extractor_kwargs) may gain entries the policy adds
                    actual = getattr(model.policy, k)
                    expected = merged[k]
                    same = expected.items() <= actual.items() if isinstance(expected, dict) else actual == expected
                    assert same, name
            elif key in methods.ZOO_KEYS:  # builds the env: normalize wraps it in VecNormalize as given
                assert settings[key] == value and key == "normalize", name
                vec_normalize = model.get_vec_normalize_env()
                assert all(getattr(vec_normalize, k) == v for k, v in methods.normalize_kwargs(settings).items()), name
            else:
                assert getattr(model, key) == value and settings[key] == value, name
    no_termination = methods.build_learner(methods.METHODS["no_termination"], "dlcmdp/GridWorld-v0", 0, {})[0]
    assert not no_termination.policy.use_termination  # c_t leaves the policy input with its loss
    # the memoryless baseline trains the oracle's zoo entry on the agent's view (s_t, a_{t-1}, r_{t-1}), not on k
    memoryless, _, settings = methods.build_learner(methods.METHODS["ppo_action_reward"], "dlcmdp/GridWorld-v0", 0, {})
    assert settings["env_kwargs"]["oracle"] is False
    assert memoryless.observation_space == no_termination.observation_space
    no_input = methods.build_learner(methods.METHODS["drift_norm_termination_no_input"], "dlcmdp/GridWorld-v0", 0,
                                     {})[0]
    assert not no_input.policy.use_termination and no_input.termination_coef == 1.0  # the loss stays
    sde = methods.build_learner(methods.METHODS["pass_action_reward_sde"], env_id, 0, {})[0]
    assert sde.policy.use_sde and sde.policy.features_extractor.pass_action_reward_to_policy  # gSDE in the policy
    # the zoo default of both belief methods reads a_{t-1}, r_{t-1}; paper_input keeps the paper's s_t and belief
    for env in ("dlcmdp/GridWorld-v0", "dlcmdp/HalfCheetahWindVel-v0", "dlcmdp/ScratchItch-v0"):
        for default, paper in (("dynamite", "paper_input"), ("varibad", "varibad_paper_input")):
            reads = [methods.build_learner(methods.METHODS[name], env, 0, {})[0].policy.features_extractor
                     for name in (default, paper)]
            assert [r.pass_action_reward_to_policy for r in reads] == [True, False], (env, default)
            state_dim, action_dim = reads[0].state_dim, reads[0].action_dim
            assert [r.features_dim for r in reads] == [state_dim + action_dim + 1, state_dim], (env, default)


def test_ablation_figures_keep_only_envs_with_an_ablation() -> None:
    from benchmarks.report import ablation_records

    def record(env_id: str, method: str, variant: str = "default") -> dict:
        return {"env_id": env_id, "method": method, "variant": variant}

    records = [record("a", "dynamite"), record("a", "no_masking"), record("a", "oracle"),
               record("b", "dynamite"), record("b", "varibad"), record("a", "dynamite", "p=0")]
    assert ablation_records(records) == records[:2]  # env b has no ablation variant; p-sweep runs are not ablations


def test_the_crossed_bootstrap_sees_what_the_evaluation_episodes_favour_and_pairs_them() -> None:
    from benchmarks.report import crossed_cells, difference_over_seeds_and_episodes, difference_with_ci, episode_returns

    rng = np.random.default_rng(1)
    episode = rng.normal(0.0, 20.0, 40)  # how hard each shared evaluation episode is
    # a constant gap on top of the shared episode effect: resampling the episodes together keeps it exact
    x, y = np.tile(episode + 3.0, (4, 1)), np.tile(episode, (5, 1))
    assert difference_over_seeds_and_episodes(x, y) == pytest.approx((3.0, 3.0))
    # a method that is better on half the episodes and worse on the rest: identical seeds make the bootstrap over
    # seeds certain of the gap the 40 episodes show, the crossed one is not
    favour = np.where(np.arange(40) < 25, 10.0, -10.0)
    x, y = np.tile(favour, (4, 1)), np.zeros((5, 40))
    seeds_only = difference_with_ci(x.mean(axis=1), y.mean(axis=1))
    assert seeds_only["difference_low"] == seeds_only["difference_high"] == pytest.approx(2.5)
    low, high = difference_over_seeds_and_episodes(x, y)
    assert low < 0 < 2.5 < high
    # runs evaluated on 100 and on 25 episodes pair on the first 25
    assert episode_returns([[1, 2, 3], [4, 5]]).tolist() == [[1, 2], [4, 5]]
    with pytest.raises(ValueError, match="fewer than 3 evaluation episodes"):
        episode_returns([[1, 2, 3], [4, 5]], 3)
    with pytest.raises(ValueError, match="same ones"):
        difference_over_seeds_and_episodes(np.zeros((2, 3)), np.zeros((2, 4)))
    assert crossed_cells([[1.0, 2.0, 9.0], [1.0, 2.0]], [[0.0, 1.0], [0.0, 1.0]]) == \
        "2 | +1.0 [+1.0, +1.0] | higher"


def test_the_readme_tables_are_written_from_the_runs(tmp_path: Path) -> None:
    from benchmarks.report import episode_counts, readme_comparisons, readme_p_sweep, update_readme

    def record(method: str, seed: int, returns: list[float], p: float = 0.1) -> dict:
        return {"env_id": "dlcmdp/E-v0", "variant": f"p={p:g}", "env_kwargs": {"switch_prob": p}, "method": method,
                "seed": seed, "eval_returns": returns}

    records = [record("dynamite", 0, [10.0, 12.0]), record("dynamite", 1, [11.0, 13.0]),
               record("varibad", 0, [1.0, 3.0]), record("varibad", 1, [12.0, 14.0]),
               record("dynamite", 0, [1.0, 1.0], p=0.5), record("varibad", 0, [0.0, 0.0], p=0.5)]  # one seed: no column
    lines = readme_p_sweep(records)
    assert lines[0] == "| p | 0.1 |"
    assert lines[2:5] == ["| seeds | 2 |", "| DynaMITE-RL, median (mean) | **11.5** (11.5) |",
                          "| VariBAD, median (mean) | 7.5 (7.5) |"]  # the higher median (of all rollouts) in bold
    assert lines[5].startswith("| DynaMITE-RL minus VariBAD, mean over seeds [95% CI over seeds and episodes] | +4.0 [")
    assert lines[6] == "| seeds where DynaMITE-RL is higher | 1 of 2 |"
    assert readme_p_sweep(records[4:]) == []

    frame = pd.DataFrame({"env": ["dlcmdp/E-v0"] * 4, "method": ["dynamite", "dynamite", "rl2", "rl2"],
                          "eval_returns": [[5.0, 6.0], [5.0, 6.0, 9.0], [1.0, 2.0], [1.0, 2.0]]})
    assert readme_comparisons(frame)[2] == "| E-v0 | - | +4.0 [+4.0, +4.0], higher (2 vs 2 seeds) | - |"
    assert episode_counts(frame) == "2 or 3"  # what table1.md says each run was evaluated on

    readme = tmp_path / "README.md"
    readme.write_text("# A\n<!-- report:p_sweep -->\nold table\n<!-- /report:p_sweep -->\ntext after\n")
    update_readme(readme, {"p_sweep": ["| new |"]})
    update_readme(readme, {"p_sweep": ["| newer |"]})  # again: the block is replaced, not appended to
    assert readme.read_text() == "# A\n<!-- report:p_sweep -->\n| newer |\n<!-- /report:p_sweep -->\ntext after\n"
    with pytest.raises(SystemExit, match="no block <!-- report:table1 -->"):
        update_readme(readme, {"table1": ["| t |"]})


def test_table1_of_a_variant_takes_that_variants_runs_only(tmp_path: Path) -> None:
    from benchmarks.report import table1

    def record(method: str, seed: int, value: float, variant: str) -> dict:
        return {"env_id": "dlcmdp/E-v0", "variant": variant, "method": method, "seed": seed, "timesteps": 10,
                "eval_return": value, "eval_returns": [value]}

    records = [record("dynamite", seed, 1.0 + seed, "default") for seed in (0, 1)]
    records += [record("dynamite", seed, 10.0 + seed, "sparse=1") for seed in (0, 1, 2)]
    frame = table1(records, tmp_path, "- header", variant="sparse=1")
    assert sorted(frame["eval_return"]) == [10.0, 11.0, 12.0]
    assert "| dlcmdp/E-v0 | dynamite | 3 | 10 | 11.0 +- 0.8 |" in (tmp_path / "table1.md").read_text()
    assert sorted(table1(records, tmp_path, "- header")["eval_return"]) == [1.0, 2.0]  # the registered env


def test_comparisons_separate_only_when_the_bootstrap_interval_excludes_zero(tmp_path: Path) -> None:
    from benchmarks.report import comparisons, difference_with_ci

    apart = difference_with_ci(np.array([10.0, 11.0, 12.0]), np.array([1.0, 2.0, 3.0, 4.0]))
    assert apart["difference"] == pytest.approx(11.0 - 2.5)
    assert 0 < apart["difference_low"] < 8.5 < apart["difference_high"] and apart["poi"] == 1.0
    # the bootstrap of each side's mean stays inside the range of its runs
    assert apart["difference_low"] >= 10.0 - 4.0 and apart["difference_high"] <= 12.0 - 1.0
    mixed = difference_with_ci(np.array([1.0, 5.0, 9.0]), np.array([2.0, 5.0, 8.0]))
    assert mixed["difference_low"] < 0 < mixed["difference_high"] and mixed["poi"] == pytest.approx(4.5 / 9)

    frame = pd.DataFrame({"env": ["e"] * 8 + ["f"] * 2, "method": ["dynamite"] * 3 + ["varibad"] * 3 + ["rl2"] * 2
                          + ["dynamite", "rl2"], "eval_return": [10, 11, 12, 1, 2, 3, 5, 20, 0, 0]})
    frame["eval_returns"] = [[value - 1.0, value + 1.0] for value in frame["eval_return"]]
    comparisons(frame, tmp_path, "header")
    rows = [line for line in (tmp_path / "comparisons.md").read_text().splitlines()
            if line.startswith("| e |") and line.count("|") == 10]  # the full table, not the README's form
    # VariBAD is separated (lower), RL^2 is not, over seeds and over seeds and episodes; env f has one seed per
    # method and no row
    assert [(row.split(" | ")[1], row.split(" | ")[5], row.split(" | ")[-1]) for row in rows] == \
        [("varibad", "higher", "higher |"), ("rl2", "not separated", "not separated |")]
    assert (tmp_path / "comparisons.md").read_text().count("| f |") == 0


def test_the_glance_table_has_one_row_per_env_with_each_methods_mean_std_and_seeds() -> None:
    from benchmarks.report import GLANCE_METHODS, glance

    frame = pd.DataFrame({"env": ["dlcmdp/E-v0"] * 5 + ["dlcmdp/F-v0"], "method": ["dynamite", "dynamite", "random",
                          "rl2", "rl2", "dynamite"], "eval_return": [1.0, 3.0, -7.25, 10.0, 10.0, 5.0]})
    header, rule, e, f = glance(frame)
    assert header.count("|") == rule.count("|") == len(GLANCE_METHODS) + 2
    cells = dict(zip(GLANCE_METHODS, e.strip("| ").split(" | ")[1:], strict=True))
    assert e.startswith("| E-v0 |") and cells["dynamite"] == "2.0 ± 1.0 (2)" and cells["rl2"] == "10.0 ± 0.0 (2)"
    assert cells["random"] == "-7.2" and cells["varibad"] == cells["informed"] == "-"  # one run: its return alone
    assert f.startswith("| F-v0 | 5.0 |")


def test_belief_diagnostic_reads_the_policy_input_of_c_t() -> None:
    """Standardised, ``c_t`` leaves [0, 1] (and may sit at the clip); read raw, it is the probability."""
    from benchmarks.belief_diagnostic import diagnose

    standardised = diagnose("dynamite", "dlcmdp/GridWorld-v0", 0, 6144)
    raw = diagnose("raw_termination", "dlcmdp/GridWorld-v0", 0, 6144)
    assert [row["timesteps"] for row in raw] == [2048.0, 4096.0, 6144.0]  # one row per rollout (8 x 256)
    assert "drift" not in raw[0] and all("drift" in row for row in raw[1:])  # no statistics before the first
    for row in raw:
        assert 0.0 <= row["c elsewhere"] <= 1.0 and row["clipped"] == 0.0 and 0.0 <= row["at clip"] <= 1.0
        assert row["c mean"] == pytest.approx(row["c elsewhere"], abs=0.05) and 0.0 < row["head bias"] < 1.0
    assert standardised[0]["c elsewhere"] == raw[0]["c elsewhere"]  # identity before the first update
    assert any(not 0.0 <= row["c elsewhere"] <= 1.0 for row in standardised[1:])


def test_plateau_escape_is_the_first_evaluation_above_the_threshold_and_censors_the_rest() -> None:
    from benchmarks.plateau import escape_step, median_step

    curve = [[25_600, -553.0], [51_200, -520.0], [76_800, -560.0], [102_400, -400.0]]
    assert escape_step(curve, -527.4) == 51_200  # the first point above, even if it falls back after
    assert escape_step(curve, -300.0) is None  # never above: censored
    assert median_step([400_000, None, 300_000]) == 400_000
    assert median_step([None, 300_000, None]) is None  # most runs still on the plateau
    assert median_step([100, 200, 300, None]) == 300  # the upper median of four


def test_iqm_interval_is_the_same_each_time_the_report_is_regenerated() -> None:
    from benchmarks.report import iqm_with_ci

    values = np.array([-161.5, -210.6, -134.2, -90.0, -300.0, -150.0, -120.0])
    first, again = iqm_with_ci(values), iqm_with_ci(values)
    assert first == again  # a fixed bootstrap seed: regenerating the report does not churn the table
    point, low, high = first
    assert low <= point <= high and point == pytest.approx(np.mean(np.sort(values)[1:6]))  # trims one run per end


def test_prefix_compares_only_the_steps_both_runs_evaluated_and_only_runs_present_in_both() -> None:
    from benchmarks.prefix import prefix_table, shared_prefix

    short = [[100, -550.0], [200, -300.0]]
    long = [[100, -550.0], [200, -300.5], [300, -120.0], [400, -90.0]]
    assert shared_prefix(short, long) == (2, 1)  # step 200 differs; 300 and 400 are the longer run's own
    assert shared_prefix(short, [*short, [300, -1.0]]) == (2, 2)

    def record(seed: int, curve: list[list[float]], machine: str = "AMD EPYC, 2 cores", returns: tuple = (1.0, 2.0),
               curve_episodes: int = 5) -> dict:
        return {"env_id": "e", "variant": "default", "method": "dynamite", "seed": seed, "curve": curve,
                "timesteps": int(curve[-1][0]), "machine": machine, "machines": [machine],
                "eval_returns": list(returns), "curve_episodes": curve_episodes}

    rows = prefix_table([record(0, short)], [record(0, long, "Intel(R) Xeon(R) Processor, 2 cores"), record(1, long)])
    # seed 1 has no shorter run; runs at other budgets end in other models: no final episodes to compare
    assert rows == ["| e | default | dynamite | 0 | 200 / 400 | 2 | 1 | 0 | 0 | "
                    "AMD EPYC / Intel(R) Xeon(R) Processor |"]
    assert prefix_table([record(0, short)], [record(1, long)]) == []
    # a rerun at the same budget evaluated on more episodes: its first ones are compared; curve points evaluated on
    # another number of episodes are not
    rerun = record(0, [[100, -551.0], [200, -300.0]], returns=(1.0, 2.5, 7.0), curve_episodes=10)
    assert prefix_table([record(0, short)], [rerun])[0].split(" | ")[4:9] == ["200 / 200", "0", "0", "2", "1"]


def test_compare_pairs_seeds_per_env_and_variant_and_names_their_machines() -> None:
    import argparse

    from benchmarks.compare import first_episodes, pair_rows, parse_pair

    def record(method: str, seed: int, value: float, variant: str = "p=0.1", machine: str = "A, 2 cores") -> dict:
        return {"env_id": "e", "variant": variant, "method": method, "seed": seed, "eval_return": value,
                "eval_returns": [value - 1.0, value + 1.0], "machine": machine, "machines": [machine]}

    records = [record("new", 0, 5.0), record("new", 1, 3.0), record("new", 2, 9.0, machine="B, 16 cores"),
               record("old", 0, 1.0), record("old", 1, 3.0), record("old", 3, 2.0),
               record("new", 0, 1.0, "p=0.5"), record("old", 0, 1.0, "p=0.5"), record("old", 1, 1.0, "p=0.5")]
    rows = pair_rows(records, "new", "old")
    assert len(rows) == 1  # p=0.5 has one seed of "new": no row
    cells = rows[0].split(" | ")
    assert cells[1:4] == ["p=0.1", "new - old", "3, 3"]
    assert cells[4].startswith(f"{17 / 3 - 2:+.1f} [")  # means over all seeds of each, paired or not
    assert cells[5] == f"{8.5 / 9:.2f}"  # pairs of runs where "new" is higher, ties as one half
    assert cells[6] == "1 / 1 / 0"  # seed 0 higher, seed 1 level; seeds 2 and 3 ran for one method only
    assert cells[8] == "2" and cells[9].startswith(f"{17 / 3 - 2:+.1f} [")  # the same difference, over episodes too
    assert cells[11] == "A, 2 cores / A, 2 cores (2) |"
    assert first_episodes(records[0], 1)["eval_return"] == 4.0
    with pytest.raises(SystemExit, match="fewer than --episodes 3"):
        first_episodes(records[0], 3)
    assert pair_rows(records, "new", "missing") == []
    assert parse_pair("a:b") == ("a", "b")
    with pytest.raises(argparse.ArgumentTypeError, match="METHOD:BASELINE"):
        parse_pair("a")


def test_adopt_copies_runs_only_between_methods_that_build_the_same_learner(tmp_path: Path) -> None:
    """drift_norm is DynaMITE-RL's HalfCheetah default (belief_norm_drift in the zoo entry), not GridWorld's."""
    from benchmarks import adopt

    assert adopt.same_learner("drift_norm", "dynamite", "dlcmdp/HalfCheetahVel-v0")
    assert adopt.same_learner("drift_norm_no_termination", "no_termination", "dlcmdp/HalfCheetahWindVel-v0")
    assert not adopt.same_learner("drift_norm", "dynamite", "dlcmdp/GridWorld-v0")
    assert not adopt.same_learner("drift_norm", "varibad_drift_norm", "dlcmdp/HalfCheetahVel-v0")
    source = tmp_path / "source"
    for seed in (0, 3):
        path = run.run_path(source, "dlcmdp/HalfCheetahVel-v0", "default", "drift_norm", seed)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"method": "drift_norm", "seed": seed, "eval_return": -1.0 - seed,
                                    "label": f"dlcmdp/HalfCheetahVel-v0 [default] drift_norm seed {seed}",
                                    "command": "python -m benchmarks.run --methods drift_norm", "machine": "m",
                                    "commit": "c", "versions": {"torch": "2"}}))
    written = adopt.adopt(source, tmp_path / "target", "dlcmdp/HalfCheetahVel-v0", "drift_norm", "dynamite")
    records = [json.loads(path.read_text()) for path in written]
    assert [(r["method"], r["seed"], r["eval_return"]) for r in records] == [("dynamite", 0, -1.0),
                                                                             ("dynamite", 3, -4.0)]
    assert records[1]["adopted_from"]["method"] == "drift_norm" and records[1]["label"].endswith("dynamite seed 3")
    from benchmarks.report import provenance

    assert "dynamite <- drift_norm" in provenance(records)  # every table names the adopted runs
    with pytest.raises(SystemExit, match="exists"):  # never overwrites a run silently
        adopt.adopt(source, tmp_path / "target", "dlcmdp/HalfCheetahVel-v0", "drift_norm", "dynamite")
    sweep = adopt.adopt(source, tmp_path / "target", "dlcmdp/HalfCheetahVel-v0", "drift_norm", "dynamite",
                        variant="p=0.01", seeds=[3])  # the default env's switch probability: a p-sweep point
    record = json.loads(sweep[0].read_text())
    assert len(sweep) == 1 and record["seed"] == 3
    assert (record["variant"], record["env_kwargs"]) == ("p=0.01", {"switch_prob": 0.01})
    assert record["label"] == "dlcmdp/HalfCheetahVel-v0 [p=0.01] dynamite seed 3"
    with pytest.raises(SystemExit, match="not the default env"):
        adopt.adopt(source, tmp_path / "target", "dlcmdp/HalfCheetahVel-v0", "drift_norm", "dynamite", variant="p=0.05")
    with pytest.raises(SystemExit, match="different learners"):
        adopt.adopt(source, tmp_path / "target", "dlcmdp/GridWorld-v0", "drift_norm", "dynamite")


def test_adopt_compares_schedules_by_value_and_keeps_a_variant(tmp_path: Path) -> None:
    """GridWorld's learning rate is a schedule (lin_1e-3): two methods built from it are the same learner."""
    from benchmarks import adopt

    env_id = "dlcmdp/GridWorld-v0"
    assert adopt.same_learner("dynamite", "dynamite", env_id)
    assert not adopt.same_learner("dynamite", "paper_input", env_id)  # the policy input differs
    kwargs = methods.learner_kwargs(methods.METHODS["dynamite"], env_id)[1]
    assert adopt.comparable(kwargs)["learning_rate"] == (1e-3, 5e-4, 0.0)
    path = run.run_path(tmp_path / "source", env_id, "observe_goals=False", "dynamite", 1)
    path.parent.mkdir(parents=True)
    recorded_kwargs = {"observe_goals": False}
    path.write_text(json.dumps({"method": "dynamite", "seed": 1, "eval_return": 2.0, "env_kwargs": recorded_kwargs,
                                "variant": "observe_goals=False", "settings": {"env_kwargs": recorded_kwargs}}))
    with pytest.raises(SystemExit, match="only be adopted under that variant"):
        adopt.adopt(tmp_path / "source", tmp_path / "target", env_id, "dynamite", "dynamite",
                    source_variant="observe_goals=False")
    written = adopt.adopt(tmp_path / "source", tmp_path / "target", env_id, "dynamite", "dynamite",
                          variant="observe_goals=False", source_variant="observe_goals=False")
    record = json.loads(written[0].read_text())
    assert written[0].parent.parent.name == "observe_goals=False" and record["env_kwargs"] == recorded_kwargs
    assert record["adopted_from"]["variant"] == "observe_goals=False"


def test_default_budgets_are_the_benchmark_budgets_else_the_zoo_files() -> None:
    dynamite, random = methods.METHODS["dynamite"], methods.METHODS["random"]
    assert methods.requested_budget(dynamite, "dlcmdp/HalfCheetahVel-v0", None, 1.0) == 1_000_000
    assert methods.requested_budget(dynamite, "dlcmdp/HalfCheetahVel-v0", None, 0.5) == 500_000
    assert methods.requested_budget(dynamite, "dlcmdp/HalfCheetahVel-v0", 4096, 0.5) == 4096  # --budget wins
    zoo = float(methods.zoo_hyperparams("dynamite", "dlcmdp/GridWorld-v0")["n_timesteps"])
    assert methods.requested_budget(dynamite, "dlcmdp/GridWorld-v0", None, 1.0) == zoo == 500_000
    assert methods.requested_budget(random, "dlcmdp/HalfCheetahVel-v0", None, 1.0) == 0


def test_a_run_stopped_at_the_time_limit_resumes_from_its_checkpoint(tmp_path: Path) -> None:
    from benchmarks.checkpoint import checkpoint_files, load_checkpoint
    from benchmarks.common import result_files

    argv = ["--envs", "dlcmdp/GridWorld-v0", "--methods", "dynamite", "--seeds", "0", "--budget", "6144",
            "--eval-every", "2048", "--curve-episodes", "2", "--jobs", "1", "--out", str(tmp_path)]
    result = run.run_path(tmp_path, "dlcmdp/GridWorld-v0", "default", "dynamite", 0)
    run.main([*argv, "--time-limit", "0"])  # past the deadline from the start: one iteration (8 x 256 steps), saved
    files = checkpoint_files(result)
    assert not result.exists() and all(files[part].exists() for part in ("model", "episodes", "state"))
    assert result_files(tmp_path) == []  # the report, adopt and plateau read results, never checkpoints
    saved = json.loads(files["state"].read_text())
    assert saved["timesteps"] == 2048 and [t for t, _ in saved["curve"]] == [2048] and saved["next_eval"] == 4096

    fresh, _, settings = methods.build_learner(methods.METHODS["dynamite"], "dlcmdp/GridWorld-v0", 0, {})
    restored, state = load_checkpoint(fresh, result, {"budget": 6144, "settings": settings}, seed=0)
    assert restored.num_timesteps == 2048 and len(restored.episode_store) > 0 and state["curve"] == saved["curve"]
    trained = restored.policy.state_dict()
    assert any(not th.equal(value, trained[key]) for key, value in fresh.policy.state_dict().items())
    run.main([*argv, "--time-limit", "0"])  # resumed, one more iteration, saved again
    again = json.loads(files["state"].read_text())
    assert again["timesteps"] == 4096 and again["resumed_at"] == [2048] and again["curve"][0] == saved["curve"][0]
    assert load_checkpoint(fresh, result, {"budget": 8192, "settings": settings}, seed=0) is None  # another budget:
    assert not files["state"].exists()  # the checkpoint is dropped and the run starts over

    run.main([*argv, "--time-limit", "0"])  # stopped again at 2048, then run through to the end
    older = json.loads(files["state"].read_text())
    assert older["policies"] == ["DynaMITEPolicy"]
    del older["policies"]  # as a checkpoint saved before run records named the policy class
    files["state"].write_text(json.dumps(older))
    run.main(argv)
    record = json.loads(result.read_text())
    assert record["timesteps"] == 6144 and record["resumed_at"] == [2048] and len(record["machines"]) == 2
    assert record["policies"] == [None, "DynaMITEPolicy"]  # one entry per call, None where it was not recorded
    assert [t for t, _ in record["curve"]] == [2048, 4096, 6144] and record["curve"][0] == saved["curve"][0]
    assert not any(path.exists() for path in files.values())  # done: the checkpoint is removed
    assert result_files(tmp_path) == [result]


def test_checkpoint_restores_the_reward_normaliser(tmp_path: Path) -> None:
    from stable_baselines3.common.vec_env import VecNormalize

    from benchmarks.checkpoint import load_checkpoint, save_checkpoint

    oracle, env_id = methods.METHODS["oracle"], "dlcmdp/HalfCheetahVel-v0"
    model, _, settings = methods.build_learner(oracle, env_id, 0, {})
    model.learn(1)  # one rollout: 8 envs x 400 steps
    state = {"budget": 6400, "settings": settings}
    save_checkpoint(model, tmp_path / "seed0.json", state)
    fresh, _, _ = methods.build_learner(oracle, env_id, 0, {})
    restored, _ = load_checkpoint(fresh, tmp_path / "seed0.json", state, seed=0)
    saved_norm, restored_norm = model.get_vec_normalize_env(), restored.get_vec_normalize_env()
    assert isinstance(restored_norm, VecNormalize) and restored_norm.ret_rms.count == saved_norm.ret_rms.count > 500
    assert restored_norm.ret_rms.var == pytest.approx(saved_norm.ret_rms.var)
    for key, value in model.policy.state_dict().items():
        assert th.equal(value, restored.policy.state_dict()[key]), key
    restored.learn(3200, reset_num_timesteps=False)  # trains on, its schedules running to the whole budget
    assert restored.num_timesteps == restored._total_timesteps == 6400


def test_a_learner_with_normalised_observations_is_evaluated_with_its_frozen_statistics() -> None:
    """A zoo-key override (``normalize``) builds the env, not the constructor; evaluation then sees the paired
    episodes through the training statistics, which it does not update, with raw rewards."""
    from benchmarks import adopt

    method, env_id = methods.METHODS["oracle_norm_obs"], "dlcmdp/HalfCheetahVel-v0"
    assert adopt.same_learner("oracle", "oracle_norm_obs", env_id)  # the HalfCheetahs' zoo default ...
    assert not adopt.same_learner("oracle", "oracle_norm_obs", "dlcmdp/GridWorld-v0")  # ... not GridWorld's
    model, _, settings = methods.build_learner(method, env_id, 0, {})
    assert settings["normalize"] == methods.NORM_OBS
    model.learn(1)
    training = model.get_vec_normalize_env()
    assert training.norm_obs and training.norm_reward and training.obs_rms.count > 3000
    raw = methods.evaluation_env(env_id, method.observes)
    seen = methods.with_training_observation_stats(methods.evaluation_env(env_id, method.observes), model)
    assert not seen.training and not seen.norm_reward and seen.obs_rms is not training.obs_rms
    expected = np.clip((raw.reset() - training.obs_rms.mean) / np.sqrt(training.obs_rms.var + training.epsilon),
                       -training.clip_obs, training.clip_obs)
    np.testing.assert_allclose(seen.reset(), expected, rtol=1e-5)
    count = seen.obs_rms.count
    actions = np.zeros((methods.EVAL_ENVS, *raw.action_space.shape), dtype=np.float32)
    (_, raw_reward, _, _), (_, seen_reward, _, _) = raw.step(actions), seen.step(actions)
    np.testing.assert_allclose(seen_reward, raw_reward)  # the returns are the env's
    assert seen.obs_rms.count == count  # frozen
    rewards_only = PPO("MlpPolicy", VecNormalize(methods.evaluation_env(env_id, method.observes), norm_obs=False))
    assert methods.with_training_observation_stats(raw, rewards_only) is raw
    rewards_only.get_env().close()
    raw.close()
    seen.close()


def test_a_run_claimed_by_a_live_process_is_refused_and_a_dead_ones_claim_taken_over(tmp_path: Path) -> None:
    """Two runners on one folder must not train one run into the same checkpoint files (pool workers keep
    training when only their runner is killed); a lock left by a process that died does not block the run."""
    argv = ["--envs", "dlcmdp/GridWorld-v0", "--methods", "random", "--seeds", "0", "--jobs", "1",
            "--out", str(tmp_path)]
    result = run.run_path(tmp_path, "dlcmdp/GridWorld-v0", "default", "random", 0)
    lock = result.with_suffix(".lock")
    lock.parent.mkdir(parents=True)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        lock.write_text(str(sleeper.pid))
        with pytest.raises(SystemExit, match="1 skipped as another process trains them"):
            run.main(argv)
        assert not result.exists() and lock.read_text() == str(sleeper.pid)  # the live claim is left alone
    finally:
        sleeper.kill()
        sleeper.wait()
    run.main(argv)  # its process is gone: the run is taken over, done, and its lock removed
    assert len(json.loads(result.read_text())["eval_returns"]) == 25
    assert not lock.exists()


def test_sigterm_to_the_runner_stops_its_workers(tmp_path: Path) -> None:
    """``kill <runner>`` (or ``pkill -f benchmarks.run``, which matches the runner only) must not leave its pool
    workers training on, orphaned."""
    import os
    import signal
    import time

    result = run.run_path(tmp_path, "dlcmdp/GridWorld-v0", "default", "dynamite", 0)
    runner = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.run", "--envs", "dlcmdp/GridWorld-v0", "--methods", "dynamite", "--seeds",
         "0", "--budget", "1000000", "--jobs", "1", "--out", str(tmp_path)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lock = result.with_suffix(".lock")
    for _ in range(600):
        if lock.exists() and lock.read_text():
            break
        time.sleep(0.1)
    worker = int(lock.read_text())
    assert worker != runner.pid
    runner.send_signal(signal.SIGTERM)
    _, stderr = runner.communicate(timeout=60)
    assert runner.returncode != 0 and "run the same command again to resume" in stderr
    for _ in range(100):
        try:
            os.kill(worker, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        os.kill(worker, signal.SIGKILL)
        pytest.fail(f"worker {worker} still ran after its runner was stopped")


def test_goal_memory_scores_only_remembered_goals_and_a_perfect_memory_reads_out() -> None:
    from benchmarks import goal_memory

    # cells over 6 steps; goals at cells 7 and 12; the agent stands on 7 at step 2 and never on 12
    episode = {"cell": np.array([0, 1, 7, 8, 9, 7]), "goals": np.array([7, 12])}
    scores = np.zeros((6, 25))
    scores[:, 7] = [0, 0, 0, 1, 0, 1]  # cell 7 ranks in the top 2 at step 3 only (steps 4 and 5: ties with 0)
    scores[:, 3] = 0.5
    scores[:, 4] = [0, 0, 0, 0.2, 0.6, 0.6]
    # remembered cases: steps 3 and 4 (after the first visit at step 2, away from cell 7); step 5 stands on it
    assert goal_memory.remembered_goal_score(scores, episode) == (1, 2)
    # a memory that holds the goal cells reads out perfectly with the linear probe
    g = np.random.default_rng(0)
    episodes = []
    for _ in range(200):
        goals = g.choice(np.arange(1, 25), size=2, replace=False)
        cells = g.choice(np.setdiff1d(np.arange(25), goals), size=30)
        cells[3] = goals[0]  # the only visit to a goal cell
        known = np.zeros((30, 25), dtype=np.float32)
        known[4:, goals[0]] = 1.0
        readouts = (*goal_memory.FEATURES, *goal_memory.READOUTS)
        episodes.append({"cell": cells, "goals": goals, **{name: known for name in readouts}})
    scores = goal_memory.probe_scores(episodes, n_cells=25)
    assert all(scores[name] > 0.95 for name in readouts) and scores["cases"] > 2000


def test_search_behaviour_reads_goal_visits_and_recoveries_from_rewards_and_the_paying_goal() -> None:
    from benchmarks.search_behaviour import behaviour, episode_behaviour, table_cells

    # goal 0 pays for steps 0-5, goal 1 from step 6: the agent finds goal 0 at step 2 (+1 twice), sits on it after the
    # switch (0 at steps 6-7: the other goal now), walks (-0.1) and stands on goal 1 at step 10, 4 steps after it
    reward = np.array([-0.1, -0.1, 1, 1, -0.1, -0.1, 0, 0, -0.1, -0.1, 1, 1])
    paying = np.array([0] * 6 + [1] * 6)
    one = episode_behaviour(reward, paying)
    assert one["first goal at"] == 2 and one["both goals found"] and one["recoveries"] == [(4, True)]
    assert one["on paying goal"] == pytest.approx(4 / 12) and one["on other goal"] == pytest.approx(2 / 12)
    # never on a goal, and a switch back at step 3 that is never followed: censored at the episode's end
    lost = episode_behaviour(np.full(5, -0.1), np.array([1, 1, 1, 0, 0]))
    assert lost["first goal at"] == 5 and not lost["both goals found"] and lost["recoveries"] == [(2, False)]
    summary = behaviour([{"reward": reward, "paying": paying}, {"reward": np.full(5, -0.1),
                                                                "paying": np.array([1, 1, 1, 0, 0])}])
    assert summary["both goals found"] == 0.5 and summary["switches recovered"] == 0.5
    assert summary["recovery steps (median)"] == 3.0 and summary["first goal at (median)"] == 3.5
    assert table_cells(summary) == ["0.17", "0.08", "4", "0.50", "3", "0.50"]  # steps whole (3.5 to even), shares


def test_reacher_search_reads_sweep_direction_and_recovery_per_goal_move() -> None:
    from benchmarks.reacher_search import episode_search, search_behaviour

    n = 8
    # goal 0 for steps 0-9, one point forward (1) for 10-19, back to 0 for 20-29 (across the wrap: 7 -> 0 is forward)
    goal = np.array([0] * 10 + [1] * 10 + [0] * 10)
    # the fingertip sweeps forward 0.2 rad a step from -0.4, holds at each goal, then sweeps back
    angle = np.concatenate([np.linspace(-0.4, 0.0, 3), np.zeros(7), np.linspace(0.2, 0.8, 4), np.full(6, 0.8),
                            np.linspace(0.6, 0.0, 4), np.zeros(6)])
    paid = np.array([False] * 2 + [True] * 8 + [False] * 3 + [True] * 7 + [False] * 3 + [True] * 7)
    episode = episode_search(angle, paid, goal, n)
    assert episode["moves"] == {"forward": [(3, True)], "backward": [(3, True)]}
    assert episode["at goal"] == pytest.approx(22 / 30)
    # unpaid steps that moved: step 1 (step 0 has no previous angle), 3 forward after the first move, 3 backward
    assert (episode["forward steps"], episode["searching steps"]) == (4, 7)
    wrap = episode_search(np.array([3.0, -3.1]), np.zeros(2, dtype=bool), np.zeros(2, dtype=int), n)
    assert (wrap["forward steps"], wrap["searching steps"]) == (1, 1)  # across pi: a small forward turn, not -6.1
    stuck = episode_search(np.zeros(5), np.zeros(5, dtype=bool), np.array([7, 7, 0, 0, 0]), n)
    assert stuck["moves"] == {"forward": [(3, False)], "backward": []}  # 7 -> 0 is forward; never paid: censored
    row = search_behaviour([episode, stuck])
    assert row["recovered (forward)"] == 0.5 and row["recovery after a forward move (median steps)"] == 3.0
    assert row["forward while searching"] == pytest.approx(4 / 7)


def test_goal_memory_decoder_readouts_query_every_cell_by_staying_and_by_each_move_onto_it() -> None:
    """A stand-in decoder that returns cell index + 100 x action index + belief shows what each readout asks."""
    from types import SimpleNamespace

    from benchmarks import goal_memory

    def decoder(state, action, next_state, z):  # (T, 2), (T, 5) one-hot, (T, 2), (T, L)
        assert th.equal(next_state - state, th.as_tensor(goal_memory.MOVES, dtype=th.float32)[action.argmax(-1)])
        return next_state[:, 0] + 5 * next_state[:, 1] + 100 * action.argmax(-1) + z[:, 0]

    model = SimpleNamespace(policy=SimpleNamespace(device=th.device("cpu"), reward_decoder=decoder))
    readouts = goal_memory.decoder_readouts(model, np.array([[0.0], [0.5]]), size=5)
    assert readouts["decoder, staying"].shape == (2, 25)
    np.testing.assert_allclose(readouts["decoder, staying"][1], np.arange(25) + 0.5)
    # cell 0 = (0, 0) is entered from (0, 1) moving down (3) and from (1, 0) moving left (4); the centre by all four
    assert readouts["decoder, arriving"][0, 0] == pytest.approx(0 + 100 * 3.5)
    assert readouts["decoder, arriving"][0, 12] == pytest.approx(12 + 100 * 2.5)


def test_observation_drift_is_the_rms_shift_of_todays_typical_observations() -> None:
    from benchmarks.obs_drift import drift_table, shift

    rng = np.random.default_rng(0)
    then, now = (np.array([0.0, 1.0]), np.array([1.0, 2.0])), (np.array([0.5, 1.0]), np.array([2.0, 2.0]))
    x = now[0] + rng.standard_normal((200_000, 2)) * now[1]  # today's typical observations
    monte_carlo = np.sqrt((((x - then[0]) / then[1] - (x - now[0]) / now[1]) ** 2).mean(axis=0))
    np.testing.assert_allclose(shift(then, now), monte_carlo, rtol=0.01)
    assert shift(now, now).tolist() == [0.0, 0.0]  # unchanged statistics: no mismatch
    history = [(step, np.full(2, step / 1e5), np.ones(2)) for step in range(0, 300_001, 50_000)]
    rows = drift_table(history, at=[100_000, 300_000], ages=[100_000, 200_000])
    assert rows[2] == "| 100,000 | 1.00 (1.00) | - |"  # mean moved 1 std per 100k steps; nothing 200k old yet
    assert rows[3] == "| 300,000 | 1.00 (1.00) | 2.00 (2.00) |"


def test_records_name_a_commit_with_modified_code_as_such(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from benchmarks.common import git_commit

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=tmp_path, capture_output=True, text=True, check=True).stdout.strip()

    (tmp_path / "sb3_dynamite").mkdir()
    (tmp_path / "sb3_dynamite" / "x.py").write_text("a = 1\n")
    (tmp_path / "README.md").write_text("text\n")
    git("init", "-q")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "one")
    monkeypatch.chdir(tmp_path)
    head = git("rev-parse", "--short", "HEAD")
    (tmp_path / "README.md").write_text("other text\n")  # not code: the commit alone
    (tmp_path / "new.py").write_text("b = 2\n")  # untracked: ignored
    assert git_commit() == head
    (tmp_path / "sb3_dynamite" / "x.py").write_text("a = 2\n")
    assert git_commit() == f"{head}+modified"
