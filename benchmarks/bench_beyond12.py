"""Ideas for fewer solver iterations at n >= 12, each side by side with the default on the same rewards.

Modes (one CPU thread; iterations are deterministic, CPU seconds depend on the machine's load):

- ``scale``: the per-order scaling of the effects (``solver._ORDER_SCALE``, ``c^|T|``) for each ``--values``;
- ``sweep``: the swept lower bound (``solver._SWEEP_WINDOW``: samples within that many ``tol`` of certified
  try it; 0 = off) for each ``--values``; ``--models 2`` for the joint problem;
- ``stall``: the iterations without a 5% better gap after which a float32 sample continues in float64
  (``solver._STALL_ITERATIONS``, the window up to n = 12, doubled for each player above) for each ``--values``;
  ``--models 2`` for the joint problem;
- ``lprepair``: the LP repair of the dual estimate inside the solver (one model; ``solver._REPAIR_SUBSETS``, the
  corrected subsets, 0 = off) for each ``--values``, at any ``--n`` (it lowers ``solver._REPAIR_MIN_PLAYERS``);
- ``float32``: the largest n iterated in float32 by default (``solver._FLOAT32_MAX_PLAYERS``; above, float64) for
  each ``--values``: a value below ``--n`` measures float64 iterations, one at or above it float32;
- ``trace``: per sample, where it stopped and where its upper and its lower bound first came within 5e-4 of
  the optimum (which bound it waited for); ``--models 2`` for the joint problem;
- ``crossover``: per sample, the one-model crossover called on the solver's point after 500 iterations: whether
  it crossed, its rounds, simplex iterations and simplex work (iterations times rows; the work cap is
  ``_crossover._SIMPLEX_WORK``);
- ``rho``: the initial ``rho_scale`` for each ``--values`` (with the per-sample best, an oracle's headroom);
  ``--models 2`` for the joint problem;
- ``multilevel``: cold against a start from the solve with players grouped in pairs (n / 2 players, rewards
  on the masks where both players of a pair are together), expanded to n players, primal only and with the
  coarse multipliers.
- ``joint``: the joint problem (two models) with the exact crossover on and off, on three kinds of planted
  pairs: the second model 1.1 times the first (``scaled``), that plus 0.02 times another planted game
  (``perturbed``), and two different planted games (``different``). At any ``--n``: it lowers the solver's
  rule (the joint crossover from n = 12 on) to the size measured.
- ``repair``: after ``--at`` iterations, the certified gap of the solver's lower bound (its dual estimate divided
  by the largest dual norm) against the same estimate repaired by the solver's small LP (``_repair.py``):
  ``lambda = theta * estimate + delta`` with ``delta`` on the ``--top`` subsets whose dual constraints are most
  violated (0: all violated ones), dual feasible on every subset (row generation), best dual objective. One
  model.

Run:  python benchmarks/bench_beyond12.py scale --kind planted --n 12 --samples 8 --values 1.0 1.2
      python benchmarks/bench_beyond12.py sweep --kind mlp --n 12 --samples 8 --values 0 4 [--models 2]
      python benchmarks/bench_beyond12.py stall --kind trained --n 12 --samples 8 --values 1500 3000 100000
      python benchmarks/bench_beyond12.py float32 --kind mlp --n 14 --samples 2 --seed 101 --values 14
      python benchmarks/bench_beyond12.py trace --kind mlp --n 12 --samples 4 --seed 101
      python benchmarks/bench_beyond12.py crossover --kind planted --n 14 --samples 2
      python benchmarks/bench_beyond12.py multilevel --kind mlp --n 12 --samples 4 --order-scale 1.0
      python benchmarks/bench_beyond12.py repair --kind mlp --n 10 --samples 4 --at 1000 2000 --top 0
      python benchmarks/bench_beyond12.py joint --n 12 --samples 3
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_solver import cnn_rewards as trained_cnn_rewards  # noqa: E402
from lit_interactions.interactions import SolverOptions, _graph_admm, solver  # noqa: E402
from lit_interactions.interactions._crossover import crossover as try_crossover  # noqa: E402
from lit_interactions.interactions._repair import dual_values, lp_repaired_bound  # noqa: E402
from lit_interactions.interactions.games import cnn_rewards, mlp_rewards, planted_rewards  # noqa: E402
from lit_interactions.interactions.result import Interactions  # noqa: E402
from lit_interactions.interactions.subsets import superset_mobius  # noqa: E402


def rewards(kind: str, n: int, batch: int, seed: int | None = None, models: int = 1) -> Tensor:
    """Random-CNN, random-MLP, planted or trained-CNN rewards ``[B, 2^n]`` (float32, as the solver's default
    input); the seed defaults to ``n`` (trained: ``bench_solver.py``'s digits CNN and samples, no seed). With
    ``models`` = K >= 2, ``[K, B, 2^n]``: trained CNNs on disjoint halves of the digits, random networks of seeds
    ``seed + 50 k``, or planted games scaled by ``1 + 0.1 k`` (as ``bench_solver.py``)."""
    seed = n if seed is None else seed
    if models > 1:
        if kind == "trained":
            return trained_cnn_rewards(n, batch, models).float()
        if kind == "planted":
            return torch.stack([rewards(kind, n, batch, seed) * (1.0 + 0.1 * k) for k in range(models)])
        return torch.stack([rewards(kind, n, batch, seed + 50 * k) for k in range(models)])
    if kind == "trained":
        return trained_cnn_rewards(n, batch, 1)[0].float()
    if kind == "mlp":
        return mlp_rewards(n, batch, seed=seed).float()
    if kind == "cnn":
        return cnn_rewards(n, batch, seed=seed).float()
    return planted_rewards(n, batch, n_effects=6, noise=1e-3, seed=seed)[0].float()


def report(name: str, solve: Callable[[], Interactions], batch: int) -> Interactions:
    """Run ``solve`` and print its iterations, CPU seconds per sample and largest certified gap."""
    cpu = time.process_time()
    result = solve()
    cpu = (time.process_time() - cpu) / batch
    its = result.extra["iterations"]
    print(f"{name:>16}  it mean {its.double().mean():7.0f}  max {int(its.max()):6d}  CPU s/sample {cpu:7.3f}  "
          f"gap max {result.settings['duality_gap_max']:.2e}  float64 {result.settings['n_promoted_to_float64']}  "
          f"per sample {its.tolist()}", flush=True)
    return result


def trace_report(v: Tensor, models: int) -> None:
    """Per sample: the iteration where it stopped and the first ones where its upper and its lower bound came
    within 5e-4 (relative) of the optimum (a float64 solve to ``tol`` 1e-6), from the solver's own checks."""
    extract = solver.extract if models == 1 else solver.extract_joint
    reference = extract(v.double(), tol=1e-6, compute_dtype="float64", max_iter=200_000)
    optimum = reference.objective() if models == 1 else solver.joint_objective(reference, 0.1)
    optimum = optimum.double().reshape(-1)
    checks: list[tuple[int, Tensor, Tensor]] = []
    certify = _graph_admm._Record.certify

    def logged(record: _graph_admm._Record, group: _graph_admm._Group, ops64: _graph_admm._Operators,
               alpha: float, it: int) -> Tensor:
        gap = certify(record, group, ops64, alpha, it)
        checks.append((it, record.upper.clone(), record.lower.clone()))
        return gap

    _graph_admm._Record.certify = logged  # type: ignore[method-assign,assignment]
    try:
        stops = extract(v).extra["iterations"].reshape(-1)[: optimum.numel()]
    finally:
        _graph_admm._Record.certify = certify  # type: ignore[method-assign]
    for b, opt in enumerate(optimum.tolist()):
        upper = next((it for it, up, _ in checks if up[b] - opt <= 5e-4 * opt), None)
        lower = next((it for it, _, lo in checks if opt - lo[b] <= 5e-4 * opt), None)
        print(f"sample {b}: stopped at {int(stops[b])}, upper bound within 5e-4 of the optimum at {upper}, "
              f"lower bound at {lower}")


def crossover_report(v: Tensor, max_effects: int) -> None:
    """Per sample: the crossover called on the solver's point after 500 iterations (as the solver does, float64
    rewards): crossed or not, its rounds, simplex iterations and simplex work (iterations times rows)."""
    v = v.double()
    early = solver.extract(v, max_iter=500, crossover=False)
    for b in range(v.shape[0]):
        rewards_b = v[b].numpy()
        bound = 0.01 * abs(rewards_b[-1] - rewards_b[0])
        cpu = time.process_time()
        vertex = try_crossover(rewards_b, bound, early.and_effects[b].numpy(), early.or_effects[b].numpy(),
                           early.noise[b].numpy(), max_effects)
        cpu = time.process_time() - cpu
        if vertex is None:
            print(f"sample {b}: declined or gave up, CPU s {cpu:.2f}")
        else:
            print(f"sample {b}: crossed in {vertex.rounds} rounds, {vertex.simplex_iterations} simplex iterations, "
                  f"work {vertex.simplex_work:.2e}, CPU s {cpu:.2f}")


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


def planted_pairs(n: int, batch: int) -> dict[str, Tensor]:
    """Planted pairs ``[2, B, 2^n]`` (float32): the second model scaled, scaled and perturbed, or another game."""
    first = planted_rewards(n, batch, n_effects=6, noise=1e-3, seed=n)[0]
    other = planted_rewards(n, batch, n_effects=6, noise=1e-3, seed=n + 7)[0]
    pairs = {"scaled": 1.1 * first, "perturbed": 1.1 * first + 0.02 * other, "different": other}
    return {name: torch.stack((first, second)).float() for name, second in pairs.items()}


def joint_report(n: int, batch: int) -> None:
    """Per pair kind: CPU seconds per sample of ``extract_joint`` with the crossover on and off, side by side."""
    for name, v in planted_pairs(n, batch).items():
        runs = {}
        for crossover in (True, False):
            cpu = time.process_time()
            result = solver.extract_joint(v, crossover=crossover)
            runs[crossover] = ((time.process_time() - cpu) / batch, result)
        (on, with_xo), (off, without) = runs[True], runs[False]
        print(f"{name:>10}  on {on:7.3f} s/sample (crossed {with_xo.settings['n_crossover']} of {batch}, gap max "
              f"{with_xo.settings['duality_gap_max']:.2e})  off {off:7.3f} s/sample (gap max "
              f"{without.settings['duality_gap_max']:.2e}, it mean {without.settings['iterations_mean']:.0f})  "
              f"off / on {off / on:5.2f}", flush=True)


def repair_report(v: Tensor, at: list[int], top: int) -> None:
    """Per sample and iteration count: the solver's certified gap, and the gap with the rescaled and the
    LP-repaired lower bounds (``_repair.lp_repaired_bound``) of its dual estimate, relative to its objective."""
    v64 = v.double()
    noise_bound = 0.01 * (v64[:, -1] - v64[:, 0]).abs()
    for iterations in at:
        result = solver.extract(v, max_iter=iterations, tol=1e-9, crossover=False)
        upper = Interactions.objective(result).double()
        for b in range(v.shape[0]):
            mu = result.extra["dual"][b].double().clone()
            mu[:, 0] = 0.0
            adj = superset_mobius(mu).numpy()
            lam = 0.5 * (adj[0] + adj[1][::-1])  # the solver's estimate, l = r for one model, centred
            lam = lam - lam.mean()
            p_and, p_or = dual_values(lam)
            norm = max(np.abs(p_and[1:]).max(), np.abs(p_or[1:]).max())
            vb, nb = v64[b].numpy(), float(noise_bound[b])
            rescaled = max(float(lam @ vb - nb * np.abs(lam).sum()) / norm, 0.0)
            subsets = top or int((np.maximum(np.abs(p_and), np.abs(p_or)[::-1])[1:] > 1.0).sum())
            cpu = time.process_time()
            repaired = lp_repaired_bound(vb, nb, lam, subsets)
            cpu = time.process_time() - cpu
            up = float(upper[b])
            print(f"it {iterations:6d}  sample {b}  solver gap {float(result.extra['duality_gap'][b]):.2e}  "
                  f"rescaled {(up - rescaled) / up:.2e}  LP-repaired {(up - repaired) / up:.2e}  "
                  f"|D| {subsets + 1:5d}  LP CPU s {cpu:6.2f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["scale", "sweep", "stall", "lprepair", "float32", "trace", "crossover",
                                         "rho", "multilevel", "repair", "joint"])
    parser.add_argument("--kind", choices=["cnn", "mlp", "planted", "trained"], default="planted")
    parser.add_argument("--n", type=int, default=12)
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--seed", type=int, default=None, help="rewards' seed (default: n)")
    parser.add_argument("--models", type=int, default=1, help="sweep, stall, float32, trace, rho: 2 for the joint problem")
    parser.add_argument("--values", type=float, nargs="+", default=[1.0, 1.2])
    parser.add_argument("--order-scale", type=float, default=solver._ORDER_SCALE, help="for rho and multilevel")
    parser.add_argument("--at", type=int, nargs="+", default=[1000, 2000], help="repair: iteration counts")
    parser.add_argument("--top", type=int, default=0, help="repair: |D| - 1 (0: every violated subset)")
    args = parser.parse_args()
    if args.mode == "lprepair" and args.models != 1:
        parser.error("lprepair: the LP repair is for one model only (--models 1)")
    solver._ORDER_SCALE = args.order_scale
    torch.set_num_threads(1)
    warnings.simplefilter("ignore", RuntimeWarning)
    models = args.models if args.mode in ("sweep", "stall", "float32", "trace", "rho") else 1
    v, batch = rewards(args.kind, args.n, args.samples, args.seed, models), args.samples
    print(f"{args.mode}: {args.kind} rewards, n = {args.n}, {batch} samples, {args.models} model(s), "
          f"order scale {solver._ORDER_SCALE}")
    if args.mode == "scale":
        for c in args.values:
            solver._ORDER_SCALE = c
            report(f"order scale {c}", lambda: solver.extract(v), batch)
    elif args.mode in ("sweep", "stall", "lprepair", "float32"):
        extract = solver.extract if args.models == 1 else solver.extract_joint
        if args.mode == "lprepair":
            solver._REPAIR_MIN_PLAYERS = min(solver._REPAIR_MIN_PLAYERS, args.n)
        for value in args.values:
            if args.mode == "sweep":
                solver._SWEEP_WINDOW = value
            elif args.mode == "stall":
                solver._STALL_ITERATIONS = int(value)
            elif args.mode == "lprepair":
                solver._REPAIR_SUBSETS = int(value)
            else:
                solver._FLOAT32_MAX_PLAYERS = int(value)
            report(f"{args.mode} {value:g}", lambda: extract(v), batch)
    elif args.mode == "repair":
        repair_report(v, args.at, args.top)
    elif args.mode == "trace":
        trace_report(v, args.models)
    elif args.mode == "crossover":
        budget = solver._settings(2**args.n, SolverOptions(), 1.0, 1).crossover_effects  # the solver's own budget
        crossover_report(v, budget)
    elif args.mode == "joint":
        solver._JOINT_CROSSOVER_MIN_PLAYERS = min(solver._JOINT_CROSSOVER_MIN_PLAYERS, args.n)
        joint_report(args.n, batch)
    elif args.mode == "rho":
        extract = solver.extract if args.models == 1 else solver.extract_joint
        runs = [report(f"rho_scale {r}", functools.partial(extract, v, rho_scale=r), batch) for r in args.values]
        best = torch.stack([run.extra["iterations"] for run in runs]).amin(0).double()
        print(f"per-sample best rho_scale: it mean {best.mean():.0f}")
    else:
        report("cold", lambda: solver.extract(v), batch)
        for with_dual in (False, True):

            def from_pairs(with_dual: bool = with_dual) -> Interactions:  # the coarse solve counts in the time
                return solver.extract(v, warm_start=multilevel_start(v, with_dual))

            report(f"pairs{' + dual' if with_dual else ''}", from_pairs, batch)


if __name__ == "__main__":
    main()
