"""Workspace-level contracts: the env package stays light (no torch, no neurogym on import)."""

import subprocess
import sys


def test_importing_envs_does_not_import_torch_or_neurogym():
    code = (
        "import sys, memory_gym_envs\n"
        "heavy = [m for m in ('torch', 'neurogym', 'matplotlib') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_both_packages_ship_py_typed():
    """PEP 561: type checkers read the packages' own annotations once they are installed."""
    from importlib import resources

    for package in ("memory_gym_envs", "memory_agents"):
        assert (resources.files(package) / "py.typed").is_file(), package
