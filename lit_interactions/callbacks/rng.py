"""Keep measurements from changing training: every random number generator is saved and restored around them."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch


@contextmanager
def isolated_rng() -> Iterator[None]:
    """Run the block without changing the state of any RNG (torch CPU and CUDA, numpy, Python ``random``).

    Why: a monitor that draws one random number (a dropout mask, a shuffled loader, a wandb id) between
    epochs would change every later batch order and weight; with this, a seeded run gives bit-identical
    weights with and without the monitor.
    """
    python_state = random.getstate()
    numpy_state = np.random.get_state()
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_initialized() else []
    try:
        with torch.random.fork_rng(devices=devices):
            yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)
