"""The group overview opens in headless Chromium with no console error and no network request, and shows the
runs' values (rounded) on hover."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from lit_interactions.reports.group import expand_runs, read_group
from lit_interactions.reports.group_page import PLOTLY_JS, write_group_page
from tests.reports.group_runs import HISTORY, make_group

pytestmark = pytest.mark.slow

LOCAL = ("file:", "data:", "about:", "blob:", "chrome:")  # the page's files and the browser's own resources


def open_offline(driver, page: Path) -> None:
    """Open ``page`` and fail if it requested anything but local files or logged a console error."""
    driver.get_log("performance"), driver.get_log("browser")  # drop what earlier pages logged
    driver.get(page.resolve().as_uri())  # returns after the load event: the inline drawing script has run
    requests = [json.loads(entry["message"])["message"] for entry in driver.get_log("performance")]
    urls = [r["params"]["request"]["url"] for r in requests if r["method"] == "Network.requestWillBeSent"]
    assert urls, "no request logged at all: the network log is not working"
    remote = [url for url in urls if not url.startswith(LOCAL)]
    assert not remote, f"{page} requested the network: {remote}"
    severe = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    assert not severe, f"browser console errors on {page}: {severe}"


@pytest.fixture(scope="module")
def group_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("group")
    runs = read_group(expand_runs([make_group(root / "runs")])[0])
    return write_group_page(runs, root / "out").html


def test_the_group_page_draws_offline_without_errors(browser, group_page: Path, tmp_path: Path) -> None:
    open_offline(browser, group_page)
    traces = browser.execute_script(
        "return document.getElementById('dynamics-plot').data.map(t => [t.name, t.meta, t.x, t.y, t.xaxis, t.yaxis])")
    drawn = {(name, meta): (x, y, f"{xaxis}{yaxis}") for name, meta, x, y, xaxis, yaxis in traces}
    assert browser.execute_script("return document.querySelectorAll('#dynamics-plot .scatterlayer .trace').length") \
        == len(traces) == 16  # 2 runs x (3 interaction + 4 loss and accuracy curves) + seed1's H, H_low
    for run, records in HISTORY.items():
        x, y, subplot = drawn[(f"quickstart/{run}", "interactions/eta_mean")]
        assert x == sorted(records) and y == [float(f"{records[e][1]:.4g}") for e in sorted(records)]
    # hover seed1's eta mean after epoch 1: 3.0834413 shown with 4 significant digits
    x, y, subplot = drawn[("quickstart/seed1", "interactions/eta_mean")]
    curve = [(name, meta) for name, meta, *_ in traces].index(("quickstart/seed1", "interactions/eta_mean"))
    text = browser.execute_script(
        "Plotly.Fx.hover('dynamics-plot', [{curveNumber: arguments[0], pointNumber: 1}], arguments[1]);"
        "return document.querySelector('#dynamics-plot .hovertext').textContent;", curve, subplot)
    assert "quickstart/seed1" in text and "interactions/eta_mean" in text, text
    assert "epoch 1: 3.083" in text and "3.0834" not in text, text
    browser.save_screenshot(str(tmp_path / "group.png"))
    assert (tmp_path / "group.png").stat().st_size > 0


def test_the_check_fails_for_a_page_that_loads_plotly_from_a_cdn(browser, group_page: Path, tmp_path: Path) -> None:
    copy = tmp_path / "out"
    shutil.copytree(group_page.parent, copy)
    page = copy / group_page.name
    html = page.read_text()
    assert f'<script src="{PLOTLY_JS}">' in html
    page.write_text(html.replace(f'<script src="{PLOTLY_JS}">', '<script src="https://cdn.plot.ly/plotly-3.0.1.min.js">'))
    with pytest.raises(AssertionError, match=r"requested the network: \['https://cdn\.plot\.ly/"):
        open_offline(browser, page)
    page.write_text(html.replace(f'<script src="{PLOTLY_JS}">', '<script>'))  # local, but a script error
    with pytest.raises(AssertionError, match="browser console errors"):
        open_offline(browser, page)
