"""An unconverged solve is visible where users look: the history record, the logged scalar and the report."""

from __future__ import annotations

import json
import warnings
from html import unescape
from pathlib import Path

import torch

from lit_interactions.callbacks.monitor import solve_status
from lit_interactions.interactions import extract
from lit_interactions.reports.commands import main as commands_main
from tests.reports.helpers import make_run


def test_the_solve_status_counts_unconverged_samples() -> None:
    rewards = torch.randn(3, 2**6, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        stopped = extract(rewards, max_iter=1, check_every=1)
    status = solve_status(stopped)
    assert status["n_unconverged"] == 3 and status["duality_gap_max"] > status["solver_tol"] == 1e-3
    assert solve_status(extract(rewards))["n_unconverged"] == 0


def test_the_report_warns_about_unconverged_epochs(tmp_path: Path) -> None:
    run = make_run(tmp_path / "runs" / "a", {0: [1, 2, 3, 4], 1: [1, 1, 2, 2]})
    history_file = run / "interactions" / "history.json"
    history = json.loads(history_file.read_text())
    history["records"][1].update({"n_unconverged": 2, "duality_gap_max": 0.05, "solver_tol": 1e-3})
    history_file.write_text(json.dumps(history))
    out = tmp_path / "report"
    assert commands_main(["report", str(run), "--out", str(out)]) == 0
    html = unescape((out / "report.html").read_text())
    assert "WARNING: the solver did not certify every sample: epoch 1: 2 probe samples" in html
    assert json.loads((out / "report.json").read_text())["unconverged"] == {"1": 2}
