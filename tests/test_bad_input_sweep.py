"""A hypothesis sweep of bad inputs over the user-facing entry points: env constructors and
``step``, ``make_vec``, MemoryPPO / TrialReplayDQN constructors, suite YAML and CLI flags.

Every input either works or raises ValueError / TypeError whose message names the parameter or
the value; any other exception (IndexError, AttributeError, KeyError, a bare numpy error, ...)
fails the sweep. Few examples each and no deadline, so it stays a fast default test.
"""

import json
import math

import gymnasium as gym
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from memory_agents.suite.config import TOP_KEYS, TRAIN_DEFAULTS
from memory_gym_envs.difficulty import task_params
from memory_gym_envs.tasks import TASK_CLASSES

import memory_gym_envs  # noqa: F401  (registers the ids)

torch.set_num_threads(1)
SWEEP = settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

#: Wrong types, signs, ranges and shapes. Sizes past any machine (2**64) but no merely large ones
#: (10**5 hidden units is valid, only costly: generating those would exhaust memory, not find bugs).
NASTY = [
    None,
    True,
    False,
    0,
    -1,
    1,
    2,
    -(2**63),
    2**64,
    2**70,
    0.5,
    -0.5,
    1e300,
    math.nan,
    math.inf,
    -math.inf,
    "",
    "abc",
    "10",
    "-1",
    [],
    [1],
    [1, 2],
    [3, 1],
    [1, 2, 3],
    (2, 1),
    [[1]],
    {},
    {"a": 1},
    b"x",
    object(),
    np.int64(-3),
    np.float32(0.5),
    np.array([1, 2]),
    np.array(7),
    3 + 4j,
]


def every_nasty(test):
    """Run ``test`` on each NASTY ``value`` (explicit examples, always) besides hypothesis' own."""
    for value in reversed(NASTY):
        test = example(value=value)(test)
    return test


BAD = st.one_of(
    st.sampled_from(NASTY),
    st.integers(-(10**6), 8),
    st.floats(-1e6, 8, width=32),
    st.text(max_size=4),
    st.lists(st.integers(-3, 3), max_size=3),
)


def _names(value) -> list[str]:
    """How a message may name ``value``: its repr or str, or for a mapping one of its keys."""
    out = [repr(k) for k in value] if isinstance(value, dict) else []
    for f in (repr, str):
        try:
            out.append(f(value))
        except Exception:  # noqa: BLE001 - an unprintable value has no name to look for
            pass
    return [n for n in out if n]


def clean(call, *names, value=None):
    """``call()`` works, or raises ValueError / TypeError that names one of ``names`` (or ``value``)."""
    try:
        return call()
    except (ValueError, TypeError) as exc:
        text = str(exc)
        wanted = [*names, *(_names(value) if value is not None else [])]
        assert any(n in text for n in wanted), f"{type(exc).__name__} names none of {wanted}: {text}"
        return None


def cases(argnames: str, items: list[tuple], case_id):
    """``pytest.mark.parametrize`` over ``items``, each with id ``case_id(*item)``."""
    return pytest.mark.parametrize(argnames, [pytest.param(*item, id=case_id(*item)) for item in items])


# ----------------------------------------------------------------------------- environments
PARAMS = [(cls, p) for cls in TASK_CLASSES for p in task_params(cls)]


@pytest.mark.parametrize("cls, param", PARAMS, ids=[f"{c.name}.{p}" for c, p in PARAMS])
@SWEEP
@every_nasty
@given(value=BAD)
def test_env_constructor_and_steps(cls, param, value):
    env_id = f"MemoryGym/{cls.name}-v0"
    env = clean(lambda: gym.make(env_id, **{param: value}), param, value=value)
    if env is None:
        return
    obs, _ = env.reset(seed=0)
    for _ in range(3):  # a value it took must also run
        obs, _, term, trunc, _ = env.step(env.action_space.sample())
        if term or trunc:
            env.reset()


@pytest.mark.parametrize("cls", TASK_CLASSES, ids=lambda c: c.name)
@SWEEP
@given(action=BAD, seed=BAD)
def test_env_step_and_reset_with_bad_actions_and_seeds(cls, action, seed):
    # gymnasium's env checker (gym.make's wrapper) is left broken by a reset that raised: a fresh env
    clean(lambda: gym.make(f"MemoryGym/{cls.name}-v0").reset(seed=seed), "seed", value=seed)
    env = gym.make(f"MemoryGym/{cls.name}-v0")
    env.reset(seed=0)
    clean(lambda: env.step(action), "action", value=action)
    vec = gym.make_vec(f"MemoryGym/{cls.name}-v0", num_envs=2)
    vec.reset(seed=0)
    clean(lambda: vec.step(action), "action", value=action)
    clean(lambda: vec.step(np.array([action, action], dtype=object)), "action", value=action)


def _sb3_make_vec_env(**kwargs):
    from memory_agents.vec_env import make_vec_env

    return make_vec_env("MemoryGym/DelayedCue-v0", **{"num_envs": 2, **kwargs})


MAKE_VEC = [
    ("gym.make_vec", "num_envs", lambda v: gym.make_vec("MemoryGym/DelayedCue-v0", num_envs=v)),
    (
        "gym.make_vec",
        "difficulty",
        lambda v: gym.make_vec("MemoryGym/DelayedCue-v0", num_envs=2, difficulty=v),
    ),
    (
        "gym.make_vec",
        "autoreset_mode",
        lambda v: gym.make_vec("MemoryGym/DelayedCue-v0", num_envs=2, autoreset_mode=v),
    ),
    (
        "gym.make_vec",
        "render_mode",
        lambda v: gym.make_vec("MemoryGym/DelayedCue-v0", num_envs=2, render_mode=v),
    ),
    ("make_vec_env", "num_envs", lambda v: _sb3_make_vec_env(num_envs=v)),
    ("make_vec_env", "seed", lambda v: _sb3_make_vec_env(seed=v)),
    ("make_vec_env", "difficulty", lambda v: _sb3_make_vec_env(difficulty=v)),
    ("make_vec_env", "env_kwargs", lambda v: _sb3_make_vec_env(env_kwargs=v)),
]


@cases("what, param, make", MAKE_VEC, lambda w, p, _: f"{w}.{p}")
@SWEEP
@every_nasty
@given(value=BAD)
def test_make_vec_with_bad_arguments(what, param, make, value):
    clean(lambda: make(value), param, value=value)


# ----------------------------------------------------------------------------- algorithms
_ALGO_SKIP = {"self", "policy", "env", "_init_setup_model", "tensorboard_log", "verbose", "device"}


def _algo_params(cls):
    import inspect

    return [p for p in inspect.signature(cls.__init__).parameters if p not in _ALGO_SKIP]


def _algorithms():
    from memory_agents.dqn import TrialReplayDQN
    from memory_agents.ppo import MemoryPPO

    return [(cls, p) for cls in (MemoryPPO, TrialReplayDQN) for p in _algo_params(cls)]


ALGO_PARAMS = _algorithms()


@pytest.fixture(scope="module")
def small_env():
    from memory_agents.vec_env import make_vec_env

    return make_vec_env("MemoryGym/DelayedCue-v0", num_envs=2, seed=0)


@cases("cls, param", ALGO_PARAMS, lambda c, p: f"{c.__name__}.{p}")
@SWEEP
@every_nasty
@given(value=BAD)
def test_algorithm_constructors(small_env, cls, param, value):
    policy = "MemoryPolicy" if cls.__name__ == "MemoryPPO" else "MemoryQPolicy"
    kwargs = {param: value}
    if param != "policy_kwargs":
        kwargs["policy_kwargs"] = {"hidden_dim": 8}
    clean(lambda: cls(policy, small_env, device="cpu", **kwargs), param, value=value)


POLICY_KWARGS = [
    ("MemoryPPO", k) for k in ("memory", "memory_kwargs", "hidden_dim", "shared_memory", "net_arch")
] + [("TrialReplayDQN", k) for k in ("memory", "memory_kwargs", "hidden_dim")]


@cases("algo, kwarg", POLICY_KWARGS, lambda a, k: f"{a}.{k}")
@SWEEP
@every_nasty
@given(value=BAD)
def test_policy_kwargs(small_env, algo, kwarg, value):
    from memory_agents.dqn import TrialReplayDQN
    from memory_agents.ppo import MemoryPPO

    cls, policy = (MemoryPPO, "MemoryPolicy") if algo == "MemoryPPO" else (TrialReplayDQN, "MemoryQPolicy")
    clean(
        lambda: cls(policy, small_env, device="cpu", policy_kwargs={"hidden_dim": 8, kwarg: value}),
        kwarg,
        value=value,
    )


# ----------------------------------------------------------------------------- suite YAML and CLI
YAML_VALUES = st.recursive(
    st.one_of(
        st.sampled_from(
            [None, True, 0, -1, 3, 0.5, "", "x", "gru", "DelayedCue", "easy", "ppo", "dqn", "preset", "mlp"]
        ),
        st.integers(-5, 10**6),
        st.text(max_size=4),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)
TRAIN_KEYS = list(TRAIN_DEFAULTS)  # every train key the suite YAML takes


@SWEEP
@given(
    key=st.sampled_from([*TOP_KEYS, "bogus"]),
    value=YAML_VALUES,
    train_key=st.sampled_from(TRAIN_KEYS),
    train_value=YAML_VALUES,
)
def test_suite_yaml(key, value, train_key, train_value):
    import yaml
    from memory_agents.suite.config import SuiteError, build_suite

    base = {"tasks": ["DelayedCue"], "cores": ["gru"], "train": {"steps": 100}}
    for doc in ({**base, key: value}, {**base, "train": {"steps": 100, train_key: train_value}}):
        text = yaml.safe_dump(doc)
        try:
            build_suite(text, "sweep.yaml")
        except SuiteError as exc:
            assert str(exc).startswith("sweep.yaml"), exc


@SWEEP
@given(text=st.text(max_size=60))
def test_suite_yaml_from_any_text(text):
    from memory_agents.suite.config import SuiteError, build_suite

    try:
        build_suite(text, "sweep.yaml")
    except SuiteError as exc:
        assert str(exc).startswith("sweep.yaml"), exc


FLAG_SWEEP = settings(SWEEP, max_examples=3)


class _Accepted(BaseException):
    """Raised where training would start: the flags were all accepted."""


#: Flag values every flag is tried with; hypothesis adds a few more from FLAG_TEXT.
FLAG_NASTY = ["-1", "0", "2.5", "nan", "abc", "", "[1]", "99999999999999999999"]
FLAG_TEXT = st.one_of(
    st.sampled_from(
        [
            "1",
            "1e9",
            "inf",
            "{}",
            "null",
            "none",
            '{"param": "delay"}',
            '{"param": "delay", "start": -1}',
            '{"n_steps": 0}',
            '{"bogus": 1}',
            "gru",
            "mlp",
            "cuda:9",
            "delay=[5,1]",
            "delay",
            "=3",
        ]
    ),
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs", "Nd"), blacklist_characters="\x00"), max_size=6
    ),
)  # no digits: a large number is a valid (costly) size, not a bad one


def every_flag_value(test):
    for value in reversed(FLAG_NASTY):
        test = example(value=value)(test)
    return test


TRAIN_FLAGS = [
    "--steps",
    "--envs",
    "--eval-episodes",
    "--checkpoint-every",
    "--seed",
    "--hidden-dim",
    "--lr",
    "--n-steps",
    "--bptt-len",
    "--threads",
    "--difficulty",
    "--core",
    "--task",
    "--env-kwargs",
    "--env-kwarg",
    "--algo-kwargs",
    "--curriculum",
    "--recurrent-mode",
    "--device",
    "--algo",
    "--resume",
]


@pytest.fixture
def no_training(monkeypatch):
    """`train` stops where training would begin: the env and the model are built with the flags."""
    from memory_agents.suite import training

    build = training._build_model

    def build_then_stop(*args, **kwargs):
        build(*args, **kwargs)
        raise _Accepted

    monkeypatch.setattr(training, "_build_model", build_then_stop)
    monkeypatch.setattr(torch, "set_num_threads", lambda n: None)  # --threads must not slow the other tests


@pytest.fixture
def no_evaluation(monkeypatch):
    """`eval` stops where the episodes would begin (10**20 of them is a valid, endless request)."""
    from memory_agents.suite import evaluation

    def stop(*args, **kwargs):
        raise _Accepted

    monkeypatch.setattr(evaluation, "evaluate_agent", stop)
    monkeypatch.setattr(torch, "set_num_threads", lambda n: None)


def _cli(argv, capsys) -> None:
    """Exit 0, or status 2 with a one-line error (ours) or argparse's usage error; never a traceback."""
    from memory_agents.suite.cli import main

    capsys.readouterr()
    try:
        status = main(argv)
    except _Accepted:
        return
    except SystemExit as exc:  # argparse rejected a flag value: usage + "error: argument --x: ..."
        assert exc.code == 2 and "error: argument" in capsys.readouterr().err
        return
    err = capsys.readouterr().err
    assert status in (0, 2), (argv, status, err)
    if status == 2:
        assert err.count("\n") == 1 and "error:" in err, err


@cases("flag", [(f,) for f in TRAIN_FLAGS], lambda f: f"train {f}")
@FLAG_SWEEP
@every_flag_value
@given(value=FLAG_TEXT)
def test_train_flags(no_training, capsys, tmp_path_factory, flag, value):
    logs = tmp_path_factory.mktemp("logs")
    _cli(
        [
            "train",
            "--task",
            "DelayedCue",
            "--steps",
            "64",
            "--envs",
            "2",
            "--hidden-dim",
            "8",
            "--device",
            "cpu",
            "--log-dir",
            str(logs),
            "--no-progress",
            flag,
            value,
        ],
        capsys,
    )


@pytest.mark.parametrize(
    "flag",
    [
        "--steps",
        "--envs",
        "--eval-episodes",
        "--checkpoint-every",
        "--seeds",
        "--workers",
        "--threads",
        "--retries",
        "--device",
        "--recurrent-mode",
        "--suite",
    ],
)
@FLAG_SWEEP
@every_flag_value
@given(value=FLAG_TEXT)
def test_run_flags(capsys, tmp_path_factory, flag, value):
    out = tmp_path_factory.mktemp("run") / "r.json"
    argv = ["run", "--suite", "tiny_sanity", "--out", str(out), "--dry-run", flag, value]
    _cli(argv, capsys)


@pytest.mark.parametrize(
    "flag",
    [
        "--episodes",
        "--seed",
        "--task",
        "--difficulty",
        "--env-kwargs",
        "--env-kwarg",
        "--threads",
        "--device",
    ],
)
@FLAG_SWEEP
@every_flag_value
@given(value=FLAG_TEXT)
def test_eval_flags(no_evaluation, sanity_checkpoint, capsys, flag, value):
    _cli(["eval", sanity_checkpoint, "--episodes", "2", "--device", "cpu", flag, value], capsys)


@pytest.fixture(scope="module")
def sanity_checkpoint(tmp_path_factory):
    """A tiny trained agent to evaluate."""
    from memory_agents.suite.cli import main

    logs = tmp_path_factory.mktemp("agent")
    assert (
        main(
            [
                "train",
                "--task",
                "DelayedCue",
                "--steps",
                "32",
                "--envs",
                "2",
                "--hidden-dim",
                "8",
                "--device",
                "cpu",
                "--eval-episodes",
                "2",
                "--log-dir",
                str(logs),
                "--no-progress",
                "--env-kwargs",
                json.dumps({"num_cues": 2, "delay": 2}),
                "--n-steps",
                "16",
            ]
        )
        == 0
    )
    [checkpoint] = logs.glob("*/model.zip")
    return str(checkpoint)
