"""The command-line programs; each is ``main(argv) -> exit code`` (``python -m genre_models.<name>``)."""
from __future__ import annotations

import os
import sys
from typing import Callable

INTERRUPTED = 130  # the shell's code for a program stopped by Ctrl+C (128 + SIGINT)


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
