"""Ideas for fewer solver iterations at n >= 12, each side by side with the default on the same rewards.

Modes (one CPU thread; iterations are deterministic, CPU seconds depend on the machine's load):

- ``scale``: the per-order scaling of the effects (``solver._ORDER_SCALE``, ``c^|T|``) for each ``--values``;
- ``rho``: the initial ``rho_scale`` for each ``--values`` (with the per-sample best, an oracle's headroom);
- ``multilevel``: cold against a start from the solve with players grouped in pairs (n / 2 players, rewards
  on the masks where both players of a pair are together), expanded to n players, primal only and with the
  coarse multipliers.

Run:  python benchmarks/bench_beyond12.py scale --kind planted --n 12 --samples 8 --values 1.0 1.2
      python benchmarks/bench_beyond12.py multilevel --kind mlp --n 12 --samples 4 --order-scale 1.0
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lit_interactions.interactions import solver  # noqa: E402
from lit_interactions.interactions.games import cnn_rewards, mlp_rewards, planted_rewards  # noqa: E402
from lit_interactions.interactions.result import Interactions  # noqa: E402


def rewards(kind: str, n: int, batch: int) -> Tensor:
    """Random-CNN, random-MLP or planted rewards ``[B, 2^n]`` (float32, as the solver's default input)."""
    if kind == "mlp":
        return mlp_rewards(n, batch, seed=n).float()
    if kind == "cnn":
        return cnn_rewards(n, batch, seed=n).float()
    return planted_rewards(n, batch, n_effects=6, noise=1e-3, seed=n)[0].float()


def report(name: str, solve: Callable[[], Interactions], batch: int) -> Interactions:
    """Run ``solve`` and print its iterations, CPU seconds per sample and largest certified gap."""
    cpu = time.process_time()
    result = solve()
    cpu = (time.process_time() - cpu) / batch
    its = result.extra["iterations"]
    print(f"{name:>16}  it mean {its.double().mean():7.0f}  max {int(its.max()):6d}  CPU s/sample {cpu:7.3f}  "
          f"gap max {result.settings['duality_gap_max']:.2e}  per sample {its.tolist()}", flush=True)
    return result


def pair_maps(n: int) -> tuple[Tensor, Tensor, Tensor]:
    """Subset maps for players grouped in pairs (2i, 2i + 1): coarse -> fine masks, fine -> pairs inside / met."""
    fine, coarse = torch.arange(2**n), torch.arange(2 ** (n // 2))
    inner, outer, expand = torch.zeros_like(fine), torch.zeros_like(fine), torch.zeros_like(coarse)
    for i in range(n // 2):
        a, b = (fine >> (2 * i)) & 1, (fine >> (2 * i + 1)) & 1
        inner |= (a & b) << i
        outer |= (a | b) << i
        expand |= ((coarse >> i) & 1) * (3 << (2 * i))
    return expand, inner, outer


def multilevel_start(v: Tensor, with_dual: bool) -> Interactions:
    """The pair-grouped solution expanded to n players: ``u_and(S)`` of the pairs inside S, ``u_or`` of those met."""
    n = v.shape[-1].bit_length() - 1
    expand, inner, outer = pair_maps(n)
    coarse = solver.extract(v[:, expand])
    half = 0.5 * (coarse.rewards.double() - coarse.noise.double())
    s, t = (half + coarse.gamma.double())[:, inner], (half - coarse.gamma.double())[:, outer]
    start = Interactions.from_decomposition(v.double(), 0.5 * (s - t), v.double() - s - t)
    if with_dual:
        dual = torch.zeros(v.shape[0], 2, 2**n)
        dual[:, :, expand] = coarse.extra["dual"]
        start.extra["dual"] = dual
    return start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["scale", "rho", "multilevel"])
    parser.add_argument("--kind", choices=["cnn", "mlp", "planted"], default="planted")
    parser.add_argument("--n", type=int, default=12)
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--values", type=float, nargs="+", default=[1.0, 1.2])
    parser.add_argument("--order-scale", type=float, default=solver._ORDER_SCALE, help="for rho and multilevel")
    args = parser.parse_args()
    solver._ORDER_SCALE = args.order_scale
    torch.set_num_threads(1)
    warnings.simplefilter("ignore", RuntimeWarning)
    v, batch = rewards(args.kind, args.n, args.samples), args.samples
    print(f"{args.mode}: {args.kind} rewards, n = {args.n}, {batch} samples, order scale {solver._ORDER_SCALE}")
    if args.mode == "scale":
        for c in args.values:
            solver._ORDER_SCALE = c
            report(f"order scale {c}", lambda: solver.extract(v), batch)
    elif args.mode == "rho":
        runs = [report(f"rho_scale {r}", lambda r=r: solver.extract(v, rho_scale=r), batch) for r in args.values]
        best = torch.stack([run.extra["iterations"] for run in runs]).amin(0).double()
        print(f"per-sample best rho_scale: it mean {best.mean():.0f}")
    else:
        report("cold", lambda: solver.extract(v), batch)
        for with_dual in (False, True):
            report(f"pairs{' + dual' if with_dual else ''}",
                   lambda w=with_dual: solver.extract(v, warm_start=multilevel_start(v, w)), batch)


if __name__ == "__main__":
    main()
