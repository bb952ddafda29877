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
    ],
)
def test_bad_benchmark_arguments_are_usage_errors(script: str, args: list[str], message: str) -> None:
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr, done.stderr
