"""compare on hand-made run folders: known eta values, errors, epochs (fast: no training)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import stats

from lit_interactions.interactions import extract_joint
from lit_interactions.reports import (
    CompareOptions,
    IncompatibleRunsError,
    RunArtifactsError,
    compare_runs,
    load_run,
)
from lit_interactions.reports.commands import main as commands_main
from tests.reports.helpers import make_run

ETA_A = [1, 2, 3, 4]
ETA_B = [1, 2, 4, 3]


def test_known_eta_values_give_the_known_correlation_and_overlap(tmp_path: Path) -> None:
    a = load_run(make_run(tmp_path / "a", {1: ETA_A}))
    b = load_run(make_run(tmp_path / "b", {1: ETA_B}))
    result = compare_runs([a, b], CompareOptions(qs=(0.25, 0.5)))
    np.testing.assert_allclose(result.eta, [ETA_A, ETA_B], atol=1e-9)
    agree = result.agreements[(0, 1)]
    assert agree.pearson == pytest.approx(0.8) and agree.spearman == pytest.approx(0.8)
    assert agree.pearson == pytest.approx(stats.pearsonr(ETA_A, ETA_B).statistic)
    # top 25 %: A's is sample 3 (eta 4), B's is sample 2: no overlap; top 50 %: {2, 3} in both.
    assert agree.overlap == {0.25: 0.0, 0.5: 1.0}
    assert result.labels == [f"{tmp_path.name}/a", f"{tmp_path.name}/b"]


def test_joint_extraction_equals_extract_joint_on_the_stored_rewards(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = load_run(make_run(tmp_path / "a", {1: ETA_A}))
    b = load_run(make_run(tmp_path / "b", {1: ETA_B}))
    result = compare_runs([a, b], CompareOptions(alpha=0.2, shared_bound=0.4))
    samples = a.interactions(1).rewards.shape[0]
    assert f"joint extraction of 2 models x {samples} samples" in capsys.readouterr().err  # says what runs
    rewards = torch.stack([a.interactions(1).rewards, b.interactions(1).rewards]).double()
    direct = extract_joint(rewards, alpha=0.2, shared_bound=0.4, noise_ratio=0.01)
    torch.testing.assert_close(result.joint.and_effects, direct.and_effects)
    torch.testing.assert_close(result.joint.or_effects, direct.or_effects)
    assert result.joint_objective_ratio() == pytest.approx(float(direct.objective().sum() / result.own.objective().sum()))


def test_the_joint_solver_settings_replace_the_runs_own(tmp_path: Path) -> None:
    a = load_run(make_run(tmp_path / "a", {1: ETA_A}))
    b = load_run(make_run(tmp_path / "b", {1: ETA_B}))
    own = compare_runs([a, b])
    assert own.joint.settings["noise_ratio"] == a.interactions(1).settings["noise_ratio"]
    result = compare_runs([a, b], CompareOptions(solver={"noise_ratio": 0.05, "tol": 1e-4}))
    assert result.joint.settings["noise_ratio"] == 0.05 and result.joint.settings["tol"] == pytest.approx(1e-4)
    rewards = torch.stack([a.interactions(1).rewards, b.interactions(1).rewards]).double()
    direct = extract_joint(rewards, noise_ratio=0.05, tol=1e-4)
    torch.testing.assert_close(result.joint.and_effects, direct.and_effects)
    with pytest.raises(ValueError, match=r"solver options have unknown keys \['noise'\]"):
        compare_runs([a, b], CompareOptions(solver={"noise": 0.05}))


def test_a_run_with_itself_agrees_perfectly(tmp_path: Path) -> None:
    a = load_run(make_run(tmp_path / "a", {1: ETA_A}))
    result = compare_runs([a, a])
    agree = result.agreements[(0, 1)]
    assert (agree.pearson, agree.spearman) == (pytest.approx(1.0), pytest.approx(1.0))
    assert set(agree.overlap.values()) == {1.0}
    # Every sample has one interaction: the own top-k sets are identical wherever the effect is nonzero.
    np.testing.assert_allclose(result.shared_own.share(), [1.0, 1.0])
    assert result.labels[1].endswith("#2")


def test_default_epoch_is_the_last_epoch_all_runs_measured(tmp_path: Path) -> None:
    a = load_run(make_run(tmp_path / "a", {0: ETA_A, 1: ETA_A, 2: ETA_A}))
    b = load_run(make_run(tmp_path / "b", {0: ETA_B, 1: ETA_B}))
    assert compare_runs([a, b]).epoch == 1
    assert compare_runs([a, b], CompareOptions(epoch=0)).epoch == 0
    with pytest.raises(IncompatibleRunsError, match=r"not every run measured epoch 2.*choose --epoch among \[0, 1\]"):
        compare_runs([a, b], CompareOptions(epoch=2))


def test_no_common_epoch_is_a_clear_error(tmp_path: Path) -> None:
    a = load_run(make_run(tmp_path / "a", {0: ETA_A}))
    b = load_run(make_run(tmp_path / "b", {1: ETA_B}))
    with pytest.raises(IncompatibleRunsError, match="no measured epoch in common"):
        compare_runs([a, b])


def test_other_players_name_the_sample_and_players_from(tmp_path: Path) -> None:
    a = load_run(make_run(tmp_path / "a", {1: ETA_A}))
    other = torch.arange(4).repeat(4, 1)
    other[2] = torch.tensor([5, 6, 7, 8])
    b = load_run(make_run(tmp_path / "b", {1: ETA_B}, players=other))
    with pytest.raises(IncompatibleRunsError, match=r"different players on 1 of 4 .*sample 12.*players_from .*players\.pt"):
        compare_runs([a, b])


def test_other_probe_samples_are_a_clear_error(tmp_path: Path) -> None:
    a = load_run(make_run(tmp_path / "a", {1: ETA_A}))
    b = load_run(make_run(tmp_path / "b", {1: ETA_B}, ids=[10, 11, 12, 99]))
    with pytest.raises(IncompatibleRunsError, match=r"different probe samples.*3 in common.*split_seed"):
        compare_runs([a, b])


def test_a_folder_without_artifacts_names_the_path_and_the_files(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunArtifactsError, match=r"empty.*lacks players\.pt, players\.json, history\.json, "
                                                r"epoch_XXXX\.safetensors.*callbacks/interactions\.yaml"):
        load_run(tmp_path / "empty")
    with pytest.raises(RunArtifactsError, match="is not a directory"):
        load_run(tmp_path / "nowhere")


def test_the_command_reports_errors_without_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = make_run(tmp_path / "a", {1: ETA_A})
    (tmp_path / "empty").mkdir()
    assert commands_main(["compare", str(a), str(tmp_path / "empty"), "--wandb-mode=disabled"]) == 2
    assert "lit-interactions compare: error:" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        commands_main(["compare", str(a)])  # fewer than 2 runs: argparse error


def test_main_dispatches_compare_and_report(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from lit_interactions import cli

    for command in ("compare", "report"):
        monkeypatch.setattr("sys.argv", ["lit-interactions", command, "--help"])
        with pytest.raises(SystemExit) as exit_info:
            cli.main()
        assert exit_info.value.code == 0
        assert f"usage: lit-interactions {command}" in capsys.readouterr().out
