"""The command-line programs; each is ``main(argv) -> exit code`` (``python -m genre_models.<name>``)."""
from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
from typing import Callable, Iterator

from ..files import disk_full_message, is_disk_full

INTERRUPTED = 130  # the shell's code for a program stopped by Ctrl+C (128 + SIGINT)
DISK_FULL = 1  # a failure of the machine, not of the command line (2)
TERMINATED = 143  # 128 + SIGTERM, what a service manager or a Space sends to stop a process


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread where Ctrl+C raises KeyboardInterrupt: everything that cleans up
    after Ctrl+C (joblib's and torch's worker pools, ``finally`` blocks, temporary folders, atexit) does after
    SIGTERM too. Without it SIGTERM ends the process on the spot and leaves its worker processes orphaned."""


def _terminate(signum, frame):
    raise Terminated()


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """While inside, SIGTERM raises :class:`Terminated` (the previous handler is put back after). Only the main
    thread may set a handler (Python's rule); elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class _OneLine(logging.Formatter):
    """``level: message``, an exception as its type and first line: a traceback is for ``--verbose``."""

    def __init__(self, verbose: bool):
        super().__init__("%(levelname)s: %(name)s: %(message)s" if verbose else None)
        self.verbose = verbose

    def format(self, record: logging.LogRecord) -> str:
        if self.verbose:
            return super().format(record)
        message = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            message += f" ({type(exc).__name__}{': ' + first if first else ''})"
        return f"{record.levelname.lower()}: {message}"


def configure_logging(verbose: bool = False) -> None:
    """What GenreLens logs (a model that failed to load, a head not loaded) goes to stderr as one line each;
    with ``verbose`` with its traceback. Without this, Python's last-resort handler prints the traceback."""
    logger = logging.getLogger("genre_models")
    logger.handlers = [h for h in logger.handlers if not getattr(h, "genrelens_cli", False)]
    handler = logging.StreamHandler()  # sys.stderr as it is now
    handler.genrelens_cli = True
    handler.setFormatter(_OneLine(verbose))
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if verbose else logging.WARNING)


def run(main: Callable[[], int]) -> int:
    """Run a command's ``main``; Ctrl+C ends it with one line and exit code 130, SIGTERM the same way with exit
    code 143, a full disk with one line and exit code 1, not a traceback."""
    try:
        with sigterm_as_interrupt():
            return main()
    except Terminated:
        print("stopped (SIGTERM)", file=sys.stderr)
        return TERMINATED
    except KeyboardInterrupt:
        print("interrupted (Ctrl+C)", file=sys.stderr)
        return INTERRUPTED
    except BrokenPipeError:
        # the reader closed the pipe (`... | head`): no traceback; stdout goes nowhere so the flush at
        # exit cannot raise again (the recipe of Python's signal docs, "Note on SIGPIPE")
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as exc:
        if not is_disk_full(exc):
            raise
        # whatever was being written, by us or a library: one line, not the traceback (or two, one raised
        # while cleaning up after the other); each writer removed its partial file on the way out
        print(f"error: {disk_full_message(exc)}", file=sys.stderr)
        return DISK_FULL
