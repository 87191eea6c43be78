"""A free TCP port on loopback, for the servers GenreLens starts itself (the app in tools and tests,
the process group of ``--processes``)."""
from __future__ import annotations

import socket


def free_port() -> int:
    """A port nothing listens on right now (the OS picks it); racy by nature, fine on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
