"""Run ``lit-interactions`` in a subprocess that kills itself with SIGKILL at a chosen point (the resume tests).

``python -m tests.reliability.kill_runner <point> <n> <cli args...>``: the process sends itself SIGKILL at the ``n``-th
(1-based) time it reaches ``point``:

- ``step``: inside a training step, after the forward pass (mid-epoch);
- ``measure``: inside the interaction monitor's extraction;
- ``checkpoint``: inside a checkpoint write, after the bytes are in the temporary file, before the rename;
- ``history``: inside the write of ``interactions/history.json``, after the temporary file, before the rename.

The hooks are monkeypatches set up here, so nothing in the package knows about them.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from typing import Any

POINTS = ("step", "measure", "checkpoint", "history")


def _kill_on(count: int) -> Callable[[], None]:
    calls = 0

    def reached() -> None:
        nonlocal calls
        calls += 1
        if calls == count:
            os.kill(os.getpid(), signal.SIGKILL)

    return reached


def _wrap(owner: Any, name: str, before: Callable[..., bool], reached: Callable[[], None]) -> None:
    """Replace ``owner.name`` by a function that calls ``reached()`` after the original when ``before(args)``."""
    original = getattr(owner, name)

    def patched(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        if before(*args, **kwargs):
            reached()
        return result

    setattr(owner, name, patched)


def install(point: str, count: int) -> None:
    """Arm the kill at the ``count``-th time ``point`` is reached."""
    reached = _kill_on(count)
    if point == "step":
        from lit_interactions.modules.classifier import ClassifierModule

        _wrap(ClassifierModule, "training_step", lambda *a, **k: True, reached)
    elif point == "measure":
        from lit_interactions.callbacks import monitor

        _wrap(monitor, "extract_sharded", lambda *a, **k: True, reached)
    elif point in ("checkpoint", "history"):
        suffix = ".ckpt" if point == "checkpoint" else "history.json"

        def before(src: Any, dst: Any, *args: Any, **kwargs: Any) -> bool:
            return str(dst).endswith(suffix)

        original = os.replace if point == "history" else None
        if point == "history":

            def replace(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
                if before(src, dst):
                    reached()
                original(src, dst, *args, **kwargs)  # type: ignore[misc]

            os.replace = replace  # type: ignore[assignment]
        else:
            import shutil

            move = shutil.move

            def patched_move(src: Any, dst: Any, *args: Any, **kwargs: Any) -> Any:
                if before(src, dst):
                    reached()
                return move(src, dst, *args, **kwargs)

            shutil.move = patched_move  # type: ignore[assignment]
    else:
        raise SystemExit(f"unknown kill point {point!r}; expected one of {', '.join(POINTS)}")


def main() -> None:
    point, count, args = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    install(point, count)
    from lit_interactions.cli import cli_main

    sys.argv = [sys.argv[0], *args]
    cli_main()


if __name__ == "__main__":
    main()
