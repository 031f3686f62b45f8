"""NeuroGymEnv: trial boundaries, ground truth, seeding, observation additions, vector infos."""

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

ngym = pytest.importorskip("neurogym")

from memory_gym_envs.neurogym import (  # noqa: E402
    TASKS,
    NeuroGymEnv,
    env_id,
    ground_truth_actions,
    make,
    neurogym_task_ids,
    register_neurogym_envs,
)

register_neurogym_envs()

GT_TASKS = ("ContextDecisionMaking", "DelayMatchSample", "PerceptualDecisionMaking")

# neurogym ids that cannot run through the wrapper with default kwargs, and the error each raises.
# Kept in sync with the README's neurogym section.
EXPECTED_FAILURES = {
    "AnnubesEnv-v0": TypeError,  # required constructor args `session` and `catch_prob`
    "ReachingDelayResponse-v0": ValueError,  # Box (continuous) action space
    "SpatialSuppressMotion-v0": ValueError,  # Box (continuous) action space
    "perceptualdecisionmaking.ibl20-v0": AttributeError,  # neurogym's RandomGroundTruth wrapper needs `choices`
}


def _run(env, policy, num_steps, seed):
    """Step `env` with `policy(env, rng)`; returns per-step records (obs before the step included)."""
    rng = np.random.default_rng(seed)
    obs, _ = env.reset(seed=seed)
    records = []
    for _ in range(num_steps):
        action = policy(env, rng)
        next_obs, reward, terminated, truncated, info = env.step(action)
        records.append((obs, action, reward, terminated, truncated, info))
        obs = next_obs
        if terminated or truncated:
            break
    return records


def _random(env, rng):
    return int(rng.integers(env.action_space.n))


def _oracle(env, rng):
    return ground_truth_actions(env)


def _trial_accuracy(records):
    ends = [info for *_, info in records if info["new_trial"]]
    return sum(info["trial_correct"] for info in ends) / len(ends), len(ends)


@pytest.mark.parametrize(
    "task", ["ContextDecisionMaking", "DelayMatchSample", "PerceptualDecisionMaking", "GoNogo"]
)
def test_boundaries_match_neurogym_on_same_seed(task):
    env = make(task, trials_per_episode=None, max_steps=400)
    first_obs, _ = env.reset(seed=7)
    raw = ngym.make(f"{task}-v0").unwrapped  # neurogym's own env, driven the same way
    raw.seed(env.task_seed)
    raw.new_trial()
    np.testing.assert_array_equal(first_obs, raw.ob[0])  # the agent sees step 0 of the first trial
    rng = np.random.default_rng(0)
    ours_flags, raw_flags, ours_gt, raw_gt = [], [], [], []
    for _ in range(400):
        action = int(rng.integers(env.action_space.n))
        obs, reward, _, truncated, info = env.step(action)
        raw_obs, raw_reward, _, _, raw_info = raw.step(action)
        ours_flags.append(info["new_trial"])
        raw_flags.append(raw_info["new_trial"])
        ours_gt.append(info["gt"])
        raw_gt.append(int(raw_info["gt"]))
        np.testing.assert_array_equal(obs, raw_obs)
        assert reward == raw_reward
        if truncated:
            break
    assert ours_flags == raw_flags
    assert ours_gt == raw_gt
    assert sum(ours_flags) >= 3  # several trials were compared


@pytest.mark.parametrize("task", TASKS)
def test_ground_truth_policy_solves_every_registered_task(task):
    env = gym.make(env_id(task), trials_per_episode=15)
    records = _run(env, _oracle, 20_000, seed=1)
    *_, terminated, truncated, info = records[-1]
    assert terminated and not truncated
    assert info["trials_completed"] == 15
    assert info["trial_accuracy"] == 1.0 and info["is_success"]
    trial_index = [r[-1]["trial_index"] for r in records]
    ends = [i for i, r in enumerate(records) if r[-1]["new_trial"]]
    assert [trial_index[i] for i in ends] == list(range(15))
    assert all(np.diff(trial_index) >= 0) and trial_index[0] == 0


@pytest.mark.parametrize("task", GT_TASKS)
def test_random_policy_is_near_chance(task):
    env = gym.make(env_id(task), trials_per_episode=150)
    accuracy, trials = _trial_accuracy(_run(env, _random, 50_000, seed=2))
    assert trials == 150
    assert 0.15 < accuracy < 0.6, accuracy  # chance is 1/3 (two choices or keep fixating) to ~1/2


def test_info_gt_is_the_ground_truth_of_the_step_taken():
    env = make("DelayMatchSample", trials_per_episode=5)
    records = _run(env, _random, 2000, seed=3)
    env.reset(seed=3)
    rng = np.random.default_rng(3)
    for *_, info in records:
        predicted = env.unwrapped.oracle_action()
        _, _, _, _, step_info = env.step(int(rng.integers(env.action_space.n)))
        assert step_info["gt"] == predicted == info["gt"]


def test_same_seed_same_trials_different_seed_different():
    def trace(seed):
        env = make("PerceptualDecisionMaking", trials_per_episode=20)
        records = _run(env, _random, 5000, seed=seed)
        return np.stack([r[0] for r in records]), [r[-1]["gt"] for r in records]

    obs_a, gt_a = trace(11)
    obs_b, gt_b = trace(11)
    obs_c, gt_c = trace(12)
    np.testing.assert_array_equal(obs_a, obs_b)
    assert gt_a == gt_b
    assert obs_a.shape != obs_c.shape or not np.array_equal(obs_a, obs_c)


def test_reset_without_seed_continues_the_trial_stream():
    env = make("DelayMatchSample", trials_per_episode=3)
    first = np.stack([r[0] for r in _run(env, _oracle, 1000, seed=5)])
    second = []
    obs, _ = env.reset()
    for _ in range(len(first)):
        second.append(obs)
        obs, *_ = env.step(ground_truth_actions(env))
    assert not np.array_equal(first, np.stack(second))


def test_timing_seeded_trial_lengths_reproducible():
    # TruncExp timing objects carry their own RNG; the wrapper seeds them too.
    from neurogym.utils.ngym_random import TruncExp

    def lengths(seed):
        env = make(
            "PerceptualDecisionMaking", trials_per_episode=15, timing={"fixation": TruncExp(300, 100, 900)}
        )
        records = _run(env, _oracle, 5000, seed=seed)
        return np.diff([0] + [i + 1 for i, r in enumerate(records) if r[-1]["new_trial"]]).tolist()

    assert lengths(4) == lengths(4)
    assert lengths(4) != lengths(5)


@pytest.mark.parametrize("kwargs", [{}, {"pass_reward": True, "pass_action": True}])
@pytest.mark.parametrize("task", ["ContextDecisionMaking", "DelayMatchSample", "GoNogo"])
def test_check_env_passes(task, kwargs):
    env = gym.make(env_id(task), **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unbounded Box warnings: neurogym's obs are unbounded
        check_env(env.unwrapped, skip_render_check=True)
    assert env.observation_space.dtype == np.float32
    assert isinstance(env.action_space, gym.spaces.Discrete)


def test_pass_reward_and_pass_action_append_previous_step():
    plain = make("PerceptualDecisionMaking", trials_per_episode=5)
    env = make("PerceptualDecisionMaking", trials_per_episode=5, pass_reward=True, pass_action=True)
    n = env.action_space.n
    assert env.observation_space.shape[0] == plain.observation_space.shape[0] + 1 + n
    obs, _ = env.reset(seed=0)
    plain_obs, _ = plain.reset(seed=0)
    np.testing.assert_array_equal(obs[: -1 - n], plain_obs)
    assert obs[-1 - n] == 0.0 and not obs[-n:].any()
    rng = np.random.default_rng(0)
    for _ in range(100):
        action = int(rng.integers(n))
        obs, reward, *_ = env.step(action)
        plain_obs, *_ = plain.step(action)
        np.testing.assert_array_equal(obs[: -1 - n], plain_obs)
        assert obs[-1 - n] == np.float32(reward)
        np.testing.assert_array_equal(obs[-n:], np.eye(n, dtype=np.float32)[action])


def test_max_steps_truncates_and_reports_accuracy():
    env = make("DelayMatchSample", trials_per_episode=None, max_steps=100)
    records = _run(env, _oracle, 1000, seed=0)
    assert len(records) == 100
    *_, terminated, truncated, info = records[-1]
    assert truncated and not terminated
    completed = sum(r[-1]["new_trial"] for r in records)
    assert info["trials_completed"] == completed > 0 and info["trial_accuracy"] == 1.0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"trials_per_episode": 0}, "trials_per_episode must be an integer >= 1 or None, got 0"),
        ({"max_steps": -3}, "max_steps must be an integer >= 1 or None, got -3"),
        ({"trials_per_episode": None, "max_steps": None}, "cannot both be None"),
        ({"success_threshold": 1.5}, r"success_threshold must be a number in \[0, 1\], got 1.5"),
        ({"difficulty": "easy"}, "difficulty must be None for NeuroGym tasks .*; got 'easy'"),
        ({"success_threshold": "high"}, r"success_threshold must be a number in \[0, 1\], got 'high'"),
    ],
)
def test_bad_parameters_raise_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make("GoNogo", **kwargs)


def test_unknown_id_and_bad_action():
    with pytest.raises(ValueError, match="neurogym_id must be one of .*'NoSuchTask'"):
        make("NoSuchTask")
    env = make("GoNogo")
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"action must be an int in \[0, 1\]; got 5"):
        env.step(5)


def test_neurogym_kwargs_reach_the_task():
    env = make(
        "PerceptualDecisionMaking-v0", dt=20, timing={"fixation": 200, "stimulus": 400, "decision": 100}
    )
    assert env.task.dt == 20
    records = _run(env, _oracle, 1000, seed=0)
    first_end = next(i for i, r in enumerate(records) if r[-1]["new_trial"])
    assert first_end + 1 == (200 + 400) // 20 + 1  # the oracle answers on the first decision step


@pytest.mark.parametrize("how", ["vector_entry_point", "sync"])
@pytest.mark.parametrize("mode", [gym.vector.AutoresetMode.NEXT_STEP, gym.vector.AutoresetMode.SAME_STEP])
def test_vector_env_infos_carry_trial_keys_per_env(mode, how):
    num_envs, task = 3, "PerceptualDecisionMaking"
    if how == "sync":  # gymnasium's own path: SyncVectorEnv over gym.make, mode via vector_kwargs
        vec = gym.make_vec(
            env_id(task),
            num_envs=num_envs,
            vectorization_mode="sync",
            vector_kwargs={"autoreset_mode": mode},
            trials_per_episode=2,
        )
    else:  # the default for these ids, mode as a keyword like the native MemoryGym vector envs
        vec = gym.make_vec(env_id(task), num_envs=num_envs, autoreset_mode=mode, trials_per_episode=2)
    assert vec.metadata["autoreset_mode"] == mode
    vec.reset(seed=10)
    singles = [make(task, trials_per_episode=2) for _ in range(num_envs)]
    single_obs = [env.reset(seed=10 + i)[0] for i, env in enumerate(singles)]
    episodes_done = np.zeros(num_envs, dtype=int)
    trial_ends = 0
    for step in range(200):
        actions = ground_truth_actions(vec)
        obs, _, terminated, truncated, infos = vec.step(actions)
        for key in ("new_trial", "trial_index", "gt"):
            assert infos[f"_{key}"].all() and infos[key].shape == (num_envs,)
        if "trial_correct" in infos:
            ended = infos["_trial_correct"]
            assert infos["trial_correct"][ended].all()
            trial_ends += int(ended.sum())
        done = terminated | truncated
        if done.any():
            # NEXT_STEP: the final step's info is the step info; SAME_STEP: gymnasium moves it to final_info
            final = infos["final_info"] if mode == gym.vector.AutoresetMode.SAME_STEP else infos
            np.testing.assert_array_equal(final["_is_success"], done)
            assert final["is_success"][done].all() and (final["trial_accuracy"][done] == 1.0).all()
            assert final["new_trial"][done].all()
            if mode == gym.vector.AutoresetMode.SAME_STEP:
                assert infos["_final_obs"][done].all()
                assert (infos["trial_index"][done] == 0).all()  # the reset info of the next episode
        episodes_done += done
        if step < 20:  # row i of the vector env is the single env seeded 10 + i
            for i, env in enumerate(singles):
                single_obs[i], *_ = env.step(int(actions[i]))
                np.testing.assert_array_equal(obs[i], single_obs[i])
    assert trial_ends >= 2 * num_envs and (episodes_done >= 2).all()
    vec.close()


def test_make_vector_env_validates():
    with pytest.raises(ValueError, match=r"num_envs must be an integer in \[1, 2147483647\], got 0"):
        gym.make_vec(env_id("GoNogo"), num_envs=0)
    with pytest.raises(ValueError, match="autoreset_mode must be one of"):
        gym.make_vec(env_id("GoNogo"), num_envs=2, autoreset_mode="sometimes")


NEUROGYM_IDS = neurogym_task_ids()


def test_expected_failures_are_current_neurogym_ids():
    assert set(EXPECTED_FAILURES) <= set(NEUROGYM_IDS)
    assert {f"{task}-v0" for task in TASKS} <= set(NEUROGYM_IDS)


@pytest.mark.parametrize("neurogym_id", NEUROGYM_IDS)
def test_every_neurogym_task_runs_100_steps_or_is_a_listed_failure(neurogym_id):
    if neurogym_id in EXPECTED_FAILURES:
        with pytest.raises(EXPECTED_FAILURES[neurogym_id]):
            make(neurogym_id)
        return
    env = make(neurogym_id, trials_per_episode=None, max_steps=100)
    assert isinstance(env, NeuroGymEnv)
    records = _run(env, _random, 100, seed=0)
    assert len(records) == 100 and records[-1][4]  # truncated at max_steps
    for obs, _, reward, _, _, info in records:
        assert env.observation_space.contains(obs)
        assert np.isfinite(reward)
        assert {"new_trial", "trial_index", "gt"} <= set(info)
        assert ("trial_correct" in info) == info["new_trial"]


def test_ground_truth_actions_sees_through_adapters_holding_venv():
    class Adapter:  # what SB3-style adapters look like: the gymnasium vector env kept as `.venv`
        def __init__(self, venv):
            self.venv = venv

    vec = gym.make_vec(env_id("DelayMatchSample"), num_envs=2)
    vec.reset(seed=0)
    expected = [sub.unwrapped.oracle_action() for sub in vec.envs]
    np.testing.assert_array_equal(ground_truth_actions(Adapter(vec)), expected)
    vec.close()
