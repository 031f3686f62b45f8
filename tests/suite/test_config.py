"""Suite YAML loading, validation errors (naming the line / the name), list and --dry-run."""
import json
import textwrap

import pytest

from memory_agents.suite import catalog
from memory_agents.suite.cli import main
from memory_agents.suite.config import SuiteError, build_suite, load_suite

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
    assert {(r.difficulty, r.core) for r in suite.runs} == {("easy", "gru"), ("easy", "lstm"),
                                                           ("medium", "gru"), ("medium", "lstm")}
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


@pytest.mark.parametrize("text, needle", [
    ("tasks: [DelayedCue]\ncores: [gru, grux]\n", "unknown core 'grux'"),
    ("tasks: [DelayedCue]\ncores: [gru]\ndifficulties: [easy, nightmare]\n", "unknown difficulty 'nightmare'"),
    ("tasks: [DelayedCue]\ncores: [gru]\ntrain: {stepz: 5}\n", "unknown train setting 'stepz'"),
    ("tasks: [DelayedCue]\ncores: [gru]\ntrain: {steps: 0}\n", "steps must be an integer >= 1, got 0"),
    ("tasks: [DelayedCue]\ncores: [gru]\nalgo: sarsa\n", "algo must be one of"),
    ("tasks: [DelayedCue]\ncores: [gru]\nepochs: 3\n", "unknown key 'epochs'"),
    ("cores: [gru]\n", "missing required key 'tasks'"),
    ("- just a list\n", "must be a YAML mapping"),
])
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
    text = "tasks: [DelayedCue, NeuroGym-PerceptualDecisionMaking]\ndifficulties: [easy, medium]\ncores: [gru]\n"
    runs = build_suite(text, "x.yaml").runs
    assert sorted((r.task, r.difficulty) for r in runs) == [
        ("DelayedCue", "easy"), ("DelayedCue", "medium"), ("NeuroGym-PerceptualDecisionMaking", "default")]
    with pytest.raises(ValueError, match="has no difficulty presets"):
        catalog.task_difficulty("NeuroGym-PerceptualDecisionMaking", "hard")
    assert catalog.target_success("NeuroGym-PerceptualDecisionMaking", "default") is None
    assert catalog.target_success("DelayedCue", "easy") == pytest.approx(0.95)


def test_task_variants_need_distinct_labels_and_show_in_ids():
    twice = "tasks:\n  - {task: DelayedCue, env_kwargs: {delay: 5}}\n  - {task: DelayedCue, env_kwargs: {delay: 9}}\ncores: [gru]\n"
    with pytest.raises(SuiteError, match=r"line 3: 'DelayedCue' appears twice in tasks; give each entry a distinct label"):
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
    assert "unknown difficulty 'insane'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "--task", "DelayedCue", "--algo-kwargs", "[1]"])
    assert "--algo-kwargs: must be a JSON object" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["run", "--suite", "tiny_sanity", "--seeds", "a,b"])
    assert "--seeds: must be comma-separated integers" in capsys.readouterr().err


def test_shipped_suites_cover_what_they_promise():
    import memory_gym_envs

    full = load_suite("full_medium").runs
    native = {catalog._short_name(t) for t in memory_gym_envs.list_tasks()}
    assert {r.task for r in full} == native, "full_medium must list every native task"
    from memory_agents.cores import CORE_NAMES  # built-in cores (other tests register extra ones)

    assert {r.core for r in full} == set(CORE_NAMES), "full_medium must list every built-in core"
    assert {r.difficulty for r in full} == {"medium"}
    basic = load_suite("basic_v1").runs
    assert {r.task for r in basic} == {"DelayedCue", "CopyMemory", "AssociativeRecall"}
    assert {r.core for r in basic} == {"gru", "mamba2", "pseudo_memory"}
    delays = {(r.task, r.env_kwargs["delay"]) for r in basic}
    assert all(len({d for t, d in delays if t == task}) == 2 for task, _ in delays)  # two horizons per task
