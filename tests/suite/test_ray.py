"""The Ray backend runs a two-run suite on a local Ray instance into the same results JSON."""

import pytest
from memory_agents.suite import schema
from memory_agents.suite.cli import main

from .conftest import tiny_suite


@pytest.mark.slow
def test_ray_backend_two_runs(tmp_path):
    pytest.importorskip("ray")
    path = tiny_suite(tmp_path, cores=("gru", "mlp"))
    out = tmp_path / "ray.json"
    assert (
        main(
            [
                "run",
                "--suite",
                str(path),
                "--out",
                str(out),
                "--backend",
                "ray",
                "--workers",
                "2",
                "--threads",
                "1",
                "--no-progress",
            ]
        )
        == 0
    )
    doc = schema.load_results(out)
    assert sorted(r["core"] for r in doc["runs"]) == ["gru", "mlp"]
    assert all(r["status"] == "finished" and r["sps"] > 0 for r in doc["runs"])
    # gathered into the same file format as the local backend: a re-run skips both
    assert main(["run", "--suite", str(path), "--out", str(out), "--no-progress", "--dry-run"]) == 0
