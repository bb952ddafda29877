"""The ``lit-interactions compare`` and ``lit-interactions report`` subcommands (argparse)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from lit_interactions.analysis import DEFAULT_QS
from lit_interactions.interactions.transfer import TRANSFER_RATIOS
from lit_interactions.reports.artifacts import RunArtifacts, RunArtifactsError, load_run
from lit_interactions.reports.compare import (
    CompareOptions,
    IncompatibleRunsError,
    compare_runs,
)
from lit_interactions.reports.compare_page import default_out_dir, write_comparison
from lit_interactions.reports.group import expand_runs, read_group
from lit_interactions.reports.group_page import write_group_page
from lit_interactions.reports.report import write_report

COMMANDS = ("compare", "report")


def compare_parser() -> argparse.ArgumentParser:
    """Arguments of ``lit-interactions compare``."""
    parser = argparse.ArgumentParser(
        prog="lit-interactions compare",
        description="Compare the interactions of runs monitored on the same probe samples and players: eta^avg "
                    "agreement, jointly extracted (generalizable) vs own interactions, shared and distinctive "
                    "interactions of a sample. Writes compare.html, compare.json and figures/ (docs/reports.md).",
    )
    parser.add_argument("runs", nargs="+", type=Path,
                        help="run directories (runs/<name>/<version>), at least 2, or folders holding runs (runs/<name>: "
                             "all its runs); group.html draws every run's curves and config differences")
    parser.add_argument("--epoch", type=int, default=None, help="measured epoch (default: the last all runs measured)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: runs/compare/<timestamp>)")
    parser.add_argument("--sample", type=int, default=None,
                        help="probe sample id drawn (default: the one with the most shared interactions)")
    parser.add_argument("--strongest", type=int, default=3, help="interactions drawn per list (default 3)")
    parser.add_argument("--qs", type=float, nargs="+", default=list(DEFAULT_QS), help="top-q fractions (0.1 0.2 0.3)")
    parser.add_argument("--alpha", type=float, default=0.1, help="joint extraction: weight of the sum (default 0.1)")
    parser.add_argument("--alpha-sweep", type=float, nargs="+", default=[], metavar="ALPHA",
                        help="also run the joint extraction at each ALPHA in [0, 1] and draw transferability and "
                             "sparsity against alpha (paper 1 App. J; default: no sweep)")
    parser.add_argument("--shared-bound", type=float, default=0.5, help="joint extraction: shared bound (0.5)")
    parser.add_argument("--noise-ratio", type=float, default=None,
                        help="joint extraction: noise ratio (default: the runs' monitor's)")
    parser.add_argument("--tol", type=float, default=1e-3, help="joint extraction: certified duality gap (1e-3)")
    parser.add_argument("--overview-only", action="store_true",
                        help="write only the group overview (group.html: curves over epochs, config differences), "
                             "not the interaction comparison")
    parser.add_argument("--wandb-mode", choices=("offline", "online", "disabled"), default="offline",
                        help="the comparison's wandb run (default offline, like training runs)")
    return parser


def _solver_settings(args: argparse.Namespace) -> dict[str, float]:
    """The joint extraction's solver settings given on the command line (the noise ratio only when given)."""
    given = {"noise_ratio": args.noise_ratio, "tol": args.tol}
    return {name: value for name, value in given.items() if value is not None}


def report_parser() -> argparse.ArgumentParser:
    """Arguments of ``lit-interactions report``."""
    parser = argparse.ArgumentParser(
        prog="lit-interactions report",
        description="HTML report of one monitored run: curves, two-phase dynamics, eta^avg, confusing and hard "
                    "samples with their interactions. Writes report.html, report.json and figures/.",
    )
    parser.add_argument("run", type=Path, help="the run directory (runs/<name>/<version>)")
    parser.add_argument("--epoch", type=int, default=None, help="measured epoch shown (default: the last)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: <run>/report)")
    parser.add_argument("--samples", type=int, default=3, help="confusing and hard samples drawn (default 3)")
    parser.add_argument("--strongest", type=int, default=3, help="strongest AND and OR drawn per sample (3)")
    return parser


def compare_main(argv: Sequence[str]) -> int:
    """Run ``compare``; returns the exit code."""
    parser = compare_parser()
    args = parser.parse_args(list(argv))
    try:
        paths, expanded = expand_runs(args.runs)
    except RunArtifactsError as error:
        print(f"lit-interactions compare: error: {error}", file=sys.stderr)
        return 2
    if len(paths) < 2 and not args.overview_only:
        parser.error(f"give at least 2 run directories, got {len(paths)}: {', '.join(map(str, paths))}")
    out_dir = args.out or default_out_dir()
    group = write_group_page(read_group(paths), out_dir)
    print(f"wrote {group.html} (the runs' curves and config differences)")
    if args.overview_only:
        return 0
    try:
        runs, skipped = monitored_runs(paths, expanded)
        for path in skipped:
            print(f"compare: skipped {path}: no complete interaction artifacts (group.html lists what it has)")
        options = CompareOptions(epoch=args.epoch, qs=tuple(args.qs), ratios=TRANSFER_RATIOS, alpha=args.alpha,
                                 shared_bound=args.shared_bound, solver=_solver_settings(args),
                                 alpha_sweep=tuple(args.alpha_sweep))
        comparison = compare_runs(runs, options)
        out = write_comparison(comparison, runs, out_dir, sample_id=args.sample,
                               strongest=args.strongest, wandb_mode=args.wandb_mode)
    except (RunArtifactsError, IncompatibleRunsError, ValueError) as error:
        print(f"lit-interactions compare: error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {out.html} and {out.json}" + (f"; wandb run in {out.wandb_dir}" if out.wandb_dir else ""))
    return 0


def monitored_runs(paths: Sequence[Path], expanded: set[Path]) -> tuple[list[RunArtifacts], list[Path]]:
    """The runs with the monitor's artifacts, and the runs found in a given folder that have none (skipped; the
    group overview lists what they lack).

    Raises:
        RunArtifactsError: for a run directory given by name that lacks the artifacts, or fewer than 2 runs with them.
    """
    runs, skipped = [], []
    for path in paths:
        try:
            runs.append(load_run(path))
        except RunArtifactsError:
            if path not in expanded:
                raise
            skipped.append(path)
    if len(runs) < 2:
        raise RunArtifactsError(
            f"only {len(runs)} of the {len(paths)} runs have the monitor's interaction artifacts; compare needs 2 "
            f"(skipped: {', '.join(map(str, skipped))}). --overview-only writes just the group overview")
    return runs, skipped


def report_main(argv: Sequence[str]) -> int:
    """Run ``report``; returns the exit code."""
    args = report_parser().parse_args(list(argv))
    try:
        run = load_run(args.run)
        out = write_report(run, args.out or run.path / "report", args.epoch, args.samples, args.strongest)
    except (RunArtifactsError, ValueError) as error:
        print(f"lit-interactions report: error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {out.html} and {out.json}")
    return 0


def main(argv: Sequence[str]) -> int:
    """Dispatch ``compare ...`` or ``report ...`` (the first item of ``argv``)."""
    command, rest = argv[0], argv[1:]
    if command == "compare":
        return compare_main(rest)
    if command == "report":
        return report_main(rest)
    raise ValueError(f"unknown command {command!r}; choose one of {COMMANDS}")
