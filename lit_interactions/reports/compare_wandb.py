"""What the comparison's wandb run holds: tables with a ``run`` column and native wandb charts, no run-named keys.

Keys never embed a run's name, so the comparisons of several groups line up in one dashboard: every per-run or
per-pair number is a row of a table (columns ``run``, or ``run_a`` and ``run_b``), and the summary holds only
numbers that describe the whole comparison.

- ``compare/runs`` (table): run, directory, wandb group, tau, mean eta^avg, shared share of the own and the joint
  interactions.
- ``compare/eta`` (table): sample_id, run, eta^avg.
- ``compare/eta_agreement`` (table): run_a, run_b, samples, Pearson, Spearman, top-q overlap and chance per q.
- ``compare/eta_scatter`` (scatter): eta^avg of run_a (x) against run_b (y) per sample, every pair.
- ``compare/transferability`` (line): transferability over ``k / 2^n``, one line per AND/OR and own/joint.
- ``compare/shared_by_order`` (line): shared / total salient strength per order, one line per run, own/joint
  interactions and sign.
- ``compare/shared_share`` (bar): shared / total salient strength per run and own/joint interactions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from lit_interactions.io.wandb_charts import WandbChart
from lit_interactions.reports.compare import KINDS, Comparison

EXTRACTIONS = ("own", "joint")


@dataclass(frozen=True)
class ComparisonLog:
    """The comparison's wandb content: ``summary`` scalars, plain ``tables`` and ``charts``."""

    summary: dict[str, float]
    tables: dict[str, tuple[list[str], list[list[Any]]]]
    charts: dict[str, WandbChart]


def comparison_log(comparison: Comparison, groups: list[str]) -> ComparisonLog:
    """The tables, charts and summary of ``comparison`` (``groups``: each run's wandb group)."""
    c = comparison
    shared = {"own": c.shared_own.share(), "joint": c.shared_joint.share()}
    runs = [[label, str(path), group, float(tau), float(eta.mean()), float(shared["own"][k]),
             float(shared["joint"][k])]
            for k, (label, path, group, tau, eta) in enumerate(zip(c.labels, c.paths, groups, c.tau, c.eta))]
    eta_rows = [[int(i), label, float(c.eta[k, b])] for k, label in enumerate(c.labels) for b, i in enumerate(c.ids)]
    qs = list(c.options.qs)
    agreement_rows = [
        [c.labels[i], c.labels[j], a.n, a.pearson, a.spearman, *[v for q in qs for v in (a.overlap[q], a.chance[q])]]
        for (i, j), a in c.agreements.items()
    ]
    tables = {
        "compare/runs": (["run", "directory", "group", "tau", "eta_mean", "shared_share_own", "shared_share_joint"],
                         runs),
        "compare/eta": (["sample_id", "run", "eta"], eta_rows),
        "compare/eta_agreement": (
            ["run_a", "run_b", "samples", "pearson", "spearman",
             *[f"top_{q:g}_{name}" for q in qs for name in ("overlap", "chance")]],
            agreement_rows,
        ),
    }
    return ComparisonLog(_summary(c), tables, _charts(c, shared))


def _charts(c: Comparison, shared: dict[str, np.ndarray]) -> dict[str, WandbChart]:
    scatter = [[f"{c.labels[i]} vs {c.labels[j]}", int(sample), c.labels[i], c.labels[j], float(c.eta[i, b]),
                float(c.eta[j, b])]
               for (i, j) in c.agreements for b, sample in enumerate(c.ids)]
    curves = {"own": c.transfer_own, "joint": c.transfer_joint}
    transfer = [[float(ratio), kind, extraction, f"{kind} {extraction}", float(curves[extraction][kind][p])]
                for extraction in EXTRACTIONS for kind in KINDS for p, ratio in enumerate(c.ratios)]
    by_order = []
    for extraction, strength in (("own", c.shared_own), ("joint", c.shared_joint)):
        for sign, ratios in zip(("positive", "negative"), strength.ratio_by_order()):
            for k, label in enumerate(c.labels):
                by_order += [[label, extraction, sign, order, f"{label} {extraction} {sign}", float(ratios[k, order])]
                             for order in range(c.n_players + 1)]
    share = [[label, extraction, f"{label} {extraction}", float(shared[extraction][k])]
             for extraction in EXTRACTIONS for k, label in enumerate(c.labels)]
    return {
        "compare/eta_scatter": WandbChart(
            "scatter", ("pair", "sample_id", "run_a", "run_b", "eta_a", "eta_b"), scatter, x="eta_a", y="eta_b",
            title=f"eta^avg of run_a (x) and run_b (y) per probe sample, epoch {c.epoch}"),
        "compare/transferability": WandbChart(
            "line", ("ratio", "kind", "interactions", "series", "transferability"), transfer, x="ratio",
            y="transferability", group="series", title="transferability over k / 2^n (own vs joint interactions)"),
        "compare/shared_by_order": WandbChart(
            "line", ("run", "interactions", "sign", "order", "series", "shared_ratio"), by_order, x="order",
            y="shared_ratio", group="series", title="shared / total salient strength per order"),
        "compare/shared_share": WandbChart(
            "bar", ("run", "interactions", "label", "share"), share, x="label", y="share",
            title="shared / total salient strength per run"),
    }


def _summary(c: Comparison) -> dict[str, float]:
    """Numbers of the whole comparison (no run names in the keys)."""
    pearson = [a.pearson for a in c.agreements.values()]
    spearman = [a.spearman for a in c.agreements.values()]
    out = {
        "epoch": float(c.epoch), "num_runs": float(len(c.labels)), "num_samples": float(len(c.ids)),
        "eta_agreement/pearson_mean": float(np.mean(pearson)), "eta_agreement/spearman_mean": float(np.mean(spearman)),
        "joint/objective_ratio": c.joint_objective_ratio(),
    }
    for extraction, curves in (("own", c.transfer_own), ("joint", c.transfer_joint)):
        for kind, values in curves.items():
            out[f"transferability/{extraction}/{kind}/mean"] = float(values.mean())
    return out
