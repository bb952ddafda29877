"""Analysis of interactions across epochs, models and samples: agreement, dynamics, figures, atomic files.

Pure functions (no Lightning): the callbacks and reports call them.
"""

from lit_interactions.analysis.agreement import (
    DEFAULT_QS,
    EtaAgreement,
    SetOverlap,
    eta_agreement,
    set_overlap,
    top_count,
    top_fraction,
)
from lit_interactions.analysis.dynamics import (
    OrderProfile,
    default_high_from,
    find_gap_widening,
    find_turn,
    generalization_scalars,
    moving_average,
    per_sample_H,
)
from lit_interactions.analysis.figures import (
    curves_figure,
    eta_histogram_figure,
    eta_scatter_figure,
    exact_number,
    integer_ticks,
    order_distribution_figure,
    save_figure,
    transferability_figure,
)
from lit_interactions.analysis.figures_compare import shared_by_order_figure
from lit_interactions.analysis.figures_samples import (
    image_interactions_figure,
    sentence_interactions_figure,
)
from lit_interactions.analysis.figures_sparsity import alpha_sweep_figure, sparsity_figure
from lit_interactions.analysis.sample_pictures import (
    loss_eta_figure,
    patch_boxes,
    player_labels,
    salient_rows,
    sample_figure,
    strongest_by_kind,
)
from lit_interactions.analysis.sharing import SharedInteractions, shared_and_distinctive
from lit_interactions.io.atomic import (
    atomic_path,
    atomic_write_bytes,
    atomic_write_text,
)

__all__ = [
    "alpha_sweep_figure",
    "sparsity_figure",
    "DEFAULT_QS",
    "EtaAgreement",
    "OrderProfile",
    "SetOverlap",
    "SharedInteractions",
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_text",
    "curves_figure",
    "default_high_from",
    "eta_agreement",
    "eta_histogram_figure",
    "eta_scatter_figure",
    "exact_number",
    "find_gap_widening",
    "find_turn",
    "generalization_scalars",
    "per_sample_H",
    "image_interactions_figure",
    "integer_ticks",
    "loss_eta_figure",
    "moving_average",
    "order_distribution_figure",
    "patch_boxes",
    "player_labels",
    "salient_rows",
    "sample_figure",
    "save_figure",
    "sentence_interactions_figure",
    "set_overlap",
    "shared_and_distinctive",
    "shared_by_order_figure",
    "strongest_by_kind",
    "top_count",
    "top_fraction",
    "transferability_figure",
]
