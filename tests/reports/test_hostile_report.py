"""``lit-interactions report`` of a real run folder whose config.yaml was made hostile: refused, nothing runs."""

from __future__ import annotations

import shutil
from html import unescape
from pathlib import Path

import yaml

from lit_interactions.reports.commands import main as commands_main


def test_a_hostile_config_is_refused_by_report_and_the_rest_of_the_page_is_written(
        two_runs: tuple[Path, Path], tmp_path: Path) -> None:
    run = tmp_path / "quickstart" / "a"
    shutil.copytree(two_runs[0], run)
    marker = tmp_path / "pwned"
    config = yaml.safe_load((run / "config.yaml").read_text())
    config["data"] = {"class_path": "subprocess.Popen", "init_args": {"args": ["touch", str(marker)]}}
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    out = tmp_path / "report"
    assert commands_main(["report", str(run), "--out", str(out)]) == 0
    assert not marker.exists()
    html = unescape((out / "report.html").read_text())
    assert "subprocess.Popen" in html and "is not one of this package's data modules" in html
    assert "Confusing samples" in html and (out / "report.json").is_file()
