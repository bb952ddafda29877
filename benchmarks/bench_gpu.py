"""The solver at n = 10..16 and the monitor's masked forwards on CUDA, when a CUDA device is present.

Solver: planted sparse games and random-MLP rewards (``lit_interactions/interactions/games.py``) solved on the
GPU with the default settings; each row prints seconds per sample, mean iterations and the largest certified
gap, and the same rewards' CPU time (one thread) for the smallest sizes. Forwards: ``bench_forward.py``'s
table on the GPU (every option as a ratio of the eager float32 floor).

Run:  python benchmarks/bench_gpu.py [--sizes 10 12 14 16] [--no-compile]
Without CUDA it prints why nothing ran and exits with status 0.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_forward import run as run_forwards  # noqa: E402
from lit_interactions.interactions.games import mlp_rewards, planted_rewards  # noqa: E402
from lit_interactions.interactions.solver import extract  # noqa: E402

BATCH = {10: 32, 12: 8, 13: 4, 14: 4, 15: 2, 16: 2}


def _timed_solve(rewards: torch.Tensor) -> tuple[float, dict]:
    if rewards.is_cuda:
        torch.cuda.synchronize()
    start = time.perf_counter()
    result = extract(rewards)
    if rewards.is_cuda:
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / rewards.shape[0], result.settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 12, 14, 16])
    parser.add_argument("--cpu-up-to", type=int, default=12, help="also time the CPU (one thread) up to this n")
    parser.add_argument("--no-compile", action="store_true")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print(f"No CUDA device: torch {torch.__version__} (CUDA build {torch.version.cuda}) sees no GPU here, so "
              "nothing was run. Run this benchmark on a machine with a CUDA GPU; the CPU tables are "
              "benchmarks/bench_solver.py and benchmarks/bench_forward.py.")
        return
    torch.set_num_threads(1)
    device = torch.device("cuda")
    print(f"GPU: {torch.cuda.get_device_name(device)}; solver tol 1e-3, default settings")
    header = f"{'n':>3} {'rewards':>8} {'B':>3} {'GPU s/smp':>10} {'CPU s/smp':>10} {'iters':>7} {'gap max':>8}"
    print(header)
    print("-" * len(header))
    for n in args.sizes:
        batch = BATCH.get(n, 2)
        for kind in ("planted", "mlp"):
            rewards = planted_rewards(n, batch, seed=n)[0] if kind == "planted" else mlp_rewards(n, batch, seed=n)
            gpu, settings = _timed_solve(rewards.float().to(device))
            cpu = f"{_timed_solve(rewards.float())[0]:.3f}" if n <= args.cpu_up_to else "-"
            print(f"{n:>3} {kind:>8} {batch:>3} {gpu:>10.3f} {cpu:>10} {settings['iterations_mean']:>7.0f} "
                  f"{settings['duality_gap_max']:>8.2e}", flush=True)
    print()
    run_forwards(device, samples=16, rounds=5, threads=1, compile_too=not args.no_compile)


if __name__ == "__main__":
    main()
