"""The one test for "an integer option or value" shared by every layer (data, models, modules, callbacks)."""

from __future__ import annotations

from typing import Any

import numpy as np


def is_int(value: Any) -> bool:
    """True for Python and numpy integers; False for booleans (``True`` is an int to Python, never a count here)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
