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
