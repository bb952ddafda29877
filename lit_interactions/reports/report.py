"""``lit-interactions report RUN``: one run's HTML report (``report.html``) and its numbers (``report.json``).

Sections: the run, accuracy and loss curves (metrics.csv) with the last validate/test results
(metrics_validate.csv, metrics_test.csv), the two-phase dynamics (history.json), the eta^avg distribution, the
confusing samples (ConfusingSamples) and the hard samples (HardSamples) with their interactions drawn. A section
whose artifacts are absent says so and how to get them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np

from lit_interactions.analysis import (
    curves_figure,
    eta_histogram_figure,
    exact_number,
    loss_eta_figure,
    order_distribution_figure,
    player_labels,
    strongest_by_kind,
    top_fraction,
)
from lit_interactions.analysis.figures_orders import (
    group_strength_figure,
    h_eta_figure,
    order_strength_figure,
)
from lit_interactions.io.files import write_json
from lit_interactions.reports.artifacts import Evaluation, RunArtifacts
from lit_interactions.reports.html import FigureRef, Section, Table, write_page
from lit_interactions.reports.samples import SampleDrawer, describe, save

_CURVE = re.compile(r"^(train|val|test)/.*(acc|loss)")
_ACCURACIES = {"acc": "accuracy", "balanced_acc": "balanced accuracy"}  # plain (micro) and macro over classes


@dataclass
class ReportOutput:
    """Where a report was written."""

    html: Path
    json: Path


def curve_key(column: str) -> str | None:
    """The accuracy or loss a CSV column holds (``train/loss_epoch`` -> ``train/loss``); None for other columns
    and step-level ones (``*_step``)."""
    if not _CURVE.match(column) or column.endswith("_step"):
        return None
    return column.removesuffix("_epoch")


def metric_label(key: str) -> str:
    """A readable name: ``val/acc`` -> ``val accuracy``, ``val/balanced_acc`` -> ``val balanced accuracy``."""
    split, _, name = key.partition("/")
    return f"{split} {_ACCURACIES.get(name, name.replace('_', ' '))}"


def evaluation_rows(evaluations: dict[str, Evaluation]) -> list[list[Any]]:
    """Table rows ``[file, checkpoint, metric, value]``: every accuracy and loss of each last evaluation."""
    rows = []
    for stage, evaluation in evaluations.items():
        ckpt = evaluation.ckpt_path or f"not recorded (no ckpt_path in config_{stage}.yaml)"
        values = {key: v for column, v in evaluation.metrics.items() if (key := curve_key(column)) is not None}
        rows += [[f"metrics_{stage}.csv", ckpt, metric_label(key), value] for key, value in sorted(values.items())]
    return rows


def epoch_curves(metrics: list[dict[str, float]]) -> tuple[list[int], dict[str, np.ndarray]]:
    """Per-epoch accuracy and loss curves from metrics.csv rows (the last value logged in each epoch).

    Epochs are numbered as the monitor numbers them: Lightning's (0-based) epoch ``e`` is shown as ``e + 1``,
    the model after that training epoch. Step-level columns (``*_step``) are left out; ``train/loss_epoch`` is
    shown as ``train/loss``. Missing values are NaN.
    """
    values: dict[str, dict[int, float]] = {}
    for row in metrics:
        if "epoch" not in row:
            continue
        epoch = int(row["epoch"]) + 1
        for column, value in row.items():
            if (key := curve_key(column)) is not None:
                values.setdefault(key, {})[epoch] = value
    epochs = sorted({e for series in values.values() for e in series})
    return epochs, {key: np.array([series.get(e, np.nan) for e in epochs]) for key, series in sorted(values.items())}


def report_epoch(run: RunArtifacts, epoch: int | None) -> int:
    """``epoch`` if measured, else (None) the run's last measured epoch."""
    if epoch is None:
        return run.epochs[-1]
    if epoch not in run.epochs:
        raise ValueError(f"{run.path} did not measure epoch {epoch}; measured epochs: {run.epochs}")
    return epoch


class RunReport:
    """Builds the sections of one run's report into ``out_dir`` (figures under ``out_dir/figures``).

    Args:
        run: the run's artifacts.
        out_dir: the report's folder.
        epoch: the epoch of the eta histogram and the drawn samples; None = the last measured one.
        samples: how many confusing and hard samples to draw.
        strongest: strongest AND and strongest OR interactions drawn per sample.
    """

    def __init__(self, run: RunArtifacts, out_dir: Path, epoch: int | None = None, samples: int = 3,
                 strongest: int = 3) -> None:
        self.run = run
        self.out = out_dir
        self.epoch = report_epoch(run, epoch)
        self.samples = samples
        self.strongest = strongest
        self.drawer = SampleDrawer(run, out_dir)
        self.data: dict[str, Any] = {"run": str(run.path), "epoch": self.epoch}

    def overview(self) -> Section:
        history = self.run.history
        unconverged = {int(r["epoch"]): int(r["n_unconverged"]) for r in history.get("records", [])
                       if r.get("n_unconverged")}
        self.data.update({key: history.get(key) for key in ("turn_epoch", "gap_widening_epoch")})
        self.data.update({"measured_epochs": self.run.epochs, "unconverged": unconverged})
        return Section("Run", "run", paragraphs=[run_summary(self.run), *unconverged_warning(unconverged)],
                       tables=[monitor_table(history)])

    def training_curves(self) -> Section:
        section = Section("Accuracy and loss", "curves")
        epochs, curves = epoch_curves(self.run.metrics)
        if epochs:
            self.data["curves"] = {"epochs": epochs, **{k: v.tolist() for k, v in curves.items()}}
            section.figures += curve_figures(self.out, epochs, curves)
        else:
            section.missing = (f"{self.run.path / 'metrics.csv'} is absent or has no per-epoch accuracy or loss: "
                               f"the run was trained without the CSV logger (the lit-interactions CLI always adds it)")
        table = evaluation_table(self.run.evaluations)
        if table is not None:
            section.tables.append(table)
            self.data["evaluations"] = {stage: {"ckpt_path": e.ckpt_path, "metrics": e.metrics}
                                        for stage, e in self.run.evaluations.items()}
        return section

    def dynamics(self) -> Section:
        section = Section("Two-phase dynamics", "dynamics", paragraphs=[
            "Share of the salient interaction strength per order over the measured epochs (paper 2 Fig. 2): in the first "
            "phase the strength moves to low orders; from the turn on, higher orders grow again."])
        figures, self.data["order_strengths"] = dynamics_figures(self.run, self.out)
        section.figures += figures
        return section

    def eta(self) -> Section:
        eta = np.array(self.run.record(self.epoch)["eta"])
        cut = ConfusingCut.of(self.run, self.epoch, eta)
        section = Section("eta^avg distribution", "eta", paragraphs=[cut.describe(self.epoch)])
        section.figures += eta_figures(self.run.history, self.out, cut, self.epoch)
        section.tables.append(Table(["sample id", "eta^avg", "confusing"], [
            [i, e, bool(p in set(cut.positions.tolist()))] for p, (i, e) in enumerate(zip(self.run.probe_ids, eta))]))
        self.data["eta"] = {"ids": self.run.probe_ids, "eta": eta.tolist(), "fraction": cut.fraction,
                            "threshold": cut.threshold}
        h_vs_eta = h_against_eta(self.run, self.out, section, eta, self.epoch)
        if h_vs_eta is not None:
            self.data["H_vs_eta"] = h_vs_eta
        return section

    def confusing(self) -> Section:
        section, per_epoch = confusing_sets(self.run, self.epoch, self.samples)
        if per_epoch is not None:
            self.data["confusing"] = {str(e): ids for e, ids in sorted(per_epoch.items())}
            ids = per_epoch.get(self.epoch, [])[: self.samples]
            draw_strongest(self.drawer, section, "confusing", ids, self.run.interactions(self.epoch), self.strongest)
        return section

    def hard(self) -> Section:
        section, record = hard_summary(self.run, self.out, self.samples)
        if record is None:
            return section
        self.data["hard"] = record
        epoch = int(record["epoch"])
        result = self.run.hard_interactions(epoch)
        if result is None:
            section.paragraphs.append(f"No {self.run.interactions_dir / 'hard_samples'}/epoch_{epoch:04d}.safetensors:"
                                      f" the hard samples' interactions are not drawn.")
            return section
        groups = four_groups(self.run, self.out, section, record, result, id_positions(result))
        if groups is not None:
            self.data["four_groups"] = groups
        draw_strongest(self.drawer, section, "hard", record["hard_ids"][: self.samples], result, self.strongest)
        return section

    def write(self) -> ReportOutput:
        """Write the figures, ``report.html`` and ``report.json``."""
        self.out.mkdir(parents=True, exist_ok=True)
        sections = [self.overview(), self.training_curves(), self.dynamics(), self.eta(), self.confusing(),
                    self.hard()]
        self.data["missing"] = {s.anchor: s.missing for s in sections if s.missing}
        self.data["figures"] = [f.src for s in sections for f in s.figures]
        json_path = self.out / "report.json"
        write_json(json_path, self.data)
        html = write_page(self.out / "report.html", f"Run report: {self.run.label}",
                          f"{self.run.path}, epoch {self.epoch}", sections)
        return ReportOutput(html, json_path)


def run_summary(run: RunArtifacts) -> str:
    """The run in one paragraph: model, data, probe samples, players, measured epochs and the rules' epochs."""
    history, config = run.history, run.config
    model = (config.get("model") or {}).get("init_args", {}).get("model", "?")
    data = str((config.get("data") or {}).get("class_path", "?")).rsplit(".", 1)[-1]
    return (f"{run.path}: model {model}, data {data}, {len(run.probe_ids)} probe samples with "
            f"{run.selection.n_players} players ({run.selection.kind}). Measured epochs: {run.epochs} "
            f"(0 = the initial model). Turn epoch: {_found(history.get('turn_epoch'))}; gap-widening epoch: "
            f"{_found(history.get('gap_widening_epoch'))}.")


def unconverged_warning(unconverged: dict[int, int]) -> list[str]:
    """A warning (as a list of one paragraph) when the solver left probe samples uncertified; none otherwise."""
    return [] if not unconverged else [
        f"WARNING: the solver did not certify every sample: {', '.join(f'epoch {e}: {n}' for e, n in unconverged.items())} "
        f"probe samples stopped at the iteration limit above the duality-gap tolerance (their interactions are "
        f"not the certified sparsest ones; column 'unconverged'). Raise the monitor's max_iter."]


def monitor_table(history: dict[str, Any]) -> Table:
    """The monitor's record per measured epoch (history.json), with the epoch's losses."""
    losses = {int(e["epoch"]): e for e in history.get("losses", [])}
    rows = [[r["epoch"], r["tau"], r["high_order_share"], r["mean_order"], r["num_salient"], r["eta_mean"],
             r["eta_std"], losses.get(int(r["epoch"]), {}).get("train_loss"),
             losses.get(int(r["epoch"]), {}).get("val_loss"), r.get("n_unconverged", "?")]
            for r in history.get("records", [])]
    return Table(["epoch", "tau", "high-order share", "mean order", "salient", "eta mean", "eta std", "train loss",
                  "val loss", "unconverged"], rows, "The monitor's record per measured epoch")


def curve_figures(out: Path, epochs: list[int], curves: dict[str, np.ndarray]) -> list[FigureRef]:
    """One figure of the accuracies (plain and balanced) and one of the losses, labelled readably."""
    figures = []
    for name, kind, wanted in (("accuracy", "acc", lambda metric: metric in _ACCURACIES),
                               ("loss", "loss", lambda metric: metric.startswith("loss"))):
        series = {metric_label(k): v for k, v in curves.items() if wanted(k.rsplit("/", 1)[-1])}
        if series:
            fig = curves_figure(epochs, series, f"{name} per epoch", ylabel=name)
            caption = f"{name} from metrics.csv (epoch e = after e training epochs)"
            figures.append(save(fig, out, f"curves_{kind}", caption))
    return figures


def evaluation_table(evaluations: dict[str, Evaluation]) -> Table | None:
    """The table of :func:`evaluation_rows`; None when no evaluation has an accuracy or a loss."""
    rows = evaluation_rows(evaluations)
    if not rows:
        return None
    return Table(["file", "checkpoint", "metric", "value"], rows,
                 "The last lit-interactions validate / test of a checkpoint of this run")


def dynamics_figures(run: RunArtifacts, out: Path) -> tuple[list[FigureRef], dict[str, Any]]:
    """The figures of the two-phase dynamics (strength per order, the high-order share with the turn, the losses
    and their gap with the epoch it widens) and the values of :func:`order_strengths` for report.json."""
    history = run.history
    records = history.get("records", [])
    epochs = [int(r["epoch"]) for r in records]
    turn = history.get("turn_epoch")
    i_pos = np.array([r["I_pos"] for r in records])
    i_neg = np.array([r["I_neg"] for r in records])
    figures = [save(order_distribution_figure(epochs, i_pos, i_neg, turn), out,
                    "order_distribution", "Positive and negative strength per order and epoch")]
    figure, data = order_strengths(run, out, epochs, i_pos, i_neg)
    marks = {"turn": turn} if turn is not None else None
    fig = curves_figure(epochs, {"high-order share": [r["high_order_share"] for r in records]},
                        "High-order share", marks=marks)
    figures += [figure, save(fig, out, "high_order_share", "Share of strength at high orders")]
    loss_epochs = [int(e["epoch"]) for e in history.get("losses", [])
                   if e.get("train_loss") is not None and e.get("val_loss") is not None]
    if len(loss_epochs) >= 1:
        losses = {int(e["epoch"]): e for e in history["losses"]}
        gap = history.get("gap_widening_epoch")
        fig = curves_figure(loss_epochs, {
            "train loss": [losses[e]["train_loss"] for e in loss_epochs],
            "val loss": [losses[e]["val_loss"] for e in loss_epochs],
            "gap (val - train)": [losses[e]["val_loss"] - losses[e]["train_loss"] for e in loss_epochs],
        }, "Losses and their gap", marks={"gap widens": gap} if gap is not None else None)
        figures.append(save(fig, out, "loss_gap", "The monitor's losses per epoch"))
    return figures, data


@dataclass(frozen=True)
class ConfusingCut:
    """The confusing probe samples of one epoch: the top ``fraction`` by eta^avg, and the threshold that marks them.

    Attributes:
        eta: eta^avg of the probe samples (in probe order).
        fraction: ConfusingSamples' ``fraction`` (0.1 without its file).
        positions: positions of the confusing samples in ``eta`` (ties broken by position).
        threshold: ConfusingSamples' stored ``eta_threshold`` of the epoch, else the smallest eta^avg at ``positions``.
        stored: whether the threshold is the stored one.
    """

    eta: np.ndarray
    fraction: float
    positions: np.ndarray
    threshold: float
    stored: bool

    @classmethod
    def of(cls, run: RunArtifacts, epoch: int, eta: np.ndarray) -> ConfusingCut:
        """The cut of ``run``'s probe samples at ``epoch``, whose eta^avg are ``eta``."""
        fraction = float((run.confusing or {}).get("fraction", 0.1))
        positions = top_fraction(eta, fraction)
        stored = stored_threshold(run.confusing, epoch)
        threshold = float(eta[positions].min()) if stored is None else stored
        return cls(eta, fraction, positions, threshold, stored is not None)

    def describe(self, epoch: int) -> str:
        """The paragraph of the report's eta section: what eta^avg is and which samples are confusing."""
        source = ("eta_threshold in confusing_samples.json" if self.stored
                  else "computed here: no ConfusingSamples record of this epoch")
        return (f"eta^avg of each probe sample at epoch {epoch}: the average order of its salient interactions "
                f"(0 when it has none). The confusing samples are the top {percent(self.fraction)} by eta^avg "
                f"({len(self.positions)} of {len(self.eta)}, ties broken by position); the smallest eta^avg among "
                f"them is {exact_number(self.threshold)} ({source}).")


def eta_figures(history: dict[str, Any], out: Path, cut: ConfusingCut, epoch: int) -> list[FigureRef]:
    """The eta^avg histogram of ``epoch`` (a line separating the confusing samples) and the mean eta^avg over
    the measured epochs."""
    eta, threshold = cut.eta, cut.threshold
    epochs = [int(r["epoch"]) for r in history.get("records", [])]
    others = np.delete(eta, cut.positions)
    line = (threshold + others[others <= threshold].max()) / 2 if (others <= threshold).any() else threshold
    fig = eta_histogram_figure(eta, line)  # the line separates the confusing samples from the others
    figures = [save(fig, out, f"eta_histogram_epoch_{epoch:04d}", f"epoch {epoch}")]
    records = history["records"]
    fig = curves_figure(epochs, {"eta mean": [r["eta_mean"] for r in records],
                                 "eta mean + std": [r["eta_mean"] + r["eta_std"] for r in records]},
                        "eta^avg over epochs")
    return [*figures, save(fig, out, "eta_over_epochs", "Mean eta^avg of the probe samples")]


def confusing_sets(run: RunArtifacts, epoch: int, samples: int) -> tuple[Section, dict[int, list[int]] | None]:
    """The confusing-samples section with ConfusingSamples' set per measured epoch, and those sets (None, and a
    section saying how to get them, without confusing_samples.json)."""
    section = Section("Confusing samples", "confusing")
    info = run.confusing
    if info is None:
        section.missing = (f"No {run.interactions_dir / 'confusing_samples.json'}: the run was trained "
                           f"without the ConfusingSamples callback (add --config callbacks/confusing_samples.yaml)")
        return section, None
    per_epoch = {int(e): ids for e, ids in info.get("confusing", {}).items()}
    section.paragraphs.append(
        f"The ConfusingSamples callback's confusing sets (top {percent(info.get('fraction', 0.1))} by eta^avg) "
        f"per measured epoch; the first {samples} of epoch {epoch} drawn with their strongest "
        f"interactions.")
    section.tables.append(Table(["epoch", "confusing sample ids"], [[e, ids] for e, ids in sorted(per_epoch.items())]))
    return section, per_epoch


def hard_summary(run: RunArtifacts, out: Path, samples: int) -> tuple[Section, dict[str, Any] | None]:
    """The hard-samples section with HardSamples' last record (its scalars, its samples, loss against eta^avg), and
    that record (None, and a section saying how to get it, without hard_samples.json)."""
    section = Section("Hard samples", "hard")
    info = run.hard
    if info is None or not info.get("records"):
        section.missing = (f"No {run.interactions_dir / 'hard_samples.json'}: the run was trained without "
                           f"the HardSamples callback (add --config callbacks/hard_samples.yaml)")
        return section, None
    record = info["records"][-1]
    epoch = int(record["epoch"])
    scalars = record["scalars"]
    section.paragraphs.append(
        f"The {info['num_hard']} training samples of largest mean training loss (hard) against {info['num_easy']} "
        f"random others (easy), analysed at epoch {epoch}; the {samples} hardest drawn with their strongest "
        f"interactions.")
    section.tables.append(Table(["quantity", "value"], [[k, v] for k, v in scalars.items()],
                                "HardSamples summary (docs/monitoring.md)"))
    ids = record["hard_ids"] + record["easy_ids"]
    hard = np.arange(len(ids)) < len(record["hard_ids"])
    section.tables.append(Table(["sample id", "group", "loss", "eta^avg", "relabelled"], [
        [i, "hard" if h else "easy", lo, e, r]
        for i, h, lo, e, r in zip(ids, hard, record["loss"], record["eta"], record["relabelled"])]))
    fig = loss_eta_figure(np.array(record["loss"]), np.array(record["eta"]), hard, np.array(record["relabelled"]),
                          f"epoch {epoch}: Spearman {scalars.get('loss_eta_spearman', float('nan')):.2f}")
    section.figures.append(save(fig, out, f"hard_samples_epoch_{epoch:04d}", "Training loss against eta^avg"))
    return section, record


def id_positions(result: Any) -> dict[int, int]:
    """The row of every sample id in an interactions result (its ``extra["ids"]``)."""
    return {int(i): p for p, i in enumerate(result.extra["ids"].tolist())}


def draw_strongest(drawer: SampleDrawer, section: Section, kind: str, ids: list[int], result: Any,
                   strongest: int) -> None:
    """Draw the samples ``ids`` with their ``strongest`` AND and OR interactions into ``section``, with a table of
    them (words named for a text run); the drawer's error, if any, says why nothing is drawn."""
    positions = id_positions(result)
    rows = []
    for sample_id in ids:
        position = positions[int(sample_id)]
        records = strongest_by_kind(result[position], strongest)
        row = result.extra["players"][position]
        figure = drawer.draw(f"{kind}_sample_{sample_id}", int(sample_id), row, records,
                             f"{kind} sample {sample_id}: strongest AND and OR interactions")
        if figure is not None:
            section.figures.append(figure)
        labels = None
        if drawer.available and drawer.run.players() is None:
            labels = player_labels(None, row, cast(list[str], drawer.view(int(sample_id))))  # a text run: words
        rows.append([sample_id, describe(records, labels)])
    if rows:
        section.tables.append(Table(["sample id", "strongest interactions"], rows))
    if drawer.error and not section.missing:
        section.missing = drawer.error


def order_strengths(run: RunArtifacts, out: Path, epochs: list[int], i_pos: np.ndarray,
                    i_neg: np.ndarray) -> tuple[Any, dict[str, Any]]:
    """Paper 2 Fig. 2: I and (with a baseline DNN) J per order at several epochs; returns the figure and
    its values for report.json."""
    j_pos, j_neg = generalizable_by_order(run.generalization, epochs, i_pos.shape[1] - 1)
    data = {
        "epochs": epochs, "I_pos": i_pos.tolist(), "I_neg": i_neg.tolist(),
        "J_pos": None if j_pos is None else j_pos.tolist(), "J_neg": None if j_neg is None else j_neg.tolist(),
    }
    caption = ("Strength of all salient interactions (I, light) and of the generalizable ones (J, dark: shared "
               "with the baseline DNN) per order" if j_pos is not None else
               "Strength of all salient interactions per order (no generalization.json covering every measured "
               "epoch: train with the BaselineGeneralizability callback to add J)")
    return save(order_strength_figure(epochs, i_pos, i_neg, j_pos, j_neg), out, "order_strengths", caption), data


def h_against_eta(run: RunArtifacts, out: Path, section: Section, eta: np.ndarray, epoch: int) -> dict[str, Any] | None:
    """Paper 2 App. C, Fig. 8: per-sample H against eta^avg at the report's epoch (needs generalization.json).

    Adds the figure to ``section``; returns the values for report.json (None without H of that epoch).
    """
    record = next((r for r in (run.generalization or {}).get("records", [])
                   if int(r["epoch"]) == epoch and "H_per_sample" in r), None)
    if record is None:
        return None
    position = {int(i): p for p, i in enumerate(run.probe_ids)}
    pairs = [(float(eta[position[int(i)]]), float(h)) for i, h in zip(record["ids"], record["H_per_sample"])
             if h is not None and int(i) in position]
    data = {"ids": record["ids"], "H": record["H_per_sample"],
            "eta": [float(eta[position[int(i)]]) for i in record["ids"] if int(i) in position]}
    if pairs:
        x, y = (np.array(v) for v in zip(*pairs))
        fig = h_eta_figure(x, y, f"epoch {epoch}: {len(pairs)} samples with salient interactions")
        section.figures.append(save(fig, out, f"h_vs_eta_epoch_{epoch:04d}",
                                    "Per-sample H (generalizable share) against eta^avg"))
    return data


def four_groups(run: RunArtifacts, out: Path, section: Section, record: dict[str, Any], result: Any,
                positions: dict[int, int]) -> dict[str, Any] | None:
    """Paper 2 Fig. 3, 4, 13: hard/easy x confusing/non-confusing samples' mean interactions per order.

    A hard or easy (training) sample counts as confusing when its eta^avg reaches the confusing threshold of
    the probe samples at the same epoch (ConfusingSamples' ``eta_threshold``, else the top fraction computed
    from the monitor's record of that epoch). Adds a paragraph and the figure to ``section``; returns the report.json
    data (None when no threshold is known)."""
    epoch = int(record["epoch"])
    threshold = stored_threshold(run.confusing, epoch)
    if threshold is None and epoch in run.epochs:
        threshold = ConfusingCut.of(run, epoch, np.array(run.record(epoch)["eta"])).threshold
    if threshold is None:
        section.paragraphs.append(f"No confusing threshold at epoch {epoch}: the four groups are not drawn.")
        return None
    i_pos, i_neg = (value.numpy() for value in result.strength_by_order(float(record["scalars"]["tau"])))
    ids = record["hard_ids"] + record["easy_ids"]
    groups: dict[str, tuple[np.ndarray, np.ndarray, int]] = {}
    members: dict[str, list[int]] = {}
    for kind, kind_ids in (("hard", record["hard_ids"]), ("easy", record["easy_ids"])):
        for confusing in (True, False):
            name = f"{kind}, {'confusing' if confusing else 'non-confusing'}"
            chosen = [i for i in kind_ids if (record["eta"][ids.index(i)] >= threshold) == confusing]
            rows = [positions[int(i)] for i in chosen]
            members[name] = chosen
            if rows:
                groups[name] = (i_pos[rows].mean(0), i_neg[rows].mean(0), len(rows))
    data = {
        "epoch": epoch, "eta_threshold": threshold, "ids": members,
        "I_pos": {k: v[0].tolist() for k, v in groups.items()}, "I_neg": {k: v[1].tolist() for k, v in groups.items()},
    }
    section.paragraphs.append(
        f"Hard and easy samples split by the confusing threshold eta^avg >= {exact_number(threshold)} of epoch "
        f"{epoch}: " + ", ".join(f"{name} {len(ids_)}" for name, ids_ in members.items()) + ".")
    section.figures.append(save(group_strength_figure(groups), out, f"four_groups_epoch_{epoch:04d}",
                                "Mean interactions per order of hard/easy x confusing/non-confusing samples"))
    return data


def write_report(run: RunArtifacts, out_dir: Path, epoch: int | None = None, samples: int = 3,
                 strongest: int = 3) -> ReportOutput:
    """Write one run's report into ``out_dir`` (see :class:`RunReport`)."""
    return RunReport(run, out_dir, epoch, samples, strongest).write()


def stored_threshold(confusing: dict[str, Any] | None, epoch: int) -> float | None:
    """ConfusingSamples' ``eta_threshold`` of ``epoch`` (the smallest eta^avg in its set), None without it."""
    for record in (confusing or {}).get("records", []):
        if int(record["epoch"]) == epoch and "eta_threshold" in record:
            return float(record["eta_threshold"])
    return None


def percent(fraction: float) -> str:
    """``0.1`` -> ``10 %``, ``0.125`` -> ``12.5 %``: never rounded to whole percents."""
    return f"{exact_number(round(100 * fraction, 12))} %"


def _found(epoch: int | None) -> str:
    """An epoch found by a rule, or a plain note that the rule has not found it (yet)."""
    return "not found yet" if epoch is None else str(epoch)


def generalizable_by_order(
    generalization: dict[str, Any] | None, epochs: list[int], n_players: int
) -> tuple[np.ndarray, np.ndarray] | tuple[None, None]:
    """``(J_pos, J_neg)`` ``[E, n + 1]`` from generalization.json's per-order scalars, or Nones unless every
    epoch has a record."""
    records = {int(r["epoch"]): r["scalars"] for r in (generalization or {}).get("records", [])}
    if not epochs or any(e not in records for e in epochs):
        return None, None
    parts = []
    for sign in ("J_pos", "J_neg"):
        parts.append(np.array([[0.0] + [float(records[e].get(f"generalization/order_{k}/{sign}", 0.0))
                                        for k in range(1, n_players + 1)] for e in epochs]))
    return parts[0], parts[1]
