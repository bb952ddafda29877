"""Draw a run's samples with interactions on them, from the data module rebuilt from the run's config.yaml."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from torch import Tensor

from lit_interactions.analysis import sample_figure, save_figure
from lit_interactions.interactions.salient_readings import InteractionRecord
from lit_interactions.reports.artifacts import RunArtifacts
from lit_interactions.reports.html import FigureRef


class SampleDrawer:
    """Draws samples of a run (images with patches, or sentences with words) for a report page.

    The data module is built once, on first use; if it cannot be built (data missing, another machine), the
    error is kept in :attr:`error` and nothing is drawn, so a report still renders.

    Args:
        run: the run whose data module, players and feature map are used.
        out_dir: the page's folder; figures go to ``out_dir/figures``.
    """

    def __init__(self, run: RunArtifacts, out_dir: Path) -> None:
        self.run = run
        self.out_dir = out_dir
        self.error: str | None = None
        self._dm: Any = None
        self._tried = False

    @property
    def available(self) -> bool:
        """Whether the data module could be built (builds it on first call)."""
        if not self._tried:
            self._tried = True
            try:
                self._dm = self.run.data_module()
            except Exception as error:  # noqa: BLE001 (any failure only disables the drawings, with its reason)
                self.error = (
                    f"the samples are not drawn: the data module of {self.run.path / 'config.yaml'} could not be "
                    f"built ({type(error).__name__}: {error})"
                )
        return self._dm is not None

    def view(self, sample_id: int) -> Tensor | list[str]:
        """The training sample's image ``[C, H, W]`` in pixel space, or its words."""
        if self.run.players() is not None:
            return self._dm.batch([sample_id], "train")["inputs"][0]
        return list(self._dm.words(sample_id, "train"))

    def draw(self, name: str, sample_id: int, player_row: Tensor, records: Sequence[InteractionRecord],
             caption: str) -> FigureRef | None:
        """Save ``figures/<name>.png``: the sample with ``records`` drawn; None if the data is unavailable."""
        if not self.available:
            return None
        fig = sample_figure(self.view(sample_id), self.run.players(), player_row, self.run.feature_hw, records)
        src = f"figures/{name}.png"
        save_figure(fig, self.out_dir / src)
        return FigureRef(src, caption)


def save(fig: Any, out_dir: Path, name: str, caption: str) -> FigureRef:
    """Save a figure as ``out_dir/figures/<name>.png`` (atomically) and return its reference for the page."""
    src = f"figures/{name}.png"
    save_figure(fig, out_dir / src)
    return FigureRef(src, caption)


def describe(records: Sequence[InteractionRecord], labels: Sequence[str] | None = None) -> str:
    """``"AND {0, 3} +1.2; OR {2} -0.4"``, with player names when ``labels`` are given."""
    parts = []
    for record in records:
        players = ", ".join(labels[p] if labels else str(p) for p in record.players)
        parts.append(f"{record.kind} {{{players}}} {record.effect:+.3g}")
    return "; ".join(parts) if parts else "none"
