"""The claims table: one small experiment per claim of the two papers, >= 3 seeds, on the embedded MNIST-3 digits.

Per seed ``s`` it fits, with the package's CLI (``configs/quickstart.yaml``, a ResNet-20 on 28x28 digits, made
smaller by flags):

- ``A``: half 0 of the training digits (``train_subset 0``), seed ``s``, with the interaction monitor every epoch
  (its history gives the two-phase turn and the gap widening);
- ``B``: the baseline DNN, half 1, seed ``s + 100``, no transplant;
- ``C``: half 1, seed ``s + 200``, with A's first ``LOW_LAYERS`` parameter layers transplanted and frozen (paper 2
  Sec. 3: models that share low layers);
- for the App. D claim, three fine-tunes of A's whole network on half 0: plain, ``remove: high_order`` and
  ``remove: non_generalizable`` (baseline B).

It then measures A, B, C on the same ``PROBE`` (or ``--probe``) held-out probe digits with the same ``N_PLAYERS`` input patches
(chosen on A) through ``compute_rewards``/``extract``/``extract_joint`` and the analysis functions, and reduces
every claim to one number per seed, its **margin**, that the claim predicts to be > 0. The pass rule is fixed here,
before any run: a claim **holds** when its margin is > 0 in every seed (a seed whose experiment cannot measure it,
e.g. no turn found, counts as not > 0). Nothing is tuned to the result.

Results are cached as JSON per seed and step in ``<out>/seed<s>/`` (fits are reused from their checkpoints), so an
interrupted run resumes where it stopped; the table is printed from whatever finished.

    nice -n 10 python benchmarks/reproduce_small.py --seeds 0 1 2          # everything
    python benchmarks/reproduce_small.py --table-only                      # print the table of what finished
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "configs" / "quickstart.yaml"
QUIET = ["--run.wandb_mode=disabled", "--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false"]

# Scale (fixed before running; see docs/reproduction.md for why these sizes).
TRAIN_DIGITS = 256  # training digits of each half
EPOCHS = 6  # epochs of A, B, C
VAL_BATCHES = 4  # validation batches of 64 digits per epoch
PROBE = 16  # held-out probe digits measured (--probe: another run's scale, in its own --out folder)
N_PLAYERS = 8  # input patches per digit (256 masks)
MONITOR_PROBE = 6  # probe digits of A's monitor (the turn)
MONITOR_PLAYERS = 6  # players of A's monitor (high orders: 4..6)
PENALTY_PLAYERS = 6  # players of the App. D penalty (2 digits x 64 masks with gradients per step)
LOW_LAYERS = 3  # parameter layers C takes from A (conv1 + the first block of stage 1)
FINETUNE_EPOCHS = 2
CONFUSING = 0.1  # top fraction by eta^avg = confusing samples
TRANSFER_RATIO_INDEX = slice(None)  # all of paper 1's ratios 0.05..0.45


# -- the claims and their fixed pass rules ---------------------------------------------------------------------
@dataclass(frozen=True)
class Claim:
    """A claim of a paper, the number measured for it, and the margin that must be > 0 in every seed."""

    key: str
    paper: str
    text: str
    margin: str


CLAIMS = [Claim(**row) for row in csv.DictReader((ROOT / "benchmarks" / "reproduce_claims.csv").open(encoding="utf-8"))]


@dataclass(frozen=True)
class Row:
    """One printed line of the table."""

    claim: Claim
    margins: list[float | None]

    @property
    def measured(self) -> list[float]:
        return [m for m in self.margins if m is not None and math.isfinite(m)]

    @property
    def held(self) -> bool:
        """The fixed rule: >= 3 seeds, and the margin > 0 in every seed."""
        return len(self.margins) >= 3 and len(self.measured) == len(self.margins) and all(m > 0 for m in self.measured)

    def cells(self) -> list[str]:
        values = self.measured
        if not self.margins:
            return [self.claim.paper, self.claim.text, "not run", "-", "-"]
        mean = f"{statistics.fmean(values):+.3f}" if values else "-"
        spread = f"{statistics.stdev(values):.3f}" if len(values) >= 2 else "-"
        per_seed = ", ".join("none" if m is None else f"{m:+.3f}" for m in self.margins)
        verdict = "held" if self.held else ("not held" if len(self.margins) >= 3 else "too few seeds")
        return [self.claim.paper, self.claim.text, f"{mean} +- {spread} ({per_seed})", verdict, self.claim.margin]


def table(results: dict[int, dict[str, float | None]]) -> list[Row]:
    """One row per claim from ``{seed: {claim key: margin}}`` (a claim a seed did not reach is left out)."""
    seeds = sorted(results)
    return [Row(c, [results[s][c.key] for s in seeds if c.key in results[s]]) for c in CLAIMS]


def render(rows: list[Row]) -> str:
    """The table as Markdown."""
    lines = ["| paper | claim | margin: mean +- sd (per seed) | verdict | margin measured |", "| --- | --- | --- | --- | --- |"]
    lines += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    return "\n".join(lines)


# -- runs ----------------------------------------------------------------------------------------------------------
def _cached(path: Path, compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    if path.is_file():
        return json.loads(path.read_text())
    from lit_interactions.io.files import write_json

    value = compute()
    write_json(path, value)
    return value


def fit(out: Path, version: str, seed: int, flags: list[str]) -> Path:
    """Fit one run with the CLI (reused when its last checkpoint exists); its last checkpoint."""
    ckpt = out / "runs" / version / "checkpoints" / "last.ckpt"
    if ckpt.is_file():
        return ckpt
    from lit_interactions.cli import cli_main

    start = time.perf_counter()
    cli_main(["fit", "--config", str(QUICKSTART), f"--seed_everything={seed}", f"--trainer.max_epochs={EPOCHS}",
              "--data.init_args.train_subset_size", str(TRAIN_DIGITS),
              f"--trainer.limit_val_batches={VAL_BATCHES}", "--trainer.num_sanity_val_steps=0", f"--run.root={out}",
              "--run.name=runs", f"--run.version={version}", *QUIET, *flags])
    print(f"[{_now()}] fit {version}: {time.perf_counter() - start:.0f} s", flush=True)
    return ckpt


def part(name: str, **init_args: Any) -> dict[str, Any]:
    """A training part of the classifier as the CLI takes it (``class_path`` and ``init_args``)."""
    return {"class_path": f"lit_interactions.modules.{name}", "init_args": init_args}


def fit_pair(out: Path, seed: int) -> dict[str, Path]:
    """A (monitored) and B (the baseline DNN) of one seed."""
    a = fit(out, f"A-s{seed}", seed, [
        "--data.init_args.train_subset=0", f"--interactions.init_args.num_probe={MONITOR_PROBE}",
        f"--interactions.init_args.players.n_players={MONITOR_PLAYERS}", "--interactions.init_args.every_n_epochs=1",
        "--interactions.init_args.figures=false",
    ])
    b = fit(out, f"B-s{seed}", seed + 100, ["--data.init_args.train_subset=1", "--interactions=null"])
    return {"A": a, "B": b}


def fit_models(out: Path, seed: int) -> dict[str, Path]:
    """A, B and C (A's frozen low layers) of one seed."""
    a, b = fit_pair(out, seed).values()
    transplant = json.dumps(part("LayerTransplant", checkpoint=str(a), num_layers=LOW_LAYERS, freeze=True))
    c = fit(out, f"C-s{seed}", seed + 200, [
        "--data.init_args.train_subset=1", "--interactions=null", f"--model.init_args.transplant={transplant}",
    ])
    return {"A": a, "B": b, "C": c}


def fine_tunes(out: Path, seed: int, models: dict[str, Path]) -> dict[str, Path]:
    """Plain, high_order and non_generalizable fine-tunes of A's whole network on half 0 (App. D)."""
    base = ["--data.init_args.train_subset=0", "--interactions=null", "--model.init_args.lr=0.01",
            "--model.init_args.scheduler=constant",
            f"--model.init_args.transplant={json.dumps(part('LayerTransplant', checkpoint=str(models['A']), num_layers='all'))}"]
    regularizer = {"weight": 0.1, "min_order": 3, "num_samples": 2, "players": {"n_players": PENALTY_PLAYERS},
                   "every_n_steps": 1, "scale_invariant": True}
    runs = {}
    for mode in ("plain", "high_order", "non_generalizable"):
        flags = list(base)
        if mode != "plain":
            spec = {**regularizer, "remove": mode}
            if mode == "non_generalizable":
                spec["baseline"] = str(models["B"])
            flags.append(f"--model.init_args.regularizer={json.dumps(part('InteractionPenalty', **spec))}")
        runs[mode] = fit(out, f"FT-{mode}-s{seed}", seed, [*flags, f"--trainer.max_epochs={FINETUNE_EPOCHS}"])
    return runs


# -- measurements --------------------------------------------------------------------------------------------------
@dataclass
class Probe:
    """The probe digits as one batch, the players chosen on A, and each model's rewards on all masks."""

    batch: dict[str, Any]
    rewards: dict[str, torch.Tensor]
    losses: np.ndarray  # A's cross-entropy per probe digit


def measure(out: Path, seed: int, checkpoints: dict[str, Path], probe: int) -> Probe:
    """Rewards of every model on the first ``probe`` probe digits, on the players A chooses (cached)."""
    from lit_interactions.data import MNIST3DataModule
    from lit_interactions.models.checkpoints import load_network
    from lit_interactions.players import ImagePatchPlayers, compute_rewards

    dm = MNIST3DataModule(num_probe=200, train_subset=0, train_subset_size=TRAIN_DIGITS)
    dm.setup("fit")
    batch = dm.batch(dm.probe_ids[:probe])
    path = out / f"seed{seed}" / f"rewards-{'-'.join(sorted(checkpoints))}.json"

    def compute() -> dict[str, Any]:
        players = ImagePatchPlayers(n_players=N_PLAYERS, grid=5)
        networks = {name: load_network(ckpt, "reproduce_small")[0] for name, ckpt in checkpoints.items()}
        _, selection = compute_rewards(networks["A"], batch, players)
        rewards = {name: compute_rewards(net, batch, players, selection)[0].tolist() for name, net in networks.items()}
        with torch.no_grad():
            logits = networks["A"](batch["inputs"])
            losses = torch.nn.functional.cross_entropy(logits, batch["labels"], reduction="none")
        return {"rewards": rewards, "losses": losses.tolist(), "ids": batch["ids"].tolist()}

    cached = _cached(path, compute)
    if cached["ids"] != batch["ids"].tolist():
        raise SystemExit(f"{path} holds the rewards of {len(cached['ids'])} other probe digits, not these {probe}: "
                         f"measure into another --out")
    rewards = {k: torch.tensor(v, dtype=torch.float64) for k, v in cached["rewards"].items()}
    return Probe(batch=batch, rewards=rewards, losses=np.array(cached["losses"]))


def _h(main: str, base: str, probe: Probe) -> Any:
    from lit_interactions.interactions import extract, generalization_by_order, salience_threshold

    m, b = (extract(probe.rewards[k], noise_ratio=0.01) for k in (main, base))
    tau_m, tau_b = (salience_threshold(probe.rewards[k], 0.02) for k in (main, base))
    return generalization_by_order(m, b, tau_m, tau_b)


def _pooled(by_order: Any, orders: range) -> float:
    """``sum J / sum I`` over the given orders and all probe digits (pooled H)."""
    index = torch.tensor(list(orders))
    generalizable = (by_order.J_pos - by_order.J_neg)[..., index].sum()
    salient = (by_order.I_pos - by_order.I_neg)[..., index].sum()
    return float(generalizable / salient) if salient > 0 else float("nan")


def _eta(name: str, probe: Probe) -> np.ndarray:
    from lit_interactions.interactions import extract, salience_threshold
    from lit_interactions.interactions.salience import eta_from_strengths

    result = extract(probe.rewards[name], noise_ratio=0.01)
    tau = salience_threshold(probe.rewards[name], 0.02)
    pos, neg = result.strength_by_order(tau)
    return eta_from_strengths(pos, neg).numpy()


def claims_for_seed(out: Path, seed: int, n_probe: int) -> dict[str, float | None]:
    """Margins of the claims measured on the fitted models of one seed, on ``n_probe`` probe digits."""
    from scipy import stats

    from lit_interactions.analysis import eta_agreement, per_sample_H
    from lit_interactions.interactions import (
        extract,
        extract_joint,
        salience_threshold,
        transferability,
    )
    from lit_interactions.interactions.transfer import shared_by_order

    models = fit_models(out, seed)
    probe = measure(out, seed, models, n_probe)
    margins: dict[str, float | None] = {}
    pair = torch.stack([probe.rewards["A"], probe.rewards["B"]])
    own = [extract(pair[k], noise_ratio=0.01) for k in range(2)]
    joint = extract_joint(pair, noise_ratio=0.01)

    def transfer(and_effects: torch.Tensor, or_effects: torch.Tensor) -> float:
        return float((transferability(and_effects).mean() + transferability(or_effects).mean()) / 2)

    s_own = transfer(torch.stack([r.and_effects for r in own]), torch.stack([r.or_effects for r in own]))
    s_joint = transfer(joint.and_effects, joint.or_effects)
    margins["joint_transfer"] = s_joint - s_own
    tau = torch.stack([salience_threshold(pair[k], 0.02) for k in range(2)])
    shared = shared_by_order(joint, tau)
    low, high = [1, 2], list(range(5, N_PLAYERS + 1))

    def shared_share(orders: list[int]) -> float:
        part = (shared.shared_pos - shared.shared_neg)[..., orders].sum()
        whole = (shared.total_pos - shared.total_neg)[..., orders].sum()
        return float(part / whole) if whole > 0 else float("nan")

    margins["low_orders_shared"] = shared_share(low) - shared_share(high)
    by_order = _h("A", "B", probe)
    margins["h_low_high"] = _pooled(by_order, range(1, 3)) - _pooled(by_order, range(6, N_PLAYERS + 1))
    history = json.loads((models["A"].parents[1] / "interactions" / "history.json").read_text())
    turn, gap = history.get("turn_epoch"), history.get("gap_widening_epoch")
    margins["turn_near_gap"] = None if turn is None or gap is None else 2.5 - abs(turn - gap)
    eta_a = _eta("A", probe)
    k = max(1, math.ceil(CONFUSING * len(eta_a)))
    confusing = np.argsort(-eta_a, kind="stable")[:k]
    h = np.array([np.nan if v is None else v for v in per_sample_H(by_order)], dtype=float)
    others = np.setdiff1d(np.arange(len(h)), confusing)
    margins["confusing_non_generalizable"] = float(np.nanmean(h[others]) - np.nanmean(h[confusing]))
    with_c = eta_agreement(eta_a, _eta("C", probe)).pearson
    with_b = eta_agreement(eta_a, _eta("B", probe)).pearson
    margins["low_layers_decide"] = with_c - with_b
    rho = float(stats.spearmanr(probe.losses, eta_a).statistic)
    margins["hard_not_confusing"] = 0.5 - abs(rho)
    detail = {"s_own": s_own, "s_joint": s_joint, "turn": turn, "gap_widening": gap, "pearson_AC": with_c,
              "pearson_AB": with_b, "spearman_loss_eta": rho, "eta_A_mean": float(eta_a.mean())}
    return {**margins, "_detail": detail}  # type: ignore[dict-item]


def appd_for_seed(out: Path, seed: int, n_probe: int) -> dict[str, float | None]:
    """Margins of the App. D claims: H of each fine-tune against B on ``n_probe`` probe digits."""
    models = fit_pair(out, seed)
    runs = fine_tunes(out, seed, models)
    probe = measure(out, seed, {"A": models["A"], "B": models["B"], **{f"FT-{k}": v for k, v in runs.items()}},
                    n_probe)
    h = {mode: _pooled(_h(f"FT-{mode}", "B", probe), range(1, N_PLAYERS + 1)) for mode in runs}
    return {"appd_non_generalizable": h["non_generalizable"] - h["plain"], "appd_high_order": h["high_order"] - h["plain"],
            "_detail": {f"H_{mode}": value for mode, value in h.items()}}  # type: ignore[dict-item]


STEPS = {"claims": claims_for_seed, "appd": appd_for_seed}


def _now() -> str:
    return datetime.now(UTC).strftime("%H:%M:%S")


def load_results(out: Path) -> tuple[dict[int, dict[str, float | None]], dict[int, dict[str, Any]]]:
    """``({seed: {claim: margin}}, {seed: details})`` from the cached step files."""
    results: dict[int, dict[str, float | None]] = {}
    details: dict[int, dict[str, Any]] = {}
    for folder in sorted(out.glob("seed*")):
        seed = int(folder.name[4:])
        for step in STEPS:
            path = folder / f"{step}.json"
            if path.is_file():
                values = json.loads(path.read_text())
                details.setdefault(seed, {}).update(values.pop("_detail", {}))
                results.setdefault(seed, {}).update(values)
    return results, details


def _probe_count(text: str) -> int:
    """``--probe``: 1..200 (the data module's probe set)."""
    value = int(text)
    if not 1 <= value <= 200:
        raise argparse.ArgumentTypeError(f"{value} is not in 1..200 (the data module holds 200 probe digits)")
    return value


def _recorded_probe(out: Path) -> int | None:
    """The probe count of the results in ``out``: ``scale.json``, or for a folder from before ``--probe`` the length of
    a cached rewards file (None for a new folder)."""
    path = out / "scale.json"
    if path.is_file():
        return int(json.loads(path.read_text())["probe"])
    for rewards in sorted(out.glob("seed*/rewards-*.json")):
        return len(json.loads(rewards.read_text())["ids"])
    return PROBE if any(out.glob("seed*/*.json")) else None  # results without rewards: the only scale there was


def _check_scale(out: Path, probe: int) -> None:
    """Refuse to mix scales: ``out`` caches results of one probe count (recorded in ``out/scale.json``)."""
    recorded = _recorded_probe(out)
    if recorded is not None and recorded != probe:
        raise SystemExit(f"{out} holds results measured on {recorded} probe digits, not {probe}: give --probe "
                         f"{recorded}, or another --out for a run on {probe}")
    if not (out / "scale.json").is_file():
        from lit_interactions.io.files import write_json

        write_json(out / "scale.json", {"probe": probe})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(ROOT / "runs" / "reproduce_small"), help="results and runs folder")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", nargs="+", default=list(STEPS), choices=list(STEPS))
    parser.add_argument("--table-only", action="store_true", help="print the table of the cached results")
    parser.add_argument("--probe", type=_probe_count, default=None,
                        help=f"held-out probe digits measured (default {PROBE}; the data module holds 200)")
    args = parser.parse_args(argv)
    out = Path(args.out).resolve()
    probe = PROBE if args.probe is None else args.probe
    recorded = _recorded_probe(out)
    if args.table_only and args.probe is not None and recorded not in (None, probe):
        print(f"note: {out} holds results on {recorded} probe digits; --probe {probe} is ignored", file=sys.stderr)
    torch.set_num_threads(1)
    if not args.table_only:
        _check_scale(out, probe)
        for step in args.steps:
            for seed in args.seeds:
                start = time.perf_counter()
                _cached(out / f"seed{seed}" / f"{step}.json", lambda: STEPS[step](out, seed, probe))
                print(f"[{_now()}] seed {seed} {step}: done in {time.perf_counter() - start:.0f} s", flush=True)
    results, details = load_results(out)
    print(f"\nclaims table, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, seeds {sorted(results)}, "
          f"{_recorded_probe(out) or 'unknown'} probe digits, torch "
          f"{torch.__version__}; command: python benchmarks/reproduce_small.py {' '.join(argv or sys.argv[1:])}\n")
    print(render(table(results)))
    for seed in sorted(details):
        print(f"seed {seed}: " + ", ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}"
                                          for k, v in details[seed].items()))


if __name__ == "__main__":
    main()
