"""JSON artifacts of runs and reports, written atomically as strict JSON."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lit_interactions.io.atomic import atomic_write_text


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as indented JSON, atomically; NaN and infinities become null (strict JSON)."""
    atomic_write_text(path, json.dumps(_finite(data), indent=1) + "\n")


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value
