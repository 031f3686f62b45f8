"""The neurogym extra stays optional: nothing imports it until an env is built, and its absence is explained."""

import subprocess
import sys

import gymnasium as gym
import pytest
from memory_gym_envs.neurogym import INSTALL_HINT, TASKS, env_id, register_neurogym_envs


def test_registration_imports_neither_neurogym_nor_torch():
    code = (
        "import sys, gymnasium as gym, memory_gym_envs, memory_gym_envs.neurogym as n\n"
        "ids = n.register_neurogym_envs()\n"
        "assert all(i in gym.registry for i in ids), ids\n"
        "bad = [m for m in ('neurogym', 'torch', 'matplotlib') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_recommended_tasks_are_registered():
    ids = register_neurogym_envs()
    assert ids == [env_id(task) for task in TASKS]
    for task in (
        "ContextDecisionMaking",
        "DelayMatchSample",
        "PerceptualDecisionMaking",
        "DelayComparison",
        "GoNogo",
        "ReadySetGo",
        "DualDelayMatchSample",
        "DelayPairedAssociation",
    ):
        assert f"MemoryGym/NeuroGym-{task}-v0" in gym.registry
    assert register_neurogym_envs() == ids  # idempotent


def test_missing_neurogym_raises_install_hint(monkeypatch):
    register_neurogym_envs()
    monkeypatch.setitem(sys.modules, "neurogym", None)  # what `import neurogym` sees when it is absent
    with pytest.raises(ImportError, match=r'pip install "memory-gym-envs\[neurogym\]"'):
        gym.make("MemoryGym/NeuroGym-DelayMatchSample-v0")
    assert "uv sync" in INSTALL_HINT
