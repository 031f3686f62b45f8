"""`python -m memory_gym_envs`: the score table."""

import subprocess
import sys

import pytest
from memory_gym_envs.__main__ import main


def test_table_rows_and_scores(capsys):
    assert (
        main(["--tasks", "DelayedCue", "MemoryGym/NBack-v0", "--difficulties", "easy", "--episodes", "40"])
        == 0
    )
    lines = [l for l in capsys.readouterr().out.splitlines() if l.startswith("| ") and "---" not in l]
    rows = {l.split(" | ")[0][2:]: l.split(" | ") for l in lines[1:]}
    assert set(rows) == {"DelayedCue", "NBack"}
    cue = rows["DelayedCue"]
    assert cue[1:6] == ["easy", "62", "6", "4", "0.95"] and cue[6] == "40"
    assert cue[7] == "1.000 / 1.000"


def test_long_horizons_use_fewer_episodes(capsys):
    main(["--tasks", "DelayedCue", "--difficulties", "hard", "--episodes", "50", "--max-steps", "20000"])
    row = [l for l in capsys.readouterr().out.splitlines() if l.startswith("| DelayedCue")][0]
    assert row.split(" | ")[6] == "9"  # 20000 // 2002


def test_bad_arguments_exit_with_message():
    out = subprocess.run(
        [sys.executable, "-m", "memory_gym_envs", "--tasks", "Nope"], capture_output=True, text=True
    )
    assert out.returncode == 2 and "unknown task" in out.stderr
    with pytest.raises(SystemExit):
        main(["--difficulties", "trivial"])


def test_every_registered_task_appears(capsys):
    import memory_gym_envs

    main(["--difficulties", "easy", "--episodes", "4"])
    out = capsys.readouterr().out
    rows = [l.split(" | ") for l in out.splitlines() if l.startswith("| ") and "---" not in l][1:]
    assert [r[0][2:] for r in rows] == [i.split("/")[1][:-3] for i in memory_gym_envs.list_tasks()]
    assert all(r[7] == "1.000 / 1.000" for r in rows)  # the oracle column
    main(["--list"])
    listed = capsys.readouterr().out
    assert all(f"`{i}`" in listed for i in memory_gym_envs.list_tasks())
