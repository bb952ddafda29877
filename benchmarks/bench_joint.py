"""Where the joint problem's time goes (K = 2 against one model), measured side by side in one run.

On the random-MLP rewards of ``bench_solver.py`` (seeds ``n`` and ``n + 50``, one CPU thread), three parts:

1. **Cost per iteration.** The solver's iteration (float32, default bounds) on the same samples for one model and for
   the pair, in alternating rounds (the least time over the rounds): the whole iteration, the graph projection (the
   transforms), the projection onto the constraint set and the penalty's clip.
2. **Iterations.** Mean iterations of ``extract`` on each model alone, of the per-sample larger of the two (a joint
   sample waits for its slower model), of ``extract_joint`` on the pair, on an identical pair ``(v, v)`` and on the
   separable problem (``alpha = 1``, ``shared_bound = 100``: two one-model problems in one solve).
3. **``--trace``** (8 samples): the joint's bounds at every check against optima bracketed by a run to ``tol`` 1e-7:
   the upper bound's excess and the lower bound's deficit, relative to the optimum, for the two slowest samples, and
   the dual estimate behind the lower bound: its objective before the repair and how far outside the dual ball it
   lies (the repair divides it by its largest dual norm).

Run:  python benchmarks/bench_joint.py [--n 10] [--samples 32] [--rounds 5] [--trace]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lit_interactions.interactions import _graph_admm  # noqa: E402
from lit_interactions.interactions._certificate import _objective as dual_objective  # noqa: E402
from lit_interactions.interactions._certificate import centred_estimate, dual_estimates, joint_dual_norm  # noqa: E402
from lit_interactions.interactions.games import mlp_rewards  # noqa: E402
from lit_interactions.interactions.solver import _bound, extract, extract_joint  # noqa: E402

NOISE_RATIO, SHARED_BOUND, ALPHA = 0.01, 0.5, 0.1  # the solver's defaults


def pair_rewards(n: int, samples: int) -> torch.Tensor:
    """``[2, B, 2^n]``: the two random MLPs of ``bench_solver.py``."""
    return torch.stack([mlp_rewards(n, samples, seed=n + 50 * k) for k in range(2)])


def _group(v: torch.Tensor) -> _graph_admm._Group:
    """The solver's float32 iteration state for rewards ``[K, B, 2^n]`` at its cold start."""
    n_models, batch, size = v.shape
    n = size.bit_length() - 1
    v = v.double()
    ops = _graph_admm._Operators(n, torch.float32, v.device)
    ops64 = _graph_admm._Operators(n, torch.float64, v.device)
    x0 = torch.stack((0.5 * v, 0.5 * v))
    noise = _bound(v, NOISE_RATIO).unsqueeze(-1)
    beta = None if n_models == 1 else _bound(v, SHARED_BOUND).unsqueeze(-1)
    delta0 = v - x0[0] - x0[1]
    data = _graph_admm._Data(v=v, noise_bound=noise, beta=beta, rho=torch.ones(batch, dtype=torch.float64), x0=x0,
                             y0=ops64.scaled(x0), lo=delta0 - noise, hi=delta0 + noise, gamma0=0.5 * (x0[0] - x0[1]))
    state = torch.zeros(4, n_models, batch, size, dtype=torch.float64)
    zeros = torch.zeros_like(state[:2])
    group = _graph_admm._Group(torch.arange(batch), state, (zeros, zeros, zeros), data, ALPHA, ops, 0)
    group.run(50, 1.9, 0.005)
    return group


def _per_call(fn: Callable[[], object], calls: int) -> float:
    """CPU milliseconds per call of ``fn``."""
    start = time.process_time()
    for _ in range(calls):
        fn()
    return (time.process_time() - start) / calls * 1e3


def cost_per_iteration(v: torch.Tensor, rounds: int, calls: int = 200) -> None:
    groups = {1: _group(v[:1]), 2: _group(v)}
    parts: dict[tuple[int, str], list[float]] = {}
    for _ in range(rounds):  # alternating, so that machine load hits both alike
        for k, g in groups.items():
            u = g.u
            refl = torch.lerp(u, g.ops.project_graph(u), 2.0)
            out = torch.empty_like(u)
            timed = {
                "iteration": lambda g=g, calls=calls: g.run(calls, 1.9, 0.005),
                "graph projection": lambda g=g, u=u: g.ops.project_graph(u),
                "constraint projection": lambda g=g, r=refl, o=out: g._project_constraints(r[:2], o[:2]),
                "penalty clip": lambda g=g, r=refl: g._clipped(r[2:]),
            }
            for name, fn in timed.items():
                once = name == "iteration"  # run(calls) is the iteration loop itself
                parts.setdefault((k, name), []).append(_per_call(fn, 1) / calls if once else _per_call(fn, calls))
    print(f"1. cost per iteration, {v.shape[1]} samples, n = {v.shape[-1].bit_length() - 1}, float32 "
          f"(CPU ms, least of {rounds} alternating rounds)")
    print(f"{'part':>22} {'one model':>10} {'two models':>11} {'ratio':>6}")
    for name in ("iteration", "graph projection", "constraint projection", "penalty clip"):
        one, two = min(parts[(1, name)]), min(parts[(2, name)])
        print(f"{name:>22} {one:>10.3f} {two:>11.3f} {two / one:>6.2f}")


def _iterations(result_iterations: torch.Tensor) -> torch.Tensor:
    return result_iterations.reshape(-1).double()


def iterations(v: torch.Tensor) -> None:
    def timed(fn: Callable[[], torch.Tensor]) -> tuple[torch.Tensor, float]:
        start = time.process_time()
        its = fn()
        return its, (time.process_time() - start) / v.shape[1]

    rows = {
        "model 0 alone": lambda: _iterations(extract(v[0]).extra["iterations"]),
        "model 1 alone": lambda: _iterations(extract(v[1]).extra["iterations"]),
        "joint (default)": lambda: _iterations(extract_joint(v).extra["iterations"][0]),
        "joint, pair (v, v)": lambda: _iterations(extract_joint(torch.stack((v[0], v[0]))).extra["iterations"][0]),
        "joint, separable": lambda: _iterations(
            extract_joint(v, alpha=1.0, shared_bound=100.0).extra["iterations"][0]),
    }
    print(f"\n2. iterations, {v.shape[1]} samples (tol 1e-3; CPU s per sample, one run each)")
    print(f"{'solve':>34} {'mean it':>8} {'CPU s':>7}")
    found = {}
    for name, fn in rows.items():
        found[name], seconds = timed(fn)
        print(f"{name:>34} {found[name].mean():>8.0f} {seconds:>7.3f}", flush=True)
    slower = torch.maximum(found["model 0 alone"], found["model 1 alone"])
    print(f"{'per sample, the slower model alone':>34} {slower.mean():>8.0f}")
    print(f"joint / model 0: {found['joint (default)'].mean() / found['model 0 alone'].mean():.2f}; "
          f"slower / model 0: {slower.mean() / found['model 0 alone'].mean():.2f}; "
          f"joint / slower: {found['joint (default)'].mean() / slower.mean():.2f}")


def trace(v: torch.Tensor) -> None:
    """Upper excess and lower deficit of the joint's bounds at each check, for its two slowest samples."""
    log: list[tuple[int, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]] = []
    certify = _graph_admm._Record.certify

    def logged(self: _graph_admm._Record, group: _graph_admm._Group, ops64: _graph_admm._Operators, alpha: float,
               it: int) -> torch.Tensor:
        gaps = certify(self, group, ops64, alpha, it)
        # The first dual estimate (-nu) of the iteration, before its repair: dual objective, largest dual norm and
        # rows outside the dual ball (the repair divides by that norm; the swept bound recovers part of it).
        d, idx = group.data, group.index
        nu, mu = group.multipliers(averaged=True)
        lam_and, lam_or = centred_estimate(*dual_estimates(ops64.adjoint, nu, mu * group.ops.order_weight)[0])
        values = ops64.inverse_adjoint(torch.stack((lam_and, lam_or.flip(-1))))[..., 1:]
        norms = joint_dual_norm(values, alpha)  # [sides, b, subsets]
        raw, largest, outside = (torch.full_like(self.upper, math.nan) for _ in range(3))
        raw[idx] = dual_objective(lam_and, lam_or, d.v, d.noise_bound, d.beta)
        largest[idx] = norms.amax(dim=(0, 2))
        outside[idx] = (norms > 1.0).sum(dim=(0, 2)).double()
        log.append((it, self.upper.clone(), self.lower.clone(), raw, largest, outside))
        return gaps

    _graph_admm._Record.certify = logged  # type: ignore[method-assign]
    try:
        extract_joint(v, tol=1e-7, max_iter=40_000)
        upper, lower = (torch.stack([entry[i] for entry in log]) for i in (1, 2))
        best_upper, best_lower = upper.amin(0), lower.amax(0)
        log.clear()
        result = extract_joint(v)
    finally:
        _graph_admm._Record.certify = certify  # type: ignore[method-assign]
    optimum = 0.5 * (best_upper + best_lower)
    slowest = result.extra["iterations"][0].argsort(descending=True)[:2].tolist()
    print(f"\n3. the joint's bounds, {v.shape[1]} samples; optima bracketed within "
          f"{float(((best_upper - best_lower) / best_upper).max()):.1e} (run to tol 1e-7)")
    print("upper +, lower -: the bounds' distance to the optimum; estimate -: its dual objective's, before the repair;")
    print("norm: its largest dual norm (rows outside the ball: out); all relative to the optimum")
    print(f"{'iteration':>9} " + " ".join(f"{'sample ' + str(b) + ': upper +':>18} {'lower -':>9} {'estimate -':>10} "
                                          f"{'norm':>7} {'out':>5}" for b in slowest))
    for it, up, low, raw, largest, outside in log[5::5]:
        cells = [f"{float((up[b] - optimum[b]) / optimum[b]):>18.1e} {float((optimum[b] - low[b]) / optimum[b]):>9.1e} "
                 f"{float((optimum[b] - raw[b]) / optimum[b]):>10.1e} {float(largest[b]):>7.4f} {float(outside[b]):>5.0f}"
                 for b in slowest]
        print(f"{it:>9} " + " ".join(cells))


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive count")
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=10, choices=range(4, 17), metavar="{4..16}")
    parser.add_argument("--samples", type=_positive, default=32)
    parser.add_argument("--rounds", type=_positive, default=5)
    parser.add_argument("--trace", action="store_true", help="the joint's bounds against the optima (8 samples)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    v = pair_rewards(args.n, args.samples)
    cost_per_iteration(v, args.rounds)
    iterations(v)
    if args.trace:
        trace(v[:, :8])


if __name__ == "__main__":
    main()
