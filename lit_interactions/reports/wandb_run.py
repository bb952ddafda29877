"""Log a report's numbers, tables and figures as a wandb run of its own (offline by default, like training)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from lit_interactions.io.wandb_charts import WandbChart
from lit_interactions.io.wandb_mode import WandbMode, prepare_wandb


def log_run(
    out_dir: Path,
    *,
    mode: WandbMode,
    project: str,
    group: str,
    job_type: str,
    name: str,
    config: Mapping[str, Any],
    summary: Mapping[str, float],
    tables: Mapping[str, tuple[Sequence[str], Sequence[Sequence[Any]]]],
    images: Mapping[str, tuple[Path, str]],
    charts: Mapping[str, WandbChart] | None = None,
) -> Path | None:
    """Start a wandb run in ``out_dir``, log everything, finish it; returns the run's local folder.

    Args:
        out_dir: folder holding the run's ``wandb/`` directory.
        mode: "offline" (default everywhere in the project: ``wandb sync`` later), "online" or "disabled".
        project: wandb project.
        group: wandb group (the compared runs' group, so the comparison lists with them).
        job_type: e.g. ``"compare"``.
        name: the run's display name.
        config: the run's config (inputs and settings).
        summary: scalar results, written to the run summary.
        tables: ``{key: (columns, rows)}``.
        images: ``{key: (png path, caption)}``.
        charts: ``{key: chart}``: native wandb charts (their tables are logged as ``<key>_table``).

    Returns:
        The local run folder (``out_dir/wandb/offline-run-...``), None when disabled.
    """
    if mode == "disabled":
        return None
    import wandb

    prepare_wandb(mode)
    out_dir.mkdir(parents=True, exist_ok=True)
    run = wandb.init(
        dir=str(out_dir), mode=mode, project=project, group=group, job_type=job_type, name=name,
        config=dict(config),
    )
    try:
        payload: dict[str, Any] = {key: wandb.Table(columns=list(columns), data=[list(r) for r in rows])
                                   for key, (columns, rows) in tables.items()}
        payload.update({key: wandb.Image(str(path), caption=caption) for key, (path, caption) in images.items()})
        payload.update({key: chart.to_wandb() for key, chart in (charts or {}).items()})
        run.log(payload)
        for key, value in summary.items():
            run.summary[key] = value
        folder = Path(run.dir).parent
    finally:
        run.finish()
    return folder
