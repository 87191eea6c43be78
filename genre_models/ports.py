"""TCP ports: a free one on loopback, for the servers GenreLens starts itself (the app in tools and
tests, the process group of ``--processes``), and whether the app can listen where it is told to."""
from __future__ import annotations

import os
import socket


def free_port() -> int:
    """A port nothing listens on right now (the OS picks it); racy by nature, fine on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listen_problem(host: str | None, port: int | None) -> str | None:
    """Why a server could not listen at (host, port), in a few words; None when it can.

    Resolved as gradio resolves them (the argument, else ``GRADIO_SERVER_NAME`` /
    ``GRADIO_SERVER_PORT``, else 127.0.0.1:7860) and bound as uvicorn binds (``SO_REUSEADDR``), so a
    port gradio would take passes; asked before anything loads, so a busy port is said at once.
    """
    host = host or os.environ.get("GRADIO_SERVER_NAME") or "127.0.0.1"
    if port is None:
        text = os.environ.get("GRADIO_SERVER_PORT") or "7860"
        if not text.strip().isdigit() or not 0 < int(text) < 65536:
            return f"GRADIO_SERVER_PORT={text!r} is not a port (1 to 65535)"
        port = int(text)
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:  # busy, an address this machine does not have, a name that does not resolve
        return f"cannot listen on {host}:{port} ({exc.strerror or exc})"
    return None
