"""The outputs of ``lit-interactions compare``: figures, ``compare.html``, ``compare.json`` and a wandb run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import numpy as np

from lit_interactions.analysis import (
    alpha_sweep_figure,
    eta_scatter_figure,
    player_labels,
    shared_and_distinctive,
    shared_by_order_figure,
    sparsity_figure,
    transferability_figure,
)
from lit_interactions.io.files import write_json
from lit_interactions.reports.artifacts import RunArtifacts
from lit_interactions.reports.compare import KINDS, Comparison
from lit_interactions.reports.compare_wandb import comparison_log
from lit_interactions.reports.html import FigureRef, Section, Table, write_page
from lit_interactions.reports.samples import SampleDrawer, describe, save
from lit_interactions.reports.wandb_run import WandbMode, log_run


@dataclass
class CompareOutput:
    """Where a comparison was written."""

    html: Path
    json: Path
    wandb_dir: Path | None


def default_out_dir(root: str | Path = "runs") -> Path:
    """``runs/compare/<timestamp>``."""
    return Path(root) / "compare" / datetime.now().strftime("%Y%m%d-%H%M%S-%f")


def choose_sample(comparison: Comparison, sample_id: int | None) -> int:
    """Position of ``sample_id`` among the probe samples; None = the sample with the most shared interactions.

    Raises:
        ValueError: if ``sample_id`` is not a compared probe sample.
    """
    ids = comparison.ids.tolist()
    if sample_id is not None:
        if sample_id not in ids:
            raise ValueError(f"sample {sample_id} is not among the compared probe samples {ids}")
        return ids.index(sample_id)
    counts = [shared_and_distinctive(comparison.joint[:, b], comparison.tau).num_shared for b in range(len(ids))]
    return int(np.argmax(counts))


def _agreement_section(comparison: Comparison, out_dir: Path) -> Section:
    rows, figures = [], []
    for (i, j), agree in comparison.agreements.items():
        fig = eta_scatter_figure(comparison.eta[i], comparison.eta[j], (comparison.labels[i], comparison.labels[j]),
                                 agree)
        figures.append(save(fig, out_dir, f"eta_scatter_{i}_{j}", f"eta^avg per probe sample: {comparison.pair_label((i, j))}"))
        overlaps = [agree.overlap[q] for q in agree.overlap]
        rows.append([comparison.pair_label((i, j)), agree.n, agree.pearson, agree.spearman, *overlaps])
    qs = list(next(iter(comparison.agreements.values())).overlap)
    chance = next(iter(comparison.agreements.values())).chance
    return Section(
        "Confusing samples: eta^avg agreement", "eta-agreement",
        paragraphs=[
            f"eta^avg (the average order of a probe sample's salient interactions) of each run at epoch "
            f"{comparison.epoch}, compared pairwise on the same {len(comparison.ids)} probe samples (paper 2 Fig. "
            f"5-7). The top-q overlap is |A_q ∩ B_q| / |A_q| of the two runs' confusing sets (the q largest eta); "
            f"chance is {', '.join(f'{chance[q]:.2f} for q = {q:g}' for q in qs)}.",
        ],
        tables=[Table(["pair", "samples", "Pearson", "Spearman", *[f"top {q:g} overlap" for q in qs]], rows)],
        figures=figures,
    )


def _sharing_section(comparison: Comparison, out_dir: Path) -> Section:
    curves = {f"{kind}, {name}": values[kind] for kind in KINDS
              for name, values in (("own sparsest", comparison.transfer_own), ("joint", comparison.transfer_joint))}
    figures = [save(transferability_figure(comparison.ratios, curves), out_dir, "transferability",
                    "Transferability s of the top-k interactions (k = ratio x 2^n), mean over probe samples: "
                    "each model's own sparsest interactions against the jointly extracted ones (paper 1 Fig. 3)")]
    for name, shared in (("own", comparison.shared_own), ("joint", comparison.shared_joint)):
        fig = shared_by_order_figure(shared.shared_pos, shared.shared_neg, shared.total_pos, shared.total_neg,
                                     comparison.labels, f"{name} interactions")
        figures.append(save(fig, out_dir, f"shared_by_order_{name}",
                            f"Salient strength per order and the part every model shares ({name} interactions; "
                            f"paper 1 Fig. 4)"))
    transfer_rows = [[f"{ratio:g}", *[values[kind][r] for kind in KINDS for values in
                                      (comparison.transfer_own, comparison.transfer_joint)]]
                     for r, ratio in enumerate(comparison.ratios)]
    share_rows = [[label, own, joint] for label, own, joint in
                  zip(comparison.labels, comparison.shared_own.share(), comparison.shared_joint.share())]
    pos_own, neg_own = comparison.shared_own.ratio_by_order()
    pos_joint, neg_joint = comparison.shared_joint.ratio_by_order()
    order_rows = [[label, order, pos_own[m, order], pos_joint[m, order], neg_own[m, order], neg_joint[m, order]]
                  for m, label in enumerate(comparison.labels) for order in range(1, comparison.n_players + 1)]
    options = comparison.options
    return Section(
        "Shared interactions: joint extraction vs each model's own", "sharing",
        paragraphs=[
            f"Own: the sparsest interactions of each model, as its monitor stored them. Joint: the generalizable "
            f"interactions extracted from the same stored rewards of all {len(comparison.labels)} models at once "
            f"(alpha {options.alpha:g}, shared bound {options.shared_bound:g}, noise ratio "
            f"{comparison.joint.settings.get('noise_ratio'):g}). Salient: |I| > the run's tau. Their total |I| is "
            f"{comparison.joint_objective_ratio():.3f} times the own interactions' (the price of sharing).",
        ],
        tables=[
            Table(["model", "shared share, own", "shared share, joint"], share_rows,
                  "Share of each model's salient strength that every model has with the same sign"),
            Table(["k / 2^n", *[f"{kind} {name}" for kind in KINDS for name in ("own", "joint")]], transfer_rows,
                  "Transferability s (mean over probe samples)"),
            Table(["model", "order", "pos own", "pos joint", "neg own", "neg joint"], order_rows,
                  "Shared / salient strength per order"),
        ],
        figures=figures,
    )


def _sparsity_section(comparison: Comparison, out_dir: Path) -> Section:
    names = {"harsanyi": "Harsanyi (gamma = 0)", "own": "own sparsest", "joint": "joint"}
    curves = {names[name]: per_model for name, per_model in comparison.sparsity.curves.items()}
    figures = [save(sparsity_figure(curves, comparison.labels), out_dir, "sparsity",
                    "Strength |I| of all AND-OR interactions of all probe samples in descending order, per model "
                    "(paper 1 Fig. 2)")]
    rows = [[label, *[float((comparison.sparsity.curves[name][m] > tau).mean()) for name in names]]
            for m, (label, tau) in enumerate(zip(comparison.labels, comparison.tau))]
    tables = [Table(["model", *[f"salient share, {text}" for text in names.values()]], rows,
                    "Share of the interactions with |I| > the run's tau")]
    paragraphs = [
        "Sparsity (paper 1 Fig. 2): each model's AND and OR interactions of every probe sample, pooled and sorted "
        "by strength. Harsanyi: gamma = 0 and no noise, i.e. the Harsanyi interactions of v / 2 and their OR "
        "counterpart (2 (2^n - 1) per sample, as the own and the joint extractions). The empty set is left out."]
    if comparison.sweep:
        steps = comparison.sweep
        figures.append(save(
            alpha_sweep_figure([s.alpha for s in steps], [s.transfer for s in steps], comparison.ratios,
                               [s.strength for s in steps]),
            out_dir, "alpha_sweep", "Joint extraction at each alpha: transferability and sparsity (paper 1 App. J)"))
        tables.append(Table(
            ["alpha", *[f"{kind} transferability (mean)" for kind in KINDS], "total |I| / own", "duality gap"],
            [[s.alpha, *[float(s.transfer[kind].mean()) for kind in KINDS], s.objective_ratio, s.duality_gap_max]
             for s in steps],
            "Joint extraction per alpha (transferability: mean over the ratios k / 2^n and the probe samples)"))
        paragraphs.append(
            "Alpha sweep (paper 1 App. J): the joint extraction repeated for each alpha of --alpha-sweep. alpha = 0 "
            "penalises only the largest |I| over the models (Eq. 5); alpha = 1 penalises the sum, which separates "
            "into one sparsest extraction per model.")
    return Section("Sparsity of the interactions", "sparsity", paragraphs=paragraphs, tables=tables,
                   figures=figures)


def _sample_section(comparison: Comparison, runs: Sequence[RunArtifacts], out_dir: Path, position: int,
                    strongest: int) -> tuple[Section, dict[str, Any]]:
    sample_id = int(comparison.ids[position])
    split = shared_and_distinctive(comparison.joint[:, position], comparison.tau, strongest)
    drawer = SampleDrawer(runs[0], out_dir)
    row = comparison.players[position]
    labels = None
    if drawer.available and runs[0].players() is None:
        labels = player_labels(None, row, cast(list[str], drawer.view(sample_id)))  # a text run: words
    info = {
        "sample_id": sample_id,
        "num_shared": split.num_shared,
        "num_salient": dict(zip(comparison.labels, split.num_salient)),
        "shared": [r._asdict() for r in split.shared],
        "distinctive": {label: [r._asdict() for r in records]
                        for label, records in zip(comparison.labels, split.distinctive)},
    }
    figures: list[FigureRef] = []
    figure = drawer.draw(f"sample_{sample_id}_shared", sample_id, row, split.shared,
                         f"sample {sample_id}: the {len(split.shared)} strongest interactions shared by all models "
                         f"(joint extraction, mean effect)")
    figures += [figure] if figure else []
    for m, (label, records) in enumerate(zip(comparison.labels, split.distinctive)):
        figure = drawer.draw(f"sample_{sample_id}_distinctive_{m}", sample_id, row, records,
                             f"sample {sample_id}: the strongest interactions distinctive of {label}")
        figures += [figure] if figure else []
    rows = [["shared", split.num_shared, describe(split.shared, labels)]]
    rows += [[f"distinctive of {label}", count - split.num_shared, describe(records, labels)]
             for label, count, records in zip(comparison.labels, split.num_salient, split.distinctive)]
    section = Section(
        f"Shared and distinctive interactions of sample {sample_id}", "sample",
        paragraphs=[
            f"Joint extraction, epoch {comparison.epoch}. Shared: salient in every model with the same sign; "
            f"distinctive: salient in one model but not shared (paper 1 Fig. 5). Red: positive effect, blue: "
            f"negative. The sample is the one with the most shared interactions unless --sample chose it.",
        ],
        tables=[Table(["interactions", "count", f"strongest {strongest}"], rows)],
        figures=figures,
        missing=drawer.error,
    )
    return section, info


def write_comparison(
    comparison: Comparison,
    runs: Sequence[RunArtifacts],
    out_dir: Path,
    *,
    sample_id: int | None = None,
    strongest: int = 3,
    wandb_mode: WandbMode = "offline",
) -> CompareOutput:
    """Write the figures, ``compare.html``, ``compare.json`` and the wandb comparison run into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    position = choose_sample(comparison, sample_id)
    runs_table = Table(["run", "directory", "wandb group", "measured epochs", "tau"],
                       [[label, str(run.path), run.wandb_group, run.epochs, tau]
                        for label, run, tau in zip(comparison.labels, runs, comparison.tau)])
    overview = Section("Runs", "runs", paragraphs=[
        f"{len(runs)} runs compared at epoch {comparison.epoch} (the last epoch all measured unless --epoch was "
        f"given) on {len(comparison.ids)} probe samples with {comparison.n_players} players each."],
        tables=[runs_table])
    sample_section, sample_info = _sample_section(comparison, runs, out_dir, position, strongest)
    sections = [overview, _agreement_section(comparison, out_dir), _sharing_section(comparison, out_dir),
                _sparsity_section(comparison, out_dir), sample_section]
    data = {**comparison.to_json(), "sample": sample_info,
            "figures": [f.src for s in sections for f in s.figures]}
    json_path = out_dir / "compare.json"
    write_json(json_path, data)
    html = write_page(out_dir / "compare.html", "Comparison of runs",
                      " vs ".join(comparison.labels) + f", epoch {comparison.epoch}", sections)
    group = runs[0].wandb_group
    logged = comparison_log(comparison, [r.wandb_group for r in runs])
    wandb_dir = log_run(
        out_dir, mode=wandb_mode, project=str(runs[0].run_settings.get("project") or "lit-interactions"),
        group=group, job_type="compare", name=f"compare/{out_dir.name}",
        config={"runs": [str(r.path) for r in runs], "labels": comparison.labels, "epoch": comparison.epoch,
                "groups": [r.wandb_group for r in runs], "alpha": comparison.options.alpha,
                "alpha_sweep": list(comparison.options.alpha_sweep),
                "shared_bound": comparison.options.shared_bound, "qs": list(comparison.options.qs)},
        summary=logged.summary, tables=logged.tables, charts=logged.charts,
        images={f"compare/{Path(f.src).stem}": (out_dir / f.src, f.caption) for s in sections for f in s.figures},
    )
    return CompareOutput(html, json_path, wandb_dir)
