"""Run ``lit-interactions`` in this process while recording every network attempt (a subprocess of the tests).

Usage: ``python -m tests.reliability.network_guard <cli args...>``. Every name lookup and every IP connection is
recorded by an audit hook (which sees calls from any library, C extensions through CPython's socket module
included) and refused; the process prints one JSON line ``{"attempts": [...]}`` at exit.
"""

from __future__ import annotations

import atexit
import json
import socket
import sys
from typing import Any

LOOKUPS = ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr", "socket.getnameinfo")
attempts: list[str] = []


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if event in LOOKUPS:
        attempts.append(f"{event}{args[:2]!r}")
        raise OSError(f"network blocked by the test: {event}")
    if event == "socket.connect":
        sock, address = args[0], args[1]
        if getattr(sock, "family", None) in (socket.AF_INET, socket.AF_INET6):
            attempts.append(f"connect{address!r}")
            raise OSError("network blocked by the test: connect")


def main() -> None:
    sys.addaudithook(_hook)
    atexit.register(lambda: print(json.dumps({"attempts": attempts}), flush=True))
    from lit_interactions.cli import cli_main

    cli_main(sys.argv[1:])


if __name__ == "__main__":
    main()
