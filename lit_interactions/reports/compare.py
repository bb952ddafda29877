"""The numbers of a cross-run comparison, from the runs' stored interactions (no model is reloaded).

For K >= 2 runs measured on the same probe samples and players, at one epoch:

- eta^avg agreement of every pair (paper 2 Fig. 5-7): Pearson, Spearman, top-q overlap of the confusing sets;
- generalizable interactions extracted jointly (:func:`extract_joint` on the stored rewards ``[K, B, 2^n]``)
  against each model's own sparsest interactions (the stored ones): transferability over ``k / 2^n`` and the
  shared strength per order (paper 1 Fig. 3-4). Salience uses each run's own tau of that epoch (it depends only
  on the rewards, so the joint and the own interactions of a model are judged by the same threshold).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any, Protocol, cast

import numpy as np
import torch
from tqdm.auto import tqdm

from lit_interactions.analysis import DEFAULT_QS, EtaAgreement, eta_agreement
from lit_interactions.interactions import Interactions, SolverOptions, extract_joint
from lit_interactions.interactions.transfer import TRANSFER_RATIOS, SharedByOrder, shared_by_order
from lit_interactions.reports.artifacts import RunArtifacts
from lit_interactions.reports.compare_sparsity import (
    KINDS as KINDS,  # re-exported: the pages import it from here
)
from lit_interactions.reports.compare_sparsity import (
    AlphaStep,
    SparsityCurves,
    alpha_sweep,
    check_alphas,
    transfer_curves,
)


class IncompatibleRunsError(ValueError):
    """The runs cannot be compared (other probe samples, players, or no common epoch)."""


@dataclass(frozen=True)
class CompareOptions:
    """Settings of a comparison.

    Attributes:
        epoch: the measured epoch compared; None = the last epoch every run measured.
        qs: top-q fractions of the confusing sets.
        ratios: ``k / 2^n`` of the transferability curves.
        alpha: :func:`extract_joint`'s weight of the sum over models.
        shared_bound: :func:`extract_joint`'s bound of the model-specific decomposition.
        solver: :class:`SolverOptions` fields of the joint extraction (e.g. ``{"tol": 1e-4}``); the noise ratio
            not given here is the runs' own (their monitor's), the other fields the solver's defaults.
        alpha_sweep: alphas of an extra joint extraction each (paper 1 App. J); empty = no sweep.
    """

    epoch: int | None = None
    qs: tuple[float, ...] = DEFAULT_QS
    ratios: tuple[float, ...] = TRANSFER_RATIOS
    alpha: float = 0.1
    shared_bound: float = 0.5
    solver: Mapping[str, Any] = field(default_factory=dict)
    alpha_sweep: tuple[float, ...] = ()


@dataclass
class SharedStrength:
    """Shared salient strength per model and order, summed over the probe samples (paper 1 Fig. 4).

    Attributes:
        shared_pos, shared_neg, total_pos, total_neg: ``[K, n + 1]`` (see :class:`SharedByOrder`).
    """

    shared_pos: np.ndarray
    shared_neg: np.ndarray
    total_pos: np.ndarray
    total_neg: np.ndarray

    @classmethod
    def from_result(cls, result: SharedByOrder) -> SharedStrength:
        """Sum a :class:`SharedByOrder` of batch shape ``[K, B]`` over the samples."""
        def total(t: torch.Tensor) -> np.ndarray:
            return t.double().sum(dim=1).numpy()

        return cls(total(result.shared_pos), total(result.shared_neg), total(result.total_pos), total(result.total_neg))

    def share(self) -> np.ndarray:
        """``[K]``: shared / total salient strength over all orders (0 without salient interactions)."""
        shared = (self.shared_pos - self.shared_neg)[:, 1:].sum(1)
        whole = (self.total_pos - self.total_neg)[:, 1:].sum(1)
        return np.divide(shared, whole, out=np.zeros_like(shared), where=whole > 0)

    def ratio_by_order(self) -> tuple[np.ndarray, np.ndarray]:
        """``([K, n + 1], [K, n + 1])``: shared / total positive and negative strength per order (0 if none)."""
        def ratio(part: np.ndarray, whole: np.ndarray) -> np.ndarray:
            return np.divide(part, whole, out=np.zeros_like(part), where=whole != 0) + 0.0  # no -0.0

        return ratio(self.shared_pos, self.total_pos), ratio(self.shared_neg, self.total_neg)


@dataclass
class Comparison:
    """The result of :func:`compare_runs`.

    Attributes:
        labels: a name per run (unique).
        paths: the run directories.
        epoch: the compared epoch.
        ids: ``[B]`` probe sample ids, in the runs' order.
        players: ``[B, n]`` the players of each probe sample (the same in every run).
        n_players: players per sample.
        tau: ``[K]`` each run's salience threshold at that epoch.
        eta: ``[K, B]`` eta^avg of each run's own interactions (as its monitor reported them).
        agreements: ``{(i, j): EtaAgreement}`` for every pair ``i < j``.
        ratios: the transferability ratios.
        transfer_own: ``{"AND" | "OR": [R]}`` mean transferability over samples of the own interactions.
        transfer_joint: the same for the jointly extracted interactions.
        shared_own: shared strength of the own interactions.
        shared_joint: shared strength of the joint interactions.
        own: ``[K, B, 2^n]`` the stored interactions.
        joint: ``[K, B, 2^n]`` the joint extraction.
        sparsity: sorted ``|I|`` per model: Harsanyi, own and joint (paper 1 Fig. 2).
        sweep: the joint extraction at each of ``options.alpha_sweep`` (paper 1 App. J).
        options: the settings used.
    """

    labels: list[str]
    paths: list[Path]
    epoch: int
    ids: np.ndarray
    players: torch.Tensor
    n_players: int
    tau: np.ndarray
    eta: np.ndarray
    agreements: dict[tuple[int, int], EtaAgreement]
    ratios: tuple[float, ...]
    transfer_own: dict[str, np.ndarray]
    transfer_joint: dict[str, np.ndarray]
    shared_own: SharedStrength
    shared_joint: SharedStrength
    own: Interactions
    joint: Interactions
    sparsity: SparsityCurves
    sweep: list[AlphaStep] = field(default_factory=list)
    options: CompareOptions = field(default_factory=CompareOptions)

    def pair_label(self, pair: tuple[int, int]) -> str:
        """``"A vs B"`` for a pair of run indices."""
        return f"{self.labels[pair[0]]} vs {self.labels[pair[1]]}"

    def joint_objective_ratio(self) -> float:
        """Sum of the joint interactions' ``|I|`` over the own ones' (>= 1: sharing costs sparsity)."""
        return float(self.joint.objective().sum() / self.own.objective().sum())

    def to_json(self) -> dict[str, Any]:
        """The numbers as plain JSON data (see docs/reports.md for their meaning)."""
        orders = list(range(self.n_players + 1))
        pos_own, neg_own = self.shared_own.ratio_by_order()
        pos_joint, neg_joint = self.shared_joint.ratio_by_order()
        return {
            "runs": [{"label": label, "path": str(path), "tau": float(tau)}
                     for label, path, tau in zip(self.labels, self.paths, self.tau)],
            "epoch": self.epoch,
            "probe_ids": self.ids.tolist(),
            "n_players": self.n_players,
            "eta": {label: row.tolist() for label, row in zip(self.labels, self.eta)},
            "eta_agreement": [
                {"a": self.labels[i], "b": self.labels[j], "n": agree.n, "pearson": agree.pearson,
                 "spearman": agree.spearman, "note": agree.note,
                 "top_q": [{"q": q, "overlap": agree.overlap[q], "chance": agree.chance[q]} for q in agree.overlap]}
                for (i, j), agree in self.agreements.items()
            ],
            "transferability": {
                "ratios": list(self.ratios),
                "own": {kind: values.tolist() for kind, values in self.transfer_own.items()},
                "joint": {kind: values.tolist() for kind, values in self.transfer_joint.items()},
            },
            "shared_by_order": {
                "orders": orders,
                "own": {"share": dict(zip(self.labels, self.shared_own.share().tolist())),
                        "ratio_pos": dict(zip(self.labels, pos_own.tolist())),
                        "ratio_neg": dict(zip(self.labels, neg_own.tolist()))},
                "joint": {"share": dict(zip(self.labels, self.shared_joint.share().tolist())),
                          "ratio_pos": dict(zip(self.labels, pos_joint.tolist())),
                          "ratio_neg": dict(zip(self.labels, neg_joint.tolist()))},
            },
            "joint_extraction": {
                "alpha": self.options.alpha, "shared_bound": self.options.shared_bound,
                "noise_ratio": self.joint.settings.get("noise_ratio"), "tol": self.joint.settings.get("tol"),
                "objective_ratio_joint_over_own": self.joint_objective_ratio(),
                "duality_gap_max": self.joint.settings.get("duality_gap_max"),
            },
            "sparsity": self.sparsity.to_json(),
            "alpha_sweep": [step.to_json() for step in self.sweep],
        }

    def scalars(self) -> dict[str, float]:
        """Flat summary numbers (for a wandb summary)."""
        out: dict[str, float] = {"epoch": float(self.epoch), "num_samples": float(len(self.ids))}
        for (i, j), agree in self.agreements.items():
            out.update(agree.to_scalars(f"eta_agreement/{self.labels[i]}_vs_{self.labels[j]}"))
        for extraction, shared in (("own", self.shared_own), ("joint", self.shared_joint)):
            for label, share in zip(self.labels, shared.share()):
                out[f"shared_share/{extraction}/{label}"] = float(share)
        for extraction, curves in (("own", self.transfer_own), ("joint", self.transfer_joint)):
            for kind, values in curves.items():
                out[f"transferability/{extraction}/{kind}/mean"] = float(values.mean())
        out["joint/objective_ratio"] = self.joint_objective_ratio()
        return out


class Labelled(Protocol):
    """Anything with a run label (a run's artifacts, a group's run)."""

    label: str


def unique_labels(runs: Sequence[Labelled]) -> list[str]:
    """The runs' labels, with ``#2``, ``#3`` ... appended to repeats."""
    seen: dict[str, int] = {}
    labels = []
    for run in runs:
        seen[run.label] = seen.get(run.label, 0) + 1
        labels.append(run.label if seen[run.label] == 1 else f"{run.label}#{seen[run.label]}")
    return labels


def common_epoch(runs: Sequence[RunArtifacts], epoch: int | None = None) -> int:
    """``epoch`` if every run measured it, else (for None) the last epoch all runs measured."""
    shared = sorted(set.intersection(*(set(run.epochs) for run in runs)))
    listing = "; ".join(f"{run.path}: {run.epochs}" for run in runs)
    if epoch is not None:
        if epoch not in shared:
            raise IncompatibleRunsError(
                f"not every run measured epoch {epoch} (measured epochs: {listing}); choose --epoch among {shared}"
            )
        return epoch
    if not shared:
        raise IncompatibleRunsError(
            f"the runs have no measured epoch in common ({listing}); measure them at common epochs "
            f"(the monitor's every_n_epochs) or compare runs that did"
        )
    return shared[-1]


def check_compatible(runs: Sequence[RunArtifacts], results: Sequence[Interactions]) -> None:
    """Refuse runs whose interactions are not on the same probe samples and players, with the fix.

    Raises:
        IncompatibleRunsError: naming the runs and what differs.
    """
    first, first_result = runs[0], results[0]
    ids_a = first_result.extra["ids"].tolist()
    for run, result in zip(runs[1:], results[1:]):
        where = f"{first.path} (A) and {run.path} (B)"
        if result.n_players != first_result.n_players:
            raise IncompatibleRunsError(
                f"{where} have {first_result.n_players} and {result.n_players} players per sample; compare runs "
                f"monitored with the same players (--interactions.init_args.probe.players_from "
                f"{first.interactions_dir / 'players.pt'})"
            )
        ids_b = result.extra["ids"].tolist()
        if ids_b != ids_a:
            shared = len(set(ids_a) & set(ids_b))
            raise IncompatibleRunsError(
                f"{where} measured different probe samples: A {ids_a[:10]}{'...' if len(ids_a) > 10 else ''}, "
                f"B {ids_b[:10]}{'...' if len(ids_b) > 10 else ''} ({shared} in common, {len(ids_a)} and "
                f"{len(ids_b)} in all). Train both with the same data settings (data module, split_seed, num_probe) "
                f"and the same monitor num_probe"
            )
        if first.selection.kind != run.selection.kind or first.selection.settings != run.selection.settings:
            raise IncompatibleRunsError(
                f"{where} chose players of another kind or geometry: A {first.selection.kind} "
                f"{first.selection.settings}, B {run.selection.kind} {run.selection.settings}; train B with A's "
                f"players: --interactions.init_args.probe.players_from {first.interactions_dir / 'players.pt'}"
            )
        players_a, players_b = first_result.extra["players"], result.extra["players"]
        differ = (players_a != players_b).any(-1)
        if bool(differ.any()):
            row = int(torch.nonzero(differ)[0])
            raise IncompatibleRunsError(
                f"{where} used different players on {int(differ.sum())} of {len(ids_a)} probe samples (e.g. sample "
                f"{ids_a[row]}: A {players_a[row].tolist()}, B {players_b[row].tolist()}): each monitor chose its "
                f"own players on its initial model. Train B with A's players: "
                f"--interactions.init_args.probe.players_from {first.interactions_dir / 'players.pt'} (the monitor's "
                f"players_from option)"
            )


def _stack(results: Sequence[Interactions]) -> Interactions:
    """``[K, B, 2^n]`` of K results of batch shape ``[B]`` (float64)."""
    fields = ("and_effects", "or_effects", "noise", "gamma", "rewards", "bias")
    stacked = {name: torch.stack([getattr(r, name).double() for r in results]) for name in fields}
    return Interactions(**cast(dict[str, Any], stacked), n_players=results[0].n_players, settings=dict(results[0].settings))


def compare_runs(runs: Sequence[RunArtifacts], options: CompareOptions | None = None) -> Comparison:
    """Compare ``K >= 2`` runs on their common probe samples and players at one epoch.

    Raises:
        ValueError: for fewer than 2 runs or a swept alpha outside ``[0, 1]``.
        IncompatibleRunsError: if the runs do not share probe samples, players or a measured epoch.
    """
    options = options or CompareOptions()
    if len(runs) < 2:
        raise ValueError(f"compare needs at least 2 runs, got {len(runs)}")
    check_alphas(options.alpha_sweep)
    epoch = common_epoch(runs, options.epoch)
    results = [run.interactions(epoch) for run in runs]
    check_compatible(runs, results)
    own = _stack(results)
    tau = np.array([float(r.settings["tau"]) for r in results])
    solver = SolverOptions.merged({"noise_ratio": float(results[0].settings["noise_ratio"])}, dict(options.solver))
    models, samples = own.rewards.shape[:2]
    with tqdm(total=1, desc="compare", leave=False, unit="step") as status:  # one long solve: say what runs
        status.set_postfix_str(f"joint extraction of {models} models x {samples} samples")
        joint = extract_joint(own.rewards, solver, alpha=options.alpha, shared_bound=options.shared_bound)
        status.update()
    sweep = alpha_sweep(own, options.alpha_sweep, options.ratios, shared_bound=options.shared_bound,
                        solver=solver) if options.alpha_sweep else []
    threshold = torch.as_tensor(tau, dtype=torch.float64)
    eta = np.stack([r.eta(float(t)).double().numpy() for r, t in zip(results, tau)])
    agreements = {(i, j): eta_agreement(eta[i], eta[j], options.qs) for i, j in combinations(range(len(runs)), 2)}
    return Comparison(
        labels=unique_labels(runs),
        paths=[run.path for run in runs],
        epoch=epoch,
        ids=results[0].extra["ids"].numpy().astype(np.int64),
        players=results[0].extra["players"],
        n_players=results[0].n_players,
        tau=tau,
        eta=eta,
        agreements=agreements,
        ratios=tuple(options.ratios),
        transfer_own=transfer_curves(own, options.ratios),
        transfer_joint=transfer_curves(joint, options.ratios),
        shared_own=SharedStrength.from_result(shared_by_order(own, threshold)),
        shared_joint=SharedStrength.from_result(shared_by_order(joint, threshold)),
        own=own,
        joint=joint,
        sparsity=SparsityCurves.from_results(unique_labels(runs), own, joint),
        sweep=sweep,
        options=options,
    )
