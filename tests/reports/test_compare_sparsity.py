"""Paper 1 Fig. 2 sparsity curves and the App. J alpha sweep of compare, on hand-made games and run folders."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from lit_interactions.interactions import Interactions, extract, extract_joint
from lit_interactions.interactions.subsets import mobius
from lit_interactions.reports import CompareOptions, compare_runs, load_run
from lit_interactions.reports.commands import main as commands_main
from lit_interactions.reports.compare_page import write_comparison
from lit_interactions.reports.compare_sparsity import SparsityCurves
from tests.reports.helpers import make_run

ETA_A = [1, 2, 3, 4]
ETA_B = [1, 2, 4, 3]


def _two_player(v: list[float]) -> Interactions:
    """A one-sample 2-player result whose rewards are ``v`` (its effects: the AND ones of v, no OR)."""
    rewards = torch.tensor([v], dtype=torch.float64)
    effects = mobius(rewards)
    return replace(Interactions.from_effects(effects, torch.zeros_like(effects)), rewards=rewards)


def test_the_harsanyi_curve_is_the_sorted_and_or_effects_of_half_the_rewards_by_hand() -> None:
    # v = [v(empty), v({0}), v({1}), v({0, 1})] = [0, 1, 3, 10], u = v / 2 = [0, 0.5, 1.5, 5] on each side.
    # AND (Harsanyi dividends of u): {0}: 0.5, {1}: 1.5, {0, 1}: 5 - 0.5 - 1.5 + 0 = 3.
    # OR: {0}: u(N) - u({1}) = 3.5, {1}: u(N) - u({0}) = 4.5, {0, 1}: -(u(empty) - u({0}) - u({1}) + u(N)) = -3.
    own = _two_player([0.0, 1.0, 3.0, 10.0])
    other = _two_player([0.0, 2.0, 2.0, 2.0])  # AND {0}: 1, {1}: 1, {0, 1}: -1; OR {0}: 0, {1}: 0, {0, 1}: 1
    stacked = Interactions(**{name: torch.stack([getattr(own, name), getattr(other, name)]) for name in
                              ("and_effects", "or_effects", "noise", "gamma", "rewards", "bias")}, n_players=2)
    curves = SparsityCurves.from_results(["a", "b"], stacked, stacked)
    np.testing.assert_allclose(curves.curves["harsanyi"][0], [4.5, 3.5, 3.0, 3.0, 1.5, 0.5])
    np.testing.assert_allclose(curves.curves["harsanyi"][1], [1.0, 1.0, 1.0, 1.0, 0.0, 0.0])
    # The AND half is the Moebius transform of v / 2; the own curve is the sorted |I| of the stored effects.
    np.testing.assert_allclose(sorted(mobius(own.rewards / 2)[0, 1:].tolist()), [0.5, 1.5, 3.0])
    np.testing.assert_allclose(curves.curves["own"][0], [6.0, 3.0, 1.0, 0.0, 0.0, 0.0])  # mobius(v): 1, 3, 10 - 1 - 3
    np.testing.assert_allclose(curves.curves["own"][1], [2.0, 2.0, 2.0, 0.0, 0.0, 0.0])
    assert curves.to_json()["harsanyi"]["a"] == [4.5, 3.5, 3.0, 3.0, 1.5, 0.5]


def test_compare_records_the_own_and_joint_curves_and_a_sweep_entry_per_alpha(tmp_path: Path) -> None:
    runs = [load_run(make_run(tmp_path / name, {1: eta})) for name, eta in (("a", ETA_A), ("b", ETA_B))]
    result = compare_runs(runs, CompareOptions(alpha=0.1, shared_bound=10.0, alpha_sweep=(0.0, 0.1, 1.0)))
    # The hand-made runs hold one AND effect of 1 per sample: 4 ones, then 4 x 2 x 15 - 4 zeros.
    expected = np.r_[np.ones(4), np.zeros(4 * 2 * 15 - 4)]
    for k in range(2):
        np.testing.assert_array_equal(result.sparsity.curves["own"][k], expected)
        joint = result.joint[k]
        np.testing.assert_allclose(result.sparsity.curves["joint"][k], np.sort(np.abs(np.r_[
            joint.and_effects[:, 1:].reshape(-1).numpy(), joint.or_effects[:, 1:].reshape(-1).numpy()]))[::-1])
    assert [step.alpha for step in result.sweep] == [0.0, 0.1, 1.0]
    # The sweep's step at the compare alpha is the compare's own joint extraction.
    np.testing.assert_allclose(result.sweep[1].transfer["AND"], result.transfer_joint["AND"])
    assert result.sweep[1].objective_ratio == pytest.approx(result.joint_objective_ratio())
    # alpha = 1 separates into one sparsest extraction per model (the bound 10 never binds): the same total |I|.
    separate = sum(float(extract(run.interactions(1).rewards.double(), noise_ratio=0.01).objective().sum())
                   for run in runs)
    assert result.sweep[2].objective_ratio == pytest.approx(separate / float(result.own.objective().sum()), rel=5e-3)
    # alpha = 0 is Eq. 5: extract_joint with alpha 0 on the stored rewards.
    direct = extract_joint(result.own.rewards, alpha=0.0, shared_bound=10.0, noise_ratio=0.01)
    assert result.sweep[0].objective_ratio == pytest.approx(
        float(direct.objective().sum() / result.own.objective().sum()))
    data = result.to_json()
    assert [entry["alpha"] for entry in data["alpha_sweep"]] == [0.0, 0.1, 1.0]
    assert data["sparsity"]["own"][result.labels[0]] == expected.tolist()


@pytest.mark.slow
def test_the_compare_command_draws_both_figures_and_keeps_the_default_without_a_sweep(tmp_path: Path) -> None:
    paths = [str(make_run(tmp_path / name, {1: eta})) for name, eta in (("a", ETA_A), ("b", ETA_B))]
    out = tmp_path / "sweep"
    assert commands_main(["compare", *paths, "--out", str(out), "--wandb-mode=disabled",
                          "--alpha-sweep", "0", "1"]) == 0
    data = json.loads((out / "compare.json").read_text())
    assert [entry["alpha"] for entry in data["alpha_sweep"]] == [0.0, 1.0]
    assert len(data["alpha_sweep"][0]["transferability"]["AND"]) == len(data["transferability"]["ratios"])
    html = (out / "compare.html").read_text()
    for name in ("sparsity", "alpha_sweep"):
        assert f"figures/{name}.png" in data["figures"] and f"figures/{name}.png" in html
        assert (out / "figures" / f"{name}.png").read_bytes().startswith(b"\x89PNG")
    plain = tmp_path / "plain"
    assert commands_main(["compare", *paths, "--out", str(plain), "--wandb-mode=disabled"]) == 0
    data = json.loads((plain / "compare.json").read_text())
    assert data["alpha_sweep"] == [] and "figures/alpha_sweep.png" not in data["figures"]
    assert "figures/sparsity.png" in data["figures"]


def test_an_alpha_outside_zero_one_is_refused_before_any_extraction(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    paths = [str(make_run(tmp_path / name, {1: eta})) for name, eta in (("a", ETA_A), ("b", ETA_B))]
    assert commands_main(["compare", *paths, "--out", str(tmp_path / "x"), "--wandb-mode=disabled",
                          "--alpha-sweep", "0.5", "2"]) == 2
    assert "--alpha-sweep values must lie in [0, 1]" in capsys.readouterr().err
    assert not (tmp_path / "x" / "compare.json").exists()
    runs = [load_run(p) for p in paths]
    with pytest.raises(ValueError, match=r"got \[-0.1\]"):
        write_comparison(compare_runs(runs, CompareOptions(alpha_sweep=(-0.1,))), runs, tmp_path / "y")
