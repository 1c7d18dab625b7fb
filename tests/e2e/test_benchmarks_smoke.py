"""Every benchmark still runs (``--quick``: seconds, not minutes). Figures are never asserted: the
benchmarks print them; this only keeps them from rotting."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.e2e.harness import ROOT

BENCHMARKS = [
    "ack_latency.py",
    "web_breakdown.py",
    "finish_breakdown.py",
    "polling.py",
    "memory.py",
    "replicas.py",
    "redis_capacity.py",
]


RUNS = [[script] for script in BENCHMARKS]
if len(os.sched_getaffinity(0)) >= 2:
    RUNS.append(["ack_latency.py", "--pin"])  # servers on a core of their own


@pytest.mark.parametrize("run", RUNS, ids=" ".join)
def test_benchmark_runs_quickly_and_prints_a_table(run: list[str]) -> None:
    script, *options = run
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), "--quick", *options],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    assert "| " in done.stdout and "machine:" in done.stdout
    if "--pin" in options:
        assert "- cores: pinned" in done.stdout
