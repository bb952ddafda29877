"""The checks shared by every layer (data, models, players, solver, callbacks): integer options, option mappings."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, Self, TypeVar

import numpy as np

T = TypeVar("T")


def is_int(value: Any) -> bool:
    """True for Python and numpy integers; False for booleans (``True`` is an int to Python, never a count here)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_int(
    name: str, value: Any, minimum: int, maximum: int | None = None, *, error: type[Exception] | None = None,
    who: str = "",
) -> int:
    """``value`` as an int if it is an integer in ``[minimum, maximum]`` (:func:`check_optional_int` also accepts None).

    Args:
        name: the option's name, for the message.
        value: the value given.
        minimum, maximum: the allowed range (``maximum`` None = no upper bound).
        error: the error type to raise; default TypeError for a value that is not an integer (``1.5``, ``True``,
            ``"5"``) and ValueError for one out of range.
        who: prefix of the message (``"InteractionMonitor: "``).

    Raises:
        ``error`` (or TypeError / ValueError): ``"<who><name>=<value> is not valid: expected an int >= ..."``.
    """
    return _checked_int(name, value, minimum, maximum, False, error, who)


def check_optional_int(
    name: str, value: Any, minimum: int, maximum: int | None = None, *, error: type[Exception] | None = None,
    who: str = "",
) -> int | None:
    """As :func:`check_int`, but None passes (returned as None): an optional integer option."""
    return None if value is None else _checked_int(name, value, minimum, maximum, True, error, who)


def _checked_int(
    name: str, value: Any, minimum: int, maximum: int | None, allow_none: bool, error: type[Exception] | None, who: str
) -> int:
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


@dataclasses.dataclass(frozen=True)
class Options:
    """Base of the frozen options dataclasses (solver, players, forwards, monitor groups): one way to build them.

    A config gives them as a mapping of their fields; :meth:`from_value` also takes an instance or None (defaults).
    """

    what: ClassVar[str] = "these"  # the options' name in messages ("solver options have unknown keys ...")

    @classmethod
    def from_value(cls, value: Any) -> Self:
        """Options from themselves, a mapping of their fields (configs, JSON, hparams) or None (the defaults).

        Raises:
            ValueError: a value that is not a mapping, or unknown keys, naming the known ones.
        """
        return options_from_value(cls, value, cls.what)

    def to_dict(self) -> dict[str, Any]:
        """The options as plain data (JSON, hparams)."""
        return dataclasses.asdict(self)
