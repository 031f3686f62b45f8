"""Suite YAML loading, validation errors (naming the line / the name), list and --dry-run."""

import json
import textwrap

import pytest
from memory_agents.suite import catalog
from memory_agents.suite.cli import main
from memory_agents.suite.config import SuiteError, build_suite, load_suite
from memory_gym_envs.ids import short_name

GOOD = textwrap.dedent("""\
    name: two_by_two
    tasks: [DelayedCue]
    difficulties: [easy, medium]
    cores: [gru, lstm]
    seeds: [0]
    train: {steps: 64, num_envs: 2, eval_episodes: 2}
    ppo: {n_steps: 8}
""")


def test_suite_expands_cross_product_with_stable_ids():
    suite = build_suite(GOOD, "x.yaml")
    assert len(suite.runs) == 4
    assert {(r.difficulty, r.core) for r in suite.runs} == {
        ("easy", "gru"),
        ("easy", "lstm"),
        ("medium", "gru"),
        ("medium", "lstm"),
    }
    ids = [r.run_id for r in suite.runs]
    assert len(set(ids)) == 4
    assert ids == [r.run_id for r in build_suite(GOOD, "x.yaml").runs]  # deterministic
    assert all(r.steps == 64 and r.num_envs == 2 and r.algo_kwargs == {"n_steps": 8} for r in suite.runs)
    # settings that change results change the id; the device does not
    other = build_suite(GOOD.replace("steps: 64", "steps: 128"), "x.yaml")
    assert not set(ids) & {r.run_id for r in other.runs}
    moved = build_suite(GOOD, "x.yaml", {"device": "cuda"})
    assert [r.run_id for r in moved.runs] == ids and moved.runs[0].device == "cuda"


def test_task_given_by_full_id_and_seed_count():
    suite = build_suite("tasks: [MemoryGym/DelayedCue-v0]\ncores: [gru]\nseeds: 3\n", "x.yaml")
    assert [r.seed for r in suite.runs] == [0, 1, 2]
    assert suite.runs[0].task == "DelayedCue" and suite.runs[0].env_id == "MemoryGym/DelayedCue-v0"


def test_broken_yaml_names_the_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: b\ntasks: [DelayedCue\ncores: [gru]\n")
    with pytest.raises(SuiteError, match=r"broken\.yaml: invalid YAML at line 3"):
        load_suite(str(path))


def test_unknown_task_names_it_the_line_and_the_valid_ones():
    text = "tasks:\n  - DelayedCue\n  - DelayedQueue\ncores: [gru]\n"
    with pytest.raises(SuiteError) as err:
        build_suite(text, "s.yaml")
    msg = str(err.value)
    assert "s.yaml, line 3" in msg and "'DelayedQueue'" in msg and "DelayedCue" in msg


@pytest.mark.parametrize(
    "text, needle",
    [
        ("tasks: [DelayedCue]\ncores: [gru, grux]\n", r"core must be one of \[.*\], got 'grux'"),
        (
            "tasks: [DelayedCue]\ncores: [gru]\ndifficulties: [easy, nightmare]\n",
            r"difficulty must be one of \['easy', 'medium', 'hard', 'extreme'\], got 'nightmare'",
        ),
        ("tasks: [DelayedCue]\ncores: [gru]\ntrain: {stepz: 5}\n", "unknown train setting 'stepz'"),
        ("tasks: [DelayedCue]\ncores: [gru]\ntrain: {steps: 0}\n", "steps must be an integer >= 1, got 0"),
        ("tasks: [DelayedCue]\ncores: [gru]\nalgo: sarsa\n", "algo must be one of"),
        ("tasks: [DelayedCue]\ncores: [gru]\nepochs: 3\n", "unknown key 'epochs'"),
        ("cores: [gru]\n", "missing required key 'tasks'"),
        ("- just a list\n", "must be a YAML mapping"),
    ],
)
def test_invalid_suites_say_what_is_wrong(text, needle):
    with pytest.raises(SuiteError, match=needle):
        build_suite(text, "s.yaml")


def test_unknown_suite_name_lists_shipped_ones():
    with pytest.raises(SuiteError, match="unknown suite 'nope'.*tiny_sanity"):
        load_suite("nope")


def test_shipped_suites_are_listed_and_tiny_sanity_loads():
    assert {"tiny_sanity", "basic_v1", "full_medium"} <= set(catalog.suite_names())
    suite = load_suite("tiny_sanity")
    assert len(suite.runs) == 1 and suite.runs[0].core == "gru" and suite.runs[0].steps <= 5000


def test_cli_list(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "DelayedCue" in out and "gru" in out and "tiny_sanity" in out and "medium" in out


def test_cli_unknown_task_in_suite_file_exits_2_naming_it(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text("tasks: [NoSuchTask]\ncores: [gru]\n")
    assert main(["run", "--suite", str(path), "--dry-run", "--out", str(tmp_path / "r.json")]) == 2
    err = capsys.readouterr().err
    assert "NoSuchTask" in err and "line 1" in err


def test_dry_run_lists_runs_and_trains_nothing(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text(GOOD)
    out = tmp_path / "r.json"
    assert main(["run", "--suite", str(path), "--dry-run", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    suite = build_suite(GOOD, str(path))
    assert "4 runs, 0 finished" in text
    for r in suite.runs:
        assert f"[todo] {r.run_id}" in text
    assert not out.exists() and not (tmp_path / "r_runs").exists()


def test_tasks_without_presets_run_once_as_default():
    text = (
        "tasks: [DelayedCue, NeuroGym-PerceptualDecisionMaking]\ndifficulties: [easy, medium]\ncores: [gru]\n"
    )
    runs = build_suite(text, "x.yaml").runs
    assert sorted((r.task, r.difficulty) for r in runs) == [
        ("DelayedCue", "easy"),
        ("DelayedCue", "medium"),
        ("NeuroGym-PerceptualDecisionMaking", "default"),
    ]
    with pytest.raises(ValueError, match="has no difficulty presets"):
        catalog.task_difficulty("NeuroGym-PerceptualDecisionMaking", "hard")
    assert catalog.target_success("NeuroGym-PerceptualDecisionMaking", "default") is None
    assert catalog.target_success("DelayedCue", "easy") == pytest.approx(0.95)


def test_task_variants_need_distinct_labels_and_show_in_ids():
    twice = "tasks:\n  - {task: DelayedCue, env_kwargs: {delay: 5}}\n  - {task: DelayedCue, env_kwargs: {delay: 9}}\ncores: [gru]\n"
    with pytest.raises(
        SuiteError, match=r"line 3: 'DelayedCue' appears twice in tasks; give each entry a distinct label"
    ):
        build_suite(twice, "s.yaml")
    labelled = twice.replace("{task: DelayedCue, env", "{task: DelayedCue, label: DC-short, env", 1)
    runs = build_suite(labelled, "s.yaml").runs
    assert sorted(r.name for r in runs) == ["DC-short", "DelayedCue"]
    assert any(r.run_id.startswith("DC-short-easy-gru-s0-") and r.env_kwargs == {"delay": 5} for r in runs)
    with pytest.raises(SuiteError, match="label must be a name"):
        build_suite("tasks: [{task: DelayedCue, label: 'a b'}]\ncores: [gru]\n", "s.yaml")


def test_cli_flag_errors_name_the_flag_and_value(capsys):
    assert main(["train", "--task", "DelayedCue", "--steps", "0"]) == 2
    assert "steps must be an integer >= 1, got 0" in capsys.readouterr().err
    assert main(["train", "--task", "DelayedCue", "--difficulty", "insane"]) == 2
    assert (
        "difficulty must be one of ['easy', 'medium', 'hard', 'extreme'], got 'insane'"
        in capsys.readouterr().err
    )
    with pytest.raises(SystemExit):
        main(["train", "--task", "DelayedCue", "--algo-kwargs", "[1]"])
    assert "--algo-kwargs: must be a JSON object" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["run", "--suite", "tiny_sanity", "--seeds", "a,b"])
    assert "--seeds: must be comma-separated integers" in capsys.readouterr().err


def test_shipped_suites_cover_what_they_promise():
    import memory_gym_envs

    full = load_suite("full_medium").runs
    native = {short_name(t) for t in memory_gym_envs.list_tasks()}
    assert {r.task for r in full} == native, "full_medium must list every native task"
    from memory_agents.cores import CORE_NAMES  # built-in cores (other tests register extra ones)

    assert {r.core for r in full} == set(CORE_NAMES), "full_medium must list every built-in core"
    assert {r.difficulty for r in full} == {"medium"}
    basic = load_suite("basic_v1").runs
    assert {r.task for r in basic} == {"DelayedCue", "CopyMemory", "AssociativeRecall"}
    assert {r.core for r in basic} == {"gru", "mamba2", "pseudo_memory"}
    delays = {(r.task, r.env_kwargs["delay"]) for r in basic}
    assert all(len({d for t, d in delays if t == task}) == 2 for task, _ in delays)  # two horizons per task


@pytest.mark.parametrize(
    "text, line, needle",
    [
        (
            "tasks:\n  - task: DelayedCue\n    env_kwargs: {num_cues: 2, delay: -3}\ncores: [gru]\n",
            3,
            "DelayedCue (easy) rejects env_kwargs {'num_cues': 2, 'delay': -3}: DelayedCue: parameter 'delay'",
        ),
        (
            "tasks:\n  - task: DelayedCue\n    env_kwargs:\n      num_cues: 2\n      delay: -3\ncores: [gru]\n",
            5,
            "got -3",
        ),
        (
            "tasks: [{task: CopyMemory, env_kwargs: {lenght: 3}}]\ncores: [gru]\n",
            1,
            "unknown parameter(s) ['lenght']",
        ),
        (
            "tasks: [DelayedCue]\ncores: [gru]\nppo:\n  n_steps: 8\n  learning_rate: fast\n",
            5,
            "learning_rate must be a number or a linear schedule 'lin_<start>'",
        ),
        (
            "tasks: [DelayedCue]\ncores: [gru]\nppo: {learning_rate: lin_-2e-3}\n",
            3,
            "got 'lin_-2e-3'",
        ),
        (
            "tasks: [DelayedCue]\ncores: [gru]\nppo: {learning_rate: -0.1}\n",
            3,
            "learning_rate must be > 0, got -0.1",
        ),
        (
            "tasks: [DelayedCue]\ncores: [gru]\nppo: {n_epochs: 2.5}\n",
            3,
            "n_epochs must be an integer, got 2.5",
        ),
        (
            "tasks: [DelayedCue]\ncores: [gru]\nppo: {normalize_advantage: 1}\n",
            3,
            "normalize_advantage must be true/false",
        ),
        (
            "tasks: [DelayedCue]\ncores: [gru]\nppo: {epochs: 3}\n",
            3,
            "unknown keyword 'epochs'; valid: learning_rate",
        ),
        ("tasks: [DelayedCue]\ncores: [gru]\nppo: {seed: 3}\n", 3, "'seed' is set by memory-suite itself"),
        (
            "tasks: [DelayedCue]\ncores: [mpn]\nalgo: dqn\ndqn: {buffer_size: lots}\n",
            4,
            "buffer_size must be an integer",
        ),
        (
            "tasks: [DelayedCue]\ncores: [gru]\npolicy: {hidden_dim: '64'}\n",
            3,
            "hidden_dim must be an integer, got '64'",
        ),
        (
            "tasks: [DelayedCue]\ncores:\n  - gru\n  - {core: mamba2, memory_kwargs: {d_state: 0}}\n",
            4,
            "memory_kwargs {'d_state': 0} of core 'mamba2'",
        ),
        (
            "tasks: [DelayedCue]\ncores: [{core: gru, memory_kwargs: {layers: 2}}]\n",
            2,
            "unknown keyword argument(s) ['layers']",
        ),
        ("tasks: [DelayedCue]\ncores: [mlp]\nalgo: dqn\n", 2, "core 'mlp' does not work with algo dqn"),
        (
            "tasks: [DelayedCue]\ncores: [gru]\ntrain: {steps: 1e5}\n",
            3,
            "steps must be an integer >= 1, got '1e5'",
        ),
        ("tasks: [DelayedCue]\ncores: [gru]\ntrain: {device: 0}\n", 3, "device must be a string"),
        (
            "tasks: [DelayedCue]\ncores: [gru]\nseeds: [0, 1073741824]\n",
            3,
            "a seed must be an integer in [0, 1073741823]",
        ),
        ("tasks: [DelayedCue]\ncores: [gru]\nbudget: published\n", 3, "budget must be one of preset"),
        ("tasks: [DelayedCue]\ncores: [gru]\nalgo: dqn\nbudget: preset\n", 4, "it needs algo: ppo"),
    ],
)
def test_bad_values_fail_at_load_naming_file_line_and_value(text, line, needle):
    with pytest.raises(SuiteError) as err:
        build_suite(text, "s.yaml")
    assert str(err.value).startswith(f"s.yaml, line {line}: "), str(err.value)
    assert needle in str(err.value)


def test_dry_run_catches_bad_env_kwargs(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text("tasks: [{task: DelayedCue, env_kwargs: {delay: -3}}]\ncores: [gru]\n")
    assert main(["run", "--suite", str(path), "--dry-run", "--out", str(tmp_path / "r.json")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "s.yaml, line 1" in err and "-3" in err


def test_shipped_suites_keep_their_run_ids():
    """results/basic_v1.json was produced under these ids: new RunSpec fields must not change them."""
    root = __import__("pathlib").Path(__file__).resolve().parents[2]
    ref = json.loads((root / "results" / "basic_v1.json").read_text())
    assert sorted(r["run_id"] for r in ref["runs"]) == sorted(r.run_id for r in load_suite("basic_v1").runs)
    assert load_suite("tiny_sanity").runs[0].run_id == "DelayedCue-easy-gru-s0-4651fa2d"
    assert all(r.budget is None for name in ("basic_v1", "full_medium") for r in load_suite(name).runs)


def test_budget_preset_sets_what_the_suite_leaves_open():
    from memory_agents.budgets import DEFAULT_BUDGET, preset_budget

    import memory_gym_envs

    text = (
        "tasks: [DelayedCue, {task: CopyMemory, label: CM-short, env_kwargs: {delay: 4}}, NeuroGym-GoNogo]\n"
        "difficulties: [easy, medium]\ncores: [gru]\nbudget: preset\n"
    )
    runs = {(r.name, r.difficulty): r for r in build_suite(text, "b.yaml").runs}
    for diff in ("easy", "medium"):
        run, budget = runs[("DelayedCue", diff)], preset_budget("DelayedCue", diff)
        horizon = memory_gym_envs.get_preset("DelayedCue", diff).horizon
        assert (run.steps, run.num_envs) == (budget.steps, budget.num_envs)
        assert run.algo_kwargs == budget.algo_kwargs() and "n_steps" not in run.algo_kwargs  # auto = horizon
        assert run.budget["horizon"] == horizon and run.budget["overridden"] == []
    # env_kwargs change the preset: the default budget; the horizon of the built task (2 * 5 + 4)
    short = runs[("CM-short", "easy")]
    assert short.budget["source"] == "default" and short.steps == DEFAULT_BUDGET.steps
    assert short.algo_kwargs == DEFAULT_BUDGET.algo_kwargs() and short.budget["horizon"] == 14
    # no horizon (NeuroGym): MemoryPPO keeps its own n_steps
    gonogo = runs[("NeuroGym-GoNogo", "default")]
    assert "n_steps" not in gonogo.algo_kwargs and gonogo.budget["horizon"] is None

    # explicit keys override the budget key by key, and so do the CLI's overrides
    text += "train: {steps: 5000}\nppo: {learning_rate: 0.01, n_epochs: 2}\n"
    run = next(
        r for r in build_suite(text, "b.yaml").runs if r.task == "DelayedCue" and r.difficulty == "easy"
    )
    budget = preset_budget("DelayedCue", "easy")
    assert run.steps == 5000 and run.num_envs == budget.num_envs
    assert run.algo_kwargs == {**budget.algo_kwargs(), "learning_rate": 0.01, "n_epochs": 2}
    assert (
        set(run.budget["overridden"]) == {"steps", "learning_rate"} and "n_epochs" not in budget.algo_kwargs()
    )
    run = next(r for r in build_suite(text, "b.yaml", {"num_envs": 4}).runs if r.task == "DelayedCue")
    assert run.num_envs == 4 and run.steps == 5000


def test_cli_list_columns_fit_the_longest_names(capsys):
    assert main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    tasks = lines[1 : lines.index(next(line for line in lines if line.startswith("difficulties")))]
    columns = {line.index("MemoryGym/") for line in tasks}
    assert len(columns) == 1, "every env id starts in the same column"
    assert any("NeuroGym-PerceptualDecisionMakingDelayResponse " in line for line in tasks)
    suites = lines[lines.index("suites:") + 1 :]
    assert any(" 1 run " in line and line.split()[0] == "tiny_sanity" for line in suites)
    assert len({line.index(line.split()[2]) for line in suites}) == 1, "descriptions start in one column"
