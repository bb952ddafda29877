"""The notebooks run headless on tiny data, so they never rot."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


@pytest.mark.slow
def test_walkthrough_runs_without_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WALKTHROUGH_RUNS", str(tmp_path / "runs"))
    notebook = nbformat.read(NOTEBOOKS / "walkthrough.ipynb", as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()  # raises on any cell error
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    assert "eta Pearson" in text and "joint extraction" in text
    assert sum("image/png" in o.get("data", {}) for o in outputs) == 2
    data = json.loads((tmp_path / "runs" / "compare" / "compare.json").read_text())
    assert data["epoch"] == 1 and len(data["probe_ids"]) == 8
