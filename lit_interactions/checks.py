"""The checks shared by every layer (data, models, players, solver, callbacks): integer options, option mappings."""

from __future__ import annotations

import dataclasses
from typing import Any, Literal, TypeVar, overload

import numpy as np

T = TypeVar("T")


def is_int(value: Any) -> bool:
    """True for Python and numpy integers; False for booleans (``True`` is an int to Python, never a count here)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


@overload
def check_int(
    name: str,
    value: Any,
    minimum: int,
    maximum: int | None = None,
    *,
    allow_none: Literal[False] = False,
    error: type[Exception] | None = None,
    who: str = "",
) -> int: ...


@overload
def check_int(
    name: str,
    value: Any,
    minimum: int,
    maximum: int | None = None,
    *,
    allow_none: bool,
    error: type[Exception] | None = None,
    who: str = "",
) -> int | None: ...


def check_int(
    name: str,
    value: Any,
    minimum: int,
    maximum: int | None = None,
    *,
    allow_none: bool = False,
    error: type[Exception] | None = None,
    who: str = "",
) -> int | None:
    """``value`` as an int if it is an integer in ``[minimum, maximum]`` (None passes with ``allow_none``).

    Args:
        name: the option's name, for the message.
        value: the value given.
        minimum, maximum: the allowed range (``maximum`` None = no upper bound).
        allow_none: accept None (returned as None).
        error: the error type to raise; default TypeError for a value that is not an integer (``1.5``, ``True``,
            ``"5"``) and ValueError for one out of range.
        who: prefix of the message (``"InteractionMonitor: "``).

    Raises:
        ``error`` (or TypeError / ValueError): ``"<who><name>=<value> is not valid: expected an int >= ..."``.
    """
    if value is None and allow_none:
        return None
    if is_int(value) and value >= minimum and (maximum is None or value <= maximum):
        return int(value)
    upper = "" if maximum is None else f" and <= {maximum}"
    none = " or None" if allow_none else ""
    kind = error or (ValueError if is_int(value) else TypeError)
    raise kind(f"{who}{name}={value!r} is not valid: expected an int >= {minimum}{upper}{none}")


def options_from_value(cls: type[T], value: Any, what: str) -> T:
    """Options dataclass ``cls`` from an instance, a mapping of its fields (configs, JSON, hparams) or None (defaults).

    Args:
        cls: the frozen options dataclass.
        value: an instance of ``cls``, a dict of some of its fields, or None.
        what: the options' name for the message (``"solver"`` -> ``"solver options have unknown keys ..."``).

    Raises:
        ValueError: a value that is not a mapping, or unknown keys, naming the known ones.
    """
    if value is None:
        return cls()
    if isinstance(value, cls):
        return value
    known = sorted(field.name for field in dataclasses.fields(cls))  # type: ignore[arg-type]
    if not isinstance(value, dict):
        raise ValueError(f"{what} options must be a mapping of {known}, got {value!r}")
    unknown = sorted(set(value) - set(known))
    if unknown:
        raise ValueError(f"{what} options have unknown keys {unknown}; known: {known}")
    return cls(**value)
