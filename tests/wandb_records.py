"""Read an offline wandb run's ``.wandb`` file: a LevelDB-style log of ``wandb.proto`` ``Record`` messages.

wandb 0.31 no longer ships the Python reader (``wandb.sdk.internal.datastore``); the format is small: a 7-byte file
header, then 32 KiB blocks of chunks, each with a 7-byte header (crc32, length, type: 1 full, 2 first, 3 middle,
4 last); a block tail shorter than a chunk header is zero padding.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

from wandb.proto import wandb_internal_pb2 as pb

BLOCK = 32768
HEADER = 7


def read_records(path: Path) -> list[pb.Record]:
    """Every record of the ``.wandb`` file, in order."""
    data = path.read_bytes()
    assert data[:4] == b":W&B", f"{path} is not a wandb run file"
    records, pending, offset = [], b"", HEADER
    while offset + HEADER <= len(data):
        room = BLOCK - offset % BLOCK
        if room < HEADER:
            offset += room
            continue
        _, length, kind = struct.unpack("<IHB", data[offset:offset + HEADER])
        if kind == 0 and length == 0:  # zero padding to the end of the block (or of the file)
            offset += room
            continue
        payload = data[offset + HEADER:offset + HEADER + length]
        offset += HEADER + length
        pending = payload if kind in (1, 2) else pending + payload
        if kind in (1, 4):
            record = pb.Record()
            record.ParseFromString(pending)
            records.append(record)
            pending = b""
    return records


def run_file(run_dir: Path, stage_suffix: str = "") -> Path:
    """The ``.wandb`` file of the run's offline wandb run (``stage_suffix`` "-validate" etc. for an evaluation)."""
    files = [p for p in (run_dir / "wandb").glob("offline-run-*/run-*.wandb") if p.stem.endswith(stage_suffix)]
    candidates = [p for p in files if stage_suffix or p.stem.rsplit("-", 1)[-1] not in ("validate", "test", "predict")]
    assert len(candidates) == 1, f"expected one wandb run file in {run_dir}, found {files}"
    return candidates[0]


def config_of(records: list[pb.Record]) -> dict[str, Any]:
    """The wandb config the run ended with (updates applied in order; ``_wandb`` internals left out)."""
    config: dict[str, Any] = {}
    for record in records:
        if record.WhichOneof("record_type") == "config":
            for item in record.config.update:
                key = item.key or ".".join(item.nested_key)
                if not key.startswith("_wandb."):  # wandb's own entries (e.g. the charts: charts_of)
                    config[key] = json.loads(item.value_json)
            for item in record.config.remove:
                config.pop(item.key, None)
    config.pop("_wandb", None)
    return config


def defined_metrics(records: list[pb.Record]) -> dict[str, str]:
    """``{metric name: its step metric}`` of every ``define_metric`` with a name."""
    return {
        r.metric.name: r.metric.step_metric
        for r in records
        if r.WhichOneof("record_type") == "metric" and r.metric.name
    }


def history_rows(records: list[pb.Record]) -> list[dict[str, Any]]:
    """Every logged history row as ``{key: value}`` (JSON-decoded)."""
    rows = []
    for record in records:
        if record.WhichOneof("record_type") == "history":
            items = record.history.item
            rows.append({item.key or "/".join(item.nested_key): json.loads(item.value_json) for item in items})
    return rows


def charts_of(records: list[pb.Record]) -> dict[str, dict[str, Any]]:
    """``{chart key: panel config}`` of every native chart logged (``panelDefId`` is the preset, ``fieldSettings``
    maps its fields to table columns)."""
    charts = {}
    for record in records:
        if record.WhichOneof("record_type") == "config":
            for item in record.config.update:
                if list(item.nested_key[:2]) == ["_wandb", "visualize"]:
                    charts[item.nested_key[2]] = json.loads(item.value_json)["panel_config"]
    return charts


def logged_tables(wandb_file: Path, key: str) -> list[dict[str, Any]]:
    """Every version of the table logged under ``key`` (a chart's is ``<chart key>_table``), in logging order, as
    ``{"columns": [...], "data": [[...], ...]}`` read from the run's ``files/``."""
    files = wandb_file.parent / "files"
    return [json.loads((files / row[f"{key}/path"]).read_text())
            for row in history_rows(read_records(wandb_file)) if f"{key}/path" in row]
