"""The claims table of benchmarks/reproduce_small.py: the fixed held / not held rule on hand-made margins."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "reproduce_small.py"


def load_script():
    spec = importlib.util.spec_from_file_location("reproduce_small", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["reproduce_small"] = module
    spec.loader.exec_module(module)
    return module


def test_a_claim_holds_only_when_its_margin_is_positive_in_every_one_of_at_least_three_seeds() -> None:
    rs = load_script()
    results = {
        0: {"joint_transfer": 0.2, "h_low_high": 0.1, "turn_near_gap": None, "low_orders_shared": 0.3},
        1: {"joint_transfer": 0.1, "h_low_high": -0.05, "turn_near_gap": 0.5, "low_orders_shared": 0.0},
        2: {"joint_transfer": 0.3, "h_low_high": 0.2, "turn_near_gap": 1.5},
    }
    rows = {row.claim.key: row for row in rs.table(results)}
    assert rows["joint_transfer"].held and rows["joint_transfer"].cells()[3] == "held"
    assert "+0.200 +- 0.100" in rows["joint_transfer"].cells()[2]
    assert not rows["h_low_high"].held  # one seed against the claim
    assert not rows["turn_near_gap"].held  # a seed that could not measure it counts against it
    assert "none" in rows["turn_near_gap"].cells()[2]
    assert rows["low_orders_shared"].cells()[3] == "too few seeds"  # two seeds, one of them exactly 0
    assert rows["appd_non_generalizable"].cells()[2] == "not run"
    markdown = rs.render(rs.table(results))
    assert markdown.count("\n") == len(rs.CLAIMS) + 1 and "| held |" in markdown


def test_a_results_folder_keeps_one_probe_count(tmp_path: Path) -> None:
    rs = load_script()
    rs._check_scale(tmp_path, 64)  # a new folder records its scale
    rs._check_scale(tmp_path, 64)  # the same scale resumes
    with pytest.raises(SystemExit, match="holds results measured on 64 probe digits, not 16: give --probe 64"):
        rs._check_scale(tmp_path, 16)
    old = tmp_path / "old"  # a folder from before --probe: its scale is that of its cached rewards
    (old / "seed0").mkdir(parents=True)
    (old / "seed0" / "rewards-A-B-C.json").write_text('{"ids": [4, 8, 15], "rewards": {}, "losses": []}')
    with pytest.raises(SystemExit, match="on 3 probe digits, not 16"):
        rs._check_scale(old, 16)
    rs._check_scale(old, 3)
    assert rs._recorded_probe(old) == 3 and rs._recorded_probe(tmp_path / "new") is None
    claims_only = tmp_path / "claims_only"  # results from before --probe without cached rewards: the default
    (claims_only / "seed1").mkdir(parents=True)
    (claims_only / "seed1" / "claims.json").write_text("{}")
    assert rs._recorded_probe(claims_only) == rs.PROBE


def test_cached_rewards_of_other_probe_digits_are_refused(tmp_path: Path) -> None:
    rs = load_script()
    (tmp_path / "seed0").mkdir()
    (tmp_path / "seed0" / "rewards-A.json").write_text('{"ids": [1, 2, 3], "rewards": {}, "losses": []}')
    with pytest.raises(SystemExit, match="holds the rewards of 3 other probe digits, not these 4"):
        rs.measure(tmp_path, 0, {"A": tmp_path / "never-loaded.ckpt"}, 4)


def test_the_table_of_a_folder_reads_its_own_scale(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rs = load_script()
    rs._check_scale(tmp_path, 64)
    (tmp_path / "seed0").mkdir()
    (tmp_path / "seed0" / "claims.json").write_text('{"joint_transfer": 0.25}')
    rs.main(["--out", str(tmp_path), "--table-only"])  # no --probe needed to print it
    out = capsys.readouterr().out
    assert "seeds [0], 64 probe digits" in out and "+0.250" in out


def test_a_probe_count_outside_the_probe_set_is_an_argument_error(capsys: pytest.CaptureFixture[str]) -> None:
    rs = load_script()
    for bad in ("0", "201"):
        with pytest.raises(SystemExit):
            rs.main(["--probe", bad, "--table-only"])
        assert f"argument --probe: {bad} is not in 1..200 (the data module holds 200 probe digits)" in capsys.readouterr().err
