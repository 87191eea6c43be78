"""The command-line programs; each is ``main(argv) -> exit code`` (``python -m genre_models.<name>``)."""
from __future__ import annotations

import logging
import os
import sys
from typing import Callable

INTERRUPTED = 130  # the shell's code for a program stopped by Ctrl+C (128 + SIGINT)


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
    """Run a command's ``main``; Ctrl+C ends it with one line and exit code 130, not a traceback."""
    try:
        return main()
    except KeyboardInterrupt:
        print("interrupted (Ctrl+C)", file=sys.stderr)
        return INTERRUPTED
    except BrokenPipeError:
        # the reader closed the pipe (`... | head`): no traceback; stdout goes nowhere so the flush at
        # exit cannot raise again (the recipe of Python's signal docs, "Note on SIGPIPE")
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
