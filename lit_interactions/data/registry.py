"""Rebuild a data module named in a run folder's ``config.yaml``, without importing or running anything else.

A run folder is data that people send each other. Its ``data:`` section names a class and its arguments; only the
concrete data modules of this package can be rebuilt from it, with plain values (text, numbers, booleans, lists)
as arguments. Anything else is refused with :class:`UnsafeConfigError` before any import or call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lit_interactions.data.base import SplitDataModule
from lit_interactions.data.cifar10 import CIFAR10DataModule
from lit_interactions.data.mnist import MNIST3DataModule
from lit_interactions.data.movie_reviews import MovieReviewsDataModule
from lit_interactions.data.sst2 import SST2DataModule
from lit_interactions.data.tiny_imagenet import TinyImageNetDataModule

DATA_MODULES: tuple[type[SplitDataModule], ...] = (
    CIFAR10DataModule, MNIST3DataModule, MovieReviewsDataModule, SST2DataModule, TinyImageNetDataModule,
)
PLAIN = (str, int, float, bool, type(None))


class UnsafeConfigError(ValueError):
    """A config names something other than this package's data modules, or arguments that are not plain values."""


def _names(cls: type) -> tuple[str, str]:
    return f"lit_interactions.data.{cls.__name__}", f"{cls.__module__}.{cls.__name__}"


def data_module_class(class_path: Any) -> type[SplitDataModule]:
    """The package's data module class that ``class_path`` names (``lit_interactions.data.X`` or its module path).

    Raises:
        UnsafeConfigError: for any other name; nothing is imported to find out.
    """
    for cls in DATA_MODULES:
        if class_path in _names(cls):
            return cls
    known = ", ".join(_names(cls)[0] for cls in DATA_MODULES)
    raise UnsafeConfigError(
        f"data.class_path {class_path!r} is not one of this package's data modules ({known}); a run folder may only "
        f"name those, and nothing else from it is imported or run"
    )


def _check_plain(key: str, value: Any) -> None:
    if isinstance(value, (list, tuple)):
        for item in value:
            _check_plain(key, item)
    elif not isinstance(value, PLAIN):
        raise UnsafeConfigError(
            f"data.init_args.{key} is a {type(value).__name__}, not a plain value (text, number, boolean, list); "
            f"a run folder's data arguments must be plain values"
        )


def data_module_from_config(section: Mapping[str, Any]) -> SplitDataModule:
    """Build the data module of a config's ``data:`` section (``class_path`` / ``init_args``), not set up.

    Raises:
        UnsafeConfigError: if the section names another class or holds arguments that are not plain values.
    """
    cls = data_module_class(section.get("class_path"))
    init_args = section.get("init_args") or {}
    if not isinstance(init_args, Mapping):
        raise UnsafeConfigError(f"data.init_args is a {type(init_args).__name__}, not a mapping of arguments")
    for key, value in init_args.items():
        if not isinstance(key, str) or not key.isidentifier():
            raise UnsafeConfigError(f"data.init_args has the key {key!r}, not an argument name")
        _check_plain(key, value)
    return cls(**dict(init_args))
