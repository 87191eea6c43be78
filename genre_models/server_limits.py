"""What a flood of connections may cost the app's server: a deadline for a request's headers, a cap on
open connections, and a bound on the log lines a flood writes.

gradio starts uvicorn itself (``gradio/http_server.py`` builds ``uvicorn.Config`` from nothing
``launch()`` passes through), and uvicorn has no timeout on receiving a request: ``timeout_keep_alive``
runs only between requests and every byte received resets it, so a client that sends a header line now
and then holds its connection, and a file descriptor, for good (slowloris, CVE-2007-6750). Once the
process runs out of descriptors asyncio logs a traceback for each failed ``accept()``, up to 2,048 per
loop tick, and the page stops answering. :func:`apply_server_limits` makes the server ``launch()`` builds
use :class:`GuardedH11Protocol`, uvicorn's own h11 protocol with both limits added (the same approach
as ``nginx``'s ``client_header_timeout`` and ``worker_connections``), and filters the loggers a flood
writes to with :class:`RepeatLimit`.
"""
from __future__ import annotations

import asyncio
import logging
import resource
import time
from dataclasses import dataclass, replace

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger(__name__)

# the listening socket's queue, and how many connections asyncio accepts in one loop tick (uvicorn's 2,048
# would let a burst hold that many descriptors before the cap below sees one)
ACCEPT_BACKLOG = 128
# descriptors besides the connections: an accepted socket lives about four loop ticks before a refused
# one is closed (accept, transport, connection_made, connection_lost), so up to four backlogs of them;
# and the app's own files (model files, uploads being written, the event loop's pipes, the log)
RESERVED_FILES = 4 * ACCEPT_BACKLOG + 256
# the loggers a flood writes to: asyncio's failed accept(), uvicorn's "Invalid HTTP request received.",
# and this module's refusals
FLOOD_LOGGERS = ("asyncio", "uvicorn.error", __name__)


@dataclass(frozen=True)
class ServerLimits:
    """``header_timeout_s``: seconds a connection has to send a request's headers, counted from its
    first byte (from the connection itself for a new one); the body and the response have no deadline,
    so uploads on a slow link and the queue's event streams are untouched. ``max_connections``: open
    connections at most (see :class:`GuardedH11Protocol` for which one a new connection replaces).

    20 s is Apache's default (mod_reqtimeout ``header=20``), and past the 10 s Chromium keeps a connection
    it opened ahead of need and left unused, so the browser closes such a connection before the server does."""
    header_timeout_s: float = 20.0
    max_connections: int = 1000


class RepeatLimit(logging.Filter):
    """Passes at most ``burst`` records of one message per ``window_s`` seconds, per logger; the first
    record passed after a window that dropped some says how many were dropped.

    A message is its logger and the first line of its text (asyncio's lines go on with a socket's or a
    handle's repr, which differs each time); at most ``max_messages`` are tracked at once.
    """

    def __init__(self, burst: int = 5, window_s: float = 60.0, max_messages: int = 1000, clock=time.monotonic):
        super().__init__()
        self.burst, self.window_s, self.max_messages, self.clock = burst, window_s, max_messages, clock
        self._windows: dict[tuple[str, str], list] = {}  # message -> [window start, passed, dropped]

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, str(record.msg).partition("\n")[0][:200])
        now = self.clock()
        window = self._windows.get(key)
        dropped = 0
        if window is None or now - window[0] >= self.window_s:
            if window is not None:
                dropped = window[2]
            elif len(self._windows) >= self.max_messages:
                self._windows.clear()  # as many distinct messages as this is itself a flood
            window = self._windows[key] = [now, 0, 0]
        if window[1] >= self.burst:
            window[2] += 1
            return False
        window[1] += 1
        if dropped:
            record.msg = f"{record.msg} ({dropped} more like it in the {self.window_s:.0f} s before were not logged)"
        return True


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with :attr:`limits` and its own :attr:`waiting` (both set on a subclass by
    :func:`guarded_protocol`).

    At the cap, a new connection closes the oldest one that has not begun a request (as nginx reuses
    its idle connections when it runs out), and is refused only when every open connection has one
    under way: a flood of slow or silent connections cannot keep a visitor's page out, and requests
    being answered (the queue's event streams among them) are never cut.
    """

    limits = ServerLimits()
    waiting: dict[GuardedH11Protocol, None] = {}  # connections whose request has not begun, oldest first

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._deadline: asyncio.TimerHandle | None = None
        self._refused = len(self.connections) >= self.limits.max_connections and not self._close_oldest_waiting()
        if self._refused:
            transport.close()  # before reading a byte: nothing is kept for it
            log.warning("Refused a connection: all %d open connections have a request under way "
                        "(--max-connections).", len(self.connections))
            return
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        # h11 leaves IDLE once a request's headers are parsed, and is back in IDLE when the next may begin
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            if self._deadline is None:
                self._arm()
        else:
            self._disarm()

    def handle_websocket_upgrade(self, event: h11.Request) -> None:
        self._disarm()  # the transport now belongs to the websocket's protocol
        super().handle_websocket_upgrade(event)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if not self._refused:
            super().connection_lost(exc)

    def _arm(self) -> None:
        self._deadline = self.loop.call_later(self.limits.header_timeout_s, self._close_waiting)
        self.waiting[self] = None

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self.waiting.pop(self, None)

    def _close_waiting(self) -> None:
        """Close this connection, whose request has not begun: no response (there is no request to answer),
        and no log line (a flood would write one per connection)."""
        self._disarm()
        if not self.transport.is_closing():
            self.transport.close()

    def _close_oldest_waiting(self) -> bool:
        oldest = next(iter(self.waiting), None)
        if oldest is not None:
            oldest._close_waiting()
            log.warning("At the cap of %d connections (--max-connections): closed the oldest one still waiting "
                        "for a request to make room for a new one.", self.limits.max_connections)
        return oldest is not None


def guarded_protocol(limits: ServerLimits) -> type[GuardedH11Protocol]:
    """A :class:`GuardedH11Protocol` class keeping ``limits``, for ``uvicorn.Config(http=...)``."""
    return type("GuardedH11Protocol", (GuardedH11Protocol,), {"limits": limits, "waiting": {}})


def open_files_for(limits: ServerLimits) -> ServerLimits:
    """Raise this process's soft RLIMIT_NOFILE, within its hard limit, to what ``limits`` need
    (``max_connections`` + :data:`RESERVED_FILES`); return ``limits`` with the cap lowered to what the
    limit then allows (at least 1), which is logged once."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = limits.max_connections + RESERVED_FILES
    if soft != resource.RLIM_INFINITY and soft < needed:
        soft = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return limits
    allowed = max(1, soft - RESERVED_FILES)
    log.warning("--max-connections %d lowered to %d: this process may open %d files (RLIMIT_NOFILE).",
                limits.max_connections, allowed, soft)
    return replace(limits, max_connections=allowed)


def apply_server_limits(limits: ServerLimits, repeats: RepeatLimit | None = None) -> ServerLimits:
    """Make every server gradio starts from now on (``demo.launch()``) keep ``limits``, and bound the
    loggers a flood writes to (:data:`FLOOD_LOGGERS`) with ``repeats`` (default: 5 of a message a
    minute). Returns the limits in force (see :func:`open_files_for`).

    gradio offers no way to pass uvicorn options, so its ``Server`` class (which the Spaces reloader
    also uses) is replaced by a subclass that sets ``config.http`` and ``config.backlog`` before uvicorn
    loads the config.
    """
    from gradio import http_server  # here: the limits themselves need no gradio

    limits = open_files_for(limits)
    repeats = repeats or RepeatLimit()
    protocol = guarded_protocol(limits)
    gradio_server = getattr(http_server.Server, "gradio_server", http_server.Server)  # applied twice: once

    class LimitedServer(gradio_server):
        def __init__(self, config, *args, **kwargs):
            config.http, config.backlog = protocol, ACCEPT_BACKLOG
            super().__init__(config, *args, **kwargs)
            for name in FLOOD_LOGGERS:  # after uvicorn.Config has configured its loggers
                logging.getLogger(name).addFilter(repeats)

    LimitedServer.gradio_server = gradio_server
    http_server.Server = LimitedServer
    for name in FLOOD_LOGGERS:
        logging.getLogger(name).addFilter(repeats)
    return limits
