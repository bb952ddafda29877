"""Pictures and tables of one sample's interactions (moved to :mod:`lit_interactions.analysis.sample_pictures`,
where the reports share them; re-exported here for the callbacks)."""

from lit_interactions.analysis.sample_pictures import (
    loss_eta_figure,
    patch_boxes,
    player_labels,
    salient_rows,
    sample_figure,
    strongest_by_kind,
)

__all__ = ["loss_eta_figure", "patch_boxes", "player_labels", "salient_rows", "sample_figure", "strongest_by_kind"]
