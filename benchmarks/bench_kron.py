"""The solver's graph projection (two Kronecker transforms of four slices) with each chunking, side by side.

``lit_interactions.interactions._kron`` splits the players into chunks and applies each chunk's Kronecker power
with one matrix product. This script times ``_Operators.project_graph`` (the transforms of one solver
iteration) for the default chunks (``chunk_sizes``) and for other splits, in rounds (one repetition of each
split per round, in turn, so that machine load hits all of them alike), and prints the median time per call and
its ratio to the default. Every split gives the same result (checked against the default before timing).

Run:  python benchmarks/bench_kron.py [--players 10 12 14 16] [--rounds 20] [--dtype float32]

The calls run back to back, so the times can include the allocator's page faults (glibc returning freed blocks to
the system between calls), which the solver's own loop does not pay: judge a split by timing the solver
(docs/solver.md, "Beyond n = 12", item 9).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lit_interactions.interactions import _kron  # noqa: E402
from lit_interactions.interactions._graph_admm import _Operators  # noqa: E402

# Samples per batch at each size: the solver's batches in benchmarks/bench_solver.py.
BATCH = {8: 64, 9: 32, 10: 32, 11: 16, 12: 8, 13: 4, 14: 2, 15: 1, 16: 1}


def splits(n: int) -> list[list[int]]:
    """The default chunks, then chunks of at most 5 bits (the earlier rule), 2, 4 and 6 bits, two halves."""
    def even(k: int) -> list[int]:
        base, extra = divmod(n, k)
        return [base + (1 if i < extra else 0) for i in range(k)]

    candidates = [_kron.chunk_sizes(n), even(max(2, -(-n // 5))), even(max(2, n // 2)), even(max(2, n // 4)),
                  even(max(2, n // 6)), even(2)]
    out: list[list[int]] = []
    for c in candidates:
        if c not in out:
            out.append(c)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--players", type=int, nargs="+", default=[10, 12, 14, 16], choices=range(8, 17),
                        metavar="N", help="player counts, 8..16")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    args = parser.parse_args()
    torch.set_num_threads(1)
    dtype = getattr(torch, args.dtype)
    default_sizes = _kron.chunk_sizes
    print(f"one thread, {args.dtype}, median of {args.rounds} rounds; ratio: time / the default chunks' time")
    print(f"{'n':>3} {'B':>3}  {'chunks (bits)':<22} {'ms/call':>9} {'ratio':>7}")
    for n in args.players:
        x = torch.randn(4, 1, BATCH[n], 2**n, dtype=dtype, generator=torch.Generator().manual_seed(n))
        ops = []
        for sizes in splits(n):
            _kron.chunk_sizes = lambda _n, s=sizes: list(s)  # type: ignore[assignment]
            ops.append((sizes, _Operators(n, dtype, torch.device("cpu"))))
        _kron.chunk_sizes = default_sizes
        reference = ops[0][1].project_graph(x)
        for sizes, op in ops[1:]:
            out = op.project_graph(x)
            scale = reference.abs().max().item()
            if not torch.allclose(out, reference, rtol=0, atol=1e-4 * scale if dtype == torch.float32 else 1e-10 * scale):
                raise SystemExit(f"chunks {sizes} give a different projection at n = {n}")
        times: list[list[float]] = [[] for _ in ops]
        for _ in range(args.rounds):
            for i, (_, op) in enumerate(ops):
                start = time.perf_counter()
                op.project_graph(x)
                times[i].append(time.perf_counter() - start)
        base = statistics.median(times[0])
        for i, (sizes, _) in enumerate(ops):
            label = ",".join(map(str, sizes)) + (" (default)" if i == 0 else "")
            med = statistics.median(times[i])
            print(f"{n:>3} {BATCH[n]:>3}  {label:<22} {med * 1e3:>9.3f} {med / base:>7.2f}")


if __name__ == "__main__":
    main()
