"""Shared fixtures: two tiny monitored runs (trained once per session) and hand-made artifact folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from lit_interactions.cli import cli_main
from lit_interactions.reports.commands import main as commands_main
from tests.cli.test_fit_callbacks import QUICKSTART, SMALL, YAMLS

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1200,2000")

TINY = [
    "--config", YAMLS["confusing_samples"], "--config", YAMLS["hard_samples"],
    "--run.wandb_mode=disabled", "--trainer.max_epochs=1", "--interactions.init_args.players.n_players=5",
    "--interactions.init_args.num_probe=8", "--hard_samples.init_args.num_hard=4",
    "--hard_samples.init_args.num_easy=4", *SMALL,
]


@pytest.fixture(scope="session")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Runs A (seed 0) and B (seed 1, A's players through players_from) of the quickstart, 1 tiny epoch each,
    with the monitor (8 probe digits, 5 players), ConfusingSamples and HardSamples."""
    root = tmp_path_factory.mktemp("runs")
    cli_main(["fit", "--config", QUICKSTART, *TINY, f"--run.root={root}", "--run.version=a", "--run.group=study"])
    run_a = root / "quickstart" / "a"
    cli_main(["fit", "--config", QUICKSTART, *TINY, f"--run.root={root}", "--run.version=b", "--run.group=study",
              "--seed_everything=1", f"--interactions.init_args.probe.players_from={run_a / 'interactions' / 'players.pt'}"])
    return run_a, root / "quickstart" / "b"


@pytest.fixture(scope="session")
def report_dir(two_runs: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``lit-interactions report`` of run A (2 samples drawn per section), written once."""
    out = tmp_path_factory.mktemp("report")
    assert commands_main(["report", str(two_runs[0]), "--out", str(out), "--samples", "2"]) == 0
    return out


@pytest.fixture(scope="session")
def compare_dir(two_runs: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``lit-interactions compare A B`` with its offline wandb run, written once."""
    out = tmp_path_factory.mktemp("compare")
    assert commands_main(["compare", *map(str, two_runs), "--out", str(out), "--wandb-mode", "offline"]) == 0
    return out


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory):
    """Headless Debian Chromium through selenium, logging the console (``browser``) and the page's network
    requests (``performance``)."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.is_file()]
    if missing:
        pytest.fail(f"{', '.join(missing)} not found: install Debian's Chromium and its driver with "
                    f"`apt-get install chromium chromium-driver` or tools/install_test_browser.sh (the browser test "
                    f"never downloads a browser)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    yield driver
    driver.quit()
