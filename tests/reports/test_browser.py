"""The reports open in a real browser (Debian Chromium, headless) without errors."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def check_page(driver, page: Path, headings: list[str], screenshot: Path) -> None:
    from selenium.webdriver.common.by import By

    driver.get(page.resolve().as_uri())  # returns once the page and its images have loaded
    severe = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    assert not severe, f"browser console errors on {page}: {severe}"
    images = driver.find_elements(By.TAG_NAME, "img")
    assert images, f"{page} shows no figure"
    for image in images:
        complete, width = driver.execute_script("return [arguments[0].complete, arguments[0].naturalWidth]", image)
        assert complete and width > 0, f"{image.get_attribute('src')} did not load in {page}"
    found = [h.text for h in driver.find_elements(By.TAG_NAME, "h2")]
    assert all(any(h.startswith(expected) for h in found) for expected in headings), (headings, found)
    driver.save_screenshot(str(screenshot))
    assert screenshot.stat().st_size > 0


def test_run_report_renders_in_chromium(browser, report_dir: Path, tmp_path: Path) -> None:
    check_page(browser, report_dir / "report.html", ["Run", "Accuracy and loss", "Two-phase dynamics", "eta^avg distribution",
                                   "Confusing samples", "Hard samples"], tmp_path / "report.png")


def test_compare_report_renders_in_chromium(browser, compare_dir: Path, tmp_path: Path) -> None:
    check_page(browser, compare_dir / "compare.html", ["Runs", "Confusing samples: eta^avg agreement", "Shared interactions",
                                   "Shared and distinctive interactions of sample"], tmp_path / "compare.png")
