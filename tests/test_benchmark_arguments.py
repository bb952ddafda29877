"""The benchmark scripts reject arguments they cannot run with a one-line usage error, not a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("script", "args", "message"),
    [
        ("bench_solver.py", ["--sizes", "17"], "argument --sizes: invalid choice: 17"),
        ("bench_solver.py", ["--models", "3"], "argument --models: invalid choice: 3"),
        ("bench_beyond12.py", ["lprepair", "--models", "2"], "the LP repair is for one model only (--models 1)"),
        ("bench_kron.py", ["--players", "17"], "argument --players: invalid choice: 17"),
        ("bench_joint.py", ["--n", "17"], "argument --n: invalid choice: 17"),
        ("bench_joint.py", ["--samples", "0"], "argument --samples: 0 is not a positive count"),
    ],
)
def test_bad_benchmark_arguments_are_usage_errors(script: str, args: list[str], message: str) -> None:
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_the_joint_benchmark_runs_its_three_parts() -> None:
    """A tiny run (n = 6, 2 samples): both tables, their ratios, and the trace of the joint's bounds."""
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_joint.py"), "--n", "6", "--samples", "2",
                           "--rounds", "1", "--trace"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    for expected in ("1. cost per iteration, 2 samples, n = 6", "graph projection", "penalty clip",
                     "2. iterations, 2 samples", "per sample, the slower model alone", "joint / slower:",
                     "3. the joint's bounds, 2 samples"):
        assert expected in done.stdout, done.stdout
